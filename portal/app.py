"""The ASGI application: one server for the archive (/tap) and, as they land, the other services."""

from __future__ import annotations

from fastapi import FastAPI

from portal import __version__
from portal.archive.handlers import router as tap_router
from portal.config import Settings


def create_app(settings: Settings | None = None) -> FastAPI:
    """Build the application for ``settings`` (read from the environment by default)."""
    settings = settings or Settings.from_env()
    settings.ensure_dirs()
    app = FastAPI(title="Gamma-ray archive portal", version=__version__)
    app.state.settings = settings
    app.include_router(tap_router, prefix="/tap", tags=["TAP"])

    @app.get("/", include_in_schema=False)
    def index() -> dict:
        return {"service": "gamma-portal", "version": __version__, "tap": "/tap"}

    return app
