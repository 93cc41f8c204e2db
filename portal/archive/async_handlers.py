"""`/tap/async`: the UWS job list of TAP queries, on the portal's UWS core.

Every UWS resource comes from :func:`portal.uws.handlers.job_routes`; job creation is ours, since
a TAP query may carry uploaded tables (multipart) and unknown parameters are to be ignored.
Anonymous callers may run async queries (as TAP allows); a job is reachable by its id only.
Token holders have the per-user quotas of :class:`portal.config.JobLimits` (jobs and bytes held,
jobs queued), and may delete or abort many of their jobs in one request (``POST /tap/async`` with
``ACTION=DELETE`` or ``PHASE=ABORT`` and ``JOB=<id>``..., see :mod:`portal.uws.handlers`).
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse

from portal.archive import tap_async
from portal.archive.errors import TapError
from portal.archive.http import base_url, limits, read_pairs
from portal.archive.locate import ArchiveLocator
from portal.archive.output import VOTABLE_MIME, votable_error
from portal.archive.service import lower_keys
from portal.archive.store import db_path
from portal.auth import optional_user
from portal.config import JobLimits, Settings
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
                           max_execution_duration=tap_async.EXECUTION[1],
                           max_jobs_per_owner=quotas.max_jobs_per_user, max_bytes_per_owner=quotas.max_bytes_per_user,
                           max_queued_per_owner=quotas.max_queued_per_user)
    return JobService(JobStore(root / "async.sqlite"), config,
                      definitions={tap_async.JOB_LIST: tap_async.TAP_QUERY_DEFINITION}, runner=ThreadRunner(),
                      locator=ArchiveLocator(db_path(settings.data_dir)))  # the query job reads its database


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
            job = await tap_async.create_job(_service(request), user, lower_keys(pairs), files,
                                             base_url=base_url(request), quota=limits(request))
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
