"""The ticks of the SED's log axes: at decades, labelled as people write them, as many as fit without overlapping.

bqplot's own choice for a log axis labels every decade with d3's format ("1e+0"), however narrow the plot. Here
the ticks are chosen from the axis' length in pixels and the span in decades:

- every decade when the labels fit, else every 2nd, 3rd, 5th... decade (aligned: 0.01, 1, 100);
- for a span of under two decades, 1-2-5 (or 1-3) steps within the decades, when they fit;
- labels plainly (0.001 ... 1000) when all ticks are within 10⁻³ and 10⁴, else as powers of ten (10⁻¹¹, 2×10⁻¹¹).

:func:`axis_ticks` gives the values and the labels; bqplot's ``Axis.tick_labels`` takes the labels keyed by the
value as the browser writes a number (:func:`js_number`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

CHAR_PX = 7.0  # a digit of bqplot's 12px tick font
SMALL_PX = 5.0  # a superscript character
GAP_PX = 10.0  # between two labels side by side
LINE_PX = 15.0  # the height of a label: ticks on a vertical axis are at least this plus the gap apart
PLAIN = (-3, 4)  # decades labelled plainly: 0.001 to 10000
STEPS = (1, 2, 3, 5, 10, 20, 50, 100)  # decades between two ticks
SUPERSCRIPT = str.maketrans("-0123456789", "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")


@dataclass(frozen=True)
class Ticks:
    values: list[float]
    labels: list[str]

    def bqplot_labels(self) -> dict[str, str]:
        """``Axis.tick_labels``: the label of each value, keyed as the browser writes the number."""
        return {js_number(v): label for v, label in zip(self.values, self.labels)}


def axis_ticks(lo: float, hi: float, length_px: float, vertical: bool = False) -> Ticks:
    """The ticks of a log axis from ``lo`` to ``hi`` drawn over ``length_px`` pixels."""
    lo, hi = sorted((float(lo), float(hi)))
    if not (lo > 0 and math.isfinite(hi) and hi > lo):
        return Ticks([], [])
    per_decade = max(length_px, 1.0) / math.log10(hi / lo)
    decades = [k for k in range(math.ceil(math.log10(lo) - 1e-9), math.floor(math.log10(hi) + 1e-9) + 1)]
    if len(decades) < 2:
        for mantissas in ((1, 2, 5), (1, 3), tuple(range(1, 10))):
            found = _mantissa_ticks(lo, hi, mantissas)
            if len(found.values) >= 2 and _fits(found, per_decade, vertical):
                return found
        if decades:
            return _labelled([(1, decades[0])])
        return _labelled([(_nice(math.sqrt(lo * hi)))])
    for step in STEPS:
        chosen = [(1, k) for k in decades if k % step == 0]
        ticks = _labelled(chosen)
        if len(chosen) <= 1 or _fits(ticks, per_decade, vertical):
            return ticks if chosen else _labelled([(1, decades[0])])
    return _labelled([(1, decades[0]), (1, decades[-1])])


def label_px(label: str) -> float:
    """The width a tick label takes (an estimate from its characters; no browser needed)."""
    small = sum(1 for c in label if c in "⁻⁰¹²³⁴⁵⁶⁷⁸⁹")
    narrow = sum(1 for c in label if c in ".")
    return (len(label) - small - narrow) * CHAR_PX + small * SMALL_PX + narrow * 3.5


def _fits(ticks: Ticks, per_decade: float, vertical: bool) -> bool:
    """Whether no two neighbouring labels overlap (with a gap between them)."""
    for (a, la), (b, lb) in zip(zip(ticks.values, ticks.labels), zip(ticks.values[1:], ticks.labels[1:])):
        apart = per_decade * math.log10(b / a)
        need = LINE_PX + GAP_PX / 2 if vertical else (label_px(la) + label_px(lb)) / 2 + GAP_PX
        if apart < need:
            return False
    return True


def _mantissa_ticks(lo: float, hi: float, mantissas) -> Ticks:
    found = []
    for k in range(math.floor(math.log10(lo)) - 1, math.ceil(math.log10(hi)) + 1):
        for m in mantissas:
            value = float(f"{m}e{k}")
            if lo * (1 - 1e-9) <= value <= hi * (1 + 1e-9):
                found.append((m, k))
    return _labelled(found)


def _nice(value: float) -> tuple[int, int]:
    k = math.floor(math.log10(value))
    m = min((1, 2, 5, 10), key=lambda m: abs(math.log10(m * 10.0**k / value)))
    return (1, k + 1) if m == 10 else (m, k)


def _labelled(ticks) -> Ticks:
    """Values and labels of (mantissa, exponent) pairs: plainly, or all as powers of ten."""
    ticks = sorted(set(ticks), key=lambda mk: mk[1] + math.log10(mk[0]))
    values = [float(f"{m}e{k}") for m, k in ticks]
    plain = all(PLAIN[0] <= k <= PLAIN[1] - (m > 1) for m, k in ticks)
    labels = [_plain(v) if plain else _power(m, k) for (m, k), v in zip(ticks, values)]
    return Ticks(values, labels)


def _plain(value: float) -> str:
    return f"{value:.10f}".rstrip("0").rstrip(".") if value < 1 else f"{value:.0f}"


def _power(m: int, k: int) -> str:
    power = "10" + str(k).translate(SUPERSCRIPT)
    return power if m == 1 else f"{m}×{power}"


def js_number(value: float) -> str:
    """``String(value)`` in the browser: the shortest digits (as Python's repr), written as JavaScript does
    (decimal from 10⁻⁶ to below 10²¹, else ``1e-7``, ``2.5e+21``)."""
    value = float(value)
    if value == 0 or not math.isfinite(value):
        return {math.inf: "Infinity", -math.inf: "-Infinity"}.get(value, "0" if value == 0 else "NaN")
    sign = "-" if value < 0 else ""
    digits, exp = _shortest(abs(value))
    if -7 < exp < 21:
        if exp >= len(digits) - 1:
            text = digits + "0" * (exp - len(digits) + 1)
        elif exp >= 0:
            text = digits[:exp + 1] + "." + digits[exp + 1:]
        else:
            text = "0." + "0" * (-exp - 1) + digits
        return sign + text
    body = digits[0] + ("." + digits[1:] if len(digits) > 1 else "")
    return f"{sign}{body}e{'+' if exp > 0 else '-'}{abs(exp)}"


def _shortest(value: float) -> tuple[str, int]:
    """The shortest round-trip digits of ``value`` and the exponent of the first digit."""
    text = repr(value)
    mantissa, _, exponent = text.partition("e")
    exp = int(exponent) if exponent else 0
    whole, _, fraction = mantissa.partition(".")
    fraction = "" if fraction == "0" else fraction
    digits = (whole + fraction).lstrip("0")
    if whole.strip("0"):
        exp += len(whole.lstrip("0")) - 1
    else:
        exp -= len(fraction) - len(fraction.lstrip("0")) + 1
    return digits.rstrip("0") or "0", exp
