"""Archive data: simulation time of the default simulated dataset; DataLink and coverage response times.

- Simulation: the default simulated dataset (16 CTAO-like runs of 28 min, four sources), written
  and indexed, with the prod5 IRFs when ``$GAMMAPY_DATA/cta-caldb`` is there (parametric otherwise),
  on the default 2 worker processes.
- DataLink: ``portal serve`` on H.E.S.S. DR1 (``$GAMMAPY_DATA``); ``GET /datalink?ID=...`` over HTTP
  for random observations, the first request of each observation (cold: its files' HDU layouts are
  read) and repeated ones (warm), p50 and p95, with the ratio to ``/tap/availability`` (the bare
  HTTP stack) in the same run. Also a single-HDU file download and the coverage MOC.

The machine is shared: other processes add noise to every figure.
"""

from __future__ import annotations

import os
import random
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

import httpx

from benchmarks import report
from benchmarks.measure import median, percentile

GROUP = "data"


def _timed(client: httpx.Client, url: str, n: int = 1) -> list[float]:
    out = []
    for _ in range(n):
        t0 = time.perf_counter()
        response = client.get(url)
        out.append(time.perf_counter() - t0)
        response.raise_for_status()
    return out


def _simulation(gammapy_data: Path | None) -> None:
    from portal.datasets.simulate import simulate_release

    caldb = gammapy_data / "cta-caldb" if gammapy_data else None
    with tempfile.TemporaryDirectory() as tmp:
        result = simulate_release(Path(tmp) / "sim", caldb=caldb)
    irfs = "prod5" if "prod5" in " ".join(result.irf_origin.values()) else "parametric"
    report(f"simulate default dataset ({result.n_obs} runs, {irfs} IRFs, 2 workers)", result.seconds, "s",
           goal="< 180 s on 2 cores (first `portal serve` offline)", met=result.seconds < 180)
    report("simulated events per second", result.n_events / result.seconds, "events/s")


def _wait_for_rows(url: str, n: int, timeout: float = 300) -> None:
    query = {"REQUEST": "doQuery", "LANG": "ADQL", "RESPONSEFORMAT": "csv",
             "QUERY": "SELECT COUNT(*) AS n FROM ivoa.obscore"}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            lines = httpx.get(url + "/tap/sync", params=query, timeout=10).text.split()
            if len(lines) > 1 and int(float(lines[1])) >= n:
                return
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(0.5)
    raise RuntimeError(f"the archive did not reach {n} rows within {timeout} s")


def _datalink(gammapy_data: Path) -> None:
    from tests.support.servers import start_portal

    with tempfile.TemporaryDirectory() as tmp:
        server = start_portal(Path(tmp), env={"GAMMAPY_DATA": str(gammapy_data)})
        try:
            _wait_for_rows(server.url, 105)
            ids = [f"ivo://gamma-portal/archive?hess-dl3-dr1/{n}" for n in _dr1_obs_ids(gammapy_data)]
            rng = random.Random(1)
            rng.shuffle(ids)
            with httpx.Client(base_url=server.url, timeout=30) as client:
                baseline = _timed(client, "/tap/availability", 50)
                cold = [_timed(client, f"/datalink?ID={quote(i, safe='')}")[0] for i in ids[:40]]
                warm = [_timed(client, f"/datalink?ID={quote(i, safe='')}")[0] for i in rng.choices(ids[:40], k=200)]
                hdu = [_timed(client, f"/data?ID={quote(i, safe='')}&HDU=events")[0] for i in ids[40:60]]
                moc_first = _timed(client, "/coverage/moc.json")[0]
                moc = _timed(client, "/coverage/moc.json", 20)
        finally:
            server.stop()
    p50, p95 = percentile(warm, 50), percentile(warm, 95)
    base = median(baseline)
    report("GET /datalink, warm, p50", p50 * 1e3, "ms", goal="<= 50 ms", met=p50 <= 0.05)
    report("GET /datalink, warm, p95", p95 * 1e3, "ms")
    report("GET /datalink, first request of an observation, p50", percentile(cold, 50) * 1e3, "ms")
    report("GET /datalink, first request of an observation, p95", percentile(cold, 95) * 1e3, "ms")
    report("GET /datalink warm p50 / GET /tap/availability p50", p50 / base, "ratio")
    report("GET /data events HDU (first cut-out), p50", percentile(hdu, 50) * 1e3, "ms")
    report("GET /coverage/moc.json, first (build, 105 footprints)", moc_first * 1e3, "ms")
    report("GET /coverage/moc.json, cached, p50", median(moc) * 1e3, "ms")


def _dr1_obs_ids(gammapy_data: Path) -> list[int]:
    from astropy.table import Table

    return [int(i) for i in Table.read(gammapy_data / "hess-dl3-dr1" / "obs-index.fits.gz")["OBS_ID"]]


def run() -> None:
    value = os.environ.get("GAMMAPY_DATA")
    gammapy_data = Path(value) if value and Path(value).is_dir() else None
    _simulation(gammapy_data)
    if gammapy_data is not None:
        _datalink(gammapy_data)
