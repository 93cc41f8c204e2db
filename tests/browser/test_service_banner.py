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
import re
import time

import psutil
import pytest

from tests.support.browser import SIZES, is_external, open_dashboard, open_tab, save_screenshot, search_crab
from tests.support.servers import REPO, create_token, start_portal, start_voila, voila_kernels
from tests.widgets.archive import wait_for_archive
from widgets.health import INTERVAL

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1200)]

BANNER = ".portal-banner:has-text('The portal services cannot be reached: retrying')"
KERNEL_BANNER = ".gamma-kernel-banner"
SLACK = 30  # seconds on top of the probe interval, for a loaded machine


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
    """``with opened(browser, voila) as page:`` the Portal drawn in a 1280x800 page that records its console errors
    with their source (none so far)."""
    return open_dashboard(browser, voila, 1280, 800, allowed=())


def unexpected_console(page, allowed=()) -> list:
    """Console errors that no ``allowed`` pattern (a regular expression on "text @ source") matches."""
    return [f"{text} @ {url}" for text, url in page.console_sources
            if not any(re.fullmatch(pattern, f"{text} @ {url}", re.S) for pattern in allowed)]


def services_text(page) -> str:
    open_tab(page, "Services")
    return page.inner_text("table.portal-status")


def test_the_banner_follows_the_services_and_the_page_recovers_by_itself(browser, voila, portal):
    with opened(browser, voila) as page:
        search_crab(page)
        assert page.locator(BANNER).count() == 0
        port = int(portal.url.rsplit(":", 1)[1])

        portal.kill()  # as a crash would
        stopped = time.monotonic()
        page.wait_for_selector(BANNER, state="visible", timeout=(INTERVAL + SLACK) * 1000)
        shown = time.monotonic() - stopped
        print(f"\nservices killed -> banner shown: {shown:.1f} s (probe interval {INTERVAL:g} s)")  # the wait bounds it
        banner_box = page.locator(".portal-banner").bounding_box()
        assert banner_box["y"] < page.locator(".portal-header").bounding_box()["y"]  # at the top
        save_screenshot(page, "service-banner", SIZES)
        page.wait_for_function("() => [...document.querySelectorAll('table.portal-status tr')].every("
                               "r => !r.textContent.includes('available'))", timeout=120_000)
        assert "cannot be reached" in services_text(page)
        save_screenshot(page, "service-banner-services-tab", SIZES)
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


def page_kernel(page, voila) -> psutil.Process:
    kernel_id = json.loads(page.inner_text("#jupyter-config-data", timeout=30_000))["kernelId"]
    return next(k for k in voila_kernels(voila) if any(kernel_id in part for part in k.cmdline()))


def test_the_template_says_when_the_kernel_is_lost_and_reload_brings_the_dashboard_back(browser, voila):
    with opened(browser, voila) as page:
        page_kernel(page, voila).kill()  # the kernel dies; the server starts another without the page's widgets
        page.wait_for_selector(f"{KERNEL_BANNER}:has-text('Reload the page')", state="visible", timeout=120_000)
        assert page.locator(f"{KERNEL_BANNER} .gamma-kernel-banner-reload").is_visible()
        save_screenshot(page, "kernel-restarted-banner", SIZES)
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
        save_screenshot(page, "kernel-reconnecting-banner", SIZES)
        page.wait_for_selector(f"{KERNEL_BANNER}:has-text('Reload the page')", state="visible", timeout=120_000)
        assert page.locator(f"{KERNEL_BANNER} .gamma-kernel-banner-reload").is_visible()
        save_screenshot(page, "kernel-lost-banner", SIZES)
        assert page.errors == []
        assert unexpected_console(page, allowed=(ws + " @ .*", refused)) == []
