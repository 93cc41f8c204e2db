"""A page view leaves no kernel behind: a closed page shuts its kernel down (Voila's beforeunload), and the
kernel of a page that went away without saying so (a crashed tab) is culled once idle with no connection.
Voila runs with the repository's configuration, the culling times shortened for the test."""

from __future__ import annotations

import os
import secrets
import subprocess
import time

import psutil
import pytest

from portal.launcher import voila_command, voila_environment
from tests.support.browser import watched_page
from tests.support.servers import REPO, Server, free_port, voila_kernels, wait_until_up

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1200)]
DASHBOARD = "search.ipynb"  # any dashboard: the pool of preheated kernels is portal.ipynb's


def describe(processes: list[psutil.Process]) -> str:
    """What is left of the kernels, for a failing test."""
    lines = []
    for p in processes:
        try:
            lines.append(f"pid {p.pid} (parent {p.ppid()}, {p.status()}, started {time.time() - p.create_time():.0f} s ago)")
        except psutil.NoSuchProcess:
            pass
    return "; ".join(lines)


def wait_for_kernels(voila: Server, count: int, timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        n = len(voila_kernels(voila))
        if n == count:
            return n
        time.sleep(0.5)
    return len(voila_kernels(voila))


@pytest.fixture(scope="module")
def voila(archive_server, portal_token, tmp_path_factory):
    log = tmp_path_factory.mktemp("voila-kernels") / "voila.log"
    port = free_port()
    command = voila_command(REPO / "notebooks", "127.0.0.1", port) + [
        "--VoilaConfiguration.preheat_kernel=False",  # only the kernels of page views
        # long enough for a loaded machine to send the page and connect it to its kernel, which is idle
        # and unconnected in between
        "--MappingKernelManager.cull_idle_timeout=60", "--MappingKernelManager.cull_interval=5"]
    env = {**os.environ, "PORTAL_URL": archive_server.url, "PORTAL_TOKEN": portal_token}
    token = secrets.token_hex(16)
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=voila_environment(env, token), stdout=out, stderr=subprocess.STDOUT,
                                cwd=REPO)
    server = Server(f"http://127.0.0.1:{port}", proc, log, token)
    try:
        wait_until_up(server.at("/voila/tree"), proc, 120)
        yield server
    finally:
        server.stop()


def open_dashboard(voila: Server, browser):
    page = watched_page(browser, 1440, 900)
    page.goto(voila.at(f"/voila/render/{DASHBOARD}"), timeout=300_000)
    page.wait_for_selector(".portal-app", timeout=300_000)
    return page


def test_a_closed_page_shuts_its_kernel_down(voila, browser):
    assert voila_kernels(voila) == []
    page = open_dashboard(voila, browser)
    assert len(voila_kernels(voila)) == 1
    # leaving the page, as closing its tab does, runs Voila's beforeunload, which asks for the shutdown; the
    # renderer stays alive to send that request (page.close() could tear it down first, and the request was lost)
    page.goto("about:blank")
    page.close()
    assert wait_for_kernels(voila, 0, 60) == 0, describe(voila_kernels(voila))


def test_the_kernel_of_a_page_that_vanished_is_culled(voila, browser):
    assert wait_for_kernels(voila, 0, 60) == 0
    page = open_dashboard(voila, browser)
    rss = voila_kernels(voila)[0].memory_info().rss
    page.close()  # no beforeunload: a crashed tab or a lost network
    assert len(voila_kernels(voila)) == 1  # still there, costing its memory ...
    assert rss > 50e6
    assert wait_for_kernels(voila, 0, 300) == 0  # ... until the culler takes it: idle, nobody connected
    assert "Culling" in voila.log.read_text()
