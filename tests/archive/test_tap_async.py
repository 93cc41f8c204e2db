"""TAP async over HTTP with pyvo: run_async, submit_job, abort, delete, uploads, errors, persistence."""

import io
import time

import httpx
import pytest
import pyvo
from astropy.io.votable import parse
from astropy.table import Table
from pyvo.dal.exceptions import DALQueryError

from portal.archive import store
from portal.archive.ingest import ingest_synthetic

SLOW = ("SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, "
        "TAP_SCHEMA.columns AS d WHERE a.s_ra + b.s_dec > c.s_ra + d.column_index")


@pytest.fixture(scope="module")
def tap(tap_server):
    return pyvo.dal.TAPService(tap_server.url + "/tap")


def test_run_async(tap, tap_server):
    result = tap.run_async("SELECT TOP 7 obs_id, access_url, s_region FROM ivoa.obscore ORDER BY obs_id")
    table = result.to_table()
    assert len(table) == 7 and list(table["obs_id"]) == sorted(table["obs_id"])
    assert table["access_url"][0].startswith(tap_server.url + "/datalink?ID=")


def test_submit_job_lifecycle(tap):
    job = tap.submit_job("SELECT TOP 3 obs_id FROM ivoa.obscore", maxrec=2)
    assert job.phase == "PENDING"
    assert job.query == "SELECT TOP 3 obs_id FROM ivoa.obscore"
    parameters = httpx.get(job.url + "/parameters").text
    assert 'id="MAXREC" isPost="false">2<' in parameters and 'id="LANG" isPost="false">ADQL<' in parameters
    job.run()
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
    assert job.phase == "COMPLETED"
    assert job.result_uri.endswith("/results/result")
    result = job.fetch_result()
    assert len(result) == 2 and result.query_status == "OVERFLOW"
    url = job.url
    job.delete()
    assert httpx.get(url).status_code == 404


def test_abort_stops_a_long_query(tap):
    job = tap.submit_job(SLOW)
    job.run()
    deadline = time.monotonic() + 30
    while job.phase in ("PENDING", "QUEUED") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert job.phase == "EXECUTING"
    deadline = time.monotonic() + 120  # the query alone would run for hours: ABORTED at all means it stopped
    job.abort()
    while job.phase == "EXECUTING" and time.monotonic() < deadline:  # pyvo's wait() refuses ABORTED
        time.sleep(0.1)
    assert job.phase == "ABORTED"
    job.delete()


def test_execution_duration_is_enforced(tap_server):
    r = httpx.post(tap_server.url + "/tap/async", data={"LANG": "ADQL", "QUERY": SLOW, "EXECUTIONDURATION": "1",
                                                        "PHASE": "RUN"}, follow_redirects=False)
    assert r.status_code == 303
    job = pyvo.dal.AsyncTAPJob(r.headers["location"])
    job.wait(phases=["COMPLETED", "ERROR", "ABORTED"], timeout=60)
    assert job.phase == "ERROR" and "execution duration" in httpx.get(job.url + "/error").text
    job.delete()


def test_failed_query_has_a_votable_error_document(tap):
    job = tap.submit_job("SELECT nope FROM ivoa.obscore")
    job.run()
    job.wait(phases=["COMPLETED", "ERROR"], timeout=60)
    assert job.phase == "ERROR"
    r = httpx.get(job.url + "/error")
    assert r.headers["content-type"].startswith("application/x-votable+xml")
    infos = {i.name: i for i in parse(io.BytesIO(r.content)).resources[0].infos}
    assert infos["QUERY_STATUS"].value == "ERROR" and "unknown column nope" in infos["QUERY_STATUS"].content
    with pytest.raises(DALQueryError, match="unknown column nope"):
        job.raise_if_error()
    job.delete()


def test_async_upload_and_format(tap_server, tap):
    t = Table({"id": [1, 2, 3], "ra": [83.6, 10.0, 200.0], "dec": [22.0, 10.0, -40.0]})
    result = tap.run_async("SELECT id, ra * 2 AS twice FROM TAP_UPLOAD.mine ORDER BY id", uploads={"mine": t})
    assert list(result["id"]) == [1, 2, 3] and list(result["twice"]) == [167.2, 20.0, 400.0]
    r = httpx.post(tap_server.url + "/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT TOP 2 obs_id FROM ivoa.obscore",
                                                        "RESPONSEFORMAT": "csv", "PHASE": "RUN"})
    job_url = r.headers["location"]
    job = pyvo.dal.AsyncTAPJob(job_url)
    job.wait(phases=["COMPLETED", "ERROR"], timeout=60)
    text = httpx.get(job_url + "/results/result").text
    assert text.splitlines()[0] == "obs_id" and len(text.splitlines()) == 3
    job.delete()


def test_unknown_parameters_are_ignored_and_bad_ids_are_404(tap_server):
    r = httpx.post(tap_server.url + "/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT 1 FROM TAP_SCHEMA.schemas",
                                                        "DUMMY": "ignore-me"}, follow_redirects=True)
    assert r.status_code == 200 and "PENDING" in r.text  # followed the 303 to the job
    assert httpx.delete(str(r.url)).status_code in (200, 303)
    for bad in ("nope", "../../etc/passwd", "x" * 100):
        assert httpx.get(f"{tap_server.url}/tap/async/{bad}").status_code == 404


def test_jobs_survive_a_restart(tmp_path):
    """Jobs live in $PORTAL_DATA_DIR/tap: a new application on the same folder finds them again."""
    from fastapi.testclient import TestClient

    from portal.app import create_app
    from portal.config import Settings

    settings = Settings(data_dir=tmp_path / "state")
    ingest_synthetic(store.db_path(settings.data_dir), 50, seed=2)
    query = {"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM ivoa.obscore", "RESPONSEFORMAT": "csv"}
    with TestClient(create_app(settings)) as client:
        done = client.post("/tap/async", data={**query, "PHASE": "RUN"}, follow_redirects=False).headers["location"]
        assert final_phase(client, done) == "COMPLETED"
        pending = client.post("/tap/async", data=query, follow_redirects=False).headers["location"]
    with TestClient(create_app(settings)) as client:
        assert client.get(done + "/phase").text == "COMPLETED"
        assert client.get(done + "/results/result").text.splitlines() == ["n", "50"]
        assert client.get(pending + "/phase").text == "PENDING"
        client.post(pending + "/phase", data={"PHASE": "RUN"})
        assert final_phase(client, pending) == "COMPLETED"


def final_phase(client, url: str, timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    phase = client.get(url + "/phase").text
    while phase in ("PENDING", "QUEUED", "EXECUTING") and time.monotonic() < deadline:
        client.get(url, params={"WAIT": "5", "PHASE": phase})  # UWS 1.1 blocking wait
        phase = client.get(url + "/phase").text
    return phase
