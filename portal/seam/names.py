"""How a source name is compared: case, spaces and underscores do not matter.

The catalogs' index, their size tables, the resolver's aliases and the dashboard's answers all use this one
rule, so that ``"MSH 15-52"``, ``"msh15-52"`` and ``"MSH_15-52"`` are the same source everywhere.
"""

from __future__ import annotations

import re

__all__ = ["normalize_name"]

_IGNORED = re.compile(r"[\s_]+")


def normalize_name(name: object) -> str:
    """``name`` with case, white space and underscores taken out: ``"MSH 15-52" -> "msh15-52"``."""
    return _IGNORED.sub("", str(name)).lower()
