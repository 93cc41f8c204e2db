"""Publishing a job's products into the archive, end to end against `portal serve` with H.E.S.S. DR1.

Alice runs a small spectrum job on two Crab runs and publishes it. Then, over TAP with pyvo: a cone on
the Crab finds its sed row; its DataLink gives the flux points, the provenance (PROV-JSON, PROV-N) and the
observations; provenance.used joined to provenance.entity names DR1's Crab files by obs id. Bob and
anonymous callers see it only once it is public. Unpublishing removes the rows and leaves the job as it
was; a product outlives its job; a job run with publish=true is published when it completes.
"""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest
import requests

from tests.archive.conftest import CRAB, DR1, GAMMAPY_DATA
from tests.support.servers import create_token, start_portal

pyvo = pytest.importorskip("pyvo")
pytestmark = [pytest.mark.requires_data, pytest.mark.slow,
              pytest.mark.skipif(not (DR1 / "obs-index.fits.gz").is_file(), reason="needs H.E.S.S. DR1")]

RUNS = "23523,23526"
PARAMS = {"obs_ids": RUNS, "ra": str(CRAB[0]), "dec": str(CRAB[1]), "n_bins": "2", "e_min": "1", "e_max": "10"}
CONE = ("SELECT obs_publisher_did, dataproduct_type, calib_level, target_name, t_min, t_max, energy_min, "
        "energy_max, access_url, s_region FROM ivoa.obscore WHERE dataproduct_type = 'sed' AND "
        f"1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {CRAB[0]}, {CRAB[1]}, 0.2))")
USED = ("SELECT DISTINCT e.obs_id, e.obs_collection, e.name, e.sha256, o.obs_publisher_did "
        "FROM provenance.used AS u JOIN provenance.entity AS e ON e.id = u.entity_id "
        "JOIN ivoa.obscore AS o ON o.obs_publisher_did = e.obs_publisher_did ORDER BY e.obs_id")


class Portal:
    def __init__(self, server, tokens):
        self.server, self.tokens = server, tokens

    def headers(self, user):
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def client(self, user=None) -> httpx.Client:
        return httpx.Client(base_url=self.server.url, headers=self.headers(user), timeout=120)

    def tap(self, user=None):
        session = requests.Session()
        session.headers.update(self.headers(user))
        return pyvo.dal.TAPService(self.server.url + "/tap", session=session), session

    def query(self, adql: str, user=None):
        service, _ = self.tap(user)
        return service.run_sync(adql).to_table()


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    data_dir = tmp_path_factory.mktemp("publish")
    server = start_portal(data_dir, env={"GAMMAPY_DATA": str(GAMMAPY_DATA), "PORTAL_DASK_WORKERS": "1"})
    try:
        deadline = time.monotonic() + 300
        while "archive ready" not in httpx.get(server.url + "/tap/availability").text:
            assert time.monotonic() < deadline, "the archive was not ingested in time"
            time.sleep(0.3)
        yield Portal(server, {u: create_token(data_dir, u) for u in ("alice", "bob")})
    finally:
        server.stop()


def run_job(client: httpx.Client, params: dict) -> str:
    response = client.post("/uws/spectrum", data={**params, "PHASE": "RUN"}, follow_redirects=False)
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    phase = client.get(url + "/phase").text
    deadline = time.monotonic() + 900
    while phase in ("PENDING", "QUEUED", "EXECUTING"):
        assert time.monotonic() < deadline, "the job did not finish in time"
        client.get(url, params={"WAIT": "30", "PHASE": phase})
        phase = client.get(url + "/phase").text
    assert phase == "COMPLETED", client.get(url + "/error").text
    return url


@pytest.fixture(scope="module")
def job(portal):
    with portal.client("alice") as alice:
        return run_job(alice, PARAMS)


def test_a_private_product_is_its_owners_only(portal, job):
    with portal.client("alice") as alice, portal.client("bob") as bob, portal.client() as anonymous:
        assert alice.get(job + "/publish").text == "unpublished"
        response = alice.post(job + "/publish")
        assert response.status_code == 200 and response.text == "private"
        # the ownership rule of every job resource: for others the job does not exist
        for method in ("GET", "POST", "DELETE"):
            assert bob.request(method, job + "/publish").status_code == 404
            assert anonymous.request(method, job + "/publish").status_code == 401
        assert alice.post(job + "/publish", data={"VISIBILITY": "secret"}).status_code == 400
    rows = portal.query(CONE, "alice")
    assert len(rows) == 1
    row = rows[0]
    assert row["dataproduct_type"] == "sed" and row["calib_level"] == 4 and "Crab" in row["target_name"]
    assert 53340 < row["t_min"] < row["t_max"] < 53350  # the two runs of December 2004
    assert (row["energy_min"], row["energy_max"]) == (1.0, 10.0)
    assert row["s_region"].startswith("CIRCLE ICRS 83.633")
    for user in ("bob", None):
        assert len(portal.query(CONE, user)) == 0
        assert len(portal.query("SELECT * FROM provenance.entity", user)) == 0
        assert len(portal.query("SELECT * FROM ivoa.obscore WHERE calib_level = 4", user)) == 0


def test_datalink_gives_files_provenance_and_progenitors(portal, job):
    row = portal.query(CONE, "alice")[0]
    _, session = portal.tap("alice")
    links = pyvo.dal.adhoc.DatalinkResults.from_result_url(row["access_url"], session=session)
    by_semantics = {}
    for link in links:
        assert not link["error_message"], link["error_message"]
        by_semantics.setdefault(link["semantics"], []).append(link)
    assert len(by_semantics["#this"]) == 1 and len(by_semantics["#provenance"]) == 2
    assert len(by_semantics["#progenitor"]) == 2 and {"#auxiliary"} <= set(by_semantics)
    points = session.get(by_semantics["#this"][0]["access_url"])
    assert points.status_code == 200 and points.content.startswith(b"SIMPLE")
    from astropy.table import Table

    assert len(Table.read(io.BytesIO(points.content), hdu="FLUXPOINTS")) == 2
    records = {link["local_semantics"]: session.get(link["access_url"]) for link in by_semantics["#provenance"]}
    assert "wasGeneratedBy" in json.loads(records["prov-json"].text) and "document" in records["prov-n"].text
    for link in by_semantics["#progenitor"]:
        observation = pyvo.dal.adhoc.DatalinkResults.from_result_url(link["access_url"])
        assert any(r["semantics"] == "#this" and not r["error_message"] for r in observation)
    # another user: the product does not exist, nor do its files
    other = requests.get(row["access_url"])
    assert b"NotFoundFault" in other.content
    assert requests.get(by_semantics["#this"][0]["access_url"]).status_code == 404


def test_provenance_names_the_crab_files_by_obs_id(portal, job):
    rows = portal.query(USED, "alice")
    dl3 = [r for r in rows if str(r["name"]).startswith("hess_dl3_dr1_obs_id")]
    assert [str(r["obs_id"]) for r in dl3] == ["23523", "23526"]
    assert all(r["obs_collection"] == "hess-dl3-dr1" and len(r["sha256"]) == 64 for r in dl3)
    assert all(r["obs_publisher_did"].endswith(f"hess-dl3-dr1/{r['obs_id']}") for r in dl3)
    params = portal.query("SELECT p.name, p.param_value FROM provenance.parameter AS p JOIN provenance.activity "
                          f"AS a ON a.id = p.activity_id WHERE a.job_id = '{job.rsplit('/', 1)[-1]}'", "alice")
    assert {(r["name"], r["param_value"]) for r in params} >= {("obs_ids", RUNS), ("n_bins", "2")}


def test_others_see_it_once_public_and_unpublish_leaves_the_job(portal, job):
    with portal.client("alice") as alice:
        before = alice.get(job).text
        assert alice.post(job + "/publish", data={"VISIBILITY": "public"}).text == "public"
        for user in ("bob", None):
            assert len(portal.query(CONE, user)) == 1
            assert len(portal.query(USED, user)) >= 2
        assert alice.post(job + "/publish", data={"VISIBILITY": "private"}).text == "private"
        assert len(portal.query(CONE, "bob")) == 0 and len(portal.query(CONE)) == 0
        assert alice.delete(job + "/publish").status_code == 200
        assert alice.get(job + "/publish").text == "unpublished"
        assert len(portal.query(CONE, "alice")) == 0
        assert len(portal.query("SELECT * FROM provenance.activity", "alice")) == 0
        after = alice.get(job)
        assert after.status_code == 200 and after.text == before  # the job is untouched
        assert alice.get(job + "/results/flux_points").status_code == 200


def test_a_product_outlives_its_job(portal):
    with portal.client("alice") as alice:
        url = run_job(alice, {**PARAMS, "publish": "true"})  # published (privately) when it completes
        deadline = time.monotonic() + 60
        while alice.get(url + "/publish").text != "private":
            assert time.monotonic() < deadline, "the job was not published when it completed"
            time.sleep(0.2)
        assert alice.post(url + "/publish", data={"VISIBILITY": "public"}).text == "public"
        assert alice.delete(url, follow_redirects=False).status_code == 303
        assert alice.get(url).status_code == 404
    job_id = url.rsplit("/", 1)[-1]
    rows = [r for r in portal.query(CONE) if job_id in r["obs_publisher_did"]]
    assert len(rows) == 1
    links = pyvo.dal.adhoc.DatalinkResults.from_result_url(rows[0]["access_url"])
    this = next(link for link in links if link["semantics"] == "#this")
    assert requests.get(this["access_url"]).content.startswith(b"SIMPLE")
