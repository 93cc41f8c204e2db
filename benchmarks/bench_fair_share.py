"""Issue 23, point 2: a canary `SELECT TOP 1` while heavy joins try to hold the sync query threads.

Two attacks on a real `portal serve` (4 query threads, the default fair-share limits: 3 per caller):

- 4 anonymous clients (one address) sending 3-way cross joins of ObsCore in a loop, as the probe
  did (14.7 s canary p50 before): the cost check refuses them before they run;
- the heaviest still accepted: 4 clients of one token holder sending the same join (token holders
  are not cost-checked); the per-caller cap runs 3, the fourth waits 10 s and gets 429; the canary
  has the one thread left.

The canary is another caller (bob's token), measured for ``BENCH_FAIR_SECONDS`` (default 12) per attack.
"""

from __future__ import annotations

import os
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx

from benchmarks import report
from benchmarks.measure import median, percentile
from tests.reliability.conftest import start

SECONDS = float(os.environ.get("BENCH_FAIR_SECONDS", "12"))
HEAVY = ("SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c "
         "WHERE a.s_ra + b.s_dec > c.s_ra")
CANARY = {"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"}


def _attack(portal, attacker: str | None, label: str) -> None:
    stop = threading.Event()
    statuses: Counter = Counter()

    def heavy():
        # the attacker gives up (closes its connection) after the measurement: the server stops its query
        with portal.client(attacker, timeout=SECONDS + 3) as client:
            while not stop.is_set():
                try:
                    statuses[client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": HEAVY}).status_code] += 1
                except httpx.TimeoutException:
                    statuses["held to the end"] += 1
                except httpx.HTTPError:
                    statuses["error"] += 1
    threads = [threading.Thread(target=heavy, daemon=True) for _ in range(4)]
    for t in threads:
        t.start()
    time.sleep(1.0)  # the attack is under way
    times, failed = [], 0
    with portal.client("bob", timeout=120) as client:
        end = time.monotonic() + SECONDS
        while time.monotonic() < end:
            t0 = time.perf_counter()
            failed += client.post("/tap/sync", data=CANARY).status_code != 200
            times.append(time.perf_counter() - t0)
            time.sleep(0.1)
    stop.set()
    load = os.getloadavg()[0]
    for t in threads:
        t.join(timeout=SECONDS + 10)
    p99 = percentile(times, 99)
    report(f"{label}: canary SELECT TOP 1 p50", median(times) * 1000, "ms")
    report(f"{label}: canary SELECT TOP 1 p99 (was 14.7 s p50)", p99 * 1000, "ms", goal="<= 1000 ms", met=p99 <= 1.0)
    report(f"{label}: canary errors / queries", failed, f"of {len(times)}", goal="0", met=failed == 0)
    report(f"{label}: heavy query answers " + ", ".join(f"{k}: {v}" for k, v in sorted(statuses.items(), key=str)),
           sum(statuses.values()), "answers")
    report(f"{label}: machine load (1 min)", load, "")


def run() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        portal = start(Path(tmp) / "state", {"PORTAL_TAP_QUERY_THREADS": "4", "PORTAL_TAP_SYNC_TIMEOUT": "60"})
        try:
            _attack(portal, None, "4 anonymous 3-way cross joins")
            _attack(portal, "alice", "4 cross joins of one token holder")
        finally:
            portal.server.stop()
