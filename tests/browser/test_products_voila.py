"""Products of the archive in the Portal, as a person sees them in Voila (headless chromium, offline).

Alice (the dashboard's token) has a skymap job of the Crab, published privately. In the dashboard: the archive
search's "Products" finds its maps (the ADQL says calib_level 4); a map's row opens in the product bar, its
provenance graph in the Product tab, and "Show on sky" overlays it on the offline sky with a colour map and an
opacity, then "Remove" takes it off; the job monitor shows that the job is published, and changes its
visibility. Console errors fail the test. Screenshots at 1280x800, 1440x900 and 1920x1080 of the product search
results, the publish control and the overlay go to $PORTAL_SCREENSHOTS (default build/screenshots/)."""

from __future__ import annotations

import pytest

from tests.browser.test_journey import assert_clean, current_tab, horizontal_overflow
from tests.support.browser import SIZES, click_row, find_target, open_dashboard, open_tab, save_screenshot
from tests.widgets.test_products import CRAB, RUNS, run_job
from widgets.client import PortalClient

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1800)]

SKYMAP = {"obs_ids": RUNS, "ra": CRAB[0], "dec": CRAB[1], "width": 2.0, "binsz": 0.02, "e_min": 1, "e_max": 10}
IMAGE = ".portal-sky-view [data-portal-image]"


@pytest.fixture(scope="module")
def skymap_job(archive_server, portal_token):
    client = PortalClient(archive_server.url, portal_token)
    try:
        url = run_job(client, "skymap", SKYMAP)
        try:
            assert client.uws.publish(url) == "private"
            yield url
        finally:  # the session's archive is shared: later tests count the Crab's rows (its 4 runs)
            client.uws.unpublish(url)
    finally:
        client.close()


@pytest.fixture(scope="module")
def page(voila_server, archive_server, browser, skymap_job):
    with open_dashboard(browser, voila_server, 1280, 800) as page:
        yield page


def no_overlap(page, selectors: list[str]) -> None:
    """The boxes of ``selectors`` (those shown) do not overlap one another, and the page has no horizontal scroll."""
    boxes = [(s, page.locator(s).first.bounding_box()) for s in selectors]
    boxes = [(s, b) for s, b in boxes if b and b["width"] > 0 and b["height"] > 0]
    for i, (a, ba) in enumerate(boxes):
        for b, bb in boxes[i + 1:]:
            apart = (ba["x"] + ba["width"] <= bb["x"] + 1 or bb["x"] + bb["width"] <= ba["x"] + 1
                     or ba["y"] + ba["height"] <= bb["y"] + 1 or bb["y"] + bb["height"] <= ba["y"] + 1)
            assert apart, f"{a} {ba} overlaps {b} {bb}"
    assert horizontal_overflow(page) <= 0


def test_a_published_map_is_found_opened_and_shown_on_the_sky(page, skymap_job):
    job_id = skymap_job.rsplit("/", 1)[-1]
    find_target(page, "Crab", "0.6 deg")
    page.wait_for_selector(".portal-target-message:has-text('Crab nebula')", timeout=120_000)
    page.click(".portal-search-scope button:has-text('Products')")
    page.wait_for_function("() => [...document.querySelectorAll('.portal-adql textarea')]"
                           ".some(t => t.value.includes('calib_level = 4') && t.value.includes(\"'image'\"))",
                           timeout=30_000)
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-search-status:has-text('rows in')", timeout=120_000)
    assert page.locator(".portal-results-grid").count() == 1

    # the rows are products: a click on each until the significance map of the job is the one opened
    bar = page.locator(".portal-product-bar")
    for row in range(12):
        click_row(page, row)
        page.wait_for_selector(".portal-product-bar-text:has-text(' of Crab')", timeout=60_000)
        text = bar.inner_text()
        if "Significance map" in text and job_id[:8] in text:
            break
    else:
        raise AssertionError(f"no significance map of job {job_id} among the rows: {text}")
    save_screenshot(page, "products-search", sizes=SIZES)
    no_overlap(page, [".portal-views", ".portal-product-bar", ".portal-results"])

    # its provenance, in the Product tab
    page.click(".portal-product-bar .portal-product-provenance")
    page.wait_for_selector(current_tab(".portal-views", "Product"), timeout=30_000)
    page.wait_for_selector(".portal-product-provenance-graph svg", timeout=120_000)
    assert "skymap" in page.inner_text(".portal-product-panel")

    # on the sky: drawn from the widget's bytes (no URL fetched), with its colour map and opacity
    page.click(".portal-product-bar .portal-product-show-sky")
    page.wait_for_selector(current_tab(".portal-views", "Sky"), timeout=30_000)
    page.wait_for_selector(".portal-sky-view [data-portal-image], .portal-sky-view [data-portal-image-error]",
                           state="attached", timeout=120_000)
    error = page.locator(".portal-sky-view [data-portal-image-error]")
    assert error.count() == 0, error.first.get_attribute("data-portal-image-error")
    page.wait_for_selector(".portal-overlay-message:has-text('pixels, colour scale')", timeout=30_000)
    colormaps = page.evaluate("() => document.querySelector('.portal-sky-view [data-portal-footprints]')"
                              ".portalAladin.getListOfColormaps()")
    offered = page.locator(".portal-overlay-colormap select option").all_inner_texts()
    assert offered and set(offered) <= set(colormaps), (offered, colormaps)
    page.locator(".portal-overlay-colormap select").select_option("inferno")
    page.wait_for_selector(".portal-sky-view [data-portal-image-colormap='inferno']", state="attached",
                           timeout=30_000)
    handle = page.locator(".portal-overlay-opacity .noUi-handle, .portal-overlay-opacity .ui-slider-handle").first
    handle.focus()
    for _ in range(4):
        page.keyboard.press("ArrowLeft")
    page.wait_for_function("() => { const d = document.querySelector('.portal-sky-view [data-portal-image]');"
                           " return d && Number(d.dataset.portalImageOpacity) < 0.7; }", timeout=30_000)
    save_screenshot(page, "products-overlay", sizes=SIZES)
    no_overlap(page, [".portal-overlay-bar", ".portal-sky-view [data-portal-footprints]",
                      ".portal-product-bar", ".portal-results"])
    page.click(".portal-overlay-remove")
    page.wait_for_selector(IMAGE, state="detached", timeout=30_000)
    assert_clean(page)


def test_the_monitor_shows_and_changes_whether_the_job_is_published(page, skymap_job):
    job_id = skymap_job.rsplit("/", 1)[-1]
    open_tab(page, "Your jobs")
    option = f".portal-job-list option:has-text('{job_id[:10]}')"
    page.wait_for_selector(option, state="attached", timeout=120_000)
    texts = page.locator(".portal-job-list option").all_inner_texts()
    page.locator(".portal-job-list select").select_option(index=next(i for i, t in enumerate(texts)
                                                                     if job_id[:10] in t))
    page.wait_for_selector(".portal-publish-state[data-visibility='private']", timeout=120_000)
    assert "for you only" in page.inner_text(".portal-publish-message")
    save_screenshot(page, "products-publish", sizes=SIZES)
    no_overlap(page, [".portal-job-list", ".portal-publish", ".portal-job-detail"])
    page.click(".portal-publish-choice button:has-text('Public')")
    page.click(".portal-publish-button:has-text('Change visibility')")
    page.wait_for_selector(".portal-publish-state[data-visibility='public']", timeout=120_000)
    page.click(".portal-publish-choice button:has-text('Private')")
    page.click(".portal-publish-button:has-text('Change visibility')")
    page.wait_for_selector(".portal-publish-state[data-visibility='private']", timeout=120_000)
    assert_clean(page)
