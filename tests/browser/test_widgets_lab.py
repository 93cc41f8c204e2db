"""The sky widget in JupyterLab with no internet: Aladin Lite comes from the server extension."""

import os
import subprocess
import sys

import nbformat
import pytest

from tests.browser.pixels import FOOTPRINT, SELECTED, count, is_allowed_external
from tests.support.browser import is_external, watched_page
from tests.support.servers import free_port, wait_until_up

pytestmark = [pytest.mark.browser, pytest.mark.slow]

CODE = """\
from widgets import SkyView
sky = SkyView(online=False)
sky.state.radius, sky.state.target_name = 1.0, "Crab"
from astropy.coordinates import SkyCoord
sky.state.target = SkyCoord(83.633, 22.0145, unit="deg")
sky.state.footprints = [(0, "CIRCLE ICRS 83.633 21.514 2.5"), (1, "CIRCLE ICRS 83.633 22.514 2.5"),
                        (2, "POLYGON ICRS 82 21 85 21 85 23 82 23")]
sky.state.selection = [1]
sky"""


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    root = tmp_path_factory.mktemp("lab")
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(CODE)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.metadata["voila"] = {"template": "gamma-portal"}
    nbformat.write(nb, root / "sky.ipynb")
    port = free_port()
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(root / ".jupyter"), "JUPYTER_RUNTIME_DIR": str(root / ".runtime")}
    with open(root / "lab.log", "wb") as log:
        proc = subprocess.Popen(
            [sys.executable, "-m", "jupyterlab", "--no-browser", f"--port={port}", "--ip=127.0.0.1",
             "--IdentityProvider.token=", "--ServerApp.password=", "--allow-root", f"--ServerApp.root_dir={root}",
             "--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"],
            stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api/status", proc, 120)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()


def test_sky_renders_offline_in_jupyterlab(lab, browser, tmp_path):
    page = watched_page(browser)
    page.goto(lab + "/lab/tree/sky.ipynb", timeout=120_000)
    page.wait_for_selector(".jp-Notebook .jp-Cell .jp-InputArea-editor", timeout=120_000)
    page.wait_for_selector("text=/Python 3 \\(ipykernel\\) \\| Idle/", timeout=120_000)  # the kernel is ready
    page.click(".jp-Notebook .jp-Cell .jp-InputArea-editor")
    page.keyboard.press("Shift+Enter")
    try:
        page.wait_for_selector(".aladin-widget[data-portal-footprints='3']", timeout=120_000)
    finally:
        page.screenshot(path=str(tmp_path / "lab.png"))
    page.wait_for_selector(".aladin-widget[data-portal-selected='1']", timeout=30_000)
    png = page.locator(".aladin-widget").screenshot()
    (tmp_path / "lab-sky.png").write_bytes(png)
    assert count(png, FOOTPRINT) > 300 and count(png, SELECTED) > 200
    assert any("/gamma-portal/static/aladin-lite/" in u for u in page.requests)
    assert [u for u in page.requests if is_external(u) and not is_allowed_external(u)] == []
    assert page.errors == []
    page.close()


def test_voila_as_a_server_extension(lab, browser):
    """Binder's way: Voila inside the Jupyter server (`/voila/render/...`), the notebook naming our template;
    nothing is fetched from outside (our server extension keeps Voila from pointing at MathJax on a CDN)."""
    page = watched_page(browser)
    page.goto(lab + "/voila/render/sky.ipynb", timeout=120_000)
    page.wait_for_selector(".aladin-widget[data-portal-footprints='3']", timeout=120_000)
    assert not any("fontawesome" in u for u in page.requests)
    assert [u for u in page.requests if is_external(u) and not is_allowed_external(u)] == []
    assert any("/voila/templates/gamma-portal/static/aladin-lite/" in u for u in page.requests)
    assert page.errors == []
    page.close()
