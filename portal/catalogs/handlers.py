"""HTTP handlers of the catalogs (``/catalogs``): counterparts of a position, and each source's data.

    GET /catalogs                                 the catalogs, available or not (JSON)
    GET /catalogs/cone?ra=&dec=&radius=           sources within radius (deg) of ICRS ra, dec (deg):
                                                  JSON list of {tag, name, separation, ra, dec, catalog}
    GET /catalogs/{tag}/{name}/flux_points        gadf SED FITS (404 with a sentence when there are none)
    GET /catalogs/{tag}/{name}/model              gammapy models YAML

Widgets read the catalogs here because a kernel may run where ``$GAMMAPY_DATA`` is absent. A
source name may contain any character (spaces, ``+``, ``/``): percent-encode it. Errors are one
sentence in ``{"detail": ...}``: 400 for bad parameters, 404 for an unknown catalog or source.
"""

from __future__ import annotations

import logging
import math
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

from portal.catalogs.formats import flux_points_fits, models_yaml
from portal.catalogs.registry import CatalogRegistry, CatalogUnavailable

log = logging.getLogger("portal.catalogs")
router = APIRouter()
FITS = "application/fits"
YAML = "application/yaml"
MAX_RADIUS = 30.0  # degrees


def registry(request: Request) -> CatalogRegistry:
    state = request.app.state
    found = getattr(state, "catalog_registry", None)
    if found is None:
        found = state.catalog_registry = CatalogRegistry.from_settings(state.settings)
    return found


def _error(status: int, message: str) -> JSONResponse:
    return JSONResponse({"detail": message}, status_code=status)


def _number(request: Request, name: str, low: float, high: float, unit: str = "degrees") -> float:
    text = request.query_params.get(name)
    if text is None or not text.strip():
        raise ValueError(f"The {name} parameter is required ({unit}).")
    try:
        value = float(text)
    except ValueError:
        raise ValueError(f"The {name} parameter, {text[:40]!r}, is not a number ({unit}).") from None
    if not math.isfinite(value) or not low <= value <= high:
        raise ValueError(f"The {name} parameter must be between {low:g} and {high:g} {unit}, not {text[:40]}.")
    return value


@router.get("", summary="The catalogs this portal knows, and whether each is available")
def catalogs(request: Request) -> JSONResponse:
    return JSONResponse([{"tag": s.tag, "title": s.title, "available": s.available, "message": s.message}
                         for s in registry(request).status()])


@router.get("/cone", summary="Catalog sources near a position (counterparts)")
def cone(request: Request) -> JSONResponse:
    try:
        ra = _number(request, "ra", 0.0, 360.0)
        dec = _number(request, "dec", -90.0, 90.0)
        radius = _number(request, "radius", 0.0, MAX_RADIUS)
        if radius <= 0:
            raise ValueError("The radius parameter must be more than 0 degrees.")
    except ValueError as exc:
        return _error(400, str(exc))
    reg = registry(request)
    found = reg.cone(ra, dec, radius)
    titles = {tag: spec.title for tag, spec in reg.specs.items()}
    return JSONResponse([{"tag": m.catalog, "name": m.name, "separation": round(m.separation, 6), "ra": m.ra,
                          "dec": m.dec, "catalog": titles[m.catalog]} for m in found])


def _product(request: Request, tag: str, name: str, make, missing: str, media_type: str,
             headers=None) -> Response:
    """What ``make(source)`` gives for one catalog source; 404 with a sentence when the source or the
    product is not there, 500 with a sentence when the catalog cannot be read."""
    try:
        source = registry(request).source(tag, name)
    except CatalogUnavailable as exc:
        return _error(404, _sentence(exc))
    try:
        data = make(source)
    except Exception:  # noqa: BLE001 - a catalog gammapy cannot read is a sentence, not a bare 500
        log.exception("cannot make %s of %s in %s", make.__name__, name, tag)
        return _error(500, f"The {source.spec.title} catalog could not be read for {source.name}; the server's "
                           "log has the details.")
    if data is None:
        return _error(404, missing.format(title=source.spec.title, name=source.name,
                                          model=f"/catalogs/{source.catalog}/{quote(source.name, safe='')}/model"))
    filename = f"{source.catalog}-{source.name}".replace(" ", "_").replace("/", "_")
    return Response(data, media_type=media_type, headers=headers(filename) if headers else None)


@router.get("/{tag}/{name:path}/flux_points", summary="A source's flux points (gadf SED FITS)")
def flux_points(request: Request, tag: str, name: str) -> Response:
    return _product(request, tag, name, flux_points_fits,
                    "{title} gives no flux points for {name} (its spectral model is at {model}).", FITS,
                    lambda filename: {"Content-Disposition": f'inline; filename="{filename}.fits"'})


@router.get("/{tag}/{name:path}/model", summary="A source's spectral model (gammapy YAML)")
def model(request: Request, tag: str, name: str) -> Response:
    return _product(request, tag, name, models_yaml, "{title} gives no spectral model for {name}.", YAML)


def _sentence(exc: Exception) -> str:
    text = str(exc).strip()
    text = text[:1].upper() + text[1:]
    return text if text.endswith(".") else text + "."
