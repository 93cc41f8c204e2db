"""The archive store's named reads: plain values, one read-only connection factory, no SQL elsewhere."""

import hashlib
import sqlite3
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from portal.archive import reads, store
from portal.archive.ingest import ingest_release, ingest_synthetic
from tests.archive.conftest import query
from tests.archive.releases import POINTLIKE_OBS, make_pointlike_release

REPO = Path(__file__).resolve().parents[2]
CALL_SITES = ["portal/coverage/moc.py", "portal/datalink/lookup.py", "portal/archive/locate.py"]


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def raw(db: Path, sql: str) -> list[tuple]:
    """The expected values, read with a plain connection (hidden columns included)."""
    conn = sqlite3.connect(db)
    try:
        return conn.execute(sql).fetchall()
    finally:
        conn.close()


@pytest.fixture(scope="module")
def archive(tmp_path_factory):
    """Two collections: a point-like release with files (obs 1001-1003) and 1200 synthetic rows without."""
    folder = tmp_path_factory.mktemp("reads")
    release = make_pointlike_release(folder / "pointlike")
    db = folder / store.DB_NAME
    assert ingest_release(db, release, collection="test-pointlike") == 3
    assert ingest_synthetic(db, 1200, seed=7) == 1200
    return db, release.resolve()


@pytest.mark.parametrize("sql", [
    'DELETE FROM "ivoa.obscore"',
    'UPDATE "ivoa.obscore" SET s_ra = 0',
    'INSERT INTO "archive_release" VALUES (99, \'x\', NULL, \'now\', 0)',
    'DROP TABLE "ivoa.obscore"',
    "CREATE TABLE x (a)",
    "CREATE TEMP TABLE x (a)",
    "PRAGMA query_only = 0",
    "PRAGMA writable_schema = 1",
    "ATTACH DATABASE ':memory:' AS x",
    "SELECT load_extension('/tmp/evil.so')",
    "VACUUM",
    "BEGIN IMMEDIATE",
])
def test_the_read_connection_can_only_read(archive, sql):
    db, _ = archive
    before = digest(db), store.count_rows(db)
    conn = store.connect_read(db)
    try:
        with pytest.raises(sqlite3.Error):
            conn.execute(sql).fetchall()
        assert conn.execute('SELECT count(*) FROM "ivoa.obscore"').fetchone()[0] == before[1]
    finally:
        conn.close()
    assert (digest(db), store.count_rows(db)) == before


def test_the_reads_return_the_archive_as_tap_sees_it(archive):
    db, release = archive
    _, [(n,)] = query(db, "SELECT COUNT(*) FROM ivoa.obscore")
    assert store.count_rows(db) == n == 1203
    assert reads.content_version(db) == (n, raw(db, 'SELECT max("_id") FROM "ivoa.obscore"')[0][0])
    _, regions = query(db, "SELECT s_region FROM ivoa.obscore WHERE s_region IS NOT NULL")
    assert sorted(reads.footprints(db)) == sorted(r[0] for r in regions)

    _, [(did, t_ra, t_dec, fov)] = query(db, "SELECT obs_publisher_did, target_ra, target_dec, s_fov "
                                             "FROM ivoa.obscore "
                                             "WHERE obs_id = '1003' AND obs_collection = 'test-pointlike'")
    row = reads.observation(db, did)
    number, ra, dec, target = POINTLIKE_OBS[2]
    assert row == (number, "1003", "test-pointlike", target, pytest.approx(ra, abs=1e-3),
                   pytest.approx(dec, abs=1e-3), t_ra, t_dec, fov, str(release))
    assert (row.number, row.collection, Path(row.release)) == (1003, "test-pointlike", release)
    assert reads.observation(db, did + "x") is None


def test_observation_places_in_chunks(archive):
    db, release = archive
    synthetic = raw(db, 'SELECT "obs_number" FROM "ivoa.obscore" WHERE "obs_collection" = \'synthetic\'')
    numbers = sorted({1001, 1003, 424242} | {r[0] for r in synthetic})  # more than one chunk of 500
    collections, places = reads.observation_places(db, numbers)
    assert collections == {"test-pointlike"}  # those of the ingested releases (synthetic rows have none)
    assert len(places) == len(synthetic) + 3  # the synthetic rows, and 1001-1003 (1002 is a synthetic number too)
    by_number = {}
    for place in places:
        by_number.setdefault(place.number, []).append(place)
    assert 424242 not in by_number
    assert [p.number for p in places if p.collection == "test-pointlike"] == [1001, 1002, 1003]  # ingest order
    for number in (1001, 1003):
        [place] = [p for p in by_number[number] if p.collection == "test-pointlike"]
        assert Path(place.release) == release and place.target_name
    assert all(p.release is None for p in places if p.collection == "synthetic")


def test_without_a_database_the_reads_are_empty_and_create_nothing(tmp_path):
    db = tmp_path / "none" / store.DB_NAME
    assert store.count_rows(db) == 0
    assert reads.content_version(db) == (0, None)
    assert reads.footprints(db) == []
    assert reads.observation(db, "ivo://x") is None
    assert reads.observation_places(db, [1, 2]) == (set(), [])
    assert not db.exists() and not db.parent.exists()


def test_a_database_without_the_archive_tables_raises_for_the_caller(tmp_path):
    db = tmp_path / store.DB_NAME
    sqlite3.connect(db).execute("CREATE TABLE other (a)").connection.close()
    assert store.count_rows(db) == 0
    for read, args in ((reads.content_version, ()), (reads.footprints, ()), (reads.observation, ("x",)),
                       (reads.observation_places, ([1],))):
        with pytest.raises(sqlite3.OperationalError, match="no such table"):
            read(db, *args)


def test_reads_from_many_threads_at_once(archive):
    db, _ = archive
    _, [(did,)] = query(db, "SELECT obs_publisher_did FROM ivoa.obscore "
                            "WHERE obs_id = '1001' AND obs_collection = 'test-pointlike'")
    with ThreadPoolExecutor(8) as pool:
        found = list(pool.map(lambda _: (reads.observation(db, did), reads.content_version(db)), range(64)))
    assert len(set(found)) == 1 and found[0][0].number == 1001


def test_the_services_hold_no_sql_of_their_own():
    for name in CALL_SITES:
        text = (REPO / name).read_text()
        for word in ("sqlite3.connect", "mode=ro", "SELECT ", "ivoa.obscore\"", '"archive_release"'):
            assert word not in text, f"{name} has {word!r}: read through portal.archive.reads"
