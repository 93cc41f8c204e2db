"""The whole journey in the portal dashboard, as a person sees it in Voila (headless chromium, offline):
find the Crab, see the archive's observations on the sky, filter them, select two, launch a spectrum, follow
it to COMPLETED while its SED grows beside it (points, the fit's envelope, catalog counterparts toggled, refits
whose parameters change), and the layout fits a 1440x900 and a 1280x800 screen with no horizontal scrolling.
Screenshots of every step are kept in build/test-artifacts/journey/ (PORTAL_TEST_ARTIFACTS elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.pixels import is_allowed_external
from tests.browser.sed_page import FHL_GREEN, JOB_BLACK, REFIT_LP, REFIT_PL, toggle, wait_for_drawn
from tests.support.browser import DASHBOARD, find_target  # noqa: F401 - test_journey_errors imports them from here
from tests.support.browser import is_external, open_dashboard, open_tab, search_crab, select_rows, unexpected_console
from tests.support.servers import REPO

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1800)]


def artifacts(name: str) -> Path:
    """The folder where a journey keeps its screenshots (kept after the run, ignored by git)."""
    root = Path(os.environ.get("PORTAL_TEST_ARTIFACTS") or REPO / "build" / "test-artifacts")
    folder = root / name
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def console_errors(page) -> list[str]:
    """Console errors, less the known harmless ones of Aladin Lite asking CDS while offline."""
    return unexpected_console(page)


def assert_clean(page) -> None:
    """Nothing from outside the machine but Aladin's usage log, no script error, no traceback shown."""
    external = [u for u in page.requests if is_external(u) and not is_allowed_external(u)]
    assert external == [], f"fetched from outside the machine: {external}"
    assert page.errors == []
    assert console_errors(page) == []
    assert "Traceback" not in page.inner_text("body")


def current_tab(tabs: str, title: str) -> str:
    return (f"{tabs} .lm-TabBar-tab.lm-mod-current:has-text('{title}'), "
            f"{tabs} .p-TabBar-tab.p-mod-current:has-text('{title}')")


def refit(page, model: str) -> str:
    """Refit ``model`` (the dropdown's text) from the SED's bar; the refit's line of the summary."""
    page.locator(".portal-sed .widget-dropdown:has(label:text-is('Refit')) select").select_option(label=model)
    page.click(".portal-sed-refit-button")
    line = page.wait_for_selector(f".portal-sed-refit:has-text('Refit: {model} fitted to')", timeout=120_000)
    return next(text for text in line.inner_text().splitlines() if text.startswith("Refit: "))


def horizontal_overflow(page) -> int:
    """How many pixels the page is wider than the window (0: no horizontal scroll bar)."""
    return page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")


@pytest.fixture(scope="module")
def page(voila_server, archive_server, browser):
    with open_dashboard(browser, voila_server) as page:
        yield page


def test_the_journey_from_a_target_to_a_completed_spectrum(page):
    shots = artifacts("journey")
    assert horizontal_overflow(page) <= 0
    page.screenshot(path=str(shots / "1-opened.png"))

    # find the target, the sky goes there and the search's cone follows; search the archive: the ADQL is there
    # to read, the four runs are on the sky and in the table
    search_crab(page, "0.6 deg")
    assert page.input_value(".portal-tabs input[placeholder='e.g. 0.5']") == "0.6"
    page.wait_for_selector(".portal-sky-view [data-portal-footprints='4']", timeout=60_000)
    adql = page.input_value(".portal-adql textarea")
    assert "INTERSECTS(s_region, CIRCLE('ICRS', 83.6331, 22.0145, 0.6))" in adql
    grid = page.locator(".portal-results-grid").bounding_box()
    assert grid["y"] + 20 + 4 * 20 <= 900, f"the four rows are not all on the screen: {grid}"
    page.screenshot(path=str(shots / "2-searched.png"))

    # filter: pointings inside the circle only
    page.click(".portal-tabs button:has-text('Pointing inside')")
    page.wait_for_function("() => document.querySelector('.portal-adql textarea').value.includes('CONTAINS(POINT')")
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-results:has-text('2 rows')", timeout=60_000)
    page.wait_for_selector(".portal-sky-view [data-portal-footprints='2']", timeout=60_000)

    # select both runs, in the table: the sky highlights them
    select_rows(page, 2)
    page.wait_for_selector(".portal-sky-view [data-portal-selected='2']", timeout=30_000)
    page.screenshot(path=str(shots / "3-selected.png"))

    # launch a spectrum on them: the launcher was filled from the selection and the target
    open_tab(page, "Launch an analysis")
    page.wait_for_selector(".portal-launch-summary:has-text('spectrum on 2 observations')", timeout=30_000)
    assert sorted(page.input_value(".portal-param-obs_ids input").split(",")) == ["23523", "23526"]
    page.fill(".portal-param-n_bins input", "4")
    page.keyboard.press("Tab")
    page.screenshot(path=str(shots / "4-launch.png"))
    page.click(".portal-launch-submit")

    # follow it: the dashboard turns to the jobs, the job reaches COMPLETED with its results
    page.wait_for_selector(".portal-job-monitor .portal-job-header:has-text('spectrum')", timeout=60_000)
    page.wait_for_selector(".portal-job-phase:has-text('COMPLETED')", timeout=900_000)
    page.wait_for_selector(".portal-job-detail:has-text('flux_points')", state="attached", timeout=60_000)

    # the SED came to the front at the submission and followed the job: its points, then the fit's envelope
    page.wait_for_selector(current_tab(".portal-views", "SED"), timeout=30_000)
    page.wait_for_selector(".portal-sed-job:has-text('completed: 4 flux points and the fitted model')",
                           timeout=300_000)
    wait_for_drawn(page, "path.dot", JOB_BLACK, 4)  # the points (and any upper limits), all four bins
    wait_for_drawn(page, "path.area", JOB_BLACK, 1)  # the forward-folded fit's 1 sigma envelope
    assert "forward-folded fit" in page.inner_text(".portal-sed-refit")
    page.screenshot(path=str(shots / "5-completed.png"))

    # the target's catalog counterparts are beside it; the 3FHL points go with their toggle and come back
    page.wait_for_selector(".portal-sed-legend b:text-is('3FHL J0534.5+2201')", timeout=300_000)
    wait_for_drawn(page, "path.dot", FHL_GREEN, 1)
    toggle(page, "3FHL J0534.5+2201", "flux points")
    wait_for_drawn(page, "path.dot", FHL_GREEN, 0, at_most=0)
    toggle(page, "3FHL J0534.5+2201", "flux points")
    wait_for_drawn(page, "path.dot", FHL_GREEN, 1)

    # refits from the likelihood profiles: each draws its curve, and the parameters change with the model
    curved = refit(page, "log-parabola")
    wait_for_drawn(page, "path.line", REFIT_LP, 1, prop="stroke")
    straight = refit(page, "power law")
    wait_for_drawn(page, "path.line", REFIT_PL, 1, prop="stroke")
    assert "alpha = " in curved and "beta = " in curved, curved
    assert "index = " in straight and "beta" not in straight, straight
    page.screenshot(path=str(shots / "6-sed.png"))
    assert horizontal_overflow(page) <= 0
    assert_clean(page)


def test_the_dashboard_fits_a_1280x800_screen(page):
    page.set_viewport_size({"width": 1280, "height": 800})
    try:
        open_tab(page, "Sky", ".portal-views")
        open_tab(page, "Archive search")
        assert horizontal_overflow(page) <= 0
        grid = page.locator(".portal-results-grid").bounding_box()
        assert grid["y"] + 20 + 2 * 20 <= 800, grid
        for title in ("Launch an analysis", "Your jobs", "Services"):
            open_tab(page, title)
            assert horizontal_overflow(page) <= 0, title
        open_tab(page, "SED", ".portal-views")
        page.wait_for_selector(current_tab(".portal-views", "SED"))
        assert horizontal_overflow(page) <= 0, "SED"
        page.screenshot(path=str(artifacts("journey") / "7-at-1280x800.png"))
    finally:
        page.set_viewport_size({"width": 1440, "height": 900})
