"""The portal dashboard in the browser (headless chromium, Voila with the repository's configuration):

- time to interactive of portal.ipynb, cold (no preheated kernel: PORTAL_VOILA_POOL=0) and preheated (the
  pool of 1 of voila.json, filled and settled before the page is opened): from navigation to the dashboard's
  widgets drawn and the target field usable (Aladin Lite may still be loading); goals <= 4 s and <= 2 s;
- the resident memory (RSS) of the dashboard's kernel after the journey (Crab found, archive searched, two
  runs selected, a spectrum launched and followed to COMPLETED); goal <= 300 MB;
- screenshots of the dashboard after the journey in benchmarks/results/ (the path is printed);
- the floor under those figures: the same two times for a Voila page of one text field (same template and
  configuration, nothing imported), which no dashboard on Voila's front end can beat on this machine.

Every page view is a new browser context: nothing comes from the browser's cache.
"""

from __future__ import annotations

import json
import statistics
import tempfile
import time
from pathlib import Path


from benchmarks.measure import Measure
from tests.support.browser import CHROMIUM_ARGS, chromium_path, watched_page
from tests.support.servers import REPO, create_token, start_portal, start_voila, voila_kernels
from tests.widgets.archive import wait_for_archive

RUNS = 3
GROUP = "dashboard"
RESULTS = Path(__file__).resolve().parent / "results"
INTERACTIVE = ".portal-app .portal-target-search input[type=text]"


def _settled(voila, count: int, timeout: float = 600, gone: set[int] = frozenset()) -> None:
    """Wait until Voila runs ``count`` kernels, none of them ``gone`` (pids of kernels pages took: they shut down,
    and the pool refills only ``fill_delay`` seconds after a visit), and none uses the CPU (a pooled kernel has
    run its notebook)."""
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline:
        kernels = voila_kernels(voila)
        busy = sum(k.cpu_percent(interval=None) for k in kernels) if kernels else 0.0
        fresh = not gone & {k.pid for k in kernels}
        quiet = quiet + 1 if len(kernels) == count and fresh and busy < 5.0 else 0
        if quiet >= 4:
            return
        time.sleep(0.5)
    raise RuntimeError(f"Voila's kernels did not settle ({len(voila_kernels(voila))} running, {count} expected)")


def _time_to_interactive(browser, url: str) -> float:
    page = watched_page(browser, 1440, 900)
    try:
        started = time.perf_counter()
        page.goto(url, timeout=300_000)
        page.wait_for_selector(INTERACTIVE, timeout=300_000)
        return time.perf_counter() - started
    finally:
        page.goto("about:blank")  # leaving runs Voila's beforeunload, which shuts the page's kernel down
        page.close()


def _journey(browser, url: str, shot: Path):
    """The journey of tests/browser/test_journey.py, shortened; returns the kernel id and the page."""
    page = watched_page(browser, 1440, 900)
    page.goto(url, timeout=300_000)
    page.wait_for_selector(".portal-sky-view [data-portal-footprints]", timeout=300_000)
    kernel = json.loads(page.inner_text("#jupyter-config-data"))["kernelId"]
    page.fill(".portal-target-search input[type=text] >> nth=0", "Crab")
    page.keyboard.press("Enter")
    page.wait_for_selector(".portal-target-message:has-text('Crab nebula')", timeout=120_000)
    page.click(".portal-search-run")
    page.wait_for_selector(".portal-results:has-text('4 rows')", timeout=120_000)
    grid = page.locator(".portal-results-grid").bounding_box()
    page.mouse.click(grid["x"] + 200, grid["y"] + 30)
    page.keyboard.down("Shift")
    page.mouse.click(grid["x"] + 200, grid["y"] + 50)
    page.keyboard.up("Shift")
    page.wait_for_selector(".portal-results:has-text('2 selected')", timeout=60_000)
    page.click(".portal-tabs .lm-TabBar-tab:has-text('Launch an analysis')")
    page.fill(".portal-param-n_bins input", "4")
    page.keyboard.press("Tab")
    page.click(".portal-launch-submit")
    page.wait_for_selector(".portal-job-phase:has-text('COMPLETED')", timeout=1_800_000)
    page.screenshot(path=str(shot))
    return kernel, page


# The floor page: one text field where the dashboard has its target field, and a line under it where the kernel
# echoes what was typed (as the dashboard's target message does); nothing else imported.
FLOOR = """import ipywidgets as w
text, echo = w.Text(continuous_update=False), w.HTML()
echo.add_class("portal-target-message")
text.observe(lambda change: setattr(echo, "value", change["new"]), "value")
field = w.VBox([text, echo])
field.add_class("portal-target-search")
page = w.VBox([field])
page.add_class("portal-app")
page"""


def _floor_notebooks(folder: Path) -> Path:
    """A folder whose portal.ipynb is the floor page (the name the kernel pool is configured for)."""
    import nbformat

    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(FLOOR)]
    notebook.metadata.update(json.loads((REPO / "notebooks" / "portal.ipynb").read_text())["metadata"])
    folder.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, folder / "portal.ipynb")
    return folder


def _cold_and_preheated(browser, notebooks: Path, env: dict) -> tuple[list[float], list[float], object]:
    """Times to interactive of ``notebooks/portal.ipynb``: cold, then preheated; and the preheated server."""
    url = "/voila/render/portal.ipynb"
    voila = start_voila(notebooks, {**env, "PORTAL_VOILA_POOL": "0"})  # cold: every page view starts its kernel
    try:
        _time_to_interactive(browser, voila.at(url))  # the first run warms the disk and Voila's caches
        cold = [_time_to_interactive(browser, voila.at(url)) for _ in range(RUNS)]
    finally:
        voila.stop()
    voila = start_voila(notebooks, {**env, "PORTAL_VOILA_POOL": "1"})  # the pool's kernel ran the notebook
    try:
        _settled(voila, 1)
        visited = {k.pid for k in voila_kernels(voila)}
        _time_to_interactive(browser, voila.at(url))
        warm = []
        for _ in range(RUNS):
            _settled(voila, 1, gone=visited)
            visited |= {k.pid for k in voila_kernels(voila)}
            warm.append(_time_to_interactive(browser, voila.at(url)))
    except BaseException:
        voila.stop()
        raise
    return cold, warm, voila


def _memory_mb(voila, kernel_id: str) -> tuple[float, float]:
    """The kernel's RSS, and its USS (what is its alone: what one more visitor costs)."""
    for proc in voila_kernels(voila):
        if kernel_id in " ".join(proc.cmdline()):
            info = proc.memory_full_info()
            return info.rss / 1e6, info.uss / 1e6
    raise RuntimeError(f"no kernel process for {kernel_id}")


def run() -> list[Measure]:
    from playwright.sync_api import sync_playwright

    RESULTS.mkdir(exist_ok=True)
    rows: list[Measure] = []
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-") as tmp:
        data = Path(tmp) / "portal"
        portal = start_portal(data)
        voila = None
        try:
            wait_for_archive(portal.url)
            env = {"PORTAL_URL": portal.url, "PORTAL_TOKEN": create_token(data, "bench"),
                   "PORTAL_DATA_DIR": str(data)}
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
                url = "/voila/render/portal.ipynb"
                floor_cold, floor_warm, floor = _cold_and_preheated(browser, _floor_notebooks(Path(tmp) / "floor"),
                                                                    env)
                floor.stop()
                cold, warm, voila = _cold_and_preheated(browser, REPO / "notebooks", env)
                _settled(voila, 1)
                shot = RESULTS / "dashboard-after-journey.png"
                kernel, page = _journey(browser, voila.at(url), shot)
                rss, uss = _memory_mb(voila, kernel)
                page.close(run_before_unload=True)
                browser.close()
        finally:
            if voila is not None:
                voila.stop()
            portal.stop()
    cold_s, warm_s = statistics.median(cold), statistics.median(warm)
    rows.append(Measure(GROUP, f"time to interactive, cold (median of {RUNS})", cold_s, "s", "<= 4 s", cold_s <= 4))
    rows.append(Measure(GROUP, f"time to interactive, preheated (median of {RUNS})", warm_s, "s", "<= 2 s",
                        warm_s <= 2))
    rows.append(Measure(GROUP, "cold / preheated", cold_s / warm_s, "x"))
    floor_cold_s, floor_warm_s = statistics.median(floor_cold), statistics.median(floor_warm)
    rows.append(Measure(GROUP, "floor: a one-field Voila page, cold", floor_cold_s, "s"))
    rows.append(Measure(GROUP, "floor: a one-field Voila page, preheated", floor_warm_s, "s"))
    rows.append(Measure(GROUP, "dashboard / floor, preheated", warm_s / floor_warm_s, "x"))
    rows.append(Measure(GROUP, "dashboard / floor, cold", cold_s / floor_cold_s, "x"))
    rows.append(Measure(GROUP, "kernel RSS after the journey", rss, "MB", "<= 300 MB", rss <= 300))
    rows.append(Measure(GROUP, "kernel USS after the journey (its own pages, not shared)", uss, "MB"))
    print(f"  runs: cold {', '.join(f'{t:.2f}' for t in cold)} s; preheated {', '.join(f'{t:.2f}' for t in warm)} s; "
          f"floor cold {', '.join(f'{t:.2f}' for t in floor_cold)} s, preheated "
          f"{', '.join(f'{t:.2f}' for t in floor_warm)} s")
    print(f"  screenshot: {shot}")
    return rows
