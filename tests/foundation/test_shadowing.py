"""A user's folders named like the library's packages do not shadow it.

A data folder called ``portal`` (``PORTAL_DATA_DIR=./portal`` holds ``uws/`` and ``archive/``) or a folder of
one's own called ``widgets`` beside a script or a notebook once made Python find those folders first: the
editable install's import hook runs after the path search, which took ``./portal`` for a namespace package
(``No module named 'portal.uws.definitions'``). The install now puts the project on the path (setuptools'
``editable_mode=compat``; a regular install is in site-packages), and a regular package anywhere on the path
wins over a folder without ``__init__.py``."""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
import pytest
from nbclient import NotebookClient

from tests.support.servers import REPO

CODE = ("import portal, portal.uws.definitions, widgets, widgets.session\n"
        "from widgets import SEDPlot\n"
        "print(portal.__file__, widgets.__file__)\n")


@pytest.fixture
def crowded(tmp_path):
    """A working folder with ``portal/`` and ``widgets/`` folders, laid out like a data folder and a user's."""
    for folder in ("portal/uws/jobs", "portal/archive", "portal/jobs", "widgets/jobs", "widgets/sed"):
        (tmp_path / folder).mkdir(parents=True)
    (tmp_path / "portal" / "archive" / "archive.sqlite").write_bytes(b"")
    return tmp_path


def _environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}  # as a user's shell: nothing added
    env["JUPYTER_PLATFORM_DIRS"] = "1"
    return env


def _installed(text: str) -> None:
    assert text.split() == [str(REPO / "portal" / "__init__.py"), str(REPO / "widgets" / "__init__.py")], text


def test_a_script_beside_portal_and_widgets_folders(crowded):
    script = crowded / "client.py"
    script.write_text(CODE)
    for command in ([sys.executable, str(script)], [sys.executable, "-c", CODE]):
        done = subprocess.run(command, cwd=crowded, env=_environment(), capture_output=True, text=True,
                              timeout=300)
        assert done.returncode == 0, done.stderr[-3000:]
        _installed(done.stdout)


def test_a_notebook_beside_portal_and_widgets_folders(crowded, monkeypatch):
    for name, value in _environment().items():
        monkeypatch.setenv(name, value)
    monkeypatch.delenv("PYTHONPATH", raising=False)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(CODE)])
    NotebookClient(notebook, timeout=300, kernel_name="python3",
                   resources={"metadata": {"path": str(crowded)}}).execute()
    outputs = notebook.cells[0].outputs
    assert outputs and outputs[0].get("name") == "stdout", outputs
    _installed(outputs[0]["text"])
