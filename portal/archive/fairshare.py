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

The queries waiting for a caller's slot are served first come, first served: a freed slot passes
straight to the caller's longest-waiting query (no polling). Before, waiting queries looked every
50 ms and a query that had just arrived took a freed slot as often as one that had waited for
seconds: with 50 clients behind one address, p50 was 13 ms and p99 3.4 s (issue 22).
"""

from __future__ import annotations

import asyncio
import math
import threading
from collections import Counter, deque
from contextlib import asynccontextmanager

from portal.archive.errors import TapError

__all__ = ["Busy", "CallerSlots", "caller_key"]



class Busy(TapError):
    """429: the caller already has as many sync queries running as it may."""

    def __init__(self, message: str, retry_after: int):
        super().__init__(message, 429)
        self.retry_after = retry_after


def caller_key(user: str | None, address: str | None) -> str:
    return f"user {user}" if user else f"address {address or 'unknown'}"


class _Waiter:
    """A query waiting for a slot; ``granted`` (set under the lock) says a freed slot passed to it."""

    __slots__ = ("loop", "future", "granted")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.loop, self.future, self.granted = loop, loop.create_future(), False


def _wake(future: asyncio.Future) -> None:
    if not future.done():
        future.set_result(None)


class CallerSlots:
    """Counts each caller's sync queries in progress, with a first-come queue of those waiting for a
    slot (thread-safe; the event loop and tests use it)."""

    def __init__(self, per_caller: int, threads: int, wait: float, retry_after: float = 5.0):
        # never all the threads to one caller: one at least stays for the others
        self.per_caller = max(1, min(int(per_caller), threads - 1))
        self.threads = threads
        self.wait = wait
        self.retry_after = max(1, math.ceil(retry_after))
        self._running: Counter = Counter()
        self._waiting: dict[str, deque[_Waiter]] = {}
        self._lock = threading.Lock()

    def running(self, key: str) -> int:
        with self._lock:
            return self._running[key]

    def try_acquire(self, key: str) -> bool:
        """Take a slot now if one is free and no query of this caller waits for one."""
        with self._lock:
            return self._take(key)

    def _take(self, key: str) -> bool:
        if self._running[key] >= self.per_caller or self._waiting.get(key):
            return False
        self._running[key] += 1
        return True

    def release(self, key: str) -> None:
        """Free a slot: it passes to the caller's longest-waiting query, if any."""
        with self._lock:
            queue = self._waiting.get(key)
            waiter = queue.popleft() if queue else None
            if queue is not None and not queue:
                del self._waiting[key]
            if waiter is not None:
                waiter.granted = True  # the count stays: the slot changes hands
            else:
                self._running[key] -= 1
                if self._running[key] <= 0:
                    del self._running[key]
        if waiter is not None:
            try:
                waiter.loop.call_soon_threadsafe(_wake, waiter.future)
            except RuntimeError:  # its loop has closed: nobody will use the slot
                self.release(key)

    def refusal(self, key: str) -> Busy:
        who = "this token's user" if key.startswith("user ") else "your address"
        hint = "" if key.startswith("user ") else "; with a token, your queries count as yours, not your address's"
        return Busy(f"{who} already has {self.per_caller} synchronous "
                    f"{'query' if self.per_caller == 1 else 'queries'} running, the most one caller may run at "
                    f"once (so that one caller cannot hold all {self.threads} query threads); send this one when "
                    f"one of them has ended, or run long queries asynchronously (/tap/async){hint}", self.retry_after)

    @asynccontextmanager
    async def slot(self, key: str):
        """Hold one of ``key``'s slots for the block, waiting in line for it; raises :class:`Busy`
        after the brief wait."""
        waiter = None
        with self._lock:
            if not self._take(key):
                waiter = _Waiter(asyncio.get_running_loop())
                self._waiting.setdefault(key, deque()).append(waiter)
        if waiter is not None:
            await self._wait_for(key, waiter)
        try:
            yield
        finally:
            self.release(key)

    async def _wait_for(self, key: str, waiter: _Waiter) -> None:
        cancelled = None
        try:
            await asyncio.wait({waiter.future}, timeout=self.wait)
        except asyncio.CancelledError as exc:  # the handler stops (the server stopping): give the slot on
            cancelled = exc
        with self._lock:
            granted = waiter.granted
            if not granted:
                queue = self._waiting[key]
                queue.remove(waiter)
                if not queue:
                    del self._waiting[key]
        if cancelled:
            if granted:
                self.release(key)
            raise cancelled
        if not granted:
            raise self.refusal(key)
