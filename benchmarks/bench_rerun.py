"""A `spectrum` job re-run with another model on the same observations and reduction choices (issue 22).

Crab, H.E.S.S. DR1 runs 23523, 23526, 23559, 23592, 8 flux points from 1 to 30 TeV, sensitivity off (the
default), through `portal serve` with its reduction cache on (:mod:`portal.jobs.reduction_cache`). Each round
runs a first job (power law) on reduction choices no earlier job used (the target moved by 0.001 deg per round,
so the cache has nothing for it), then the same observations and choices with a log-parabola: the re-run
reads every observation's reduction back; and, to see the cache's own share, the log-parabola on choices no
job used (the target 0.001 deg the other way: it reduces). Both are timed by the widget library's client from the POST
with PHASE=RUN to the job saying COMPLETED (blocking WAIT); the figure is the re-run against the first job (p50
over the rounds), and the reduction stage alone (the service's progress: RUN to the fit starting) of each.
Usage: ``python -m benchmarks rerun``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from benchmarks import report
from benchmarks.measure import median

CRAB = {"obs_ids": [23523, 23526, 23559, 23592], "ra": 83.633, "dec": 22.014, "on_radius": 0.11, "model": "pl",
        "e_min": 1.0, "e_max": 30.0, "n_bins": 8, "sensitivity": False}
GOAL = 0.2  # issue 22: RUN -> COMPLETED of the re-run against the first job
ROUNDS = int(os.environ.get("BENCH_RERUN_ROUNDS", "2"))


def _job(client, params: dict) -> dict:
    from tests.support.watch import run_and_watch

    load = os.getloadavg()[0]
    watched = run_and_watch(client, "spectrum", params, watch=["model"])
    if watched.phase != "COMPLETED":
        raise RuntimeError(f"the spectrum job ended {watched.phase}: {watched.error}")
    model = watched.first("model")
    return {"job_s": watched.finished - watched.submitted, "model_s": model.seconds if model else float("nan"),
            "load": (load + os.getloadavg()[0]) / 2, "log": _log(client, watched)}


def _fit_and_points_s(log: str) -> float:
    """Seconds from the observations being ready (the log's "Observations used") to the last flux point: the
    fit and flux points of the job's model, which a re-run with another model must compute again."""
    from datetime import datetime

    def at(line: str) -> datetime:
        return datetime.strptime(line[:23], "%Y-%m-%d %H:%M:%S,%f")

    lines = log.splitlines()
    ready = next(at(line) for line in lines if "Observations used" in line)
    last = [at(line) for line in lines if "Flux point " in line][-1]
    return (last - ready).total_seconds()


def _log(client, watched) -> str:
    from tests.support.watch import result

    return result(client, watched, "log").decode(errors="replace")


def run() -> None:
    if not os.environ.get("GAMMAPY_DATA"):
        raise RuntimeError("bench_rerun needs $GAMMAPY_DATA (H.E.S.S. DR1)")
    from portal.archive.ingest import ingest_release
    from portal.archive.store import db_path
    from tests.support.servers import create_token, start_portal
    from tests.support.watch import run_and_watch
    from widgets.client import PortalClient

    first, again, cold_lp = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        ingest_release(db_path(Path(tmp)), Path(os.environ["GAMMAPY_DATA"]) / "hess-dl3-dr1")
        server = start_portal(Path(tmp))
        try:
            client = PortalClient(server.url, create_token(Path(tmp), "bench"))
            run_and_watch(client, "spectrum", {**CRAB, "obs_ids": [1]})  # the Dask cluster is up
            for i in range(ROUNDS):
                params = {**CRAB, "ra": CRAB["ra"] + 0.001 * (i + 1)}
                first.append(_job(client, params))
                again.append(_job(client, {**params, "model": "lp"}))
                cold_lp.append(_job(client, {**params, "model": "lp", "ra": CRAB["ra"] - 0.001 * (i + 1)}))
            client.close()
        finally:
            server.stop()
    reused = [r["log"].count("reduction reused (cache)") for r in again]
    cold = [r["log"].count(": reduced") for r in first]
    first_s, again_s = median([r["job_s"] for r in first]), median([r["job_s"] for r in again])
    ratio = median([b["job_s"] / a["job_s"] for a, b in zip(first, again)])
    loads = [r["load"] for r in first + again + cold_lp]
    report(f"first spectrum job (pl, cold reduction cache), RUN to COMPLETED, p50 of {len(first)}", first_s, "s")
    report(f"re-run with another model (lp), same observations and choices, p50 of {len(again)}", again_s, "s")
    report("re-run with another model, RUN -> COMPLETED, against the first job", ratio, "ratio", goal=f"<= {GOAL}",
           met=ratio <= GOAL)
    report("RUN to the model published (reduction + fit): re-run against the first job",
           median([b["model_s"] / a["model_s"] for a, b in zip(first, again)]), "ratio")
    report("floor: the re-run's own fit and flux points (its log: observations ready -> last flux point) against "
           "the first job", median([_fit_and_points_s(b["log"]) / a["job_s"] for a, b in zip(first, again)]), "ratio")
    report("re-run (lp, reductions from the cache) against the same lp job reducing (0.001 deg away, cold)",
           median([b["job_s"] / c["job_s"] for b, c in zip(again, cold_lp)]), "ratio")
    report("observations each first job reduced (of 4, fewest)", min(cold), "count")
    report("observations each re-run read from the reduction cache (of 4, fewest)", min(reused), "count")
    report(f"machine load (1-min load average) during the runs on {os.cpu_count()} cores: {min(loads):.1f} to",
           max(loads), "load")
