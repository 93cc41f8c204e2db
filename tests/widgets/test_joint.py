"""A joint fit from the dashboard: picked in the job monitor, prepared in the launcher, shown in the SED.

Real jobs on `portal serve` (H.E.S.S. DR1): two `spectrum` jobs on two Crab runs each (23523+23526 at
0.5 deg, 23559+23592 at 1.5 deg; two flux points to be fast) and a `joint_spectrum` job over them.
Everything is driven from Python, as the dashboard's buttons do it.
"""

from __future__ import annotations

import time

import pytest

from widgets.background import Background
from widgets.jobs.form import LauncherState
from widgets.jobs.launcher import JobLauncher
from widgets.jobs.monitor import JobMonitor
from widgets.jobs.monitor_state import MonitorState
from widgets.links import connect
from widgets.sed import SEDPlot

pytestmark = [pytest.mark.requires_data, pytest.mark.slow, pytest.mark.timeout(1800)]

CRAB = {"ra": 83.633, "dec": 22.014, "n_bins": 2}
RUNS = ("23523,23526", "23559,23592")
KINDS = ["spectrum", "joint_spectrum", "count"]


def _finished(client, urls, timeout=900.0) -> list:
    deadline = time.monotonic() + timeout
    infos = [client.uws.job(url) for url in urls]
    while any(info.active for info in infos) and time.monotonic() < deadline:
        infos = [client.uws.wait(i.url, phase=i.phase, timeout=20) or client.uws.job(i.url) if i.active else i
                 for i in infos]
    return infos


@pytest.fixture(scope="module")
def spectra(client):
    """Two completed spectrum jobs (run side by side), oldest first; how long they took."""
    started = time.monotonic()
    urls = [client.uws.create("spectrum", {**CRAB, "obs_ids": runs}, run=True) for runs in RUNS]
    infos = _finished(client, urls)
    assert [i.phase for i in infos] == ["COMPLETED"] * 2, [i.error for i in infos]
    print(f"\ntwo spectrum jobs: {time.monotonic() - started:.1f} s")
    return infos


@pytest.fixture(scope="module")
def joint(client, spectra):
    """A completed joint_spectrum job over the two spectrum jobs."""
    started = time.monotonic()
    url = client.uws.create("joint_spectrum", {"jobs": ",".join(i.job_id for i in spectra), "n_bins": 3}, run=True)
    info = _finished(client, [url])[0]
    assert info.phase == "COMPLETED", info.error
    print(f"\njoint_spectrum job: {time.monotonic() - started:.1f} s")
    return info


@pytest.fixture
def bg():
    return Background()


def monitor_for(client, bg) -> JobMonitor:
    state = MonitorState(client, bg, kinds=KINDS, wait=10, auto_refresh=0)
    monitor = JobMonitor(client, state=state, background=True)
    assert bg.wait_until(lambda: state.status == "idle", timeout=60), state.message
    return monitor


def test_joint_fit_of_two_picked_spectrum_jobs_opens_the_launcher_filled(client, bg, spectra):
    monitor = monitor_for(client, bg)
    launcher = JobLauncher(client=client, state=LauncherState(client, "spectrum", background=bg))
    links = connect(launcher=launcher, monitor=monitor)
    try:
        assert bg.wait_until(lambda: launcher.state.definitions, timeout=30)
        first, second = (i.job_id for i in spectra)
        monitor.pick([second, first])  # as Ctrl-click in the list: the newest is listed first
        assert monitor.state.picked == [second, first] and monitor.selected_job.job_id == first  # the last picked
        assert links.session.active_job.job_id == first
        assert monitor.state.joint_ready and not monitor._joint.disabled
        assert set(monitor._list.value) == {first, second}  # the list shows both picked
        monitor._joint.click()
        state = launcher.state
        assert state.definition == "joint_spectrum" and launcher._kind.value == "joint_spectrum"
        assert state.texts["jobs"] == f"{first},{second}"  # oldest first
        assert "jobs" in state.touched and state.problems == {}
        assert state.values["model"] == "lp" and state.values["e_min"] == 0.1  # the other fields: defaults
        launcher._inputs["model"].value = "pl"  # the user can still change the model and the energies ...
        launcher._inputs["n_bins"].value = "4"
        assert state.values["model"] == "pl" and state.values["n_bins"] == 4
        assert state.texts["jobs"] == f"{first},{second}"
        target, pairs = state._request()  # ... and submits as for any job: this is what goes to the service
        assert target.endswith("/joint_spectrum") and ("jobs", f"{first},{second}") in pairs
        monitor.joint_fit()  # again, the launcher already on joint_spectrum: a fresh form with these jobs
        assert state.values == {"jobs": f"{first},{second}", "model": "lp", "reference": 1.0, "e_min": 0.1,
                                "e_max": 30.0, "n_bins": 10, "publish": False}
        monitor.pick([first])  # one job picked again: no joint fit
        assert not monitor.state.joint_ready and monitor._joint.disabled
    finally:
        links.unlink()
        monitor.close()


def test_joint_fit_is_disabled_below_two_completed_spectrum_jobs(client, bg, spectra):
    pending = client.uws.create("spectrum", {**CRAB, "obs_ids": RUNS[0]}).rsplit("/", 1)[-1]  # not started
    count = client.uws.create("count", {"n": 1}, run=True).rsplit("/", 1)[-1]
    monitor = monitor_for(client, bg)
    launcher = JobLauncher(client=client, state=LauncherState(client, "spectrum", background=bg))
    links = connect(launcher=launcher, monitor=monitor)
    try:
        assert bg.wait_until(lambda: launcher.state.definitions, timeout=30)
        assert bg.wait_until(lambda: monitor.state.find(count).phase == "COMPLETED", timeout=120)
        first, second = (i.job_id for i in spectra)
        cases = [([], "Select two or more"), ([first], "Select two or more"),
                 ([first, count], "count job"), ([first, second, count], "count job"),
                 ([first, pending], "pending")]
        for picked, why in cases:
            monitor.pick(picked)
            assert not monitor.state.joint_ready and monitor._joint.disabled, picked
            note = monitor.state.joint_note
            assert why in note and why in monitor._joint_note.value, (picked, note)
            assert monitor.joint_fit() is False
            assert launcher.state.definition == "spectrum"  # the launcher was not touched
            assert why in monitor.state.message
        monitor.pick([first, second])
        assert monitor.state.joint_ready and not monitor._joint.disabled
        assert "Joint fit of 2 spectrum jobs" in monitor.state.joint_note
    finally:
        links.unlink()
        monitor.close()
        client.uws.delete(client.uws.list_url("spectrum") + "/" + pending)


def test_the_sed_of_a_joint_fit_shows_each_input_job_and_the_joint_fit(client, bg, spectra, joint):
    monitor = monitor_for(client, bg)
    sed = SEDPlot(client=client, background=bg)
    links = connect(monitor=monitor, sed=sed)  # the SED follows the job chosen in the monitor
    try:
        monitor.select(joint.job_id)
        state = sed.state
        assert bg.wait_until(lambda: state.job is not None and state.job.job_id == joint.job_id, timeout=30)
        assert bg.wait_until(lambda: not state.following and bg.pending == 0, timeout=300), state.job_status
        keys = {layer.key for layer in state.layers}
        inputs = [f"input/{i.job_id}/points" for i in spectra]
        assert {"job/points", "job/model", *inputs} <= keys, keys
        assert [layer.key for layer in state.layers if layer.source == "input"] == inputs  # no profiles of theirs
        assert state.layer("job/model").label == "joint forward-folded fit"
        assert state.flux_points.energy_axis.nbin == 3 and state.job_model is not None
        assert sed._summary.value.startswith("Joint forward-folded fit of the input jobs (")  # not "Job's ..."
        for info, runs in zip(spectra, ("obs 23523, 23526", "obs 23559, 23592")):
            layer = state.layer(f"input/{info.job_id}/points")
            assert layer.label == f"job {info.job_id[:8]}… ({runs})"
            assert layer.points.energy_axis.nbin == 2 and layer.group == state.layer("job/points").group
        colors = [state.layer(key).color for key in ["job/points", *inputs]]
        assert len(set(colors)) == 3, colors  # each in its own colour
        marks = {key: sed.plot.marks_of(key) for key in ["job/points", *inputs]}
        assert all(m.dots.visible and len(m.dots.x) for m in marks.values())  # all drawn
        assert all(marks["job/points"].dots.default_size > marks[key].dots.default_size for key in inputs)
        assert sed.plot.marks_of("job/model").band.visible  # the joint model's envelope
        assert "3 flux points and the fitted model; the flux points of its 2 input jobs" in state.job_status
        assert all(key in sed.legend.toggles() for key in inputs)  # a legend entry each
        monitor.select(spectra[0].job_id)  # another job followed: the joint fit's layers, inputs too, go
        assert state.job.job_id == spectra[0].job_id
        assert not [layer for layer in state.layers if layer.source in ("input", "job")]
    finally:
        links.unlink()
        sed.state.unfollow()
        monitor.close()


def test_in_the_portal_joint_fit_opens_the_launch_tab_and_the_joint_job_the_sed(client, spectra, joint):
    from widgets.app import LAUNCH, SED, Portal

    bg = Background.shared()  # the Portal's widgets use the kernel's one helper
    portal = Portal(client=client, online=False)
    try:
        monitor, launcher = portal.monitor.state, portal.launcher.state
        assert bg.wait_until(lambda: monitor.status == "idle" and launcher.definitions
                             and monitor.find(joint.job_id) is not None, timeout=60), monitor.message
        portal.show("jobs")
        portal.monitor.pick([i.job_id for i in spectra])
        portal.monitor._joint.click()
        assert portal.tabs.selected_index == LAUNCH and portal.launcher.definition == "joint_spectrum"
        assert launcher.texts["jobs"] == ",".join(i.job_id for i in spectra)
        portal.show("sky")
        portal.monitor.select(joint.job_id)  # the joint job chosen in the list: the SED follows it, in front
        assert portal.session.active_job.job_id == joint.job_id and portal.sed.state.job.job_id == joint.job_id
        assert portal.views.selected_index == SED
    finally:
        portal.sed.state.unfollow()
        portal.close()
