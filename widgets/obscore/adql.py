"""ADQL from the ObsCore form: one small function per condition, joined with AND.

Only numbers (checked finite) and quoted string literals (quotes doubled) ever reach the query
text, so nothing typed in the form can change its structure.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable

# ObsCore 1.1 calib_level against the CTAO data levels (DL1 and DL2 share calib_level 1).
DATA_LEVELS = {"DL0": 0, "DL1": 1, "DL2": 1, "DL3": 2, "DL4": 3, "DL5": 4}
HC_TEV_M = 1.239841984e-18  # h*c in TeV*m: wavelength (m) = HC_TEV_M / energy (TeV)
_IDENTIFIER = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*){0,2}$")


def literal(value: str) -> str:
    """An ADQL string literal."""
    return "'" + str(value).replace("'", "''") + "'"


def number(value: float | int) -> str:
    """An ADQL numeric literal (finite numbers only)."""
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"not a finite number: {value}")
    return repr(int(value)) if value.is_integer() and abs(value) < 1e15 else repr(value)


def identifier(name: str) -> str:
    """A table or column name, checked (schema.table or table)."""
    if not _IDENTIFIER.match(name or ""):
        raise ValueError(f"not a valid table or column name: {name!r}")
    return name


def cone(ra: float, dec: float, radius: float, mode: str = "fov") -> str:
    """Observations whose field of view overlaps the circle ("fov"), or whose pointing lies in it
    ("pointing"). "pointing_fov" is the stand-in for "fov" on services that give no ``s_region``: the
    pointing closer than the radius plus half the field of view (``s_fov``, a diameter)."""
    if mode == "pointing_fov":
        return (f"DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', {number(ra)}, {number(dec)})) "
                f"<= {number(radius)} + s_fov / 2")
    circle = f"CIRCLE('ICRS', {number(ra)}, {number(dec)}, {number(radius)})"
    if mode == "pointing":
        return f"1 = CONTAINS(POINT('ICRS', s_ra, s_dec), {circle})"
    return f"1 = INTERSECTS(s_region, {circle})"


def one_of(column: str, values: Iterable, numeric: bool = False) -> str | None:
    values = list(dict.fromkeys(values))
    if not values:
        return None
    items = [number(v) if numeric else literal(v) for v in values]
    if len(items) == 1:
        return f"{identifier(column)} = {items[0]}"
    return f"{identifier(column)} IN ({', '.join(items)})"


def text_match(column: str, pattern: str) -> str | None:
    """Case-insensitive match; ``*`` and ``%`` are wildcards, else the text may appear anywhere."""
    pattern = pattern.strip()
    if not pattern:
        return None
    like = pattern.replace("*", "%")
    if "%" not in like and "_" not in like:
        like = f"%{like}%"
    return f"{identifier(column)} ILIKE {literal(like)}"


def overlap(low_column: str, high_column: str, low: float | None, high: float | None) -> list[str]:
    """Intervals [low_column, high_column] that overlap [low, high] (either end may be open)."""
    out = []
    if low is not None:
        out.append(f"{identifier(high_column)} >= {number(low)}")
    if high is not None:
        out.append(f"{identifier(low_column)} <= {number(high)}")
    return out


def at_least(column: str, value: float | None) -> str | None:
    return None if value is None else f"{identifier(column)} >= {number(value)}"


def at_most(column: str, value: float | None) -> str | None:
    return None if value is None else f"{identifier(column)} <= {number(value)}"


def energy_as_wavelength(e_min: float | None, e_max: float | None) -> list[str]:
    """An energy range (TeV) on the standard em_min/em_max columns (wavelengths in metres)."""
    # [e_min, e_max] in energy is [hc/e_max, hc/e_min] in wavelength
    low = HC_TEV_M / e_max if e_max else None
    high = HC_TEV_M / e_min if e_min else None
    return overlap("em_min", "em_max", low, high)


def select(table: str, conditions: Iterable[str | None], columns: str = "*", top: int | None = None) -> str:
    """``SELECT [TOP n] columns FROM table WHERE c1 AND c2 ...``, one condition per line."""
    kept = [c for c in conditions if c]
    head = f"SELECT TOP {int(top)} {columns}" if top else f"SELECT {columns}"
    lines = [head, f"FROM {identifier(table)}"]
    if kept:
        lines.append("WHERE " + kept[0])
        lines.extend(f"  AND {c}" for c in kept[1:])
    return "\n".join(lines)
