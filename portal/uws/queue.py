"""The run queue: QUEUED jobs go to the runner in order, within the limits on running jobs.

:class:`Dispatcher` is the service's side of :class:`~portal.uws.runner.RunnerEvents`: it
hands jobs to the runner (oldest request first; at most ``max_running`` in total and
``max_running_per_owner`` per owner; a job whose owner is at the limit waits without holding up
other owners' jobs) and writes what the runner reports into the store. The queue itself is the
store (phase QUEUED), so queued jobs survive a restart and run afterwards.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections import Counter
from datetime import datetime
from typing import TYPE_CHECKING

from portal.uws.models import (ErrorType, ExecutionPhase, JobFailure, JobResult, Outcome, ProgressReport, advance,
                               utcnow)
from portal.uws.params import ParameterError, typed
from portal.uws.runner import RunRequest

if TYPE_CHECKING:
    from portal.uws.service import JobService

__all__ = ["Dispatcher"]

log = logging.getLogger("portal.uws")


class Dispatcher:
    def __init__(self, service: "JobService") -> None:
        self.service = service
        self.running: dict[str, str | None] = {}  # job id -> owner, for jobs handed to the runner
        self._lock: asyncio.Lock | None = None
        self._tasks: set[asyncio.Task] = set()
        self.closing = False  # set by the service when it stops: queued jobs stay queued

    # -- scheduling --------------------------------------------------------------------------

    def kick(self) -> None:
        """Look at the queue again soon (thread-safe)."""
        self.service.call_in_loop(self._spawn)

    def _spawn(self) -> None:
        task = asyncio.get_running_loop().create_task(self._dispatch())
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _fail(self, job_id: str, message: str, kind: ErrorType = ErrorType.FATAL) -> None:
        outcome = Outcome(ExecutionPhase.ERROR, utcnow(), JobFailure(message, kind))
        self.service.store.mark_finished(job_id, outcome, from_phases=[ExecutionPhase.QUEUED])
        self.service.notify()

    async def _dispatch(self) -> None:
        runner = self.service.runner
        if runner is None or not runner.ready or self.closing:
            return
        if self._lock is None:
            self._lock = asyncio.Lock()
        config = self.service.config
        async with self._lock:
            per_owner = Counter(self.running.values())
            for job in self.service.store.queued():
                if len(self.running) >= config.max_running:
                    break
                if job.job_id in self.running or per_owner[job.owner] >= config.max_running_per_owner:
                    continue
                definition = self.service.definitions.get(job.job_list)
                if definition is None:
                    self._fail(job.job_id, f"This server has no job definition {job.job_list!r} any more")
                    continue
                try:
                    params = typed(definition, job.parameters)
                except ParameterError as exc:
                    self._fail(job.job_id, str(exc))
                    continue
                workdir = self.service.workdir(job.job_id)
                workdir.mkdir(parents=True, exist_ok=True)
                self.running[job.job_id] = job.owner
                per_owner[job.owner] += 1
                request = RunRequest(job=job, definition=definition, params=params, workdir=workdir,
                                     archive_db=config.archive_db, jobs_db=self.service.store.path,
                                     jobs_dir=config.jobs_dir, memory_limit=config.memory_limit,
                                     config={"max_running": config.max_running,
                                             "max_running_per_owner": config.max_running_per_owner,
                                             "execution_duration": job.execution_duration,
                                             "memory_limit": config.memory_limit})
                try:
                    await runner.submit(request)
                except Exception as exc:  # noqa: BLE001 - a runner failure ends this job, not the queue
                    self.running.pop(job.job_id, None)
                    per_owner[job.owner] -= 1
                    if self.closing:
                        return  # stays QUEUED: it runs after the restart
                    log.exception("could not start job %s", job.job_id)
                    self._fail(job.job_id, f"The job could not be started: {exc}", ErrorType.TRANSIENT)

    async def abort(self, job_id: str) -> None:
        runner = self.service.runner
        if runner is not None and job_id in self.running:
            await runner.abort(job_id)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            try:
                await task
            except (asyncio.CancelledError, Exception):  # noqa: BLE001
                pass

    # -- RunnerEvents (any thread) -----------------------------------------------------------

    def ready(self) -> None:
        self.kick()

    def started(self, job_id: str, when: datetime) -> None:
        if self.service.store.mark_executing(job_id, when):
            self.service.call_in_loop(self.service.notify)

    def published(self, job_id: str, result: JobResult) -> None:
        if self.service.store.put_result(job_id, result):
            self.service.call_in_loop(self.service.notify)

    def progressed(self, job_id: str, report: ProgressReport) -> None:
        """The job's stage, with the time left at its pace so far; ignored unless the job is EXECUTING."""
        if self.service.store.update_progress(job_id, lambda previous: advance(previous, report)):
            self.service.call_in_loop(self.service.notify)

    def finished(self, job_id: str, outcome: Outcome) -> None:
        store = self.service.store
        job = store.get(job_id)
        if job is None:
            # deleted (or expired) while it ran: what its last moments wrote (log, provenance) goes too
            shutil.rmtree(self.service.workdir(job_id), ignore_errors=True)
        if job is not None and not (self.closing and job.phase == ExecutionPhase.QUEUED):
            if outcome.results is not None:
                store.set_results(job_id, outcome.results)
            store.mark_finished(job_id, outcome, start_time=job.start_time or outcome.end_time)
        self.service.call_in_loop(self._done, job_id)

    def _done(self, job_id: str) -> None:
        self.running.pop(job_id, None)
        self.service.notify()
        self._spawn()
