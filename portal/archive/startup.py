"""Archive start-up: the default dataset is ingested in the background, so /tap answers at once."""

from __future__ import annotations

import logging
import threading
from contextlib import asynccontextmanager

from portal.archive import store
from portal.archive.defaults import ensure_default_dataset

log = logging.getLogger("portal.archive")


class ArchiveStatus:
    """What /tap/availability reports while the default dataset is being ingested."""

    def __init__(self):
        self.state = "ready"
        self.message = "archive ready"

    def set(self, state: str, message: str) -> None:
        self.state, self.message = state, message


def _ingest(settings, status: ArchiveStatus) -> None:
    status.set("ingesting", "ingesting the default dataset")
    try:
        added = ensure_default_dataset(settings)
    except Exception as exc:  # noqa: BLE001 - reported in availability and the log, never fatal
        log.exception("default dataset not ingested")
        status.set("error", f"the default dataset could not be ingested: {exc}")
        return
    status.set("ready", f"archive ready ({added} observations ingested at start-up)" if added else "archive ready")


@asynccontextmanager
async def archive_lifespan(app):
    """Start the default-dataset ingest in a thread and the TAP async service; stop both on shutdown."""
    from portal.archive.async_handlers import build_service

    status = ArchiveStatus()
    app.state.archive_status = status
    # the tables exist before the first request: an empty archive answers queries with no rows
    store.connect_write(store.db_path(app.state.settings.data_dir)).close()
    thread = threading.Thread(target=_ingest, args=(app.state.settings, status), name="archive-ingest",
                              daemon=True)
    thread.start()
    tap_async = build_service(app.state.settings)
    app.state.tap_async = tap_async
    await tap_async.start()
    try:
        yield
    finally:
        await tap_async.close()
        tap_async.store.close()
        thread.join(timeout=5)
