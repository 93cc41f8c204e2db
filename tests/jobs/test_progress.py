"""A `spectrum` job says where it is in its UWS jobInfo, through the real job service (`portal serve`, Dask
workers, H.E.S.S. DR1): stage after stage in order, counts that never go back, and flux points counted only
once they are computed and published.

The job is followed with blocking WAIT on its ETag (every progress report is a new version), and at each
version seen while it runs the flux points published so far are downloaded right after the job document (and
read once the job has ended, so that following it stays quick).
"""

from __future__ import annotations

import io
import time
from itertools import groupby

import numpy as np
import pytest
from astropy.io import fits

from tests.jobs.conftest import CRAB
from tests.support.servers import create_token
from widgets.client import FINAL, PortalClient
from widgets.client.uws import Progress

pytestmark = [pytest.mark.requires_data, pytest.mark.slow]

RUNS = [23523, 23526]  # the two Crab runs 0.5 deg away
N_BINS = 8
STAGES = ["opening observations", "reducing", "fitting", "flux points", "saving results"]  # in this order


@pytest.fixture(scope="module")
def client(portal_server):
    client = PortalClient(portal_server.url, create_token(portal_server.log.parent, "astronomer"))
    yield client
    client.close()


def _finished(content: bytes) -> tuple[int, int]:
    """The flux points of a published version that are computed (the others are NaN rows), and how many the
    job wrote it had (NPOINTS)."""
    from astropy.table import Table
    from gammapy.estimators import FluxPoints

    from widgets.sed.live import finished_points

    points = FluxPoints.from_table(Table.read(io.BytesIO(content), hdu="FLUXPOINTS"), format="gadf-sed")
    norm = np.ma.filled(np.ma.asarray(points.norm.data, dtype=float), np.nan).ravel()
    assert finished_points(points) == int(np.isfinite(norm).sum())  # what the SED's status counts
    return int(np.isfinite(norm).sum()), int(fits.getheader(io.BytesIO(content), "FLUXPOINTS")["NPOINTS"])


@pytest.fixture(scope="module")
def followed(client):
    """(phase, progress, (finished flux points, NPOINTS) of the result downloaded after that version) at each
    version."""
    url = client.uws.create("spectrum", {"obs_ids": RUNS, "ra": CRAB[0], "dec": CRAB[1], "n_bins": N_BINS},
                            run=True)
    deadline = time.monotonic() + 900
    info = client.uws.job(url)
    seen: list[tuple[str, Progress | None, bytes | None]] = []
    while True:
        content = None
        if info.phase == "EXECUTING" and "flux_points" in info.results:
            content = client.uws.result(info.results["flux_points"])
        seen.append((info.phase, info.progress, content))
        if info.phase in FINAL:
            return info, [(phase, progress, content and _finished(content)) for phase, progress, content in seen]
        assert time.monotonic() < deadline, f"{url} still {info.phase} after 900 s"
        info = client.uws.wait(url, phase=info.phase, etag=info.etag, timeout=30) or info


def test_the_job_goes_through_its_stages_in_order(followed):
    info, seen = followed
    assert info.phase == "COMPLETED", info.error
    running = [progress for phase, progress, _ in seen if phase == "EXECUTING" and progress is not None]
    stages = [stage for stage, _ in groupby(p.stage for p in running)]
    assert set(stages) <= set(STAGES), stages
    assert [STAGES.index(s) for s in stages] == sorted({STAGES.index(s) for s in stages}), stages  # each once, in order
    assert {"reducing", "fitting", "flux points"} <= set(stages), stages
    for stage, group in groupby(running, key=lambda p: p.stage):
        group = list(group)
        counts = [p.done for p in group if p.done is not None]
        assert counts == sorted(counts), (stage, counts)  # never back within a stage
        assert all(p.total is None or p.done <= p.total for p in group if p.done is not None), group
    totals = {p.stage: p.total for p in running if p.total is not None}
    assert totals == {"reducing": len(RUNS), "flux points": N_BINS}, totals
    # while counting, the time left in the stage comes once the pace is known
    paced = [p for p in running if p.done and p.total and p.done < p.total]
    assert all(p.time_left is not None and p.time_left >= 0 for p in paced), paced
    final = seen[-1][1]
    assert (final.stage, final.done, final.total, final.time_left) == ("done", None, None, None)


def test_flux_points_are_counted_only_once_computed_and_published(followed):
    _, seen = followed
    counted = [(progress.done, points) for phase, progress, points in seen
               if phase == "EXECUTING" and progress is not None and progress.stage == "flux points"]
    assert counted, seen
    for done, points in counted:
        if points is None:  # no version published yet: nothing computed may be counted
            assert done == 0
            continue
        finished, npoints = points
        assert finished == npoints  # the NaN rows of bins still being computed are not points
        assert done <= finished, (done, finished)  # the result was downloaded after the job document
    assert any(done < N_BINS for done, _ in counted), counted  # seen while it ran, not only at the end
