"""A Binder session from scratch: postBuild in a clean environment (a new virtualenv, nothing installed,
another HOME), then start with the notebook server, and the dashboard opened through the server's Voila
extension, as Binder's `urlpath=voila/render/notebooks/portal.ipynb` does."""

import os
import shutil
import signal
import subprocess
import sys
import uuid

import httpx
import pytest

from tests.browser.pixels import is_allowed_external
from tests.support.browser import is_external, watched_page
from tests.support.servers import REPO, free_port, wait_until_up
from tests.widgets.archive import wait_for_archive

# postBuild installs the whole pinned environment from the registry: minutes, more on a loaded machine
pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(3000)]
ALLOWED_CONSOLE = ("AladinLiteLogger", "net::ERR_", "Failed to load resource", "MocServer")


def tracked_files() -> list[str]:
    out = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "-z"], cwd=REPO,
                         capture_output=True, check=True)
    return [name for name in out.stdout.decode().split("\0") if name and (REPO / name).is_file()]


def kill_group(proc: subprocess.Popen) -> None:
    """SIGTERM the process group, then SIGKILL what is left after 30 s."""
    for sig, wait in ((signal.SIGTERM, 30), (signal.SIGKILL, 10)):
        try:
            os.killpg(proc.pid, sig)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=wait)
        except subprocess.TimeoutExpired:
            continue
        try:  # the leader is gone; members may linger (a background portal serve)
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return


@pytest.fixture(scope="module")
def session(tmp_path_factory):
    root = tmp_path_factory.mktemp("binder")
    repo, home = root / "repo", root / "home"
    for name in tracked_files():  # what repo2docker copies: the repository, no .venv, no fetched assets
        (repo / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(REPO / name, repo / name)
    home.mkdir()
    subprocess.run([sys.executable, "-m", "venv", str(root / "env")], check=True, timeout=300)
    env = {"HOME": str(home), "PATH": f"{root / 'env' / 'bin'}:/usr/local/bin:/usr/bin:/bin",
           "LANG": "C.UTF-8", "GAMMAPY_DATA": os.environ["GAMMAPY_DATA"], "TMPDIR": str(root),
           "PIP_NO_COMPILE": "1", "PIP_DISABLE_PIP_VERSION_CHECK": "1"}  # no .pyc at install: half the time
    with open(root / "postBuild.log", "wb") as log:
        build = subprocess.Popen(["bash", "binder/postBuild"], cwd=repo, env=env, stdout=log,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    try:
        code = build.wait(timeout=2400)
    finally:
        kill_group(build)  # pip and whatever postBuild started, even when the test is interrupted
    assert code == 0, (root / "postBuild.log").read_text()[-5000:]
    port, portal_port, token = free_port(), free_port(), uuid.uuid4().hex
    with open(root / "start.log", "wb") as log:
        proc = subprocess.Popen(
            ["binder/start", "jupyter", "server", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
             f"--IdentityProvider.token={token}", "--allow-root"],
            cwd=repo, env={**env, "PORTAL_PORT": str(portal_port)}, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
    try:
        wait_until_up(f"http://127.0.0.1:{port}/api/status?token={token}", proc, 300)
        wait_for_archive(f"http://127.0.0.1:{portal_port}")
        yield f"http://127.0.0.1:{port}", token, root
    finally:
        kill_group(proc)  # the notebook server and the portal serve that start left behind it


def test_postbuild_then_start_serve_the_dashboard_through_the_voila_extension(session, browser):
    url, token, root = session
    page = watched_page(browser, 1440, 900)
    try:
        page.goto(f"{url}/voila/render/notebooks/portal.ipynb?token={token}", timeout=300_000)
        page.wait_for_selector(".portal-app", timeout=300_000)
        page.wait_for_selector(".portal-sky-view .aladin-widget", timeout=120_000)
        page.fill(".portal-target-search input[type=text]", "Crab")
        page.keyboard.press("Enter")
        page.wait_for_selector(".portal-target-message:has-text('Crab')", timeout=60_000)
        page.click(".portal-search-run")
        page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=120_000)
        page.screenshot(path=str(root / "binder-portal.png"))
        assert any("/voila/templates/gamma-portal/static/aladin-lite/" in u for u in page.requests)
        assert [u for u in page.requests if is_external(u) and not is_allowed_external(u)] == []
        assert page.errors == []
        assert [m for m in page.console_errors if not any(a in m for a in ALLOWED_CONSOLE)] == []
    finally:
        page.close()
    # the notebook server keeps its own token, and all the notebooks (the tutorials are for its JupyterLab)
    for path in ("/voila/render/notebooks/portal.ipynb", "/voila/api/contents/notebooks", "/api/contents/notebooks"):
        answer = httpx.get(url + path, timeout=60, follow_redirects=False)
        assert answer.status_code in (302, 403, 404) and "launch-and-wait" not in answer.text, (path, answer.status_code)
    tutorials = httpx.get(f"{url}/api/contents/notebooks/tutorials", params={"token": token}, timeout=60)
    assert tutorials.status_code == 200 and len(tutorials.json()["content"]) >= 4
