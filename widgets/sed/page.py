"""The SED explorer page (``notebooks/sed.ipynb``): an SEDPlot set up from the page's address.

Voila gives the kernel the query string of the page (``QUERY_STRING``)::

    /voila/render/sed.ipynb?job=<job URL>&ra=83.633&dec=22.014&name=Crab&radius=0.2
                           &catalog=3fhl/3FHL%20J0534.5%2B2201&sed_type=e2dnde&unit=TeV

``job`` is followed; ``ra``/``dec`` (ICRS degrees) set the target whose counterparts are drawn;
each ``catalog=tag/name`` adds one catalog source. Whatever cannot be used becomes a message.

:class:`ExplorerPage` is the page: above the plot, a target field (a name resolved by the local catalogs, or
coordinates; the counterparts within its radius are drawn) and a catalog source input (a catalog and a source
name, the target's counterparts offered). The address only fills them in.
"""

from __future__ import annotations

import os
from urllib.parse import parse_qs

import ipywidgets as w

from widgets.sed.sources import CatalogSourceInput
from widgets.sed.units import ENERGY_UNITS, SED_TYPES
from widgets.sed.view import SEDPlot

DEFAULT_RADIUS = "0.2 deg"  # the counterparts of a point source, not of the whole field


class ExplorerPage(w.VBox):
    """The SED explorer: ``page.target`` (a TargetSearch), ``page.sources`` (a catalog source input) and
    ``page.sed`` (the SEDPlot, set up from the query string as :func:`explorer` does)."""

    def __init__(self, query: str | None = None, client=None, background=None, resolver=None, **kwargs) -> None:
        from widgets.client import default_client
        from widgets.links import connect
        from widgets.obscore.services import embedded
        from widgets.target.state import TargetState, default_resolver
        from widgets.target.view import TargetSearch

        params = _params(query)
        client = client or default_client()
        self.sed = explorer(query, client=client, background=background, **kwargs)
        resolver = resolver or default_resolver(embedded(client.url).url, client.url)
        radius = _one(params, "radius")
        name = _one(params, "name")
        text = name or (f"{_one(params, 'ra')} {_one(params, 'dec')}" if _one(params, "ra") else "")
        self.target = TargetSearch(TargetState(resolver=resolver, background=background), value=text,
                                   radius=f"{radius} deg" if radius else DEFAULT_RADIUS)
        self.sources = CatalogSourceInput(self.sed)
        self.links = connect(target=self.target, sed=self.sed)  # a target found: its counterparts are drawn
        inputs = w.VBox([self.target, self.sources], layout=w.Layout(width="100%"))
        inputs.add_class("portal-sed-inputs")
        super().__init__([inputs, self.sed], layout=w.Layout(width="100%"))
        self.add_class("portal-sed-page")


def _params(query: str | None) -> dict:
    return parse_qs(os.environ.get("QUERY_STRING", "") if query is None else query.lstrip("?"))


def _one(params: dict, name: str) -> str:
    return (params.get(name) or [""])[0].strip()


def explorer(query: str | None = None, **kwargs) -> SEDPlot:
    """An SEDPlot for the page's query string (``QUERY_STRING`` by default)."""
    params = _params(query)

    def one(name: str) -> str:
        return _one(params, name)

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
