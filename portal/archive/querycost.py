"""A cost check before an anonymous sync query runs: SQLite's query plan, read for unconstrained joins.

``EXPLAIN QUERY PLAN`` says how SQLite will run the translated SQL: each table of a join is either
searched (``SEARCH t1 USING INDEX ... (obs_id=?)``: a usable constraint) or scanned whole
(``SCAN t1``). A join whose plan scans two or more tables whole, one inside the other, visits the
product of their rows: three ObsCore tables of 600 rows are 2e8 combinations, and a 60 s budget
per query (issue 23). :func:`check` refuses such a plan when that product is above
``Limits.anonymous_join_rows`` (default 100,000), with a sentence saying why and how to constrain
the query. A scan of a table inside a correlated subquery counts as one more level of the loop.

The rule, precisely: in one loop nest (the tables of one SELECT, and those of a correlated subquery
inside it), take the tables scanned whole; when there are at least two of them and the product of
their row counts is above the limit, the query is refused. The rows of a derived table (a subquery
or a common table expression in FROM) are taken to be those of the largest table of the archive.
A single scanned table, a join on an indexed column, a cone search (the R*Tree) and a join with a
small table (TAP_SCHEMA, a short upload) all pass. A query that names a single table (or derived
table) in all its FROM clauses, subqueries included, cannot join two: the service does not ask for its
plan (``Translation.from_items``; the plan took a tenth of a cone query's time under 50 clients).

Only anonymous sync queries are checked (see docs/reliability.md): a token holder's queries are
bounded by the per-user cap of :mod:`portal.archive.fairshare` and the budget, and async jobs run in
threads of their own (the job runner's) within their execution duration and quotas.
"""

from __future__ import annotations

import math
import re
import sqlite3
import threading
import time
from collections import Counter

from portal.archive.errors import TapError

__all__ = ["check", "plan_cost"]

# a table of the translated SQL: "ivoa.obscore" AS "t0", tap_upload."t" AS "t3" (columns are "cN")
_TABLE = re.compile(r'((?:\w+\.)?"[^"]+") AS "(t\d+)"')
_SCAN = re.compile(r"^SCAN (\S+)(.*)$")
_COUNTS: dict[tuple[str, str], tuple[int, float]] = {}
_COUNTS_LOCK = threading.Lock()
COUNT_TTL = 30.0  # seconds a table's row count is reused


def _count(conn: sqlite3.Connection, key: str, name: str) -> int | None:
    cacheable = not name.lower().startswith("tap_upload.")
    now = time.monotonic()
    if cacheable:
        with _COUNTS_LOCK:
            found = _COUNTS.get((key, name))
        if found and now - found[1] < COUNT_TTL:
            return found[0]
    try:
        rows = conn.execute(f"SELECT count(*) FROM {name}").fetchone()[0]
    except sqlite3.Error:  # a common table expression's name, not a table
        return None
    if cacheable:
        with _COUNTS_LOCK:
            _COUNTS[(key, name)] = (rows, now)
    return rows


def _full_scans(plan: list[tuple]) -> list[list[str]]:
    """The aliases scanned whole in each loop nest of the plan (rows: id, parent, _, detail)."""
    children: dict[int, list[tuple[int, str]]] = {}
    for node, parent, _unused, detail in plan:
        children.setdefault(parent, []).append((node, detail))

    nests: list[list[str]] = []

    def level(parent: int, outer: list[str]) -> None:
        scans = list(outer)
        for node, detail in children.get(parent, []):
            match = _SCAN.match(detail)
            if match and match.group(1) != "CONSTANT" and "VIRTUAL TABLE" not in match.group(2):
                scans.append(match.group(1))
        nests.append(scans)
        for node, detail in children.get(parent, []):
            if detail.startswith("CORRELATED"):
                level(node, scans)  # runs once per row of the loop around it
            elif not _SCAN.match(detail) and not detail.startswith("SEARCH"):
                level(node, [])  # a subquery, a materialised view, a compound part: runs once
    level(0, [])
    return nests


def plan_cost(conn: sqlite3.Connection, sql: str, key: str) -> tuple[int, list[str]]:
    """The largest product of rows over the unconstrained tables of one loop nest (0 when no nest
    scans two tables whole), and the ADQL-facing names of those tables."""
    plan = conn.execute("EXPLAIN QUERY PLAN " + sql).fetchall()
    names = {alias: name for name, alias in _TABLE.findall(sql)}
    counts: dict[str, int | None] = {}
    worst, worst_tables = 0, []
    for scans in _full_scans(plan):
        if len(scans) < 2:
            continue
        for alias in scans:
            if alias not in counts:
                counts[alias] = _count(conn, key, names[alias]) if alias in names else None
        known = [n for n in counts.values() if n is not None]
        largest = max(known + [_count(conn, key, '"ivoa.obscore"') or 0])
        product = math.prod(counts[a] if counts[a] is not None else largest for a in scans)
        if product > worst:
            worst = product
            worst_tables = [names[a].replace('"', "") if counts[a] is not None else "a subquery" for a in scans]
    return worst, worst_tables


def check(conn: sqlite3.Connection, sql: str, key: str, limit: int) -> None:
    """Raise :class:`TapError` (400) when the plan's unconstrained join is above ``limit`` rows."""
    cost, tables = plan_cost(conn, sql, key)
    if cost <= limit:
        return
    listed = ", ".join(name if n == 1 else f"{name} {n} times" for name, n in Counter(tables).items())
    raise TapError(
        f"this query joins {len(tables)} tables ({listed}) with no condition the database can use, so it "
        f"would go through about {cost:.2g} combinations of rows, more than the {limit:,} allowed to an anonymous "
        "synchronous query. Constrain it: join the tables on a column (JOIN ... ON a.obs_id = b.obs_id), or "
        "restrict each one (a cone with CONTAINS, a range on an indexed column); or send it with a token, "
        "or as an asynchronous job (/tap/async)")
