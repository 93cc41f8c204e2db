"""Domain model of UWS jobs: plain, immutable values, independent of HTTP and of storage.

The phases are vo-models' :class:`ExecutionPhase`; everything else is a frozen dataclass that
the store returns and the service and the renderers consume. Times are aware UTC datetimes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any, NamedTuple

from vo_models.uws.types import ErrorType, ExecutionPhase

from portal.seam import phases as _phases

__all__ = [
    "ACTIVE_PHASES",
    "FINAL_PHASES",
    "ErrorType",
    "ExecutionPhase",
    "Job",
    "JobFailure",
    "JobInput",
    "JobProgress",
    "JobRef",
    "JobResult",
    "Outcome",
    "ProgressReport",
    "advance",
    "utcnow",
]



#: The phase groups of :mod:`portal.seam.phases`, as vo-models' enum members (the store writes ``.value``).
ACTIVE_PHASES = frozenset(ExecutionPhase(name) for name in _phases.ACTIVE_PHASES)
FINAL_PHASES = frozenset(ExecutionPhase(name) for name in _phases.FINAL_PHASES)


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


class ProgressReport(NamedTuple):
    """What a job says of its progress (:meth:`JobContext.progress <portal.uws.definitions.JobContext.progress>`),
    on its way to the service: ``time`` is when the job said it (unix seconds, the job's clock)."""

    stage: str
    done: int | None
    total: int | None
    time: float


@dataclass(frozen=True)
class JobProgress:
    """Where a job is: the stage it last reported, ``done`` of ``total`` items in it, and the seconds
    ``time_left`` in the stage at the pace so far (None: unknown). ``since`` and ``since_done`` are where
    the pace is counted from (:func:`advance`): when the stage began, and the items done then."""

    stage: str
    done: int | None = None
    total: int | None = None
    time_left: float | None = None
    updated: datetime | None = None  # when the job reported it
    since: datetime | None = None
    since_done: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"stage": self.stage, "done": self.done, "total": self.total, "time_left": self.time_left,
                "updated": _unix(self.updated), "since": _unix(self.since), "since_done": self.since_done}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "JobProgress":
        return cls(str(data["stage"]), data.get("done"), data.get("total"), data.get("time_left"),
                   _aware(data.get("updated")), _aware(data.get("since")), data.get("since_done"))


def _unix(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _aware(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


def advance(previous: JobProgress | None, report: ProgressReport) -> JobProgress:
    """The progress after ``report``, with the time left in its stage at the pace since the stage's first
    counted report: (seconds since then) / (items done since then) x (items left).

    A new stage, a new total or a count that went back starts the pace again, from 0 items when the stage
    began (its first report, or the job's report before it when the first already counts some: a report
    may be dropped for a later one on the way); a stage without a total has no time left; a stage done has
    0 s left.
    """
    when = datetime.fromtimestamp(report.time, timezone.utc)
    stage, done, total = report.stage, report.done, report.total
    same = (previous is not None and previous.stage == stage and previous.total == total
            and previous.since_done is not None
            and not (done is not None and previous.done is not None and done < previous.done))
    begun = None
    if not same and done and previous is not None:  # counted from the start, as the job's last report left it
        begun = previous.since if previous.stage == stage and previous.since_done is None else previous.updated
    if same:
        since, since_done = previous.since, previous.since_done
    elif begun is not None:  # items done already: they took the time since then
        since, since_done = begun, 0
    else:
        since, since_done = when, done
    left = None
    if done is not None and total is not None:
        if done >= total:
            left = 0.0
        elif since is not None and since_done is not None and done > since_done:
            pace = (when - since).total_seconds() / (done - since_done)
            left = round(max(0.0, pace * (total - done)), 1)
    return JobProgress(stage, done, total, left, when, since, since_done)


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
    progress: JobProgress | None = None  # the stage the job last reported (kept when it ends)

    def ref(self) -> JobRef:
        return JobRef(self.job_id, self.phase, self.owner, self.run_id, self.creation_time.timestamp())

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
