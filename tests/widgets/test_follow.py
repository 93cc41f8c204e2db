"""Following jobs: every change reaches the handle on the loop's thread, and idle jobs cost one WAIT per period."""

from __future__ import annotations

import threading
import time

import pytest

from widgets.background import Background
from widgets.client import PortalClient
from widgets.jobs.handle import JobHandle


@pytest.fixture(scope="module")
def client(portal_server, portal_token):
    c = PortalClient(portal_server.url, portal_token)
    yield c
    c.close()


def test_a_followed_job_changes_only_on_the_loop_thread(client):
    bg = Background()
    url = client.uws.create("count", {"n": 4, "interval": 0.3}, run=True)
    job = JobHandle(url, client, background=bg)
    threads, phases, counters = set(), [], []
    job.observe(lambda c: (threads.add(threading.get_ident()), phases.append(c["new"])), "phase")
    job.observe(lambda c: counters.append(c["new"].get("counter")), "results")
    job.follow(wait=10)
    assert bg.wait_until(lambda: job.phase == "COMPLETED", timeout=120), job.phase
    assert threads == {threading.get_ident()}  # never from the follower's thread
    assert phases[-1] == "COMPLETED" and "EXECUTING" in phases
    assert job.version >= 4  # several published counters came one by one, not only the phases
    assert "total" in job.results and job.result("total") == b'{"count": 4}'
    assert not job.followed or bg.wait_until(lambda: not job.followed, timeout=10)


def test_an_idle_followed_job_costs_one_request_per_wait_period(client):
    bg = Background()
    url = client.uws.create("echo", {"text": "idle"})  # PENDING: active, and nothing happens to it
    job = JobHandle(url, client, background=bg).follow(wait=2)
    try:
        assert bg.wait_until(lambda: job.phase == "PENDING", timeout=30)
        follower = job._follower
        start, begun = follower.requests, time.monotonic()
        bg.wait_until(lambda: time.monotonic() - begun > 7, timeout=30)  # watch it for 7 s
        spent = follower.requests - start
        assert 1 <= spent <= 7 / 2 + 1, spent  # WAIT-bound: at most one per 2 s period
        client.uws.run(url)
        assert bg.wait_until(lambda: job.phase == "COMPLETED", timeout=120)  # and a change still wakes it
    finally:
        job.unfollow()


def test_a_deleted_job_says_so(client):
    bg = Background()
    url = client.uws.create("echo", {"text": "bye"})
    job = JobHandle(url, client, background=bg).refresh().follow(wait=30)
    client.uws.delete(url)
    assert bg.wait_until(lambda: job.gone, timeout=60)
    assert "no longer exists" in job.message


def test_a_service_that_ignores_wait_is_polled_with_back_off():
    """A UWS 1.1 service that answers WAIT at once and sends no ETag: the follower backs off (1, 2, 4 s...)
    instead of spinning, and still sees the job end."""
    import httpx

    from widgets.jobs import follow

    calls = []

    def job(phase):
        return (f'<?xml version="1.0"?><uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" version="1.1">'
                f"<uws:jobId>j1</uws:jobId><uws:phase>{phase}</uws:phase></uws:job>").encode()

    def handler(request):
        calls.append(time.monotonic())
        return httpx.Response(200, content=job("COMPLETED" if len(calls) > 5 else "EXECUTING"))

    bg = Background()
    plain = PortalClient("http://uws.example", token="t", transport=httpx.MockTransport(handler))
    handle = JobHandle("http://uws.example/uws/thing/j1", plain, background=bg).follow(wait=30)
    assert bg.wait_until(lambda: handle.phase == "COMPLETED", timeout=120)
    gaps = [b - a for a, b in zip(calls[1:], calls[2:])]
    assert len(calls) == 6 and all(g >= follow.MIN_BACKOFF * 0.9 for g in gaps), gaps
    assert gaps[-1] >= 2 * gaps[0] * 0.9  # backing off, not a fixed rate


def test_a_follower_whose_client_is_closed_stops_quietly(portal_server, portal_token):
    """A notebook (or a test) that closes its client while a job is followed: the follower ends, and nothing
    fails inside the background helper (it raised "the client has been closed" before)."""
    own = PortalClient(portal_server.url, portal_token)
    bg = Background()
    url = own.uws.create("echo", {"text": "left behind"})  # PENDING: the follower waits on it
    job = JobHandle(url, own, background=bg).follow(wait=2)
    assert bg.wait_until(lambda: job.phase == "PENDING", timeout=30)
    thread = job._follower._thread
    own.close()
    assert own.closed
    thread.join(timeout=30)
    assert not thread.is_alive()
