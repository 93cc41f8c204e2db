"""Running one job function and closing the run: shared by the Dask job process and the thread runner.

:func:`call` imports the definition's run function by its dotted path (so only the process
that runs jobs imports the science stack), calls it, and turns what it raises into a phase
and a message a person can read: a :class:`~portal.uws.definitions.JobError` keeps its
message, anything else becomes "failed unexpectedly" with the traceback in the job's log,
never in the error summary.

:func:`finish` completes the result list (checksums, the log) and writes the provenance
record, whatever the outcome.
"""

from __future__ import annotations

import errno
import importlib
import logging
import os
from datetime import datetime
from pathlib import Path

from portal.config import gib
from portal.paths import shown_path, shown_paths
from portal.private import make_private
from portal.uws.context import LOG_FILE, RunContext, sha256_file
from portal.uws.definitions import JobError, TransientError
from portal.uws.models import ErrorType, ExecutionPhase, JobFailure, JobInput, JobResult
from portal.uws.runner import RunRequest

__all__ = ["call", "data_roots", "finish", "import_run", "out_of_memory"]

log = logging.getLogger("portal.uws")


def data_roots(request: RunRequest) -> list[Path]:
    """The folders a job's paths are shown relative to (:mod:`portal.paths`): the portal's data folder, the
    job folders, ``$GAMMAPY_DATA`` and the observation locator's (the archive's folder and its releases)."""
    roots = [request.workdir.parent, request.jobs_dir, os.environ.get("GAMMAPY_DATA") or None]
    if request.locator is not None:
        roots.extend(request.locator.data_roots())
    return [Path(root) for root in roots if root]


def import_run(path: str):
    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)


def call(request: RunRequest, ctx: RunContext) -> tuple[ExecutionPhase, JobFailure | None]:
    """Run the job function; returns COMPLETED or ERROR with a readable failure."""
    try:
        run = import_run(request.definition.run)
    except Exception as exc:  # noqa: BLE001 - a broken installation is reported, not raised
        ctx.log.exception("cannot import %s", request.definition.run)
        return ExecutionPhase.ERROR, JobFailure(shown_paths(
            f"The {request.definition.name} analysis is not available on this server ({type(exc).__name__}: {exc})",
            data_roots(request)))
    try:
        run(ctx, dict(request.params))
    except TransientError as exc:
        ctx.log.error("transient error: %s", exc)
        return ExecutionPhase.ERROR, JobFailure(str(exc) or "A temporary failure; try again later",
                                                ErrorType.TRANSIENT)
    except JobError as exc:
        ctx.log.error("%s", exc)
        return ExecutionPhase.ERROR, JobFailure(str(exc) or type(exc).__name__)
    except MemoryError:
        ctx.log.exception("out of memory")
        return ExecutionPhase.ERROR, JobFailure(out_of_memory(getattr(request, "memory_limit", 0)))
    except Exception as exc:  # noqa: BLE001 - every failure ends as a readable ERROR
        ctx.log.exception("the job failed")
        if _from_memory(exc):  # a library that wrapped a MemoryError, or could not get memory for a thread
            return ExecutionPhase.ERROR, JobFailure(out_of_memory(getattr(request, "memory_limit", 0)))
        return ExecutionPhase.ERROR, JobFailure(shown_paths(
            f"The job failed unexpectedly ({type(exc).__name__}: {exc}). Its log has the details.",
            data_roots(request)))
    ctx.log.info("job completed")
    return ExecutionPhase.COMPLETED, None


def out_of_memory(limit: int) -> str:
    """The error summary of a job that ran out of memory (``limit``: its process's limit in bytes, or 0)."""
    advice = "ask for less at once (fewer observations, a smaller map, fewer energy bins)"
    if not limit:
        return f"The job ran out of memory: {advice}."
    return (f"The job ran out of its memory limit of {gib(limit)}: {advice}, or ask the portal's operator "
            "for a higher limit (PORTAL_JOB_MEMORY_LIMIT).")


def _from_memory(exc: BaseException) -> bool:
    """Whether ``exc`` comes from memory that could not be had: a MemoryError in its chain, ENOMEM, or a
    thread that could not start."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, MemoryError) or (isinstance(exc, OSError) and exc.errno == errno.ENOMEM):
            return True
        if isinstance(exc, RuntimeError) and "can't start new thread" in str(exc):
            return True
        exc = exc.__cause__ or exc.__context__
    return False


def _checked(workdir: Path, result: JobResult) -> JobResult:
    path = workdir / result.path
    if not path.is_file():
        return result
    make_private(path)  # whatever wrote it (a job in the server's threads, a library), it is the owner's only
    return JobResult(result.id, result.path, result.mime_type, path.stat().st_size, sha256_file(path))


def _text(value) -> str:
    return ("true" if value else "false") if isinstance(value, bool) else str(value)


def _effective(request: RunRequest) -> list[tuple[str, str, str | None]]:
    """Every parameter the job ran with, as given, or its default (so a record says every choice)."""
    given = dict(request.job.parameters)
    out = []
    for p in request.definition.parameters:
        if p.name in given:
            out.append((p.name, given[p.name], p.unit))
        elif p.default is not None and not p.required:
            out.append((p.name, _text(p.default), p.unit))
    return out


def finish(request: RunRequest, published: dict[str, JobResult], inputs: list[JobInput],
           phase: ExecutionPhase, failure: JobFailure | None, start: datetime | None,
           end: datetime, notes: dict[str, str] | None = None) -> tuple[JobResult, ...]:
    """The final result list: published results, the log, then the provenance record (with the
    job's ``notes``: what it decided itself, see ``JobContext.note``)."""
    workdir = request.workdir
    results = [_checked(workdir, r) for r in published.values()]
    if (workdir / LOG_FILE).is_file():
        results.append(_checked(workdir, JobResult("log", LOG_FILE, "text/plain")))
    try:
        from portal.provenance import ProvenanceInfo, write

        roots = data_roots(request)

        def shown(value):  # the owner reads the record: the server's folders are not theirs to know
            return shown_paths(value, roots) if isinstance(value, str) else value

        info = ProvenanceInfo(
            job_id=request.job.job_id, definition=request.definition.name,
            description=request.definition.description, owner=request.job.owner, phase=phase.value,
            start=start, end=end,
            parameters=_effective(request),
            inputs=[{"path": shown_path(i.path, roots), "role": i.role, "sha256": i.sha256,
                     "attributes": {k: shown(v) for k, v in (i.attributes or {}).items()}} for i in inputs],
            results=[{"id": r.id, "path": r.path, "mime_type": r.mime_type, "size": r.size, "sha256": r.sha256}
                     for r in results],
            error=shown(failure.message) if failure else None, config=dict(request.config or {}),
            run=request.definition.run, notes={k: shown(v) for k, v in (notes or {}).items()},
        )
        json_path, provn_path = write(info, workdir)
        results.append(JobResult("provenance", json_path.name, "application/json", json_path.stat().st_size))
        results.append(JobResult("provn", provn_path.name, "text/provenance-notation", provn_path.stat().st_size))
    except Exception:  # noqa: BLE001 - a missing record must not turn a finished job into a crash
        log.exception("could not write the provenance of job %s", request.job.job_id)
    return tuple(results)
