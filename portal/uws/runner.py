"""The seam between the job service and whatever executes jobs.

The service decides *when* a job runs (phases, limits, queue order); a :class:`Runner` decides
*how*: :class:`portal.uws.dask_runner.DaskRunner` runs analyses in processes on a Dask
cluster, :class:`portal.uws.thread_runner.ThreadRunner` runs short in-process work (TAP async
queries) in threads. A runner reports back through :class:`RunnerEvents`, whose methods may be
called from any thread.

A runner must:

- call ``events.started(job_id, when)`` when the work really begins;
- call ``events.published(job_id, result)`` for each result made visible while running;
- call ``events.progressed(job_id, report)`` for the job's progress reports, in the order the job made
  them relative to its results (a report may be dropped for a later one of the same job);
- call ``events.finished(job_id, outcome)`` exactly once per submitted job, whatever happens
  (completion, a raised :class:`~portal.uws.definitions.JobError`, a crash, the execution
  duration exceeded, an abort), with the complete final result list;
- make ``abort(job_id)`` stop the work for real, and return once it has stopped (or after
  ``timeout`` seconds).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from portal.uws.definitions import JobDefinition
from portal.uws.locator import ObservationLocator
from portal.uws.models import Job, JobResult, Outcome, ProgressReport

__all__ = ["RunRequest", "Runner", "RunnerEvents"]


@dataclass(frozen=True)
class RunRequest:
    """Everything a runner needs to run one job."""

    job: Job
    definition: JobDefinition
    params: dict[str, Any]  # typed, complete (defaults filled in)
    workdir: Path  # exists; results go here
    locator: ObservationLocator | None = None  # the application's, for JobContext.locate() (picklable)
    jobs_db: Path | None = None  # the job store and the jobs' folders, for JobContext.job_result()
    jobs_dir: Path | None = None
    config: dict[str, Any] | None = None  # service configuration recorded in provenance
    memory_limit: int = 0  # bytes of address space the job's process may use (RLIMIT_AS); 0: no limit


class RunnerEvents(Protocol):
    def ready(self) -> None:
        """The runner can take jobs now (a cluster that started in the background)."""

    def started(self, job_id: str, when: datetime) -> None: ...

    def published(self, job_id: str, result: JobResult) -> None: ...

    def progressed(self, job_id: str, report: ProgressReport) -> None: ...

    def finished(self, job_id: str, outcome: Outcome) -> None: ...


class Runner(Protocol):
    @property
    def ready(self) -> bool: ...

    async def start(self, events: RunnerEvents) -> None:
        """Begin (quickly: slow set-up goes to the background, then ``events.ready()``)."""

    async def submit(self, request: RunRequest) -> None: ...

    async def abort(self, job_id: str, timeout: float = 10.0) -> None: ...

    async def close(self) -> None: ...
