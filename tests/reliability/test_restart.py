"""`kill -9` of `portal serve` with UWS and TAP async jobs in every phase, then a restart on the same
state: no job lost, none stuck in EXECUTING, the queued ones run, and the jobs the restart ended
(ERROR, saying why) keep their partial results and have a provenance record."""

from __future__ import annotations

import json
import time

import pytest

from tests.reliability.conftest import BASE_ENV, Portal, start
from tests.support.servers import start_portal

ENV = {"PORTAL_UWS_MAX_RUNNING": "1", "PORTAL_UWS_MAX_RUNNING_PER_USER": "1"}
SLOW = ("SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, "
        "TAP_SCHEMA.columns AS d WHERE a.s_ra + b.s_dec > c.s_ra + d.column_index")
FINAL = ("COMPLETED", "ERROR", "ABORTED")


def phase_of(client, url: str) -> str:
    response = client.get(url + "/phase")
    assert response.status_code == 200, (url, response.status_code, response.text)
    return response.text


def wait_phase(client, url: str, phases, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    phase = phase_of(client, url)
    while phase not in phases:
        assert time.monotonic() < deadline, f"{url} still {phase}"
        client.get(url, params={"WAIT": "5", "PHASE": phase})
        phase = phase_of(client, url)
    return phase


def uws_jobs(client) -> dict[str, str]:
    def create(list_, **data):
        response = client.post(f"/uws/{list_}", data=data, follow_redirects=False)
        assert response.status_code == 303, response.text
        return response.headers["location"]
    jobs = {"COMPLETED": create("echo", text="kept", PHASE="RUN")}
    wait_phase(client, jobs["COMPLETED"], FINAL)
    jobs["ERROR"] = create("count", n="1", interval="0", fail="usage", PHASE="RUN")
    wait_phase(client, jobs["ERROR"], FINAL)
    jobs["ABORTED"] = create("count", n="100000", interval="0.05", PHASE="RUN")
    wait_phase(client, jobs["ABORTED"], ("EXECUTING",) + FINAL)
    client.post(jobs["ABORTED"] + "/phase", data={"PHASE": "ABORT"})
    wait_phase(client, jobs["ABORTED"], FINAL)
    jobs["PENDING"] = create("echo", text="later")
    jobs["EXECUTING"] = create("count", n="100000", interval="0.05", PHASE="RUN")
    wait_phase(client, jobs["EXECUTING"], ("EXECUTING",))
    deadline = time.monotonic() + 60
    while "counter" not in client.get(jobs["EXECUTING"] + "/results").text:  # a partial result is out
        assert time.monotonic() < deadline
        time.sleep(0.1)
    jobs["QUEUED"] = create("echo", text="queued", PHASE="RUN")  # the single running slot is taken
    return jobs


def tap_jobs(client) -> dict[str, str]:
    def create(query, run=True):
        data = {"LANG": "ADQL", "QUERY": query, **({"PHASE": "RUN"} if run else {})}
        response = client.post("/tap/async", data=data, follow_redirects=False)
        assert response.status_code == 303, response.text
        return response.headers["location"]
    jobs = {"COMPLETED": create("SELECT TOP 3 obs_id FROM ivoa.obscore")}
    wait_phase(client, jobs["COMPLETED"], FINAL)
    jobs["ERROR"] = create("SELECT nope FROM ivoa.obscore")
    wait_phase(client, jobs["ERROR"], FINAL)
    jobs["ABORTED"] = create(SLOW)
    wait_phase(client, jobs["ABORTED"], ("EXECUTING",))
    client.post(jobs["ABORTED"] + "/phase", data={"PHASE": "ABORT"})
    wait_phase(client, jobs["ABORTED"], FINAL)
    jobs["PENDING"] = create("SELECT 1 FROM TAP_SCHEMA.schemas", run=False)
    for i in range(4):  # every running slot of TAP async
        jobs[f"EXECUTING{i}"] = create(SLOW)
    for i in range(4):
        wait_phase(client, jobs[f"EXECUTING{i}"], ("EXECUTING",))
    jobs["QUEUED"] = create("SELECT COUNT(*) AS n FROM ivoa.obscore")
    return jobs


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_kill_9_with_jobs_in_every_phase_then_restart(tmp_path, cases):
    first = start(tmp_path / "state", ENV)
    try:
        with first.client("alice") as alice, first.client() as anonymous:
            uws = uws_jobs(alice)
            tap = tap_jobs(anonymous)
            before = {**{("uws", k): phase_of(alice, u) for k, u in uws.items()},
                      **{("tap", k): phase_of(anonymous, u) for k, u in tap.items()}}
    finally:
        first.server.kill()  # SIGKILL: no clean-up at all
    assert {k: v for (_, k), v in before.items() if k.startswith("QUEUED")} == {"QUEUED": "QUEUED"}
    assert sum(v == "EXECUTING" for v in before.values()) == 5

    again = start_portal(first.data_dir, {**BASE_ENV, **ENV})
    try:
        restarted = Portal(again, first.data_dir, first.tokens, first.has_dr1)
        with restarted.client("alice") as alice, restarted.client() as anonymous:
            found = {}
            for (kind, name), phase in before.items():
                url = (uws if kind == "uws" else tap)[name].replace(first.url, again.url)
                client = alice if kind == "uws" else anonymous
                found[(kind, name)] = wait_phase(client, url, FINAL) if phase in ("QUEUED", "EXECUTING") else \
                    phase_of(client, url)
                cases()
            lost = [k for k, v in before.items() if v in FINAL + ("PENDING",) and found[k] != v]
            assert lost == [], lost
            assert all(found[k] == "COMPLETED" for k in before if k[1] == "QUEUED")
            ended = [k for k, v in before.items() if v == "EXECUTING"]
            for kind, name in ended:
                url = (uws if kind == "uws" else tap)[name].replace(first.url, again.url)
                client = alice if kind == "uws" else anonymous
                assert found[(kind, name)] == "ERROR"
                assert "stopped while this job was executing" in client.get(url + "/error").text
                results = client.get(url + "/results").text
                assert 'id="provenance"' in results, results
                record = json.loads(client.get(url + "/results/provenance").content)
                assert any("ERROR" in json.dumps(a) for a in record.get("activity", {}).values())
                if kind == "uws":
                    assert 'id="counter"' in results  # the partial result is kept and listed
                cases()
            stuck = [k for k in before if phase_of(alice if k[0] == "uws" else anonymous,
                                                  (uws if k[0] == "uws" else tap)[k[1]].replace(first.url, again.url))
                     == "EXECUTING"]
            assert stuck == []
            print(f"restart: {len(before)} jobs, 0 lost, 0 stuck EXECUTING, {len(ended)} ended with provenance")
    finally:
        again.stop()
