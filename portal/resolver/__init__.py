"""Name resolution from what is on this machine: the local catalogs' names, their aliases and common aliases.

The widgets ask Sesame (CDS) first when the network allows; this service answers offline, and for
names only the local catalogs know. It speaks JSON at ``/resolver`` (see :mod:`.handlers`).
"""
