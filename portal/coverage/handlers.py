"""``/coverage/moc.json`` and ``/coverage/moc.fits``: the archive's sky coverage (IVOA MOC 2.0)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import Response

from portal.coverage.moc import CoverageService

router = APIRouter()
# public, read-only: Aladin Lite in a page served from another port (Voila) may fetch it directly
PUBLIC = {"Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*",
          "Access-Control-Expose-Headers": "X-MOC-Order, X-Sky-Fraction"}


def _coverage(request: Request):
    return request.app.state.coverage.coverage()


@router.get("/coverage/moc.json")
def moc_json(request: Request) -> Response:
    """MOC JSON (``{"order": [cells]}``), as Aladin Lite's ``A.MOCFromJSON`` and ipyaladin's add_moc read it."""
    cov = _coverage(request)
    headers = {"X-MOC-Order": str(cov.order), "X-Sky-Fraction": f"{cov.sky_fraction:.6g}", **PUBLIC}
    return Response(cov.encoded("json"), media_type="application/json", headers=headers)


@router.get("/coverage/moc.fits")
def moc_fits(request: Request) -> Response:
    """MOC FITS (IVOA MOC 2.0), for Aladin, TOPCAT or mocpy.MOC.from_fits."""
    return Response(_coverage(request).encoded("fits"), media_type="application/fits",
                    headers={"Content-Disposition": 'attachment; filename="archive-coverage.moc.fits"', **PUBLIC})


def install(app: FastAPI, settings) -> CoverageService:
    from portal.archive.store import db_path

    service = CoverageService(db_path(settings.data_dir))
    app.state.coverage = service
    app.include_router(router, tags=["Coverage"])
    return service
