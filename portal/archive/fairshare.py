"""Fair shares of the sync query threads: at most a few queries per caller at once.

The sync handler runs its queries in a small pool of threads (:data:`portal.archive.http.QUERY_THREADS`).
Without a cap, one caller sending four slow queries at once held every thread and everybody else's
queries waited behind them (issue 23: a ``SELECT TOP 1`` took 14.7 s). :class:`CallerSlots` gives
each caller at most ``Limits.sync_per_caller`` queries in progress, and never all the threads: at
least one is always left for other callers.

The caller is the user of a valid bearer token, else the client's address (as uvicorn reports it;
behind a reverse proxy that is the address the proxy forwards, when uvicorn trusts it).

Beyond the cap a request waits (``Limits.sync_caller_wait`` seconds, default 10, in the event loop:
it holds no thread, so the wait costs the other callers nothing), then is answered 429 with a
sentence and ``Retry-After``. Why wait before the 429: the usual caller beyond its cap is not an
attacker but a script sending a burst of quick queries in parallel (pyvo with a thread pool), or
several people behind one address (a NAT, the portal's own dashboards); their queries end within
the wait and they get answers, not errors few TAP clients retry. A caller that holds its threads
with slow queries gets the 429 after the wait, and its queries never delay anybody else's.
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import Counter
from contextlib import asynccontextmanager

from portal.archive.errors import TapError

__all__ = ["Busy", "CallerSlots", "caller_key"]

POLL = 0.05  # seconds between two looks at a caller's count while waiting


class Busy(TapError):
    """429: the caller already has as many sync queries running as it may."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, 429)
        self.retry_after = retry_after


def caller_key(user: str | None, address: str | None) -> str:
    return f"user {user}" if user else f"address {address or 'unknown'}"


class CallerSlots:
    """Counts each caller's sync queries in progress (thread-safe; the event loop and tests use it)."""

    def __init__(self, per_caller: int, threads: int, wait: float, retry_after: float = 5.0):
        # never all the threads to one caller: one at least stays for the others
        self.per_caller = max(1, min(int(per_caller), threads - 1))
        self.threads = threads
        self.wait = wait
        self.retry_after = max(1, math.ceil(retry_after))
        self._running: Counter = Counter()
        self._lock = threading.Lock()

    def running(self, key: str) -> int:
        with self._lock:
            return self._running[key]

    def try_acquire(self, key: str) -> bool:
        with self._lock:
            if self._running[key] >= self.per_caller:
                return False
            self._running[key] += 1
            return True

    def release(self, key: str) -> None:
        with self._lock:
            self._running[key] -= 1
            if self._running[key] <= 0:
                del self._running[key]

    def refusal(self, key: str) -> Busy:
        who = "this token's user" if key.startswith("user ") else "your address"
        hint = "" if key.startswith("user ") else "; with a token, your queries count as yours, not your address's"
        return Busy(f"{who} already has {self.per_caller} synchronous "
                    f"{'query' if self.per_caller == 1 else 'queries'} running, the most one caller may run at "
                    f"once (so that one caller cannot hold all {self.threads} query threads); send this one when "
                    f"one of them has ended, or run long queries asynchronously (/tap/async){hint}", self.retry_after)

    @asynccontextmanager
    async def slot(self, key: str):
        """Hold one of ``key``'s slots for the block; raises :class:`Busy` after the brief wait."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.wait
        while not self.try_acquire(key):
            if loop.time() >= deadline:
                raise self.refusal(key)
            await asyncio.sleep(POLL)
        try:
            yield
        finally:
            self.release(key)
