"""The server `portal serve` runs: uvicorn with the portal's HTTP limits, and a stop that ends long polls first."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable

import uvicorn

from portal.serving import accesslog
from portal.serving.limits import HttpLimits
from portal.serving.protocol import protocol_class

__all__ = ["HttpLimits", "PortalServer", "serve"]

log = logging.getLogger("portal.http")


class PortalServer(uvicorn.Server):
    """uvicorn's server, which calls ``on_stop`` callbacks as soon as it starts to stop."""

    def __init__(self, config: uvicorn.Config, on_stop: Iterable[Callable[[], None]] = ()) -> None:
        super().__init__(config)
        self.on_stop = list(on_stop)

    async def shutdown(self, sockets=None) -> None:
        for callback in self.on_stop:
            try:
                callback()
            except Exception:  # noqa: BLE001 - stopping goes on whatever a callback does
                log.exception("a stop callback failed")
        await super().shutdown(sockets)


def serve(app, host: str, port: int, log_level: str = "info", *, limits: HttpLimits | None = None,
          on_stop: Iterable[Callable[[], None]] = ()) -> None:
    """Serve ``app`` until SIGINT or SIGTERM."""
    limits = limits or HttpLimits.from_env()
    config = uvicorn.Config(
        app, host=host, port=port, log_level=log_level, http=protocol_class(limits),
        limit_concurrency=None,  # the protocol applies the limit, with a sentence
        timeout_keep_alive=limits.keep_alive,  # type: ignore[arg-type]  (a float works: call_later)
        timeout_graceful_shutdown=limits.shutdown_timeout or None,  # type: ignore[arg-type]
    )
    accesslog.install()
    PortalServer(config, on_stop).run()
