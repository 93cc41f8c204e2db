"""The job widgets against a real `portal serve`, measured in the kernel's terms (no browser):

- submit click -> the job shown QUEUED or EXECUTING in the monitor's state (launcher and monitor
  connected, background work on, the loop driven by this process as a kernel would);
- a phase change on the server (an ABORT sent by another client) -> the monitor's handle shows it;
- requests per minute for 20 idle followed jobs (WAIT-bound: 2 per job per minute with WAIT=30 s),
  against what polling once a second would cost.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from pathlib import Path

from benchmarks.measure import Measure, percentile
from tests.support.servers import create_token, start_portal
from widgets.background import Background
from widgets.client import PortalClient
from widgets.jobs.form import LauncherState
from widgets.jobs.launcher import JobLauncher
from widgets.jobs.monitor import JobMonitor
from widgets.jobs.monitor_state import MonitorState
from widgets.links import connect

ENV = {"PORTAL_JOB_DEFINITIONS": "tests.uws.jobs:DEFINITIONS", "PORTAL_DEFAULT_DATASET": "none",
       "PORTAL_UWS_MAX_RUNNING": "4", "PORTAL_UWS_MAX_RUNNING_PER_USER": "4"}
IDLE_JOBS = 20
IDLE_SECONDS = 120.0


def _submit_to_shown(client: PortalClient, bg: Background, n: int = 12) -> list[float]:
    monitor = JobMonitor(client, state=MonitorState(client, bg, kinds=["count", "echo"], auto_refresh=0))
    launcher = JobLauncher(client=client, state=LauncherState(client, "echo", background=bg))
    links = connect(launcher=launcher, monitor=monitor)
    bg.wait_until(lambda: launcher.state.definitions and monitor.state.status == "idle", 60)
    times = []
    try:
        for i in range(n):
            launcher.values = {"text": f"bench {i}"}
            started = time.perf_counter()
            launcher._submit.click()
            ok = bg.wait_until(lambda: monitor.jobs and monitor.jobs[0].parameters.get("text") == f"bench {i}" and
                               monitor.jobs[0].phase in ("QUEUED", "EXECUTING", "COMPLETED"), 60, step=0.001)
            if ok:
                times.append(time.perf_counter() - started)
            bg.wait_until(lambda: monitor.jobs[0].final, 60)
    finally:
        links.unlink()
        monitor.close()
    return times[2:]  # the first ones warm the cluster and the job processes


def _phase_to_monitor(client: PortalClient, other: PortalClient, bg: Background, n: int = 12) -> list[float]:
    monitor = JobMonitor(client, state=MonitorState(client, bg, kinds=["count"], auto_refresh=0))
    bg.wait_until(lambda: monitor.state.status == "idle", 60)
    times = []
    try:
        for _ in range(n):
            url = other.uws.create("count", {"n": 100000, "interval": 0.05}, run=True)
            monitor.state.refresh(background=False)
            job = monitor.state.find(url.rsplit("/", 1)[-1])
            bg.wait_until(lambda: job.phase == "EXECUTING", 60)
            time.sleep(1.0)  # the follower is blocked in its WAIT again
            sender = threading.Thread(target=other.uws.abort, args=(url,))
            asked = time.perf_counter()  # an upper bound: includes the ABORT request itself
            sender.start()
            bg.wait_until(lambda: job.phase == "ABORTED", 60, step=0.001)
            times.append(time.perf_counter() - asked)
            sender.join()
    finally:
        monitor.close()
    return times


def _idle_requests(client: PortalClient, bg: Background) -> tuple[float, int]:
    urls = [client.uws.create("echo", {"text": f"idle {i}"}) for i in range(IDLE_JOBS)]  # PENDING: active, idle
    monitor = JobMonitor(client, state=MonitorState(client, bg, kinds=["echo"], auto_refresh=60))
    try:
        bg.wait_until(lambda: sum(j.followed for j in monitor.jobs if j.url in urls) == IDLE_JOBS, 60)
        bg.wait_until(lambda: False, 5)  # let every follower send its first WAIT
        before, started = client.requests, time.monotonic()
        bg.wait_until(lambda: time.monotonic() - started >= IDLE_SECONDS, IDLE_SECONDS + 30)
        spent = client.requests - before
        minutes = (time.monotonic() - started) / 60
    finally:
        monitor.close()
        for url in urls:
            client.uws.delete(url)
    return spent / minutes, IDLE_JOBS


def run() -> list[Measure]:
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp)
        server = start_portal(data, ENV)
        try:
            client = PortalClient(server.url, create_token(data, "bench"))
            other = PortalClient(server.url, create_token(data, "bench"))
            bg = Background()
            shown = _submit_to_shown(client, bg)
            phases = _phase_to_monitor(client, other, bg)
            idle_client = PortalClient(server.url, create_token(data, "idle"))
            per_minute, jobs = _idle_requests(idle_client, bg)
        finally:
            server.stop()
    polling = jobs * 60.0  # what polling each job once a second would cost
    return [
        Measure("job widgets", "machine load average (1 min) at the end, for context", os.getloadavg()[0], ""),
        Measure("job widgets", "submit click -> job shown QUEUED/EXECUTING in the monitor, p50",
                percentile(shown, 50) * 1000, "ms", goal="<= 300 ms", met=percentile(shown, 50) <= 0.3),
        Measure("job widgets", "  the same, p95", percentile(shown, 95) * 1000, "ms"),
        Measure("job widgets", "phase change on the server -> monitor state, p50", percentile(phases, 50) * 1000,
                "ms", goal="<= 200 ms", met=percentile(phases, 50) <= 0.2),
        Measure("job widgets", "  the same, p95", percentile(phases, 95) * 1000, "ms"),
        Measure("job widgets", f"requests per minute, {jobs} idle followed jobs", per_minute, "req/min",
                goal=f"WAIT-bound: about {2 * jobs} + list refreshes", met=per_minute <= 2 * jobs + 5),
        Measure("job widgets", "  as a fraction of polling each job once a second", per_minute / polling, "",
                goal="<= 0.05", met=per_minute / polling <= 0.05),
    ]


if __name__ == "__main__":
    from benchmarks.__main__ import format_table

    print(format_table(run()))
