"""HTTP handlers of the TAP service (`/tap`): sync queries, VOSI, TAP examples.

Every failure is a VOTable error document (QUERY_STATUS=ERROR) with a readable message.
"""

from __future__ import annotations

import logging

from fastapi import APIRouter, Request, Response
from vo_models.vosi.availability import Availability

from portal.archive import async_handlers, examples, service, store, vosi
from portal.archive.budget import Budget
from portal.archive.errors import TapError
from portal.archive.fetch import fetch_uploads
from portal.archive.http import (base_url, caller, caller_slots, db_path, error_response, guarded, in_query_thread,
                                 limits, read_params, slot_key, tap_url)
from portal.archive.schema import OBSCORE

router = APIRouter()
log = logging.getLogger("portal.archive")

XML = "application/xml"


@router.api_route("/sync", methods=["GET", "POST"])
async def sync(request: Request) -> Response:
    """TAP 1.1 synchronous query, bounded end to end: one budget of ``PORTAL_TAP_SYNC_TIMEOUT``
    seconds covers reading the request, fetching URL uploads, parsing, SQL and writing, and the
    work stops when the client goes away. Each caller runs at most a few at once
    (:mod:`portal.archive.fairshare`, 429 beyond), and an anonymous query whose plan is an
    unconstrained join is refused before it runs (:mod:`portal.archive.querycost`)."""
    budget = Budget(limits(request).sync_seconds)
    try:
        params, files = await read_params(request, budget)
        query = service.parse_params(params, files)
        user = await caller(request)
        anonymous = user is None
        if any(isinstance(content, str) for _, content in query.uploads):
            fetched = await guarded(request, budget, fetch_uploads(query.uploads, limits(request), anonymous))
            query.uploads = [(name, content) for name, content, _ in fetched]
            query.by_url = frozenset(name for name, _, by_url in fetched if by_url)
        cost_limit = limits(request).anonymous_join_rows if anonymous else None
        async with caller_slots(request).slot(slot_key(user, request)):
            body = await guarded(request, budget, in_query_thread(
                service.run_query, db_path(request), query, base_url(request), budget=budget,
                limits=limits(request), cost_limit=cost_limit, viewer=user))
    except TapError as exc:
        return error_response(exc)
    except Exception:  # noqa: BLE001 - never a 500 with a traceback
        log.exception("TAP sync query failed")
        return error_response(TapError("the archive failed to run this query (internal error, logged)", 503))
    return Response(body, media_type=query.fmt.mime)


@router.get("/availability")
def availability(request: Request) -> Response:
    """VOSI availability: the service answers as soon as it is up, even with an empty archive."""
    settings = request.app.state.settings
    status = getattr(request.app.state, "archive_status", None)
    notes = [f"gamma-portal archive, state in {settings.data_dir}"]
    if status is not None:
        notes.append(status.message)
    body = Availability(available=True, note=notes).to_xml(encoding=str)
    return Response(content=body, media_type=XML)


@router.get("/capabilities")
def capabilities(request: Request) -> Response:
    return Response(vosi.capabilities(tap_url(request), limits(request)), media_type=XML)


@router.get("/tables")
def tables(request: Request) -> Response:
    detail = request.query_params.get("detail", "max").lower() != "min"
    nrows = {OBSCORE.qualified: store.count_rows(db_path(request))}
    return Response(vosi.tableset(nrows, detail), media_type=XML)


@router.get("/tables/{name}")
def table(request: Request, name: str) -> Response:
    rows = store.count_rows(db_path(request)) if name.lower() == OBSCORE.qualified.lower() else None
    body = vosi.table(name, rows)
    if body is None:
        return Response(f"no table {name} here; see {tap_url(request)}/tables\n", status_code=404,
                        media_type="text/plain")
    return Response(body, media_type=XML)


@router.get("/examples")
def tap_examples(request: Request) -> Response:
    return Response(examples.document(tap_url(request)), media_type="application/xhtml+xml")


@router.get("")
def tap_root(request: Request) -> Response:
    """The TAP base URL: where the VOSI resources are."""
    return Response(examples.document(tap_url(request)), media_type="application/xhtml+xml")


for _async_router in async_handlers.routers():
    router.include_router(_async_router, prefix="/async")
