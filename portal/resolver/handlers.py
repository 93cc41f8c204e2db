"""HTTP handlers of the name resolver (`/resolver`), JSON in and out."""

from __future__ import annotations

from fastapi import APIRouter, Query, Request
from fastapi.responses import JSONResponse

from portal.resolver.service import NameService

router = APIRouter()


def _service(request: Request) -> NameService:
    state = request.app.state
    service = getattr(state, "name_service", None)
    if service is None:
        from portal.catalogs import CatalogRegistry

        service = state.name_service = NameService(CatalogRegistry.from_settings(state.settings))
    return service


@router.get("", summary="Resolve a source name from the local catalogs")
def resolve(request: Request, name: str = Query(..., min_length=1, max_length=200)) -> JSONResponse:
    """200 with the matches (best first) and the source's angular size (``size``, null when no local
    catalog gives one; ``size_note`` says which catalog, or why none), or 404 with a message and, when
    some exist, candidates."""
    answer = _service(request).resolve(name)
    return JSONResponse(answer.to_json(), status_code=200 if answer.matches else 404)


@router.get("/names", summary="Names worth suggesting (TeV catalogs and common aliases)")
def names(request: Request) -> JSONResponse:
    return JSONResponse({"names": _service(request).names()})
