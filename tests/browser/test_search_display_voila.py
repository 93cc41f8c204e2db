"""Names and units in the Portal, as a person sees them in Voila (issue 21, points 7 and 10): the archive
grid shows the Crab runs' start times as UTC dates; a malformed query's caret stands, in a monospace block,
under the character the service names (their x positions compared on the page); a job's provenance graph
fits its box in the left column. Screenshots at 1280x800, 1440x900 and 1920x1080 are kept in
build/screenshots/ (PORTAL_SCREENSHOTS elsewhere)."""

from __future__ import annotations

import pytest

from tests.browser.test_journey import assert_clean
from tests.support.browser import SIZES, find_target, open_dashboard, open_tab, save_screenshot, select_rows
from widgets.jobs.provenance import WIDTH

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1800)]

BAD_QUERY = "SELECT obs_id, t_min\nFROM ivoa.obscore\nWHERE target_name = '<i>Crab</i>' ANDD t_min > 0"


def shoot(page, name: str) -> None:
    """Screenshots at every size, where the page never scrolls sideways."""
    def no_sideways(width: int, height: int) -> None:
        assert page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth") <= 0, \
            f"the page scrolls sideways at {width}x{height}"

    save_screenshot(page, name, SIZES, at_each=no_sideways)


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
    with open_dashboard(browser, voila_server, 1280, 800, permissions=["clipboard-read", "clipboard-write"]) \
            as page:
        find_target(page, "Crab")
        page.wait_for_selector(".portal-target-message:has-text('Crab nebula:')", timeout=120_000)
        yield page


def test_the_grid_shows_the_runs_start_as_utc_dates(page):
    open_tab(page, "Archive search")
    # the form takes its tab's width (sized by its content, it was narrower, and widened with a long message)
    form, tab = page.evaluate("""() => { const body = [...document.querySelectorAll('.portal-tabs .portal-tab-body')]
        .find(b => b.offsetParent !== null); return [body.firstElementChild.getBoundingClientRect().width,
        body.clientWidth]; }""")
    assert form >= tab - 2, (form, tab)
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=120_000)
    note = page.inner_text(".portal-results-dates")
    assert "UTC dates" in note and "MJD" in note
    # the grid draws on a canvas: copy the first row (Ctrl+C copies the selected cells as text) and read it
    select_rows(page, 1)
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
    save_screenshot(page, "provenance-1280x800")
    assert_clean(page)


def uncovered(page, selector: str) -> bool:
    """The first ``selector`` scrolled into view is what the page shows at its centre (no other part on it)."""
    element = page.locator(selector).first
    element.scroll_into_view_if_needed()
    return page.evaluate("""e => { const r = e.getBoundingClientRect();
        const at = document.elementFromPoint(r.x + r.width / 2, r.y + r.height / 2);
        return at !== null && (at === e || e.contains(at)); }""", element.element_handle())


def test_the_pyvo_code_and_the_row_for_another_service_are_drawn_when_asked(page):
    """The first screen draws neither (they are made when first asked for): the query's pyvo code, and the row
    where another TAP service's URL is typed; both then read as the rest of the form."""
    open_tab(page, "Archive search")
    assert page.locator(".portal-pyvo-code").count() == 0
    assert page.locator("input[placeholder='https://example.org/tap']").count() == 0
    page.click(".portal-tabs button:has-text('pyvo code')")
    page.wait_for_function("() => [...document.querySelectorAll('.portal-pyvo-code textarea')]"
                           ".some(t => t.value.includes('pyvo.dal.TAPService('))", timeout=60_000)
    services = page.locator(".portal-tabs select:has(option:has-text('Other TAP service'))")
    services.select_option(label="Other TAP service...")
    page.wait_for_selector("input[placeholder='https://example.org/tap']", state="visible", timeout=60_000)
    # the form is now taller than its tab: the tab scrolls, and no line of it is drawn over another
    for control in ("input[placeholder='https://example.org/tap']", ".portal-tabs button:has-text('Use')",
                    ".portal-tabs .widget-label:has-text('Look for')", ".portal-tabs button:has-text('Edit ADQL')",
                    ".portal-tabs button:has-text('pyvo code')", ".portal-pyvo-code textarea",
                    ".portal-tabs button:has-text('Async')", ".portal-search-run"):
        assert uncovered(page, control), f"{control} is drawn under another part of the form"
    shoot(page, "search-pyvo-code-other-service")
    services.select_option(index=0)  # back to the archive, the code hidden
    page.wait_for_selector("input[placeholder='https://example.org/tap']", state="hidden", timeout=60_000)
    page.click(".portal-tabs button:has-text('pyvo code')")
    page.wait_for_selector(".portal-pyvo-code", state="hidden", timeout=60_000)
    assert_clean(page)
