"""How a source name is compared: case, spaces and underscores do not matter.

The catalogs' index, their size tables, the resolver's aliases and the dashboard's answers all use this one
rule, so that ``"MSH 15-52"``, ``"msh15-52"`` and ``"MSH_15-52"`` are the same source everywhere.
"""

from __future__ import annotations

import re

__all__ = ["JOB_KIND_NAME", "normalize_name"]

_IGNORED = re.compile(r"[\s_]+")
#: a kind of job's name: its job list's URL segment and its definition file's name (the service and the editor)
JOB_KIND_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_-]{0,63}")


def normalize_name(name: object) -> str:
    """``name`` with case, white space and underscores taken out: ``"MSH 15-52" -> "msh15-52"``."""
    return _IGNORED.sub("", str(name)).lower()
