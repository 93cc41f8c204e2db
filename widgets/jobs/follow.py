"""Following one job: blocking WAIT in a background thread, each change applied on the kernel's loop.

Against the portal, WAIT carries the job's ETag (``If-None-Match``), so the service answers when
anything changes (phase, a result, log lines) or after the WAIT period with 304: at most one
request per job per period while nothing happens. Against a UWS 1.1 service without ETags, WAIT
blocks on the phase; against one that does not block at all, the follower notices that answers
come back at once and polls with back-off (1 s doubling to 30 s, reset by any change).
"""

from __future__ import annotations

import threading
import time

from widgets.background import Background
from widgets.client import ACTIVE, JobInfo, ServiceError

__all__ = ["Follower"]

MIN_BACKOFF = 1.0
MAX_BACKOFF = 30.0


class Follower:
    def __init__(self, handle, background: Background, wait: float = 30.0) -> None:
        self.handle = handle
        self.background = background
        self.wait = wait
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.requests = 0  # WAIT requests sent (tests count them)

    @property
    def alive(self) -> bool:
        return self._thread is not None and self._thread.is_alive() and not self._stop.is_set()

    def start(self) -> None:
        self._thread = self.background.thread(self._loop, name=f"follow-{self.handle.job_id}")

    def stop(self) -> None:
        self._stop.set()

    def _apply(self, info: JobInfo) -> None:
        self.background.call(self.handle.update, info)

    def _say(self, message: str, gone: bool = False) -> None:
        def show():
            self.handle.message = message
            if gone:
                self.handle.gone = True
        self.background.call(show)

    def _loop(self) -> None:
        client = self.handle.client
        info = self.handle.info
        backoff = MIN_BACKOFF
        while not self._stop.is_set():
            started = time.monotonic()
            try:
                if info is None:
                    new = client.uws.job(self.handle.url)
                else:
                    if info.phase not in ACTIVE:
                        return
                    self.requests += 1
                    new = client.uws.wait(self.handle.url, phase=info.phase, etag=info.etag, timeout=self.wait)
            except RuntimeError:
                if client.closed:  # whoever owned the client is done with it (a closed notebook, a test): stop
                    return
                raise
            except ServiceError as exc:
                if exc.status == 404:
                    self._say("This job no longer exists on the service (deleted or past its destruction time).",
                              gone=True)
                    return
                self._say(f"{exc.message} Trying again in {backoff:.0f} s.")
                self._stop.wait(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
                continue
            changed = new is not None and (info is None or (new.etag != info.etag if new.etag else not new.same_as(info)))
            if changed:
                info = new
                self._apply(new)
                backoff = MIN_BACKOFF
                continue
            if time.monotonic() - started < self.wait / 2:  # the service did not block: poll, backing off
                self._stop.wait(backoff)
                backoff = min(MAX_BACKOFF, backoff * 2)
