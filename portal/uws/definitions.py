"""Job definitions: the contract between the job service and the analyses it runs.

A definition names a job kind, documents it, declares its typed parameters and its result
ids, and points at the function that runs it. The service builds its job lists, forms
(``GET /uws``) and validation from the definition; the worker imports the function lazily,
by its dotted path, so that the service never imports the science stack.

The run function has the signature ``run(ctx: JobContext, params: dict[str, Any]) -> None``:
``params`` holds validated, typed values (every parameter present, defaults filled in), and
``ctx`` is what the job may touch (see :class:`JobContext`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Protocol

from portal.seam.params import REQUIRED, Parameter, ParameterType  # noqa: F401 - the contract's names


@dataclass(frozen=True)
class ResultSpec:
    """A result a job of this kind produces, by id (downloads go by id, never by path)."""

    id: str
    mime_type: str
    doc: str


@dataclass(frozen=True)
class JobDefinition:
    """A kind of job the service can run."""

    name: str
    description: str
    run: str  # "package.module:function", imported by the worker only
    parameters: tuple[Parameter, ...]
    results: tuple[ResultSpec, ...]
    execution_duration: int = 3600  # seconds; default UWS executionDuration
    extra: dict[str, Any] = field(default_factory=dict)
    # Rules across parameters, checked with the typed values before a job may be queued (HTTP 400):
    # raises portal.uws.params.ParameterError with a sentence. Must stay light (no science stack).
    validate: Callable[[dict[str, Any]], None] | None = None
    # Modules the job processes' fork server imports before any job, besides the run module's own
    # (data every job of this kind reads, read once: the processes inherit it).
    preload: tuple[str, ...] = ()

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name == name:
                return p
        raise KeyError(name)


class JobContext(Protocol):
    """What a running job may use. The job service provides the implementation."""

    job_id: str
    owner: str
    workdir: Path  # the job's own folder; results are written here
    log: logging.Logger  # captured into the job's `log` result, readable while it runs

    def locate(self, obs_ids: list[int | str]) -> list[Any]:
        """Resolve observations through the application's observation locator (:mod:`portal.uws.locator`;
        the portal's archive gives each observation's release folder), one location per
        item, in order: obs ids or ``"<collection>/<obs_id>"`` (the items of an ``obs-list`` parameter).
        Unknown ids, and an unqualified id that several collections hold, raise :class:`UsageError` naming
        them."""

    def publish(self, result_id: str, path: Path, mime_type: str) -> None:
        """Make ``path`` (inside workdir) available as result ``result_id``, now, even while EXECUTING.

        Publishing the same id again replaces the earlier version (flux points bin by bin).
        """

    def used(self, path: Path, role: str, **attributes: Any) -> None:
        """Record an input file (with its checksum) in the job's provenance. With ``job_id`` and ``result``
        attributes it is another job's result: the record names it as that job's own record does, and the
        results of this job are derived from it."""

    def note(self, name: str, value: Any) -> None:
        """Record something the job decided itself (whether it stacked, and why) in its provenance."""

    def progress(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        """Say where the job is: its ``stage`` (``"reducing"``, ``"fitting"``, ``"flux points"``) and, when it
        counts items, ``done`` of ``total`` (finished ones only, never those under way). The service shows the
        latest in the job document's UWS ``jobInfo`` (stage, done, total, the time left in the stage at the
        pace so far) and wakes clients waiting on the job's ETag. Report a count after publishing what it
        counts. Saying the same again costs nothing; a stage that is not printable text, a negative count
        or ``done`` above ``total`` is a ValueError."""

    def job_result(self, reference: str, result_id: str, job_list: str) -> Any:
        """A result of another COMPLETED ``job_list`` job of the same owner (``.path``, ``.sha256``,
        ``.parameters``); anything else is a :class:`UsageError` saying why."""


class JobError(Exception):
    """Base of the errors a job raises on purpose: the message is shown to the user as is."""


class UsageError(JobError):
    """The request cannot work (unknown obs id, target too far, no events): do not retry."""


class TransientError(JobError):
    """A temporary failure (a service down); retrying later may work."""


class FatalError(JobError):
    """The job failed for a reason that retrying will not fix (a fit that does not converge)."""
