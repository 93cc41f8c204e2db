"""The `lightcurve` job: integral flux above a threshold per observation or per night.

A power law is fitted jointly to every observation (1D on/off, reflected regions); its shape is
then frozen and the normalisation refitted in each time bin (gammapy's LightCurveEstimator),
with asymmetric errors and upper limits where the signal is below 2 sigma.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.coordinates import Angle, SkyCoord
from astropy.time import Time
from gammapy.data import Observations
from gammapy.datasets import Datasets
from gammapy.estimators import FluxPoints, LightCurveEstimator
from gammapy.modeling import FitResult
from gammapy.modeling.models import SkyModel

from portal.jobs import context as job_context
from portal.jobs.definitions import FITS, PNG, YAML
from portal.jobs.fluxpoints import write_flux_points
from portal.jobs.observations import SPECTRUM_IRFS, target_coord
from portal.jobs.onoff import energy_axes, reduce_around
from portal.jobs.plots import save_lightcurve_png
from portal.jobs.spectrum import SOURCE, fit_spectrum, write_model
from portal.uws.definitions import JobContext, UsageError

log = logging.getLogger(__name__)

SELECTION = ("errn-errp", "ul")


def night_intervals(observations: Observations) -> list[tuple[Time, Time]]:
    """One time interval per night: observations grouped by local date at the site, noon to noon.

    The site's longitude comes from the observations (0 deg, that is noon UTC, when unknown).
    """
    nights: dict[int, list[tuple[Time, Time]]] = defaultdict(list)
    for obs in observations:
        location = obs.observatory_earth_location
        lon = 0.0 if location is None else float(location.lon.to_value("deg"))
        start, stop = obs.tstart, obs.tstop
        local_date = int(np.floor(start.mjd + lon / 360.0 - 0.5))
        nights[local_date].append((start, stop))
    return [(min(s for s, _ in spans), max(e for _, e in spans)) for _, spans in sorted(nights.items())]


@dataclass
class LightCurveResult:
    datasets: Datasets
    model: SkyModel
    fit: FitResult
    lightcurve: FluxPoints


def analyse_lightcurve(
    observations: Observations,
    target: SkyCoord,
    on_radius: float = 0.11,
    e_min: float = 1.0,
    e_max: float = 100.0,
    time_bin: str = "run",
    catalogs: dict[str, Path] | None = None,
    containment_correction: bool = True,
    log: logging.Logger = log,
) -> LightCurveResult:
    """The whole light-curve analysis: reduction, joint power-law fit, one flux per time bin."""
    if time_bin not in ("run", "night"):
        raise UsageError(f"time_bin must be 'run' or 'night', not {time_bin!r}.")
    energy_axis, energy_axis_true, edges = energy_axes(e_min, e_max, 1)
    datasets = reduce_around(observations, target, Angle(on_radius, "deg"), energy_axis, energy_axis_true,
                             catalogs=catalogs, containment_correction=containment_correction, log=log)
    model, fit = fit_spectrum(datasets, "pl", log=log)
    intervals = night_intervals(observations) if time_bin == "night" else None
    estimator = LightCurveEstimator(energy_edges=edges, source=SOURCE, time_intervals=intervals,
                                    selection_optional=list(SELECTION), n_jobs=1)
    lightcurve = estimator.run(datasets)
    _log_lightcurve(lightcurve, log)
    return LightCurveResult(datasets, model, fit, lightcurve)


def _log_lightcurve(lightcurve: FluxPoints, log: logging.Logger) -> None:
    table = lightcurve.to_table(sed_type="flux", format="lightcurve")
    for row in table:
        flux = row["flux"].squeeze()
        if row["is_ul"].squeeze():
            text = f"upper limit {float(row['flux_ul'].squeeze()):.3g}"
        else:
            text = f"{float(flux):.3g} +- {float(row['flux_err'].squeeze()):.2g}"
        start = Time(row["time_min"], format="mjd").isot
        log.info("Light curve bin from %s (MJD %.4f to %.4f): flux %s cm-2 s-1", start, row["time_min"],
                 row["time_max"], text)


def run(ctx: JobContext, params: dict[str, Any]) -> None:
    """Job service entry point (``portal.jobs.lightcurve:run``)."""
    target = target_coord(params["ra"], params["dec"])
    observations = job_context.open_observations(ctx, params["obs_ids"], SPECTRUM_IRFS)
    catalogs = job_context.record_catalogs(ctx)
    result = analyse_lightcurve(
        observations, target, on_radius=params["on_radius"], e_min=params["e_min"], e_max=params["e_max"],
        time_bin=params["time_bin"], catalogs=catalogs,
        containment_correction=params.get("containment_correction", True), log=ctx.log,
    )
    model_path = write_model(result.datasets.models, result.fit, ctx.workdir / "model.yaml",
                             extra={"spectral_model": "pl"})
    ctx.publish("model", model_path, YAML)
    header = job_context.fits_header(target, params)
    header["TIMEBIN"] = (params["time_bin"], "one flux per observation (run) or per night")
    path = write_flux_points(result.lightcurve, ctx.workdir / "lightcurve.fits", header,
                             sed_type="flux", format="lightcurve")
    ctx.publish("lightcurve", path, FITS)
    preview = save_lightcurve_png(result.lightcurve, ctx.workdir / "lightcurve.png", title=_title(target, params))
    ctx.publish("preview", preview, PNG)


def _title(target: SkyCoord, params: dict[str, Any]) -> str:
    return (f"RA {target.ra.deg:.3f}, Dec {target.dec.deg:+.3f}: flux {params['e_min']:g} to "
            f"{params['e_max']:g} TeV per {params['time_bin']}")
