"""Widgets in the browser: 10,000 footprints in Aladin and 100,000 rows in the results grid.

Generated notebooks (synthetic data, no portal server needed) run in Voila, one page per widget so
that neither slows the other (Aladin's WebGL is rasterised in software in headless chromium); headless chromium
clicks a button that sets the data in the kernel and measures, with the page's own clock, the time
until the frame showing the data is painted: the footprints drawn by Aladin Lite, the first rows
drawn by the grid. This includes the kernel's work, the widget messages, and the drawing.
Each figure is the median of a few runs, also given as a ratio to the same with 100 times less
data (how the cost grows), which depends less on the load of the machine.

``BENCH_WIDGETS_PARTS`` runs one page only (``sky`` or ``grid``; both by default), e.g.
``BENCH_WIDGETS_PARTS=grid python -m benchmarks widgets``.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import nbformat

from benchmarks.measure import Measure, median

RUNS = 3
PARTS = [p.strip() for p in os.environ.get("BENCH_WIDGETS_PARTS", "sky,grid").split(",") if p.strip()]
NOTEBOOK = '''
import numpy as np
import ipywidgets as w
from astropy.table import Table
from widgets.sky.view import SkyView
from widgets.obscore.state import SearchState
from widgets.obscore.results_view import ResultsPanel

rng = np.random.default_rng(1)

def footprints(n):
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    return [(i, f"CIRCLE ICRS {a:.4f} {d:.4f} 2.5") for i, (a, d) in enumerate(zip(ra, dec))]

def rows(n):
    ra, dec = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    t0 = rng.uniform(53000, 60000, n)
    return Table({
        "obs_id": np.arange(100000, 100000 + n).astype(str), "target_name": rng.choice(["Crab", "PKS 2155-304",
        "MSH 15-52", "RX J1713.7-3946", "field"], n), "s_ra": ra, "s_dec": dec, "t_min": t0, "t_max": t0 + 0.02,
        "t_exptime": rng.uniform(600, 1800, n), "energy_min": rng.uniform(0.3, 1, n), "energy_max": np.full(n, 100.0),
        "zenith": rng.uniform(5, 60, n), "target_offset": rng.uniform(0, 2, n), "livetime": rng.uniform(600, 1800, n),
        "n_tels": rng.integers(2, 5, n), "ev_xel": rng.integers(1000, 50000, n), "dataproduct_type": np.full(n, "event"),
        "calib_level": np.full(n, 2), "obs_collection": np.full(n, "synthetic"), "facility_name": np.full(n, "CTAO"),
        "instrument_name": np.full(n, "CTAO South"), "s_fov": np.full(n, 5.0),
        "s_region": [f"CIRCLE ICRS {a:.4f} {d:.4f} 2.5" for a, d in zip(ra, dec)],
    })

def button(name, action):
    b = w.Button(description=name)
    b.add_class("bench-" + name)
    b.on_click(lambda _b: action())
    return b
'''

SKY_PAGE = '''
DATA = {"fp-small": footprints(100), "fp-large": footprints(10_000)}
sky = SkyView(online=False, fov=180.0, height=500)
w.VBox([w.HBox([
    button("fp-small", lambda: setattr(sky.state, "footprints", DATA["fp-small"])),
    button("fp-large", lambda: setattr(sky.state, "footprints", DATA["fp-large"])),
    button("fp-clear", lambda: setattr(sky.state, "footprints", [])),
]), sky])
'''

GRID_PAGE = '''
DATA = {"rows-small": rows(1_000), "rows-large": rows(100_000)}
state = SearchState()
panel = ResultsPanel(state)
w.VBox([w.HBox([
    button("rows-small", lambda: setattr(state, "results", DATA["rows-small"])),
    button("rows-large", lambda: setattr(state, "results", DATA["rows-large"])),
    button("rows-clear", lambda: setattr(state, "results", None)),
]), panel])
'''

# In the page: click a button, then wait (one check per animation frame) until `done()` holds.
MEASURE_JS = """
async ([name, until, expected]) => {
  const sky = () => document.querySelector('.portal-sky-view .aladin-widget');
  const gridPainted = () => {
    const panel = document.querySelector('.portal-results');
    if (!panel || !panel.textContent.includes(expected + ' rows')) return false;
    const canvases = panel.querySelectorAll('.portal-results-grid canvas');
    for (const canvas of canvases) {
      if (canvas.width < 200 || canvas.height < 60) continue;
      const ctx = canvas.getContext('2d');
      const y = Math.round(canvas.height * 0.6);  // below the header: data rows
      const data = ctx.getImageData(0, Math.min(y, 45 * devicePixelRatio), canvas.width, 4).data;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i] < 100 && data[i + 1] < 100 && data[i + 2] < 100 && data[i + 3] > 0) return true;  // text
      }
    }
    return false;
  };
  const checks = {
    footprints: () => sky() && sky().dataset.portalFootprints === String(expected),
    rows: gridPainted,
    norows: () => document.querySelector('.portal-results').textContent.includes('No results yet'),
  };
  const start = performance.now();
  document.querySelector('.bench-' + name).click();
  const limit = start + 300000;
  while (!checks[until]()) {
    if (performance.now() > limit) return -1;
    await new Promise((resolve) => requestAnimationFrame(resolve));
  }
  return (performance.now() - start) / 1000;
}
"""


def _notebooks(folder: Path) -> None:
    for name, page in (("sky", SKY_PAGE), ("grid", GRID_PAGE)):
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_code_cell(NOTEBOOK.strip()), nbformat.v4.new_code_cell(page.strip())]
        nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
        nbformat.write(nb, folder / f"{name}.ipynb")


def _measure(page, name: str, until: str, expected: int) -> float:
    seconds = page.evaluate(MEASURE_JS, [name, until, expected])
    if seconds < 0:
        raise RuntimeError(f"{name}: the page did not show the data within 300 s")
    return seconds


def run() -> list[Measure]:
    from playwright.sync_api import sync_playwright

    from tests.support.browser import CHROMIUM_ARGS, chromium_path
    from tests.support.servers import start_voila

    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        _notebooks(folder)
        server = start_voila(folder, {"PORTAL_DATA_DIR": str(folder / "data"), "PORTAL_OFFLINE": "1"})
        times: dict[str, list[float]] = {k: [] for k in ("fp-small", "fp-large", "rows-small", "rows-large")}
        try:
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True)
                pages = {"sky": ("sky.ipynb", ".portal-sky-view [data-portal-footprints='0']", "footprints",
                                 (("fp-small", 100), ("fp-large", 10_000)), ("fp-clear", "footprints")),
                         "grid": ("grid.ipynb", ".bench-rows-large", "rows",
                                  (("rows-small", "1,000"), ("rows-large", "100,000")),
                                  ("rows-clear", "norows"))}
                for part in (p for p in pages if p in PARTS):
                    notebook, ready, what, sizes, (clear, cleared) = pages[part]
                    page = browser.new_page(viewport={"width": 1400, "height": 1100})
                    page.goto(server.at(f"/voila/render/{notebook}"), timeout=600_000)
                    page.wait_for_selector(ready, timeout=600_000)
                    for _ in range(RUNS):
                        for name, shown in sizes:
                            times[name].append(_measure(page, name, what, shown))
                            _measure(page, clear, cleared, 0)
                    page.close()
                browser.close()
        finally:
            server.stop()
    found = []
    if "sky" in PARTS:
        fp, fp_small = median(times["fp-large"]), median(times["fp-small"])
        found += [
            Measure("widgets", f"10,000 footprints drawn in Aladin (click to paint), p50 of {RUNS}", fp, "s",
                    goal="< 5 s", met=fp < 5),
            Measure("widgets", "10,000 / 100 footprints", fp / fp_small, "ratio"),
        ]
    if "grid" in PARTS:
        rows, rows_small = median(times["rows-large"]), median(times["rows-small"])
        found += [
            Measure("widgets", f"100,000 rows shown in the results grid (click to paint), p50 of {RUNS}", rows,
                    "s", goal="< 5 s", met=rows < 5),
            Measure("widgets", "100,000 / 1,000 rows", rows / rows_small, "ratio",
                    goal="< 10 (only the rows in view travel)", met=rows / rows_small < 10),
        ]
    return found
