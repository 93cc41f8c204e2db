"""The Python API in a plain script (no kernel, no loop of its own): the widgets give the answers a notebook gives,
without the blocking forms. The script runs as a subprocess, as a user runs it."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading

import pytest

from tests.support.servers import REPO
from widgets.background import Background

SCRIPT = textwrap.dedent("""
    import json, sys, time
    from widgets import JobLauncher, ObsCoreSearch, SEDPlot, TargetSearch, connect

    def until(condition, what, timeout=900):
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                sys.exit("timed out waiting for " + what)
            time.sleep(0.2)

    target, search, launcher, sed = TargetSearch(), ObsCoreSearch(), JobLauncher(definition="spectrum"), SEDPlot()
    connect(target=target, search=search, launcher=launcher, sed=sed)
    target.search("Crab", "0.5 deg")              # in the background, as in a page
    until(lambda: target.target is not None, "the target")
    search.run()                                  # in the background too
    until(lambda: search.results is not None and len(search.results) > 0, "the search's rows")
    search.state.selection = [0, 1]
    out = {"selected": sorted(int(i) for i in search.selected["obs_id"])}
    values = launcher.values                      # pre-filled from the selection and the target
    out["obs_ids"] = sorted(int(i) for i in values.get("obs_ids") or [])
    out["ra"] = values.get("ra")
    launcher.values = {"n_bins": 2, "e_min": 1.0, "e_max": 10.0}
    job = launcher.submit()
    if job is None:
        sys.exit(f"not submitted: {launcher.state.message} {launcher.state.problems}")
    sed.follow(job)
    until(lambda: job.final, "the job to end")   # the handle's phase follows the job with no blocking call
    out["phase"] = job.phase
    points = sed.flux_points
    out["points"] = None if points is None else len(points.energy_ref)
    out["published"] = job.result("flux_points").count(b"\\n") > 0
    print("RESULT " + json.dumps(out))
""")


def test_background_drives_its_own_loop_outside_a_kernel():
    """Built with autorun (what a script gets), effects are applied without pumping, in the helper's loop thread;
    settle() returns once what was started has been applied; apply() runs a change there, waits for it, and hands
    back its value or its exception."""
    bg = Background(autorun=True)
    try:
        assert bg.runs_itself and bg.loop_thread != threading.get_ident()
        where = []
        release = threading.Event()
        bg.run(lambda: release.wait(30) and 42, on_done=lambda v: where.append((v, threading.get_ident())))
        assert bg.pending == 1
        release.set()
        assert bg.settle(timeout=30) and where == [(42, bg.loop_thread)]
        assert bg.apply(threading.get_ident) == bg.loop_thread
        with pytest.raises(ZeroDivisionError):
            bg.apply(lambda: 1 / 0)
        assert Background.shared() is not bg  # this thread's own helper (manual in the tests) ...
        assert bg.apply(Background.shared) is bg  # ... but an effect asking for the shared helper gets its own
        hold = threading.Event()
        bg.call(lambda: hold.wait(30))  # the loop is busy: a change cannot be applied in time
        with pytest.raises(TimeoutError):
            bg.apply(lambda: None, timeout=0.2)
        hold.set()
    finally:
        bg.close()


def test_settle_waits_for_the_work_under_way_and_gives_up_with_a_warning():
    bg = Background(autorun=True)
    try:
        first, later = threading.Event(), threading.Event()
        seen = []
        bg.run(first.wait, 30, on_done=lambda _v: seen.append("first"))
        threading.Timer(0.3, first.set).start()
        assert bg.settle(timeout=30) and seen == ["first"]
        bg.run(later.wait, 30, on_done=lambda _v: seen.append("later"))  # never ends within the next settle
        mark = bg.pending
        assert mark == 1 and not bg.settle(timeout=0.3)  # says it could not (and logs it), never hangs
        later.set()
        assert bg.settle(timeout=30) and seen == ["first", "later"]
    finally:
        bg.close()


@pytest.mark.requires_data
def test_a_script_gets_prefilled_values_and_a_followed_sed(archive_server, portal_token, tmp_path):
    env = {**os.environ, "PORTAL_URL": archive_server.url, "PORTAL_TOKEN": portal_token,
           "PORTAL_DATA_DIR": str(archive_server.log.parent), "PYTHONPATH": str(REPO)}
    script = tmp_path / "crab.py"
    script.write_text(SCRIPT)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=1200)
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("RESULT "))
    out = json.loads(line[len("RESULT "):])
    assert out["obs_ids"] == out["selected"] and len(out["obs_ids"]) == 2
    assert out["ra"] == pytest.approx(83.63, abs=0.01)
    assert out["phase"] == "COMPLETED" and out["published"]
    assert out["points"] == 2
    assert "Traceback" not in done.stderr
