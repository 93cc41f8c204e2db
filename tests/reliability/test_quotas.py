"""Per-user quotas of token holders (jobs held, bytes held, jobs queued: 429 with a sentence), published in the
capabilities, and bulk ABORT/DELETE on a job list (the portal's extension), which never touches another
user's jobs. One `portal serve` with small quotas, two users."""

from __future__ import annotations

import re
import time

import pytest

from tests.reliability.conftest import start

MAX_JOBS, MAX_QUEUED, MAX_BYTES = 8, 2, 25_000
ENV = {"PORTAL_UWS_MAX_JOBS_PER_USER": str(MAX_JOBS), "PORTAL_UWS_MAX_QUEUED_PER_USER": str(MAX_QUEUED),
       "PORTAL_UWS_MAX_BYTES_PER_USER": str(MAX_BYTES), "PORTAL_UWS_MAX_RUNNING": "1",
       "PORTAL_UWS_MAX_RUNNING_PER_USER": "1"}
FINAL = ("COMPLETED", "ERROR", "ABORTED")
LONG = {"n": "100000", "interval": "1"}  # a count job that runs until it is stopped
QUERY = {"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"}


@pytest.fixture(scope="module")
def quota_portal(tmp_path_factory):
    started = start(tmp_path_factory.mktemp("quotas"), ENV)
    try:
        yield started
    finally:
        started.server.stop()


def _ids(client, path: str, **params) -> list[str]:
    return re.findall(r'<uws:jobref[^>]*id="([^"]+)"', client.get(path, params=params).text)


def _create(client, path: str, data: dict):
    return client.post(path, data=data, follow_redirects=False)


def _wait(client, url: str, phases=FINAL, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    phase = client.get(url + "/phase").text
    while phase not in phases and time.monotonic() < deadline:
        client.get(url, params={"WAIT": "5", "PHASE": phase})
        phase = client.get(url + "/phase").text
    return phase


def _clear(client, path: str) -> None:
    ids = _ids(client, path)
    if ids:
        assert client.post(path, data={"ACTION": "DELETE", "JOB": ",".join(ids)}).status_code == 200


def _refusal(response, words: str) -> str:
    assert response.status_code == 429, (response.status_code, response.text)
    assert words in response.text and "Traceback" not in response.text, response.text
    return response.text


@pytest.mark.timeout(600)
def test_quotas_answer_429_with_a_sentence(quota_portal, cases):
    """Jobs held (with Retry-After: when the first of them is destroyed), jobs queued (no job left behind),
    bytes held; the same quotas for a token holder's TAP async jobs; another user is not held by them."""
    with quota_portal.client("alice") as alice, quota_portal.client("bob") as bob:
        # jobs held: 8 PENDING jobs, then 429; bob is not held by alice's quota
        for i in range(MAX_JOBS):
            assert _create(alice, "/uws/echo", {"text": str(i)}).status_code == 303
        refused = _create(alice, "/uws/echo", {"text": "one more"})
        _refusal(refused, f"You hold {MAX_JOBS} jobs here, the most one user may hold ({MAX_JOBS})")
        assert "POST ACTION=DELETE" in refused.text
        assert 0 < int(refused.headers["retry-after"]) <= 7 * 86400 + 60
        assert _create(bob, "/uws/echo", {"text": "bob"}).status_code == 303
        cases(3)
        _clear(alice, "/uws/echo")
        assert _create(alice, "/uws/echo", {"text": "again"}).status_code == 303  # room again
        _clear(alice, "/uws/echo")
        _clear(bob, "/uws/echo")
        cases()

        # jobs queued: one running, two waiting, then 429 at creation with PHASE=RUN and at RUN
        running = _create(alice, "/uws/count", {**LONG, "PHASE": "RUN"}).headers["location"]
        assert _wait(alice, running, ("EXECUTING",)) == "EXECUTING"
        for _ in range(MAX_QUEUED):
            assert _create(alice, "/uws/count", {**LONG, "PHASE": "RUN"}).status_code == 303
        held = len(_ids(alice, "/uws/count"))
        _refusal(_create(alice, "/uws/count", {**LONG, "PHASE": "RUN"}),
                 f"You have {MAX_QUEUED} jobs waiting to run (QUEUED), the most one user may have ({MAX_QUEUED})")
        assert len(_ids(alice, "/uws/count")) == held  # the refused job was never made
        pending = _create(alice, "/uws/count", LONG).headers["location"]
        _refusal(alice.post(pending + "/phase", data={"PHASE": "RUN"}, follow_redirects=False), "waiting to run")
        assert alice.get(pending + "/phase").text == "PENDING"
        assert _create(bob, "/uws/count", {"n": "1", "PHASE": "RUN"}).status_code == 303  # bob may queue
        cases(4)
        _clear(alice, "/uws/count")
        _clear(bob, "/uws/count")

        # bytes held: completed jobs' files (results, log, provenance) count; past the quota, 429
        made = 0
        for i in range(MAX_JOBS):
            created = _create(bob, "/uws/echo", {"text": "x" * 1000, "PHASE": "RUN"})
            if created.status_code == 429:
                _refusal(created, f"the most one user may hold is {MAX_BYTES:,}")
                break
            assert created.status_code == 303, created.text
            assert _wait(bob, created.headers["location"]) == "COMPLETED"
            made += 1
        else:
            pytest.fail(f"{MAX_JOBS} echo jobs did not reach {MAX_BYTES} bytes")
        assert made >= 1
        print(f"bytes quota: {made} echo jobs, then 429: {created.text.strip()}")
        assert _create(alice, "/uws/echo", {"text": "alice"}).status_code == 303  # alice is not held by bob's
        _clear(bob, "/uws/echo")
        _clear(alice, "/uws/echo")
        assert _create(bob, "/uws/echo", {"text": "room again"}).status_code == 303
        _clear(bob, "/uws/echo")
        cases(3)

        # TAP async for a token holder: the same quotas (counted in the TAP job service)
        for _ in range(MAX_JOBS):
            assert _create(alice, "/tap/async", QUERY).status_code == 303
        _refusal(_create(alice, "/tap/async", QUERY), f"You hold {MAX_JOBS} jobs here")
        assert _create(bob, "/tap/async", QUERY).status_code == 303
        _clear(alice, "/tap/async")
        _clear(bob, "/tap/async")
        assert _create(alice, "/tap/async", QUERY).status_code == 303
        _clear(alice, "/tap/async")
        cases(3)


@pytest.mark.timeout(120)
def test_quotas_are_published(quota_portal, cases):
    """In the TAP capabilities (as the TAP limits are), the job service's VOSI capabilities and GET /uws."""
    with quota_portal.client("alice") as client, quota_portal.client() as anonymous:
        tap = anonymous.get("/tap/capabilities").text
        assert (f"Each token holder's async jobs: at most {MAX_JOBS} held, at most {MAX_BYTES:,} bytes on disk, "
                f"at most {MAX_QUEUED} waiting to run") in tap
        uws = anonymous.get("/uws/capabilities")
        assert uws.status_code == 200 and 'standardID="ivo://ivoa.net/std/UWS#rest-1.1"' in uws.text
        assert f"at most {MAX_JOBS} held, at most {MAX_BYTES:,} bytes on disk" in uws.text
        limits = client.get("/uws", params={"format": "json"}).json()["limits"]
        assert (limits["max_jobs_per_user"], limits["max_bytes_per_user"], limits["max_queued_per_user"]) == (
            MAX_JOBS, MAX_BYTES, MAX_QUEUED)
        xml = client.get("/uws").text
        assert f'maxJobsPerUser="{MAX_JOBS}"' in xml and f'maxQueuedPerUser="{MAX_QUEUED}"' in xml
        cases(4)


@pytest.mark.timeout(600)
def test_bulk_abort_and_delete_touch_only_the_callers_jobs(quota_portal, cases):
    """POST PHASE=ABORT / ACTION=DELETE with JOB ids to a job list: the caller's jobs named are aborted or
    deleted in one request; bob's ids, ids of another list and made-up ids named by alice are counted as not
    hers and left exactly as they were; anonymous callers cannot act in bulk."""
    with quota_portal.client("alice") as alice, quota_portal.client("bob") as bob, \
            quota_portal.client() as anonymous:
        running = _create(alice, "/uws/count", {**LONG, "PHASE": "RUN"}).headers["location"]
        assert _wait(alice, running, ("EXECUTING",)) == "EXECUTING"
        queued = [_create(alice, "/uws/count", {**LONG, "PHASE": "RUN"}).headers["location"].rsplit("/", 1)[1]
                  for _ in range(MAX_QUEUED)]
        pending = [_create(alice, "/uws/count", LONG).headers["location"].rsplit("/", 1)[1] for _ in range(3)]
        bobs = [_create(bob, "/uws/count", LONG).headers["location"].rsplit("/", 1)[1] for _ in range(3)]
        echo = _create(alice, "/uws/echo", {"text": "other list"}).headers["location"].rsplit("/", 1)[1]
        running_id = running.rsplit("/", 1)[1]
        strangers = [*bobs, echo, "nosuchjob", "../../etc"]

        aborted = alice.post("/uws/count", data={"PHASE": "ABORT", "JOB": [running_id, *queued, *strangers]})
        assert aborted.status_code == 200, aborted.text
        print(f"bulk abort: {aborted.text.strip()}")
        assert aborted.text.startswith(f"Aborted {1 + MAX_QUEUED} jobs; {len(strangers)} of the "), aborted.text
        assert "not jobs of yours in this list" in aborted.text
        for job_id in [running_id, *queued]:
            assert alice.get(f"/uws/count/{job_id}/phase").text == "ABORTED"
        assert _wait(alice, running) == "ABORTED"
        for job_id in bobs:
            assert bob.get(f"/uws/count/{job_id}/phase").text == "PENDING"
        assert alice.get(f"/uws/echo/{echo}/phase").text == "PENDING"
        cases(len(strangers) + 1 + MAX_QUEUED)

        mine = [running_id, *queued, *pending]
        deleted = alice.post("/uws/count", data={"ACTION": "DELETE", "JOB": ",".join(mine + strangers)})
        assert deleted.status_code == 200, deleted.text
        assert deleted.text.startswith(f"Deleted {len(mine)} jobs; {len(strangers)} of the "), deleted.text
        for job_id in mine:
            assert alice.get(f"/uws/count/{job_id}").status_code == 404
            assert not (quota_portal.data_dir / "uws" / "jobs" / job_id).exists()
        assert sorted(_ids(bob, "/uws/count")) == sorted(bobs)  # bob's jobs are all there
        assert alice.get(f"/uws/echo/{echo}").status_code == 200
        cases(len(mine) + len(strangers))

        # bob cannot delete alice's echo job by naming it; anonymous callers cannot act in bulk
        bob_try = bob.post("/uws/echo", data={"ACTION": "DELETE", "JOB": echo})
        assert bob_try.status_code == 200 and bob_try.text.startswith("Deleted 0 jobs; 1 of the 1 ids")
        assert alice.get(f"/uws/echo/{echo}").status_code == 200
        assert anonymous.post("/uws/echo", data={"ACTION": "DELETE", "JOB": echo}).status_code == 401
        tap_job = _create(alice, "/tap/async", QUERY).headers["location"].rsplit("/", 1)[1]
        refused = anonymous.post("/tap/async", data={"ACTION": "DELETE", "JOB": tap_job})
        assert refused.status_code == 400 and "needs a token" in refused.text
        assert alice.get(f"/tap/async/{tap_job}").status_code == 200
        missing = alice.post("/uws/count", data={"ACTION": "DELETE"})
        assert missing.status_code == 400 and "JOB=<id>" in missing.text
        cases(5)
        _clear(alice, "/uws/echo")
        _clear(alice, "/tap/async")
        _clear(bob, "/uws/count")
