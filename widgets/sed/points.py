"""What a set of flux points looks like on the plot, as plain arrays (no bqplot here).

Values, errors, upper limits, TS and counts are gammapy's (``FluxPoints.e2dnde``, ``.is_ul``,
``.ts`` ...), converted to the plot's units by :mod:`widgets.sed.units`. The likelihood profiles
are resampled onto a common flux grid exactly as ``FluxPoints.plot_ts_profiles`` does (gammapy's
``interp_by_coord`` with its ``stat-profile`` scale), for a heat map on the same axes.
"""

from __future__ import annotations

import threading
import weakref
from dataclasses import dataclass

import numpy as np

from widgets.sed import units

PROFILE_ROWS = 100  # flux grid of the likelihood heat map
DTS_MAX = 9.0  # the heat map's colour scale: delta TS from 0 (best) to 9 (3 sigma for one parameter)
UL_ARROW = 10 ** -0.3  # an upper-limit arrow reaches down by a factor of 2


@dataclass
class PointsArrays:
    """One layer of flux points in the plot's units; ``n`` points, ``is_ul`` marks the upper limits."""

    x: np.ndarray  # reference energy (or frequency)
    x_min: np.ndarray  # bin edges (NaN where the data give no bins)
    x_max: np.ndarray
    y: np.ndarray  # NaN for upper limits
    y_errn: np.ndarray  # NaN where the data give no errors
    y_errp: np.ndarray
    y_ul: np.ndarray  # NaN where there is no upper limit
    is_ul: np.ndarray
    ts: np.ndarray  # NaN where not given
    counts: np.ndarray
    hover: list[str]

    @property
    def n(self) -> int:
        return len(self.x)


def _column(values) -> np.ndarray:
    """A gammapy map's data as one value per energy bin (the first of any other axis)."""
    data = np.asarray(values, dtype=float)
    return data.reshape(data.shape[0], -1)[:, 0] if data.ndim > 1 else data


def _available(fp, *names: str) -> bool:
    return all(n in fp.available_quantities for n in names)


_REFERENCES: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()  # FluxPoints -> {sed_type: reference flux}
_REFERENCES_LOCK = threading.Lock()


def reference_flux(fp, sed_type: str):
    """gammapy's ``fp.{sed_type}_ref`` (the reference model evaluated in the bins), computed once per points:
    their points and their profiles are drawn from it."""
    with _REFERENCES_LOCK:
        known = _REFERENCES.setdefault(fp, {})
        if sed_type not in known:
            known[sed_type] = getattr(fp, f"{sed_type}_ref")
        return known[sed_type]


def points_arrays(fp, sed_type: str, energy_unit: str, label: str = "") -> PointsArrays:
    """Plot arrays of gammapy ``FluxPoints`` ``fp`` for one SED type and energy unit.

    Each value is gammapy's own: ``fp.e2dnde`` is ``fp.norm * fp.e2dnde_ref`` (and likewise for
    errors and limits), computed here with the reference flux taken once rather than per quantity.
    """
    units.check(sed_type, energy_unit)
    axis = fp.energy_axis
    x = units.x_values(axis.center, energy_unit)
    n = len(x)
    nan = np.full(n, np.nan)
    if getattr(axis, "node_type", "edges") == "edges":
        x_min, x_max = units.x_values(axis.edges_min, energy_unit), units.x_values(axis.edges_max, energy_unit)
    else:  # the table gave reference energies only: no bin widths to draw
        x_min, x_max = nan.copy(), nan.copy()
    ref = reference_flux(fp, sed_type)

    def y_of(norm_name):
        if not _available(fp, norm_name):
            return nan.copy()
        return _column(units.y_values(getattr(fp, norm_name).quantity * ref, sed_type, energy_unit))

    y = y_of("norm")
    if _available(fp, "norm_errn", "norm_errp"):
        errn, errp = y_of("norm_errn"), y_of("norm_errp")
    else:
        errn = errp = y_of("norm_err")
    y_ul = y_of("norm_ul")
    is_ul = (_column(fp.is_ul.data).astype(bool) & np.isfinite(y_ul)) if _available(fp, "norm_ul") \
        else np.zeros(n, bool)
    y = np.where(is_ul, np.nan, y)
    ts = _column(fp.ts.data) if _available(fp, "ts") else nan.copy()
    counts = nan.copy()
    if _available(fp, "counts"):
        counts = np.asarray(fp.counts.data, dtype=float).reshape(n, -1).sum(axis=1)
    arrays = PointsArrays(x, x_min, x_max, y, np.abs(errn), np.abs(errp), y_ul, is_ul, ts, counts, [])
    arrays.hover = hover_texts(arrays, sed_type, energy_unit, label)
    return arrays


def _g(value: float, digits: int = 3) -> str:
    return "—" if not np.isfinite(value) else f"{value:.{digits}g}"


def hover_texts(a: PointsArrays, sed_type: str, energy_unit: str, label: str = "") -> list[str]:
    """The text shown when the pointer is on a point: bin, value with errors (or the limit), TS, counts."""
    unit = units.y_label(sed_type, energy_unit).split("[", 1)[-1].rstrip("]")
    xunit = "Hz" if units.is_frequency(energy_unit) else energy_unit
    out = []
    for i in range(a.n):
        where = (f"{_g(a.x_min[i])}–{_g(a.x_max[i])} {xunit}" if np.isfinite(a.x_min[i])
                 else f"{_g(a.x[i])} {xunit}")
        if a.is_ul[i]:
            value = f"{sed_type} < {_g(a.y_ul[i])} {unit} (upper limit)"
        else:
            value = f"{sed_type} {_g(a.y[i])} −{_g(a.y_errn[i], 2)} +{_g(a.y_errp[i], 2)} {unit}"
        parts = [p for p in (label, where, value) if p]
        if np.isfinite(a.ts[i]):
            parts.append(f"TS {a.ts[i]:.1f}")
        if np.isfinite(a.counts[i]):
            parts.append(f"counts {a.counts[i]:.0f}")
        out.append(" · ".join(parts))
    return out


@dataclass
class ProfileGrid:
    """Delta TS on a grid: ``dts[i, j]`` in energy bin ``i`` (x edges) and flux row ``j`` (y edges)."""

    x_edges: np.ndarray  # n + 1 (contiguous bins) or the bins' own edges
    y_edges: np.ndarray
    dts: np.ndarray  # (n_bins, n_rows); NaN beyond DTS_MAX or outside the scan


def has_profiles(fp) -> bool:
    return _available(fp, "stat_scan", "stat") and fp.energy_axis.nbin > 0


def profile_grid(fp, sed_type: str, energy_unit: str, rows: int = PROFILE_ROWS) -> ProfileGrid | None:
    """The likelihood profiles of ``fp`` resampled on a flux grid, as ``FluxPoints.plot_ts_profiles`` does; a bin
    whose profile stays under delta TS 1 over the whole scan (a bin with no data) is left empty."""
    from gammapy.maps import MapAxis

    if not _available(fp, "stat_scan", "stat"):
        return None
    axis = fp.energy_axis
    if axis.nbin == 0:
        return None
    native = units.y_unit(sed_type, "TeV")  # numbers of a sane size (in Hz, dN/dnu is ~1e-38)
    flux_ref = _column(reference_flux(fp, sed_type).to_value(native))
    ts = fp.ts_scan
    norm_min, norm_max = ts.geom.axes["norm"].bounds.to_value("")
    flux = MapAxis.from_bounds(norm_min * flux_ref.min(), norm_max * flux_ref.max(), nbin=rows, interp="log")
    norm = flux.center / flux_ref.reshape((-1, 1))
    coords = ts.geom.get_coord()
    coords["norm"] = norm
    coords[axis.name] = axis.center.reshape((-1, 1))
    dts = np.asarray(ts.interp_by_coord(coords, values_scale="stat-profile"), dtype=float)
    dts = dts.reshape(axis.nbin, rows)
    with np.errstate(invalid="ignore"):
        unconstrained = ~(np.nanmax(np.where(np.isfinite(dts), dts, -np.inf), axis=1) >= 1)
    dts[~(dts <= DTS_MAX)] = np.nan
    dts[unconstrained] = np.nan  # a bin whose profile never reaches 1 (no events: flat) says nothing: not a column
    x_edges = units.x_values(axis.edges, energy_unit)
    y_edges = units.y_values(np.asarray(flux.edges, dtype=float) * native, sed_type, energy_unit)
    return ProfileGrid(x_edges, y_edges, dts)
