"""Blocking WAIT (UWS 1.1, and the portal's ``If-None-Match`` extension), for :class:`~portal.uws.service.JobService`.

:class:`Waits` holds the event that wakes waiting requests (:meth:`Waits.notify`, called in the event loop
whenever a job changes), the server's stop (:meth:`Waits.end`: every WAIT answers now, new ones do not
block) and the loop one WAIT runs (:meth:`Waits.until`).

``Waits.waiting`` counts the requests blocked right now, waiting for a change. It is what a test waits on
before it changes a job, so that the test fails if a WAIT stopped blocking. A blocked request is also
logged at DEBUG (``portal.uws``: "job <id>: WAIT blocks ..."), for an operator and for tests that drive a
server out of process.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

from portal.uws.models import ACTIVE_PHASES, ExecutionPhase, Job

__all__ = ["LOG_POLL", "Waits"]

log = logging.getLogger("portal.uws")

LOG_POLL = 0.5  # seconds between looks at a running job's log while a client waits for any change


class Waits:
    """The WAITs of one job service; see the module docstring. Use it in the event loop only."""

    def __init__(self) -> None:
        self._changed = asyncio.Event()
        self.stopping = False  # the server is stopping: blocking GETs answer at once
        self._waiting = 0

    @property
    def waiting(self) -> int:
        """How many requests are blocked in a WAIT now (readable from any thread)."""
        return self._waiting

    def reset(self) -> None:
        """A new event, made in the loop that will serve the waits (at the service's start)."""
        self._changed = asyncio.Event()

    def notify(self) -> None:
        """Wake every blocked WAIT: something changed (call in the event loop)."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def end(self) -> None:
        """The server is stopping: every blocked WAIT answers now, and new ones do not block."""
        self.stopping = True
        self.notify()

    async def until(self, read: Callable[[], Awaitable[Job]], etag: Callable[[Job], str], limit: float, *,
                    phase: ExecutionPhase, if_none_match: str | None) -> Job:
        """Read the job (``read()``) again at each change until it leaves ``phase`` (or, with
        ``if_none_match``, until its ``etag`` is not among those or it is final), for at most ``limit``
        seconds; returns the job as last read."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        said = False
        while True:
            changed = self._changed
            job = await read()
            remaining = deadline - loop.time()
            if remaining <= 0 or self.stopping:
                return job
            if if_none_match is None:
                if job.phase != phase:
                    return job
                timeout = remaining
            else:
                if etag(job) not in if_none_match or job.phase not in ACTIVE_PHASES:
                    return job
                # log lines raise no event: look at the log again now and then while it may grow
                timeout = min(remaining, LOG_POLL) if job.phase == ExecutionPhase.EXECUTING else remaining
            if not said:
                said = True
                log.debug("job %s: WAIT blocks up to %.0f s for %s", job.job_id, remaining,
                          "a change" if if_none_match is not None else f"the end of {phase.value}")
            self._waiting += 1
            try:
                await asyncio.wait_for(changed.wait(), timeout=timeout)
            except asyncio.TimeoutError:
                pass
            finally:
                self._waiting -= 1
