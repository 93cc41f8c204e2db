"""The operators' job definition editor against a real `portal serve`: list, open a built-in kind, validate
with the server's sentence (file and line), save a new kind that the launcher then offers and that runs,
a refused file shown to operators, and a 403 sentence for everyone else."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest

from tests.support.servers import create_token, start_portal
from tests.uws.test_definition_files import GREET
from widgets.background import Background
from widgets.client import FINAL, PortalClient
from widgets.jobs.definitions_editor import DefinitionsEditor, DefinitionsEditorState
from widgets.jobs.form import LauncherState


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    data = tmp_path_factory.mktemp("editor-data")
    portal = start_portal(data, env={"PORTAL_JOB_DEFINITIONS": "tests.uws.jobs:DEFINITIONS",
                                     "PORTAL_DEFAULT_DATASET": "none", "PORTAL_JOB_DEFINITIONS_POLL": "0.5",
                                     "PORTAL_DASK_WORKERS": "1", "PORTAL_UWS_MAX_RUNNING": "2"})
    try:
        yield portal, data
    finally:
        portal.stop()


@pytest.fixture(scope="module")
def operator(server):
    portal, data = server
    out = subprocess.run([sys.executable, "-m", "portal.cli", "token", "create", "olga", "--operator"],
                         capture_output=True, text=True, check=True,
                         env={"PORTAL_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"})
    assert "operator token for olga created" in out.stderr
    client = PortalClient(portal.url, out.stdout.strip().splitlines()[-1])
    yield client
    client.close()


def test_the_editor_lists_opens_validates_and_saves(server, operator):
    portal, data = server
    state = DefinitionsEditorState(operator)
    state.load()
    kinds = {k["name"]: k for k in state.kinds}
    assert state.status == "idle" and not state.problems, state.message
    assert kinds["spectrum"]["origin"] == "built-in" and kinds["spectrum"]["editable"]
    assert kinds["count"]["origin"] == "python" and not kinds["count"]["editable"]

    state.open("spectrum")
    assert state.origin == "built-in" and 'name = "spectrum"' in state.text and state.format == "toml"

    state.new("greet")
    state.text = GREET.replace('type = "float"', 'type = "flot"')
    state.validate()
    assert state.status == "error" and state.line == 14
    assert state.message.startswith("Job definition file greet.toml, line 14:") and "'flot'" in state.message
    state.save()  # refused: nothing written
    assert state.status == "error" and state.line == 14 and not (data / "job-definitions" / "greet.toml").exists()

    state.text = GREET
    state.validate()
    assert state.status == "ok" and "valid" in state.message and state.line == 0
    state.save()
    assert state.status == "ok" and state.origin == "folder", state.message
    assert (data / "job-definitions" / "greet.toml").read_text() == GREET
    assert {"name": "greet", "origin": "folder"}.items() <= {k["name"]: k for k in state.kinds}["greet"].items()

    # the launcher's form, with no code: labels, units, defaults from GET /uws
    form = LauncherState(operator, definition="greet")
    form.load()
    assert form.definition == "greet" and form.current().parameter("number").label == "How loud"
    assert form.values["number"] == 2.5
    url = operator.uws.create("greet", {"text": "hello", "number": 4}, run=True)
    deadline = time.monotonic() + 300
    job = operator.uws.job(url)
    while job.phase not in FINAL:
        assert time.monotonic() < deadline, f"greet job still {job.phase}"
        job = operator.uws.wait(url, phase=job.phase, timeout=10) or job
    assert job.phase == "COMPLETED", operator.uws.error(url)

    state.delete()
    assert state.status == "ok" and "greet" not in {k["name"] for k in state.kinds}
    assert "greet" not in {d.name for d in operator.uws.definitions()}


def test_refused_files_are_shown_to_operators(server, operator):
    _portal, data = server
    folder = data / "job-definitions"
    folder.mkdir(exist_ok=True)
    (folder / "broken.toml").write_text(GREET.replace('"greet"', '"broken"').replace("maximum = 10.0", "maximum = x"))
    bg = Background(autorun=False)
    try:
        state = DefinitionsEditorState(operator, bg)
        view = DefinitionsEditor(state=state)  # loads in the background
        assert bg.wait_until(lambda: state.status != "busy", timeout=30)
        [problem] = state.problems
        assert problem["line"] == 18 and f"{folder / 'broken.toml'}, line 18" in problem["message"]
        assert "broken.toml, line 18" in view._problems.value and "the other kinds keep working" in view._problems.value
        assert "spectrum" in {d.name for d in operator.uws.definitions()}  # the others still work
        state.open("skymap", background=True)
        assert bg.wait_until(lambda: state.name == "skymap" and state.status != "busy", timeout=30)
        assert view._text.value == state.text and "skymap" in view._title.value
    finally:
        bg.close()
        (folder / "broken.toml").unlink()


def test_everyone_else_gets_the_403_sentence(server):
    portal, data = server
    bob = PortalClient(portal.url, create_token(data, "bob"))
    try:
        state = DefinitionsEditorState(bob)
        state.load()
        assert state.status == "error" and not state.kinds
        assert state.message.startswith("Not allowed: Only operators may read or change the job definitions")
        state.new("greet")
        state.text = GREET
        state.save()
        assert state.status == "error" and "--operator" in state.message
        assert not (data / "job-definitions" / "greet.toml").exists()
    finally:
        bob.close()
