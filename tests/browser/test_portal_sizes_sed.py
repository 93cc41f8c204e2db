"""The SED in the Portal, in Voila, at 1280x800, 1440x900 and 1920x1080: readable whatever the screen.

A real `spectrum` job on two H.E.S.S. Crab runs (three bins: two points and an upper limit, with likelihood
profiles) is selected in "Your jobs" after the target "Crab" was found: the SED shows the job's points and the
Crab's catalog counterparts (the best of each catalog family on, the others listed). At each size the test
fails when the x or y tick labels of the SED overlap (the bounding boxes of bqplot's tick <text> elements), when
the plot area is under 480x320 px, or when the page scrolls sideways. Screenshots are kept as artefacts in
``$PORTAL_SCREENSHOTS`` (default ``build/screenshots``): ``portal-sed-<W>x<H>.png``, and the sizes measured in
``portal-sed-sizes.json``.
"""

from __future__ import annotations

import json
import time

import pytest

from tests.browser.sed_page import JOB_BLACK, wait_for_drawn
from tests.support.browser import DASHBOARD, SIZES, find_target, open_tab, save_screenshot, screenshots, \
    watched_page
from widgets.client import PortalClient

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1800)]

MIN_PLOT = (480, 320)  # px: the SED's plot area at 1280x800 (and, being wider, at the larger sizes)
CRAB = {"obs_ids": "23523,23526", "ra": 83.633, "dec": 22.014, "n_bins": 3}


# the SED figure's plot area, its tick labels by axis, where they overlap, and whether the page scrolls sideways
MEASURE = """() => {
  const fig = document.querySelector('.portal-sed-figure');
  const box = e => { const b = e.getBoundingClientRect(); return {x: b.x, y: b.y, w: b.width, h: b.height}; };
  const area = fig.querySelector('rect.plotarea_background');
  const axes = new Map();
  for (const text of fig.querySelectorAll('.tick text')) {
    const axis = text.closest('g.axis');
    const b = box(text);
    if (b.w === 0 || !text.textContent.trim()) continue;
    if (!axes.has(axis)) axes.set(axis, []);
    axes.get(axis).push({label: text.textContent, ...b});
  }
  const overlaps = [];
  for (const ticks of axes.values())
    for (let i = 0; i < ticks.length; i++)
      for (let j = i + 1; j < ticks.length; j++) {
        const a = ticks[i], b = ticks[j];
        if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) overlaps.push([a.label, b.label]);
      }
  const probe = document.querySelector('.portal-sed .portal-width-probe');
  const s = document.scrollingElement;
  return {plot: area ? box(area) : null, figure: box(fig), axes: [...axes.values()].map(t => t.map(x => x.label)),
          overlaps, probe: probe ? Number(probe.dataset.width || 0) : null,
          scrollWidth: s.scrollWidth, clientWidth: s.clientWidth};
}"""


@pytest.fixture(scope="module")
def crab_job(archive_server, portal_token):
    """A finished Crab job of alice (whose token the Voila kernels use): its id."""
    client = PortalClient(archive_server.url, portal_token)
    try:
        url = client.uws.create("spectrum", CRAB, run=True)
        deadline = time.monotonic() + 1500
        while (phase := client.uws.job(url).phase) not in ("COMPLETED", "ERROR", "ABORTED"):
            assert time.monotonic() < deadline, f"the job is still {phase}"
            time.sleep(0.5)  # between two looks at the job's phase
        assert phase == "COMPLETED", f"the Crab job ended {phase}"
        yield url.rstrip("/").rsplit("/", 1)[1]
    finally:
        client.close()


@pytest.fixture(scope="module")
def page(voila_server, crab_job, browser):
    page = watched_page(browser, *SIZES[0])
    try:
        page.goto(voila_server.at(DASHBOARD), timeout=300_000)
        page.wait_for_selector(".portal-target-search input[type=text]", timeout=300_000)
        find_target(page, "Crab")
        page.wait_for_selector(".portal-target-message:has-text('Crab')", timeout=120_000)
        open_tab(page, "Your jobs")
        option = f".portal-job-list option:has-text('{crab_job[:10]}')"
        page.wait_for_selector(option, state="attached", timeout=120_000)
        texts = page.locator(".portal-job-list option").all_inner_texts()
        page.locator(".portal-job-list select").select_option(
            index=next(i for i, text in enumerate(texts) if crab_job[:10] in text))
        # the SED comes to the front with the job's points, then the counterparts: the best of each family on
        # (3FHL), the others listed and switched off (2HWC: the last to be read)
        page.wait_for_selector(".portal-sed-job:has-text('completed: 3 flux points')", timeout=300_000)
        wait_for_drawn(page, "path.dot", JOB_BLACK, 2)
        page.wait_for_selector(".portal-sed-legend-group b:text-is('3FHL J0534.5+2201')", timeout=600_000)
        page.wait_for_selector(".portal-sed-legend-extra b:text-is('2HWC J0534+220')", state="attached",
                               timeout=600_000)
    except Exception:
        save_screenshot(page, "portal-sed-failed", full_page=True)
        page.close()
        raise
    yield page
    page.close()


def measure_at(page, width: int, height: int) -> dict:
    """The SED at one screen size, once the kernel has chosen the ticks for the figure's new width."""
    page.set_viewport_size({"width": width, "height": height})
    page.wait_for_function(
        """() => { const f = document.querySelector('.portal-sed-figure'), p = document.querySelector(
               '.portal-sed .portal-width-probe'), a = f && f.querySelector('rect.plotarea_background');
               if (!f || !p || !a) return false;
               const width = p.getBoundingClientRect().width, fig = f.getBoundingClientRect(),
                     area = a.getBoundingClientRect();
               // the probe has reported its width, the figure is as wide and its plot area fills it
               return Math.abs(Number(p.dataset.width || 0) - width) < 4 && Math.abs(fig.width - width) < 4
                   && area.right <= fig.right && area.right > fig.right - 40; }""",
        timeout=60_000)
    try:  # the ticks follow the width through the kernel: until their labels are apart (or the time is up)
        page.wait_for_function(f"() => ({MEASURE})().overlaps.length === 0", timeout=30_000)
    except Exception:  # noqa: BLE001 - the measure below says what overlaps
        pass
    found = page.evaluate(MEASURE)
    save_screenshot(page, f"portal-sed-{width}x{height}")
    return found


def test_the_sed_is_readable_at_every_screen_size(page):
    measured = {}
    for width, height in SIZES:
        found = measure_at(page, width, height)
        measured[f"{width}x{height}"] = found
        assert found["plot"] is not None, "the SED has no plot area"
        assert len(found["axes"]) == 2 and all(len(labels) >= 2 for labels in found["axes"]), found["axes"]
        assert not any("e+" in label or "e-" in label for labels in found["axes"] for label in labels), found["axes"]
        assert found["overlaps"] == [], f"tick labels overlap at {width}x{height}: {found['overlaps']}"
        plot = found["plot"]
        assert plot["w"] >= MIN_PLOT[0] and plot["h"] >= MIN_PLOT[1], \
            f"the plot area is {plot['w']:.0f}x{plot['h']:.0f} px at {width}x{height}"
        assert found["scrollWidth"] <= found["clientWidth"], \
            f"the page scrolls sideways at {width}x{height}: {found['scrollWidth']} > {found['clientWidth']}"
    (screenshots() / "portal-sed-sizes.json").write_text(json.dumps(
        {size: {"plot": [round(m["plot"]["w"]), round(m["plot"]["h"])], "x_ticks": m["axes"][0],
                "y_ticks": m["axes"][1]} for size, m in measured.items()}, indent=1, ensure_ascii=False))


def test_the_legend_folds_and_the_job_stands_out(page):
    page.set_viewport_size({"width": SIZES[0][0], "height": SIZES[0][1]})
    header = page.locator(".portal-sed-legend-header")
    assert "Layers (" in header.inner_text()
    # the other counterparts are listed with their toggles off; the best of each family is on
    extra = page.locator(".portal-sed-legend-extra input[type=checkbox]")
    assert extra.count() >= 2 and not any(extra.nth(i).is_checked() for i in range(extra.count()))
    fhl = page.locator(".portal-sed-legend-group", has=page.locator("b:text-is('3FHL J0534.5+2201')"))
    assert fhl.locator(".portal-sed-points input[type=checkbox]").is_checked()
    header.click()
    page.wait_for_selector(".portal-sed-legend-box .portal-sed-legend", state="hidden", timeout=30_000)
    header.click()
    page.wait_for_selector(".portal-sed-legend-box .portal-sed-legend", state="visible", timeout=30_000)
    # the job's dots are the largest and drawn last (on top)
    sizes = page.evaluate("""() => [...document.querySelectorAll('.portal-sed-figure path.dot')]
        .filter(e => e.getBoundingClientRect().width > 0)
        .map(e => [e.style.fill, e.getBoundingClientRect().width])""")
    job = [w for fill, w in sizes if fill == "rgb(17, 17, 17)"]
    others = [w for fill, w in sizes if fill != "rgb(17, 17, 17)"]
    assert job and others and min(job) > max(others), sizes


def test_no_page_or_console_errors(page):
    assert page.errors == []
    assert page.console_errors == []
