"""Names and units in the Portal, as a person sees them in Voila (issue 21, points 7 and 10): the archive
grid shows the Crab runs' start times as UTC dates; a malformed query's caret stands, in a monospace block,
under the character the service names (their x positions compared on the page); a job's provenance graph
fits its box in the left column. Screenshots at 1280x800, 1440x900 and 1920x1080 are kept in
build/screenshots/ (PORTAL_SCREENSHOTS elsewhere)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.browser.pixels import is_allowed_external
from tests.support.browser import is_external, open_tab
from tests.support.servers import REPO
from widgets.jobs.provenance import WIDTH

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1800)]

SIZES = [(1280, 800), (1440, 900), (1920, 1080)]
ALLOWED_CONSOLE = ("AladinLiteLogger", "net::ERR_", "Failed to load resource", "MocServer")
BAD_QUERY = "SELECT obs_id, t_min\nFROM ivoa.obscore\nWHERE target_name = '<i>Crab</i>' ANDD t_min > 0"


def screenshots() -> Path:
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def shoot(page, name: str, sizes=SIZES) -> None:
    for width, height in sizes:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function(f"() => window.innerWidth === {width}")
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, \
            f"the page scrolls sideways at {width}x{height}"
        page.screenshot(path=str(screenshots() / f"{name}-{width}x{height}.png"))
    page.set_viewport_size({"width": 1280, "height": 800})


def assert_clean(page) -> None:
    external = [u for u in page.requests if is_external(u) and not is_allowed_external(u)]
    assert external == [], f"fetched from outside the machine: {external}"
    assert page.errors == []
    assert [m for m in page.console_errors if not any(a in m for a in ALLOWED_CONSOLE)] == []
    assert "Traceback" not in page.inner_text("body")


@pytest.fixture(scope="module")
def job_id(archive_server, portal_token):
    """A small spectrum job of alice's, started before the page opens: done by the time it is looked at."""
    from widgets.client import PortalClient

    client = PortalClient(archive_server.url, portal_token)
    try:
        url = client.uws.create("spectrum", {"obs_ids": "23523", "ra": 83.633, "dec": 22.0145, "n_bins": 2},
                                run=True)
    finally:
        client.close()
    return url.rstrip("/").rsplit("/", 1)[1]


@pytest.fixture(scope="module")
def page(voila_server, archive_server, browser, job_id):
    context = browser.new_context(viewport={"width": 1280, "height": 800},
                                  permissions=["clipboard-read", "clipboard-write"])
    page = context.new_page()
    page.requests, page.errors, page.console_errors = [], [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))
    page.on("console", lambda m: page.console_errors.append(m.text) if m.type == "error" else None)
    try:
        page.goto(voila_server.url + "/voila/render/portal.ipynb", timeout=300_000)
        page.wait_for_selector(".portal-sky-view [data-portal-footprints]", state="attached", timeout=300_000)
        page.fill(".portal-target-search input[type=text] >> nth=0", "Crab")
        page.keyboard.press("Enter")
        page.wait_for_selector(".portal-target-message:has-text('Crab nebula:')", timeout=120_000)
        yield page
    finally:
        context.close()


def test_the_grid_shows_the_runs_start_as_utc_dates(page):
    open_tab(page, "Archive search")
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=120_000)
    note = page.inner_text(".portal-results-dates")
    assert "UTC dates" in note and "MJD" in note
    # the grid draws on a canvas: copy the first row (Ctrl+C copies the selected cells as text) and read it
    grid = page.locator(".portal-results-grid").bounding_box()
    page.mouse.click(grid["x"] + 150, grid["y"] + 30)
    page.wait_for_selector(".portal-results:has-text('1 selected')", timeout=30_000)
    page.keyboard.press("Control+c")
    page.wait_for_function("() => navigator.clipboard.readText().then(t => t.length > 0)", timeout=30_000)
    row = page.evaluate("() => navigator.clipboard.readText()")
    assert "2004-12-04 22:07:06" in row and "23523" in row, row  # run 23523 started then (UTC; MJD 53343.92, TT)
    shoot(page, "search-dates")
    assert_clean(page)


def test_the_caret_stands_under_the_offending_character(page):
    open_tab(page, "Archive search")
    page.click(".portal-tabs button:has-text('Edit ADQL')")
    page.fill(".portal-adql textarea", BAD_QUERY)
    page.keyboard.press("Tab")
    page.click(".portal-search-run")
    block = page.wait_for_selector(".portal-search-status pre.portal-query-error", timeout=120_000)
    lines = block.inner_text().splitlines()
    assert lines[0] == "3 | WHERE target_name = '<i>Crab</i>' ANDD t_min > 0"  # escaped: shown as typed
    assert page.locator(".portal-search-status pre i").count() == 0
    where = page.evaluate("""pre => {
        const text = pre.firstChild, all = text.textContent, box = i => {
            const r = document.createRange(); r.setStart(text, i); r.setEnd(text, i + 1);
            return r.getBoundingClientRect(); };
        const line0 = all.indexOf('ANDD'), caret = all.indexOf('^'), i = all.indexOf('i'), w = all.indexOf('W');
        return {word: box(line0).left, caret: box(caret).left, narrow: box(i).width, wide: box(w).width,
                font: getComputedStyle(pre).fontFamily};
    }""", block)
    assert abs(where["narrow"] - where["wide"]) < 0.1, where  # a monospace font (a proportional one: 3 px apart)
    assert abs(where["caret"] - where["word"]) < 1, where  # the caret under the 'A' of ANDD
    block.scroll_into_view_if_needed()
    shoot(page, "search-caret")
    page.click(".portal-tabs button:has-text('Edit ADQL')")  # back to the form
    assert_clean(page)


def test_the_provenance_graph_fits_its_box(page, job_id):
    open_tab(page, "Your jobs")
    page.locator(f".portal-job-list option:has-text('{job_id[:8]}')").wait_for(state="attached", timeout=120_000)
    texts = page.locator(".portal-job-list option").all_inner_texts()
    page.locator(".portal-job-list select").select_option(index=next(i for i, t in enumerate(texts)
                                                                     if job_id[:8] in t))
    page.wait_for_selector(f".portal-job-header:has-text('{job_id}')", timeout=60_000)
    page.wait_for_selector(".portal-job-phase:has-text('COMPLETED')", timeout=900_000)
    page.click(".portal-job-detail .lm-TabBar-tab:has-text('Provenance'), "
               ".portal-job-detail .p-TabBar-tab:has-text('Provenance')")
    graph = page.wait_for_selector("svg.portal-provenance-graph", timeout=120_000)
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.wait_for_function(f"() => window.innerWidth === {width}")
        svg, box = graph.bounding_box(), page.locator(".portal-job-provenance").bounding_box()
        assert svg["x"] >= box["x"] - 1 and svg["x"] + svg["width"] <= box["x"] + box["width"] + 1, (svg, box)
        assert svg["width"] / WIDTH >= 0.85  # its labels (11 px) no smaller than 9.4 px
        agents = page.locator("svg.portal-provenance-graph .prov-agent").first.bounding_box()
        generated = page.locator("svg.portal-provenance-graph text.prov-heading:text-is('generated')").bounding_box()
        assert generated["x"] + generated["width"] <= box["x"] + box["width"], "the right column is clipped"
        assert agents["width"] > 0
    page.set_viewport_size({"width": 1280, "height": 800})
    graph.scroll_into_view_if_needed()
    page.screenshot(path=str(screenshots() / "provenance-1280x800.png"))
    assert_clean(page)
