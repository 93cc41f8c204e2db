"""The `lightcurve` job: integral flux above a threshold per observation or per night.

A power law is fitted jointly to every observation (1D on/off, reflected regions); its shape is
then frozen and the normalisation refitted in each time bin (gammapy's LightCurveEstimator),
with asymmetric errors and upper limits where the signal is below 2 sigma. The job says where it is
(``ctx.progress``): opening observations, reducing, fitting, light-curve bins (finished of all), saving results.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from astropy.coordinates import SkyCoord
from astropy.time import Time
from gammapy.data import GTI, Observations
from gammapy.datasets import Datasets
from gammapy.estimators import FluxPoints, LightCurveEstimator
from gammapy.maps import TimeMapAxis
from gammapy.modeling import FitResult
from gammapy.modeling.models import SkyModel

from portal.jobs import context as job_context
from portal.jobs.binning import RECO_PER_DECADE, EnergyBinning, binning_of
from portal.jobs.choices import ExclusionChoice
from portal.jobs.definitions import FITS, PNG, YAML
from portal.jobs.energy import set_fit_range
from portal.jobs.fluxpoints import write_flux_points
from portal.jobs.observations import SPECTRUM_IRFS, target_coord
from portal.jobs.onoff import WOBBLE_OFF_REGIONS, OnOffOptions, Progress, Reduction, reduce_1d
from portal.jobs.parallel import available_processes, run_unordered
from portal.jobs.plots import save_lightcurve_png
from portal.jobs.safe import SafeRange
from portal.jobs.spectrum import FITTING, OPENING, SAVING, SOURCE, fit_spectrum, write_model
from portal.uws.definitions import JobContext, UsageError

log = logging.getLogger(__name__)

SELECTION = ("errn-errp", "ul")
TIME_BINS = "light-curve bins"  # the progress stage: time bins estimated, of all


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
    reduction: Reduction


def _time_bin(shared: tuple[Datasets, LightCurveEstimator], interval: tuple[Time, Time]) -> FluxPoints:
    """The flux in one time bin, as LightCurveEstimator.run computes it."""
    datasets, estimator = shared
    selected = datasets.select_time(time_min=interval[0], time_max=interval[1], atol=estimator.atol)
    return estimator.estimate_time_bin_flux(selected, datasets.names)


def estimate_lightcurve(datasets: Datasets, estimator: LightCurveEstimator, processes: int = 1,
                        progress: Progress | None = None) -> FluxPoints:
    """gammapy's light curve (:meth:`LightCurveEstimator.run`), its time bins in ``processes`` at once
    (``progress(TIME_BINS, done, total)`` as each ends)."""
    gti = datasets.gti if estimator.time_intervals is None else GTI.from_time_intervals(estimator.time_intervals)
    gti = gti.union(overlap_ok=False, merge_equal=False)
    intervals = [(t_min, t_max) for t_min, t_max in gti.time_intervals
                 if len(datasets.select_time(time_min=t_min, time_max=t_max, atol=estimator.atol)) > 0]
    if not intervals:
        raise UsageError("No observation falls in the light curve's time bins.")
    rows = {}
    if progress is not None:
        progress(TIME_BINS, 0, len(intervals))
    for index, row in run_unordered(_time_bin, (datasets, estimator), intervals, processes):
        rows[index] = row
        if progress is not None:
            progress(TIME_BINS, len(rows), len(intervals))
    axis = TimeMapAxis.from_gti(GTI.from_time_intervals(intervals))
    return FluxPoints.from_stack(maps=[rows[i] for i in range(len(intervals))], axis=axis)


def analyse_lightcurve(
    observations: Observations,
    target: SkyCoord,
    on_radius: float = 0.11,
    e_min: float = 1.0,
    e_max: float = 100.0,
    time_bin: str = "run",
    catalogs: dict[str, Path] | None = None,
    containment_correction: bool = True,
    fit_e_min: float | None = None,
    fit_e_max: float | None = None,
    safe: SafeRange | None = None,
    n_off_regions: int = WOBBLE_OFF_REGIONS,
    allow_partial: bool = False,
    reco_bins_per_decade: int = RECO_PER_DECADE,
    exclusion: ExclusionChoice | None = None,
    processes: int = 1,
    on_reduced: Callable[[Reduction], None] | None = None,
    log: logging.Logger = log,
    progress: Progress | None = None,
) -> LightCurveResult:
    """The whole light-curve analysis: reduction, joint power-law fit (in the fit range), one integral
    flux from ``e_min`` to ``e_max`` per time bin (``processes`` bins at once); ``progress(stage, done, total)``
    hears of the stages: reducing, fitting, light-curve bins."""
    if time_bin not in ("run", "night"):
        raise UsageError(f"time_bin must be 'run' or 'night', not {time_bin!r}.")
    binning = binning_of(e_min, e_max, 1, fit_e_min, fit_e_max, reco_bins_per_decade)  # BinningError: a UsageError
    options = OnOffOptions(on_radius, containment_correction, safe or SafeRange(), n_off_regions, allow_partial,
                           exclusion or ExclusionChoice("auto"))
    reduction, edges = reduce_1d(observations, target, binning, options, catalogs, processes, on_reduced, log,
                                 progress=progress)
    datasets = reduction.datasets
    if progress is not None:
        progress(FITTING)
    model, fit = fit_spectrum(datasets, "pl", log=log)
    set_fit_range(datasets, EnergyBinning(binning.points, per_decade=binning.per_decade))  # the whole safe range
    used = Observations([o for o in observations if int(o.obs_id) in set(reduction.used)])
    intervals = night_intervals(used) if time_bin == "night" else None
    estimator = LightCurveEstimator(energy_edges=edges, source=SOURCE, time_intervals=intervals,
                                    selection_optional=list(SELECTION), n_jobs=1)
    lightcurve = estimate_lightcurve(datasets, estimator, processes, progress)
    set_fit_range(datasets, binning)
    _log_lightcurve(lightcurve, log)
    return LightCurveResult(datasets, model, fit, lightcurve, reduction)


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
    ctx.progress(OPENING)
    with job_context.open_observations(ctx, params["obs_ids"], SPECTRUM_IRFS) as inputs:
        options = OnOffOptions.from_params(params)
        catalogs = job_context.record_catalogs(ctx) if options.exclusion.kind == "auto" else {}
        result = analyse_lightcurve(
            inputs.observations, target, on_radius=options.on_radius, e_min=params["e_min"], e_max=params["e_max"],
            time_bin=params["time_bin"], catalogs=catalogs, containment_correction=options.containment_correction,
            fit_e_min=params.get("fit_e_min"), fit_e_max=params.get("fit_e_max"), safe=options.safe,
            n_off_regions=options.n_off_regions, allow_partial=options.allow_partial,
            reco_bins_per_decade=params.get("reco_bins_per_decade") or RECO_PER_DECADE, exclusion=options.exclusion,
            processes=available_processes(), on_reduced=lambda r: inputs.selected(r.used, r.left_out), log=ctx.log,
            progress=ctx.progress,
        )
        ctx.progress(SAVING)
        model_path = write_model(result.datasets.models, result.fit, ctx.workdir / "model.yaml",
                                 extra={"spectral_model": "pl", **inputs.model_section()})
        ctx.publish("model", model_path, YAML)
        header = inputs.header(target)
        header["TIMEBIN"] = (params["time_bin"], "one flux per observation (run) or per night")
        path = write_flux_points(result.lightcurve, ctx.workdir / "lightcurve.fits", header,
                                 sed_type="flux", format="lightcurve")
        ctx.publish("lightcurve", path, FITS)
        preview = save_lightcurve_png(result.lightcurve, ctx.workdir / "lightcurve.png",
                                      title=_title(target, params))
        ctx.publish("preview", preview, PNG)


def _title(target: SkyCoord, params: dict[str, Any]) -> str:
    return (f"RA {target.ra.deg:.3f}, Dec {target.dec.deg:+.3f}: flux {params['e_min']:g} to "
            f"{params['e_max']:g} TeV per {params['time_bin']}")
