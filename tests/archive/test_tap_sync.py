"""TAP 1.1 over HTTP with pyvo as the client: sync queries, formats, MAXREC, uploads, errors, VOSI."""

import csv
import io
import warnings

import httpx
import numpy as np
import pytest
import pyvo
from astropy.io.votable import parse_single_table
from astropy.table import Table
from pyvo.dal.exceptions import DALOverflowWarning, DALQueryError

from tests.archive.conftest import CRAB


@pytest.fixture(scope="module")
def tap(tap_server):
    return pyvo.dal.TAPService(tap_server.url + "/tap")


def test_run_sync_returns_obscore_rows_with_absolute_access_urls(tap, tap_server):
    result = tap.run_sync("SELECT TOP 5 obs_id, s_ra, s_dec, access_url, s_region, energy_min FROM ivoa.obscore")
    table = result.to_table()
    assert len(table) == 5 and table.colnames[0] == "obs_id"
    assert all(u.startswith(tap_server.url + "/datalink?ID=ivo%3A%2F%2Fgamma-portal") for u in table["access_url"])
    assert str(table["s_ra"].unit) == "deg" and str(table["energy_min"].unit) == "TeV"
    field = result.fieldname_with_ucd("pos.eq.ra")
    assert field == "s_ra"


@pytest.mark.requires_data
def test_crab_cone_over_http(tap):
    result = tap.run_sync(f"SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
                          f"CIRCLE('ICRS', {CRAB[0]}, {CRAB[1]}, 2)) ORDER BY obs_id")
    assert list(result["obs_id"]) == ["23523", "23526", "23559", "23592"]
    fov = tap.run_sync(f"SELECT COUNT(*) AS n FROM ivoa.obscore WHERE "
                       f"CONTAINS(POINT('ICRS', {CRAB[0]}, {CRAB[1]}), s_region) = 1")
    assert fov["n"][0] >= 4


def test_maxrec_overflow_warns(tap):
    big = "SELECT a.obs_id, b.obs_id AS other FROM ivoa.obscore AS a CROSS JOIN ivoa.obscore AS b"
    with pytest.warns(DALOverflowWarning, match="truncated due to server limits"):
        result = tap.run_sync(big)  # no MAXREC: the service default (10000) truncates
    assert len(result) == 10000 and result.query_status == "OVERFLOW"
    with warnings.catch_warnings():
        warnings.simplefilter("error", DALOverflowWarning)  # pyvo is silent when MAXREC was asked for
        result = tap.run_sync("SELECT obs_id FROM ivoa.obscore", maxrec=3)
    assert len(result) == 3 and result.query_status == "OVERFLOW"
    assert tap.run_sync("SELECT TOP 3 obs_id FROM ivoa.obscore", maxrec=3).query_status == "OK"


def test_overflow_info_follows_the_table(tap_server):
    r = httpx.get(tap_server.url + "/tap/sync", params={"LANG": "ADQL", "MAXREC": "2", "RESPONSEFORMAT": "votable/td",
                                                       "QUERY": "SELECT obs_id FROM ivoa.obscore"})
    body = r.text
    assert body.index('name="QUERY_STATUS" value="OK"') < body.index("<TABLE") < body.index(
        'name="QUERY_STATUS" value="OVERFLOW"')
    assert "<TABLEDATA>" in body


@pytest.mark.parametrize("fmt,mime", [("votable", "application/x-votable+xml"),
                                      ("votable/td", "application/x-votable+xml"),
                                      ("application/x-votable+xml", "application/x-votable+xml"),
                                      ("csv", "text/csv"), ("tsv", "text/tab-separated-values")])
def test_response_formats(tap_server, fmt, mime):
    query = "SELECT TOP 4 obs_id, s_ra, POINT('ICRS', s_ra, s_dec) AS p, proposal_id FROM ivoa.obscore ORDER BY obs_id"
    r = httpx.post(tap_server.url + "/tap/sync", data={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query,
                                                       "RESPONSEFORMAT": fmt})
    assert r.status_code == 200 and r.headers["content-type"].startswith(mime)
    if mime.startswith("application"):
        table = parse_single_table(io.BytesIO(r.content)).to_table()
        assert len(table) == 4 and table["p"].shape == (4, 2) and table["p"][0][0] == table["s_ra"][0]
        assert all(v is np.ma.masked or v == "" for v in table["proposal_id"])  # null strings
    else:
        rows = list(csv.reader(io.StringIO(r.text), delimiter="," if fmt == "csv" else "\t"))
        assert rows[0] == ["obs_id", "s_ra", "p", "proposal_id"] and len(rows) == 5
        assert rows[1][2].split()[0] == rows[1][1] and rows[1][3] == ""


def test_parameter_names_are_case_insensitive(tap_server):
    r = httpx.get(tap_server.url + "/tap/sync", params={"lang": "ADQL", "query": "SELECT TOP 1 obs_id FROM ivoa.obscore",
                                                       "format": "csv"})
    assert r.status_code == 200 and r.text.startswith("obs_id")


def test_upload(tap):
    targets = Table({"name": ["crab", "nowhere"], "ra": [83.633, 10.0], "dec": [22.014, -89.0]})
    result = tap.run_sync("SELECT u.name, COUNT(o.obs_id) AS n FROM TAP_UPLOAD.targets AS u LEFT OUTER JOIN "
                          "ivoa.obscore AS o ON 1 = CONTAINS(POINT('ICRS', o.s_ra, o.s_dec), "
                          "CIRCLE('ICRS', u.ra, u.dec, 3)) GROUP BY u.name ORDER BY u.name",
                          uploads={"targets": targets})
    counts = dict(zip(result["name"], result["n"]))
    assert set(counts) == {"crab", "nowhere"}


@pytest.mark.parametrize("params,message", [
    ({"LANG": "ADQL", "QUERY": "SELECT nope FROM ivoa.obscore"}, "unknown column nope"),
    ({"LANG": "ADQL", "QUERY": "SELECT * FROM ivoa.obscore WHERE"}, "ends too early"),
    ({"LANG": "SQL", "QUERY": "SELECT 1"}, "LANG=SQL is not supported"),
    ({"QUERY": "SELECT 1"}, "LANG is missing"),
    ({"LANG": "ADQL"}, "QUERY is missing"),
    ({"LANG": "ADQL", "QUERY": "SELECT 1 FROM ivoa.obscore", "MAXREC": "many"}, "MAXREC: 'many' is not an integer"),
    ({"LANG": "ADQL", "QUERY": "SELECT 1 FROM ivoa.obscore", "RESPONSEFORMAT": "xls"}, "RESPONSEFORMAT=xls"),
    ({"LANG": "ADQL", "QUERY": "SELECT 1 FROM ivoa.obscore", "REQUEST": "getCapabilities"}, "REQUEST=getCapabilities"),
    ({"LANG": "ADQL", "QUERY": "SELECT 1 FROM TAP_UPLOAD.t", "UPLOAD": "t,param:missing"}, "no file part"),
])
def test_errors_are_votable_documents(tap_server, params, message):
    for method in ("GET", "POST"):
        if method == "GET":
            r = httpx.get(tap_server.url + "/tap/sync", params=params)
        else:
            r = httpx.post(tap_server.url + "/tap/sync", data=params)
        assert r.status_code == 400
        assert r.headers["content-type"].startswith("application/x-votable+xml")
        info = [i for i in parse_single_table_infos(r.content) if i.name == "QUERY_STATUS"]
        assert info[0].value == "ERROR" and message in info[0].content


def parse_single_table_infos(content):
    from astropy.io.votable import parse

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        votable = parse(io.BytesIO(content))
    return list(votable.resources[0].infos)


def test_pyvo_raises_a_readable_error(tap):
    with pytest.raises(DALQueryError) as exc:
        tap.run_sync("SELECT s_raa FROM ivoa.obscore")
    assert "unknown column s_raa (did you mean s_ra" in str(exc.value)


def test_vosi_endpoints_parse_with_pyvo(tap):
    assert tap.available
    tables = tap.tables
    obscore = tables["ivoa.obscore"]
    names = [c.name for c in obscore.columns]
    assert {"s_region", "access_url", "energy_min", "energy_max", "zenith", "ev_xel", "n_tels", "irf_type"} <= set(names)
    assert {"TAP_SCHEMA.columns", "TAP_SCHEMA.keys"} <= set(tables.keys())
    caps = tap.capabilities
    assert any(c.standardid.startswith("ivo://ivoa.net/std/TAP") for c in caps)
    assert tap.maxrec == 10000 and tap.hardlimit == 1_000_000
    assert tap.upload_methods and any("upload-inline" in m.ivo_id for m in tap.upload_methods)
    examples = tap.examples
    assert len(examples) >= 4
    for example in examples:
        assert len(example.execute()) >= 0


def test_tap_schema_matches_tables(tap):
    result = tap.run_sync("SELECT column_name, datatype, unit, ucd, utype, principal, indexed, std "
                          "FROM TAP_SCHEMA.columns WHERE table_name = 'ivoa.obscore' ORDER BY column_index")
    names = list(result["column_name"])
    assert names == [c.name for c in tap.tables["ivoa.obscore"].columns]
    keys = tap.run_sync("SELECT k.from_table, k.target_table, c.from_column FROM TAP_SCHEMA.keys AS k "
                        "JOIN TAP_SCHEMA.key_columns AS c ON c.key_id = k.key_id")
    assert len(keys) == 5


def test_single_table_endpoint(tap_server):
    r = httpx.get(tap_server.url + "/tap/tables/ivoa.obscore")
    assert r.status_code == 200 and "<name>s_region</name>" in r.text
    assert httpx.get(tap_server.url + "/tap/tables/nope.nope").status_code == 404
    minimal = httpx.get(tap_server.url + "/tap/tables", params={"detail": "min"}).text
    assert "ivoa.obscore" in minimal and "<column>" not in minimal


def test_non_ascii_text_round_trips(tap):
    result = tap.run_sync("SELECT TOP 1 'Nébuleuse du Crabe ✓' AS s, LOWER('ÄB') AS l FROM TAP_SCHEMA.schemas")
    assert result["s"][0] == "Nébuleuse du Crabe ✓"
