"""The analysis choices of the 1D jobs that need more than one parameter's own rule.

Pure Python on purpose (as :mod:`portal.jobs.binning`): the job service checks them when a job is
posted (HTTP 400 before it is queued) and must not import the science stack.

- ``exclusion``: ``auto`` (the target with its catalog counterparts, and the other known sources),
  ``none`` (nothing: the reflected regions still never overlap the on region), or circles
  ``ra dec radius`` in degrees (ICRS), ``;``-separated: exactly those regions are kept out.
- ``safe_range=fixed`` needs ``e_threshold`` (TeV), for instruments whose IRFs carry no thresholds.
- ``stack``: ``auto``, ``true`` or ``false``; the rule of ``auto`` is :func:`should_stack`.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass
from typing import Any

from portal.uws.params import ParameterError

__all__ = ["Circle", "ExclusionChoice", "parse_exclusion", "StackDecision", "should_stack", "check_choices",
           "STACK_MANY_RUNS", "STACK_LOW_COUNTS"]

MAX_CIRCLES = 100


@dataclass(frozen=True)
class Circle:
    ra: float  # deg, ICRS
    dec: float
    radius: float  # deg


@dataclass(frozen=True)
class ExclusionChoice:
    kind: str  # "auto", "none" or "circles"
    circles: tuple[Circle, ...] = ()

    def describe(self) -> str:
        if self.kind == "auto":
            return "the target with its catalog counterparts, and the other known sources (auto)"
        if self.kind == "none":
            return "nothing (none)"
        return "; ".join(f"RA {c.ra:g} Dec {c.dec:+g} radius {c.radius:g} deg" for c in self.circles)


def parse_exclusion(text: str | None) -> ExclusionChoice:
    """The ``exclusion`` parameter; a value that is not ``auto``, ``none`` or circles is a ParameterError."""
    value = (text or "auto").strip()
    if value.lower() in ("auto", "none"):
        return ExclusionChoice(value.lower())
    circles = []
    items = [item for item in value.split(";") if item.strip()]
    if len(items) > MAX_CIRCLES:
        raise ParameterError(f"parameter exclusion: at most {MAX_CIRCLES} circles (got {len(items)})")
    for item in items:
        parts = item.replace(",", " ").split()
        try:
            ra, dec, radius = (float(p) for p in parts)
        except ValueError:
            raise ParameterError(
                f"parameter exclusion: {item.strip()!r} is not a circle; write auto, none, or circles as "
                "'ra dec radius' in degrees separated by ';' (for example '83.63 22.01 0.3; 84.4 21.1 0.2')"
            ) from None
        if not all(math.isfinite(v) for v in (ra, dec, radius)):
            raise ParameterError(f"parameter exclusion: {item.strip()!r} has a value that is not finite")
        if not (0 <= ra <= 360 and -90 <= dec <= 90 and 0 < radius <= 10):
            raise ParameterError(f"parameter exclusion: {item.strip()!r} must have 0 <= ra <= 360, -90 <= dec <= 90 "
                                 "and 0 < radius <= 10 (degrees)")
        circles.append(Circle(ra, dec, radius))
    if not circles:
        raise ParameterError("parameter exclusion: give auto, none, or at least one circle 'ra dec radius'")
    return ExclusionChoice("circles", tuple(circles))


# -- stacking -------------------------------------------------------------------------------------

STACK_MANY_RUNS = 20  # more runs than this: stack
STACK_LOW_COUNTS = 2.0  # the median run has fewer on counts than this per fitted bin: stack


@dataclass(frozen=True)
class StackDecision:
    stack: bool
    reason: str


def should_stack(choice: str, on_counts_per_bin: list[float]) -> StackDecision:
    """Whether to fit one stacked spectrum rather than every run's own (a joint WStat fit).

    ``on_counts_per_bin``: for each run, its on-region counts within the fit range divided by the
    number of fitted bins. Under ``auto`` the runs are stacked when a joint fit over separate runs is
    not safe: each run has its own background level in every bin (a WStat nuisance parameter), and
    with many runs of few counts those many nuisance parameters bias the fit (FACT's 125 short
    Crab runs gave alpha 1.3 and beta 6 unstacked, the published values stacked). So ``auto``
    stacks when there are more than :data:`STACK_MANY_RUNS` runs, or when the median run has fewer
    than :data:`STACK_LOW_COUNTS` on counts per fitted bin; else each run keeps its own responses
    in a joint fit (as gammapy's spectral tutorial and the joint-crab paper fit H.E.S.S. and MAGIC).
    """
    n = len(on_counts_per_bin)
    if choice == "true":
        return StackDecision(n > 1, "stack=true" if n > 1 else "stack=true, but there is one run")
    if choice == "false" or n < 2:
        return StackDecision(False, "stack=false" if choice == "false" else "one run")
    if n > STACK_MANY_RUNS:
        return StackDecision(True, f"stack=auto: {n} runs, more than {STACK_MANY_RUNS}")
    median = statistics.median(on_counts_per_bin)
    if median < STACK_LOW_COUNTS:
        return StackDecision(True, f"stack=auto: the median run has {median:.2g} on counts per fitted bin, fewer "
                                   f"than {STACK_LOW_COUNTS:g}")
    return StackDecision(False, f"stack=auto: {n} runs with a median of {median:.3g} on counts per fitted bin "
                                f"(stacking below {STACK_LOW_COUNTS:g}, or above {STACK_MANY_RUNS} runs)")


def check_choices(params: dict[str, Any]) -> None:
    """The rules across the choices' parameters (ParameterError: HTTP 400)."""
    parse_exclusion(params.get("exclusion"))
    if params.get("safe_range") == "fixed" and params.get("e_threshold") is None:
        raise ParameterError("safe_range=fixed needs e_threshold: the energy (TeV) above which every observation "
                             "is used (for instruments whose IRFs carry no thresholds; the joint-crab paper used "
                             "0.4 TeV for FACT)")
    if params.get("e_threshold") is not None and params.get("safe_range") != "fixed":
        raise ParameterError("e_threshold applies only with safe_range=fixed: choose safe_range=fixed, or leave "
                             "e_threshold unset")
