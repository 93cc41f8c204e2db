"""The `spectrum` job: 1D on/off analysis, joint fit of a spectral model, flux points bin by bin.

The science is in plain functions (:func:`analyse_spectrum` and the modules it calls); :func:`run`
only adapts them to the job service: it resolves obs ids through the archive, records the input
files for provenance and publishes the results as they are made.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from gammapy.data import Observations
from gammapy.datasets import Datasets
from gammapy.estimators import FluxPoints
from gammapy.modeling import Fit, FitResult
from gammapy.modeling.models import (
    ExpCutoffPowerLawSpectralModel,
    LogParabolaSpectralModel,
    Models,
    PowerLawSpectralModel,
    SkyModel,
    SpectralModel,
)
from gammapy.utils.scripts import to_yaml

from portal.jobs import context as job_context
from portal.jobs.definitions import FITS, YAML
from portal.jobs.fluxpoints import OnFluxPoint, estimate_flux_points, write_flux_points
from portal.jobs.observations import SPECTRUM_IRFS, target_coord
from portal.jobs.onoff import energy_axes, reduce_around
from portal.uws.definitions import FatalError, JobContext

log = logging.getLogger(__name__)

SOURCE = "target"
REFERENCE = 1 * u.TeV
AMPLITUDE = 1e-12 * u.Unit("cm-2 s-1 TeV-1")
MODEL_NAMES = {"pl": "power law", "ecpl": "power law with exponential cut-off", "lp": "log-parabola"}


def spectral_model(kind: str) -> SpectralModel:
    """The starting model for a fit: ``pl``, ``ecpl`` or ``lp``, normalised at 1 TeV."""
    if kind == "pl":
        return PowerLawSpectralModel(index=2.5, amplitude=AMPLITUDE, reference=REFERENCE)
    if kind == "ecpl":
        return ExpCutoffPowerLawSpectralModel(index=2.0, amplitude=AMPLITUDE, reference=REFERENCE,
                                              lambda_=0.1 * u.Unit("TeV-1"))
    if kind == "lp":
        return LogParabolaSpectralModel(alpha=2.5, beta=0.1, amplitude=AMPLITUDE, reference=REFERENCE)
    raise ValueError(f"unknown spectral model {kind!r}; choose one of {', '.join(MODEL_NAMES)}")


def fit_spectrum(datasets: Datasets, kind: str, optimize_opts: dict | None = None,
                 log: logging.Logger = log) -> tuple[SkyModel, FitResult]:
    """Joint likelihood fit of a ``kind`` model on all datasets; a fit that fails is a FatalError."""
    model = SkyModel(spectral_model=spectral_model(kind), name=SOURCE)
    datasets.models = Models([model])
    fit = Fit(optimize_opts=optimize_opts or {})
    result = fit.run(datasets)
    if not result.optimize_result.success:
        raise FatalError(
            f"The {MODEL_NAMES[kind]} fit did not converge ({result.optimize_result.message.strip()}). "
            "Try another spectral model, a wider energy range or more observations."
        )
    if result.covariance_result is None or not result.covariance_result.success:
        log.warning("The fit converged but its covariance could not be estimated: the errors are unreliable.")
    for par in model.spectral_model.parameters.free_parameters:
        log.info("Fitted %s = %.4g +- %.2g %s", par.name, par.value, par.error, par.unit)
    log.info("Fit statistic (Cash/WStat) %.2f, %d free parameters", result.total_stat,
             len(datasets.models.parameters.free_parameters))
    return model, result


def write_model(models: Models, result: FitResult, path: Path, extra: dict[str, Any] | None = None) -> Path:
    """Gammapy models YAML with values and errors, and the covariance of the free parameters in it.

    The file reads with ``Models.read``; its ``fit`` section (which gammapy ignores) holds the fit
    status and the covariance matrix, restored by :func:`read_model`.
    """
    free = models.parameters.free_parameters
    covariance = models.covariance.get_subcovariance(free).data
    names = [f"{m.name}.{p.name}" for m in models for p in m.parameters.free_parameters]
    fit = {
        "success": bool(result.success),
        "message": str(result.optimize_result.message),
        "total_stat": float(result.total_stat),
        "covariance": {"parameters": names, "matrix": np.asarray(covariance).tolist()},
    }
    fit.update(extra or {})
    text = to_yaml({"fit": fit, **models.to_dict()})
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text)
    tmp.replace(path)
    return path


def read_model(path: Path) -> Models:
    """Read a model file written by :func:`write_model`, covariance included."""
    import yaml

    models = Models.read(path)
    stored = yaml.safe_load(Path(path).read_text())["fit"]["covariance"]
    free = models.parameters.free_parameters
    names = [f"{m.name}.{p.name}" for m in models for p in m.parameters.free_parameters]
    if names != stored["parameters"]:
        raise ValueError(f"{path}: covariance parameters {stored['parameters']} do not match the model's {names}")
    data = models.covariance.data.copy()
    idx = [models.parameters.index(p) for p in free]
    data[np.ix_(idx, idx)] = np.array(stored["matrix"])
    models.covariance = data
    return models


@dataclass
class SpectrumResult:
    datasets: Datasets
    model: SkyModel
    fit: FitResult
    flux_points: FluxPoints


def analyse_spectrum(
    observations: Observations,
    target: SkyCoord,
    on_radius: float = 0.11,
    model: str = "pl",
    e_min: float = 1.0,
    e_max: float = 30.0,
    n_bins: int = 8,
    catalogs: dict[str, Path] | None = None,
    containment_correction: bool = True,
    on_model: Callable[[Models, FitResult], None] | None = None,
    on_flux_point: OnFluxPoint | None = None,
    log: logging.Logger = log,
) -> SpectrumResult:
    """The whole spectral analysis: reduction, fit, flux points (``on_*`` called as results appear)."""
    energy_axis, energy_axis_true, edges = energy_axes(e_min, e_max, n_bins)
    datasets = reduce_around(observations, target, Angle(on_radius, "deg"), energy_axis, energy_axis_true,
                             catalogs=catalogs, containment_correction=containment_correction, log=log)
    sky_model, fit = fit_spectrum(datasets, model, log=log)
    if on_model is not None:
        on_model(datasets.models, fit)
    points = estimate_flux_points(datasets, SOURCE, edges, on_flux_point=on_flux_point, log=log)
    return SpectrumResult(datasets, sky_model, fit, points)


def run(ctx: JobContext, params: dict[str, Any]) -> None:
    """Job service entry point (``portal.jobs.spectrum:run``)."""
    target = target_coord(params["ra"], params["dec"])
    observations = job_context.open_observations(ctx, params["obs_ids"], SPECTRUM_IRFS)
    catalogs = job_context.record_catalogs(ctx)
    header = job_context.fits_header(target, params)
    model_path = ctx.workdir / "model.yaml"
    points_path = ctx.workdir / "flux_points.fits"

    def on_model(models: Models, fit: FitResult) -> None:
        write_model(models, fit, model_path, extra={"spectral_model": params["model"]})
        ctx.publish("model", model_path, YAML)

    def on_flux_point(points: FluxPoints, done: int, total: int) -> None:
        write_flux_points(points, points_path, header)
        ctx.publish("flux_points", points_path, FITS)

    analyse_spectrum(
        observations, target, on_radius=params["on_radius"], model=params["model"], e_min=params["e_min"],
        e_max=params["e_max"], n_bins=params["n_bins"], catalogs=catalogs,
        containment_correction=params.get("containment_correction", True), on_model=on_model,
        on_flux_point=on_flux_point, log=ctx.log,
    )
