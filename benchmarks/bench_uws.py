"""The job service over HTTP against a real `portal serve` (LocalCluster executor).

- submission to EXECUTING: POST with PHASE=RUN, then a blocking GET (WAIT, PHASE=QUEUED) until the
  phase is no longer QUEUED; p50 and p95 over warm runs (the cluster and the job processes' server
  are warm); also the server's own creationTime-to-startTime;
- listing 10,000 jobs of one user: the first request after the jobs were stored (every job
  reference rendered by vo-models), then the p50 after a change elsewhere in the store (the list
  is rebuilt from the store, references come from the render cache) and unchanged (served from the
  service's list cache, as a polling monitor sees it);
- 20 jobs submitted at once with a running limit of 4: all complete, and the largest number
  executing at one instant (from their start and end times) stays within the limit;
- 200 QUEUED jobs of one user aborted and deleted: one by one (PHASE=ABORT then DELETE on each job,
  following the redirects as a UWS client does), then with the portal's bulk extension (one POST
  PHASE=ABORT and one POST ACTION=DELETE to the job list, naming the 200 with JOB).

The test job definitions (tests.uws.jobs) stand in for analyses, so that the service's own
overhead is what is measured. The machine is shared: figures taken while others run are noisy.
"""

from __future__ import annotations

import io
import os
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import httpx
from pyvo.io.uws import parse_job, parse_job_list

from benchmarks import report
from benchmarks.measure import median, percentile
from portal.auth import TokenStore, token_path
from portal.uws.models import ExecutionPhase, Job, utcnow
from portal.uws.store import JobStore
from tests.support.servers import start_portal

LIMIT = 4
ENV = {
    "PORTAL_JOB_DEFINITIONS": "tests.uws.jobs:DEFINITIONS",
    "PORTAL_UWS_MAX_RUNNING": str(LIMIT),
    "PORTAL_UWS_MAX_RUNNING_PER_USER": str(LIMIT),
    "PORTAL_DEFAULT_DATASET": "none",  # an empty archive is enough: no ingest, download or simulation
    "PORTAL_UWS_MAX_QUEUED_PER_USER": "1000",  # the bulk figure queues 200 jobs (the default quota is 50)
    "PORTAL_UWS_MAX_JOBS_PER_USER": "1000",
}
BULK = 200
FINAL = {"COMPLETED", "ERROR", "ABORTED"}


def _job(client: httpx.Client, url: str, **params):
    return parse_job(io.BytesIO(client.get(url, params=params).content))


def _wait(client, url, phases, timeout=300):
    deadline = time.monotonic() + timeout
    job = _job(client, url)
    while job.phase not in phases:
        if time.monotonic() > deadline:
            raise TimeoutError(f"{url} still {job.phase}")
        job = _job(client, url, WAIT=10, PHASE=job.phase)
    return job


def _submit(client, **data) -> str:
    response = client.post("/uws/count", data={**data, "PHASE": "RUN"}, follow_redirects=False)
    if response.status_code != 303:
        raise RuntimeError(f"job creation failed: {response.status_code} {response.text}")
    return response.headers["location"]


def _to_executing(client) -> tuple[float, float]:
    """Seconds from the POST to seeing EXECUTING, and the server's own creation-to-start time."""
    started = time.perf_counter()
    url = _submit(client, n="4", interval="0.05")
    job = _job(client, url, WAIT=10, PHASE="QUEUED")  # PHASE=RUN left it QUEUED (or further already)
    while job.phase in ("PENDING", "QUEUED"):
        job = _job(client, url, WAIT=10, PHASE=job.phase)
    elapsed = time.perf_counter() - started
    done = _wait(client, url, FINAL)
    return elapsed, (done.starttime - done.creationtime).to_value("s")


def _max_concurrency(jobs) -> int:
    edges = sorted([(j.starttime.unix, 1) for j in jobs] + [(j.endtime.unix, -1) for j in jobs],
                   key=lambda e: (e[0], e[1]))
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    return peak


def _listing(server, data: Path, other: httpx.Client, n: int = 10_000) -> dict[str, float]:
    """Listing n jobs: the first request, after a change elsewhere (rebuilt from the store), and
    unchanged (a monitor polling: served from the service's cache)."""
    token = TokenStore(token_path(data)).create("lister")
    now = utcnow()
    store = JobStore(data / "uws" / "jobs.sqlite")
    store.add_many(Job(f"bench{i:06d}", "echo", "lister", ExecutionPhase.COMPLETED, (("text", str(i)),),
                       now - timedelta(seconds=i), 60, now + timedelta(days=1)) for i in range(n))
    store.close()
    touch = other.post("/uws/echo", data={"text": "touch"}, follow_redirects=False).headers["location"]
    client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
    started = time.perf_counter()
    first = client.get("/uws/echo")
    cold = time.perf_counter() - started
    assert len(parse_job_list(io.BytesIO(first.content))) == n
    fresh, handler, cached = [], [], []
    for i in range(10):
        other.post(touch + "/destruction", data={"DESTRUCTION": f"2030-01-{i + 1:02d}T00:00:00Z"})
        started = time.perf_counter()
        response = client.get("/uws/echo")
        response.raise_for_status()
        fresh.append(time.perf_counter() - started)
        handler.append(float(response.headers["server-timing"].split("dur=")[1]) / 1000)
        started = time.perf_counter()
        client.get("/uws/echo").raise_for_status()
        cached.append(time.perf_counter() - started)
    return {"cold": cold, "fresh": median(fresh), "handler": median(handler), "cached": median(cached)}


def _abort_and_delete(client) -> tuple[float, float]:
    """Seconds to abort and delete BULK queued jobs one by one, then BULK others with the bulk extension."""
    blockers = [_submit(client, n="100000", interval="1") for _ in range(LIMIT)]  # every running slot taken
    for url in blockers:
        _wait(client, url, {"EXECUTING"})
    seconds = []
    for bulk in (False, True):
        urls = [_submit(client, n="5", interval="1") for _ in range(BULK)]
        started = time.perf_counter()
        if bulk:
            ids = [url.rsplit("/", 1)[1] for url in urls]
            client.post("/uws/count", data={"PHASE": "ABORT", "JOB": ids}).raise_for_status()
            client.post("/uws/count", data={"ACTION": "DELETE", "JOB": ids}).raise_for_status()
        else:
            for url in urls:
                client.post(url + "/phase", data={"PHASE": "ABORT"}, follow_redirects=True)
                client.delete(url, follow_redirects=True)
        seconds.append(time.perf_counter() - started)
    for url in blockers:
        client.delete(url)
    return seconds[0], seconds[1]


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        token = TokenStore(token_path(data)).create("bench")
        server = start_portal(data, ENV)
        try:
            client = httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120)
            for _ in range(3):  # warm: the cluster, the job-process server and its imports
                _to_executing(client)
            measured = [_to_executing(client) for _ in range(20)]
            latencies = [m[0] for m in measured]
            server_side = [m[1] for m in measured]

            started = time.perf_counter()
            with ThreadPoolExecutor(20) as pool:
                urls = list(pool.map(lambda _: _submit(client, n="10", interval="0.1"), range(20)))
            jobs = [_wait(client, url, FINAL) for url in urls]
            burst = time.perf_counter() - started
            completed = sum(j.phase == "COMPLETED" for j in jobs)
            peak = _max_concurrency(jobs)

            listing = _listing(server, data, client)
            one_by_one, bulk = _abort_and_delete(client)
        finally:
            server.stop()
    p50 = percentile(latencies, 50)
    load = os.getloadavg()[0]
    report("machine load average (1 min) at the end, for context", load, "",
           goal=f"{os.cpu_count()} cores: figures are noisy above that")
    report("submission to EXECUTING, p50 (warm local cluster)", p50 * 1000, "ms",
           goal="<= 200 ms", met=p50 <= 0.2)
    report("submission to EXECUTING, p95", percentile(latencies, 95) * 1000, "ms")
    report("creationTime to startTime in the job record, p50 (server side)",
           percentile(server_side, 50) * 1000, "ms")
    report("list 10,000 jobs after a change elsewhere (rebuilt from the store), p50",
           listing["fresh"] * 1000, "ms", goal="<= 100 ms", met=listing["fresh"] <= 0.1)
    report("  the same, time in the handler (Server-Timing), p50", listing["handler"] * 1000, "ms")
    report("list 10,000 jobs unchanged (a monitor polling), p50", listing["cached"] * 1000, "ms")
    report("list 10,000 jobs, first request after they were stored", listing["cold"] * 1000, "ms")
    report("20 concurrent 1 s jobs: completed", completed, "jobs", goal="20", met=completed == 20)
    report(f"20 concurrent jobs: most executing at once (limit {LIMIT})", peak, "jobs",
           goal=f"<= {LIMIT}", met=peak <= LIMIT)
    report("20 concurrent 1 s jobs: wall time", burst, "s",
           goal=f">= {20 // LIMIT} s (the limit serialises them)")
    report(f"{BULK} queued jobs aborted and deleted one by one (ABORT, DELETE, redirects followed)", one_by_one, "s")
    report(f"{BULK} queued jobs aborted and deleted in bulk (2 requests)", bulk, "s",
           goal="<= 1 s (the issue saw 194 s one by one)", met=bulk <= 1)


if __name__ == "__main__":
    run()
