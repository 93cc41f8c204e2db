"""Published products are visible below ADQL: no query reaches another user's private product.

Two archives differ only by a private publication of alice's (a sed row in ivoa.obscore and its ProvTAP
rows). Every query of the reliability suite's hostile ADQL corpus (tests/reliability/adql_strategies.py),
and a list aimed at the products (joins, subqueries, UNION, CTEs, TAP_SCHEMA, the visibility function,
qualified names), is run on both as bob and as an anonymous caller: the answers must be the same, so
nothing of alice's private rows shows (not even a count). Alice sees her rows. And the read-only query
connection refuses SQL that names the stored tables directly, which the translator never writes.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime, timezone

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from portal.archive import provtap, publication, store
from portal.archive.ingest import ingest_synthetic
from portal.archive.products import Job, product_rows
from portal.archive.service import TapQuery, execute
from portal.archive.errors import TapError
from portal.provenance.record import ProvenanceInfo, build
from tests.reliability.adql_strategies import mutated, structured

SECRET = "alice-secret-target"
PROV_TABLES = ["provenance.activity", "provenance.entity", "provenance.used", "provenance.wasgeneratedby",
               "provenance.wasassociatedwith", "provenance.agent", "provenance.parameter",
               "provenance.activitydescription", "provenance.wasderivedfrom"]
AIMED = [
    "SELECT COUNT(*) FROM ivoa.obscore",
    "SELECT COUNT(*) FROM ivoa.obscore WHERE calib_level = 4",
    "SELECT * FROM ivoa.obscore WHERE dataproduct_type = 'sed'",
    f"SELECT * FROM ivoa.obscore WHERE target_name = '{SECRET}'",
    "SELECT obs_publisher_did FROM ivoa.obscore WHERE obs_collection = 'portal-products'",
    "SELECT * FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 200, -40, 1))",
    "SELECT * FROM ivoa.obscore AS a JOIN ivoa.obscore AS b ON a.obs_id = b.obs_id WHERE a.calib_level = 4",
    "SELECT * FROM (SELECT * FROM ivoa.obscore WHERE calib_level > 2) AS x",
    "SELECT obs_id FROM ivoa.obscore WHERE obs_id IN (SELECT obs_id FROM ivoa.obscore WHERE calib_level = 4)",
    "SELECT obs_id FROM ivoa.obscore WHERE EXISTS (SELECT 1 FROM provenance.activity)",
    "SELECT obs_id FROM ivoa.obscore UNION SELECT id FROM provenance.activity",
    "SELECT obs_id FROM ivoa.obscore WHERE calib_level = 4 UNION ALL SELECT obs_id FROM ivoa.obscore",
    "WITH p AS (SELECT * FROM ivoa.obscore WHERE calib_level = 4) SELECT * FROM p",
    "SELECT MAX(t_max), MIN(s_ra), SUM(calib_level) FROM ivoa.obscore",
    "SELECT target_name, COUNT(*) FROM ivoa.obscore GROUP BY target_name ORDER BY 2 DESC",
    "SELECT * FROM TAP_SCHEMA.tables AS t LEFT JOIN ivoa.obscore AS o ON o.obs_collection = t.schema_name",
    "SELECT * FROM main.ivoa.obscore WHERE calib_level = 4",
    'SELECT * FROM "ivoa"."obscore" WHERE calib_level = 4',
    "SELECT portal_viewer() FROM ivoa.obscore",
    "SELECT * FROM product_publication",
    "SELECT * FROM ivoa.product_publication",
    "SELECT * FROM sqlite_master",
    "SELECT e.name, u.role FROM provenance.used AS u JOIN provenance.entity AS e ON e.id = u.entity_id",
    "SELECT a.*, p.* FROM provenance.activity AS a JOIN provenance.parameter AS p ON p.activity_id = a.id",
    "SELECT * FROM provenance.agent WHERE name = 'alice'",
    "SELECT COUNT(*) FROM provenance.entity AS e JOIN ivoa.obscore AS o ON o.obs_publisher_did = e.obs_publisher_did",
    *[f"SELECT * FROM {t}" for t in PROV_TABLES],
    *[f"SELECT COUNT(*) FROM {t}" for t in PROV_TABLES],
]


def _publish(db, job_id: str, owner: str, public: bool, target: str, ra: float, dec: float) -> None:
    info = ProvenanceInfo(
        job_id=job_id, definition="spectrum", description="test", owner=owner, phase="COMPLETED",
        start=datetime(2024, 1, 1, tzinfo=timezone.utc), end=datetime(2024, 1, 1, 0, 5, tzinfo=timezone.utc),
        parameters=[("ra", str(ra), "deg"), ("dec", str(dec), "deg"), ("secret", target, None)],
        inputs=[{"path": f"/data/{job_id}_obs.fits", "role": "dl3", "sha256": job_id * 4,
                 "attributes": {"obs_id": 7, "collection": "synthetic"}}],
        results=[{"id": "flux_points", "path": "flux_points.fits", "mime_type": "application/fits", "size": 2880,
                  "sha256": "ab" * 32}],
    )
    document = build(info).serialize(format="json")
    files = ({"id": "flux_points", "path": "flux_points.fits", "mime_type": "application/fits", "size": 2880},)
    prov = provtap.rows(document, {"flux_points": f"ivo://test/{job_id}"})
    observations = publication.observations(db, ["ivo://gamma-portal/archive?synthetic/7"])
    rows = product_rows(Job(job_id, "spectrum", {"ra": str(ra), "dec": str(dec), "e_min": "1", "e_max": "30"},
                            files, tuple({**o, "target_name": target} for o in observations)), None)
    publication.publish(db, publication.Publication(job_id, "spectrum", owner, public, "/nonexistent", files),
                        rows, prov)


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    """(with alice's private product, without it): otherwise the same archive."""
    base = tmp_path_factory.mktemp("with") / store.DB_NAME
    ingest_synthetic(base, 300, seed=3)
    _publish(base, "bobjob", "bob", True, "Bob's public target", 201.0, -40.0)
    without = tmp_path_factory.mktemp("without") / store.DB_NAME
    shutil.copy(base, without)
    _publish(base, "alicejob", "alice", False, SECRET, 200.0, -40.0)
    return base, without


def _answer(db, query: str, viewer):
    try:
        result = execute(db, TapQuery(query, maxrec=1000), "http://portal.test", viewer=viewer)
    except TapError as exc:
        return ("error", exc.message)
    return ("rows", sorted(map(repr, result.rows)), result.overflow)


def test_alice_sees_her_private_product_others_do_not(archives):
    with_alice, _ = archives
    query = "SELECT target_name, calib_level, dataproduct_type FROM ivoa.obscore WHERE calib_level = 4"
    assert _answer(with_alice, query, "alice")[1] == sorted([repr((SECRET, 4, "sed")),
                                                              repr(("Bob's public target", 4, "sed"))])
    assert _answer(with_alice, query, "bob")[1] == [repr(("Bob's public target", 4, "sed"))]
    assert _answer(with_alice, query, None)[1] == [repr(("Bob's public target", 4, "sed"))]
    used = ("SELECT e.obs_id, e.obs_publisher_did, a.job_id FROM provenance.used AS u JOIN provenance.entity AS e "
            "ON e.id = u.entity_id JOIN provenance.activity AS a ON a.id = u.activity_id ORDER BY a.job_id")
    assert [r for r in _answer(with_alice, used, "alice")[1]] == sorted([
        repr(("7", "ivo://gamma-portal/archive?synthetic/7", "alicejob")),
        repr(("7", "ivo://gamma-portal/archive?synthetic/7", "bobjob"))])
    assert _answer(with_alice, used, None)[1] == [repr(("7", "ivo://gamma-portal/archive?synthetic/7", "bobjob"))]


@pytest.mark.parametrize("query", AIMED)
def test_aimed_queries_show_nothing_of_a_private_product(archives, query):
    with_alice, without = archives
    for viewer in ("bob", None):
        assert _answer(with_alice, query, viewer) == _answer(without, query, viewer), (query, viewer)


def test_hostile_corpus_shows_nothing_of_a_private_product(archives):
    with_alice, without = archives
    tally = {"n": 0, "rows": 0}
    tables = st.sampled_from(["ivoa.obscore"] * 4 + PROV_TABLES)

    @settings(max_examples=1500, deadline=None, database=None, derandomize=True,
              suppress_health_check=list(HealthCheck), phases=("generate",))
    @given(query=st.one_of(structured(), structured(), mutated()), table=tables, viewer=st.sampled_from(["bob", None]))
    def one(query, table, viewer):
        if table != "ivoa.obscore":  # the same shapes on a provenance table (most columns will not exist there)
            query = query.replace("ivoa.obscore", table)
        tally["n"] += 1
        answer = _answer(with_alice, query, viewer)
        tally["rows"] += answer[0] == "rows"
        assert answer == _answer(without, query, viewer), (query, viewer)

    one()
    print(f"hostile ADQL on products: {tally['n']} cases, {tally['rows']} answered with rows, all the same "
          "with and without the private product")
    assert tally["n"] >= 1500 and tally["rows"] > 40  # the corpus reaches rows, not only refusals


@pytest.mark.parametrize("sql", [
    'SELECT * FROM main."ivoa.obscore"',
    'SELECT count(*) FROM main."ivoa.obscore"',
    'SELECT * FROM main."provenance.entity"',
    'SELECT count(*) FROM "product_publication"',
    'SELECT owner FROM main."product_publication"',
    "SELECT portal_viewer()",
    'SELECT * FROM "ivoa.obscore" WHERE "_pub" IN (SELECT id FROM "product_publication")',
])
def test_the_query_connection_refuses_the_stored_tables(archives, sql):
    with_alice, _ = archives
    with store.QueryConnection(with_alice) as conn:
        with pytest.raises(sqlite3.DatabaseError, match="not authorized|prohibited"):
            conn.execute(sql).fetchall()
        # what the connection reads under the same name is the filtered view: anonymous, public rows only
        rows = conn.execute('SELECT count(*) FROM "ivoa.obscore" WHERE "_pub" IS NOT NULL').fetchone()[0]
        assert rows == 1


def test_sky_maps_are_image_rows_found_by_their_square(tmp_path):
    db = tmp_path / store.DB_NAME
    ingest_synthetic(db, 5, seed=1)
    files = tuple({"id": r, "path": f"{r}.fits", "mime_type": "application/fits", "size": 5760}
                  for r in ("counts", "excess", "significance", "preview"))
    rows = product_rows(Job("mapjob", "skymap", {"ra": "359.5", "dec": "80", "width": "4", "e_min": "0.5",
                                                  "e_max": "100"}, files, ()), None)
    assert [(r["dataproduct_type"], r["dataproduct_subtype"]) for r in rows] == [
        ("image", "counts-map"), ("image", "excess-map"), ("image", "significance-map")]
    publication.publish(db, publication.Publication("mapjob", "skymap", "carol", True, "/nonexistent", files), rows,
                        {name: [] for name in ("activity", "entity")})
    corner = ("SELECT dataproduct_type, calib_level FROM ivoa.obscore WHERE em_min < em_max AND "
              "1 = CONTAINS(POINT('ICRS', 3.0, 81.5), s_region) AND calib_level = 4")
    assert _answer(db, corner, None)[1] == [repr(("image", 4))] * 3
    assert publication.unpublish(db, "mapjob") is not None
    assert _answer(db, corner, "carol")[1] == []
    outside = corner.replace("3.0, 81.5", "10.0, 76.0")
    assert _answer(db, outside, None)[1] == []
