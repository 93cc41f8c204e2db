"""Energy binning of the 1D analyses: fixed grids per decade, which the requested ranges snap to.

The reconstructed-energy axis has :data:`RECO_PER_DECADE` bins per decade and the true-energy
axis :data:`TRUE_PER_DECADE`, on grids anchored at 1 TeV (edges at 10**(k/10) TeV, as gammapy's
tutorials bin), spanning the instrument's energy range. They do not depend on the flux points:
the flux-point edges (and the fit range) snap to the nearest reconstructed edges and only group
the bins. A range that snaps to less than one bin, or more flux points than the range holds
bins, is refused.

Pure Python on purpose: the job service calls :func:`check_spectrum` / :func:`check_lightcurve`
when a job is posted (HTTP 400 before it is queued) and must not import the science stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from portal.uws.definitions import UsageError
from portal.uws.params import ParameterError

__all__ = ["RECO_PER_DECADE", "TRUE_PER_DECADE", "GRID_LIMITS", "BinningError", "EnergyBinning",
           "grid_index", "grid_energy", "flux_point_indices", "range_indices", "binning_of", "axis_span",
           "check_spectrum", "check_lightcurve"]

RECO_PER_DECADE = 10  # 0.1 in log10(E): a factor 1.26 per bin
TRUE_PER_DECADE = 20
GRID_LIMITS = (1e-3, 1e4)  # TeV: no axis goes beyond, whatever an instrument's files say
MAX_RECO_BINS = round(math.log10(GRID_LIMITS[1] / GRID_LIMITS[0]) * RECO_PER_DECADE)
STEP = 10 ** (1 / RECO_PER_DECADE)


class BinningError(UsageError):
    """A requested range the grid cannot bin; the message is for the user (a job's UsageError, HTTP 400
    when the service checks the parameters)."""


def grid_index(energy: float, per_decade: int = RECO_PER_DECADE) -> int:
    """The index of the grid edge nearest to ``energy`` (TeV); edge k is at 10**(k/per_decade) TeV."""
    if not energy > 0 or not math.isfinite(energy):
        raise BinningError(f"energies must be positive and finite (got {energy!r} TeV)")
    return round(per_decade * math.log10(energy))


def grid_energy(index: int, per_decade: int = RECO_PER_DECADE) -> float:
    """The energy (TeV) of grid edge ``index``."""
    return 10 ** (index / per_decade)


def _tev(value: float) -> str:
    return f"{value:.3g} TeV"


def range_indices(e_min: float, e_max: float, what: str, names: tuple[str, str]) -> tuple[int, int]:
    """``e_min``..``e_max`` snapped to the reconstructed grid; less than one bin is a BinningError."""
    if not e_min < e_max:
        raise BinningError(f"The {what} must have {names[0]} < {names[1]} (got {e_min:g} to {e_max:g} TeV).")
    lo, hi = grid_index(e_min), grid_index(e_max)
    if hi <= lo:
        raise BinningError(
            f"The {what} {e_min:g} to {e_max:g} TeV is narrower than one energy bin: the analysis bins "
            f"reconstructed energy in steps of a factor {STEP:.3f} ({RECO_PER_DECADE} per decade), and both "
            f"ends fall on the edge at {_tev(grid_energy(lo))}. Choose {names[1]} of at least "
            f"{_tev(grid_energy(lo + 1))}, or a wider range."
        )
    return lo, hi


def _snapped(e_min: float, e_max: float, n_bins: int) -> tuple[int, ...] | None:
    """Log-spaced edges snapped to the grid; None if two fall on the same grid edge."""
    step = math.log10(e_max / e_min) / n_bins
    indices = tuple(round(RECO_PER_DECADE * (math.log10(e_min) + i * step)) for i in range(n_bins + 1))
    return indices if all(b > a for a, b in zip(indices, indices[1:], strict=False)) else None


def flux_point_indices(e_min: float, e_max: float, n_bins: int) -> tuple[int, ...]:
    """The grid indices of the ``n_bins + 1`` flux-point edges: log-spaced from ``e_min`` to ``e_max``,
    each snapped to the nearest grid edge (as gammapy's estimators group bins), strictly increasing."""
    lo, hi = range_indices(e_min, e_max, "flux-point range", ("e_min", "e_max"))
    span = hi - lo
    if n_bins < 1:
        raise BinningError(f"n_bins must be at least 1 (got {n_bins}).")
    indices = _snapped(e_min, e_max, n_bins)
    if indices is None:
        most = next(n for n in range(min(span, n_bins), 0, -1) if _snapped(e_min, e_max, n) is not None)
        raise BinningError(
            f"The flux-point range {e_min:g} to {e_max:g} TeV holds {span} energy bin{'s' if span > 1 else ''} "
            f"({_tev(grid_energy(lo))} to {_tev(grid_energy(hi))}, {RECO_PER_DECADE} per decade): {n_bins} flux "
            f"points would share bins. Ask for at most {most} flux point{'s' if most > 1 else ''} (n_bins) or a "
            "wider range."
        )
    return indices


@dataclass(frozen=True)
class EnergyBinning:
    """Where the flux points and the fit range fall on the reconstructed grid (indices)."""

    points: tuple[int, ...]
    fit: tuple[int | None, int | None] = (None, None)

    def point_edges(self) -> list[float]:
        """The flux-point edges in TeV."""
        return [grid_energy(i) for i in self.points]

    def fit_range(self) -> tuple[float | None, float | None]:
        """The fit range in TeV (None: no limit on that side)."""
        return tuple(None if i is None else grid_energy(i) for i in self.fit)

    def indices(self) -> list[int]:
        return [*self.points, *(i for i in self.fit if i is not None)]


def binning_of(e_min: float, e_max: float, n_bins: int, fit_e_min: float | None = None,
               fit_e_max: float | None = None) -> EnergyBinning:
    """The binning of a request; a range the grid cannot bin is a :class:`BinningError`."""
    points = flux_point_indices(e_min, e_max, n_bins)
    if fit_e_min is not None and fit_e_max is not None:
        fit = range_indices(fit_e_min, fit_e_max, "fit energy range", ("fit_e_min", "fit_e_max"))
    else:
        fit = tuple(None if e is None else grid_index(e) for e in (fit_e_min, fit_e_max))
    return EnergyBinning(points, fit)


def axis_span(instrument: tuple[float, float], binning: EnergyBinning,
              per_decade: int = RECO_PER_DECADE) -> tuple[int, int]:
    """Grid indices (first, last edge) of an axis that covers the instrument's energy range (TeV)
    and every requested edge, within :data:`GRID_LIMITS`."""
    lo_limit, hi_limit = (grid_index(e, per_decade) for e in GRID_LIMITS)
    lo = max(lo_limit, math.floor(per_decade * math.log10(instrument[0]) + 1e-3))  # float32 edges in IRFs
    hi = min(hi_limit, math.ceil(per_decade * math.log10(instrument[1]) - 1e-3))
    scale = per_decade // RECO_PER_DECADE
    requested = [i * scale for i in binning.indices()]
    lo, hi = min([lo, *requested]), max([hi, *requested])
    if hi - lo > MAX_RECO_BINS * scale:  # cannot happen with GRID_LIMITS, but never build more
        raise BinningError(f"The energy axis would have {hi - lo} bins, more than {MAX_RECO_BINS * scale}.")
    return lo, hi


def _checked(check, params: dict[str, Any]) -> None:
    try:
        check(params)
    except BinningError as exc:
        raise ParameterError(str(exc)) from None


def check_spectrum(params: dict[str, Any]) -> None:
    """The ``spectrum`` job's binning rules, for the job service (ParameterError: HTTP 400)."""
    _checked(lambda p: binning_of(p["e_min"], p["e_max"], p["n_bins"], p.get("fit_e_min"), p.get("fit_e_max")),
             params)


def check_lightcurve(params: dict[str, Any]) -> None:
    """The ``lightcurve`` job's binning rules: one integral-flux bin from e_min to e_max."""
    _checked(lambda p: binning_of(p["e_min"], p["e_max"], 1, p.get("fit_e_min"), p.get("fit_e_max")), params)

