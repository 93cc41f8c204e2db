"""A runner for short in-process work: each job runs in a thread of the service's process.

Meant for jobs such as TAP async queries, which need no science stack and must start at once.
A thread cannot be killed, so abort and the execution duration are cooperative: the job gets
``ctx.abort_requested`` (a ``threading.Event``) and ``ctx.on_abort(callback)`` (for instance
``sqlite3.Connection.interrupt``), called when the job is aborted or runs out of time. The job
ends ABORTED, or ERROR saying the duration was exceeded, as soon as its function returns.

Its ``log`` result receives the records of ``ctx.log`` only (in-process work shares the
process's stdout and root logger with the server).
"""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from portal.private import private_file
from portal.uws.context import LOG_FILE, RunContext
from portal.uws.execute import call, finish
from portal.uws.models import ExecutionPhase, JobFailure, JobResult, Outcome, utcnow
from portal.uws.runner import RunRequest, RunnerEvents

__all__ = ["ThreadRunner"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


@dataclass
class _Run:
    ctx: RunContext | None = None
    aborted: bool = False
    timed_out: bool = False
    future: asyncio.Future | None = None
    timer: asyncio.TimerHandle | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class ThreadRunner:
    def __init__(self, max_workers: int = 4) -> None:
        self._pool = ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="uws-job")
        self._runs: dict[str, _Run] = {}
        self._events: RunnerEvents | None = None

    @property
    def ready(self) -> bool:
        return self._events is not None

    async def start(self, events: RunnerEvents) -> None:
        self._events = events
        events.ready()

    async def submit(self, request: RunRequest) -> None:
        loop = asyncio.get_running_loop()
        run = _Run()
        self._runs[request.job.job_id] = run
        duration = request.job.execution_duration
        if duration > 0:
            run.timer = loop.call_later(duration, self._expire, request.job.job_id)
        run.future = loop.run_in_executor(self._pool, self._execute, request, run)
        run.future.add_done_callback(lambda _: self._settle(request.job.job_id))

    def _settle(self, job_id: str) -> None:
        run = self._runs.pop(job_id, None)
        if run is not None:
            if run.timer is not None:
                run.timer.cancel()
            run.done.set()

    def _expire(self, job_id: str) -> None:
        run = self._runs.get(job_id)
        if run is not None:
            run.timed_out = True
            if run.ctx is not None:
                run.ctx.request_abort()

    def _execute(self, request: RunRequest, run: _Run) -> None:
        events = self._events
        job_id = request.job.job_id
        logger = logging.getLogger(f"portal.job.{job_id}")
        logger.propagate = False
        logger.setLevel(logging.INFO)
        handler = logging.FileHandler(private_file(request.workdir / LOG_FILE), encoding="utf-8")
        handler.setFormatter(logging.Formatter(FORMAT))
        logger.addHandler(handler)
        start = utcnow()

        def report(kind: str, value) -> None:
            if kind == "published":
                events.published(job_id, value)
            elif kind == "progress":
                events.progressed(job_id, value)

        ctx = RunContext(job_id, request.job.owner, request.workdir, report, logger=logger,
                         locator=request.locator, jobs_db=request.jobs_db, jobs_dir=request.jobs_dir)
        run.ctx = ctx
        if run.aborted or run.timed_out:
            ctx.request_abort()
        try:
            events.started(job_id, start)
            events.published(job_id, JobResult("log", LOG_FILE, "text/plain"))
            phase, failure = call(request, ctx)
            if run.timed_out:
                phase, failure = ExecutionPhase.ERROR, JobFailure(
                    f"The job ran longer than its execution duration ({request.job.execution_duration} s) "
                    "and was stopped")
            elif run.aborted:
                phase, failure = ExecutionPhase.ABORTED, None
            end = utcnow()
            handler.flush()
            results = finish(request, dict(ctx.published), list(ctx.inputs), phase, failure, start, end,
                             dict(ctx.notes))
            events.finished(job_id, Outcome(phase, end, failure, results))
        except Exception as exc:  # noqa: BLE001 - finished must be reported whatever happens
            logger.exception("the runner failed")
            events.finished(job_id, Outcome(ExecutionPhase.ERROR, utcnow(),
                                            JobFailure(f"The job runner failed: {exc}")))
        finally:
            logger.removeHandler(handler)
            handler.close()

    async def abort(self, job_id: str, timeout: float = 10.0) -> None:
        run = self._runs.get(job_id)
        if run is None:
            return
        run.aborted = True
        if run.ctx is not None:
            run.ctx.request_abort()
        try:
            await asyncio.wait_for(run.done.wait(), timeout)
        except asyncio.TimeoutError:
            logging.getLogger("portal.uws").warning("job %s did not stop within %s s of its abort", job_id, timeout)

    async def close(self) -> None:
        for job_id in list(self._runs):
            await self.abort(job_id, timeout=5.0)
        self._pool.shutdown(wait=False, cancel_futures=True)
