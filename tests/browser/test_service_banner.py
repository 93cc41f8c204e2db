"""The Portal in Voila when what it stands on goes away (headless chromium, offline):

- `portal serve` stops: a banner says the services cannot be reached within the health probe's interval,
  the Services tab stops saying "available"; it starts again on the same port: the banner goes, Services
  says "available" again and a Search works, all without reloading the page;
- the page's kernel dies (and is restarted without the page's widgets): the template's banner says to
  reload, with a Reload button that brings the dashboard back;
- Voila stops: the template's banner says "reconnecting…", then to reload the page.

Console errors fail the test, except the failed connections the outage itself causes (named precisely
below). Screenshots at 1280x800, 1440x900 and 1920x1080 go to build/screenshots/ (PORTAL_SCREENSHOTS
elsewhere)."""

from __future__ import annotations

import json
import os
import re
import time
from pathlib import Path

import psutil
import pytest

from tests.browser.test_journey import find_target
from tests.support.browser import is_external, open_tab, watched_page
from tests.support.servers import REPO, create_token, start_portal, start_voila, voila_kernels
from tests.widgets.archive import wait_for_archive
from widgets.health import INTERVAL

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1200)]

DASHBOARD = "/voila/render/portal.ipynb"
BANNER = ".portal-banner:has-text('The portal services cannot be reached: retrying')"
KERNEL_BANNER = ".gamma-kernel-banner"
SLACK = 30  # seconds on top of the probe interval, for a loaded machine


def screenshots() -> Path:
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


SIZES = ((1280, 800), (1440, 900), (1920, 1080))


def shoot(page, name: str) -> list[Path]:
    """Screenshots at the three screen sizes; the page is left at 1280x800."""
    paths = []
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_timeout(300)  # the widgets' layout follows the window
        paths.append(screenshots() / f"{name}-{width}x{height}.png")
        page.screenshot(path=str(paths[-1]))
    page.set_viewport_size({"width": 1280, "height": 800})
    return paths


@pytest.fixture(scope="module")
def portal(tmp_path_factory):
    """A `portal serve` of this module's own (it is stopped and started again), H.E.S.S. DR1 ingested."""
    data = tmp_path_factory.mktemp("banner-data")
    server = start_portal(data)
    try:
        wait_for_archive(server.url)
        yield server
    finally:
        server.kill()


@pytest.fixture(scope="module")
def voila(portal):
    """Voila of this module's own (the last test stops it), its kernels on ``portal`` as alice."""
    data = portal.log.parent
    env = {"PORTAL_URL": portal.url, "PORTAL_DATA_DIR": str(data), "PORTAL_TOKEN": create_token(data, "alice"),
           "PORTAL_VOILA_POOL": "0"}
    server = start_voila(REPO / "notebooks", env)
    try:
        yield server
    finally:
        server.stop()


def opened(browser, voila):
    """The Portal drawn in a 1280x800 page that records its console errors with their source."""
    page = watched_page(browser, 1280, 800)
    page.console_sources = []
    page.on("console", lambda m: page.console_sources.append((m.text, m.location.get("url", "")))
            if m.type == "error" else None)
    page.goto(voila.url + DASHBOARD, timeout=300_000)
    page.wait_for_selector(".portal-tabs", timeout=300_000)
    page.wait_for_selector(".portal-sky-view [data-portal-footprints]", state="attached", timeout=300_000)
    return page


def unexpected_console(page, allowed=()) -> list:
    """Console errors that no ``allowed`` pattern (a regular expression on "text @ source") matches."""
    return [f"{text} @ {url}" for text, url in page.console_sources
            if not any(re.fullmatch(pattern, f"{text} @ {url}", re.S) for pattern in allowed)]


def search_crab(page) -> None:
    find_target(page, "Crab")
    page.wait_for_selector(".portal-target-message:has-text('Crab nebula')", timeout=120_000)
    page.click(".portal-search-run")


def services_text(page) -> str:
    open_tab(page, "Services")
    return page.inner_text("table.portal-status")


def test_the_banner_follows_the_services_and_the_page_recovers_by_itself(browser, voila, portal):
    page = opened(browser, voila)
    try:
        search_crab(page)
        page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=120_000)
        assert page.locator(BANNER).count() == 0
        port = int(portal.url.rsplit(":", 1)[1])

        portal.kill()  # as a crash would
        stopped = time.monotonic()
        page.wait_for_selector(BANNER, state="visible", timeout=(INTERVAL + SLACK) * 1000)
        shown = time.monotonic() - stopped
        print(f"\nservices killed -> banner shown: {shown:.1f} s (probe interval {INTERVAL:g} s)")  # the wait bounds it
        banner_box = page.locator(".portal-banner").bounding_box()
        assert banner_box["y"] < page.locator(".portal-header").bounding_box()["y"]  # at the top
        shoot(page, "service-banner")
        page.wait_for_function("() => [...document.querySelectorAll('table.portal-status tr')].every("
                               "r => !r.textContent.includes('available'))", timeout=120_000)
        assert "cannot be reached" in services_text(page)
        shoot(page, "service-banner-services-tab")
        open_tab(page, "Archive search")
        page.click(".portal-search-run")  # not silent: the search says why it failed
        page.wait_for_selector(".portal-search-status:has-text('failed'), .portal-search-status:has-text('reached')",
                               timeout=120_000)

        restarted = start_portal(portal.log.parent, port=port)
        portal.proc = restarted.proc  # the fixture kills this one
        back = time.monotonic()
        page.wait_for_selector(BANNER, state="hidden", timeout=(INTERVAL + SLACK) * 1000)
        print(f"services back -> banner gone: {time.monotonic() - back:.1f} s")
        page.wait_for_function("() => [...document.querySelectorAll('table.portal-status tr')].some("
                               "r => r.textContent.includes('available'))", timeout=120_000)
        assert "cannot be reached" not in services_text(page)
        open_tab(page, "Archive search")
        page.click(".portal-search-run")
        page.wait_for_selector(".portal-search-status:has-text('4 rows')", timeout=120_000)
        assert page.locator(".portal-results:has-text('4 rows')").count() == 1
        assert page.errors == [] and unexpected_console(page) == []
        assert [u for u in page.requests if is_external(u) and "cds" not in u] == []
    finally:
        page.close()


def page_kernel(page, voila) -> psutil.Process:
    kernel_id = json.loads(page.inner_text("#jupyter-config-data", timeout=30_000))["kernelId"]
    return next(k for k in voila_kernels(voila) if any(kernel_id in part for part in k.cmdline()))


def test_the_template_says_when_the_kernel_is_lost_and_reload_brings_the_dashboard_back(browser, voila):
    page = opened(browser, voila)
    try:
        page_kernel(page, voila).kill()  # the kernel dies; the server starts another without the page's widgets
        page.wait_for_selector(f"{KERNEL_BANNER}:has-text('Reload the page')", state="visible", timeout=120_000)
        assert page.locator(f"{KERNEL_BANNER} .gamma-kernel-banner-reload").is_visible()
        shoot(page, "kernel-restarted-banner")
        assert page.errors == [] and unexpected_console(page) == []

        page.click(f"{KERNEL_BANNER} .gamma-kernel-banner-reload")
        page.wait_for_selector(".portal-tabs", timeout=300_000)
        page.wait_for_selector(".portal-sky-view [data-portal-footprints]", state="attached", timeout=300_000)
        assert page.locator(KERNEL_BANNER).count() == 0 or not page.locator(KERNEL_BANNER).is_visible()

        ws = rf"WebSocket connection to 'ws://127\.0\.0\.1:{voila.url.rsplit(':', 1)[1]}/api/kernels/[0-9a-f-]+/channels[^']*' failed: .*"
        refused = rf"Failed to load resource: net::ERR_CONNECTION_REFUSED @ {re.escape(voila.url)}/api/kernels/[0-9a-f-]+(\?.*)?"
        voila.stop()
        page.wait_for_selector(f"{KERNEL_BANNER}:has-text('reconnecting…')", state="visible", timeout=60_000)
        assert not page.locator(f"{KERNEL_BANNER} .gamma-kernel-banner-reload").is_visible()
        shoot(page, "kernel-reconnecting-banner")
        page.wait_for_selector(f"{KERNEL_BANNER}:has-text('Reload the page')", state="visible", timeout=120_000)
        assert page.locator(f"{KERNEL_BANNER} .gamma-kernel-banner-reload").is_visible()
        shoot(page, "kernel-lost-banner")
        assert page.errors == []
        assert unexpected_console(page, allowed=(ws + " @ .*", refused)) == []
    finally:
        page.close()
