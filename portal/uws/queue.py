"""The run queue: QUEUED jobs go to the runner in order, within the limits on running jobs.

:class:`Dispatcher` hands jobs to the runner (oldest request first; at most ``max_running`` in total
and ``max_running_per_owner`` per owner; a job whose owner is at the limit waits without holding up
other owners' jobs) and writes what the runner reports (:class:`~portal.uws.runner.RunnerEvents`)
into the store. The queue itself is the store (phase QUEUED), so queued jobs survive a restart and
run afterwards.

The service and the dispatcher meet at two narrow seams and reach into neither's attributes:

- the service uses the dispatcher as a :class:`JobQueue` (start, prepare, submit, cancel, running, stop,
  close);
- the dispatcher uses the service only through :class:`QueueHooks`: how to make a job's
  :class:`~portal.uws.runner.RunRequest` (or :class:`NotRunnable`, with a sentence), how to wake waiting
  clients, what to do when a job completed and with the folder of a job deleted while it ran.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from portal.uws.models import (ErrorType, ExecutionPhase, Job, JobFailure, JobResult, Outcome, ProgressReport,
                               advance, utcnow)
from portal.uws.runner import Runner, RunRequest
from portal.uws.store import JobStore

__all__ = ["Dispatcher", "JobQueue", "NotRunnable", "QueueHooks"]

log = logging.getLogger("portal.uws")


class NotRunnable(Exception):
    """A queued job that cannot run (its definition is gone, its parameters no longer valid): it ends in ERROR
    with this sentence."""


class JobQueue(Protocol):
    """What the service asks of its run queue."""

    async def start(self) -> None:
        """Start the runner (quickly; a cluster comes up in the background)."""

    def prepare(self) -> None:
        """Someone uses the job service: let the runner get ready in the background (call in the event loop)."""

    def submit(self) -> None:
        """Look at the QUEUED jobs again soon: they start as the limits allow (thread-safe)."""

    async def cancel(self, job_id: str) -> None:
        """Stop the job if it runs (its phase is the service's business)."""

    def running(self) -> list[str]:
        """The ids of the jobs handed to the runner and not finished."""

    def stop(self) -> None:
        """Hand out no more jobs: the queued ones stay QUEUED (for a restart)."""

    async def close(self) -> None:
        """Stop the runner and write its last reports."""


@dataclass(frozen=True)
class QueueHooks:
    """What the dispatcher needs of the service."""

    request_for: Callable[[Job], RunRequest]  # in the event loop; raises NotRunnable
    changed: Callable[[], None]  # any thread: wake the clients waiting on jobs
    discard: Callable[[str], None]  # any thread: remove what a job deleted while it ran left behind
    completed: Callable[[str], None] | None = None  # a thread, not the loop: a job just COMPLETED


class Dispatcher:
    """The service's :class:`JobQueue` over a store and a runner; see the module docstring."""

    def __init__(self, store: JobStore, runner: Runner | None, hooks: QueueHooks, *, max_running: int,
                 max_running_per_owner: int) -> None:
        self.store = store
        self.runner = runner
        self.hooks = hooks
        self.max_running = max_running
        self.max_running_per_owner = max_running_per_owner
        self._running: dict[str, str | None] = {}  # job id -> owner, for jobs handed to the runner
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task] = set()
        self._closing = False  # queued jobs stay queued
        # a runner reporting from the event loop (Dask's events): its reports are written here, in order
        self._writer = ThreadPoolExecutor(1, thread_name_prefix="uws-events")

    # -- JobQueue ----------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        if self.runner is not None:
            await self.runner.start(self)

    def prepare(self) -> None:
        prepare = getattr(self.runner, "prepare", None)
        if prepare is not None:
            prepare()

    def submit(self) -> None:
        loop = self._loop
        if loop is None:
            try:
                loop = asyncio.get_running_loop()
            except RuntimeError:
                return  # not started: the queue is looked at when it starts
        loop.call_soon_threadsafe(self._spawn)

    async def cancel(self, job_id: str) -> None:
        if self.runner is not None and job_id in self._running:
            await self.runner.abort(job_id)

    def running(self) -> list[str]:
        return list(self._running)

    def stop(self) -> None:
        self._closing = True

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass
        if self.runner is not None:
            await self.runner.close()
        await asyncio.to_thread(self._writer.shutdown, wait=True)  # the reports the runner made while stopping

    # -- scheduling --------------------------------------------------------------------------

    def _spawn(self) -> None:
        task = asyncio.get_running_loop().create_task(self._dispatch())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _fail(self, job_id: str, message: str, kind: ErrorType = ErrorType.FATAL) -> None:
        outcome = Outcome(ExecutionPhase.ERROR, utcnow(), JobFailure(message, kind))
        await asyncio.to_thread(self.store.mark_finished, job_id, outcome, from_phases=[ExecutionPhase.QUEUED])
        self.hooks.changed()

    async def _dispatch(self) -> None:
        runner = self.runner
        if runner is None or not runner.ready or self._closing:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        async with self._lock:
            per_owner = Counter(self._running.values())
            for job in await asyncio.to_thread(self.store.queued):
                if len(self._running) >= self.max_running:
                    break
                if job.job_id in self._running or per_owner[job.owner] >= self.max_running_per_owner:
                    continue
                try:
                    request = self.hooks.request_for(job)
                except NotRunnable as exc:
                    await self._fail(job.job_id, str(exc))
                    continue
                self._running[job.job_id] = job.owner
                per_owner[job.owner] += 1
                try:
                    await runner.submit(request)
                except Exception as exc:  # noqa: BLE001 - a runner failure ends this job, not the queue
                    self._running.pop(job.job_id, None)
                    per_owner[job.owner] -= 1
                    if self._closing:
                        return  # stays QUEUED: it runs after the restart
                    log.exception("could not start job %s", job.job_id)
                    await self._fail(job.job_id, f"The job could not be started: {exc}", ErrorType.TRANSIENT)

    # -- RunnerEvents (any thread) -----------------------------------------------------------

    def _apply(self, write, *args) -> None:
        """Write a runner's report into the store: at once in a runner's own thread; from a thread running an
        event loop (the server's), in the one writer thread, in the order reported, so no store call blocks it."""
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            write(*args)
            return
        try:
            self._writer.submit(write, *args)
        except RuntimeError:  # closed (the service stopped): write it now
            write(*args)

    def ready(self) -> None:
        self.submit()

    def started(self, job_id: str, when: datetime) -> None:
        self._apply(self._changed, self.store.mark_executing, job_id, when)

    def published(self, job_id: str, result: JobResult) -> None:
        self._apply(self._changed, self.store.put_result, job_id, result)

    def progressed(self, job_id: str, report: ProgressReport) -> None:
        """The job's stage, with the time left at its pace so far; ignored unless the job is EXECUTING."""
        self._apply(self._changed, self.store.update_progress, job_id, lambda previous: advance(previous, report))

    def _changed(self, write, *args) -> None:
        if write(*args):
            self.hooks.changed()

    def finished(self, job_id: str, outcome: Outcome) -> None:
        self._apply(self._finish, job_id, outcome)

    def _finish(self, job_id: str, outcome: Outcome) -> None:
        job = self.store.get(job_id)
        if job is None:
            self.hooks.discard(job_id)  # deleted (or expired) while it ran: what its last moments wrote goes too
        if job is not None and not (self._closing and job.phase == ExecutionPhase.QUEUED):
            if outcome.results is not None:
                self.store.set_results(job_id, outcome.results)
            self.store.mark_finished(job_id, outcome, start_time=job.start_time or outcome.end_time)
            if outcome.phase == ExecutionPhase.COMPLETED and self.hooks.completed is not None:
                self.hooks.completed(job_id)
        if self._loop is None:
            self._done(job_id)
        else:
            self._loop.call_soon_threadsafe(self._done, job_id)

    def _done(self, job_id: str) -> None:
        self._running.pop(job_id, None)
        self.hooks.changed()
        self._spawn()
