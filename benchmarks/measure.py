"""What a benchmark reports: rows of (name, value, unit, goal, met), through :func:`report`.

See the top of ``benchmarks/__main__.py`` for how a benchmark module uses it.
"""

from __future__ import annotations

import statistics
import threading
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass
class Measure:
    group: str
    name: str
    value: float
    unit: str
    goal: str | None = None
    met: bool | None = None


class _State:
    rows: list[Measure] | None = None
    group: str | None = None
    lock = threading.Lock()


_state = _State()  # one module runs at a time; its threads may report too


@contextmanager
def collecting(group: str):
    """Collect the rows :func:`report` adds while the block runs (the harness does this per module)."""
    previous = _state.rows, _state.group
    _state.rows, _state.group = [], group
    try:
        yield _state.rows
    finally:
        _state.rows, _state.group = previous


def report(name: str, value: float, unit: str, goal: str | None = None, met: bool | None = None) -> Measure:
    """Add one row to the table: ``value`` in ``unit``; ``goal`` as a person reads it and ``met``
    whether the value meets it (both optional). Outside the harness the row is printed."""
    row = Measure(_state.group or "-", name, float(value), unit, goal, None if met is None else bool(met))
    rows = _state.rows
    if rows is None:
        print(f"{row.group}: {name} = {row.value:.4g} {unit}" + (f" (goal {goal}: {'met' if met else 'NOT met'})"
                                                              if goal and met is not None else ""))
    else:
        with _state.lock:
            rows.append(row)
    return row


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0-100) with linear interpolation."""
    ordered = sorted(values)
    if not ordered:
        raise ValueError("no values")
    k = (len(ordered) - 1) * q / 100
    lo, hi = int(k), min(int(k) + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (k - lo)


def median(values: list[float]) -> float:
    return statistics.median(values)
