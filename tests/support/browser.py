"""Headless Debian chromium driven by Playwright, with every request recorded; the steps the Portal's browser
tests share (open the dashboard, find the Crab, select rows, screenshots at the usual screen sizes)."""

from __future__ import annotations

import os
import shutil
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlparse

from tests.support.servers import REPO

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", "[::1]"}
DASHBOARD = "/voila/render/portal.ipynb"
SIZES = ((1280, 800), (1440, 900), (1920, 1080))  # the screens a dashboard must hold at
# console errors of Aladin Lite asking CDS while offline: harmless
ALLOWED_CONSOLE = ("AladinLiteLogger", "net::ERR_", "Failed to load resource", "MocServer")


def chromium_path() -> str:
    path = CHROMIUM if shutil.which(CHROMIUM) else shutil.which("chromium")
    if not path:
        raise RuntimeError("chromium is not installed: run .ci/install-system-packages (apt-get install chromium)")
    return path


def is_external(url: str) -> bool:
    """A request that leaves the machine (data: and blob: URLs stay local)."""
    parsed = urlparse(url)
    if parsed.scheme in {"data", "blob", "about", "chrome", "chrome-extension", "devtools"}:
        return False
    return (parsed.hostname or "") not in LOCAL_HOSTS


def watched_page(browser, width: int = 1300, height: int = 900, **options):
    """A new page that records every URL it requests (``page.requests``), every uncaught script
    error (``page.errors``) and every error the console shows (``page.console_errors``; with the URL
    of its source in ``page.console_sources``). ``options``: those of a browser context
    (``permissions=[...]``); the page has a context of its own, closed with it."""
    page = browser.new_page(viewport={"width": width, "height": height}, **options)
    page.requests, page.errors, page.console_errors, page.console_sources = [], [], [], []
    page.on("request", lambda r: page.requests.append(r.url))
    page.on("pageerror", lambda exc: page.errors.append(str(exc)))

    def console(message) -> None:
        if message.type == "error":
            page.console_errors.append(message.text)
            page.console_sources.append((message.text, message.location.get("url", "")))

    page.on("console", console)
    return page


def unexpected_console(page, allowed=ALLOWED_CONSOLE) -> list[str]:
    """The page's console errors less those containing one of ``allowed``."""
    return [m for m in page.console_errors if not any(a in m for a in allowed)]


@contextmanager
def open_dashboard(browser, voila, width: int = 1440, height: int = 900, allowed=ALLOWED_CONSOLE, **options):
    """``with open_dashboard(browser, voila) as page:`` a :func:`watched_page` on the Portal dashboard of the
    Voila ``voila`` (a started server, its token in the URL; or a base URL), once its sky is drawn (the
    footprints layer is there); closed at the end of the block.
    Fails when the page raised a script error or the console showed an error that contains none of ``allowed``
    while it opened."""
    page = watched_page(browser, width, height, **options)
    try:
        page.goto(voila.at(DASHBOARD) if hasattr(voila, "at") else voila + DASHBOARD, timeout=300_000)
        page.wait_for_selector(".portal-sky-view [data-portal-footprints]", state="attached", timeout=300_000)
        assert page.errors == [], f"script errors while opening the dashboard: {page.errors}"
        assert unexpected_console(page, allowed) == [], \
            f"console errors while opening the dashboard: {unexpected_console(page, allowed)}"
        yield page
    finally:
        try:  # leaving the page, as closing its tab does, runs Voila's beforeunload: the kernel is shut down
            page.goto("about:blank", timeout=30_000)
        except Exception:  # noqa: BLE001 - a page that cannot leave is closed all the same (the culler ends it)
            pass
        page.close()


def open_tab(page, title: str, tabs: str = ".portal-tabs") -> None:
    """Open the Portal's tab called ``title``: of the left column, or of ``tabs`` (``.portal-views``: the
    sky and the SED), with JupyterLab 3 or 4 tab bars."""
    page.click(f"{tabs} .lm-TabBar-tab:has-text('{title}'), {tabs} .p-TabBar-tab:has-text('{title}')")


def find_target(page, text: str, radius: str | None = None) -> None:
    """Type ``text`` (and the cone's ``radius``, "0.6 deg") in the Portal's target search and press Enter."""
    if radius is not None:
        page.fill(".portal-target-search input[type=text] >> nth=1", radius)
    page.fill(".portal-target-search input[type=text] >> nth=0", text)
    page.keyboard.press("Enter")


def search_crab(page, radius: str | None = None, found: str = "Crab nebula", timeout: float = 120_000) -> None:
    """Find the Crab (the message says ``found``), search the archive around it, wait for its four runs."""
    find_target(page, "Crab", radius)
    page.wait_for_selector(f".portal-target-message:has-text('{found}')", timeout=timeout)
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=timeout)


def click_row(page, row: int, shift: bool = False) -> None:
    """Click row ``row`` (0: the first below the header) of the archive's result grid, with Shift if asked."""
    grid = page.locator(".portal-results-grid").bounding_box()
    if shift:
        page.keyboard.down("Shift")
    page.mouse.click(grid["x"] + 200, grid["y"] + 20 + row * 20 + 10)  # below the header row
    if shift:
        page.keyboard.up("Shift")


def select_rows(page, n: int, timeout: float = 30_000) -> None:
    """Select the first ``n`` rows of the result grid (a click, then a Shift-click) and wait until it says so."""
    click_row(page, 0)
    if n > 1:
        click_row(page, n - 1, shift=True)
    page.wait_for_selector(f".portal-results:has-text('{n} selected')", timeout=timeout)


def screenshots() -> Path:
    """The folder of the browser tests' screenshots: $PORTAL_SCREENSHOTS, else build/screenshots (made)."""
    folder = Path(os.environ.get("PORTAL_SCREENSHOTS") or REPO / "build" / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def save_screenshot(page, name: str, sizes=None, at_each=None, full_page: bool = False) -> list[Path]:
    """Screenshots of ``page`` in :func:`screenshots`: ``<name>.png`` as it is; with ``sizes`` (``SIZES``...)
    ``<name>-<W>x<H>.png`` at each, once the window has that size and two frames were drawn, ``at_each(width,
    height)`` called before each shot, then the page back at its size. The paths of the files."""
    folder = screenshots()
    if sizes is None:
        path = folder / f"{name}.png"
        page.screenshot(path=str(path), full_page=full_page)
        return [path]
    before = page.viewport_size
    paths = []
    try:
        for width, height in sizes:
            page.set_viewport_size({"width": width, "height": height})
            page.wait_for_function(f"() => window.innerWidth === {width} && window.innerHeight === {height}")
            page.evaluate("() => new Promise(done => requestAnimationFrame(() => requestAnimationFrame(done)))")
            if at_each is not None:
                at_each(width, height)
            paths.append(folder / f"{name}-{width}x{height}.png")
            page.screenshot(path=str(paths[-1]), full_page=full_page)
    finally:
        page.set_viewport_size(before)
    return paths
