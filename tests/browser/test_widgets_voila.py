"""The portal dashboard in Voila with no internet: Aladin draws footprints, table and sky share one selection,
and nothing the page needs comes from outside the machine."""

import base64
import io
import math
import re

import pytest
from astropy.table import Table

from tests.browser.pixels import FOOTPRINT, SELECTED, TARGET, count, is_allowed_external
from tests.support.browser import is_external, watched_page

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data]

CRAB_RUNS = {  # obs_id: pointing of the four Crab runs of H.E.S.S. DR1 (field of view radius 2.5 deg)
    "23523": (83.63333, 21.514444), "23526": (83.63333, 22.514444),
    "23559": (85.253334, 22.014444), "23592": (82.013336, 22.014444),
}


def edge_point(obs_id: str, radius: float = 2.5) -> tuple[float, float]:
    """A point on the edge of one run's field of view that is on no other run's edge, near the Crab."""
    ra0, dec0 = CRAB_RUNS[obs_id]
    best, best_score = None, -1.0
    for k in range(72):
        angle = math.radians(5 * k)
        dec = dec0 + radius * math.cos(angle)
        ra = ra0 + radius * math.sin(angle) / math.cos(math.radians(dec))
        others = [abs(_sep(ra, dec, *c) - radius) for o, c in CRAB_RUNS.items() if o != obs_id]
        score = min(others) - 0.3 * _sep(ra, dec, 83.633, 22.0145)  # far from other edges, near the middle
        if score > best_score:
            best, best_score = (ra, dec), score
    return best


def _sep(ra1, dec1, ra2, dec2):
    r1, d1, r2, d2 = map(math.radians, (ra1, dec1, ra2, dec2))
    c = math.sin(d1) * math.sin(d2) + math.cos(d1) * math.cos(d2) * math.cos(r1 - r2)
    return math.degrees(math.acos(max(-1.0, min(1.0, c))))


@pytest.fixture(scope="module")
def page(voila_server, archive_server, browser):
    """One dashboard page for the module (a cold Voila page costs seconds)."""
    page = watched_page(browser, 1400, 1200)
    page.goto(voila_server.at("/voila/render/portal.ipynb"), timeout=120_000)
    page.wait_for_selector(".portal-sky-view [data-portal-footprints]", timeout=120_000)
    yield page
    page.close()


def sky_png(page) -> bytes:
    return page.locator(".portal-sky-view .aladin-widget").screenshot()


def selected_count(page) -> str:
    text = page.inner_text(".portal-results")
    match = re.search(r"([\d,]+) selected", text)
    return match.group(1) if match else ""


def test_search_the_crab_offline(page, tmp_path):
    page.fill(".portal-target-search input[type=text]", "Crab")
    page.keyboard.press("Enter")
    page.wait_for_selector(".portal-target-message:has-text('Crab nebula')", timeout=60_000)
    assert "gamma-cat" in page.inner_text(".portal-target-message")
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-sky-view [data-portal-footprints='4']", timeout=60_000)
    page.wait_for_selector(".portal-results-grid", timeout=60_000)
    page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=30_000)
    png = sky_png(page)
    (tmp_path / "sky.png").write_bytes(png)
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert count(png, FOOTPRINT) > 500, "no footprint drawn"
    assert count(png, TARGET) > 100, "no target or search circle drawn"
    assert count(png, SELECTED) == 0

    # a row selected in the table highlights its footprint
    grid = page.locator(".portal-results-grid").bounding_box()
    page.mouse.click(grid["x"] + 200, grid["y"] + 20 + 3 * 20 + 10)  # header, then the fourth row
    page.wait_for_selector(".portal-sky-view [data-portal-selected='1']", timeout=30_000)
    assert selected_count(page) == "1"
    assert count(sky_png(page), SELECTED) > 200, "the selected footprint is not highlighted"

    # ... and can be downloaded as a VOTable
    page.click("button:has-text('Export selection')")
    link = page.wait_for_selector("a.portal-download", timeout=30_000)
    href = link.get_attribute("href")
    assert href.startswith("data:application/x-votable+xml;base64,")
    votable = Table.read(io.BytesIO(base64.b64decode(href.split(",", 1)[1])), format="votable")
    assert len(votable) == 1 and votable["obs_id"][0] in CRAB_RUNS

    page.click("button:has-text('Clear selection')")
    page.wait_for_selector(".portal-sky-view [data-portal-selected='0']", timeout=30_000)
    assert selected_count(page) == "0"

    # a click on a footprint selects its row in the table
    ra, dec = edge_point("23559")
    x, y = page.evaluate("([ra, dec]) => document.querySelector('.portal-sky-view .aladin-widget')"
                         ".portalAladin.world2pix(ra, dec)", [ra, dec])
    box = page.locator(".portal-sky-view .aladin-widget").bounding_box()
    page.mouse.click(box["x"] + x, box["y"] + y)
    page.wait_for_selector(".portal-sky-view [data-portal-selected='1']", timeout=30_000)
    assert selected_count(page) == "1"

    external = [u for u in page.requests if is_external(u) and not is_allowed_external(u)]
    assert external == [], f"fetched from outside the machine: {external}"
    assert page.errors == []


def test_everything_comes_from_the_machine(page):
    local = [u for u in page.requests if not is_external(u)]
    assert any("/voila/templates/gamma-portal/static/aladin-lite/" in u for u in local)
    assert any("/hips/offline-sky/" in u for u in local)
    assert not any("fontawesome" in u for u in page.requests)
    assert [u for u in page.requests if is_external(u) and not is_allowed_external(u)] == []
    assert "Offline: sky surveys (HiPS)" in page.inner_text(".portal-sky-note")
    assert page.errors == []


def test_coverage_moc_is_drawn(page):
    page.wait_for_function("() => document.querySelector('.portal-sky-view .aladin-widget').portalAladin"
                           ".view.allOverlayLayers.some((l) => l.name === 'Archive coverage')", timeout=30_000)
    assert "overage unavailable" not in page.inner_text(".portal-sky-note")
