"""`make bench`: run the benchmarks, print one table (value, goal, met), write benchmarks/results/latest.json.

How a benchmark plugs in (the whole API)
----------------------------------------
A module ``benchmarks/bench_<name>.py`` defines ``run()`` and reports each figure with
:func:`benchmarks.report`::

    from benchmarks import report

    def run() -> None:
        p50 = ...measure...
        report("cone search p50 (1M rows)", p50 * 1000, "ms", goal="<= 30 ms", met=p50 <= 0.030)
        report("rows per second", rate, "rows/s")          # a figure without a goal

- ``report(name, value, unit, goal=None, met=None)``: ``goal`` is the goal as a person reads it
  ("<= 1 s", "0"), ``met`` whether the value meets it (``None``: no goal, or not judged).
  The row's group is the module's name (``bench_uws`` -> ``uws``).
- Rows appear in the order reported. A benchmark that fails half-way keeps the rows it
  reported before the failure; the harness notes the failure and goes on with the next module.
- Goals are reported, never asserted: a benchmark informs, the tests decide.
- ``run()`` may also return a list of :class:`benchmarks.measure.Measure` (the older form); such
  rows are added after those reported.

Usage: ``python -m benchmarks [name ...]`` (names without the ``bench_`` prefix). The JSON file
holds the rows and the machine they were measured on (CPU, cores, load, Python, date).
"""

from __future__ import annotations

import importlib
import json
import os
import platform
import sys
import time
import traceback
from dataclasses import asdict
from datetime import datetime, timezone
from pathlib import Path

from benchmarks.measure import Measure, collecting

HERE = Path(__file__).resolve().parent


def discover(names: list[str]) -> list[str]:
    modules = sorted(p.stem for p in HERE.glob("bench_*.py"))
    if names:
        modules = [m for m in modules if m.removeprefix("bench_") in names]
    return modules


def format_table(rows: list[Measure]) -> str:
    header = ("benchmark", "measure", "value", "unit", "goal", "met")
    lines = [header]
    for r in rows:
        met = "" if r.met is None else ("yes" if r.met else "NO")
        lines.append((r.group, r.name, f"{r.value:.4g}", r.unit, r.goal or "", met))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    out = ["  ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines]
    out.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(out)


def machine() -> dict:
    """What the figures were measured on."""
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    except (ValueError, OSError):
        memory = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(memory, 1) if memory else None,
            "load_average_1min": os.getloadavg()[0], "python": platform.python_version(),
            "system": platform.platform(), "date": datetime.now(timezone.utc).isoformat(timespec="seconds")}


def run_module(name: str) -> tuple[list[Measure], bool]:
    """The rows of one module, and whether it ran to the end."""
    group = name.removeprefix("bench_")
    with collecting(group) as rows:
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            returned = module.run()
            ok = True
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            returned, ok = None, False
    return rows + list(returned or []), ok


def main(argv: list[str]) -> int:
    rows: list[Measure] = []
    failed = []
    for name in discover(argv):
        print(f"running {name} ...", flush=True)
        started = time.perf_counter()
        found, ok = run_module(name)
        rows.extend(found)
        if not ok:
            failed.append(name)
        print(f"  {name} took {time.perf_counter() - started:.1f} s", flush=True)
    print()
    print(format_table(rows))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    document = {"machine": machine(), "failed": failed, "rows": [asdict(r) for r in rows]}
    (out / "latest.json").write_text(json.dumps(document, indent=2))
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
