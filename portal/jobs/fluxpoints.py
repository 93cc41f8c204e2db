"""Flux points computed bin by bin, so that each point can be published as soon as it exists.

The estimate of each bin is gammapy's own (:meth:`FluxPointsEstimator.estimate_flux_point`, with
errors, upper limits and the likelihood profile of the norm); after every bin the points so far
are assembled into a :class:`FluxPoints` exactly as :meth:`FluxPointsEstimator.run` would.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table
from gammapy.datasets import Datasets
from gammapy.estimators import FluxPoints, FluxPointsEstimator

log = logging.getLogger(__name__)

OnFluxPoint = Callable[[FluxPoints, int, int], None]  # (points so far, how many done, how many in all)


def estimate_flux_points(
    datasets: Datasets,
    source: str,
    energy_edges: u.Quantity,
    on_flux_point: OnFluxPoint | None = None,
    log: logging.Logger = log,
) -> FluxPoints:
    """Flux points of ``source`` in ``energy_edges`` (errors, upper limits, norm scans).

    ``on_flux_point(points, done, total)`` is called after each bin with the points so far.
    """
    datasets = Datasets(datasets)
    estimator = FluxPointsEstimator(energy_edges=energy_edges, source=source, selection_optional="all", n_jobs=1)
    reference = datasets.models[source].spectral_model.copy()
    meta = {"n_sigma": estimator.n_sigma, "n_sigma_ul": estimator.n_sigma_ul, "sed_type_init": "likelihood"}
    rows: list[dict[str, Any]] = []
    points = None
    total = len(energy_edges) - 1
    for e_lo, e_hi in zip(energy_edges[:-1], energy_edges[1:], strict=True):
        row = estimator.estimate_flux_point(datasets, energy_min=e_lo, energy_max=e_hi)
        rows.append(row)
        points = FluxPoints.from_table(Table(rows, meta=meta), reference_model=reference.copy(),
                                       gti=datasets.gti, format="gadf-sed")
        _log_point(row, len(rows), total, log)
        if on_flux_point is not None:
            on_flux_point(points, len(rows), total)
    return points


def _log_point(row: dict[str, Any], done: int, total: int, log: logging.Logger) -> None:
    e_min, e_max = u.Quantity(row["e_min"]).to_value("TeV"), u.Quantity(row["e_max"]).to_value("TeV")
    ts = float(row.get("ts", np.nan))
    if ts < 4 or not np.isfinite(ts):
        log.info("Flux point %d/%d, %.2f to %.2f TeV: TS %.1f, upper limit at norm %.3g", done, total, e_min, e_max,
                 ts, float(row.get("norm_ul", np.nan)))
    else:
        log.info("Flux point %d/%d, %.2f to %.2f TeV: norm %.3f +- %.3f, TS %.1f", done, total, e_min, e_max,
                 float(row["norm"]), float(row["norm_err"]), ts)


def write_flux_points(points: FluxPoints, path: Path, header: dict[str, Any] | None = None,
                      sed_type: str = "likelihood", format: str = "gadf-sed") -> Path:
    """Write flux points atomically to ``path``: by default the gadf SED with sed_type likelihood
    (norms, errors, upper limits and norm scans); ``format="lightcurve"`` for light curves.

    A reader never sees a half-written file: the points go to a temporary file that then
    replaces ``path``. ``header`` adds keywords to the FLUXPOINTS table (target, obs ids ...).
    """
    table = points.to_table(sed_type=sed_type, format=format)
    hdu = fits.BinTableHDU(table, name="FLUXPOINTS")
    for key, value in (header or {}).items():
        hdu.header[key] = value
    hdus = fits.HDUList([fits.PrimaryHDU(), hdu])
    if points.gti:
        hdus.append(points.gti.to_table_hdu())
    return _write_atomic(hdus, Path(path))


def _write_atomic(hdus: fits.HDUList, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    hdus.writeto(tmp, overwrite=True)
    os.replace(tmp, path)
    return path
