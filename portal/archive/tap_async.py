"""TAP async: each query is a UWS job of the portal's job core, run in a thread of the server.

The job list ``tap`` is served at ``/tap/async`` (see :mod:`portal.archive.async_handlers`, a thin layer
over :func:`create_job` here, which creates a job: checks, quotas, inputs, start).
Jobs are persisted in ``$PORTAL_DATA_DIR/tap/async.sqlite``; a job's uploaded tables and the
server's public URL (for absolute access_url values) are kept in its folder, under ``inputs/``.
The result is the job result ``result``; a failed query ends the job in ERROR with the same
message a sync query would give. Anonymous callers share a quota (``PORTAL_TAP_ANON_MAX_JOBS``
jobs and ``PORTAL_TAP_ANON_MAX_BYTES`` on disk, see :mod:`portal.archive.limits`).
"""

from __future__ import annotations

import asyncio
import os
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from portal.archive import service as tap
from portal.archive.budget import Budget
from portal.archive.errors import TapError
from portal.archive.fetch import fetch_uploads
from portal.archive.limits import Limits
from portal.archive.uploads import parse_upload_param, refuse_unnamed_parts
from portal.parsing import ValueProblem, parse_number, parse_time
from portal.uws.definitions import FatalError, JobDefinition, Parameter, ResultSpec, UsageError

if TYPE_CHECKING:
    from portal.uws.models import Job
    from portal.uws.service import JobService

JOB_LIST = "tap"
INPUTS = "inputs"
BASE_URL_FILE = "base_url"
ANONYMOUS_FILE = "anonymous"  # present when an anonymous caller created the job (for the quota)
EXECUTION = (600, 3600)  # default and hard executionDuration, seconds
_DOC = "TAP 1.1 parameter (see the TAP capabilities)"
TAP_PARAMETERS = ("REQUEST", "LANG", "QUERY", "MAXREC", "RESPONSEFORMAT", "FORMAT", "UPLOAD")

TAP_QUERY_DEFINITION = JobDefinition(
    name=JOB_LIST,
    description="An ADQL query on the archive (TAP 1.1 async)",
    run="portal.archive.tap_async:run_job",
    parameters=tuple(Parameter(name, "string", _DOC, default="") for name in TAP_PARAMETERS),
    results=(ResultSpec("result", "application/x-votable+xml", "the query result (or CSV/TSV as asked)"),),
    execution_duration=EXECUTION[0],
)


def inputs_dir(workdir: Path) -> Path:
    return Path(workdir) / INPUTS


def save_inputs(workdir: Path, base_url: str, files: dict[str, bytes], anonymous: bool = False) -> None:
    """Keep what the job needs beyond its parameters: the public URL, the uploaded parts (only
    those UPLOAD names; the handler refuses the others) and whether an anonymous caller made it."""
    folder = inputs_dir(workdir)
    (folder / "parts").mkdir(parents=True, exist_ok=True)
    (folder / BASE_URL_FILE).write_text(base_url)
    if anonymous:
        (folder / ANONYMOUS_FILE).touch()
    for index, (name, content) in enumerate(files.items()):
        (folder / "parts" / f"{index}.vot").write_bytes(content)
        (folder / "parts" / f"{index}.name").write_text(name)


def _load_inputs(workdir: Path) -> tuple[str, dict[str, bytes], bool]:
    folder = inputs_dir(workdir)
    base = (folder / BASE_URL_FILE).read_text() if (folder / BASE_URL_FILE).is_file() else ""
    files = {}
    for name_file in sorted((folder / "parts").glob("*.name")):
        files[name_file.read_text()] = name_file.with_suffix(".vot").read_bytes()
    return base, files, (folder / ANONYMOUS_FILE).exists()


def anonymous_usage(jobs_dir: Path) -> tuple[int, int]:
    """How many jobs anonymous callers hold, and their bytes on disk (uploads and results)."""
    count = size = 0
    try:
        entries = list(os.scandir(jobs_dir))
    except FileNotFoundError:
        return 0, 0
    for entry in entries:
        if not os.path.exists(os.path.join(entry.path, INPUTS, ANONYMOUS_FILE)):
            continue
        count += 1
        for root, _dirs, names in os.walk(entry.path):
            for name in names:
                try:
                    size += os.lstat(os.path.join(root, name)).st_size
                except OSError:  # removed meanwhile
                    pass
    return count, size


def _parsed(parse, text: str | None, name: str, **bounds):
    """``text`` read by the one parser of :mod:`portal.parsing` (None when not given); a TapError saying why."""
    if text is None or not text.strip():
        return None
    try:
        return parse(text, name, **bounds)
    except ValueProblem as exc:
        raise TapError(str(exc)) from None


async def check_anonymous_quota(service: "JobService", quota: Limits, incoming: int) -> None:
    """Anonymous callers share a quota of async jobs, in number and in bytes on disk."""
    count, size = await asyncio.to_thread(anonymous_usage, service.config.jobs_dir)
    if count >= quota.anonymous_jobs or size + incoming > quota.anonymous_bytes:
        raise TapError(f"anonymous callers hold {count} async jobs and {size:,} bytes here, the most this service "
                       f"keeps ({quota.anonymous_jobs} jobs, {quota.anonymous_bytes:,} bytes): delete finished jobs "
                       "(DELETE on the job URL), run the query synchronously, or use a token", 429)


async def create_job(service: "JobService", user: str | None, params: dict[str, str], files: dict[str, bytes], *,
                     base_url: str, quota: Limits) -> "Job":
    """Create a TAP async job from the request's parameters (``params``: lower-case keys) and uploaded parts,
    and start it with ``PHASE=RUN``: the parts UPLOAD does not name are refused, the quotas checked before the
    job exists (a job refused to run must not stay behind PENDING), its inputs saved in its folder.
    Raises TapError or a UWSError (QuotaExceeded...), each with a sentence."""
    named = {uri[len("param:"):] for _, uri in parse_upload_param(params.get("upload") or "")
             if uri.startswith("param:")}
    refuse_unnamed_parts(files, named)
    stored = [(name, params[name.lower()]) for name in TAP_PARAMETERS if name.lower() in params]
    # longer than the server's maximum is the maximum (the service caps it)
    duration = _parsed(parse_number, params.get("executionduration"), "EXECUTIONDURATION", minimum=0,
                       maximum=1 << 62, clamp=True, unit="s")
    destruction: datetime | None = _parsed(parse_time, params.get("destruction"), "DESTRUCTION")
    phase = params.get("phase")
    if phase is not None and phase.strip().upper() != "RUN":
        raise TapError(f"PHASE={phase} is not allowed when creating a job (only RUN); to abort jobs of "
                       "this list, name them with JOB=<id>")
    incoming = sum(len(c) for c in files.values())
    if user is None:
        await check_anonymous_quota(service, quota, incoming)
    else:
        await service.check_quota(user, queue=phase is not None, incoming=incoming)
    job = await service.create(user, JOB_LIST, stored, run_id=params.get("runid"),
                               execution_duration=duration, destruction=destruction)
    await asyncio.to_thread(save_inputs, service.workdir(job.job_id), base_url, files, anonymous=user is None)
    if phase is not None:
        await service.start_job(user, JOB_LIST, job.job_id)
    return job


def run_job(ctx, params: dict) -> None:
    """The job function: check the TAP parameters, fetch URL uploads, run the query, publish ``result``."""
    base_url, files, anonymous = _load_inputs(ctx.workdir)
    given = {k.lower(): v for k, v in params.items() if v not in (None, "")}
    limits = Limits.from_env()
    budget = Budget(EXECUTION[1])  # the runner enforces the job's own execution duration
    ctx.on_abort(lambda: budget.cancel("the job was aborted"))
    try:
        query = tap.parse_params(given, files)
        ctx.log.info("query: %s", query.query)
        if any(isinstance(content, str) for _, content in query.uploads):
            # this job's own thread, bounded by the fetch deadline; sync queries never wait on it
            fetched = asyncio.run(fetch_uploads(query.uploads, limits, anonymous))
            query.uploads = [(name, content) for name, content, _ in fetched]
            query.by_url = frozenset(name for name, _, by_url in fetched if by_url)
        viewer = None if anonymous else getattr(ctx, "owner", None)  # whose products the query sees
        # the TAP job list's service carries the archive's own locator (portal.archive.async_handlers)
        body = tap.run_query(ctx.locator.db_path, query, base_url, budget=budget, limits=limits, viewer=viewer)
    except TapError as exc:
        if ctx.abort_requested.is_set():
            return  # the runner reports ABORTED (or the execution duration exceeded)
        raise UsageError(exc.message) from None
    except Exception:  # noqa: BLE001 - the same sentence as a sync query, never an exception's name
        if ctx.abort_requested.is_set():
            return
        ctx.log.exception("the query failed")
        raise FatalError("the archive failed to run this query (internal error, logged)") from None
    suffix = {"csv": ".csv", "tsv": ".tsv"}.get(query.fmt.name, ".vot")
    path = Path(ctx.workdir) / f"result{suffix}"
    path.write_bytes(body)
    ctx.publish("result", path, query.fmt.mime)
    ctx.log.info("result: %d bytes", len(body))
