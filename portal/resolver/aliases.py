"""Common names of well-known very-high-energy sources that the catalogs do not list as aliases.

Each alias maps to a name (or alias) that the catalogs do list, so positions always come from a
catalog. Keys are compared after :func:`portal.catalogs.normalize_name` (case and spaces ignored).
"""

from __future__ import annotations

COMMON_ALIASES: dict[str, str] = {
    "Crab": "Crab nebula",
    "Crab Nebula": "Crab nebula",
    "M 1": "Crab nebula",
    "Vela": "Vela X",
    "Vela Jr": "Vela Junior",
    "Tycho": "Tycho SNR",
    "Galactic Center": "Galactic Centre",
    "GC": "Galactic Centre",
    "BL Lac": "BL Lacertae",
    "MSH 15-52": "MSH 15-52",
    "RX J1713": "RX J1713.7-3946",
    "RXJ1713": "RX J1713.7-3946",
    "RX J1713-3946": "RX J1713.7-3946",
    "PKS 2155": "PKS 2155-304",
    "Mrk 421": "Markarian 421",
    "Mrk 501": "Markarian 501",
    "Cen A": "Centaurus A",
    "Cas A": "Cassiopeia A",
}
