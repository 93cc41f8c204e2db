"""The SED of a running `spectrum` job on `portal serve` (H.E.S.S. DR1 Crab runs): points as they are
published, the model, its envelope, and a refit from the stored profiles compared with the job's fit.

One job is followed live for the whole module (about 15 s on an idle 2-core machine).
"""

from __future__ import annotations

import re
import time

import astropy.units as u
import numpy as np
import pytest

from widgets.background import Background
from widgets.jobs.handle import JobHandle
from widgets.sed import SEDPlot

pytestmark = [pytest.mark.requires_data, pytest.mark.slow, pytest.mark.timeout(1800)]  # a loaded machine is slow

CRAB = {"obs_ids": "23523,23526,23559,23592", "ra": 83.633, "dec": 22.014}
N_BINS = 8


class Live:
    """What the plot showed, change by change: (seconds, phase, points shown, model shown)."""

    def __init__(self, sed, url) -> None:
        self.sed, self.url = sed, url
        self.timeline: list[tuple[float, str, int, bool]] = []
        self.shown: list = []  # each FluxPoints the plot showed
        self.started = time.monotonic()
        self.statuses: list[tuple[str, int]] = []  # (the status line, finished points shown then)
        sed.state.observe(self._record, ["flux_points", "job_model"])
        sed.state.observe(self._status, "job_status")

    def _status(self, change) -> None:
        points = self.sed.flux_points
        self.statuses.append((change["new"], 0 if points is None else int(np.isfinite(points.norm.data).sum())))

    def _record(self, _change) -> None:
        points = self.sed.flux_points
        if points is not None and (not self.shown or self.shown[-1] is not points):
            self.shown.append(points)
        job = self.sed.state.job
        self.timeline.append((time.monotonic() - self.started, job.phase if job else "",
                              0 if points is None else int(np.isfinite(points.norm.data).sum()),
                              self.sed.state.job_model is not None))


@pytest.fixture(scope="module")
def live(client):
    bg = Background()
    sed = SEDPlot(client=client, background=bg)
    # the plot reads a job's results at most every `interval` s (1 s by default); the job's 8 points now take about
    # a second in all, so the module reads more often to see the job between its points
    url = client.uws.create("spectrum", {**CRAB, "n_bins": N_BINS}, run=True)
    watch = Live(sed, url)
    handle = sed.follow(url, interval=0.2)  # by URL: the plot makes the JobHandle
    follower = sed.state._follower
    try:
        assert bg.wait_until(lambda: handle.final and not follower._busy and bg.pending == 0, timeout=1200), \
            f"job {url} still {handle.phase} after 20 minutes"
        watch.elapsed = time.monotonic() - watch.started
        watch.bg, watch.handle, watch.follower = bg, handle, follower
        yield watch
    finally:
        sed.state.unfollow()
        handle.unfollow()


def test_the_job_completes(live):
    assert live.handle.phase == "COMPLETED", live.handle.error
    assert isinstance(live.sed.state.job, JobHandle) and live.sed.state.job.url == live.url
    assert "completed: 8 flux points and the fitted model" in live.sed.state.job_status
    assert live.sed.state.following is False  # what `await sed.ready()` waits for


def test_points_appear_one_by_one(live):
    """Each version the service publishes is the whole SED, the bins not estimated yet as NaN rows (bins are
    estimated in parallel, so in any order): the plot shows more and more estimated points while the job runs."""
    counts = [n for _t, _phase, n, _model in live.timeline if n]
    assert counts == sorted(counts) and counts[-1] == N_BINS, live.timeline  # never fewer than before
    # the plot reads the points at most once a second, so bins that end together arrive together (how many
    # versions it sees depends on the machine's speed); a partial SED is shown while the job runs, not at its end
    executing = [n for _t, phase, n, _m in live.timeline if phase == "EXECUTING" and n]
    assert executing and min(executing) < N_BINS, live.timeline
    final = live.shown[-1]
    assert final.energy_axis.nbin == N_BINS and np.isfinite(final.norm.data).all()
    for shown in live.shown:  # each state holds final values for the bins estimated so far, NaN elsewhere
        np.testing.assert_allclose(shown.energy_axis.edges.value, final.energy_axis.edges.value)
        done = np.isfinite(shown.norm.data.ravel())
        np.testing.assert_allclose(shown.norm.data.ravel()[done], final.norm.data.ravel()[done], rtol=1e-9)


def test_the_status_counts_finished_points_only(live):
    """While the job runs the status says its stage as the job reports it; the flux points it counts are those
    computed, never the bins still under way (it once said "8 of 8 flux points" while 2 were done)."""
    counted = [(int(m.group(1)), int(m.group(2)), shown) for text, shown in live.statuses
               if (m := re.search(r"running: flux point (\d+) of (\d+)", text))]
    assert counted, live.statuses
    assert all(total == N_BINS and done <= shown for done, total, shown in counted), counted
    assert any(done < N_BINS for done, _total, _shown in counted), counted
    assert any("running: reducing" in text or "running: fitting" in text for text, _ in live.statuses), live.statuses


def test_the_model_is_shown_when_the_job_publishes_it(live):
    first_model = next(t for t, _phase, _n, model in live.timeline if model)
    assert live.timeline[-1][3], "the model is not shown at the end"
    # the service fits first, then estimates the points: the model comes with the first points or before
    first_point = next(t for t, _phase, n, _model in live.timeline if n)
    assert first_model <= first_point
    assert live.sed.state.layer("job/model").visible


def test_no_busy_polling(live):
    # one download per change at most once a second: well under one per second of the job's run
    assert live.follower.downloads <= live.elapsed / live.follower.interval + 2, (live.follower.downloads,
                                                                                   live.elapsed)
    # and at least a partial SED while the job ran, then the final one (how many versions in between depends on the
    # machine's speed: the job publishes each point, the follower reads at most once a second)
    assert live.follower.downloads >= 2


def test_the_envelope_is_evaluate_error_of_the_jobs_model(live, client, tmp_path):
    from portal.jobs.spectrum import read_model

    path = tmp_path / "model.yaml"
    path.write_bytes(client.uws.result(live.handle.results["model"]))
    model = read_model(path)["target"].spectral_model
    marks = live.sed.plot.marks_of("job/model")
    energy = np.asarray(marks.line.x) * u.TeV
    assert energy[0].value == pytest.approx(1.0) and energy[-1].value == pytest.approx(30.0)  # the job's range
    median, errn, errp = model.evaluate_error(energy)
    e2 = energy**2
    np.testing.assert_allclose(np.asarray(marks.band.y)[0], ((median - errn) * e2).to_value("erg cm-2 s-1"))
    np.testing.assert_allclose(np.asarray(marks.band.y)[1], ((median + errp) * e2).to_value("erg cm-2 s-1"))
    assert np.all(np.asarray(marks.band.y)[1] > np.asarray(marks.band.y)[0])
    assert marks.band.visible and marks.line.visible


def test_the_profiles_reach_delta_ts_1_at_the_points_errors(live):
    points = live.sed.flux_points
    heat = live.sed.plot.marks_of("job/profiles").heat
    rows, dts = np.asarray(heat.row), np.asarray(heat.color)
    centres = np.sqrt(rows[:-1] * rows[1:])
    arrays = live.sed.state.layer("job/points").arrays("e2dnde", "TeV")
    for i in np.flatnonzero(~arrays.is_ul):
        column = dts[:, i]
        best = int(np.argmin(column))
        assert centres[best] == pytest.approx(arrays.y[i], rel=0.05)
        low = centres[:best][np.argmin(np.abs(column[:best] - 1))]
        high = centres[best:][np.argmin(np.abs(column[best:] - 1))]
        assert low == pytest.approx(arrays.y[i] - arrays.y_errn[i], rel=0.05)
        assert high == pytest.approx(arrays.y[i] + arrays.y_errp[i], rel=0.05)
    assert points.energy_axis.nbin == N_BINS


def test_the_refit_agrees_with_the_forward_folded_index(live):
    from gammapy.datasets import FluxPointsDataset
    from gammapy.modeling import Fit
    from gammapy.modeling.models import SkyModel

    from widgets.sed.refit import start_model

    job = live.sed.state.job_model["target"].spectral_model
    result = live.sed.refit("pl")
    assert result.success
    refit = live.sed.state.refit_result.model
    assert abs(refit.index.value - job.index.value) < job.index.error, (refit.index, job.index)
    assert refit.amplitude.value == pytest.approx(job.amplitude.value, rel=0.2)
    # and it is exactly gammapy's fit of the same profiles from the same start
    plain = start_model("pl", live.sed.flux_points)
    dataset = FluxPointsDataset(models=[SkyModel(spectral_model=plain, name="plain")], data=live.sed.flux_points,
                                stat_type="profile")
    Fit().run([dataset])
    assert refit.index.value == pytest.approx(plain.index.value, rel=1e-3)
    assert refit.amplitude.value == pytest.approx(plain.amplitude.value, rel=1e-3)
    assert "refit/pl/model" in {layer.key for layer in live.sed.layers}
    assert "index = " in live.sed._summary.value and "forward-folded" in live.sed._summary.value


def test_a_log_parabola_refit_is_drawn_beside_the_jobs_fit(live):
    result = live.sed.refit("lp")
    assert result.success, live.sed.message
    keys = {layer.key for layer in live.sed.layers}
    assert {"job/model", "refit/lp/model"} <= keys
    assert "log-parabola fitted to the job's flux points" in live.sed.message


def test_a_job_in_error_is_a_sentence_and_the_plot_keeps_what_it_had(client):
    bg = Background()
    sed = SEDPlot(client=client, background=bg)
    from gammapy.estimators import FluxPoints

    from tests.conftest import gammapy_data

    sed.add_flux_points(FluxPoints.read(gammapy_data() / "estimators/crab_hess_fp/crab_hess_fp.fits"), label="kept")
    url = client.uws.create("spectrum", {"obs_ids": "23523", "ra": 10.0, "dec": -40.0}, run=True)
    handle = JobHandle(url, client=client, background=bg)
    sed.follow(handle)  # a handle, as the job monitor gives one
    try:
        assert bg.wait_until(lambda: handle.phase == "ERROR" and sed.state.status == "error", timeout=600), \
            (handle.phase, sed.message)
        assert "ended in error" in sed.message and "outside the field of view" in sed.message
        assert "Traceback" not in sed.message
        assert {layer.key for layer in sed.layers} == {"file/kept/points", "file/kept/profiles"}
    finally:
        sed.state.unfollow()
        handle.unfollow()


def test_a_job_that_is_not_there(client):
    bg = Background()
    sed = SEDPlot(client=client, background=bg)
    sed.follow(client.uws_url + "/spectrum/doesnotexist")
    assert bg.wait_until(lambda: sed.state.status == "error", timeout=60), sed.message
    assert "no longer exists" in sed.message or "Not found" in sed.message or "No such job" in sed.message
    sed.state.unfollow()


def test_following_another_job_drops_the_first_jobs_layers(live, client):
    """The Portal follows each spectrum job that becomes active: the next job's plot must not keep the
    first job's points, fit or refits (here the next job fails before its fit)."""
    sed = live.sed
    assert {"job/points", "job/model"} <= {layer.key for layer in sed.layers}
    url = client.uws.create("spectrum", {"obs_ids": "23523", "ra": 10.0, "dec": -40.0}, run=True)
    handle = JobHandle(url, client=client, background=sed.state.background)
    sed.follow(handle)
    try:
        assert sed.state.background.wait_until(lambda: sed.state.status == "error", timeout=600), sed.message
        assert not [layer.key for layer in sed.layers if layer.source in ("job", "refit")]
        assert sed.flux_points is None and sed.state.job_model is None
    finally:
        sed.state.unfollow()
        handle.unfollow()
