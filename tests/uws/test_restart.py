"""`portal serve` killed mid-job and started again: every job is kept; the queued one runs; the one
that was executing ends in ERROR saying why; its process did not outlive the server."""

from __future__ import annotations

import io
import json
import time

import httpx
import pytest
from pyvo.io.uws import parse_job

from portal.auth import TokenStore, token_path
from tests.support.servers import start_portal
from tests.uws.test_execution import alive, wait_for

ENV = {
    "PORTAL_JOB_DEFINITIONS": "tests.uws.jobs:DEFINITIONS",
    "PORTAL_UWS_MAX_RUNNING": "1",
    "PORTAL_UWS_MAX_RUNNING_PER_USER": "1",
    "PORTAL_DASK_WORKERS": "1",
    "PORTAL_DEFAULT_DATASET": "none",  # an empty archive is enough: no ingest, download or simulation
}


def job(client: httpx.Client, url: str, **params):
    response = client.get(url, params=params)
    assert response.status_code == 200, response.text
    return parse_job(io.BytesIO(response.content))


def wait(client, url, phases, timeout=180):
    deadline = time.monotonic() + timeout
    current = job(client, url)
    while current.phase not in phases:
        assert time.monotonic() < deadline, f"{url} still {current.phase}"
        current = job(client, url, WAIT=5, PHASE=current.phase)
    return current


def create(client, job_list, **data) -> str:
    response = client.post(f"/uws/{job_list}", data=data, follow_redirects=False)
    assert response.status_code == 303, response.text
    return response.headers["location"]


@pytest.mark.slow
def test_kill_and_restart(tmp_path):
    data = tmp_path / "state"
    data.mkdir()
    headers = {"Authorization": f"Bearer {TokenStore(token_path(data)).create('alice')}"}
    server = start_portal(data, ENV)
    try:
        client = httpx.Client(base_url=server.url, headers=headers, timeout=60)
        done = create(client, "echo", text="kept", PHASE="RUN")
        assert wait(client, done, {"COMPLETED", "ERROR"}).phase == "COMPLETED"
        pending = create(client, "echo", text="later")
        running = create(client, "count", n="100000", interval="0.05", PHASE="RUN")
        wait(client, running, {"EXECUTING"})
        queued = create(client, "echo", text="queued", PHASE="RUN")
        assert job(client, queued).phase == "QUEUED"  # the single running slot is taken
        folder = data / "uws" / "jobs" / running.rsplit("/", 1)[1]
        wait_for(lambda: (folder / "pid.txt").exists() and (folder / "count.txt").exists(), timeout=60)
        pid = int((folder / "pid.txt").read_text())
    finally:
        server.kill()  # SIGKILL: no clean-up
    wait_for(lambda: not alive(pid), timeout=30)  # the job's process did not outlive the server

    again = start_portal(data, ENV)
    try:
        client = httpx.Client(base_url=again.url, headers=headers, timeout=60)
        lost = job(client, running.replace(server.url, again.url))
        assert lost.phase == "ERROR"
        assert "stopped while this job was executing" in str(lost.errorsummary.message.content)
        later = wait(client, queued.replace(server.url, again.url), {"COMPLETED", "ERROR"})
        assert later.phase == "COMPLETED"
        assert job(client, pending.replace(server.url, again.url)).phase == "PENDING"
        kept = job(client, done.replace(server.url, again.url))
        assert kept.phase == "COMPLETED"
        echo = client.get(done.replace(server.url, again.url) + "/results/echo")
        assert json.loads(echo.content)["text"] == "kept"
    finally:
        again.stop()
