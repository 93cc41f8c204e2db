"""What a benchmark reports: one measured value, its unit and the goal it is compared with."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Measure:
    group: str
    name: str
    value: float
    unit: str
    goal: str | None = None
    met: bool | None = None


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
