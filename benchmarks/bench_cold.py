"""A cold dashboard's kernel work before the page can be drawn, against the widget libraries it draws with.

Issue 22's figure: the CPU of ``from widgets import Portal; Portal()`` in a fresh interpreter, against importing
only ipywidgets, bqplot, ipyaladin and ipydatagrid (the libraries the page needs whoever builds it). Each run is a
fresh ``python -c``; the two are interleaved (A B B A ...) so that drifts of the machine's load cancel, and the
ratio of the medians is the figure. ``PORTAL_URL`` points at a closed port: the widgets' first requests fail at
once, so the figure is the kernel's own work, not a server's.

Also reported, to say where the rest goes:
- the CPU of the background work the dashboard starts (its first requests, run in threads once it is built),
  measured when that work has ended (the page is being drawn meanwhile; bqplot and ipydatagrid, in the base list,
  are imported only when the SED or the first results are drawn);
- the same ratio with CPython's cyclic garbage collector off in both (``gc.disable()``): a full collection of the
  libraries' ~160,000 objects (~65 ms here) falls wherever the allocations cross its threshold;
- the modules ``from widgets import Portal, SEDPlot, JobLauncher, JobMonitor`` imports that it must not (the science
  stack, the services' web framework, the job store): goal none.
Usage: ``python -m benchmarks cold``.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

from benchmarks import report
from benchmarks.measure import median

ROUNDS = int(os.environ.get("BENCH_COLD_ROUNDS", "7"))
GOAL = 1.2
BASE = "import ipywidgets, bqplot, ipyaladin, ipydatagrid"
PORTAL = "from widgets import Portal\nportal = Portal()"
# the CPU when the code has run; for the portal also when the work it started in threads has ended
PROBE = """
import gc, json, resource, time
{gc}
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
{code}
built = cpu()
after = built
if "portal" in globals():
    from widgets.background import Background
    bg = Background.shared()
    deadline = time.monotonic() + 30
    while bg.pending and time.monotonic() < deadline:
        time.sleep(0.01)
    after = cpu()
print(json.dumps({{"cpu": built, "after": after, "full_collections": gc.get_stats()[2]["collections"]}}))
"""
FORBIDDEN = re.compile(r"^(gammapy|scipy\.optimize|starlette|portal\.uws\.store|portal\.uws\.store_sql)(\.|$)")
ROOT = Path(__file__).resolve().parents[1]


def _environment() -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "JUPYTER"))}
    return {**env, "PORTAL_URL": "http://127.0.0.1:9"}  # nothing listens there: every request fails at once


def _cpu(code: str, gc_off: bool = False) -> dict:
    script = PROBE.format(code=code, gc="gc.disable()" if gc_off else "")
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT,
                         env=_environment())
    return json.loads(out.stdout.strip().splitlines()[-1])


def forbidden_imports() -> list[str]:
    out = subprocess.run([sys.executable, "-X", "importtime", "-c",
                          "from widgets import Portal, SEDPlot, JobLauncher, JobMonitor"],
                         capture_output=True, text=True, check=True, cwd=ROOT, env=_environment())
    names = [line.rsplit("|", 1)[-1].strip() for line in out.stderr.splitlines() if line.startswith("import time:")]
    return sorted({n for n in names if FORBIDDEN.match(n)})


def run() -> None:
    base, portal, base_nogc, portal_nogc = [], [], [], []
    loads = []
    for i in range(ROUNDS):
        loads.append(os.getloadavg()[0])
        pairs = ((base, BASE), (portal, PORTAL)) if i % 2 == 0 else ((portal, PORTAL), (base, BASE))
        for runs, code in pairs:
            runs.append(_cpu(code))
        for runs, code in ((base_nogc, BASE), (portal_nogc, PORTAL)):
            runs.append(_cpu(code, gc_off=True))
    base_s = median([r["cpu"] for r in base])
    portal_s = median([r["cpu"] for r in portal])
    ratio = portal_s / base_s
    report(f"import ipywidgets, bqplot, ipyaladin, ipydatagrid: CPU, median of {ROUNDS}", base_s, "s")
    report(f"from widgets import Portal; Portal(): CPU when built, median of {ROUNDS}", portal_s, "s")
    report("cold dashboard: Portal() / the widget libraries alone (was 1.54)", ratio, "x", goal=f"<= {GOAL}",
           met=ratio <= GOAL)
    background = median([r["after"] - r["cpu"] for r in portal])
    report("  its background work (first requests, in threads once built; pyvo and the HTTP stack): CPU",
           background, "s")
    report("  Portal() with that background work / the widget libraries alone", (portal_s + background) / base_s,
           "x")
    report("  full garbage collections in the Portal() run (base run)",
           median([r["full_collections"] for r in portal]), f"(base {median([r['full_collections'] for r in base])})")
    nogc = median([r["cpu"] for r in portal_nogc]) / median([r["cpu"] for r in base_nogc])
    report("  the same ratio, garbage collector off in both", nogc, "x")
    report(f"machine load (1-min load average) during the runs, min to max on {os.cpu_count()} cores: "
           f"{min(loads):.1f} to", max(loads), "load")
    bad = forbidden_imports()
    report("modules `from widgets import Portal, SEDPlot, JobLauncher, JobMonitor` must not import (gammapy, "
           "scipy.optimize, starlette, the job store)" + (f": {', '.join(bad)}" if bad else ""), len(bad), "modules",
           goal="0", met=not bad)
