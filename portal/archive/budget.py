"""The time a query may take, from the first byte read to the last byte written, and its cancellation.

One :class:`Budget` follows a query through every stage: loading the uploads, parsing, SQL (the
connection's progress handler asks :meth:`Budget.stopped`), fetching rows and writing the result
(the writers call :meth:`Budget.check`). It ends when the deadline passes, or when someone calls
:meth:`Budget.cancel`: the sync handler when the client disconnects, an async job when it is
aborted. Then the next check raises :class:`~portal.archive.errors.TapError` and the work stops.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from portal.archive.errors import TapError

__all__ = ["Budget"]


class Budget:
    def __init__(self, seconds: float):
        self.seconds = seconds
        self.deadline = time.monotonic() + seconds
        self.reason: str | None = None
        self._cancelled = threading.Event()
        self._callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()

    def elapsed(self) -> float:
        return time.monotonic() - (self.deadline - self.seconds)

    def remaining(self) -> float:
        return max(0.0, self.deadline - time.monotonic())

    def stopped(self) -> bool:
        """True once cancelled or past the deadline (cheap: called by SQLite's progress handler)."""
        return self._cancelled.is_set() or time.monotonic() > self.deadline

    def check(self) -> None:
        """Raise :class:`TapError` when the query must stop."""
        if self._cancelled.is_set():
            raise TapError(self.reason or "the query was stopped")
        if time.monotonic() > self.deadline:
            raise TapError(self.timeout_message())

    def timeout_message(self) -> str:
        return (f"the query took longer than the time limit of {self.seconds:g} s: make it more selective "
                "(a smaller cone, fewer joins, TOP) or run it asynchronously")

    def cancel(self, reason: str) -> None:
        """Stop the query from another thread; callbacks (``sqlite3.Connection.interrupt``) run now."""
        with self._lock:
            if self._cancelled.is_set():
                return
            self.reason = reason
            self._cancelled.set()
            callbacks = list(self._callbacks)
        for callback in callbacks:
            callback()

    def on_cancel(self, callback: Callable[[], None]) -> None:
        with self._lock:
            if not self._cancelled.is_set():
                self._callbacks.append(callback)
                return
        callback()

    @property
    def cancelled(self) -> bool:
        return self._cancelled.is_set()
