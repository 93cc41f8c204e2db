"""Memory: a skymap too large to fit is refused when its parameters are checked, with a sentence saying the
limit and how to get under it; a job process that goes past its memory limit (RLIMIT_AS) ends in ERROR
saying so, whether Python or C code ran out, and a job under the limit completes."""

from __future__ import annotations

import re
import time

import pytest

from tests.reliability.conftest import start

FINAL = ("COMPLETED", "ERROR", "ABORTED")
# the issue's map: 10 deg of 0.005 deg pixels from 0.05 to 300 TeV (2,000 x 2,000 pixels, 19 bins), 2.3 GB
ISSUE_MAP = {"width": "10", "binsz": "0.005", "e_min": "0.05", "e_max": "300"}
TOO_LARGE = (
    ISSUE_MAP,
    {"width": "10", "binsz": "0.005", "e_min": "1", "e_max": "1.5"},  # 2,000 across in 1 bin: the per-axis bound
    {"width": "4", "binsz": "0.005", "e_min": "0.5", "e_max": "100"},  # 800 across, 12 bins: 7.7 million cells
    {"width": "10", "binsz": "0.01", "e_min": "0.5", "e_max": "100"},  # 1,000 across, 12 bins
)
FITS = (
    {"width": "10", "binsz": "0.01", "e_min": "1", "e_max": "2.5"},  # 1,000 x 1,000 in 2 bins: at the bound
    {"width": "4", "binsz": "0.02", "e_min": "0.5", "e_max": "100"},  # the defaults
)
TARGET = {"obs_ids": "23523,23526", "ra": "83.633", "dec": "22.014"}


def _sentence_ok(text: str) -> bool:
    return ("pixels" in text and "the limit is 1,000 pixels across and 2,000,000 cells" in text
            and "Choose larger pixels (binsz" in text and "Traceback" not in text)


@pytest.mark.timeout(300)
def test_a_skymap_too_large_is_refused_with_a_sentence(portal, cases):
    """At creation (with PHASE=RUN or without), at a parameter change and at RUN: 400 with the limit and the
    way under it (larger pixels, a narrower map, fewer energy bins); maps within the bound are accepted."""
    with portal.client("alice") as client:
        before = client.get("/uws/skymap").text.count("<uws:jobref")
        for params in TOO_LARGE:
            for run in (True, False):
                data = {**TARGET, **params, **({"PHASE": "RUN"} if run else {})}
                response = client.post("/uws/skymap", data=data, follow_redirects=False)
                assert response.status_code == 400, response.text
                assert _sentence_ok(response.text), response.text
                cases()
        refused = client.post("/uws/skymap", data={**TARGET, **ISSUE_MAP}, follow_redirects=False).text
        assert "2,000 x 2,000 pixels" in refused and "19 energy bins" in refused and "76,000,000 cells" in refused
        assert client.get("/uws/skymap").text.count("<uws:jobref") == before  # no job was made

        for params in FITS:  # within the bound: the job exists (PENDING), then goes
            created = client.post("/uws/skymap", data={**TARGET, **params}, follow_redirects=False)
            assert created.status_code == 303, created.text
            job = created.headers["location"]
            cases()
        # a change of parameters that makes it too large is refused, and the job keeps its parameters
        changed = client.post(job + "/parameters", data={"binsz": "0.005"}, follow_redirects=False)
        assert changed.status_code == 400 and _sentence_ok(changed.text), changed.text
        assert re.search(r'id="binsz"[^>]*>0.02<', client.get(job + "/parameters").text)
        cases()
        for url in client.get("/uws/skymap").text.split('xlink:href="')[1:]:
            client.delete(url.split('"')[0])


def _wait(client, url: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    phase = client.get(url + "/phase").text
    while phase not in FINAL and time.monotonic() < deadline:
        client.get(url, params={"WAIT": "10", "PHASE": phase})
        phase = client.get(url + "/phase").text
    return phase


@pytest.mark.slow
@pytest.mark.timeout(600)
def test_a_job_past_its_memory_limit_ends_in_error_saying_so(tmp_path, cases):
    """PORTAL_JOB_MEMORY_LIMIT=1.5 (GiB): 4 GiB taken by Python or by numpy ends in ERROR with "The job ran out
    of its memory limit of 1.5 GiB"; by C code that aborts when malloc fails, in ERROR naming the signal and the
    limit; 200 MiB completes. The limit is published (GET /uws, /uws/capabilities) and recorded in the job's
    provenance."""
    env = {"PORTAL_JOB_MEMORY_LIMIT": "1.5",
           "PORTAL_JOB_DEFINITIONS": "tests.uws.jobs:DEFINITIONS,tests.reliability.memory_jobs:DEFINITIONS"}
    portal = start(tmp_path / "state", env)
    try:
        with portal.client("alice", timeout=120) as client:
            limits = client.get("/uws", params={"format": "json"}).json()["limits"]
            assert limits["memory_limit"] == int(1.5 * 2**30)
            assert "Memory of one job process: 1.5 GiB" in client.get("/uws/capabilities").text
            cases()
            jobs = {}
            for how, mib in (("python", 4096), ("numpy", 4096), ("c", 4096), ("python", 200)):
                created = client.post("/uws/hog", data={"mib": str(mib), "how": how, "PHASE": "RUN"},
                                      follow_redirects=False)
                assert created.status_code == 303, created.text
                jobs[(how, mib)] = created.headers["location"]
            for (how, mib), url in jobs.items():
                phase = _wait(client, url)
                if mib == 200:
                    assert phase == "COMPLETED", client.get(url + "/error").text
                else:
                    assert phase == "ERROR", (how, phase)
                    error = client.get(url + "/error").text
                    if how == "c":  # dead within milliseconds: the sentence names the signal and the limit
                        assert "SIGABRT" in error and "memory limit of 1.5 GiB" in error, error
                    else:
                        assert "The job ran out of its memory limit of 1.5 GiB" in error, (how, error)
                    assert "Traceback" not in error and "MemoryError" not in error, error
                    assert "memory_limit" in client.get(url + "/results/provenance").text
                cases()
    finally:
        portal.server.stop()
