"""When the sky starts Aladin Lite (widgets/sky/loader.js): once the page has stopped changing and a person's typing
has paused, and at the latest `maxMs` after the page's first sky. Run in chromium on the loader itself; the times
are the page's own clock and only lower bounds or orderings are asserted (a loaded machine only makes them later)."""

from __future__ import annotations

import pytest

from tests.support.browser import CHROMIUM_ARGS, chromium_path
from widgets.sky.esm import HERE

LOADER = (HERE / "loader.js").read_text(encoding="utf-8")

# types a key every `every` ms for `typing` ms while the page waits to be settled; answers when the last key
# was pressed and when the wait ended, on the page's clock
TYPE_WHILE_WAITING = """async ([typing, every, quietMs, maxMs]) => {
  const start = performance.now();
  let lastKey = null;
  const keys = setInterval(() => {
    if (performance.now() - start > typing) { clearInterval(keys); return; }
    document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "a", bubbles: true }));
    lastKey = performance.now();
  }, every);
  document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "a", bubbles: true }));
  lastKey = performance.now();
  await __portalPageSettled(quietMs, maxMs);
  const settled = performance.now();
  clearInterval(keys);
  return { start, lastKey, settled };
}"""

# the page keeps changing for `changing` ms (a node added every `every` ms), with no typing
CHANGE_WHILE_WAITING = """async ([changing, every, quietMs, maxMs]) => {
  const start = performance.now();
  let lastChange = start;
  const changes = setInterval(() => {
    if (performance.now() - start > changing) { clearInterval(changes); return; }
    document.body.appendChild(document.createElement("div"));
    lastChange = performance.now();
  }, every);
  await __portalPageSettled(quietMs, maxMs);
  const settled = performance.now();
  clearInterval(changes);
  return { start, lastChange, settled };
}"""


@pytest.fixture()
def page():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
        try:
            page = browser.new_page()
            page.set_content("<html><body><p>page</p></body></html>")
            page.add_script_tag(content=LOADER)
            errors = []
            page.on("pageerror", lambda exc: errors.append(str(exc)))
            yield page
            assert not errors
        finally:
            browser.close()


def test_the_sky_waits_for_typing_to_pause(page):
    times = page.evaluate(TYPE_WHILE_WAITING, [1200, 100, 300, 20_000])
    assert times["settled"] > times["lastKey"], "the sky started while a person was typing"
    assert times["settled"] - times["lastKey"] >= 800 - 1, "the sky started less than 800 ms after the last key"


def test_the_sky_waits_for_the_page_to_stop_changing(page):
    times = page.evaluate(CHANGE_WHILE_WAITING, [900, 50, 300, 20_000])
    assert times["settled"] - times["lastChange"] >= 300 - 1


def test_typing_does_not_hold_the_sky_past_its_deadline(page):
    # a person typing for 30 s: the sky starts at its deadline (2 s here), not once they stop
    times = page.evaluate(TYPE_WHILE_WAITING, [30_000, 100, 300, 2_000])
    assert times["settled"] - times["start"] >= 2_000 - 1
    assert times["settled"] < times["start"] + 30_000


def test_later_views_start_at_once_after_the_deadline(page):
    page.evaluate(TYPE_WHILE_WAITING, [0, 100, 300, 1_000])  # the page's first sky
    page.wait_for_function("() => performance.now() > __portalDeadline")
    # a key just pressed: the pause before drawing does not hold a view past the page's deadline
    waited = page.evaluate("""async () => {
      document.body.dispatchEvent(new KeyboardEvent("keydown", { key: "a", bubbles: true }));
      const t = performance.now(); await __portalInputPause(); return performance.now() - t; }""")
    assert waited < 800
