"""Name resolution from what is on this machine: the local catalogs' names, their aliases and common aliases.

The widgets ask this service and, beside it, Sesame (CDS), which is not waited on when unreachable
(:mod:`widgets.target.sesame`); this service answers at once, offline too, and for names only the local
catalogs know, and gives the source's angular size where a local catalog has
one (:mod:`portal.catalogs.extent`). It speaks JSON at ``/resolver`` (see :mod:`.handlers`).
"""
