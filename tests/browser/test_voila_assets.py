"""The dashboards' Voila (`portal up`, start_voila): only the extensions the pages use, static files gzipped and
cacheable, and no visitor waiting for the pool's delayed refill (widgets/jupyter/config/voila.json,
widgets/jupyter/voila_app.py)."""

from __future__ import annotations

import json
import os
import re
import secrets
import subprocess
import sys
from email.utils import formatdate
from pathlib import Path

import httpx
import pytest

from portal.launcher import voila_command, voila_environment
from tests.support.browser import open_tab, watched_page
from tests.support.servers import REPO, Server, free_port, voila_kernels, wait_until_up
from widgets.jupyter.install import CONFIG_DIR
from widgets.jupyter.voila_app import HOUR, IMMUTABLE, REVALIDATE, cache_policy

DENIED = json.loads((CONFIG_DIR / "voila.json").read_text())["VoilaConfiguration"]["extension_denylist"]
USED = {"@jupyter-widgets/jupyterlab-manager", "@voila-dashboards/widgets-manager8", "anywidget", "bqplot",
        "bqscales", "ipydatagrid"}
LABEXTENSIONS = Path(sys.prefix) / "share" / "jupyter" / "labextensions"
DRAWN = ".portal-sky-view [data-portal-footprints]"
FIELD = ".portal-app .portal-target-search input[type=text]"
TOKEN = secrets.token_hex(16)  # the token of this module's own Voila


def _extension(url: str) -> str | None:
    match = re.search(r"/voila/labextensions/((?:@[^/]+/)?[^/]+)/", url)
    return match.group(1) if match else None


def test_the_denylist_keeps_what_the_dashboards_use():
    assert {"jupyterlab_pygments", "@voila-dashboards/jupyterlab-preview"} <= set(DENIED)
    assert not USED & set(DENIED)


@pytest.mark.parametrize("path, policy", [
    ("/voila/labextensions/bqplot/static/remoteEntry.e01ddc1715812041a9e5.js", IMMUTABLE),
    ("/voila/labextensions/anywidget/static/528.d9f5934c.js", IMMUTABLE),
    ("/voila/labextensions/@jupyter-widgets/jupyterlab-manager/static/remoteEntry.c8c9eed2cdefdeac.js", IMMUTABLE),
    ("/voila/labextensions/ipydatagrid/static/14ad542071f6e259fbe2.png", IMMUTABLE),
    ("/voila/labextensions/bqplot/static/style.js", REVALIDATE),
    ("/voila/labextensions/bqplot/package.json", REVALIDATE),
    ("/voila/static/voila.js", HOUR),
    ("/voila/static/7155.voila.js", HOUR),
    ("/voila/templates/gamma-portal/static/aladin-lite/3.7.0/aladin.js", HOUR),
    ("/voila/render/portal.ipynb", None),
    ("/voila/tree", None),
    ("/api/kernels/0a4c5f2e-2b1c-4c4f-9f5e-1c2d3e4f5a6b/channels", None),
])
def test_the_cache_policy_by_path(path, policy):
    assert cache_policy(path) == policy
    assert cache_policy("/base" + path, "/base/") == policy
    assert cache_policy(path, "/base/") is None  # outside the application


def test_a_versioned_url_keeps_the_handlers_policy():
    assert cache_policy("/voila/templates/gamma-portal/static/index.css", query="v=ee8de08577") is None
    assert cache_policy("/voila/templates/gamma-portal/static/index.css", query="x=1&v=ee8de08577") is None
    assert cache_policy("/voila/templates/gamma-portal/static/index.css", query="vv=1") == HOUR
    hashed = "/voila/labextensions/@voila-dashboards/widgets-manager8/static/324.ee1c7d64c48a4b927622.js"
    assert cache_policy(hashed, query="v=ee1c7d64c48a4b927622") == IMMUTABLE  # Voila's own query: no cache


@pytest.mark.browser
@pytest.mark.slow
def test_static_files_are_gzipped_when_asked_and_cacheable(voila_server):
    entry = next((LABEXTENSIONS / "bqplot" / "static").glob("remoteEntry.*.js"))
    url = f"{voila_server.url}/voila/labextensions/bqplot/static/{entry.name}"
    zipped = httpx.get(url, headers={"Accept-Encoding": "gzip"}, timeout=60)
    assert zipped.status_code == 200
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.headers["cache-control"] == IMMUTABLE
    assert zipped.content == entry.read_bytes()  # httpx decodes: the same file
    assert zipped.num_bytes_downloaded < entry.stat().st_size / 2  # the bytes on the wire
    plain = httpx.get(url, headers={"Accept-Encoding": "identity"}, timeout=60)
    assert "content-encoding" not in plain.headers and plain.content == entry.read_bytes()

    script = f"{voila_server.url}/voila/static/voila.js"  # Voila's own bundle: kept an hour, then revalidated
    first = httpx.get(script, headers={"Accept-Encoding": "gzip"}, timeout=60)
    assert first.status_code == 200 and first.headers["content-encoding"] == "gzip"
    assert first.headers["cache-control"] == HOUR
    again = httpx.get(script, headers={"Accept-Encoding": "gzip", "If-Modified-Since": first.headers["last-modified"]},
                      timeout=60)
    assert again.status_code == 304 and again.content == b""
    stale = formatdate(0, usegmt=True)
    assert httpx.get(script, headers={"If-Modified-Since": stale}, timeout=60).status_code == 200

    page = httpx.get(voila_server.at("/voila/tree"), headers={"Accept-Encoding": "gzip"}, timeout=60)
    assert page.status_code == 200 and "cache-control" not in page.headers  # not a static file


@pytest.mark.browser
@pytest.mark.slow
@pytest.mark.requires_data
def test_the_dashboard_requests_no_denied_extension_and_draws(archive_server, voila_server, browser):
    for name in DENIED:  # Voila would serve them: only the denylist keeps the page from loading them
        assert httpx.get(f"{voila_server.url}/voila/labextensions/{name}/package.json", timeout=60).status_code == 200
    page = watched_page(browser, 1440, 900)
    headers = {}
    page.on("response", lambda r: headers.setdefault(r.url.split("?")[0], r.headers))
    try:
        page.goto(voila_server.at("/voila/render/portal.ipynb"), timeout=300_000)
        page.wait_for_selector(FIELD, timeout=300_000)
        page.wait_for_selector(DRAWN, state="attached", timeout=300_000)
        page.fill(FIELD, "Crab")  # the grid (ipydatagrid) and the SED (bqplot) draw too
        page.keyboard.press("Enter")
        page.wait_for_selector(".portal-target-message:has-text('Crab')", timeout=120_000)
        page.click(".portal-search-run")
        page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=120_000)
        page.wait_for_selector(".portal-results-grid canvas", state="attached", timeout=120_000)
        open_tab(page, "SED", ".portal-views")
        page.wait_for_selector(".portal-sed-figure svg", timeout=120_000)
        requested = {_extension(url) for url in page.requests} - {None}
        assert not requested & set(DENIED), requested
        assert USED <= requested, USED - requested
        entries = [url for url in headers if re.search(r"/voila/labextensions/.+/static/remoteEntry\.", url)]
        assert entries
        for url in entries:  # what the browser got: gzipped, and kept a year
            assert headers[url].get("content-encoding") == "gzip", url
            assert headers[url].get("cache-control") == IMMUTABLE, url
        assert "Traceback" not in page.inner_text("body")
        assert page.errors == [] and page.console_errors == []
    finally:
        page.goto("about:blank")
        page.close()


@pytest.mark.slow
def test_a_visitor_during_the_refill_delay_gets_a_kernel_at_once(tmp_path):
    """Voila alone makes the visitor after the one who took the preheated kernel wait for the refill's delay
    (here an hour: the second page would time out); the portal's Voila starts that visitor's kernel at once."""
    port = free_port()
    pools = {"default": {"pool_size": 0}, "index.ipynb": {"pool_size": 1}}  # a light notebook
    command = voila_command(REPO / "notebooks", "127.0.0.1", port, 1) + [
        f"--VoilaKernelManager.kernel_pools_config={json.dumps(pools)}", "--VoilaKernelManager.fill_delay=3600"]
    log = tmp_path / "voila.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(command, env=voila_environment({**os.environ, "PORTAL_DATA_DIR": str(tmp_path)}, TOKEN),
                                stdout=out, stderr=subprocess.STDOUT, cwd=REPO)
    voila = Server(f"http://127.0.0.1:{port}", proc, log, TOKEN)
    try:
        wait_until_up(voila.at("/voila/tree"), proc, 180)
        url = voila.at("/voila/render/index.ipynb")
        first = httpx.get(url, timeout=300)
        assert first.status_code == 200 and "Gamma-ray archive portal" in first.text
        assert log.read_text().count("Using pre-heated kernel") == 1
        second = httpx.get(url, timeout=300)  # the refill waits an hour: this page must not
        assert second.status_code == 200 and "Gamma-ray archive portal" in second.text
        assert log.read_text().count("Using pre-heated kernel") == 1
        assert len(voila_kernels(voila)) == 2  # the two visitors'; the refill has not started
    finally:
        voila.stop()
