"""TAP query service: parameters (TAP 1.1 / DALI), MAXREC, formats, uploads, execution, errors.

Used by the sync handler and by async jobs alike: :func:`parse_params` checks a request's
parameters, :func:`run_query` executes it on a read-only connection and renders the result.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from portal.archive.adql.catalog import Catalog
from portal.archive.adql.parser import AdqlError
from portal.archive.adql.translate import translate
from portal.archive.adql.types import OutputColumn
from portal.archive.errors import TapError
from portal.archive.output import FORMATS, OutputFormat, find_format, render
from portal.archive.store import QueryConnection, query_connection
from portal.archive.uploads import fetch, load_upload, parse_upload_param

log = logging.getLogger("portal.archive")

DEFAULT_MAXREC = 10_000
HARD_MAXREC = 1_000_000
SYNC_TIME_LIMIT = float(os.environ.get("PORTAL_TAP_SYNC_TIMEOUT", "60"))
LANGS = ("adql", "adql-2.0", "adql-2.1")


@dataclass
class TapQuery:
    """A checked TAP query request."""

    query: str
    maxrec: int = DEFAULT_MAXREC
    fmt: OutputFormat = FORMATS[0]
    uploads: list[tuple[str, bytes | str]] = field(default_factory=list)  # (name, VOTable bytes or URL)


@dataclass
class QueryResult:
    columns: list[OutputColumn]
    rows: list[tuple]
    overflow: bool
    seconds: float = 0.0


def lower_keys(params) -> dict[str, str]:
    """TAP parameter names are case-insensitive; the first value of each wins."""
    out: dict[str, str] = {}
    for key, value in params:
        out.setdefault(key.lower(), value)
    return out


def parse_params(params: dict[str, str], files: dict[str, bytes] | None = None) -> TapQuery:
    """Check TAP parameters (names already lower-cased). Raises :class:`TapError`."""
    files = files or {}
    request = params.get("request")
    if request is not None and request.strip().lower() != "doquery":
        raise TapError(f"REQUEST={request} is not supported; use REQUEST=doQuery (or leave it out)")
    lang = params.get("lang")
    if lang is None:
        raise TapError("LANG is missing: this service answers LANG=ADQL")
    if lang.strip().lower() not in LANGS:
        raise TapError(f"LANG={lang} is not supported; use LANG=ADQL")
    query = params.get("query")
    if query is None or not query.strip():
        raise TapError("QUERY is missing or empty: give an ADQL query, e.g. "
                       "SELECT TOP 10 * FROM ivoa.obscore")
    maxrec = _maxrec(params.get("maxrec"))
    fmt_value = params.get("responseformat") or params.get("format")
    fmt = find_format(fmt_value)
    if fmt is None:
        names = ", ".join(f.name for f in FORMATS)
        raise TapError(f"RESPONSEFORMAT={fmt_value} is not offered; use one of {names}")
    uploads = []
    if params.get("upload"):
        for name, uri in parse_upload_param(params["upload"]):
            if not uri.startswith("param:"):
                uploads.append((name, uri))  # fetched when the query runs
                continue
            part = uri[len("param:"):]
            if part not in files:
                raise TapError(f"UPLOAD {name} refers to param:{part}, but no file part named {part} was sent")
            uploads.append((name, files[part]))
    return TapQuery(query, maxrec, fmt, uploads)


def _maxrec(value: str | None) -> int:
    if value is None or value.strip() == "":
        return DEFAULT_MAXREC
    try:
        n = int(value.strip())
    except ValueError:
        raise TapError(f"MAXREC={value} is not a whole number") from None
    if n < 0:
        raise TapError(f"MAXREC={value} must not be negative")
    return min(n, HARD_MAXREC)


def execute(db_path: Path, q: TapQuery, base_url: str, time_limit: float = SYNC_TIME_LIMIT,
            on_open=None) -> QueryResult:
    """Translate and run the query on a read-only connection. Raises :class:`TapError`.

    ``on_open(connection)`` is called once the connection is open (async jobs register its
    ``interrupt`` to be called on abort; that connection is then not reused).
    """
    started = time.perf_counter()
    loaded = [load_upload(name, fetch(name, content) if isinstance(content, str) else content)
              for name, content in q.uploads]
    catalog = Catalog.published([entry for entry, _ in loaded])
    try:
        translation = translate(q.query, catalog, limit=q.maxrec + 1)
    except AdqlError as exc:
        raise TapError(str(exc)) from None
    try:
        with query_connection(db_path, base_url, time_limit, [data for _, data in loaded],
                              pooled=on_open is None) as conn:
            if on_open is not None:
                on_open(conn)
            try:
                rows = conn.execute(translation.sql).fetchmany(q.maxrec + 1)
            except sqlite3.Error as exc:
                raise _sql_error(exc, conn) from None
    except sqlite3.Error as exc:
        log.exception("archive database not usable")
        raise TapError(f"the archive database cannot be read right now ({exc}); try again", 503) from None
    overflow = len(rows) > q.maxrec
    return QueryResult(translation.columns, rows[:q.maxrec], overflow, time.perf_counter() - started)


def _sql_error(exc: sqlite3.Error, conn: QueryConnection) -> TapError:
    text = str(exc)
    if conn.errors.message:
        return TapError(conn.errors.message)
    if "interrupted" in text:
        return TapError(f"the query took longer than the time limit of {conn.time_limit:g} s: make it more "
                        "selective (a smaller cone, fewer joins, TOP) or run it asynchronously")
    if "not authorized" in text:
        return TapError("the query tried to do something other than read the archive, which is refused")
    if "locked" in text or "busy" in text:
        return TapError("the archive is busy (an ingest is running); try again in a moment", 503)
    log.info("query refused by SQLite: %s", text)
    return TapError(f"the query cannot be run: {text}")


def run_query(db_path: Path, q: TapQuery, base_url: str, time_limit: float = SYNC_TIME_LIMIT,
              on_open=None) -> bytes:
    """Execute and render in the requested format. Raises :class:`TapError`."""
    result = execute(db_path, q, base_url, time_limit, on_open)
    try:
        body = render(q.fmt, result.columns, result.rows, result.overflow)
    except Exception as exc:  # noqa: BLE001 - astropy's VOTable errors are not all ValueErrors
        raise TapError(f"the result cannot be written as {q.fmt.name}: {exc}") from None
    log.info("TAP query: %d rows%s in %.3f s", len(result.rows), " (overflow)" if result.overflow else "",
             result.seconds)
    return body
