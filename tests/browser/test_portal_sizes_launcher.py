"""The launcher in the Portal at 1280x800, 1440x900 and 1920x1080, as a person sees it in Voila: the spectrum
form filled from two selected runs and showing messages (a refused value under its field, the form's problems
above Submit), then the joint_spectrum form. At every size no two rows, labels or inputs overlap, no label is
cut, every row can be scrolled into the form's view, Submit is wholly on the screen without scrolling, and the
page never scrolls sideways. Screenshots go to build/screenshots/<name>-<W>x<H>.png (``PORTAL_SCREENSHOTS``)."""

from __future__ import annotations

import pytest

from tests.support.browser import SIZES, open_dashboard, open_tab, save_screenshot, search_crab, select_rows, \
    unexpected_console

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.requires_data, pytest.mark.timeout(1200)]

# Everything measured in the page: the form's boxes, what cuts them, where Submit is.
MEASURE = """
() => {
  const launcher = document.querySelector('.portal-job-launcher');
  const body = launcher.querySelector('.portal-launch-body');
  const box = e => { const r = e.getBoundingClientRect(); return {x: r.left, y: r.top, r: r.right, b: r.bottom}; };
  // what shows of an element of the form's body: its box within the body's scrolled view (null: scrolled out)
  const seen = e => {
    const r = box(e);
    if (!body.contains(e) || getComputedStyle(body).overflowY === 'visible') return r;  // nothing clipped
    const v = box(body);
    const c = {x: Math.max(r.x, v.x), y: Math.max(r.y, v.y), r: Math.min(r.r, v.r), b: Math.min(r.b, v.b)};
    return c.r > c.x && c.b > c.y ? c : null;
  };
  const visible = list => list.map(e => ({name: name(e), box: seen(e)})).filter(o => o.box)
    .map(o => ({name: o.name, ...o.box}));
  const name = e => {
    const row = e.closest('.portal-param-row');
    if (!row) return [...e.classList].find(c => c.startsWith('portal-')) || e.className;
    const label = row.querySelector('.portal-param-label');
    const kind = e.classList.contains('portal-param-row') ? 'row' : e.classList.contains('portal-param-label')
      ? 'label' : e.classList.contains('portal-param-problem') ? 'message' : 'input';
    return kind + ' of ' + label.textContent.trim();
  };
  const shown = e => e.getClientRects().length > 0 && e.getBoundingClientRect().height > 0;
  const rows = [...launcher.querySelectorAll('.portal-param-row')].filter(shown);
  const leaves = [];
  for (const row of rows) {
    leaves.push(row.querySelector('.portal-param-label'));
    leaves.push(row.querySelector('[class*="portal-param-"]:not(.portal-param-label):not(.portal-param-problem)'
                                  + ':not(.portal-param-row)'));
    const message = row.querySelector('.portal-param-problem');
    if (message.textContent.trim()) leaves.push(message);
  }
  for (const e of [launcher.querySelector('.portal-launch-summary'), launcher.querySelector('.portal-launch-status')])
    if (e && e.textContent.trim()) leaves.push(e);
  // cut: an ancestor below the form's scroll container that hides overflow and does not hold the whole element,
  // or text wider or taller than its own box
  const cut = [];
  for (const e of leaves) {
    const r = e.getBoundingClientRect();
    for (let a = e.parentElement; a && a !== body && a !== launcher; a = a.parentElement) {
      const s = getComputedStyle(a);
      if (s.overflowX === 'visible' && s.overflowY === 'visible') continue;
      const q = a.getBoundingClientRect();
      if (r.left < q.left - 1 || r.right > q.right + 1 || r.top < q.top - 1 || r.bottom > q.bottom + 1) {
        cut.push(name(e) + ' is cut by ' + a.className); break;
      }
    }
  }
  const texts = [...launcher.querySelectorAll('.portal-param-label, .portal-launch-summary, .portal-launch-status')];
  for (const e of texts) {
    if (shown(e) && (e.scrollWidth > e.clientWidth + 1 || e.scrollHeight > e.clientHeight + 1))
      cut.push(name(e) + ' is wider or taller than its box');
  }
  const submit = launcher.querySelector('.portal-launch-submit');
  const s = submit.getBoundingClientRect();
  const hit = document.elementFromPoint((s.left + s.right) / 2, (s.top + s.bottom) / 2);
  return {
    rows: rows.map(e => ({name: name(e), ...box(e)})),
    visible_rows: visible(rows),
    leaves: visible(leaves),
    cut,
    body: box(body), footer: box(launcher.querySelector('.portal-launch-footer')),
    scrollable: body.scrollHeight - body.clientHeight,
    submit: {...box(submit), covered: !(hit && submit.contains(hit))},
    view: {w: window.innerWidth, h: window.innerHeight},
    sideways: document.documentElement.scrollWidth - window.innerWidth,
    tabs: [...document.querySelectorAll('.portal-tabs .lm-TabBar-tab, .portal-tabs .p-TabBar-tab')].map(t => {
      const label = t.querySelector('.lm-TabBar-tabLabel, .p-TabBar-tabLabel') || t;
      return {title: t.textContent.trim(), cut: label.scrollWidth > label.clientWidth + 1};
    }),
  };
}
"""


def overlaps(boxes: list[dict], tolerance: float = 1.0) -> list[str]:
    """The pairs of boxes that overlap by more than ``tolerance`` pixels both ways."""
    found = []
    for i, a in enumerate(boxes):
        for b in boxes[i + 1:]:
            if (min(a["r"], b["r"]) - max(a["x"], b["x"]) > tolerance
                    and min(a["b"], b["b"]) - max(a["y"], b["y"]) > tolerance):
                found.append(f"{a['name']} {a} overlaps {b['name']} {b}")
    return found


def check_layout(page, name: str) -> dict:
    """At every size: the form's rows, labels, inputs and messages apart and uncut, each row reachable in the
    form's scroll container, Submit wholly on the screen and uncovered, nothing sideways. Screenshots."""
    measured = {}
    for width, height in SIZES:
        page.set_viewport_size({"width": width, "height": height})
        page.evaluate("() => window.scrollTo(0, 0)")
        page.wait_for_function(f"() => window.innerWidth === {width} && window.innerHeight === {height}")
        page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
        save_screenshot(page, f"{name}-{width}x{height}")
        m = page.evaluate(MEASURE)
        where = f"{name} at {width}x{height}"
        assert m["rows"], f"{where}: no form rows"
        assert overlaps(m["rows"]) == [], where  # the whole form, scrolled in view or not
        assert overlaps(m["visible_rows"] + [{"name": "footer", **m["footer"]}]) == [], where
        assert overlaps(m["leaves"]) == [], where
        assert overlaps([{"name": "form body", **m["body"]}, {"name": "footer", **m["footer"]}]) == [], where
        assert m["cut"] == [], where
        assert m["sideways"] <= 0, f"{where}: the page scrolls {m['sideways']} px sideways"
        s = m["submit"]
        assert 0 <= s["x"] and s["r"] <= width and 0 <= s["y"] and s["b"] <= height, \
            f"{where}: Submit {s} is not wholly on the {width}x{height} screen"
        assert not s["covered"], f"{where}: something covers Submit"
        assert not [t for t in m["tabs"] if t["cut"]], f"{where}: cut tab titles {m['tabs']}"
        for row in m["rows"]:  # every row is in the form's body, which scrolls to it: nothing hides under the footer
            assert row["r"] <= m["body"]["r"] + 1 and row["x"] >= m["body"]["x"] - 1, f"{where}: {row} is cut sideways"
        # scrolled to its end, the form's last row is wholly in view, above the footer
        page.evaluate("() => { const body = document.querySelector('.portal-launch-body'); "
                      "body.scrollTop = body.scrollHeight; }")
        end = page.evaluate(MEASURE)
        last = end["rows"][-1]
        assert end["body"]["y"] - 1 <= last["y"] and last["b"] <= min(end["body"]["b"], end["footer"]["y"]) + 1, \
            f"{where}: the last row {last} cannot be scrolled into view ({end['body']}, footer {end['footer']})"
        page.evaluate("() => { document.querySelector('.portal-launch-body').scrollTop = 0; }")
        measured[(width, height)] = m
    page.set_viewport_size({"width": 1440, "height": 900})
    return measured


@pytest.fixture(scope="module")
def page(voila_server, archive_server, browser):
    with open_dashboard(browser, voila_server) as page:
        yield page


def test_the_launcher_holds_at_every_screen_size(page):
    search_crab(page, found="Crab")
    select_rows(page, 2)

    open_tab(page, "Launch an analysis")
    page.wait_for_selector(".portal-launch-summary:has-text('spectrum on 2 observations')", timeout=60_000)
    assert len(page.input_value(".portal-param-obs_ids input").split(",")) == 2
    # labels as astronomers say them, the name in the tooltip; the models by their names, sent as codes
    label = page.locator(".portal-param-label:has-text('Effective-area threshold (%)')")
    assert "aeff_percent" in label.get_attribute("title")
    names = [t.replace("\xa0", " ") for t in page.locator(".portal-param-model select option").all_inner_texts()]
    assert names == ["power law", "power law with exponential cut-off", "log-parabola"]
    assert page.locator(".portal-param-model select").input_value() == "power law"  # the default, pl

    check_layout(page, "launcher-spectrum")

    # messages: a refused value below its field, and the form's problems above Submit after a click
    page.fill(".portal-param-aeff_percent input", "200")
    page.keyboard.press("Tab")
    page.wait_for_selector(".portal-param-problem:has-text('aeff_percent')", timeout=30_000)
    page.fill(".portal-param-ra input", "400")
    page.keyboard.press("Tab")
    page.wait_for_selector(".portal-param-problem:has-text('parameter ra')", timeout=30_000)
    page.click(".portal-launch-submit")
    page.wait_for_selector(".portal-launch-status:has-text('The form has problems')", timeout=30_000)
    check_layout(page, "launcher-spectrum-messages")

    # the joint fit's form, with its own message
    page.select_option(".portal-job-launcher .widget-dropdown:has(label:text-is('Job')) select", "joint_spectrum")
    page.wait_for_selector(".portal-param-jobs input", timeout=30_000)
    page.fill(".portal-param-jobs input", "abc, def")
    page.fill(".portal-param-n_bins input", "0")
    page.keyboard.press("Tab")
    page.wait_for_selector(".portal-param-problem:has-text('n_bins')", timeout=30_000)
    page.click(".portal-launch-submit")
    page.wait_for_selector(".portal-launch-status:has-text('The form has problems')", timeout=30_000)
    check_layout(page, "launcher-joint-spectrum-messages")

    assert page.errors == []
    assert unexpected_console(page) == []
