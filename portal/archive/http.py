"""Request helpers shared by the TAP handlers (sync and async), and the sync query threads with
their fair shares (:mod:`portal.archive.fairshare`: a few queries per caller at once)."""

from __future__ import annotations

import asyncio
import logging
import os
from concurrent.futures import ThreadPoolExecutor

from fastapi import Request, Response
from starlette.requests import ClientDisconnect

from portal.archive import output, service, store
from portal.archive.budget import Budget
from portal.archive.errors import TapError
from portal.archive.fairshare import CallerSlots, caller_key
from portal.archive.forms import read_form
from portal.archive.limits import Limits

log = logging.getLogger("portal.archive")

DISCONNECT_POLL = 0.25  # seconds between two looks at whether the client is still there
# Sync queries run in threads of their own, a few per core: they never wait behind other work of
# the server (or it behind them), and a crowd of queries queues here instead of thrashing the GIL.
THREAD_COUNT = int(os.environ.get("PORTAL_TAP_QUERY_THREADS") or max(4, 2 * (os.cpu_count() or 2)))
QUERY_THREADS = ThreadPoolExecutor(max_workers=THREAD_COUNT, thread_name_prefix="tap-query")


def db_path(request: Request):
    return store.db_path(request.app.state.settings.data_dir)


def limits(request: Request) -> Limits:
    found = getattr(request.app.state, "archive_limits", None)
    if found is None:
        found = request.app.state.archive_limits = Limits.from_env()
    return found


def base_url(request: Request) -> str:
    """The server's public base URL, as the client reached it (for absolute access_url values)."""
    return str(request.base_url).rstrip("/")


def tap_url(request: Request) -> str:
    return base_url(request) + "/tap"


def error_response(exc: TapError) -> Response:
    retry = getattr(exc, "retry_after", None)
    return Response(output.votable_error(exc.message), status_code=exc.status, media_type=output.VOTABLE_MIME,
                    headers={"Retry-After": str(retry)} if retry else None)


def caller_slots(request: Request) -> CallerSlots:
    """The server's per-caller counts of sync queries in progress (one per application)."""
    found = getattr(request.app.state, "tap_caller_slots", None)
    if found is None:
        found = request.app.state.tap_caller_slots = CallerSlots(
            limits(request).sync_per_caller, THREAD_COUNT, limits(request).sync_caller_wait)
    return found


def client_address(request: Request) -> str | None:
    return request.client.host if request.client else None


def slot_key(user: str | None, request: Request) -> str:
    """Who a sync query counts against: the token's user, else the client's address."""
    return caller_key(user, client_address(request))


async def caller(request: Request) -> str | None:
    """The user of a valid bearer token, else ``None`` (TAP reads are anonymous; a bad token is
    not refused here, it only makes the caller anonymous)."""
    header = request.headers.get("authorization") or ""
    scheme, _, token = header.partition(" ")
    authenticator = getattr(request.app.state, "authenticator", None)
    if scheme.lower() not in ("bearer", "token") or not token.strip() or authenticator is None:
        return None
    return await authenticator.user_for(token.strip())


async def read_params(request: Request, budget: Budget | None = None) -> tuple[dict[str, str], dict[str, bytes]]:
    """Query-string and form parameters (names lower-cased) and uploaded file parts, read with the
    caps of :mod:`portal.archive.forms` and within ``budget`` (a slow body counts against it)."""
    pairs, files = await read_pairs(request, budget)
    return service.lower_keys(pairs), files


async def read_pairs(request: Request, budget: Budget | None = None) -> tuple[list[tuple[str, str]], dict[str, bytes]]:
    """As :func:`read_params`, with every (name, value) pair as sent (a name may repeat)."""
    pairs = list(request.query_params.multi_items())
    files: dict[str, bytes] = {}
    if request.method == "POST":
        seconds = budget.remaining() if budget is not None else limits(request).sync_seconds
        try:
            async with asyncio.timeout(seconds):
                fields, files = await read_form(request, limits(request))
        except TimeoutError:
            raise TapError(f"the request body did not arrive within {seconds:.0f} s") from None
        except ClientDisconnect:  # the client left, or its body came too slowly (portal.serving.protocol)
            raise TapError("the request body did not arrive: the connection was closed") from None
        pairs.extend(fields)
    return pairs, files


async def guarded(request: Request, budget: Budget, awaitable):
    """Await ``awaitable`` while watching the client: when it disconnects, or the budget runs out,
    the budget is cancelled (the query's thread stops at its next check) and so is the awaitable."""
    task = asyncio.ensure_future(awaitable)
    try:
        while True:
            done, _ = await asyncio.wait({task}, timeout=min(DISCONNECT_POLL, budget.remaining() + 0.01))
            if done:
                return task.result()
            if await request.is_disconnected():
                budget.cancel("the client closed the connection, so the query was stopped")
                log.info("TAP client of %s went away after %.1f s; its query was stopped",
                         request.url.path, budget.elapsed())
            elif budget.remaining() <= 0:
                budget.cancel(budget.timeout_message())
            if budget.cancelled:
                task.cancel()
                raise TapError(budget.reason or "the query was stopped")
    finally:
        if not task.done():  # the handler itself was cancelled (the server stopping): the thread stops too
            budget.cancel("the server is stopping, so the query was stopped")
            task.cancel()


async def in_query_thread(fn, *args, **kwargs):
    """Run blocking query work in the TAP query threads."""
    return await asyncio.get_running_loop().run_in_executor(QUERY_THREADS, lambda: fn(*args, **kwargs))
