"""Fair shares of the sync query threads (issue 23, point 2): a per-caller cap and a cost check.

- one caller (a token's user) sending more slow queries than its cap: the extra one is answered 429
  with a sentence and Retry-After after a brief wait, while another user's and an anonymous
  canary answer at once;
- the cap's own rules (never all the threads, callers keyed by user or address);
- cross joins with no usable constraint are refused for anonymous callers with a sentence, run for
  token holders; cone searches, joins on a column and the hostile-ADQL corpus's single-table
  queries are never refused by it;
- async TAP is unaffected: an anonymous cross join as an async job completes.
"""

from __future__ import annotations

import asyncio
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings

from portal.archive import store
from portal.archive.adql.catalog import Catalog
from portal.archive.adql.parser import AdqlError
from portal.archive.adql.translate import translate
from portal.archive.fairshare import Busy, CallerSlots, caller_key
from portal.archive.querycost import plan_cost
from tests.reliability.adql_strategies import structured
from tests.reliability.conftest import start
from tests.reliability.votables import error_message

pytestmark = pytest.mark.timeout(300)
SLOW = ("SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, "
        "TAP_SCHEMA.columns AS d WHERE a.s_ra + b.s_dec > c.s_ra + d.column_index")
CANARY = "SELECT TOP 1 obs_id FROM ivoa.obscore"
CROSS = ["SELECT TOP 3 a.obs_id FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c",
         "SELECT TOP 3 a.obs_id FROM ivoa.obscore AS a CROSS JOIN ivoa.obscore AS b",
         "SELECT TOP 3 a.obs_id FROM ivoa.obscore AS a JOIN ivoa.obscore AS b ON a.s_ra < b.s_ra",
         "SELECT TOP 3 * FROM (SELECT * FROM ivoa.obscore) AS a, (SELECT * FROM ivoa.obscore) AS b",
         "SELECT TOP 3 obs_id FROM ivoa.obscore AS a WHERE EXISTS (SELECT 1 FROM ivoa.obscore AS b "
         "WHERE b.s_ra > a.s_ra + 400)",
         "WITH t AS (SELECT * FROM ivoa.obscore) SELECT TOP 3 x.obs_id FROM t AS x, t AS y",
         SLOW]
ACCEPTED = [
    CANARY,
    "SELECT obs_id, s_ra, s_dec FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
    "CIRCLE('ICRS', 83.633, 22.014, 5))",
    "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', 83.633, 22.014), s_region) = 1",
    "SELECT COUNT(*) AS n FROM ivoa.obscore",
    "SELECT TOP 20 obs_id, livetime FROM ivoa.obscore WHERE zenith < 40 ORDER BY livetime DESC",
    "SELECT a.obs_id, b.target_name FROM ivoa.obscore AS a JOIN ivoa.obscore AS b ON a.obs_id = b.obs_id",
    "SELECT a.obs_id FROM ivoa.obscore AS a JOIN ivoa.obscore AS b ON a.target_name = b.target_name",
    "SELECT * FROM ivoa.obscore AS a NATURAL JOIN TAP_SCHEMA.schemas AS b",
    "SELECT TOP 5 * FROM ivoa.obscore AS a, TAP_SCHEMA.tables AS b",
    "SELECT COUNT(*) FROM TAP_SCHEMA.schemas CROSS JOIN TAP_SCHEMA.keys",
    "SELECT t.table_name, c.column_name FROM TAP_SCHEMA.tables AS t JOIN TAP_SCHEMA.columns AS c "
    "ON t.table_name = c.table_name",
    "SELECT obs_id FROM ivoa.obscore WHERE obs_id IN (SELECT obs_id FROM ivoa.obscore WHERE s_dec > 0)",
    "SELECT * FROM ivoa.obscore UNION SELECT * FROM ivoa.obscore",
]


@pytest.fixture(scope="module")
def fair(tmp_path_factory):
    """Four query threads, two per caller, a short wait beyond the cap, and a 20 s budget (the slow
    queries end by it)."""
    portal = start(tmp_path_factory.mktemp("fair"), {
        "PORTAL_TAP_QUERY_THREADS": "4", "PORTAL_TAP_SYNC_PER_CALLER": "2", "PORTAL_TAP_SYNC_CALLER_WAIT": "0.5",
        "PORTAL_TAP_SYNC_TIMEOUT": "20"})
    try:
        yield portal
    finally:
        portal.server.stop()


def _sync(portal, query: str, user: str | None = None, timeout: float = 120):
    with portal.client(user, timeout) as client:
        return client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query})


def test_one_caller_gets_429_beyond_its_cap_and_others_still_answer(fair, cases):
    with ThreadPoolExecutor(3) as pool:
        slow = [pool.submit(_sync, fair, SLOW, "alice") for _ in range(3)]
        deadline = time.monotonic() + 60
        while not any(f.done() for f in slow) and time.monotonic() < deadline:
            time.sleep(0.05)
        first = next(f for f in slow if f.done()).result()
        assert first.status_code == 429, first.text[:300]
        assert int(first.headers["retry-after"]) >= 1
        message = error_message(first.content)
        assert "already has 2 synchronous queries running" in message and "/tap/async" in message
        cases()
        for user in ("bob", None, "bob", None):  # two slow queries run: the others are not held back
            t0 = time.perf_counter()
            canary = _sync(fair, CANARY, user)
            assert canary.status_code == 200, canary.text[:300]
            assert time.perf_counter() - t0 < 10
            assert sum(f.done() for f in slow) == 1, "the slow queries ended before the canaries were measured"
            cases()
        statuses = sorted(f.result().status_code for f in slow)
    assert statuses == [400, 400, 429]  # the two that ran ended at the 20 s budget, with a sentence
    cases(2)


def test_caller_slots_rules(cases):
    slots = CallerSlots(per_caller=10, threads=4, wait=0.2)
    assert slots.per_caller == 3  # never all the threads
    assert CallerSlots(per_caller=1, threads=1, wait=0.1).per_caller == 1
    assert caller_key("alice", "10.0.0.1") == "user alice"
    assert caller_key(None, "10.0.0.1") == "address 10.0.0.1"
    a, b = caller_key(None, "10.0.0.1"), caller_key(None, "10.0.0.2")
    assert all(slots.try_acquire(a) for _ in range(3)) and not slots.try_acquire(a)
    assert slots.try_acquire(b)  # another address has its own share

    async def beyond():
        try:
            async with slots.slot(a):
                return "ran"
        except Busy as exc:
            return exc

    refused = asyncio.run(beyond())
    assert isinstance(refused, Busy) and refused.status == 429 and "your address" in refused.message
    slots.release(a)
    assert asyncio.run(beyond()) == "ran"  # a slot freed: the next one runs
    cases(7)


def test_waiting_queries_get_slots_first_come_first_served(cases):
    """A freed slot goes to the caller's longest-waiting query, never to one that has just arrived: with
    the former polling, 50 clients behind one address saw p50 13 ms and p99 3.4 s."""
    slots = CallerSlots(per_caller=1, threads=4, wait=5)
    key = caller_key(None, "10.0.0.1")

    async def scenario():
        order: list[int] = []
        slots.try_acquire(key)  # one query runs; five wait, in this order

        async def query(k: int, hold: asyncio.Event):
            async with slots.slot(key):
                order.append(k)
                await hold.wait()

        holds = [asyncio.Event() for _ in range(5)]
        waiting = [asyncio.create_task(query(k, holds[k])) for k in range(5)]
        while sum(len(q) for q in slots._waiting.values()) < 5:
            await asyncio.sleep(0)
        slots.release(key)
        for k in range(5):
            while len(order) <= k:
                await asyncio.sleep(0)
            assert not slots.try_acquire(key)  # a newcomer waits behind the queue, even between two turns
            holds[k].set()
        await asyncio.gather(*waiting)
        return order

    assert asyncio.run(scenario()) == [0, 1, 2, 3, 4]
    assert slots.running(key) == 0 and not slots._waiting  # every slot given back
    cases(6)


def test_a_query_that_stops_waiting_gives_its_turn_on(cases):
    slots = CallerSlots(per_caller=1, threads=4, wait=0.2)
    key = caller_key("alice", None)

    async def scenario():
        slots.try_acquire(key)
        refused = None
        try:
            async with slots.slot(key):
                pass
        except Busy as exc:  # the wait ran out: 429, and it left the queue
            refused = exc
        assert refused is not None and not slots._waiting
        late = asyncio.create_task(slots.slot(key).__aenter__())
        while not slots._waiting:
            await asyncio.sleep(0)
        late.cancel()  # the handler stopped while waiting (the server stopping)
        with pytest.raises(asyncio.CancelledError):
            await late
        assert not slots._waiting
        slots.release(key)
        return slots.running(key)

    assert asyncio.run(scenario()) == 0
    cases(3)


def test_cross_joins_refused_for_anonymous_but_run_for_token_holders(fair, cases):
    for query in CROSS:
        anonymous = _sync(fair, query)
        assert anonymous.status_code == 400, (query, anonymous.text[:300])
        message = error_message(anonymous.content)
        assert "with no condition the database can use" in message and "Constrain it" in message, message
        cases()
    for query in CROSS[:-1]:  # the slow one would run to the budget
        held = _sync(fair, query, "alice")
        assert held.status_code == 200, (query, held.text[:300])
        cases()


def test_legitimate_queries_are_accepted(fair, cases):
    for query in ACCEPTED:
        response = _sync(fair, query)
        assert response.status_code == 200, (query, error_message(response.content))
        cases()


_CHECKED = {"n": 0}


# 1,000 examples: the derandomized examples change with this function's code, and 300 of them once held
# fewer than ten single-table queries that translate
@settings(max_examples=1000, deadline=None, derandomize=True,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(structured())
def _corpus(query):
    """A query of the hostile corpus with one table and no subquery is never refused by the rule."""
    catalog = Catalog.published([])
    try:
        translation = translate(query, catalog, limit=11)
    except (AdqlError, RecursionError, ValueError, OverflowError):
        return
    sql = translation.sql
    path = _CORPUS_DB["path"]
    with store.query_connection(path) as conn:
        try:
            cost, tables = plan_cost(conn.conn, sql, str(path))
        except Exception:  # noqa: BLE001 - SQLite refuses it: the query's own error, not the rule's
            return
    single = query.upper().count("SELECT") == 1 and " JOIN " not in query.upper() and "," not in query.split(
        "FROM", 1)[-1].split("WHERE", 1)[0]
    if single:
        assert cost == 0, (query, tables)
        _CHECKED["single"] = _CHECKED.get("single", 0) + 1
    if translation.from_items < 2:  # the service skips the plan of these: it must never find a join
        assert cost == 0, (query, tables)
        _CHECKED["one item"] = _CHECKED.get("one item", 0) + 1
    _CHECKED["n"] += 1


_CORPUS_DB: dict[str, Path] = {}


def test_hostile_corpus_single_table_queries_never_refused(fair, cases):
    _CORPUS_DB["path"] = store.db_path(fair.data_dir)
    _corpus()
    assert _CHECKED.get("single", 0) > 10  # most hostile queries do not translate; enough do
    assert _CHECKED.get("one item", 0) > 10
    cases(_CHECKED["n"])


def test_async_tap_is_unaffected(fair, cases):
    with fair.client() as client:
        created = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": CROSS[0], "PHASE": "RUN"},
                              follow_redirects=False)
        assert created.status_code == 303, created.text
        job = created.headers["location"]
        deadline = time.monotonic() + 120
        phase = ""
        while time.monotonic() < deadline:
            phase = client.get(job + "/phase").text
            if phase in ("COMPLETED", "ERROR", "ABORTED"):
                break
            client.get(job, params={"WAIT": "5", "PHASE": phase})
        assert phase == "COMPLETED"
        client.delete(job)
    cases()


def test_the_fair_share_limits_are_in_the_capabilities(fair, cases):
    with fair.client() as client:
        text = client.get("/tap/capabilities").text
    assert "runs at most 2 sync queries at once, never all the query threads" in text
    assert "more than 100,000 row combinations is refused" in text
    cases(2)
