"""Hostile queries are refused or harmless; the query connection can do nothing but read."""

import hashlib
import sqlite3

import pytest

from portal.archive import service, store
from portal.archive.errors import TapError
from portal.archive.service import TapQuery
from portal.archive.uploads import parse_upload_param
from tests.archive.conftest import query


def digest(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def before(small_db):
    return digest(small_db), query(small_db, "SELECT COUNT(*) FROM ivoa.obscore")[1][0][0]


@pytest.mark.parametrize("adql,expected", [
    ("SELECT 1 FROM ivoa.obscore; DROP TABLE ivoa.obscore", "unexpected 'DROP'"),
    ("DROP TABLE ivoa.obscore", "unexpected 'DROP'"),
    ("DELETE FROM ivoa.obscore", "unexpected 'DELETE'"),
    ("PRAGMA writable_schema = 1", "unexpected 'PRAGMA'"),
    ("ATTACH DATABASE '/tmp/x.db' AS x", "unexpected 'ATTACH'"),
    ("SELECT load_extension('/tmp/evil.so') FROM ivoa.obscore", "unknown function load_extension"),
    ("SELECT sqlite_version() FROM ivoa.obscore", "unknown function sqlite_version"),
    ("SELECT * FROM sqlite_master", "unknown table sqlite_master"),
    ('SELECT * FROM "ivoa.obscore"', "unknown table"),
    ("SELECT * FROM archive_release", "unknown table archive_release"),
    ("SELECT * FROM obscore_pos_node", "unknown table obscore_pos_node"),
    ("SELECT _id FROM ivoa.obscore", "unexpected character '_'"),
    ("SELECT access_path, release_id FROM ivoa.obscore", "unknown column access_path"),
    ('SELECT "s_ra"" FROM x; --" FROM ivoa.obscore', 'unknown column "s_ra"" FROM x; --"'),
    ("SELECT s_ra FROM ivoa.obscore /* comment */", "unexpected '/'"),
    ("SELECT 1 FROM ivoa.obscore WHERE s_ra = 1e999", "out of range"),
    ("SELECT 99999999999999999999 FROM ivoa.obscore", "out of range"),
    ("SELECT 'a\x00b' FROM ivoa.obscore", "NUL"),
])
def test_hostile_queries_are_refused(small_db, before, adql, expected):
    with pytest.raises(TapError) as exc:
        query(small_db, adql)
    assert expected in exc.value.message
    assert (digest(small_db), query(small_db, "SELECT COUNT(*) FROM ivoa.obscore")[1][0][0]) == before


def test_harmless_injections_stay_data(small_db, before):
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE target_name = "
                              "'x''; DROP TABLE \"ivoa.obscore\"; --'")
    assert rows == []
    _, rows = query(small_db, "SELECT TOP 2 obs_id FROM ivoa.obscore -- ; DROP TABLE ivoa.obscore")
    assert len(rows) == 2
    _, rows = query(small_db, "SELECT 'Robert''); DROP TABLE Students;--' AS s FROM TAP_SCHEMA.schemas")
    assert rows[0][0] == "Robert'); DROP TABLE Students;--"
    assert (digest(small_db), query(small_db, "SELECT COUNT(*) FROM ivoa.obscore")[1][0][0]) == before


def test_huge_top_is_capped_by_maxrec(small_db):
    result = service.execute(small_db, TapQuery("SELECT TOP 9223372036854775807 obs_id FROM ivoa.obscore",
                                                maxrec=10), "")
    assert len(result.rows) == 10 and result.overflow


@pytest.mark.parametrize("depth", [300, 3000, 40000])
def test_deep_nesting_is_answered_or_refused_with_a_message(small_db, depth):
    adql = "SELECT TOP 1 " + "(" * depth + "1" + ")" * depth + " FROM ivoa.obscore"
    try:
        _, rows = query(small_db, adql)
    except TapError as exc:
        assert "nested too deeply" in exc.message or "too large" in exc.message or "depth" in exc.message
    else:
        assert rows == [(1,)]


def test_long_queries_are_refused(small_db):
    with pytest.raises(TapError) as exc:
        query(small_db, "SELECT 1 FROM ivoa.obscore WHERE " + " OR ".join(["s_ra = 1"] * 20000))
    assert "too long" in exc.value.message


def test_statement_time_limit(small_db):
    slow = TapQuery("SELECT COUNT(*) FROM ivoa.obscore a, ivoa.obscore b, ivoa.obscore c WHERE a.s_ra < b.s_ra")
    with pytest.raises(TapError) as exc:
        service.execute(small_db, slow, "", time_limit=0.5)
    assert "time limit of 0.5 s" in exc.value.message


@pytest.mark.parametrize("sql", [
    'DELETE FROM "ivoa.obscore"',
    'UPDATE "ivoa.obscore" SET s_ra = 0',
    'INSERT INTO "TAP_SCHEMA.schemas" VALUES (1, 2, 3, 4)',
    'DROP TABLE "ivoa.obscore"',
    "CREATE TABLE x (a)",
    "CREATE TEMP TABLE x (a)",
    "PRAGMA writable_schema = 1",
    "PRAGMA query_only = 0",
    "ATTACH DATABASE ':memory:' AS x",
    "SELECT load_extension('/tmp/evil.so')",
    "SELECT writefile('/tmp/x', 'y')",
    "VACUUM",
    "BEGIN IMMEDIATE",
])
def test_query_connection_can_only_read(small_db, before, sql):
    with store.QueryConnection(small_db) as conn:
        with pytest.raises(sqlite3.Error):
            conn.execute(sql).fetchall()
        assert conn.execute('SELECT COUNT(*) FROM "ivoa.obscore"').fetchone()[0] == before[1]
    assert digest(small_db) == before[0]


@pytest.mark.parametrize("value,expected", [
    ('x"y,param:f', "plain ADQL name"),
    ('x"; DROP TABLE y; --,param:f', "not of the form"),
    ("t,file:///etc/passwd", "neither an inline part"),
    ("t", "not of the form"),
    ("t,param:a;T,param:b", "used twice"),
])
def test_bad_upload_parameters(value, expected):
    with pytest.raises(TapError) as exc:
        parse_upload_param(value)
    assert expected in exc.value.message


def test_bad_uploads(small_db):
    for content, expected in ((b"not a votable", "not a readable VOTable"), (b"", "not a readable VOTable")):
        with pytest.raises(TapError) as exc:
            query(small_db, "SELECT * FROM TAP_UPLOAD.t", uploads=[("t", content)])
        assert expected in exc.value.message


def test_pooled_connections_see_new_rows(tmp_path):
    """Reused read-only connections hold no snapshot: rows ingested meanwhile are found."""
    from portal.archive.ingest import ingest_synthetic

    db = tmp_path / store.DB_NAME
    ingest_synthetic(db, 20, seed=1)
    for _ in range(3):
        assert query(db, "SELECT COUNT(*) FROM ivoa.obscore")[1][0][0] == 20
    assert store._POOL[str(db.resolve())]  # kept for the next query
    ingest_synthetic(db, 5, seed=2)
    assert query(db, "SELECT COUNT(*) FROM ivoa.obscore")[1][0][0] == 25
    _, rows = query(db, "SELECT TOP 3 obs_id FROM ivoa.obscore", maxrec=1)  # a cursor left half-read
    assert len(rows) == 1
    ingest_synthetic(db, 5, seed=3)
    assert query(db, "SELECT COUNT(*) FROM ivoa.obscore")[1][0][0] == 30
