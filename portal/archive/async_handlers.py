"""`/tap/async`: the UWS job list of TAP queries, on the portal's UWS core.

Every UWS resource comes from :func:`portal.uws.handlers.job_routes`; job creation is ours, since
a TAP query may carry uploaded tables (multipart) and unknown parameters are to be ignored.
Anonymous callers may run async queries (as TAP allows); a job is reachable by its id only.
"""

from __future__ import annotations

from datetime import datetime, timezone

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse

from portal.archive import tap_async
from portal.archive.errors import TapError
from portal.archive.http import base_url, read_params
from portal.archive.output import VOTABLE_MIME, votable_error
from portal.archive.store import db_path
from portal.auth import optional_user
from portal.config import Settings
from portal.uws.errors import UWSError
from portal.uws.handlers import job_routes
from portal.uws.service import JobService, ServiceConfig
from portal.uws.store import JobStore
from portal.uws.thread_runner import ThreadRunner

NAME = "tap_async"


def build_service(settings: Settings) -> JobService:
    """The TAP async job service (start it with ``await service.start()``)."""
    root = settings.data_dir / "tap"
    root.mkdir(parents=True, exist_ok=True)
    config = ServiceConfig(jobs_dir=root / "jobs", allow_anonymous=True, max_running=4, max_running_per_owner=4,
                           max_execution_duration=tap_async.EXECUTION[1], archive_db=db_path(settings.data_dir))
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
            params, files = await read_params(request)
            stored = [(name, params[name.lower()]) for name in tap_async.TAP_PARAMETERS if name.lower() in params]
            duration = _int(params.get("executionduration"), "EXECUTIONDURATION")
            destruction = _time(params.get("destruction"))
            phase = params.get("phase")
            if phase is not None and phase.strip().upper() != "RUN":
                raise TapError(f"PHASE={phase} is not allowed when creating a job (only RUN)")
            service = _service(request)
            job = await service.create(user, tap_async.JOB_LIST, stored, run_id=params.get("runid"),
                                       execution_duration=duration, destruction=destruction)
            tap_async.save_inputs(service.workdir(job.job_id), base_url(request), files)
            if phase is not None:
                await service.start_job(user, tap_async.JOB_LIST, job.job_id)
        except TapError as exc:
            return PlainTextResponse(exc.message, status_code=exc.status)
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


def _int(text: str | None, name: str) -> int | None:
    if text is None or not text.strip():
        return None
    try:
        return int(text.strip())
    except ValueError:
        raise TapError(f"{name}={text} is not a whole number of seconds") from None


def _time(text: str | None) -> datetime | None:
    if text is None or not text.strip():
        return None
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise TapError(f"DESTRUCTION={text} is not an ISO 8601 date and time") from None
    return value.replace(tzinfo=timezone.utc) if value.tzinfo is None else value.astimezone(timezone.utc)
