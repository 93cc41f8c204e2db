"""Observation footprints from ObsCore ``s_region``, as ``(row, STC-S)`` pairs for Aladin Lite.

``s_region`` comes as an STC-S string (``CIRCLE ICRS 83.6 22.5 2.5``, ``POLYGON ICRS ...``) or,
from services that use DALI geometry types, as an array of numbers (xtype ``circle``: ra, dec,
radius; ``polygon``: ra1, dec1, ra2, dec2...). Aladin Lite's own STC-S parser draws them.
"""

from __future__ import annotations

import numpy as np


def to_stcs(value) -> str | None:
    """One s_region value as an STC-S string, or None when empty or not a region."""
    if value is None or np.ma.is_masked(value):
        return None
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if isinstance(value, str):
        text = " ".join(value.split())
        return text or None
    try:
        numbers = np.ma.filled(np.asarray(value, dtype=float).ravel(), np.nan)
    except (TypeError, ValueError):
        return None
    numbers = numbers[np.isfinite(numbers)]
    if numbers.size == 3:
        return "CIRCLE ICRS " + " ".join(f"{v:.6f}" for v in numbers)
    if numbers.size >= 6 and numbers.size % 2 == 0:
        return "POLYGON ICRS " + " ".join(f"{v:.6f}" for v in numbers)
    return None


def footprints_from_table(table, column: str = "s_region") -> list[tuple[int, str]]:
    """``[(row, stcs), ...]`` for every row of ``table`` with a usable region."""
    if table is None or column not in table.colnames:
        return []
    out = []
    for row, value in enumerate(table[column]):
        stcs = to_stcs(value)
        if stcs is not None:
            out.append((row, stcs))
    return out


def _points(stcs: str) -> list[tuple[float, float, float]]:
    """(ra, dec, radius) of a circle's centre, or the vertices (radius 0) of a polygon."""
    words = stcs.replace("(", " ").replace(")", " ").replace(",", " ").split()
    numbers = []
    for word in words[1:]:
        try:
            numbers.append(float(word))
        except ValueError:
            continue
    shape = words[0].upper() if words else ""
    if shape == "CIRCLE" and len(numbers) >= 3:
        return [(numbers[0], numbers[1], numbers[2])]
    if shape == "POLYGON" and len(numbers) >= 6:
        return [(numbers[i], numbers[i + 1], 0.0) for i in range(0, len(numbers) - 1, 2)]
    return []


def extent(footprints: list, ra: float, dec: float, sample: int = 5000) -> float:
    """Largest angular distance (deg) from (ra, dec) reached by the footprints (a sample of them)."""
    if not footprints:
        return 0.0
    step = max(1, len(footprints) // sample)
    pts = [p for _row, stcs in footprints[::step] for p in _points(stcs)]
    if not pts:
        return 0.0
    arr = np.radians(np.asarray(pts, dtype=float)[:, :2])
    lon0, lat0 = np.radians(ra), np.radians(dec)
    cos_sep = (np.sin(lat0) * np.sin(arr[:, 1])
               + np.cos(lat0) * np.cos(arr[:, 1]) * np.cos(arr[:, 0] - lon0))
    sep = np.degrees(np.arccos(np.clip(cos_sep, -1, 1))) + np.asarray(pts)[:, 2]
    return float(sep.max())
