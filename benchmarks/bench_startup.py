"""How long `portal serve` takes to answer /tap/availability, and the import cost of the app."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

from benchmarks import report
from benchmarks.measure import median
from tests.support.servers import start_portal


def _import_seconds(module: str) -> float:
    code = f"import time; t=time.perf_counter(); import {module}; print(time.perf_counter()-t)"
    return float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout)


def run() -> None:
    starts = []
    for _ in range(3):
        with tempfile.TemporaryDirectory() as tmp:
            t0 = time.perf_counter()
            server = start_portal(Path(tmp))
            starts.append(time.perf_counter() - t0)
            server.stop()
    app_import = median([_import_seconds("portal.app") for _ in range(3)])
    gammapy_import = median([_import_seconds("gammapy.makers") for _ in range(3)])
    report("portal serve to availability (empty archive), p50", median(starts), "s")
    report("import portal.app", app_import, "s")
    report("import portal.app / import gammapy.makers", app_import / gammapy_import, "ratio",
           goal="< 0.5 (services start without the science stack)", met=app_import / gammapy_import < 0.5)
