"""The SED explorer in Voila, offline: a finished Crab `spectrum` job shows its points, the fit's envelope, the
likelihood profiles and a 3FHL overlay; a point's hover text; a PNG export; a catalog source added by name. The screenshot is kept as a test
artefact (``var/test-artefacts/sed-voila.png``).
"""

from __future__ import annotations

import base64
import shutil
import time
from urllib.parse import quote

import pytest

from tests.browser.pixels import count
from tests.browser.sed_page import FHL_DRAWN, FHL_GREEN, HEAT_PURPLE, JOB_BLACK, toggle, wait_for_dots
from tests.support.browser import is_external, watched_page
from tests.support.servers import REPO
from widgets.client import PortalClient
from widgets.jobs.handle import JobHandle

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1800)]

CRAB = {"obs_ids": "23523,23526,23559,23592", "ra": 83.633, "dec": 22.014}
ARTEFACTS = REPO / "var" / "test-artefacts"

FIGURE_PNG = ".portal-sed-figure"


@pytest.fixture(scope="module")
def crab_job(archive_server, portal_token):
    """A finished Crab job of alice (whose token the Voila kernels use)."""
    client = PortalClient(archive_server.url, portal_token)
    url = client.uws.create("spectrum", CRAB, run=True)
    handle = JobHandle(url, client=client)
    assert handle.wait(timeout=1500) == "COMPLETED", handle.error
    yield url
    client.close()


@pytest.fixture(scope="module")
def page(voila_server, crab_job, browser):
    page = watched_page(browser, 1400, 1100)  # records requests, page errors and console errors
    query = f"job={quote(crab_job, safe='')}&ra=83.633&dec=22.014&name=Crab"
    try:
        page.goto(voila_server.at(f"/voila/render/sed.ipynb?{query}"), timeout=300_000)
        page.wait_for_selector(".portal-sed-job:has-text('completed: 8 flux points and the fitted model')",
                               timeout=600_000)
        page.wait_for_selector(".portal-sed-legend-group .portal-sed-profiles", timeout=300_000)
        page.wait_for_selector(".portal-sed-legend:has-text('3FHL J0534.5+2201')", timeout=600_000)
        # the counterparts come nearest first; 1LHAASO's is the farthest: then the legend stops changing
        page.wait_for_selector(".portal-sed-legend:has-text('1LHAASO J0534+2200u')", timeout=600_000)
        wait_for_dots(page, JOB_BLACK, 7)
    except Exception:
        ARTEFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTEFACTS / "sed-voila-failed.png"), full_page=True)
        raise
    yield page
    page.close()


def figure(page) -> bytes:
    return page.locator(FIGURE_PNG).screenshot()


def test_finished_crab_job_with_profiles_envelope_and_3fhl(page, tmp_path):
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    page.locator(".portal-sed-legend").evaluate("el => el.scrollTop = 0")
    full = figure(page)
    page.screenshot(path=str(tmp_path / "sed-voila.png"), full_page=True)
    shutil.copy(tmp_path / "sed-voila.png", ARTEFACTS / "sed-voila.png")
    (ARTEFACTS / "sed-figure.png").write_bytes(full)

    assert count(full, JOB_BLACK, 30) > 150, "the job's points are not drawn"
    assert count(full, HEAT_PURPLE, 60) > 500, "the likelihood profiles are not drawn"
    # (the 3FHL dots and bars, lighter than the job's: catalog points are drawn at 70 % opacity)
    assert count(full, FHL_DRAWN, 30) > 40, "the 3FHL points are not drawn"
    text = page.inner_text(".portal-sed")
    assert "forward-folded fit" in text and "index = 2.6" in text

    # the envelope (under and over the profiles, so no single colour) is what goes with the model's toggle
    group = page.inner_text(".portal-sed-legend b >> nth=0")
    toggle(page, group, "forward-folded fit")
    difference = until(page, lambda shot: changed(full, shot), lambda n: n > 800)
    assert difference > 800, f"no model envelope was drawn ({difference} pixels changed)"
    toggle(page, group, "forward-folded fit")
    toggle(page, group, "likelihood profiles")
    profiles = count(full, HEAT_PURPLE, 60)
    assert until(page, lambda shot: count(shot, HEAT_PURPLE, 60), lambda n: n < profiles / 5) < profiles / 5
    toggle(page, group, "likelihood profiles")
    toggle(page, "3FHL J0534.5+2201", "flux points")
    fhl = count(full, FHL_DRAWN, 30)
    assert until(page, lambda shot: count(shot, FHL_DRAWN, 30), lambda n: n < fhl / 2) < fhl / 2
    toggle(page, "3FHL J0534.5+2201", "flux points")
    wait_for_dots(page, FHL_GREEN, 4)


def until(page, measure, done, timeout: float = 60.0):
    """``measure`` of the figure's screenshots until ``done`` says it is what was awaited (or the time is up):
    the last measure, for the test's assertion."""
    deadline = time.monotonic() + timeout
    value = measure(figure(page))
    while not done(value) and time.monotonic() < deadline:
        page.wait_for_timeout(250)  # between two looks at the figure
        value = measure(figure(page))
    return value


def changed(a: bytes, b: bytes, threshold: int = 30) -> int:
    """How many pixels differ between two screenshots of the same size."""
    import io

    import numpy as np
    from PIL import Image

    x, y = (np.asarray(Image.open(io.BytesIO(p)).convert("RGB"), dtype=int) for p in (a, b))
    return int((np.abs(x - y).max(axis=2) > threshold).sum())


def test_hover_on_a_point_shows_its_values_ts_and_counts(page):
    dot = page.locator(".portal-sed-figure path.dot[style*='fill: rgb(17, 17, 17)']").first
    dot.hover()
    tip = page.wait_for_selector(".tooltiptext.datavalue:has-text('TS')", timeout=30_000)
    text = tip.inner_text()
    assert "TS" in text and "counts" in text and "e2dnde" in text, text


def test_png_and_svg_export(page):
    page.click("button.portal-sed-export:has-text('PNG')")
    link = page.wait_for_selector("a.portal-sed-download[download='sed.png']", timeout=60_000)
    data = base64.b64decode(link.get_attribute("href").split(",", 1)[1])
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 10_000
    page.click("button.portal-sed-export:has-text('SVG')")
    link = page.wait_for_selector("a.portal-sed-download[download='sed.svg']", timeout=60_000)
    svg = base64.b64decode(link.get_attribute("href").split(",", 1)[1]).decode("utf-8")
    assert "<svg" in svg and "E² dN/dE" in svg


def test_the_page_has_a_target_field_and_adds_a_catalog_source_by_name(page):
    assert page.input_value(".portal-target-search input[type=text] >> nth=0") == "Crab"  # from the address
    page.select_option(".portal-sed-catalog select", label="3FGL")
    page.fill(".portal-sed-source-name input", "3FGL J0534.5+2201s")
    page.click(".portal-sed-add-source")
    page.wait_for_selector(".portal-sed-message:has-text('Added 3FGL J0534.5+2201s')", timeout=300_000)
    # asked for by name, it is drawn, even when it was listed switched off among the other counterparts
    line = page.locator(".portal-sed-legend-group:not(.portal-sed-legend-extra)",
                        has=page.locator("b:text-is('3FGL J0534.5+2201s')"))
    line.wait_for(timeout=60_000)
    assert line.locator(".portal-sed-points input[type=checkbox]").is_checked()


def test_nothing_from_outside_and_no_errors(page):
    assert [u for u in page.requests if is_external(u)] == []
    assert page.errors == []
    assert page.console_errors == []
