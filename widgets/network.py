"""Is the internet reachable? One cheap TCP connection to CDS, cached for a minute.

Used to decide whether to offer remote HiPS surveys and to say so when they are not offered.
``PORTAL_OFFLINE=1`` forces the offline behaviour (tests, air-gapped sites).
"""

from __future__ import annotations

import os
import socket
import threading
import time

PROBE = ("alasky.cds.unistra.fr", 443)
TTL = 60.0
_lock = threading.Lock()
_cache: tuple[float, bool] | None = None


def online(timeout: float = 2.0) -> bool:
    global _cache
    if os.environ.get("PORTAL_OFFLINE", "").lower() in {"1", "true", "yes"}:
        return False
    with _lock:
        if _cache is not None and time.monotonic() - _cache[0] < TTL:
            return _cache[1]
    try:
        with socket.create_connection(PROBE, timeout=timeout):
            up = True
    except OSError:
        up = False
    with _lock:
        _cache = (time.monotonic(), up)
    return up
