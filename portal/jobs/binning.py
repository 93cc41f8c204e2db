"""Energy binning of the 1D analyses: fixed grids per decade, which the requested ranges snap to.

The reconstructed-energy axis has ``per_decade`` bins per decade (the job parameter
``reco_bins_per_decade``, default :data:`RECO_PER_DECADE`) and the true-energy axis
:func:`true_per_decade` of it, on grids anchored at 1 TeV (edges at 10**(k/per_decade) TeV, as
gammapy's tutorials and the joint-crab paper bin), spanning the instrument's energy range. They
do not depend on the flux points: the flux-point edges (and the fit range) snap to the nearest
reconstructed edges and only group the bins. A range that snaps to less than one bin, or more
flux points than the range holds bins, is refused.

Why 20 per decade by default: a spectrum keeps only the reconstructed bins wholly above each
observation's safe threshold, so a coarse axis raises the thresholds. At 10 per decade the
H.E.S.S. DR1 Crab runs' thresholds (0.87, 0.71, 0.66, 0.87 TeV) rose to 1.0, 0.79, 0.79, 1.0 TeV
(12 to 20 %) and about 15 % of the excess was lost; at 20 per decade they become 0.89, 0.71,
0.71, 0.89 TeV (0 to 7 %), the binning of the joint-crab paper (Nigro et al. 2019) and of
gammapy's tutorials.

Pure Python on purpose: the job service calls :func:`check_spectrum` / :func:`check_lightcurve`
when a job is posted (HTTP 400 before it is queued) and must not import the science stack.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from portal.uws.definitions import UsageError
from portal.uws.params import ParameterError

__all__ = ["RECO_PER_DECADE", "TRUE_PER_DECADE", "RECO_PER_DECADE_RANGE", "GRID_LIMITS", "true_per_decade",
           "BinningError", "EnergyBinning", "grid_index", "grid_energy", "flux_point_indices", "range_indices",
           "binning_of", "request_binning", "axis_span", "check_spectrum", "check_lightcurve"]

RECO_PER_DECADE = 20  # the default: 0.05 in log10(E), a factor 1.122 per bin
RECO_PER_DECADE_RANGE = (4, 50)  # what a job may ask for
TRUE_PER_DECADE = 20  # at least; never coarser than the reconstructed axis
GRID_LIMITS = (1e-3, 1e4)  # TeV: no axis goes beyond, whatever an instrument's files say


def true_per_decade(per_decade: int = RECO_PER_DECADE) -> int:
    """Bins per decade of the true-energy axis for a reconstructed axis of ``per_decade``."""
    return max(TRUE_PER_DECADE, per_decade)


def _max_bins(per_decade: int) -> int:
    return round(math.log10(GRID_LIMITS[1] / GRID_LIMITS[0]) * per_decade)


def _step(per_decade: int) -> float:
    return 10 ** (1 / per_decade)


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


def range_indices(e_min: float, e_max: float, what: str, names: tuple[str, str],
                  per_decade: int = RECO_PER_DECADE) -> tuple[int, int]:
    """``e_min``..``e_max`` snapped to the reconstructed grid; less than one bin is a BinningError."""
    if not e_min < e_max:
        raise BinningError(f"The {what} must have {names[0]} < {names[1]} (got {e_min:g} to {e_max:g} TeV).")
    lo, hi = grid_index(e_min, per_decade), grid_index(e_max, per_decade)
    if hi <= lo:
        raise BinningError(
            f"The {what} {e_min:g} to {e_max:g} TeV is narrower than one energy bin: the analysis bins "
            f"reconstructed energy in steps of a factor {_step(per_decade):.3f} ({per_decade} per decade), and "
            f"both ends fall on the edge at {_tev(grid_energy(lo, per_decade))}. Choose {names[1]} of at least "
            f"{_tev(grid_energy(lo + 1, per_decade))}, or a wider range (or more reco_bins_per_decade)."
        )
    return lo, hi


def _snapped(e_min: float, e_max: float, n_bins: int, per_decade: int) -> tuple[int, ...] | None:
    """Log-spaced edges snapped to the grid; None if two fall on the same grid edge."""
    step = math.log10(e_max / e_min) / n_bins
    indices = tuple(round(per_decade * (math.log10(e_min) + i * step)) for i in range(n_bins + 1))
    return indices if all(b > a for a, b in zip(indices, indices[1:], strict=False)) else None


def flux_point_indices(e_min: float, e_max: float, n_bins: int, per_decade: int = RECO_PER_DECADE) -> tuple[int, ...]:
    """The grid indices of the ``n_bins + 1`` flux-point edges: log-spaced from ``e_min`` to ``e_max``,
    each snapped to the nearest grid edge (as gammapy's estimators group bins), strictly increasing."""
    lo, hi = range_indices(e_min, e_max, "flux-point range", ("e_min", "e_max"), per_decade)
    span = hi - lo
    if n_bins < 1:
        raise BinningError(f"n_bins must be at least 1 (got {n_bins}).")
    indices = _snapped(e_min, e_max, n_bins, per_decade)
    if indices is None:
        most = next(n for n in range(min(span, n_bins), 0, -1) if _snapped(e_min, e_max, n, per_decade) is not None)
        raise BinningError(
            f"The flux-point range {e_min:g} to {e_max:g} TeV holds {span} energy bin{'s' if span > 1 else ''} "
            f"({_tev(grid_energy(lo, per_decade))} to {_tev(grid_energy(hi, per_decade))}, {per_decade} per "
            f"decade): {n_bins} flux points would share bins. Ask for at most {most} flux point"
            f"{'s' if most > 1 else ''} (n_bins), a wider range or more reco_bins_per_decade."
        )
    return indices


@dataclass(frozen=True)
class EnergyBinning:
    """Where the flux points and the fit range fall on the reconstructed grid (indices, ``per_decade``)."""

    points: tuple[int, ...]
    fit: tuple[int | None, int | None] = (None, None)
    per_decade: int = RECO_PER_DECADE

    def point_edges(self) -> list[float]:
        """The flux-point edges in TeV."""
        return [grid_energy(i, self.per_decade) for i in self.points]

    def fit_range(self) -> tuple[float | None, float | None]:
        """The fit range in TeV (None: no limit on that side)."""
        return tuple(None if i is None else grid_energy(i, self.per_decade) for i in self.fit)

    def indices(self) -> list[int]:
        return [*self.points, *(i for i in self.fit if i is not None)]

    def energies(self) -> list[float]:
        """Every requested edge (flux points and fit range) in TeV."""
        return [grid_energy(i, self.per_decade) for i in self.indices()]


def check_per_decade(per_decade: int) -> int:
    low, high = RECO_PER_DECADE_RANGE
    if not low <= int(per_decade) <= high:
        raise BinningError(f"reco_bins_per_decade must be between {low} and {high} (got {per_decade}).")
    return int(per_decade)


def binning_of(e_min: float, e_max: float, n_bins: int, fit_e_min: float | None = None,
               fit_e_max: float | None = None, per_decade: int = RECO_PER_DECADE) -> EnergyBinning:
    """The binning of a request; a range the grid cannot bin is a :class:`BinningError`."""
    per_decade = check_per_decade(per_decade)
    points = flux_point_indices(e_min, e_max, n_bins, per_decade)
    if fit_e_min is not None and fit_e_max is not None:
        fit = range_indices(fit_e_min, fit_e_max, "fit energy range", ("fit_e_min", "fit_e_max"), per_decade)
    else:
        fit = tuple(None if e is None else grid_index(e, per_decade) for e in (fit_e_min, fit_e_max))
    return EnergyBinning(points, fit, per_decade)


def axis_span(instrument: tuple[float, float], binning: EnergyBinning,
              per_decade: int | None = None) -> tuple[int, int]:
    """Grid indices (first, last edge) of an axis of ``per_decade`` (default: the binning's own) that
    covers the instrument's energy range (TeV) and every requested edge, within :data:`GRID_LIMITS`."""
    per_decade = binning.per_decade if per_decade is None else per_decade
    lo_limit, hi_limit = (grid_index(e, per_decade) for e in GRID_LIMITS)
    lo = max(lo_limit, math.floor(per_decade * math.log10(instrument[0]) + 1e-3))  # float32 edges in IRFs
    hi = min(hi_limit, math.ceil(per_decade * math.log10(instrument[1]) - 1e-3))
    requested = [per_decade * math.log10(e) for e in binning.energies()]
    lo = min([lo, *(math.floor(r + 1e-6) for r in requested)])
    hi = max([hi, *(math.ceil(r - 1e-6) for r in requested)])
    if hi - lo > _max_bins(per_decade):  # cannot happen with GRID_LIMITS, but never build more
        raise BinningError(f"The energy axis would have {hi - lo} bins, more than {_max_bins(per_decade)}.")
    return lo, hi


def _checked(check, params: dict[str, Any]) -> None:
    try:
        check(params)
    except BinningError as exc:
        raise ParameterError(str(exc)) from None


def request_binning(params: dict[str, Any], n_bins: int | None = None) -> EnergyBinning:
    """The binning a 1D job's parameters ask for (``n_bins`` flux points, default the parameter's)."""
    return binning_of(params["e_min"], params["e_max"], params["n_bins"] if n_bins is None else n_bins,
                      params.get("fit_e_min"), params.get("fit_e_max"),
                      params.get("reco_bins_per_decade") or RECO_PER_DECADE)


def check_spectrum(params: dict[str, Any]) -> None:
    """The ``spectrum`` job's binning rules, for the job service (ParameterError: HTTP 400)."""
    _checked(request_binning, params)


def check_lightcurve(params: dict[str, Any]) -> None:
    """The ``lightcurve`` job's binning rules: one integral-flux bin from e_min to e_max."""
    _checked(lambda p: request_binning(p, 1), params)

