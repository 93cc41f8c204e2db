"""TAP query service: parameters (TAP 1.1 / DALI), MAXREC, formats, uploads, execution, errors.

Used by the sync handler and by async jobs alike: :func:`parse_params` checks a request's
parameters, :func:`run_query` executes it on a read-only connection and renders the result.
Uploads given by URL are fetched beforehand (:func:`portal.archive.fetch.fetch_uploads`).

A query's cost is bounded end to end by a :class:`~portal.archive.budget.Budget`: its time limit
covers loading the uploads, parsing, SQL, fetching the rows and writing the result, and it can be
cancelled (client gone, job aborted). Rows are fetched in batches while their size is counted,
so a result stops at MAXREC rows or at ``Limits.max_output_bytes``, whichever comes first, and
is marked OVERFLOW; memory stays in proportion to that limit. An anonymous sync query whose plan
is an unconstrained join is refused before it runs (``cost_limit``, :mod:`portal.archive.querycost`).
"""

from __future__ import annotations

import logging
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path

from portal.archive.adql.catalog import Catalog
from portal.archive.adql.parser import AdqlError
from portal.archive.adql.translate import translate
from portal.archive.adql.types import OutputColumn
from portal.archive.budget import Budget
from portal.archive.errors import TapError
from portal.archive.limits import Limits
from portal.archive.output import FORMATS, OutputFormat, find_format, render
from portal.archive.querycost import check as check_cost
from portal.archive.store import QueryConnection, query_connection
from portal.archive.uploads import load_upload, parse_upload_param, refuse_unnamed_parts
from portal.parsing import ValueProblem, parse_number

log = logging.getLogger("portal.archive")

DEFAULT_MAXREC = 10_000
HARD_MAXREC = 1_000_000
LANGS = ("adql", "adql-2.0", "adql-2.1")
BATCH = 2000  # rows fetched between two looks at the budget and the size


@dataclass
class TapQuery:
    """A checked TAP query request."""

    query: str
    maxrec: int = DEFAULT_MAXREC
    fmt: OutputFormat = FORMATS[0]
    # (name, VOTable bytes or URL); URLs are replaced by their content before the query runs
    uploads: list[tuple[str, bytes | str]] = field(default_factory=list)
    by_url: frozenset[str] = frozenset()  # names of the uploads that were fetched by URL


@dataclass
class QueryResult:
    columns: list[OutputColumn]
    rows: list[tuple]
    overflow: bool | str  # a text says why the result was cut when MAXREC did not
    seconds: float = 0.0


def lower_keys(params) -> dict[str, str]:
    """TAP parameter names are case-insensitive; the first value of each wins."""
    out: dict[str, str] = {}
    for key, value in params:
        out.setdefault(key.lower(), value)
    return out


def parse_params(params: dict[str, str], files: dict[str, bytes] | None = None) -> TapQuery:
    """Check TAP parameters (names already lower-cased). Raises :class:`TapError`.

    Every file part must be named by UPLOAD (``param:part``); a part no UPLOAD names is refused.
    """
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
    uploads: list[tuple[str, bytes | str]] = []
    named = set()
    for name, uri in parse_upload_param(params.get("upload") or ""):
        if not uri.startswith("param:"):
            uploads.append((name, uri))  # fetched before the query runs
            continue
        part = uri[len("param:"):]
        if part not in files:
            raise TapError(f"UPLOAD {name} refers to param:{part}, but no file part named {part} was sent")
        named.add(part)
        uploads.append((name, files[part]))
    refuse_unnamed_parts(files, named)
    return TapQuery(query, maxrec, fmt, uploads)


def _maxrec(value: str | None) -> int:
    if value is None or value.strip() == "":
        return DEFAULT_MAXREC
    try:  # more than the hard limit is the hard limit
        return parse_number(value, "MAXREC", minimum=0, maximum=HARD_MAXREC, clamp=True)
    except ValueProblem as exc:
        raise TapError(str(exc)) from None


def _cell_bytes(value) -> int:
    """About what one value takes in a result document (its text and the markup around it)."""
    if isinstance(value, (str, bytes)):
        return len(value) + 10
    return 24


def _fetch_rows(cursor: sqlite3.Cursor, maxrec: int, max_bytes: int, budget: Budget) -> tuple[list[tuple], bool | str]:
    rows: list[tuple] = []
    size = 0
    while True:
        budget.check()
        batch = cursor.fetchmany(min(BATCH, maxrec + 1 - len(rows)))
        if not batch:
            return rows, False
        for row in batch:
            size += sum(_cell_bytes(v) for v in row)
            if size > max_bytes:
                return rows, _cut_message(max_bytes)
            rows.append(row)
        if len(rows) > maxrec:
            return rows[:maxrec], True


def _cut_message(max_bytes: int) -> str:
    return (f"the result was cut at about {max_bytes:,} bytes, the service's output limit; ask for fewer "
            "columns or rows (TOP, MAXREC, a narrower selection)")


def execute(db_path: Path, q: TapQuery, base_url: str, time_limit: float | None = None,
            on_open=None, *, budget: Budget | None = None, limits: Limits | None = None,
            cost_limit: int | None = None, viewer: str | None = None) -> QueryResult:
    """Translate and run the query on a read-only connection. Raises :class:`TapError`.

    ``viewer`` is the caller's user name (None: anonymous): the query sees the observations, the
    public products and the viewer's own (enforced in SQLite, :mod:`portal.archive.visibility`).

    ``budget`` (default: ``time_limit`` seconds, else the sync limit) bounds the whole work and
    may be cancelled from another thread; ``on_open(connection)`` is called once the connection
    is open. With ``cost_limit`` (anonymous sync queries), a plan that joins tables with no usable
    constraint over more than that many row combinations is refused before it runs
    (:mod:`portal.archive.querycost`).
    """
    started = time.perf_counter()
    limits = limits or Limits.from_env()
    budget = budget or Budget(time_limit if time_limit is not None else limits.sync_seconds)
    if any(isinstance(content, str) for _, content in q.uploads):
        raise RuntimeError("an upload by URL was not fetched before the query ran (see portal.archive.fetch)")
    loaded = [load_upload(name, content, name in q.by_url, limits) for name, content in q.uploads]
    budget.check()
    catalog = Catalog.published([entry for entry, _ in loaded])
    try:
        translation = translate(q.query, catalog, limit=q.maxrec + 1)
    except AdqlError as exc:
        raise TapError(str(exc)) from None
    except RecursionError:
        raise TapError("the query is nested too deeply") from None
    except Exception:  # noqa: BLE001 - a fault of the translator: a sentence, never an exception's name
        log.exception("ADQL translation failed for %r", q.query[:500])
        raise TapError("this query could not be translated to SQL (a fault of the service, logged); "
                       "try writing it another way") from None
    budget.check()
    try:
        with query_connection(db_path, base_url, budget.remaining(), [data for _, data in loaded],
                              pooled=on_open is None, viewer=viewer) as conn:
            if on_open is not None:
                on_open(conn)
            try:
                if cost_limit is not None and translation.from_items > 1:  # one table joins nothing
                    conn.budget, conn.deadline = budget, budget.deadline  # the plan and counts within the budget
                    check_cost(conn.conn, translation.sql, str(db_path), cost_limit)
                cursor = conn.execute(translation.sql, budget)
                rows, overflow = _fetch_rows(cursor, q.maxrec, limits.max_output_bytes, budget)
            except sqlite3.Error as exc:
                raise _sql_error(exc, conn, budget) from None
    except sqlite3.Error as exc:
        log.exception("archive database not usable")
        raise TapError(f"the archive database cannot be read right now ({exc}); try again", 503) from None
    return QueryResult(translation.columns, rows, overflow, time.perf_counter() - started)


def _sql_error(exc: sqlite3.Error, conn: QueryConnection, budget: Budget) -> TapError:
    text = str(exc)
    if conn.errors.message:
        return TapError(conn.errors.message)
    if "interrupted" in text:
        if budget.cancelled:
            return TapError(budget.reason or "the query was stopped")
        return TapError(budget.timeout_message())
    if "not authorized" in text:
        return TapError("the query tried to do something other than read the archive, which is refused")
    if "parser stack overflow" in text or "tree is too large" in text or "too many terms" in text:
        return TapError(f"the query is nested too deeply for the database ({text}): write it with fewer "
                        "levels of subqueries or parentheses")
    if "locked" in text or "busy" in text:
        return TapError("the archive is busy (an ingest is running); try again in a moment", 503)
    log.info("query refused by SQLite: %s", text)
    return TapError(f"the query cannot be run: {text}")


def run_query(db_path: Path, q: TapQuery, base_url: str, time_limit: float | None = None,
              on_open=None, *, budget: Budget | None = None, limits: Limits | None = None,
              cost_limit: int | None = None, viewer: str | None = None) -> bytes:
    """Execute and render in the requested format, within the budget. Raises :class:`TapError`."""
    limits = limits or Limits.from_env()
    budget = budget or Budget(time_limit if time_limit is not None else limits.sync_seconds)
    result = execute(db_path, q, base_url, on_open=on_open, budget=budget, limits=limits, cost_limit=cost_limit,
                     viewer=viewer)
    rows, overflow = result.rows, result.overflow
    for _attempt in range(4):
        try:
            body = render(q.fmt, result.columns, rows, overflow, budget.check)
        except TapError:
            raise
        except Exception as exc:  # noqa: BLE001 - astropy's VOTable errors are not all ValueErrors
            raise TapError(f"the result cannot be written as {q.fmt.name}: {exc}") from None
        if len(body) <= limits.max_output_bytes or not rows:
            break
        # the size estimate was short: keep the share of rows that fits, with a margin
        rows = rows[:int(len(rows) * limits.max_output_bytes / len(body) * 0.9)]
        overflow = _cut_message(limits.max_output_bytes)
    else:
        raise TapError(_cut_message(limits.max_output_bytes))
    log.info("TAP query: %d rows%s, %d bytes in %.3f s", len(rows), " (overflow)" if overflow else "",
             len(body), budget.elapsed())
    return body
