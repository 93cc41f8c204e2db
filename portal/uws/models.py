"""Domain model of UWS jobs: plain, immutable values, independent of HTTP and of storage.

The phases are vo-models' :class:`ExecutionPhase`; everything else is a frozen dataclass that
the store returns and the service and the renderers consume. Times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from vo_models.uws.types import ErrorType, ExecutionPhase

__all__ = [
    "ACTIVE_PHASES",
    "FINAL_PHASES",
    "ErrorType",
    "ExecutionPhase",
    "Job",
    "JobFailure",
    "JobInput",
    "JobRef",
    "JobResult",
    "Outcome",
    "utcnow",
]

#: Phases in which a job may still change by itself or by a request to run.
ACTIVE_PHASES = frozenset({ExecutionPhase.PENDING, ExecutionPhase.QUEUED, ExecutionPhase.EXECUTING,
                           ExecutionPhase.HELD, ExecutionPhase.SUSPENDED})
#: Phases a job never leaves (except by deletion).
FINAL_PHASES = frozenset({ExecutionPhase.COMPLETED, ExecutionPhase.ERROR, ExecutionPhase.ABORTED,
                          ExecutionPhase.ARCHIVED})


def utcnow() -> datetime:
    """Now, as an aware UTC datetime with millisecond precision (what UWS documents show)."""
    now = datetime.now(timezone.utc)
    return now.replace(microsecond=now.microsecond // 1000 * 1000)


@dataclass(frozen=True)
class JobResult:
    """A result of a job, downloadable by id. ``path`` is relative to the job's work folder."""

    id: str
    path: str
    mime_type: str
    size: int | None = None
    sha256: str | None = None


@dataclass(frozen=True)
class JobFailure:
    """Why a job ended in ERROR: a message a person can read, and whether a retry may help."""

    message: str
    type: ErrorType = ErrorType.FATAL
    detail: str | None = None


@dataclass(frozen=True)
class JobInput:
    """A file a job used (for provenance): path, role, checksum and free attributes."""

    path: str
    role: str
    sha256: str | None = None
    attributes: dict[str, Any] = field(default_factory=dict)


class JobRef(NamedTuple):
    """A job as shown in a job list (a tuple: lists may hold many thousands)."""

    job_id: str
    phase: ExecutionPhase
    owner: str | None
    run_id: str | None
    created: float  # creation time, unix seconds

    @property
    def creation_time(self) -> datetime:
        return datetime.fromtimestamp(self.created, timezone.utc)


@dataclass(frozen=True)
class Job:
    """The complete state of one job."""

    job_id: str
    job_list: str  # the definition name for /uws jobs ("spectrum"), or another list ("tap")
    owner: str | None  # None: created anonymously (allowed only where the owner policy says so)
    phase: ExecutionPhase
    parameters: tuple[tuple[str, str], ...]  # (name, value) as given, names canonical
    creation_time: datetime
    execution_duration: int  # seconds, 0 = unlimited
    destruction: datetime
    run_id: str | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    quote: datetime | None = None
    error: JobFailure | None = None
    results: tuple[JobResult, ...] = ()
    version: int = 0  # bumped by the store on every change

    def ref(self) -> JobRef:
        return JobRef(self.job_id, self.phase, self.owner, self.run_id, self.creation_time.timestamp())

    def parameter_dict(self) -> dict[str, str]:
        return dict(self.parameters)

    def result(self, result_id: str) -> JobResult | None:
        for r in self.results:
            if r.id == result_id:
                return r
        return None


@dataclass(frozen=True)
class Outcome:
    """How a run ended, as a runner reports it to the service."""

    phase: ExecutionPhase  # COMPLETED, ERROR or ABORTED
    end_time: datetime
    error: JobFailure | None = None
    results: tuple[JobResult, ...] | None = None  # the complete final list; None keeps what was published
