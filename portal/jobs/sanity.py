"""What a fit must look like before a job may call it a result: values a gamma-ray source can have.

A fit can converge with finite errors and still land on nonsense, typically a joint WStat fit
over many runs of few counts (FACT's 125 Crab runs unstacked: alpha 1.30 +- 0.51, beta 5.99).
The bounds below are far outside every published very-high-energy spectrum, so a real source
never meets them; they catch fits that went astray:

- power-law index, log-parabola alpha, cut-off power-law index: between 0.5 and 6
  (measured TeV indices lie between about 1.5 and 4.5);
- log-parabola beta (gammapy's natural-log convention): between -0.5 and 1, that is -1.15 to 2.3
  in the log10 convention of many papers (the Crab's is 0.16, or 0.37 in log10; no known source
  exceeds about 0.5 in log10 convention by much);
- and, a weaker sign: the amplitude, index or alpha with an error larger than its value. A weak or
  undetected source has such errors too, so this alone never ends a job: under ``stack=auto`` a fit over
  separate runs that shows it is refitted stacked, and the log says so.
"""

from __future__ import annotations

import math

__all__ = ["BOUNDS", "problems", "loose"]

BOUNDS = {"index": (0.5, 6.0), "alpha": (0.5, 6.0), "beta": (-0.5, 1.0)}
ERROR_BOUNDED = ("amplitude", "index", "alpha")
LN10 = math.log(10)


def _show(name: str, value: float, error: float) -> str:
    text = f"{name} {value:.3g} +- {error:.2g}"
    if name == "beta":
        text += f" (natural log; {value * LN10:.3g} +- {error * LN10:.2g} in log10)"
    return text


def problems(parameters) -> list[str]:
    """Why the fitted free ``parameters`` (gammapy Parameters) are not a spectrum any source has ([] if none)."""
    found = []
    for par in parameters:
        value, error = float(par.value), float(par.error)
        low, high = BOUNDS.get(par.name, (-math.inf, math.inf))
        if not low <= value <= high:
            found.append(f"{_show(par.name, value, error)} is outside {low:g} to {high:g}")
    return found


def loose(parameters) -> list[str]:
    """The amplitude, index or alpha whose error is larger than its value ([] if none)."""
    return [f"{_show(p.name, float(p.value), float(p.error))} has an error larger than its value"
            for p in parameters if p.name in ERROR_BOUNDED and not float(p.error) < abs(float(p.value))]
