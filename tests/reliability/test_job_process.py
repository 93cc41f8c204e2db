"""Job processes (issue 23, points 8 and 9): they import nothing from the server's working directory, a
process that dies before it reports gets the last lines it wrote in the job's error summary (paths relative to
the data roots), and what the job service and the token store write is private (files 0600, folders 0700).

`portal serve` runs as users run it, the installed `portal` command, from a folder holding a `portal/` and a
`widgets/` directory (and a user's `portal.py`), with ``PORTAL_DATA_DIR=./portal``: every job used to fail with "The job's process ended
unexpectedly with exit code 1" (a ModuleNotFoundError in the server's stderr only). The test job definitions
are importable through a folder of their own (``PYTHONPATH``), never through the repository's root, which
would hide the fault.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
import time
from datetime import timedelta
from pathlib import Path

import httpx
import pytest

from portal.uws import child
from portal.uws.definitions import JobDefinition
from portal.uws.models import ExecutionPhase, Job, utcnow
from portal.uws.runner import RunRequest
from portal.uws.worker import output_tail
from tests.support.servers import NO_QUOTAS, REPO, Server, free_port, wait_until_up

pytestmark = pytest.mark.timeout(600)

FINAL = ("COMPLETED", "ERROR", "ABORTED")
PORTAL = Path(sys.executable).with_name("portal")  # the console script `pip install` made
DEFINITIONS = "tests.uws.jobs:DEFINITIONS,tests.reliability.dying_jobs:DEFINITIONS"


def hostile_folder(root: Path) -> Path:
    """A working directory holding `portal/` (the data folder), `widgets/` (someone's notes) and `portal.py` (a
    user's script), and a folder of its own from which only the test packages import. (A `portal/` folder
    alone hides the package only from an install whose finder comes after the path's, such as setuptools'
    default editable one; a `portal.py` there hides it from every install.)"""
    work = root / "work"
    (work / "portal").mkdir(parents=True)
    (work / "widgets").mkdir()
    (work / "widgets" / "notes.txt").write_text("not the widgets package\n")
    (work / "portal.py").write_text('print("my own script")\n')
    (root / "pythonpath").mkdir()
    (root / "pythonpath" / "tests").symlink_to(REPO / "tests", target_is_directory=True)
    return work


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def wait_phase(client: httpx.Client, url: str, timeout: float = 240) -> str:
    deadline = time.monotonic() + timeout
    phase = client.get(url + "/phase").text
    while phase not in FINAL:
        assert time.monotonic() < deadline, f"{url} still {phase}"
        client.get(url, params={"WAIT": "5", "PHASE": phase})
        phase = client.get(url + "/phase").text
    return phase


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """`portal serve` from the hostile folder; a token made by `portal token create` there."""
    root = tmp_path_factory.mktemp("job-process")
    work = hostile_folder(root)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "PYTHONSAFEPATH")}
    env.update({"PORTAL_DATA_DIR": "./portal", "PYTHONPATH": str(root / "pythonpath"),
                "PORTAL_JOB_DEFINITIONS": DEFINITIONS, "PORTAL_DEFAULT_DATASET": "none", "PORTAL_DASK_WORKERS": "1",
                **NO_QUOTAS})
    made = subprocess.run([str(PORTAL), "token", "create", "alice"], cwd=work, env=env, capture_output=True,
                          text=True, timeout=120)
    assert made.returncode == 0, made.stderr
    token = made.stdout.strip().splitlines()[-1]
    port = free_port()
    log = root / "serve.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen([str(PORTAL), "serve", "--port", str(port), "--log-level", "warning"], cwd=work,
                                env=env, stdout=out, stderr=subprocess.STDOUT)
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_until_up(server.url + "/tap/availability", proc, 300)
        with httpx.Client(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=120) as client:
            yield client, work / "portal", server
    finally:
        server.stop()


def run_job(client: httpx.Client, job_list: str, **params) -> tuple[str, str]:
    response = client.post(f"/uws/{job_list}", data={"PHASE": "RUN", **params}, follow_redirects=False)
    assert response.status_code == 303, response.text
    url = response.headers["location"]
    return url, wait_phase(client, url)


def test_jobs_run_when_the_working_directory_holds_a_portal_folder(served, cases):
    client, data_dir, server = served
    for n in ("3", "5"):
        url, phase = run_job(client, "count", n=n, interval="0")
        assert phase == "COMPLETED", (client.get(url + "/error").text, server.log.read_text(errors="replace")[-4000:])
        assert client.get(url + "/results/total").json() == {"count": int(n)}
        cases()
    assert "ModuleNotFoundError" not in server.log.read_text(errors="replace")


def test_a_process_that_dies_early_shows_what_it_wrote(served, cases):
    """Code that ends its interpreter at import (after writing to stderr), and a job that exits mid-way: the
    error summary quotes their last lines, with the data folder's path cut to a relative one."""
    client, data_dir, _ = served
    url, phase = run_job(client, "exits")
    error = client.get(url + "/error").text
    assert phase == "ERROR" and "exit code 4" in error, error
    assert "fatal: cannot open the calibration table calibration/camera.fits" in error, error
    assert str(data_dir.resolve()) not in error and "Traceback" not in error
    cases()
    url, phase = run_job(client, "count", n="3", interval="0", fail="exit")
    error = client.get(url + "/error").text
    assert phase == "ERROR" and "exit code 3" in error and "printed 3" in error, error
    assert len(error.splitlines()) <= 21  # the description, then at most 20 lines
    cases()


def test_a_definition_that_cannot_be_imported_stops_only_its_own_jobs(served, cases):
    """Its module raises at import: the fork server that preloads the job modules used to die of it, and every
    job of every definition with it ("The worker running this job failed (EOFError)")."""
    client, _, _ = served
    url, phase = run_job(client, "broken")
    error = client.get(url + "/error").text
    assert phase == "ERROR" and "not available on this server (RuntimeError: this analysis module is broken)" in error
    url, phase = run_job(client, "count", n="2", interval="0")
    assert phase == "COMPLETED", client.get(url + "/error").text
    cases(2)


def test_job_files_and_the_token_store_are_private(served, cases):
    client, data_dir, _ = served
    url, phase = run_job(client, "count", n="2", interval="0")
    assert phase == "COMPLETED"
    folder = data_dir / "uws" / "jobs" / url.rsplit("/", 1)[-1]
    files = [p for p in folder.rglob("*") if p.is_file()]
    assert {"log.txt", "provenance.json", "provenance.provn", "total.json"} <= {p.name for p in files}
    checked = [*files, data_dir / "uws" / "jobs.sqlite", data_dir / "auth" / "tokens.sqlite"]
    assert {str(p.relative_to(data_dir)): oct(mode(p)) for p in checked if mode(p) != 0o600} == {}
    folders = [folder, *(p for p in folder.rglob("*") if p.is_dir()), data_dir / "uws", data_dir / "uws" / "jobs",
               data_dir / "auth"]
    assert {str(p.relative_to(data_dir)): oct(mode(p)) for p in folders if mode(p) != 0o700} == {}
    cases(len(checked) + len(folders))


def _request(tmp_path: Path, definition: JobDefinition, params: dict) -> RunRequest:
    workdir = tmp_path / "jobs" / "j1"
    workdir.mkdir(parents=True)
    now = utcnow()
    job = Job("j1", definition.name, "alice", ExecutionPhase.EXECUTING, tuple((k, str(v)) for k, v in params.items()),
              now, 120, now + timedelta(days=1))
    return RunRequest(job, definition, params, workdir, jobs_dir=tmp_path / "jobs")


def _outcome(proc: child.JobProcess, timeout: float = 120):
    outcome = None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and (proc.alive() or proc.conn.poll(0)):
        if proc.conn.poll(0.2):
            try:
                kind, value = proc.conn.recv()
            except EOFError:
                break
            if kind == "outcome":
                outcome = value
    proc.join(timeout=30)
    return outcome


def test_python_m_job_processes_ignore_the_working_directory(tmp_path, monkeypatch, cases):
    """The other way a job process starts (a daemonic Dask worker, as on some external clusters): `python -m
    portal.uws.child`, which puts the working directory first on its path; and its early stderr reaches the
    job's log."""
    from tests.reliability.dying_jobs import EXITS
    from tests.uws.jobs import COUNT

    work = hostile_folder(tmp_path / "served")
    monkeypatch.chdir(work)
    request = _request(tmp_path / "one", COUNT, {"n": 2, "interval": 0.0, "fail": "none"})
    outcome = _outcome(child._start_subprocess(request))
    assert outcome is not None and outcome[0] == ExecutionPhase.COMPLETED, (request.workdir / "log.txt").read_text()
    assert stat.S_IMODE((request.workdir / "log.txt").stat().st_mode) == 0o600
    cases()
    request = _request(tmp_path / "two", EXITS, {})
    proc = child._start_subprocess(request)
    assert _outcome(proc) is None and proc.exitcode == 4
    assert "fatal: cannot open the calibration table" in output_tail(request)
    cases()
