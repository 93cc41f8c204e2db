"""JobMonitor without a browser, against a running `portal serve`: lists, live following, details, actions."""

from __future__ import annotations

import pytest

from widgets.background import Background
from widgets.client import PortalClient
from widgets.jobs.form import LauncherState
from widgets.jobs.launcher import JobLauncher
from widgets.jobs.monitor import JobMonitor
from widgets.jobs.monitor_state import MonitorState
from widgets.links import connect
from tests.support.servers import free_port


@pytest.fixture(scope="module")
def client(portal_server, portal_token):
    c = PortalClient(portal_server.url, portal_token)
    yield c
    c.close()


@pytest.fixture
def bg():
    return Background()


def monitor_for(client, bg, **kwargs) -> JobMonitor:
    state = MonitorState(client, bg, kinds=["count", "echo"], wait=10, auto_refresh=0, **kwargs)
    monitor = JobMonitor(client, state=state, background=True)
    assert bg.wait_until(lambda: state.status == "idle", timeout=60), state.message
    return monitor


def test_jobs_of_every_kind_newest_first_with_filters(client, bg):
    first = client.uws.create("echo", {"text": "older"}, run_id="m-older")
    second = client.uws.create("count", {"n": 1}, run=True, run_id="m-newer")
    monitor = monitor_for(client, bg)
    try:
        urls = [j.url for j in monitor.jobs]
        assert urls.index(second) < urls.index(first)  # newest first, across kinds
        monitor.state.kind_filter = "echo"
        assert all(j.definition == "echo" for j in monitor.state.visible) and first in [j.url for j in monitor.state.visible]
        monitor.state.kind_filter, monitor.state.phase_filter = "", "active"
        assert first in [j.url for j in monitor.state.visible]  # PENDING is active
        assert bg.wait_until(lambda: monitor.state.find(second.rsplit("/", 1)[-1]).phase == "COMPLETED", 120)
        assert second not in [j.url for j in monitor.state.visible]
        labels = [label for label, _v in monitor._list.options]
        assert all("COMPLETED" not in label for label in labels)
    finally:
        monitor.close()


def test_a_job_made_elsewhere_appears_without_pressing_refresh(client, bg, portal_server, portal_token):
    """The monitor's own refresh loop (every ``auto_refresh`` seconds) merges the lists it reads: a job that
    another client (another notebook, curl) created appears by itself. The loop once called the merge with a
    missing argument, which the background helper only logged: the list never changed until Refresh."""
    state = MonitorState(client, bg, kinds=["count", "echo"], wait=10, auto_refresh=0.3)
    monitor = JobMonitor(client, state=state, background=True)
    other = PortalClient(portal_server.url, portal_token)
    try:
        assert bg.wait_until(lambda: state.status == "idle", timeout=60), state.message
        url = other.uws.create("echo", {"text": "made elsewhere"}, run_id="m-elsewhere")
        assert bg.wait_until(lambda: url in [j.url for j in state.jobs], timeout=60)
        assert state.find(url.rsplit("/", 1)[-1]).definition == "echo"
    finally:
        other.close()
        monitor.close()


def test_a_submitted_job_appears_at_once_and_is_followed_to_the_end(client, bg):
    monitor = monitor_for(client, bg)
    launcher = JobLauncher(client=client, state=LauncherState(client, "count", background=bg))
    links = connect(launcher=launcher, monitor=monitor)
    try:
        assert bg.wait_until(lambda: launcher.state.definitions, timeout=30)
        launcher.values = {"n": 5, "interval": 0.2}
        job = launcher.submit()
        assert monitor.jobs[0] is job and monitor.selected_job is job  # shown before any list refresh
        assert links.session.active_job is job
        assert job.followed
        assert bg.wait_until(lambda: job.phase == "COMPLETED", timeout=120)
        assert bg.wait_until(lambda: "total" in monitor.selected_results, timeout=30)
        detail = monitor.state.detail  # the selected job in full, as state
        assert detail.job is job
        assert bg.wait_until(lambda: "step 5" in detail.log_text, timeout=30)
        assert bg.wait_until(lambda: detail.provenance is not None, timeout=30)
        assert [f.filename for f in detail.provenance.files] == [f"{job.job_id}-provenance.json",
                                                                 f"{job.job_id}-provenance.provn"]
        detail.show_result("total")
        assert bg.wait_until(lambda: detail.shown is not None, timeout=30)
        assert detail.shown.rid == "total" and detail.shown.preview.text == '{\n  "count": 5\n}'
        detail.download("total")
        assert bg.wait_until(lambda: "total" in detail.downloads, timeout=30)
        assert detail.downloads["total"].mime == "application/json" and b'"count": 5' in detail.downloads["total"].content
        view = monitor.detail  # what the view draws of it
        assert "step 5" in view._log.value and "COMPLETED" in view._header.value
        svg = view._provenance.value
        assert "prov-activity" in svg and "prov-agent" in svg and "prov-entity" in svg and "alice" in svg
        assert "PROV-JSON" in svg and "provenance.provn" in svg
        assert view._preview.children[1].value == '{\n  "count": 5\n}'
        assert "data:application/json;base64," in view._result_rows["total"][2].value
        rerun = []
        monitor.on_rerun(lambda d, p: rerun.append((d, p)))
        detail.run_again()
        assert rerun[-1] == ("count", {"n": "5", "interval": "0.2", "fail": "none", "publish": "false"})  # defaults too
        assert launcher.state.texts["n"] == "5" and launcher.definition == "count"  # the launcher is filled in
    finally:
        links.unlink()
        monitor.close()


def test_abort_and_delete_with_confirmation(client, bg):
    url = client.uws.create("count", {"n": 100000, "interval": 0.05}, run=True)
    monitor = monitor_for(client, bg)
    try:
        job = monitor.state.find(url.rsplit("/", 1)[-1])
        monitor.select(job)
        detail = monitor.state.detail
        assert bg.wait_until(lambda: job.phase == "EXECUTING" and not monitor.detail._abort.disabled, timeout=60)
        detail.abort()
        assert bg.wait_until(lambda: job.phase == "ABORTED", timeout=60)
        detail.ask_delete()
        assert detail.confirming and monitor.detail._confirm_box.layout.display is None  # asks first
        detail.keep()
        assert not detail.confirming and not job.gone
        monitor.detail._delete.click()  # the view's buttons do the same
        assert detail.confirming
        monitor.detail._confirm.click()
        assert bg.wait_until(lambda: job.gone and job not in monitor.jobs, timeout=60)
        assert monitor.selected_job is None, (monitor.state.selected, job.message, monitor.state.selected is job)
    finally:
        monitor.close()


def test_a_failed_job_says_why_and_a_bad_service_too(client, bg, portal_server):
    url = client.uws.create("count", {"n": 1, "fail": "fatal"}, run=True)
    monitor = monitor_for(client, bg)
    try:
        job = monitor.state.find(url.rsplit("/", 1)[-1])
        monitor.select(job)
        assert bg.wait_until(lambda: job.phase == "ERROR", timeout=120)
        assert bg.wait_until(lambda: "did not converge" in monitor.detail._error.value, timeout=30)
    finally:
        monitor.close()
    wrong = JobMonitor(PortalClient(portal_server.url, token="wrong"), background=False)
    assert "refused the token" in wrong._message.value
    down = JobMonitor(PortalClient(f"http://127.0.0.1:{free_port()}", token="x"), background=False)
    assert "cannot be reached" in down._message.value


def test_a_job_added_while_the_lists_are_read_is_not_declared_gone(client, bg):
    client.uws.create("echo", {"text": "listed"})  # the kind has jobs: a whole list can show one missing
    monitor = monitor_for(client, bg)
    state = monitor.state
    try:
        known = {j.url for j in state.jobs}
        state._etags.clear()  # whole lists, as after any change
        read = state._read_lists()  # the lists as the service gives them now ...
        from widgets.jobs.handle import JobHandle

        late = JobHandle(client.uws.create("echo", {"text": "late"}), client=client, background=bg)
        state.add(late)  # ... then a job is submitted before they arrive
        state._merge(read, known)
        assert not late.gone and state.find(late.job_id) is late
        state.refresh(background=False)  # the next lists have it
        assert state.find(late.job_id) is late and not late.gone
    finally:
        monitor.close()


def test_the_count_follows_jobs_added_after_the_lists_were_read(client, bg):
    """The line above the list counted only the jobs of the last read of the lists: a job submitted since stood
    under "No jobs yet" (or a stale count)."""
    monitor = monitor_for(client, bg)
    try:
        before = len(monitor.state.jobs)
        url = client.uws.create("echo", {"text": "counted"})
        from widgets.jobs.handle import JobHandle

        monitor.state.add(JobHandle(url, client, background=bg).refresh())
        assert monitor.state.message == f"{before + 1} job{'s' if before + 1 != 1 else ''}"
    finally:
        monitor.close()
