"""Parallel pieces of an analysis: the same results as the serial run, workers that end with the job."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from concurrent.futures.process import BrokenProcessPool

import numpy as np
import pytest

from portal.jobs.parallel import run_unordered
from tests.jobs.conftest import PKS2155, PKS2155_RUNS

log = logging.getLogger("tests.jobs.parallel")
RTOL = 1e-6
FLUX_POINT_COLUMNS = ("norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "norm_sensitivity", "ts", "stat",
                      "stat_scan", "npred", "npred_excess", "counts", "dnde_ref")


def _square(shared, item):
    return shared * item * item


def _fail_on_two(shared, item):
    if item == 2:
        raise ValueError("item 2 cannot be done")
    return item


def _die_on_one(shared, item):
    if item == 1:
        os.kill(os.getpid(), signal.SIGKILL)
    return item


def test_every_item_once_with_the_shared_state():
    assert sorted(run_unordered(_square, 3, range(5), processes=2)) == [(i, 3 * i * i) for i in range(5)]
    assert list(run_unordered(_square, 3, range(5), processes=1)) == [(i, 3 * i * i) for i in range(5)]


def test_a_failing_item_raises_its_error():
    with pytest.raises(ValueError, match="item 2 cannot be done"):
        list(run_unordered(_fail_on_two, None, range(4), processes=2))


def test_a_worker_that_dies_is_an_error_not_a_hang():
    with pytest.raises(BrokenProcessPool):
        list(run_unordered(_die_on_one, None, range(4), processes=2))


WORKERS_OF_A_KILLED_JOB = """
import os, sys, time
from portal.jobs.parallel import run_unordered
def work(shared, item):
    os.write(1, f"{os.getpid()}\\n".encode())  # one write: the two workers' lines cannot interleave
    time.sleep(600)
for _ in run_unordered(work, None, [0, 1], processes=2):
    pass
"""


def test_workers_end_when_their_job_process_is_killed():
    """Like a job process the supervisor kills: its workers must not go on (PR_SET_PDEATHSIG)."""
    job = subprocess.Popen([sys.executable, "-c", WORKERS_OF_A_KILLED_JOB], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True)
    try:
        lines = [job.stdout.readline().strip() for _ in range(2)]
        assert all(lines), f"the job's workers did not start: {lines}, {job.poll()=}, {job.stderr.read()[-2000:]}"
        workers = [int(line) for line in lines]
        os.kill(job.pid, signal.SIGKILL)  # the job process only, not its group
        job.wait(timeout=30)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and any(_alive(pid) for pid in workers):
            time.sleep(0.1)
        assert not any(_alive(pid) for pid in workers)
    finally:
        job.kill()
        job.wait()


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as handle:
            return handle.read().split()[2] != "Z"
    except FileNotFoundError:
        return False


@pytest.mark.requires_data
def test_parallel_flux_points_equal_the_serial_ones(crab_spectrum):
    from portal.jobs.fluxpoints import estimate_flux_points
    from portal.jobs.spectrum import SOURCE

    serial, seen_serial = crab_spectrum  # computed in this process, bin after bin
    edges = serial.flux_points.energy_axis.edges
    seen = []
    parallel = estimate_flux_points(serial.datasets, SOURCE, edges, processes=2, log=log, sensitivity=True,
                                    on_flux_point=lambda points, done, total: seen.append((points, done)))
    for name in FLUX_POINT_COLUMNS:
        np.testing.assert_allclose(getattr(parallel, name).data, getattr(serial.flux_points, name).data, rtol=RTOL,
                                   err_msg=name)
    # every estimate comes before any sensitivity: the whole SED first, the sensitivities fill in after
    # (tasks start in order, so when a sensitivity ends, at most one estimate, on the other process, is running)
    done = [d for _, d in seen]
    sensitivities = [int(np.isfinite(p.norm_sensitivity.data).sum()) for p, _ in seen]
    assert len(seen) == 8 and done == sorted(done) and done[-1] == 4
    assert sensitivities == sorted(sensitivities) and sensitivities[-1] == 4
    assert [d + n for d, n in zip(done, sensitivities)] == list(range(1, 9))  # one task more each time
    assert done[sensitivities.index(1)] >= 3
    for points, d in seen:  # every version is a whole SED: the bins so far, NaN for the others
        assert points.energy_axis.nbin == 4 and np.isfinite(points.norm.data).sum() == d


@pytest.mark.requires_data
def test_parallel_reduction_equals_the_serial_one(crab_observations, crab_spectrum):
    from portal.jobs.binning import binning_of
    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import OnOffOptions, reduce_1d
    from tests.jobs.conftest import CRAB

    serial = crab_spectrum[0].datasets
    reduction, _ = reduce_1d(crab_observations, target_coord(*CRAB), binning_of(1.0, 30.0, 4), OnOffOptions(), None,
                             processes=2, on_reduced=None, log=log)
    assert [d.name for d in reduction.datasets] == [d.name for d in serial]
    for ours, theirs in zip(reduction.datasets, serial, strict=True):
        for name in ("counts", "counts_off", "exposure", "acceptance", "acceptance_off", "mask_safe"):
            np.testing.assert_allclose(getattr(ours, name).data, getattr(theirs, name).data, rtol=RTOL, err_msg=name)
        np.testing.assert_allclose(ours.edisp.edisp_map.data, theirs.edisp.edisp_map.data, rtol=RTOL)


@pytest.mark.requires_data
def test_parallel_light_curve_equals_the_serial_one(data_store):
    from portal.jobs.lightcurve import analyse_lightcurve
    from portal.jobs.observations import target_coord

    observations = data_store.get_observations(PKS2155_RUNS, required_irf=["aeff", "edisp"])
    kwargs = {"e_min": 0.7, "e_max": 100.0, "time_bin": "night", "log": log}
    serial = analyse_lightcurve(observations, target_coord(*PKS2155), processes=1, **kwargs).lightcurve
    parallel = analyse_lightcurve(observations, target_coord(*PKS2155), processes=2, **kwargs).lightcurve
    assert parallel.geom.axes["time"].nbin == serial.geom.axes["time"].nbin == 3
    for name in ("norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "ts", "dnde_ref"):
        np.testing.assert_allclose(getattr(parallel, name).data, getattr(serial, name).data, rtol=RTOL, err_msg=name)
