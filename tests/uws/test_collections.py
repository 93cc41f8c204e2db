"""Observations by collection through the job service: H.E.S.S. DR1 and a second release holding two of its runs.

An unqualified obs id that both hold is refused (HTTP 400) when the job is created or its parameters
change; ``<collection>/<obs_id>`` runs on that collection's files, recorded with their collection.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import gammapy_data

pytestmark = pytest.mark.requires_data

A = "alice"
SECOND = "joint-crab-hess"
SHARED = [23523, 23526]  # in both collections
AMBIGUOUS = ("parameter obs_ids: obs id 23523 is in collections hess-dl3-dr1 and joint-crab-hess: "
             "write hess-dl3-dr1/23523 or joint-crab-hess/23523")


@pytest.fixture(scope="module")
def releases(uws, tmp_path_factory) -> dict[str, Path]:
    """DR1 (the session's default dataset: ingested again, which adds nothing) and a copy of two of its
    runs ingested as ``joint-crab-hess``, in the archive of the session's job service."""
    from portal.archive.ingest import ingest_release
    from portal.archive.store import db_path
    from tests.archive.releases import dr1_subset

    dr1 = gammapy_data() / "hess-dl3-dr1"
    db = db_path(uws.data_dir)
    ingest_release(db, dr1)
    ingest_release(db, dr1)  # again: nothing becomes ambiguous
    copy = dr1_subset(dr1, tmp_path_factory.mktemp("second") / "release", SHARED)
    assert ingest_release(db, copy, collection=SECOND) == 2
    return {"hess-dl3-dr1": dr1.resolve(), SECOND: copy.resolve()}


def post(uws, url: str, **data):
    return uws.client.post(url, data=data, headers=uws.headers(A), follow_redirects=False)


def n_jobs(uws) -> int:
    return uws.client.get("/uws/observations", headers=uws.headers(A)).text.count("<uws:jobref")


def test_the_type_is_published(uws):
    response = uws.client.get("/uws", params={"format": "json"}, headers=uws.headers(A))
    [definition] = [d for d in response.json()["definitions"] if d["name"] == "observations"]
    assert definition["parameters"][0]["type"] == "obs-list"
    assert 'type="obs-list"' in uws.client.get("/uws", headers=uws.headers(A)).text


def test_an_ambiguous_obs_id_is_refused_when_the_job_is_created(uws, releases):
    before = n_jobs(uws)
    for data in ({"obs_ids": "23523,23559", "PHASE": "RUN"}, {"obs_ids": "23523"}):
        response = post(uws, "/uws/observations", **data)
        assert response.status_code == 400 and response.text.strip() == AMBIGUOUS
    assert n_jobs(uws) == before  # no job


@pytest.mark.parametrize("value, message", [
    ("dr1/23523", "the archive has no collection 'dr1' (asked for dr1/23523; its collections: hess-dl3-dr1, "
                  "joint-crab-hess)"),
    ("joint-crab-hess/23559", "obs id 23559 is not in collection joint-crab-hess (it is in hess-dl3-dr1)"),
    ("23523,hess-dl3-dr1/23523", "obs id 23523 is given twice (23523 and hess-dl3-dr1/23523): a job takes each "
                                 "observation once, from one collection"),
    ("hess-dl3-dr1/23526,joint-crab-hess/23526", "obs id 23526 is given twice (hess-dl3-dr1/23526 and "
                                                 "joint-crab-hess/23526)"),
])
def test_wrong_collections_and_repeated_runs_are_sentences(uws, releases, value, message):
    response = post(uws, "/uws/observations", obs_ids=value)
    assert response.status_code == 400 and message in response.text, response.text


def test_parameter_updates_are_checked_too(uws, releases):
    url = uws.create(A, "observations", obs_ids="23559")
    response = post(uws, url + "/parameters", obs_ids="23526")
    assert response.status_code == 400
    assert "obs id 23526 is in collections hess-dl3-dr1 and joint-crab-hess: write hess-dl3-dr1/23526 or " \
           "joint-crab-hess/23526" in response.text
    assert {p.id_: str(p.content) for p in uws.job(url).parameters}["obs_ids"] == "23559"
    assert post(uws, url + "/parameters", obs_ids=f"{SECOND}/23526").status_code == 303


def _attribute(entity: dict, name: str):
    value = entity.get(f"portal:{name}")
    return value.get("$") if isinstance(value, dict) else value


def test_qualified_ids_run_on_their_own_release(uws, releases):
    url = uws.create(A, "observations", run=True, obs_ids=f"{SECOND}/23523,23559,hess-dl3-dr1/23526")
    job = uws.wait(url)
    assert job.phase == "COMPLETED", job.errorsummary
    inputs = json.loads(uws.client.get(url + "/results/inputs", headers=uws.headers(A)).content)
    assert inputs["requested"] == inputs["used"] == [23523, 23559, 23526]  # obs ids stay integers
    assert inputs["observations"] == [{"obs_id": 23523, "collection": SECOND, "used": True},
                                      {"obs_id": 23559, "collection": "hess-dl3-dr1", "used": True},
                                      {"obs_id": 23526, "collection": "hess-dl3-dr1", "used": True}]
    record = json.loads(uws.client.get(url + "/results/provenance", headers=uws.headers(A)).content)
    files = {}
    for entity in record["entity"].values():
        location = entity.get("voprov:location")
        if isinstance(location, dict):
            location = location.get("$")
        if _attribute(entity, "collection") is not None:  # relative to the data roots: the release's folder first
            assert not Path(location).is_absolute() and location.split("/")[0] in ("hess-dl3-dr1", "release"), location
        if _attribute(entity, "obs_id") is not None:
            collection = _attribute(entity, "collection")
            files[int(_attribute(entity, "obs_id"))] = ((releases[collection].parent / location).resolve(), collection)
        elif _attribute(entity, "release") is not None:  # index files
            collection = _attribute(entity, "collection")
            assert (releases[collection].parent / location).resolve().parent == releases[collection]
    assert set(files) == {23523, 23559, 23526}
    for obs_id, (path, collection) in files.items():
        assert collection == (SECOND if obs_id == 23523 else "hess-dl3-dr1")
        assert path.is_relative_to(releases[collection]), (obs_id, path)
