"""HTTP handlers: ``/datalink`` (DataLink 1.1) and ``/data`` (files by identifier, never by path)."""

from __future__ import annotations

from fastapi import APIRouter, FastAPI, Request
from fastapi.responses import FileResponse, PlainTextResponse, Response

from portal.datalink.files import FITS, file_content_type
from portal.datalink.lookup import NotFound, Unreadable, reason
from portal.datalink.params import read_ids
from portal.datalink.preview import PNG
from portal.datalink.service import HDU_LINKS, DataLinkService
from portal.datalink.votable import DATALINK

router = APIRouter()


def _service(request: Request) -> DataLinkService:
    service: DataLinkService = request.app.state.datalink
    if service.spectrum is None:  # the job service may be installed after us
        uws = getattr(request.app.state, "uws", None)
        definitions = getattr(uws, "definitions", {}) if uws is not None else {}
        service.spectrum = definitions.get("spectrum")
    return service


def _base_url(request: Request) -> str:
    return str(request.base_url).rstrip("/")


@router.api_route("/datalink", methods=["GET", "POST"], include_in_schema=True)
async def datalink(request: Request) -> Response:
    """DataLink 1.1 links endpoint: ``ID`` (repeatable) is an ObsCore ``obs_publisher_did``."""
    ids = await read_ids(request, "an obs_publisher_did from ivoa.obscore")
    if isinstance(ids, Response):
        return ids
    service = _service(request)
    from starlette.concurrency import run_in_threadpool

    body = await run_in_threadpool(service.document, ids, _base_url(request))
    return Response(body, media_type=DATALINK)


@router.get("/datalink/capabilities")
def capabilities(request: Request) -> Response:
    """VOSI capabilities of the DataLink service."""
    from portal.datalink.vosi import capabilities as document

    return Response(document(_base_url(request)), media_type="application/xml")


@router.get("/datalink/availability")
def availability(request: Request) -> Response:
    """VOSI availability: DataLink answers whenever the server does."""
    from portal.datalink.vosi import availability as document

    return Response(document(_service(request).lookup.db_path.is_file()), media_type="application/xml")


@router.api_route("/data", methods=["GET", "HEAD"])
def data(request: Request, ID: str = "", HDU: str | None = None) -> Response:  # noqa: N803 - DataLink names
    """The DL3 file of an observation (``ID``), or one of its HDUs (``HDU=events|gti|aeff|edisp|psf|bkg``)."""
    if not ID:
        return _error(400, "the ID parameter is required (an obs_publisher_did from ivoa.obscore)")
    if HDU is not None and HDU.lower() not in HDU_LINKS:
        return _error(400, f"HDU must be one of {', '.join(HDU_LINKS)}")
    service = _service(request)
    try:
        obs = service.observation(ID)
        stem = f"{obs.collection}_{obs.obs_id}"
        if HDU is None:
            path = _present(obs.events.path)
            return FileResponse(path, media_type=file_content_type(path), filename=_filename(stem, path.name))
        hdu = obs.hdu(HDU.lower())
        path = _readable(lambda: service.cutter.path(hdu), hdu.path)
        return FileResponse(path, media_type=FITS, filename=f"{stem}_{hdu.hdu_type}.fits")
    except NotFound as exc:
        return _error(404, str(exc))
    except Unreadable as exc:
        return _error(500, f"{exc}; the archive's copy of this release is broken, tell its maintainers")


@router.api_route("/data/preview", methods=["GET", "HEAD"])
def preview(request: Request, ID: str = "") -> Response:  # noqa: N803
    """Counts-map preview (PNG) of an observation."""
    if not ID:
        return _error(400, "the ID parameter is required (an obs_publisher_did from ivoa.obscore)")
    service = _service(request)
    try:
        obs = service.observation(ID)
        path = _readable(lambda: service.previews.path(obs), obs.events.path)
    except NotFound as exc:
        return _error(404, str(exc))
    except Unreadable as exc:
        return _error(500, f"{exc}; the archive's copy of this release is broken, tell its maintainers")
    return FileResponse(path, media_type=PNG, filename=f"{obs.collection}_{obs.obs_id}_counts.png",
                        content_disposition_type="inline")


def _present(path):
    if not path.is_file():
        raise Unreadable(f"{path.name} has gone from its release")
    return path


def _readable(make, source):
    """``make()``, a file made from ``source``; a missing or corrupt source is :class:`Unreadable`."""
    _present(source)
    try:
        return make()
    except NotFound:
        raise
    except Exception as exc:  # noqa: BLE001 - whatever astropy or gzip raise for a corrupt file
        raise Unreadable(f"{source.name} cannot be read ({reason(exc)})") from None


def _filename(stem: str, stored: str) -> str:
    suffix = "".join(s for s in (".fits", ".gz") if s in stored) or ".fits"
    return stem + suffix


def _error(status: int, message: str) -> Response:
    return PlainTextResponse(message + "\n", status_code=status)


def install(app: FastAPI, settings) -> DataLinkService:
    """Mount ``/datalink`` and ``/data`` on ``app``."""
    from portal.archive.store import db_path

    service = DataLinkService(db_path(settings.data_dir), settings.data_dir / "cache" / "datalink")
    app.state.datalink = service
    from portal.datalink.products import router as products_router  # published products (portal.uws.publish)

    app.include_router(products_router, tags=["DataLink"])
    app.include_router(router, tags=["DataLink"])
    return service
