"""HTTP handlers of UWS 1.1 job lists (top layer: handlers -> service -> store).

:func:`job_routes` builds a FastAPI router with every UWS resource of one or many job lists::

    GET  {list}                      job list (PHASE, AFTER, LAST filters)
    POST {list}                      create (PHASE=RUN, RUNID, EXECUTIONDURATION, DESTRUCTION,
                                     job parameters) -> 303 to the job
    POST {list} ACTION=DELETE&JOB=.. bulk (a portal extension): delete, or with PHASE=ABORT abort, the
                                     caller's jobs named by JOB (repeated, or ids separated by commas),
                                     at most 1,000, in one request -> 200 with a sentence; ids that
                                     are not the caller's jobs in the list are counted, never touched
    GET  {list}/{id}                 job summary (WAIT, PHASE: UWS 1.1 blocking), with an ETag; WAIT
                                     with If-None-Match blocks until the job changes in any way
                                     (phase, results, log), then 200, or 304 if nothing changed
    POST {list}/{id}                 ACTION=DELETE -> 303 to the list;  DELETE {list}/{id} likewise
    GET/POST {list}/{id}/phase       text; PHASE=RUN or ABORT
    GET/POST {list}/{id}/parameters  XML; POST changes parameters while PENDING
    GET  {list}/{id}/results         XML
    GET  {list}/{id}/results/{rid}   the result's file (by result id only; single Range requests)
    GET  {list}/{id}/error           text
    GET/POST {list}/{id}/executionduration, destruction;  GET owner, quote

``job_routes(get_service, get_user)`` serves the lists ``/{job_list}`` of the service's
definitions (``/uws/spectrum``); ``job_routes(..., fixed_list="tap")`` serves one list at the
router's own prefix (``/tap/async``), and ``create=False`` leaves POST on the list to a handler
of your own (which calls ``service.create``). ``get_user`` is a FastAPI dependency returning
the user name, or ``None`` for anonymous callers (see :mod:`portal.auth`).
"""

from __future__ import annotations

import functools
import re
import time
from collections.abc import Callable
from datetime import datetime

from fastapi import APIRouter, Depends, Request, Response
from fastapi.responses import PlainTextResponse, RedirectResponse, StreamingResponse
from starlette.datastructures import UploadFile

from portal.parsing import ValueProblem, parse_number, parse_time
from portal.uws import render
from portal.uws.bulk import bulk_action, bulk_request
from portal.uws.errors import InvalidRequest, JobNotFound, QuotaExceeded, UWSError
from portal.uws.listing import lists_of
from portal.uws.models import ExecutionPhase
from portal.uws.service import JobService

__all__ = ["job_routes", "JOB_ID", "RESULT_ID"]

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")
RESULT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
CONTROL = {"PHASE", "RUNID", "EXECUTIONDURATION", "DESTRUCTION", "ACTION"}
CHUNK = 1 << 16
MAX_LAST = 1 << 62
SECONDS = {"maximum": 1 << 62, "clamp": True}  # WAIT, EXECUTIONDURATION: beyond is the server's maximum


def _uws_errors(fn):
    @functools.wraps(fn)
    async def wrapper(*args, **kwargs):
        try:
            return await fn(*args, **kwargs)
        except QuotaExceeded as exc:
            headers = {"Retry-After": str(exc.retry_after)} if exc.retry_after else None
            return PlainTextResponse(exc.message, status_code=exc.status_code, headers=headers)
        except UWSError as exc:  # the store's StoreUnavailable included: a 503 with a sentence
            return PlainTextResponse(exc.message, status_code=exc.status_code)
    return wrapper


async def _params(request: Request) -> list[tuple[str, str]]:
    """Query and form parameters, in order; file uploads are refused."""
    items = list(request.query_params.multi_items())
    if request.method == "POST":
        form = await request.form()
        for key, value in form.multi_items():
            if isinstance(value, UploadFile):
                raise InvalidRequest(f"file uploads are not accepted here (field {key!r})")
            items.append((key, value))
    return items


def _control(items: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in items if k.upper() == name]
    return values[-1] if values else None


def _parse_time(text: str, name: str) -> datetime:
    try:
        return parse_time(text, name)
    except ValueProblem as exc:
        raise InvalidRequest(str(exc)) from None


def _parse_int(text: str, name: str, **bounds) -> int:
    try:
        return parse_number(text, name, **bounds)
    except ValueProblem as exc:
        raise InvalidRequest(str(exc)) from None


def _phase(text: str) -> ExecutionPhase:
    try:
        return ExecutionPhase(text.strip().upper())
    except ValueError:
        names = ", ".join(p.value for p in ExecutionPhase)
        raise InvalidRequest(f"PHASE: {text!r} is not a UWS phase ({names})") from None


def _check_id(job_id: str) -> str:
    if not JOB_ID.fullmatch(job_id):
        raise JobNotFound("No such job")
    return job_id


def _xml(body: bytes) -> Response:
    return Response(body, media_type=render.XML)


def _text(body: str) -> PlainTextResponse:
    return PlainTextResponse(body)


def _byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """The (start, end exclusive) of a single ``Range: bytes=...`` request; None means the whole file.

    Raises :class:`RangeNotSatisfiable` for a range outside the file. Several ranges at once are
    served whole (allowed by RFC 9110), as is anything that is not a byte range.
    """
    if not header or not header.strip().lower().startswith("bytes=") or "," in header:
        return None
    first, _, last = header.strip()[6:].partition("-")
    try:
        if not first.strip():  # suffix: the last N bytes
            count = int(last)
            if count <= 0:
                raise RangeNotSatisfiable()
            return max(0, size - count), size
        start = int(first)
        end = min(size, int(last) + 1) if last.strip() else size
    except ValueError:
        return None
    if start < 0 or start >= size or end <= start:
        raise RangeNotSatisfiable()
    return start, end


class RangeNotSatisfiable(Exception):
    pass


def _stream_file(path, media_type: str, filename: str, range_header: str | None = None) -> Response:
    handle = open(path, "rb")  # size taken from the open file: a replaced result stays consistent
    size = handle.seek(0, 2)
    headers = {"Content-Disposition": f'inline; filename="{filename}"', "Accept-Ranges": "bytes"}
    try:
        span = _byte_range(range_header, size)
    except RangeNotSatisfiable:
        handle.close()
        return Response(status_code=416, headers={**headers, "Content-Range": f"bytes */{size}"})
    start, end = span or (0, size)
    handle.seek(start)

    def chunks():
        remaining = end - start
        try:
            while remaining > 0:
                data = handle.read(min(CHUNK, remaining))
                if not data:
                    break
                remaining -= len(data)
                yield data
        finally:
            handle.close()

    headers["Content-Length"] = str(end - start)
    if span is None:
        return StreamingResponse(chunks(), media_type=media_type, headers=headers)
    headers["Content-Range"] = f"bytes {start}-{end - 1}/{size}"
    return StreamingResponse(chunks(), status_code=206, media_type=media_type, headers=headers)


def job_routes(get_service: Callable[[Request], JobService], get_user: Callable, *,
               fixed_list: str | None = None, create: bool = True, name: str = "uws") -> APIRouter:
    """A router serving UWS job lists; see the module docstring."""
    router = APIRouter()
    base = "" if fixed_list else "/{job_list}"
    job = base + "/{job_id}"

    def job_list(request: Request) -> str:
        return fixed_list or request.path_params["job_list"]

    def list_url(request: Request, name_of_list: str) -> str:
        if fixed_list:
            return str(request.url_for(f"{name}_list"))
        return str(request.url_for(f"{name}_list", job_list=name_of_list))

    def job_url(request: Request, name_of_list: str, job_id: str) -> str:
        return f"{list_url(request, name_of_list)}/{job_id}"

    def see_job(request: Request, name_of_list: str, job_id: str) -> RedirectResponse:
        return RedirectResponse(job_url(request, name_of_list, job_id), status_code=303)

    @router.get(base, name=f"{name}_list")
    @_uws_errors
    async def get_list(request: Request, user=Depends(get_user), lst: str = Depends(job_list)) -> Response:
        started = time.perf_counter()
        items = list(request.query_params.multi_items())
        phases = [_phase(v) for k, v in items if k.upper() == "PHASE"] or None
        after = _control(items, "AFTER")
        last = _control(items, "LAST")
        # more than any list holds is all of it (SQLite integers are 64-bit)
        last_n = _parse_int(last, "LAST", minimum=0, maximum=MAX_LAST, clamp=True) if last is not None else None
        service = get_service(request)
        body, etag = await lists_of(service).document(
            user, lst, list_url(request, lst), phases=phases,
            after=_parse_time(after, "AFTER") if after else None, last=last_n)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache",
                   "Server-Timing": f"app;dur={(time.perf_counter() - started) * 1000:.1f}"}
        if etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(body, media_type=render.XML, headers=headers)

    if create:
        @router.post(base, name=f"{name}_create")
        @_uws_errors
        async def create_job(request: Request, user=Depends(get_user), lst: str = Depends(job_list)) -> Response:
            items = await _params(request)
            bulk = bulk_request(items)
            if bulk is not None:
                return await bulk_action(get_service(request), user, lst, bulk, items)
            duration = _control(items, "EXECUTIONDURATION")
            destruction = _control(items, "DESTRUCTION")
            phase = _control(items, "PHASE")
            if phase is not None and phase.strip().upper() != "RUN":
                raise InvalidRequest(f"PHASE={phase} is not allowed when creating a job (only RUN); to abort jobs of "
                                     "this list, name them with JOB=<id>")
            created = await get_service(request).create(
                user, lst, [(k, v) for k, v in items if k.upper() not in CONTROL],
                run_id=_control(items, "RUNID"),
                execution_duration=_parse_int(duration, "EXECUTIONDURATION", **SECONDS) if duration else None,
                destruction=_parse_time(destruction, "DESTRUCTION") if destruction else None,
                run=phase is not None,
            )
            return see_job(request, lst, created.job_id)

    @router.get(job, name=f"{name}_job")
    @_uws_errors
    async def get_job(request: Request, job_id: str, user=Depends(get_user),
                      lst: str = Depends(job_list)) -> Response:
        items = list(request.query_params.multi_items())
        wait = _control(items, "WAIT")
        phase = _control(items, "PHASE")
        if_none_match = request.headers.get("if-none-match")
        service = get_service(request)
        found = await service.get(
            user, lst, _check_id(job_id), wait=_parse_int(wait, "WAIT", **SECONDS) if wait else None,
            wait_phase=_phase(phase) if phase else None, if_none_match=if_none_match)
        etag = service.etag(found)
        headers = {"ETag": etag, "Cache-Control": "private, no-cache"}
        if if_none_match is not None and etag in if_none_match:
            return Response(status_code=304, headers=headers)
        return Response(render.job_xml(found, job_url(request, lst, job_id)), media_type=render.XML,
                        headers=headers)

    @router.post(job)
    @_uws_errors
    async def post_job(request: Request, job_id: str, user=Depends(get_user),
                       lst: str = Depends(job_list)) -> Response:
        action = _control(await _params(request), "ACTION")
        if action is None or action.strip().upper() != "DELETE":
            await get_service(request).get(user, lst, _check_id(job_id))  # 404 first if not yours
            raise InvalidRequest("POST to a job accepts only ACTION=DELETE")
        await get_service(request).delete(user, lst, _check_id(job_id))
        return RedirectResponse(list_url(request, lst), status_code=303)

    @router.delete(job)
    @_uws_errors
    async def delete_job(request: Request, job_id: str, user=Depends(get_user),
                         lst: str = Depends(job_list)) -> Response:
        await get_service(request).delete(user, lst, _check_id(job_id))
        return RedirectResponse(list_url(request, lst), status_code=303)

    @router.get(job + "/phase")
    @_uws_errors
    async def get_phase(request: Request, job_id: str, user=Depends(get_user),
                        lst: str = Depends(job_list)) -> Response:
        return _text((await get_service(request).get(user, lst, _check_id(job_id))).phase.value)

    @router.post(job + "/phase")
    @_uws_errors
    async def post_phase(request: Request, job_id: str, user=Depends(get_user),
                         lst: str = Depends(job_list)) -> Response:
        service, job_id = get_service(request), _check_id(job_id)
        phase = (_control(await _params(request), "PHASE") or "").strip().upper()
        if phase == "RUN":
            await service.start_job(user, lst, job_id)
        elif phase == "ABORT":
            await service.abort(user, lst, job_id)
        else:
            await service.get(user, lst, job_id)  # 404 before 400 for a job that is not yours
            raise InvalidRequest("PHASE must be RUN or ABORT")
        return see_job(request, lst, job_id)

    @router.get(job + "/parameters")
    @_uws_errors
    async def get_parameters(request: Request, job_id: str, user=Depends(get_user),
                             lst: str = Depends(job_list)) -> Response:
        return _xml(render.parameters_xml(await get_service(request).get(user, lst, _check_id(job_id))))

    @router.post(job + "/parameters")
    @_uws_errors
    async def post_parameters(request: Request, job_id: str, user=Depends(get_user),
                              lst: str = Depends(job_list)) -> Response:
        items = [(k, v) for k, v in await _params(request) if k.upper() not in CONTROL]
        await get_service(request).update_parameters(user, lst, _check_id(job_id), items)
        return see_job(request, lst, job_id)

    @router.get(job + "/results")
    @_uws_errors
    async def get_results(request: Request, job_id: str, user=Depends(get_user),
                          lst: str = Depends(job_list)) -> Response:
        found = await get_service(request).get(user, lst, _check_id(job_id))
        return _xml(render.results_xml(found, job_url(request, lst, job_id)))

    @router.get(job + "/results/{result_id}")
    @_uws_errors
    async def get_result(request: Request, job_id: str, result_id: str, user=Depends(get_user),
                         lst: str = Depends(job_list)) -> Response:
        if not RESULT_ID.fullmatch(result_id):
            await get_service(request).get(user, lst, _check_id(job_id))
            raise JobNotFound("No such result")
        result, path = await get_service(request).result_file(user, lst, _check_id(job_id), result_id)
        try:
            return _stream_file(path, result.mime_type, f"{job_id}-{path.name}", request.headers.get("range"))
        except OSError:  # the job was deleted (or expired) between the look-up and the read
            raise JobNotFound(f"The file of result {result_id!r} of job {job_id} is not available") from None

    @router.get(job + "/error")
    @_uws_errors
    async def get_error(request: Request, job_id: str, user=Depends(get_user),
                        lst: str = Depends(job_list)) -> Response:
        found = await get_service(request).get(user, lst, _check_id(job_id))
        if found.error is None:
            raise JobNotFound(f"Job {job_id} has no error (it is {found.phase.value})")
        detail = f"\n\n{found.error.detail}" if found.error.detail else ""
        return _text(found.error.message + detail)

    def simple(path: str, value: Callable) -> None:
        @router.get(job + path)
        @_uws_errors
        async def getter(request: Request, job_id: str, user=Depends(get_user),
                         lst: str = Depends(job_list)) -> Response:
            return _text(value(await get_service(request).get(user, lst, _check_id(job_id))))

    def iso(value: datetime | None) -> str:
        return "" if value is None else value.isoformat(timespec="milliseconds").replace("+00:00", "Z")

    simple("/executionduration", lambda j: str(j.execution_duration))
    simple("/destruction", lambda j: iso(j.destruction))
    simple("/owner", lambda j: j.owner or "")
    simple("/quote", lambda j: iso(j.quote))

    @router.post(job + "/executionduration")
    @_uws_errors
    async def post_duration(request: Request, job_id: str, user=Depends(get_user),
                            lst: str = Depends(job_list)) -> Response:
        value = _control(await _params(request), "EXECUTIONDURATION")
        if value is None:
            raise InvalidRequest("give EXECUTIONDURATION in seconds")
        await get_service(request).set_execution_duration(
            user, lst, _check_id(job_id), _parse_int(value, "EXECUTIONDURATION", **SECONDS))
        return see_job(request, lst, job_id)

    @router.post(job + "/destruction")
    @_uws_errors
    async def post_destruction(request: Request, job_id: str, user=Depends(get_user),
                               lst: str = Depends(job_list)) -> Response:
        value = _control(await _params(request), "DESTRUCTION")
        if value is None:
            raise InvalidRequest("give DESTRUCTION as an ISO 8601 time")
        await get_service(request).set_destruction(user, lst, _check_id(job_id),
                                                   _parse_time(value, "DESTRUCTION"))
        return see_job(request, lst, job_id)

    return router
