"""The job service: UWS semantics over a :class:`~portal.uws.store.JobStore` and a runner.

Middle layer (handlers -> **service** -> store). It owns the rules: who may see a job (the
owner policy), which phase changes are allowed, parameter validation against the job
definition, defaults and caps for execution duration and destruction, blocking WAIT, the queue
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
``finished``, ``ready``) are thread-safe.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import shutil
import zlib
from collections import OrderedDict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from portal.uws import quotas
from portal.uws.context import LOG_FILE
from portal.uws.definitions import JobDefinition
from portal.uws.errors import InvalidPhase, InvalidRequest, JobNotFound
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
from portal.uws.params import MissingParameter, ParameterError, check_observations, check_text, normalize, typed
from portal.uws.queue import Dispatcher
from portal.uws.recovery import record_interrupted
from portal.uws.render import JobListRenderer, list_name_of
from portal.uws.runner import Runner
from portal.uws.store import JobStore

__all__ = ["JobService", "ServiceConfig"]

log = logging.getLogger("portal.uws")

RESTART_MESSAGE = ("The job service stopped while this job was executing, so its work was lost. "
                   "Run the job again.")
STOP_MESSAGE = "The job service was stopped while this job was executing. Run the job again."
MAX_RUN_ID = 256
MAX_SECONDS = 2**31 - 1  # an execution duration beyond this means no limit (0)
LIST_CACHE_ENTRIES = 16  # rendered job lists kept while no job changes
LIST_CACHE_MAX_BYTES = 8 << 20
LOG_POLL = 0.5  # seconds between looks at a running job's log while a client waits for any change


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
    archive_db: Path | None = None
    # per-user quotas (0: none; see portal.config.JobLimits for the defaults a server runs with)
    max_jobs_per_owner: int = 0  # jobs held, in every phase
    max_bytes_per_owner: int = 0  # bytes their folders hold
    max_queued_per_owner: int = 0  # jobs waiting to run
    memory_limit: int = 0  # bytes of address space of one job process (RLIMIT_AS)


def new_job_id() -> str:
    return secrets.token_hex(12)


def _check_complete(definition: JobDefinition, stored: list[tuple[str, str]], run: bool) -> None:
    """The definition's rules across parameters (a map's size, an energy binning), as soon as the
    parameters are complete; a missing required one is an error only for a job asked to run."""
    try:
        typed(definition, stored)
    except MissingParameter:
        if run:
            raise


class JobService:
    """UWS job service; see the module docstring."""

    def __init__(self, store: JobStore, config: ServiceConfig, *, definitions: Mapping[str, JobDefinition],
                 runner: Runner | None = None) -> None:
        self.store = store
        self.config = config
        self.definitions = dict(definitions)
        self.runner = runner
        self.renderer = JobListRenderer()
        self._lists: OrderedDict[tuple, tuple[tuple, bytes, str]] = OrderedDict()
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._cleaner: asyncio.Task | None = None
        self.dispatcher = Dispatcher(self)

    # -- life cycle --------------------------------------------------------------------------

    async def start(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._changed = asyncio.Event()
        failed = self.store.fail_executing(RESTART_MESSAGE, utcnow())
        if failed:
            log.warning("%d job(s) were executing when the service stopped; marked ERROR: %s",
                        len(failed), ", ".join(failed))
            await asyncio.to_thread(record_interrupted, self, failed)  # partial results and provenance
        if self.runner is not None:
            await self.runner.start(self.dispatcher)
        self._cleaner = asyncio.create_task(self._clean_periodically(), name="uws-cleaner")
        self.dispatcher.kick()

    async def close(self) -> None:
        """Stop: running jobs end in ERROR (their work is lost), queued ones stay queued."""
        self.dispatcher.closing = True
        stopped = Outcome(ExecutionPhase.ERROR, utcnow(), JobFailure(STOP_MESSAGE, ErrorType.TRANSIENT))
        ended = [job_id for job_id in list(self.dispatcher.running)
                 if self.store.mark_finished(job_id, stopped, from_phases=[ExecutionPhase.EXECUTING])]
        if self._cleaner is not None:
            self._cleaner.cancel()
            try:
                await self._cleaner
            except asyncio.CancelledError:
                pass
        await self.dispatcher.close()
        if self.runner is not None:
            await self.runner.close()
        if ended:
            await asyncio.to_thread(record_interrupted, self, ended)

    def notify(self) -> None:
        """Wake blocking GETs (call in the event loop)."""
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    def prepare_runner(self) -> None:
        """Someone uses the job service: let the runner get ready (start a cluster) in the background."""
        prepare = getattr(self.runner, "prepare", None)
        if prepare is not None:
            prepare()

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

    def _job(self, user: str | None, job_list: str, job_id: str) -> Job:
        job = self.store.get(job_id)
        if job is None or job.job_list != job_list or not self._visible(user, job):
            raise JobNotFound(f"No job {job_id} in {job_list}")
        return job

    def _visible(self, user: str | None, job: Job) -> bool:
        if job.owner is None:
            return self.config.allow_anonymous
        return user is not None and user == job.owner

    def _duration(self, definition: JobDefinition, requested: int | None) -> int:
        seconds = definition.execution_duration if requested is None else int(requested)
        if seconds < 0:
            raise InvalidRequest("EXECUTIONDURATION must be a number of seconds, 0 or more")
        cap = self.config.max_execution_duration
        if cap and (seconds == 0 or seconds > cap):
            seconds = cap
        return 0 if seconds > MAX_SECONDS else seconds  # without a cap, "longer than ever" is unlimited

    def _destruction(self, created: datetime, requested: datetime | None) -> datetime:
        limit = created + self.config.max_lifetime
        if requested is None:
            return min(created + self.config.lifetime, limit)
        return min(requested, limit)

    async def _check_observations(self, definition: JobDefinition, stored: Iterable[tuple[str, str]]) -> None:
        """Observations (``obs-list`` parameters) the archive holds in several collections, or not in the
        one named: ParameterError (HTTP 400), before the job may exist or run."""
        if any(p.type == "obs-list" for p in definition.parameters):
            await asyncio.to_thread(check_observations, definition, list(stored), self.config.archive_db)

    # -- requests ----------------------------------------------------------------------------

    async def create(self, user: str | None, job_list: str, params: Iterable[tuple[str, str]], *,
                     run_id: str | None = None, execution_duration: int | None = None,
                     destruction: datetime | None = None, run: bool = False) -> Job:
        definition = self.definition(job_list)
        if user is None and not self.config.allow_anonymous:
            raise InvalidRequest("This job list needs an authenticated user")
        if run_id is not None and len(run_id) > MAX_RUN_ID:
            raise InvalidRequest(f"RUNID is too long (at most {MAX_RUN_ID} characters)")
        try:
            if run_id is not None:
                check_text("RUNID", run_id)
            stored = normalize(definition, params)
            _check_complete(definition, stored, run)
            await self._check_observations(definition, stored)
        except ParameterError as exc:
            raise InvalidRequest(str(exc)) from None
        await self.check_quota(user, queue=run)
        now = utcnow()
        job = Job(
            job_id=new_job_id(), job_list=job_list, owner=user, phase=ExecutionPhase.PENDING,
            parameters=tuple(stored), creation_time=now,
            execution_duration=self._duration(definition, execution_duration),
            destruction=self._destruction(now, destruction), run_id=run_id,
        )
        self.store.add(job)
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
        job = self._job(user, job_list, job_id)
        if not wait or job.phase not in ACTIVE_PHASES:
            return job
        if if_none_match is None and wait_phase is not None and job.phase != wait_phase:
            return job
        until = wait_phase or job.phase
        limit = self.config.max_wait if wait < 0 else min(wait, self.config.max_wait)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + limit
        while True:
            changed = self._changed
            job = self._job(user, job_list, job_id)
            remaining = deadline - loop.time()
            if remaining <= 0:
                return job
            if if_none_match is None:
                if job.phase != until:
                    return job
                timeout = remaining
            else:
                if self.etag(job) not in if_none_match or job.phase not in ACTIVE_PHASES:
                    return job
                # log lines raise no event: look at the log again now and then while it may grow
                timeout = min(remaining, LOG_POLL) if job.phase == ExecutionPhase.EXECUTING else remaining
            try:
                await asyncio.wait_for(changed.wait(), timeout=timeout)
            except asyncio.TimeoutError:
                pass

    async def list_jobs(self, user: str | None, job_list: str, *, phases: list[ExecutionPhase] | None = None,
                        after: datetime | None = None, last: int | None = None) -> list[JobRef]:
        self.definition(job_list)
        if user is None:
            return []  # anonymous callers see no list, only the jobs whose ids they hold
        return self.store.list_refs(job_list, user, phases=phases, after=after, last=last)

    async def list_document(self, user: str | None, job_list: str, list_url: str, *,
                            phases: list[ExecutionPhase] | None = None, after: datetime | None = None,
                            last: int | None = None) -> tuple[bytes, str]:
        """The job list as a UWS document, and its ETag (a hash of the content).

        A list asked for again while no job changed (a monitor polling) comes from a small cache.
        """
        key = (user, job_list, tuple(phases or ()), after, last, list_name_of(list_url))
        generation = self.store.generation()
        hit = self._lists.get(key)
        if hit is not None and hit[0] == generation:
            self._lists.move_to_end(key)
            return hit[1], hit[2]
        refs = await self.list_jobs(user, job_list, phases=phases, after=after, last=last)
        body = self.renderer.render(refs, list_url)
        etag = f'W/"{zlib.crc32(body):08x}-{len(body):x}"'
        if len(body) <= LIST_CACHE_MAX_BYTES:
            self._lists[key] = (generation, body, etag)
            self._lists.move_to_end(key)
            while len(self._lists) > LIST_CACHE_ENTRIES:
                self._lists.popitem(last=False)
        return body, etag

    async def start_job(self, user: str | None, job_list: str, job_id: str) -> Job:
        job = self._job(user, job_list, job_id)
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
        self.store.mark_queued(job_id, utcnow())
        self.notify()
        self.dispatcher.kick()
        return self._job(user, job_list, job_id)

    async def abort(self, user: str | None, job_list: str, job_id: str) -> Job:
        job = self._job(user, job_list, job_id)
        if job.phase not in ACTIVE_PHASES:
            return job  # nothing to stop
        outcome = Outcome(ExecutionPhase.ABORTED, utcnow())
        if self.store.mark_finished(job_id, outcome, from_phases=ACTIVE_PHASES):
            log.info("aborted job %s", job_id)
        self.notify()
        await self.dispatcher.abort(job_id)
        return self._job(user, job_list, job_id)

    async def delete(self, user: str | None, job_list: str, job_id: str) -> None:
        job = self._job(user, job_list, job_id)
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
            self.store.mark_finished(job.job_id, Outcome(ExecutionPhase.ABORTED, utcnow()),
                                     from_phases=ACTIVE_PHASES)
            await self.dispatcher.abort(job.job_id)
        self.store.delete(job.job_id)
        self.renderer.forget(job.job_id)
        await asyncio.to_thread(shutil.rmtree, self.workdir(job.job_id), True)
        self.notify()
        log.info("deleted job %s", job.job_id)

    async def update_parameters(self, user: str | None, job_list: str, job_id: str,
                                params: Iterable[tuple[str, str]]) -> Job:
        job = self._job(user, job_list, job_id)
        if job.phase != ExecutionPhase.PENDING:
            raise InvalidPhase(f"Parameters can change only while the job is PENDING; it is {job.phase.value}")
        try:
            stored = normalize(self.definition(job_list), params, job.parameters)
            _check_complete(self.definition(job_list), stored, False)
            await self._check_observations(self.definition(job_list), stored)
        except ParameterError as exc:
            raise InvalidRequest(str(exc)) from None
        if not self.store.set_parameters(job_id, stored):
            raise InvalidPhase("The job left the PENDING phase before its parameters could change")
        return self._job(user, job_list, job_id)

    async def set_execution_duration(self, user: str | None, job_list: str, job_id: str, seconds: int) -> Job:
        job = self._job(user, job_list, job_id)
        if job.phase not in (ExecutionPhase.PENDING, ExecutionPhase.HELD):
            raise InvalidPhase(f"The execution duration can change only before the job runs; it is {job.phase.value}")
        self.store.set_execution_duration(job_id, self._duration(self.definition(job_list), seconds))
        return self._job(user, job_list, job_id)

    async def set_destruction(self, user: str | None, job_list: str, job_id: str, when: datetime) -> Job:
        job = self._job(user, job_list, job_id)
        self.store.set_destruction(job_id, self._destruction(job.creation_time, when))
        return self._job(user, job_list, job_id)

    async def result_file(self, user: str | None, job_list: str, job_id: str,
                          result_id: str) -> tuple[JobResult, Path]:
        """The result ``result_id`` and its file, which is always inside the job's folder."""
        job = self._job(user, job_list, job_id)
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
        expired = self.store.expired(utcnow())
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
