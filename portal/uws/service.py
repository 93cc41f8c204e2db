"""The job service: UWS semantics over a :class:`~portal.uws.store.JobStore` and a runner.

Middle layer (handlers -> **service** -> store). It owns the rules: who may see a job (the
owner policy), which phase changes are allowed, parameter validation against the job
definition, defaults and caps for execution duration and destruction, blocking WAIT (:mod:`portal.uws.waits`), the queue
with its limits on running jobs (in total and per owner), the per-owner quotas (jobs and bytes held,
jobs queued: :class:`~portal.uws.errors.QuotaExceeded`), bulk abort and delete, recovery after a
restart, and the periodic removal of expired jobs with their files. How a job executes is the runner's business
(:mod:`portal.uws.runner`).

Use::

    service = JobService(store, ServiceConfig(jobs_dir=...), definitions={"spectrum": d},
                         runner=DaskRunner(...))
    await service.start()                    # recover, start the runner and the cleaner
    job = await service.create(user, "spectrum", [("ra", "83.6")], run=True)
    job = await service.get(user, "spectrum", job.job_id, wait=10)
    ...
    await service.close()

Every request method takes the authenticated ``user`` (``None`` for an anonymous caller, allowed
only with ``ServiceConfig.allow_anonymous``, as TAP async does) and the ``job_list`` the URL
names; a job of another owner or of another list raises :class:`JobNotFound`, exactly like a
job that does not exist. The methods runners call (``started``, ``published``, ``progressed``,
``finished``, ``ready``) are thread-safe. The store is synchronous (SQLite): the service calls it
in a thread (:meth:`JobService.db`), never on the event loop, so that a slow disk or a locked
database holds up no other request; its errors come as :class:`~portal.uws.errors.StoreUnavailable`.
"""

from __future__ import annotations

import asyncio
import logging
import shutil
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from portal.uws import quotas, rules
from portal.uws.context import LOG_FILE
from portal.uws.definitions import JobDefinition
from portal.uws.errors import InvalidPhase, InvalidRequest, JobNotFound
from portal.uws.locator import ObservationLocator
from portal.uws.models import (
    ACTIVE_PHASES,
    ErrorType,
    ExecutionPhase,
    JobFailure,
    Job,
    JobRef,
    JobResult,
    Outcome,
    utcnow,
)
from portal.uws.params import ParameterError, check_observations, check_text, normalize, typed
from portal.uws.queue import Dispatcher, JobQueue, QueueHooks
from portal.uws.recovery import record_interrupted
from portal.uws.runner import Runner
from portal.uws.store import JobStore
from portal.uws.waits import Waits

__all__ = ["JobService", "ServiceConfig"]

log = logging.getLogger("portal.uws")

RESTART_MESSAGE = ("The job service stopped while this job was executing, so its work was lost. "
                   "Run the job again.")
STOP_MESSAGE = "The job service was stopped while this job was executing. Run the job again."


@dataclass(frozen=True)
class ServiceConfig:
    jobs_dir: Path  # one folder per job, named by its id
    lifetime: timedelta = timedelta(days=7)  # default time from creation to destruction
    max_lifetime: timedelta = timedelta(days=30)
    max_execution_duration: int = 24 * 3600  # seconds; requests above (or 0) are capped; 0 = no cap
    max_wait: float = 60.0  # seconds a blocking GET may wait at most
    max_running: int = 4  # jobs running at once, in total
    max_running_per_owner: int = 2
    cleanup_interval: float = 60.0  # seconds between sweeps for expired jobs
    allow_anonymous: bool = False  # TAP async: jobs without an owner, visible to whoever has the id
    # per-user quotas (0: none; see portal.config.JobLimits for the defaults a server runs with)
    max_jobs_per_owner: int = 0  # jobs held, in every phase
    max_bytes_per_owner: int = 0  # bytes their folders hold
    max_queued_per_owner: int = 0  # jobs waiting to run
    memory_limit: int = 0  # bytes of address space of one job process (RLIMIT_AS)


class JobService:
    """UWS job service; see the module docstring."""

    def __init__(self, store: JobStore, config: ServiceConfig, *, definitions: Mapping[str, JobDefinition],
                 runner: Runner | None = None, locator: ObservationLocator | None = None) -> None:
        self.store = store
        self.config = config
        self.definitions = dict(definitions)
        self.runner = runner
        self.locator = locator  # the application's (portal.uws.locator): obs-list checks, JobContext.locate
        self._on_delete: list[Callable[[str], None]] = []
        self._on_completed: list[Callable[[str], None]] = []
        self.waits = Waits()  # blocking WAIT: the change event, the stop, the count of blocked requests
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cleaner: asyncio.Task | None = None
        self.queue: JobQueue = Dispatcher(
            store, runner, QueueHooks(request_for=lambda job: rules.run_request(
                job, self.definitions, config, self.workdir(job.job_id), store.path, self.locator),
                changed=lambda: self.call_in_loop(self.notify),
                discard=lambda job_id: shutil.rmtree(self.workdir(job_id), ignore_errors=True),
                completed=self._completed),
            max_running=config.max_running, max_running_per_owner=config.max_running_per_owner)

    # -- life cycle --------------------------------------------------------------------------

    async def db(self, method, *args, **kwargs):
        """Call the store's ``method`` in a thread (the store is thread-safe: one connection per thread)."""
        return await asyncio.to_thread(method, *args, **kwargs)

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self.waits.reset()
        failed = await self.db(self.store.fail_executing, RESTART_MESSAGE, utcnow())
        if failed:
            log.warning("%d job(s) were executing when the service stopped; marked ERROR: %s",
                        len(failed), ", ".join(failed))
            await asyncio.to_thread(record_interrupted, self, failed)  # partial results and provenance
        await self.queue.start()
        self._cleaner = asyncio.create_task(self._clean_periodically(), name="uws-cleaner")
        self.queue.submit()

    async def close(self) -> None:
        """Stop: running jobs end in ERROR (their work is lost), queued ones stay queued."""
        self.queue.stop()
        stopped = Outcome(ExecutionPhase.ERROR, utcnow(), JobFailure(STOP_MESSAGE, ErrorType.TRANSIENT))
        running = self.queue.running()
        ended = await self.db(lambda: [job_id for job_id in running if self.store.mark_finished(
            job_id, stopped, from_phases=[ExecutionPhase.EXECUTING])])
        if self._cleaner is not None:
            self._cleaner.cancel()
            try:
                await self._cleaner
            except asyncio.CancelledError:
                pass
        await self.queue.close()  # the runner stops; its last reports are written
        if ended:
            await asyncio.to_thread(record_interrupted, self, ended)

    def notify(self) -> None:
        """Wake blocking GETs (call in the event loop)."""
        self.waits.notify()

    def end_waits(self) -> None:
        """The server is stopping: every blocking GET answers now, and new ones do not block (call in the
        event loop), so that no long poll holds the server's stop."""
        self.waits.end()

    def forms(self) -> tuple[list[JobDefinition], dict]:
        """The definitions and the limits that forms are built from; a job may follow, so the runner gets ready
        (starts a cluster) in the background."""
        self.queue.prepare()
        return list(self.definitions.values()), self.limits()

    def on_completed(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(job_id)`` (in a thread, not the event loop) for each job that just COMPLETED (the
        application publishes the products of a job run with ``publish=true``)."""
        self._on_completed.append(callback)

    def _completed(self, job_id: str) -> None:
        for callback in self._on_completed:
            callback(job_id)

    def on_delete(self, callback: Callable[[str], None]) -> None:
        """Call ``callback(job_id)`` for each job deleted (what is kept about a job elsewhere goes with it)."""
        self._on_delete.append(callback)

    def deleted(self, job_ids: Iterable[str]) -> None:
        for job_id in job_ids:
            for callback in self._on_delete:
                callback(job_id)

    def call_in_loop(self, fn, *args) -> None:
        if self._loop is None:
            fn(*args)
        else:
            self._loop.call_soon_threadsafe(fn, *args)

    # -- helpers -----------------------------------------------------------------------------

    def definition(self, job_list: str) -> JobDefinition:
        try:
            return self.definitions[job_list]
        except KeyError:
            raise JobNotFound(f"No job list {job_list!r} here") from None

    def workdir(self, job_id: str) -> Path:
        return self.config.jobs_dir / job_id

    async def _job(self, user: str | None, job_list: str, job_id: str) -> Job:
        job = await self.db(self.store.get, job_id)
        if job is None or job.job_list != job_list or not self._visible(user, job):
            raise JobNotFound(f"No job {job_id} in {job_list}")
        return job

    def _visible(self, user: str | None, job: Job) -> bool:
        if job.owner is None:
            return self.config.allow_anonymous
        return user is not None and user == job.owner

    async def _check_observations(self, definition: JobDefinition, stored: Iterable[tuple[str, str]]) -> None:
        """Observations (``obs-list`` parameters) the archive holds in several collections, or not in the
        one named: ParameterError (HTTP 400), before the job may exist or run."""
        if any(p.type == "obs-list" for p in definition.parameters):
            await asyncio.to_thread(check_observations, definition, list(stored), self.locator)

    # -- requests ----------------------------------------------------------------------------

    async def create(self, user: str | None, job_list: str, params: Iterable[tuple[str, str]], *,
                     run_id: str | None = None, execution_duration: int | None = None,
                     destruction: datetime | None = None, run: bool = False) -> Job:
        definition = self.definition(job_list)
        self.queue.prepare()
        if user is None and not self.config.allow_anonymous:
            raise InvalidRequest("This job list needs an authenticated user")
        if run_id is not None and len(run_id) > rules.MAX_RUN_ID:
            raise InvalidRequest(f"RUNID is too long (at most {rules.MAX_RUN_ID} characters)")
        try:
            if run_id is not None:
                check_text("RUNID", run_id)
            stored = normalize(definition, params)
            rules.check_complete(definition, stored, run)
            await self._check_observations(definition, stored)
        except ParameterError as exc:
            raise InvalidRequest(str(exc)) from None
        await self.check_quota(user, queue=run)
        now = utcnow()
        job = Job(
            job_id=rules.new_job_id(), job_list=job_list, owner=user, phase=ExecutionPhase.PENDING,
            parameters=tuple(stored), creation_time=now,
            execution_duration=rules.execution_duration(self.config, definition, execution_duration),
            destruction=rules.destruction(self.config, now, destruction), run_id=run_id,
        )
        await self.db(self.store.add, job)
        log.info("created job %s (%s) for %s", job.job_id, job_list, user or "anonymous")
        if run:
            return await self.start_job(user, job_list, job.job_id)
        return job

    def etag(self, job: Job) -> str:
        """The job's version as an HTTP entity tag: it changes with the job (phase, parameters,
        results, progress: the store bumps ``Job.version``) and with its log (new lines of a running job)."""
        try:
            log_size = (self.workdir(job.job_id) / LOG_FILE).stat().st_size
        except OSError:
            log_size = 0
        return f'"{job.version}-{log_size}"'

    async def get(self, user: str | None, job_list: str, job_id: str, *, wait: float | None = None,
                  wait_phase: ExecutionPhase | None = None, if_none_match: str | None = None) -> Job:
        """The job; with ``wait``, block up to that many seconds (-1: the maximum) while the job
        stays in ``wait_phase`` (default: its current phase) and that phase is an active one.

        With ``if_none_match`` (an ETag from :meth:`etag`; the portal's extension for live
        clients), ``wait`` blocks instead until the job changes in any way (phase, results, log);
        a job in a final phase is returned at once. A progress report is a change."""
        job = await self._job(user, job_list, job_id)
        if not wait or job.phase not in ACTIVE_PHASES:
            return job
        if if_none_match is None and wait_phase is not None and job.phase != wait_phase:
            return job
        limit = self.config.max_wait if wait < 0 else min(wait, self.config.max_wait)
        return await self.waits.until(lambda: self._job(user, job_list, job_id), self.etag, limit,
                                      phase=wait_phase or job.phase, if_none_match=if_none_match)

    @property
    def waiting(self) -> int:
        """How many requests are blocked in a WAIT now (:mod:`portal.uws.waits`)."""
        return self.waits.waiting

    async def list_jobs(self, user: str | None, job_list: str, *, phases: list[ExecutionPhase] | None = None,
                        after: datetime | None = None, last: int | None = None) -> list[JobRef]:
        self.definition(job_list)
        self.queue.prepare()  # someone uses the job service: a job may follow
        if user is None:
            return []  # anonymous callers see no list, only the jobs whose ids they hold
        return await self.db(self.store.list_refs, job_list, user, phases=phases, after=after, last=last)

    async def version(self) -> tuple:
        """A value that changes whenever any job changes (the job lists' cache is checked against it)."""
        return await self.db(self.store.generation)

    async def start_job(self, user: str | None, job_list: str, job_id: str) -> Job:
        job = await self._job(user, job_list, job_id)
        if job.phase not in (ExecutionPhase.PENDING, ExecutionPhase.HELD):
            if job.phase in (ExecutionPhase.QUEUED, ExecutionPhase.EXECUTING):
                return job  # already running: RUN is idempotent
            raise InvalidPhase(f"Job {job_id} is {job.phase.value} and cannot be run again; create a new job")
        try:
            typed(self.definition(job_list), job.parameters)
            await self._check_observations(self.definition(job_list), job.parameters)
        except ParameterError as exc:
            raise InvalidRequest(str(exc)) from None
        await self.check_quota(user, create=False, queue=True)
        await self.db(self.store.mark_queued, job_id, utcnow())
        self.notify()
        self.queue.submit()
        return await self._job(user, job_list, job_id)

    async def abort(self, user: str | None, job_list: str, job_id: str) -> Job:
        job = await self._job(user, job_list, job_id)
        if job.phase not in ACTIVE_PHASES:
            return job  # nothing to stop
        outcome = Outcome(ExecutionPhase.ABORTED, utcnow())
        if await self.db(self.store.mark_finished, job_id, outcome, from_phases=ACTIVE_PHASES):
            log.info("aborted job %s", job_id)
        self.notify()
        await self.queue.cancel(job_id)
        return await self._job(user, job_list, job_id)

    async def delete(self, user: str | None, job_list: str, job_id: str) -> None:
        job = await self._job(user, job_list, job_id)
        await self._destroy(job)

    # -- quotas and bulk actions (portal.uws.quotas) -----------------------------------------

    def limits(self) -> dict:
        """The per-user quotas and the memory limit of a job process, as published (0: no limit)."""
        return quotas.published(self.config)

    async def check_quota(self, user: str | None, *, create: bool = True, queue: bool = False,
                          incoming: int = 0) -> None:
        """:class:`QuotaExceeded` (429) when ``user`` may not create one more job or queue one more."""
        await quotas.check(self, user, create=create, queue=queue, incoming=incoming)

    async def abort_many(self, user: str | None, job_list: str, job_ids: list[str]) -> tuple[int, int]:
        """Abort the caller's jobs named at once: (aborted, ids that are not the caller's jobs in the list)."""
        return await quotas.abort_many(self, user, job_list, job_ids)

    async def delete_many(self, user: str | None, job_list: str, job_ids: list[str]) -> tuple[int, int]:
        """Delete the caller's jobs named at once: (deleted, ids that are not the caller's jobs in the list)."""
        return await quotas.delete_many(self, user, job_list, job_ids)

    async def _destroy(self, job: Job) -> None:
        if job.phase in ACTIVE_PHASES:
            await self.db(self.store.mark_finished, job.job_id, Outcome(ExecutionPhase.ABORTED, utcnow()),
                          from_phases=ACTIVE_PHASES)
            await self.queue.cancel(job.job_id)
        await self.db(self.store.delete, job.job_id)
        self.deleted([job.job_id])
        await asyncio.to_thread(shutil.rmtree, self.workdir(job.job_id), True)
        self.notify()
        log.info("deleted job %s", job.job_id)

    async def update_parameters(self, user: str | None, job_list: str, job_id: str,
                                params: Iterable[tuple[str, str]]) -> Job:
        job = await self._job(user, job_list, job_id)
        if job.phase != ExecutionPhase.PENDING:
            raise InvalidPhase(f"Parameters can change only while the job is PENDING; it is {job.phase.value}")
        try:
            stored = normalize(self.definition(job_list), params, job.parameters)
            rules.check_complete(self.definition(job_list), stored, False)
            await self._check_observations(self.definition(job_list), stored)
        except ParameterError as exc:
            raise InvalidRequest(str(exc)) from None
        if not await self.db(self.store.set_parameters, job_id, stored):
            raise InvalidPhase("The job left the PENDING phase before its parameters could change")
        return await self._job(user, job_list, job_id)

    async def set_execution_duration(self, user: str | None, job_list: str, job_id: str, seconds: int) -> Job:
        job = await self._job(user, job_list, job_id)
        if job.phase not in (ExecutionPhase.PENDING, ExecutionPhase.HELD):
            raise InvalidPhase(f"The execution duration can change only before the job runs; it is {job.phase.value}")
        await self.db(self.store.set_execution_duration, job_id, rules.execution_duration(self.config, self.definition(job_list), seconds))
        return await self._job(user, job_list, job_id)

    async def set_destruction(self, user: str | None, job_list: str, job_id: str, when: datetime) -> Job:
        job = await self._job(user, job_list, job_id)
        await self.db(self.store.set_destruction, job_id, rules.destruction(self.config, job.creation_time, when))
        return await self._job(user, job_list, job_id)

    async def result_file(self, user: str | None, job_list: str, job_id: str,
                          result_id: str) -> tuple[JobResult, Path]:
        """The result ``result_id`` and its file, which is always inside the job's folder."""
        job = await self._job(user, job_list, job_id)
        result = job.result(result_id)
        if result is None:
            raise JobNotFound(f"Job {job_id} has no result {result_id!r}")
        root = self.workdir(job_id).resolve()
        path = (root / result.path).resolve()
        if not path.is_relative_to(root) or not path.is_file():
            raise JobNotFound(f"The file of result {result_id!r} of job {job_id} is not available")
        return result, path

    # -- housekeeping ------------------------------------------------------------------------

    async def delete_expired(self) -> int:
        expired = await self.db(self.store.expired, utcnow())
        for job in expired:
            await self._destroy(job)
        if expired:
            log.info("removed %d job(s) past their destruction time", len(expired))
        return len(expired)

    async def _clean_periodically(self) -> None:
        while True:
            await asyncio.sleep(self.config.cleanup_interval)
            try:
                await self.delete_expired()
            except Exception:  # noqa: BLE001 - the cleaner must survive one bad sweep
                log.exception("sweep for expired jobs failed")
