"""Every notebook in notebooks/ (the dashboards and the tutorials) runs under nbval against a running
`portal serve`: a cell that raises fails the suite. Outputs are not compared (`--nbval-lax`): they hold
times, job ids and counts that change; the tutorials check what matters with their own asserts."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import nbformat
import pytest

from tests.support.servers import REPO

NOTEBOOKS = sorted(p.relative_to(REPO / "notebooks") for p in (REPO / "notebooks").rglob("*.ipynb")
                   if ".ipynb_checkpoints" not in p.parts)
pytestmark = [pytest.mark.slow, pytest.mark.requires_data]


def test_the_notebooks_are_found():
    names = {str(p) for p in NOTEBOOKS}
    assert {"portal.ipynb", "search.ipynb", "jobs.ipynb", "index.ipynb"} <= names
    tutorials = {n.split("/", 1)[1][:2] for n in names if n.startswith("tutorials/")}
    assert {"01", "02", "03", "04"} <= tutorials  # search, launch and wait, an SED from a job and catalogs, refit


@pytest.fixture(scope="module")
def workspace(tmp_path_factory):
    """A copy of notebooks/ to run in: the tutorials write files where they run, as they would for a user."""
    root = tmp_path_factory.mktemp("nbval")
    shutil.copytree(REPO / "notebooks", root / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    (root / "pytest.ini").write_text("[pytest]\naddopts = -p no:cacheprovider\n")
    return root


@pytest.mark.timeout(2400)
@pytest.mark.parametrize("notebook", NOTEBOOKS, ids=str)
def test_notebook_runs(notebook, workspace, archive_server, portal_token):
    env = {**os.environ, "PORTAL_URL": archive_server.url, "PORTAL_TOKEN": portal_token,
           "PYTHONPATH": str(REPO), "JUPYTER_PLATFORM_DIRS": "1"}
    env.pop("JUPYTERHUB_API_TOKEN", None)
    path = workspace / "notebooks" / notebook
    notebook_node = nbformat.read(path, as_version=4)
    nbformat.validate(notebook_node)
    if not any(cell.cell_type == "code" for cell in notebook_node.cells):
        return  # text only (index.ipynb): valid, and nbval has no cell to run ("no tests ran")
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbval-lax", "--nbval-cell-timeout=1800", "-q", "-c",
         str(workspace / "pytest.ini"), "--rootdir", str(workspace), str(path)],
        cwd=path.parent, env=env, capture_output=True, text=True, timeout=2400,
    )
    assert proc.returncode == 0, f"{notebook} failed under nbval:\n{proc.stdout[-6000:]}\n{proc.stderr[-2000:]}"
    assert " passed" in proc.stdout.splitlines()[-1], proc.stdout[-2000:]
