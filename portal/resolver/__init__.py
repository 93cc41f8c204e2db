"""Name resolution from what is on this machine: the local catalogs' names, their aliases and common aliases.

The widgets ask Sesame (CDS) first when the network allows; this service answers offline, and for
names only the local catalogs know, and gives the source's angular size where a local catalog has
one (:mod:`portal.catalogs.extent`). It speaks JSON at ``/resolver`` (see :mod:`.handlers`).
"""
