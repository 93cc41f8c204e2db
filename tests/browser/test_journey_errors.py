"""Bad journeys in the portal dashboard: an unknown target, malformed ADQL, a job that fails, the services
stopped mid-way. Each shows a sentence, never a traceback, and the page stays usable. The module has its own
`portal serve` and Voila (it stops and restarts the services); screenshots in build/test-artifacts/errors/."""

from __future__ import annotations

import pytest

from tests.browser.test_journey import (DASHBOARD, artifacts, assert_clean, console_errors, find_target,
                                        open_tab)
from tests.support.servers import create_token, start_portal, start_voila, REPO
from tests.support.browser import watched_page
from tests.widgets.archive import wait_for_archive

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1800)]


class Services:
    """A portal serve that the tests may stop and start again on the same port and data."""

    def __init__(self, data_dir) -> None:
        self.data_dir = data_dir
        self.server = start_portal(data_dir)
        self.port = int(self.server.url.rsplit(":", 1)[1])
        wait_for_archive(self.server.url)

    def stop(self) -> None:
        self.server.stop()

    def start(self) -> None:
        self.server = start_portal(self.data_dir, port=self.port)


@pytest.fixture(scope="module")
def services(tmp_path_factory):
    services = Services(tmp_path_factory.mktemp("errors-portal"))
    try:
        yield services
    finally:
        services.stop()


@pytest.fixture(scope="module")
def page(services, browser):
    token = create_token(services.data_dir, "carol")
    voila = start_voila(REPO / "notebooks", {"PORTAL_URL": services.server.url, "PORTAL_TOKEN": token,
                                             "PORTAL_DATA_DIR": str(services.data_dir)})
    page = watched_page(browser, 1440, 900)
    try:
        page.goto(voila.at(DASHBOARD), timeout=300_000)
        page.wait_for_selector(".portal-sky-view [data-portal-footprints]", state="attached", timeout=300_000)
        yield page
    finally:
        page.close()
        voila.stop()


def test_an_unknown_target_is_a_sentence_and_the_next_one_works(page):
    find_target(page, "No Such Source 42")
    message = page.wait_for_selector(".portal-target-message:has-text('no position found')", timeout=120_000)
    assert "No Such Source 42" in message.inner_text()
    page.screenshot(path=str(artifacts("errors") / "1-unknown-target.png"))
    find_target(page, "Crab")
    page.wait_for_selector(".portal-target-message:has-text('Crab nebula')", timeout=120_000)
    assert_clean(page)


def on_the_crab(page) -> None:
    """Each test starts from the Crab, whatever the one before left."""
    if "Crab nebula:" not in page.inner_text(".portal-target-message"):
        find_target(page, "Crab")
        page.wait_for_selector(".portal-target-message:has-text('Crab nebula:')", timeout=120_000)


def test_malformed_adql_points_at_its_column_and_keeps_the_rows(page):
    on_the_crab(page)
    open_tab(page, "Archive search")
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=120_000)
    page.click(".portal-tabs button:has-text('Edit ADQL')")
    page.fill(".portal-adql textarea", "SELECT * FRM ivoa.obscore")
    page.keyboard.press("Tab")
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-search-status:has-text('syntax error')", timeout=120_000)
    quoted = page.inner_text(".portal-search-status pre.portal-query-error").splitlines()
    query = next(line for line in quoted if "FRM" in line)
    caret = next(line for line in quoted if line.strip() == "^")
    assert caret.index("^") == query.index("FRM")
    page.wait_for_selector(".portal-results-stale-note:has-text('from the previous search')", timeout=30_000)
    assert "4 rows" in page.inner_text(".portal-results")  # nothing lost
    page.screenshot(path=str(artifacts("errors") / "2-malformed-adql.png"))

    page.fill(".portal-adql textarea", "SELECT * FROM ivoa.obscore WHERE obs_id = 23523")
    page.keyboard.press("Tab")
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-results:has-text('1 rows')", timeout=120_000)
    assert page.locator(".portal-results-stale-note:has-text('previous')").count() == 0
    page.click(".portal-tabs button:has-text('Edit ADQL')")  # back to the form
    assert_clean(page)


def test_a_job_that_fails_says_why(page):
    on_the_crab(page)
    open_tab(page, "Launch an analysis")
    page.fill(".portal-param-obs_ids input", "1")
    page.keyboard.press("Tab")
    page.click(".portal-launch-submit")
    page.wait_for_selector(".portal-job-monitor .portal-job-header:has-text('spectrum')", timeout=120_000)
    page.wait_for_selector(".portal-job-phase:has-text('ERROR')", timeout=600_000)
    page.wait_for_selector(".portal-job-detail:has-text('unknown obs id: 1')", timeout=120_000)
    page.screenshot(path=str(artifacts("errors") / "3-failed-job.png"))
    assert_clean(page)


def test_services_stopped_mid_way_are_a_message_and_the_page_recovers(page, services):
    on_the_crab(page)
    open_tab(page, "Archive search")
    services.stop()
    try:
        page.click(".portal-search-run")
        page.wait_for_selector(".portal-search-status:has-text('cannot be reached')", timeout=120_000)
        page.wait_for_selector(".portal-results-stale-note:has-text('from the previous search')", timeout=30_000)
        find_target(page, "83.633 22.0145")  # coordinates need no service: the page is still usable
        page.wait_for_selector(".portal-target-message:has-text('83.633')", timeout=120_000)
        open_tab(page, "Services")
        page.locator(".portal-tabs button:has-text('Refresh'):visible").click()
        page.wait_for_selector(".portal-status:has-text('cannot be reached')", timeout=120_000)
        page.screenshot(path=str(artifacts("errors") / "4-services-stopped.png"))
    finally:
        services.start()
    open_tab(page, "Archive search")
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-search-status:has-text('rows in')", timeout=120_000)
    assert page.locator(".portal-results-stale-note:has-text('previous')").count() == 0
    page.screenshot(path=str(artifacts("errors") / "5-services-back.png"))
    assert "Traceback" not in page.inner_text("body")
    assert page.errors == [] and console_errors(page) == []
