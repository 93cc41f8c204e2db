"""Flux points computed bin by bin, at once in several processes, each published as soon as it ends.

The estimate of each bin is gammapy's own (:meth:`FluxPointsEstimator.estimate_flux_point` with
``selection_optional="all"``: errors, upper limits, the likelihood profile of the norm and the
sensitivity); after every bin the points so far are assembled into a :class:`FluxPoints` exactly
as :meth:`FluxPointsEstimator.run` would, the bins still being computed as rows of NaN
(``success`` false), so that the energy axis is the final one from the first version on.

Each bin is one task, its estimate (norm, errors, upper limit, profile), and a second one when the
sensitivity is asked for (``sensitivity``, off by default: the norm a 5 sigma detection needs, from
Asimov datasets, about two thirds of a bin's time, and nothing the SED needs), run by
``processes`` at once (:func:`portal.jobs.parallel.run_unordered`). Every estimate is queued before
any sensitivity, so the whole SED appears in about a third of the time; the sensitivities fill in
after. Each task works on its own slice of the datasets, so the values do not depend on which
process ran it (parallel equals serial). They are gammapy's: the sensitivity, computed on a fresh
slice rather than after the estimate, differs from ``FluxPointsEstimator.run`` by less than 2e-5
(its root search's own tolerance is 1e-2).

Why not gammapy's own parallelism (``FluxPointsEstimator(n_jobs=...)``): it returns the flux points
only when every bin is done, so the dashboard's SED would stay empty until the end; here each bin is
published the moment it ends, and its sensitivity (if asked for) queued behind every estimate.
"""

from __future__ import annotations

import logging
import os
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.io import fits
from astropy.table import Table
from gammapy.datasets import Datasets
from gammapy.estimators import FluxPoints, FluxPointsEstimator
from gammapy.maps import MapAxis
from gammapy.modeling.models import SpectralModel

from portal.jobs.parallel import run_unordered

log = logging.getLogger(__name__)

OnFluxPoint = Callable[[FluxPoints, int, int], None]  # (points so far, how many done, how many in all)
FLUX_POINTS, SENSITIVITY_STAGE = "flux points", "sensitivity"  # progress stages: bins estimated, of all


ESTIMATE = ("errn-errp", "ul", "scan")  # a bin's estimate; gammapy's "all" adds "sensitivity"
SENSITIVITY = "norm_sensitivity"


def _estimate_bin(shared: tuple[Datasets, dict[str, FluxPointsEstimator]], task: tuple[str, u.Quantity, u.Quantity]
                  ) -> dict:
    datasets, estimators = shared
    part, e_lo, e_hi = task
    return estimators[part].estimate_flux_point(datasets, energy_min=e_lo, energy_max=e_hi)


def _tasks(bins: list[tuple[u.Quantity, u.Quantity]], sensitivity: bool) -> list[tuple[int, tuple]]:
    """(bin index, task): every estimate, then every sensitivity (if asked for)."""
    parts = ("estimate", "sensitivity") if sensitivity else ("estimate",)
    return [(i, (part, *b)) for part in parts for i, b in enumerate(bins)]


def _pending(template: dict[str, Any], reference: SpectralModel, e_lo: u.Quantity, e_hi: u.Quantity) -> dict:
    """A row for a bin not computed yet: the reference fluxes of the bin, NaN estimates, no success."""
    row: dict[str, Any] = {}
    for key, value in template.items():
        if key in ("datasets", "norm_scan"):
            row[key] = value
        elif key == "success":
            row[key] = False
        elif key == "counts":
            row[key] = np.zeros_like(value)
        else:
            row[key] = np.full_like(np.asarray(value, dtype=float), np.nan)
    fluxes = reference.reference_fluxes(energy_axis=MapAxis.from_energy_edges(u.Quantity([e_lo, e_hi])))
    row.update({key: value.item() for key, value in fluxes.items()})
    return row


def estimate_flux_points(
    datasets: Datasets,
    source: str,
    energy_edges: u.Quantity,
    on_flux_point: OnFluxPoint | None = None,
    processes: int = 1,
    sensitivity: bool = False,
    log: logging.Logger = log,
    progress: Callable[..., None] | None = None,
) -> FluxPoints:
    """Flux points of ``source`` in ``energy_edges`` (errors, upper limits, norm scans; the sensitivity
    with ``sensitivity``).

    The bins are estimated in ``processes`` at once (1: here, in order);
    ``on_flux_point(points, done, total)`` is called after each task with every bin so far (``done``
    of them estimated), the others as NaN rows; the last call has every bin (and sensitivity).
    ``progress(FLUX_POINTS, done, total)`` follows each (then ``SENSITIVITY_STAGE``, sensitivities done, once
    every bin is estimated), after ``on_flux_point`` has published what it counts.
    """
    datasets = Datasets(datasets)
    estimators = {part: FluxPointsEstimator(energy_edges=energy_edges, source=source, selection_optional=selection,
                                            n_jobs=1)
                  for part, selection in (("estimate", list(ESTIMATE)), ("sensitivity", ["sensitivity"]))}
    reference = datasets.models[source].spectral_model.copy()
    meta = {"n_sigma": estimators["estimate"].n_sigma, "n_sigma_ul": estimators["estimate"].n_sigma_ul,
            "sed_type_init": "likelihood"}
    bins = list(zip(energy_edges[:-1], energy_edges[1:], strict=True))
    tasks = _tasks(bins, sensitivity)
    if progress is not None:
        progress(FLUX_POINTS, 0, len(bins))
    rows: dict[int, dict[str, Any]] = {}
    sensitivities: dict[int, float] = {}
    points = None
    for index, row in run_unordered(_estimate_bin, (datasets, estimators), [t for _, t in tasks], processes):
        i, (part, *_) = tasks[index]
        if part == "sensitivity":
            sensitivities[i] = row[SENSITIVITY]
        else:
            rows[i] = {**row, SENSITIVITY: sensitivities.get(i, np.nan)} if sensitivity else dict(row)
            _log_point(rows[i], len(rows), len(bins), log)
        for j, value in sensitivities.items():
            if j in rows:
                rows[j][SENSITIVITY] = value
        template = next(iter(rows.values()), None)
        if template is None:  # a sensitivity came first: nothing to show yet
            continue
        table = Table([rows[j] if j in rows else _pending(template, reference, *bins[j]) for j in range(len(bins))],
                      meta=meta)
        points = FluxPoints.from_table(table, reference_model=reference.copy(), gti=datasets.gti, format="gadf-sed")
        if on_flux_point is not None:
            on_flux_point(points, len(rows), len(bins))
        if progress is not None:
            if part == "estimate":
                progress(FLUX_POINTS, len(rows), len(bins))
            if len(rows) == len(bins) and sensitivity:
                progress(SENSITIVITY_STAGE, len(sensitivities), len(bins))
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
    replaces ``path``. ``header`` adds keywords to the FLUXPOINTS table (target, obs ids ...): ``key:
    value`` or ``key: (value, comment)``, each written whole (:func:`fits_card`).
    """
    table = points.to_table(sed_type=sed_type, format=format)
    hdu = fits.BinTableHDU(table, name="FLUXPOINTS")
    for key, value in (header or {}).items():
        value, comment = value if isinstance(value, tuple) else (value, "")
        hdu.header.remove(key, ignore_missing=True, remove_all=True)
        hdu.header.append(fits_card(key, value, comment))
    hdus = fits.HDUList([fits.PrimaryHDU(), hdu])
    if points.gti:
        hdus.append(points.gti.to_table_hdu())
    return _write_atomic(hdus, Path(path))


CARD = 80  # characters in a FITS header card
_LONG_VALUE = 67  # string characters on one card of the long-string convention (with the quotes and the '&')
_LONG_COMMENT = 64  # comment characters on one CONTINUE card, as astropy writes them


def fits_card(key: str, value: Any, comment: str = "") -> fits.Card:
    """``key = value / comment`` as a standard FITS card, nothing cut off.

    One 80-character card when value and comment fit on it. Otherwise a string value is written in
    the long-string convention (FITS 4.0, section 4.2.1.2): the value over ``CONTINUE`` cards, the
    comment on the last one, as astropy writes strings too long for one card. Astropy does that
    only for strings that alone overflow a card: given a list of obs ids that fits on a card but
    not with its comment, it would cut the comment off (``VerifyWarning: Card is too long``).
    Any other value with a comment too long for its card is an error of the caller.
    """
    plain = fits.Card(key, value)
    if not comment:
        return plain
    image = plain.image
    # astropy pads a value to 20 characters (strings left-justified, the rest right-justified)
    if len(image) > CARD or max(10 + 20, len(image.rstrip())) + len(" / ") + len(comment) <= CARD:
        return fits.Card(key, value, comment)  # one card, or astropy's own CONTINUE cards
    if not isinstance(value, str) or len(key) > 8:
        raise ValueError(f"FITS keyword {key}: the comment {comment!r} does not fit on the card of {value!r}")
    return fits.Card.fromstring(_long_string(key, value, comment))


def _long_string(key: str, value: str, comment: str) -> str:
    """The card images of ``key = value / comment`` in the long-string convention."""
    chunks, part = [], ""
    for char in value:  # split the value, then quote each part (a quote is never split from its double)
        if len((part + char).replace("'", "''")) > _LONG_VALUE:
            chunks.append(part)
            part = ""
        part += char
    chunks.append(part)
    lines = [f"{key:8}= '{c}&'" if i == 0 else f"CONTINUE  '{c}&'"
             for i, c in enumerate(c.replace("'", "''") for c in chunks)]
    notes = textwrap.wrap(comment, _LONG_COMMENT)  # a reader joins the parts with a space
    lines += [f"CONTINUE  '{'' if i == len(notes) - 1 else '&'}' / {note}" for i, note in enumerate(notes)]
    return "".join(f"{line:{CARD}}" for line in lines)


def _write_atomic(hdus: fits.HDUList, path: Path) -> Path:
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    hdus.writeto(tmp, overwrite=True)
    os.replace(tmp, path)
    return path
