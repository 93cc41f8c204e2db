"""The ASGI application: one server for the archive (/tap) and, as they land, the other services."""

from __future__ import annotations

from contextlib import asynccontextmanager

from fastapi import FastAPI

from portal import __version__
from portal.archive.handlers import router as tap_router
from portal.archive.startup import archive_lifespan
from portal.catalogs.handlers import router as catalogs_router
from portal.config import Settings
from portal.coverage.handlers import install as install_coverage
from portal.datalink.handlers import install as install_datalink
from portal.errors import install as install_error_handler
from portal.guard import install as install_guard
from portal.resolver.handlers import router as resolver_router
from portal.serving import compression, origin
from portal.uws import application as uws


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Start and stop what runs beside the handlers (the job service, its Dask cluster)."""
    async with archive_lifespan(app), uws.lifespan(app):
        yield


def end_waits(app: FastAPI) -> None:
    """The server is stopping: blocking UWS and TAP async WAITs answer now (see portal.serving)."""
    for name in ("uws", "tap_async"):
        service = getattr(app.state, name, None)
        if service is not None:
            service.end_waits()


def create_app(settings: Settings | None = None, *, job_definitions=None, job_runner=None) -> FastAPI:
    """Build the application for ``settings`` (read from the environment by default).

    ``job_definitions`` (JobDefinition objects) default to ``portal.jobs.DEFINITIONS`` plus
    ``PORTAL_JOB_DEFINITIONS``; ``job_runner`` defaults to a Dask runner.
    """
    settings = settings or Settings.from_env()
    settings.ensure_dirs()
    app = FastAPI(title="Gamma-ray archive portal", version=__version__, lifespan=lifespan)
    app.state.settings = settings
    install_error_handler(app)  # unexpected errors: a sentence and a log reference, no traceback
    install_guard(app)  # nosniff on every response, a cap on request bodies
    origin.install(app)  # absolute URLs from PORTAL_BASE_URL / PORTAL_TRUSTED_HOSTS, never a stray Host header
    compression.install(app)  # gzip for the documents, when the client accepts it
    app.include_router(tap_router, prefix="/tap", tags=["TAP"])
    app.include_router(resolver_router, prefix="/resolver", tags=["Names"])
    app.include_router(catalogs_router, prefix="/catalogs", tags=["Catalogs"])
    uws.install(app, settings, job_definitions, runner=job_runner)
    install_datalink(app, settings)  # /datalink, /data
    install_coverage(app, settings)  # /coverage/moc.json, /coverage/moc.fits

    @app.get("/", include_in_schema=False)
    def index() -> dict:
        return {"service": "gamma-portal", "version": __version__, "tap": "/tap", "uws": "/uws"}

    return app
