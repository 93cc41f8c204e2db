"""Run the benchmarks and print a table; results also go to benchmarks/results/latest.json.

Each module ``benchmarks/bench_<name>.py`` defines ``run() -> list[Measure]``. Goals are
reported, never asserted: a benchmark informs, the tests decide.
Usage: python -m benchmarks [name ...]   (names without the bench_ prefix)
"""

from __future__ import annotations

import importlib
import json
import sys
import time
import traceback
from dataclasses import asdict
from pathlib import Path

from benchmarks.measure import Measure

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


def main(argv: list[str]) -> int:
    rows: list[Measure] = []
    failed = []
    for name in discover(argv):
        print(f"running {name} ...", flush=True)
        started = time.perf_counter()
        try:
            module = importlib.import_module(f"benchmarks.{name}")
            rows.extend(module.run())
        except Exception:  # noqa: BLE001 - one broken benchmark must not hide the others
            traceback.print_exc()
            failed.append(name)
        print(f"  {name} took {time.perf_counter() - started:.1f} s", flush=True)
    print()
    print(format_table(rows))
    out = HERE / "results"
    out.mkdir(exist_ok=True)
    (out / "latest.json").write_text(json.dumps([asdict(r) for r in rows], indent=2))
    if failed:
        print(f"\nbenchmarks that failed: {', '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
