"""The job monitor says a running job's stage as the job reports it (its UWS jobInfo, through the client and the
JobHandle): in the job's line of the list and in its detail, kept current, and where it stopped once aborted."""

from __future__ import annotations

import re

import pytest

from widgets.background import Background
from widgets.client import PortalClient
from widgets.client.uws import Progress
from widgets.jobs.handle import describe_progress
from widgets.jobs.monitor import JobMonitor
from widgets.jobs.monitor_state import MonitorState

COUNTING = re.compile(r"counting (\d+) of 100000")


@pytest.fixture(scope="module")
def client(portal_server, portal_token):
    c = PortalClient(portal_server.url, portal_token)
    yield c
    c.close()


def test_stages_in_words():
    assert describe_progress(Progress("reducing", 3, 4, 20.0)) == "reducing 3 of 4 observations, about 20 s left"
    assert describe_progress(Progress("fitting")) == "fitting"
    assert describe_progress(Progress("flux points", 5, 8, 400.0)) == "flux point 5 of 8, about 7 min left"
    assert describe_progress(Progress("flux points", 8, 8, 0.0)) == "flux point 8 of 8"
    assert describe_progress(Progress("light-curve bins", 1, 3, 9000.0)) == "light-curve bin 1 of 3, about 2.5 h left"
    assert describe_progress(Progress("counting", 2, 9, 3.0), running=False) == "counting 2 of 9"
    assert describe_progress(Progress("reading", 4)) == "reading: 4 done"
    assert describe_progress(None) == ""


def test_the_monitor_shows_the_stage_of_a_running_job(client):
    bg = Background()
    url = client.uws.create("count", {"n": 100000, "interval": 0.2}, run=True, run_id="m-progress")
    job_id = url.rsplit("/", 1)[-1]
    state = MonitorState(client, bg, kinds=["count"], wait=10, auto_refresh=0)
    monitor = JobMonitor(client, state=state, background=True)

    def line() -> str:
        return next((label for label, value in monitor._list.options if value == job_id), "")

    def counted(text: str) -> int:
        found = COUNTING.search(text)
        return int(found.group(1)) if found else -1

    try:
        assert bg.wait_until(lambda: "EXECUTING" in line() and counted(line()) > 0, timeout=120), line()
        first = counted(line())
        assert bg.wait_until(lambda: counted(line()) > first, timeout=60), line()  # redrawn as the job counts
        monitor.select(job_id)
        header = monitor.detail._header
        assert bg.wait_until(lambda: counted(header.value) > 0 and "left" in header.value, timeout=60), header.value
        assert "portal-job-progress" in header.value
        client.uws.abort(url)
        assert bg.wait_until(lambda: "ABORTED" in line(), timeout=60), line()
        assert "counting" not in line()  # a line says the stage of running jobs only
        assert bg.wait_until(lambda: "stopped while counting" in header.value, timeout=60), header.value
        assert "left" not in header.value
    finally:
        monitor.close()
        client.uws.abort(url)
