"""The figures of the hardening work (issue 16), measured on real `portal serve` processes.

- the reliability suite (tests/reliability: inputs, SSRF, traversal, ownership, kill -9 and
  restart, concurrency) run as tests, reporting its case counts and failures;
- 10,000 hypothesis ADQL cases (random seed, unlike the suite's fixed 1,000): server errors and
  whether the archive's checksum changed;
- 50 concurrent TAP clients x 20 cone queries: p50, p99 (goal <= 1 s) and errors;
- the query that once took 11.6 GB (a 3-way cross join, SELECT *, CSV, MAXREC=1,000,000): its
  time, the bytes answered, and the server's peak memory;
- a client that disconnects from a heavy query: the server's CPU time in the seconds after;
- `SELECT TOP 1` while 30 uploads by URL are held open by the remote end (it took 25.7 s before).

The archive is H.E.S.S. DR1 (with $GAMMAPY_DATA) and 500 synthetic rows, as in the suite.

``BENCH_RELIABILITY_PARTS`` runs only some parts (comma-separated: ``suite``, ``cones``, ``heavy``,
``disconnect``, ``fuzz``, ``uploads``; all by default), e.g. ``BENCH_RELIABILITY_PARTS=cones python -m
benchmarks reliability`` for the concurrent cone queries alone.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import numpy as np

from benchmarks import report
from benchmarks.measure import median, percentile
from tests.reliability.adql_strategies import fuzz
from tests.reliability.conftest import archive_digest, start
from tests.support.servers import REPO

FUZZ_CASES = int(os.environ.get("BENCH_FUZZ_CASES", "10000"))
ALL_PARTS = ("suite", "cones", "heavy", "disconnect", "fuzz", "uploads")
PARTS = [p.strip() for p in os.environ.get("BENCH_RELIABILITY_PARTS", ",".join(ALL_PARTS)).split(",") if p.strip()]
CONE = ("SELECT obs_id, s_ra, s_dec, target_name FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
        "CIRCLE('ICRS', {ra:.3f}, {dec:.3f}, 3))")
CROSS = "SELECT * FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c"
SLOW = ("SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, "
        "TAP_SCHEMA.columns AS d WHERE a.s_ra + b.s_dec > c.s_ra + d.column_index")


def _proc_status(pid: int, key: str) -> float:
    """A /proc/<pid>/status value in MiB (VmHWM: peak resident memory, VmRSS: now)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1]) / 1024
    raise KeyError(key)


def _cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _suite() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "reliability.json"
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "tests/reliability", "-q", "-p", "no:cacheprovider"],
                              cwd=REPO, env={**os.environ, "RELIABILITY_REPORT": str(out)},
                              capture_output=True, text=True)
        seconds = time.perf_counter() - started
        found = json.loads(out.read_text()) if out.exists() else {"cases": {}, "outcomes": {}}
    failed = [name for name, outcome in found["outcomes"].items() if outcome != "passed"]
    if done.returncode and not failed:
        failed = ["(pytest failed: " + done.stdout[-300:] + ")"]
    for name, n in sorted(found["cases"].items()):
        outcome = found["outcomes"].get(name, "?")
        report(f"suite: {name}", n, "cases", goal="passes", met=outcome == "passed")
    report("reliability suite: tests failed", len(failed), "tests", goal="0", met=not failed)
    report("reliability suite: wall time", seconds, "s")


def _fuzz(portal) -> None:
    before = archive_digest(portal.data_dir)
    started = time.perf_counter()
    tally = fuzz(portal.url, FUZZ_CASES, derandomize=False)
    seconds = time.perf_counter() - started
    report(f"hypothesis ADQL cases run (random seed; goal {FUZZ_CASES:,})", tally["cases"], "cases",
           goal=f">= {FUZZ_CASES:,}", met=tally["cases"] >= FUZZ_CASES)
    report("  of which server errors (5xx, or a 400 without a readable message)", len(tally["server_errors"]),
           "cases", goal="0", met=not tally["server_errors"])
    report("  answered with a result / refused with a message", tally["ok"] / max(1, tally["refused"]), "ratio")
    changed = archive_digest(portal.data_dir) != before
    report("  archive checksum changed", int(changed), "", goal="0 (unchanged)", met=not changed)
    report("  time per case (HTTP, one client)", seconds / max(1, tally["cases"]) * 1000, "ms")


def _concurrent_cones(portal, clients: int = 50, queries: int = 20) -> None:
    rng = np.random.default_rng(7)
    centres = [(rng.uniform(0, 360), float(np.degrees(np.arcsin(rng.uniform(-1, 1))))) for _ in range(clients * queries)]
    times: list[float] = []
    errors: list[str] = []

    def client_run(k: int) -> None:
        with httpx.Client(base_url=portal.url, timeout=120) as client:
            client.get("/tap/availability")  # connected before the clock starts
            for ra, dec in centres[k * queries:(k + 1) * queries]:
                t0 = time.perf_counter()
                response = client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": CONE.format(ra=ra, dec=dec)})
                times.append(time.perf_counter() - t0)
                if response.status_code != 200:
                    errors.append(response.text[-200:])
    with ThreadPoolExecutor(clients) as pool:
        list(pool.map(client_run, range(clients)))
    p99 = percentile(times, 99)
    report(f"{clients} concurrent clients x {queries} cone queries: errors", len(errors), "queries", goal="0",
           met=not errors)
    report(f"{clients} concurrent clients x {queries} cone queries: p50", median(times) * 1000, "ms")
    report(f"{clients} concurrent clients x {queries} cone queries: p99", p99 * 1000, "ms", goal="<= 1000 ms",
           met=p99 <= 1.0)


def _heavy_query(portal) -> None:
    pid = portal.server.proc.pid
    rss = _proc_status(pid, "VmRSS")
    started = time.perf_counter()
    response = httpx.post(portal.url + "/tap/sync", data={"LANG": "ADQL", "QUERY": CROSS, "FORMAT": "csv",
                                                          "MAXREC": "1000000"}, timeout=600)
    seconds = time.perf_counter() - started
    peak = _proc_status(pid, "VmHWM")
    report("3-way cross join SELECT *, CSV, MAXREC=1e6 (once 11.6 GB, minutes): status", response.status_code, "",
           goal="200 or 400", met=response.status_code in (200, 400))
    report("  its time", seconds, "s", goal="<= 65 s (the 60 s limit covers writing)", met=seconds <= 65)
    report("  bytes answered", len(response.content) / 1e6, "MB", goal="<= 100 MB (output cap)",
           met=len(response.content) <= 100_000_000)
    report("  server peak memory (VmHWM) / before the query", peak, "MiB", goal="<= 2048 MiB", met=peak <= 2048)
    report("  server memory before the query (VmRSS)", rss, "MiB")


def _disconnect(portal, window: float = 3.0) -> None:
    pid = portal.server.proc.pid
    idle0 = _cpu_seconds(pid)
    time.sleep(window)
    idle = _cpu_seconds(pid) - idle0
    try:
        httpx.post(portal.url + "/tap/sync", data={"LANG": "ADQL", "QUERY": SLOW}, timeout=1.5)
    except httpx.TimeoutException:
        pass  # the client gives up and closes its connection
    time.sleep(1.0)  # the server notices within its poll interval (0.25 s) and the next budget check
    cpu0 = _cpu_seconds(pid)
    time.sleep(window)
    after = _cpu_seconds(pid) - cpu0
    report(f"server CPU in the {window:g} s after a client left a heavy query", after, "s",
           goal=f"<= {idle + 0.3:.2f} s (idle {idle:.2f} s + 0.3)", met=after <= idle + 0.3)


def _held_uploads(held: int = 30) -> None:
    from tests.reliability.helper_server import Helper

    helper = Helper("127.0.0.1")
    with tempfile.TemporaryDirectory() as tmp:
        portal = start(Path(tmp) / "state", {"PORTAL_TAP_UPLOAD_HOSTS": "127.0.0.1", "PORTAL_TAP_UPLOAD_DEADLINE": "120",
                                             "PORTAL_TAP_UPLOAD_TRUSTED_NETWORKS": "127.0.0.1/32"})
        query = {"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"}
        try:
            with httpx.Client(base_url=portal.url, timeout=120) as client:
                base = []
                for _ in range(20):
                    t0 = time.perf_counter()
                    client.get("/tap/sync", params=query).raise_for_status()
                    base.append(time.perf_counter() - t0)

                def hold():
                    with httpx.Client(base_url=portal.url, timeout=300) as c:
                        return c.post("/tap/sync", data={**query, "QUERY": "SELECT * FROM TAP_UPLOAD.t",
                                                         "UPLOAD": f"t,{helper.url}/hold"}).status_code
                with ThreadPoolExecutor(held) as pool:
                    pending = [pool.submit(hold) for _ in range(held)]
                    deadline = time.monotonic() + 120
                    while helper.holding < held and time.monotonic() < deadline:
                        time.sleep(0.05)
                    loaded = []
                    for _ in range(20):
                        t0 = time.perf_counter()
                        client.get("/tap/sync", params=query).raise_for_status()
                        loaded.append(time.perf_counter() - t0)
                    holding = helper.holding
                    helper.release()
                    [f.result() for f in pending]
        finally:
            portal.server.stop()
            helper.close()
    report(f"SELECT TOP 1 while {holding} URL uploads are held open (was 25.7 s): max of 20", max(loaded), "s",
           goal="<= 1 s", met=max(loaded) <= 1 and holding == held)
    report("  the same unloaded, max of 20", max(base), "s")


def run() -> None:
    unknown = set(PARTS) - set(ALL_PARTS)
    if unknown:
        raise ValueError(f"BENCH_RELIABILITY_PARTS: no part {', '.join(sorted(unknown))}; the parts: {', '.join(ALL_PARTS)}")
    if "suite" in PARTS:
        _suite()
    on_server = [(name, fn) for name, fn in (("cones", _concurrent_cones), ("heavy", _heavy_query),
                                             ("disconnect", _disconnect), ("fuzz", _fuzz)) if name in PARTS]
    if on_server:
        with tempfile.TemporaryDirectory() as tmp:
            portal = start(Path(tmp) / "state", {"PORTAL_TAP_SYNC_TIMEOUT": "60"})
            try:
                for _name, fn in on_server:
                    fn(portal)
            finally:
                portal.server.stop()
    if "uploads" in PARTS:
        _held_uploads()
