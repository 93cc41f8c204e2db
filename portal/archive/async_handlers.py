"""`/tap/async`: the UWS job list of TAP queries, on the portal's UWS core.

Every UWS resource comes from :func:`portal.uws.handlers.job_routes`; job creation is ours, since
a TAP query may carry uploaded tables (multipart) and unknown parameters are to be ignored.
Anonymous callers may run async queries (as TAP allows); a job is reachable by its id only.
Token holders have the per-user quotas of :class:`portal.config.JobLimits` (jobs and bytes held,
jobs queued), and may delete or abort many of their jobs in one request (``POST /tap/async`` with
``ACTION=DELETE`` or ``PHASE=ABORT`` and ``JOB=<id>``..., see :mod:`portal.uws.handlers`).
"""

from __future__ import annotations

import asyncio
from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse

from portal.archive import tap_async
from portal.archive.errors import TapError
from portal.archive.http import base_url, limits, read_pairs
from portal.archive.output import VOTABLE_MIME, votable_error
from portal.archive.service import lower_keys
from portal.archive.store import db_path
from portal.archive.uploads import parse_upload_param
from portal.auth import optional_user
from portal.config import JobLimits, Settings
from portal.parsing import ValueProblem, parse_number, parse_time
from portal.uws.bulk import bulk_action, bulk_request
from portal.uws.errors import QuotaExceeded, UWSError
from portal.uws.handlers import job_routes
from portal.uws.service import JobService, ServiceConfig
from portal.uws.store import JobStore
from portal.uws.thread_runner import ThreadRunner

NAME = "tap_async"


def build_service(settings: Settings) -> JobService:
    """The TAP async job service (start it with ``await service.start()``)."""
    root = settings.data_dir / "tap"
    root.mkdir(parents=True, exist_ok=True)
    quotas = JobLimits.from_env()  # per token holder; anonymous callers share the quota of portal.archive.limits
    config = ServiceConfig(jobs_dir=root / "jobs", allow_anonymous=True, max_running=4, max_running_per_owner=4,
                           max_execution_duration=tap_async.EXECUTION[1], archive_db=db_path(settings.data_dir),
                           max_jobs_per_owner=quotas.max_jobs_per_user, max_bytes_per_owner=quotas.max_bytes_per_user,
                           max_queued_per_owner=quotas.max_queued_per_user)
    return JobService(JobStore(root / "async.sqlite"), config,
                      definitions={tap_async.JOB_LIST: tap_async.TAP_QUERY_DEFINITION}, runner=ThreadRunner())


def _service(request: Request) -> JobService:
    return request.app.state.tap_async


def routers() -> list[APIRouter]:
    """Routers to mount at ``/tap/async``: job creation (ours), then every UWS resource (the core's)."""
    r = APIRouter()

    @r.post("")
    async def create(request: Request, user=Depends(optional_user)) -> Response:
        try:
            pairs, files = await read_pairs(request)
            bulk = bulk_request([(k, v) for k, v in pairs if k.upper() in ("ACTION", "PHASE", "JOB")])
            if bulk is not None:  # the portal's extension: delete or abort many jobs at once
                return await bulk_action(_service(request), user, tap_async.JOB_LIST, bulk, pairs)
            params = lower_keys(pairs)
            named = {uri[len("param:"):] for _, uri in parse_upload_param(params.get("upload") or "")
                     if uri.startswith("param:")}
            unnamed = sorted(set(files) - named)
            if unnamed:  # never stored: only what the query can use is kept
                raise TapError(f"the request has file parts that no UPLOAD names ({', '.join(unnamed)}); "
                               "name each one, e.g. UPLOAD=mytable,param:" + unnamed[0])
            stored = [(name, params[name.lower()]) for name in tap_async.TAP_PARAMETERS if name.lower() in params]
            duration = _seconds(params.get("executionduration"))
            destruction = _time(params.get("destruction"))
            phase = params.get("phase")
            if phase is not None and phase.strip().upper() != "RUN":
                raise TapError(f"PHASE={phase} is not allowed when creating a job (only RUN); to abort jobs of "
                               "this list, name them with JOB=<id>")
            service = _service(request)
            incoming = sum(len(c) for c in files.values())
            if user is None:
                await _check_quota(request, service, incoming)
            else:  # before the job exists: a job refused to run must not stay behind PENDING
                await service.check_quota(user, queue=phase is not None, incoming=incoming)
            job = await service.create(user, tap_async.JOB_LIST, stored, run_id=params.get("runid"),
                                       execution_duration=duration, destruction=destruction)
            tap_async.save_inputs(service.workdir(job.job_id), base_url(request), files, anonymous=user is None)
            if phase is not None:
                await service.start_job(user, tap_async.JOB_LIST, job.job_id)
        except TapError as exc:
            return PlainTextResponse(exc.message, status_code=exc.status)
        except QuotaExceeded as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            return PlainTextResponse(exc.message, status_code=exc.status_code, headers=headers)
        except UWSError as exc:
            return PlainTextResponse(exc.message, status_code=exc.status_code)
        except OSError as exc:
            return PlainTextResponse(f"the job could not be stored ({exc}); try again", status_code=503)
        return RedirectResponse(f"{request.url_for(NAME + '_list')}/{job.job_id}", status_code=303)

    @r.get("/{job_id}/error")
    async def error(request: Request, job_id: str, user=Depends(optional_user)) -> Response:
        """TAP: the error of a failed query is a VOTable error document (QUERY_STATUS=ERROR)."""
        try:
            job = await _service(request).get(user, tap_async.JOB_LIST, job_id)
        except UWSError as exc:
            return PlainTextResponse(exc.message, status_code=exc.status_code)
        if job.error is None:
            return PlainTextResponse(f"Job {job_id} has no error (it is {job.phase.value})", status_code=404)
        return Response(votable_error(job.error.message), media_type=VOTABLE_MIME)

    return [r, job_routes(_service, optional_user, fixed_list=tap_async.JOB_LIST, create=False, name=NAME)]


async def _check_quota(request: Request, service: JobService, incoming: int) -> None:
    """Anonymous callers share a quota of async jobs, in number and in bytes on disk."""
    quota = limits(request)
    count, size = await asyncio.to_thread(tap_async.anonymous_usage, service.config.jobs_dir)
    if count >= quota.anonymous_jobs or size + incoming > quota.anonymous_bytes:
        raise TapError(f"anonymous callers hold {count} async jobs and {size:,} bytes here, the most this service "
                       f"keeps ({quota.anonymous_jobs} jobs, {quota.anonymous_bytes:,} bytes): delete finished jobs "
                       "(DELETE on the job URL), run the query synchronously, or use a token", 429)


def _seconds(text: str | None) -> int | None:
    if text is None or not text.strip():
        return None
    try:  # longer than the server's maximum is the maximum (the service caps it)
        return parse_number(text, "EXECUTIONDURATION", minimum=0, maximum=1 << 62, clamp=True, unit="s")
    except ValueProblem as exc:
        raise TapError(str(exc)) from None


def _time(text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        return parse_time(text, "DESTRUCTION")
    except ValueProblem as exc:
        raise TapError(str(exc)) from None
