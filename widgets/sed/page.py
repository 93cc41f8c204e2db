"""The SED explorer page (``notebooks/sed.ipynb``): an SEDPlot set up from the page's address.

Voila gives the kernel the query string of the page (``QUERY_STRING``)::

    /voila/render/sed.ipynb?job=<job URL>&ra=83.633&dec=22.014&name=Crab&radius=0.2
                           &catalog=3fhl/3FHL%20J0534.5%2B2201&sed_type=e2dnde&unit=TeV

``job`` is followed; ``ra``/``dec`` (ICRS degrees) set the target whose counterparts are drawn;
each ``catalog=tag/name`` adds one catalog source. Whatever cannot be used becomes a message.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs

from widgets.sed.units import ENERGY_UNITS, SED_TYPES
from widgets.sed.view import SEDPlot


def explorer(query: str | None = None, **kwargs) -> SEDPlot:
    """An SEDPlot for the page's query string (``QUERY_STRING`` by default)."""
    params = parse_qs(os.environ.get("QUERY_STRING", "") if query is None else query.lstrip("?"))

    def one(name: str) -> str:
        return (params.get(name) or [""])[0].strip()

    sed = SEDPlot(**kwargs)
    if one("sed_type") in SED_TYPES:
        sed.sed_type = one("sed_type")
    if one("unit") in ENERGY_UNITS:
        sed.energy_unit = one("unit")
    if one("radius"):
        try:
            sed.radius = float(one("radius"))
        except ValueError:
            sed.state.fail(f"The radius {one('radius')!r} is not a number of degrees.")
    if one("ra") or one("dec"):
        _target(sed, one("ra"), one("dec"), one("name"))
    for item in params.get("catalog", []):
        tag, _, name = item.partition("/")
        if tag and name:
            sed.add_catalog(tag.strip(), name.strip(), wait=False)
        else:
            sed.state.fail(f"catalog={item!r} should be tag/name, for example 3fhl/3FHL J0534.5+2201.")
    if one("job"):
        sed.follow(one("job"))
    return sed


def _target(sed: SEDPlot, ra: str, dec: str, name: str) -> None:
    from astropy.coordinates import SkyCoord

    try:
        coord = SkyCoord(float(ra), float(dec), unit="deg", frame="icrs")
    except ValueError:
        sed.state.fail(f"ra={ra!r}, dec={dec!r} is not a position in degrees.")
        return
    sed.set_target(coord, name)
