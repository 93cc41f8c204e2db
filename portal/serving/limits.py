"""What `portal serve` allows each HTTP connection, read from the environment.

==================================== ================================================================ ==========
variable                             meaning                                                          default
==================================== ================================================================ ==========
``PORTAL_HTTP_HEADER_TIMEOUT``       seconds a connection has to send a whole request head (request   20
                                     line and headers), from its opening or from its first byte
                                     after a kept-alive response; past it: 408 and closed
``PORTAL_HTTP_BODY_TIMEOUT``         seconds a request body may take, plus one second per             20
                                     ``PORTAL_HTTP_BODY_MIN_RATE`` bytes received; past it: 408
``PORTAL_HTTP_BODY_MIN_RATE``        bytes per second that extend the body's time (see above)         500
``PORTAL_HTTP_MAX_CONNECTIONS``      open connections (and requests in progress) the server serves    200
                                     at once; a request on a connection beyond: 503 and closed; 0: no
                                     limit
``PORTAL_HTTP_KEEP_ALIVE``           seconds an idle kept-alive connection stays open                 5
``PORTAL_HTTP_SHUTDOWN_TIMEOUT``     seconds requests in progress may take to end once the server     10
                                     is told to stop (blocking WAITs end at once); 0: no limit
==================================== ================================================================ ==========

These are the values of Apache's ``mod_reqtimeout`` (``header=20 body=20,MinRate=500``), which DaCHS
deployments commonly sit behind.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

from portal.config import env_number

__all__ = ["HttpLimits"]


@dataclass(frozen=True)
class HttpLimits:
    header_timeout: float = 20.0
    body_timeout: float = 20.0
    body_min_rate: float = 500.0  # bytes per second
    max_connections: int = 200  # 0: no limit
    keep_alive: float = 5.0
    shutdown_timeout: float = 10.0  # 0: no limit

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "HttpLimits":
        env = os.environ if environ is None else environ
        return cls(
            header_timeout=env_number(env, "PORTAL_HTTP_HEADER_TIMEOUT", cls.header_timeout, positive=True),
            body_timeout=env_number(env, "PORTAL_HTTP_BODY_TIMEOUT", cls.body_timeout, positive=True),
            body_min_rate=env_number(env, "PORTAL_HTTP_BODY_MIN_RATE", cls.body_min_rate, positive=True),
            max_connections=int(env_number(env, "PORTAL_HTTP_MAX_CONNECTIONS", cls.max_connections)),
            keep_alive=env_number(env, "PORTAL_HTTP_KEEP_ALIVE", cls.keep_alive, positive=True),
            shutdown_timeout=env_number(env, "PORTAL_HTTP_SHUTDOWN_TIMEOUT", cls.shutdown_timeout),
        )
