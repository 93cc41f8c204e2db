"""The `spectrum` job: 1D on/off analysis, joint fit of a spectral model, flux points bin by bin.

The science is in plain functions (:func:`analyse_spectrum` and the modules it calls); :func:`run`
only adapts them to the job service: it resolves obs ids through the archive, records the input
files for provenance, publishes the results as they are made and says where it is
(``ctx.progress``): opening observations, reducing (observations done of all), fitting, flux points
(finished bins of all), saving results.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np
from astropy.coordinates import SkyCoord
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

from portal.jobs import context as job_context
from portal.jobs.binning import RECO_PER_DECADE, EnergyBinning, binning_of
from portal.jobs.choices import ExclusionChoice, StackDecision
from portal.jobs.definitions import FITS, YAML
from portal.jobs.energy import set_fit_range
from portal.jobs.fastpaths import fast_statistics
from portal.jobs.fluxpoints import OnFluxPoint, estimate_flux_points, write_flux_points
from portal.jobs.observations import SPECTRUM_IRFS, target_coord
from portal.jobs.onoff import WOBBLE_OFF_REGIONS, OnOffOptions, Progress, Reduction, reduce_1d
from portal.jobs.parallel import available_processes
from portal.jobs.products import TAR, write_datasets
from portal.jobs import reduction_cache
from portal.jobs.reduction_cache import ReductionCache
from portal.jobs.safe import SafeRange
from portal.jobs.sanity import loose, problems
from portal.jobs.stacking import decide, stacked
from portal.seam.modelfile import read_model, write_model  # noqa: F401 - the format both sides speak
from portal.uws.definitions import FatalError, JobContext, UsageError

log = logging.getLogger(__name__)

SOURCE = "target"
OPENING, FITTING, SAVING = "opening observations", "fitting", "saving results"  # progress stages of the jobs
REFERENCE = 1 * u.TeV
AMPLITUDE = 1e-12 * u.Unit("cm-2 s-1 TeV-1")
MODEL_NAMES = {"pl": "power law", "ecpl": "power law with exponential cut-off", "lp": "log-parabola"}
# gammapy's log-parabola: dN/dE = amplitude (E/reference)^-(alpha + beta ln(E/reference)), natural log;
# papers often write log10: beta_log10 = ln(10) beta (the joint-crab paper's Crab, H.E.S.S.: 0.37 = 2.303 x 0.16)


def spectral_model(kind: str, reference: u.Quantity = REFERENCE) -> SpectralModel:
    """The starting model for a fit: ``pl``, ``ecpl`` or ``lp``, normalised at ``reference`` (1 TeV)."""
    if kind == "pl":
        return PowerLawSpectralModel(index=2.5, amplitude=AMPLITUDE, reference=reference)
    if kind == "ecpl":
        return ExpCutoffPowerLawSpectralModel(index=2.0, amplitude=AMPLITUDE, reference=reference,
                                              lambda_=0.1 * u.Unit("TeV-1"))
    if kind == "lp":
        return LogParabolaSpectralModel(alpha=2.5, beta=0.1, amplitude=AMPLITUDE, reference=reference)
    raise ValueError(f"unknown spectral model {kind!r}; choose one of {', '.join(MODEL_NAMES)}")


def fitted_bins(datasets: Datasets) -> int:
    """How many energy bins the fit uses: the bins fitted in any dataset, counted once for datasets that share
    an energy axis (the runs of one instrument), added over different axes (the instruments of a joint fit)."""
    masks: dict[tuple, np.ndarray] = {}
    for d in datasets:
        key = tuple(np.round(d.counts.geom.axes["energy"].edges.to_value("TeV"), 9))
        mask = np.asarray(d.mask.data if d.mask is not None else np.ones(d.counts.data.shape, bool)).ravel()
        masks[key] = masks[key] | mask if key in masks else mask
    return int(sum(mask.sum() for mask in masks.values()))


def fit_spectrum(datasets: Datasets, kind: str, optimize_opts: dict | None = None,
                 log: logging.Logger = log, reference: u.Quantity = REFERENCE) -> tuple[SkyModel, FitResult]:
    """Joint likelihood fit of a ``kind`` model on all datasets; a fit that fails is a FatalError."""
    model = SkyModel(spectral_model=spectral_model(kind, reference), name=SOURCE)
    n_free = len(model.spectral_model.parameters.free_parameters)
    n_bins = fitted_bins(datasets)
    if n_bins <= n_free:
        raise UsageError(
            f"The fit would use {n_bins} energy bin{'s' if n_bins != 1 else ''} (the fit range within the "
            f"observations' safe energies), too few for the {n_free} free parameters of a {MODEL_NAMES[kind]}: widen "
            "the fit range (fit_e_min, fit_e_max) or choose a simpler model."
        )
    datasets.models = Models([model])
    fit = Fit(optimize_opts=optimize_opts or {})
    result = fit.run(datasets)
    if not result.optimize_result.success:
        raise FatalError(
            f"The {MODEL_NAMES[kind]} fit did not converge ({result.optimize_result.message.strip()}). "
            "Try another spectral model, a wider energy range or more observations."
        )
    free = model.spectral_model.parameters.free_parameters
    bad = [p.name for p in free if not (np.isfinite(p.error) and p.error > 0)]
    if result.covariance_result is None or not result.covariance_result.success or bad:
        raise FatalError(
            f"The {MODEL_NAMES[kind]} fit converged but its errors could not be estimated"
            f"{' (' + ', '.join(bad) + ' without a finite error)' if bad else ''}. Try a simpler spectral model, "
            "a wider energy range or more observations."
        )
    for par in free:
        log.info("Fitted %s = %.4g +- %.2g %s", par.name, par.value, par.error, par.unit)
    log.info("Fit statistic (Cash/WStat) %.2f, %d free parameters", result.total_stat,
             len(datasets.models.parameters.free_parameters))
    return model, result


@dataclass
class SpectrumResult:
    datasets: Datasets  # what was fitted: one per observation, or one stacked spectrum
    model: SkyModel
    fit: FitResult
    flux_points: FluxPoints
    reduction: Reduction  # every observation's own spectrum, and those left out
    stacking: StackDecision = field(default_factory=lambda: StackDecision(False, "one run"))

    @property
    def left_out(self) -> dict[int, str]:
        return self.reduction.left_out


def fit_credible(datasets: Datasets, binning: EnergyBinning, kind: str, stack: str,
                 log: logging.Logger = log) -> tuple[Datasets, SkyModel, FitResult, StackDecision]:
    """Fit ``kind`` to the runs, stacked or not as ``stack`` says. A fit outside what a source can be, or with
    errors larger than its values (:mod:`portal.jobs.sanity`), is refitted stacked under ``auto``; one still
    outside what a source can be is a FatalError saying why."""
    decision = decide(stack, datasets, log=log)
    if decision.stack:
        datasets = stacked(datasets, binning, log=log)
    sky_model, fit = fit_spectrum(datasets, kind, log=log)
    free = sky_model.spectral_model.parameters.free_parameters
    found = problems(free) + loose(free)
    if found and stack == "auto" and not decision.stack and len(datasets) > 1:
        log.warning("The joint fit over %d separate runs is not credible (%s): stacking them and fitting again "
                    "(stack=auto)", len(datasets), "; ".join(found))
        decision = StackDecision(True, f"stack=auto: the fit over separate runs was not credible ({'; '.join(found)})")
        datasets = stacked(datasets, binning, log=log)
        sky_model, fit = fit_spectrum(datasets, kind, log=log)
        free = sky_model.spectral_model.parameters.free_parameters
    absurd = problems(free)
    if absurd:
        hint = (" A joint fit over many runs of few counts is biased: stack them (stack=true or auto)."
                if not decision.stack and len(datasets) > 1 else
                " Try a simpler spectral model, another energy range or more observations.")
        raise FatalError(f"The {MODEL_NAMES[kind]} fit converged on values no gamma-ray source has: "
                         f"{'; '.join(absurd)}.{hint}")
    for text in loose(free):
        log.warning("The fit constrains the spectrum poorly: %s (a weak source?)", text)
    return datasets, sky_model, fit, decision


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
    fit_e_min: float | None = None,
    fit_e_max: float | None = None,
    safe: SafeRange | None = None,
    n_off_regions: int = WOBBLE_OFF_REGIONS,
    allow_partial: bool = False,
    reco_bins_per_decade: int = RECO_PER_DECADE,
    stack: str = "auto",
    exclusion: ExclusionChoice | None = None,
    sensitivity: bool = False,
    processes: int = 1,
    on_reduced: Callable[[Reduction], None] | None = None,
    on_model: Callable[[Models, FitResult], None] | None = None,
    on_flux_point: OnFluxPoint | None = None,
    log: logging.Logger = log,
    progress: Progress | None = None,
    cache: ReductionCache | None = None,
) -> SpectrumResult:
    """The whole spectral analysis: reduction, stacking or not, fit, flux points (``on_*`` called as
    results appear).

    The flux points cover ``e_min`` to ``e_max`` in every observation's safe range whatever the fit
    range; ``processes`` reduce the observations and estimate the flux points at once (1: here).
    The choices (``reco_bins_per_decade``, ``stack``, ``exclusion``, ``safe``, ``sensitivity``) are
    the job's parameters of the same names. A request the binning cannot serve is a :class:`UsageError`.
    ``progress(stage, done, total)`` hears of the stages: reducing, fitting, flux points. With a ``cache``
    (:mod:`portal.jobs.reduction_cache`) the observations already reduced with the same choices are read back.
    """
    binning = binning_of(e_min, e_max, n_bins, fit_e_min, fit_e_max, reco_bins_per_decade)  # a UsageError
    options = OnOffOptions(on_radius, containment_correction, safe or SafeRange(), n_off_regions, allow_partial,
                           exclusion or ExclusionChoice("auto"))
    reduction, edges = reduce_1d(observations, target, binning, options, catalogs, processes, on_reduced, log,
                                 progress=progress, cache=cache)
    if progress is not None:
        progress(FITTING)
    with fast_statistics():  # gammapy's values, without its bookkeeping (portal.jobs.fastpaths)
        datasets, sky_model, fit, decision = fit_credible(reduction.datasets, binning, model, stack, log=log)
        if on_model is not None:
            on_model(datasets.models, fit)
        set_fit_range(datasets, EnergyBinning(binning.points, per_decade=binning.per_decade))  # the whole safe range
        points = estimate_flux_points(datasets, SOURCE, edges, on_flux_point=on_flux_point, processes=processes,
                                      sensitivity=sensitivity, log=log, progress=progress)
    set_fit_range(datasets, binning)
    return SpectrumResult(datasets, sky_model, fit, points, reduction, decision)


def run(ctx: JobContext, params: dict[str, Any]) -> None:
    """Job service entry point (``portal.jobs.spectrum:run``)."""
    target = target_coord(params["ra"], params["dec"])
    options = OnOffOptions.from_params(params)
    ctx.progress(OPENING)
    with job_context.open_observations(ctx, params["obs_ids"], SPECTRUM_IRFS) as inputs:
        catalogs = job_context.record_catalogs(ctx) if options.exclusion.kind == "auto" else {}
        cache = reduction_cache.for_job(ctx, inputs.files)

        def on_reduced(reduction: Reduction) -> None:
            inputs.selected(reduction.used, reduction.left_out)
            if cache is not None:
                inputs.reductions(cache, reduction.used)
        model_path = ctx.workdir / "model.yaml"
        points_path = ctx.workdir / "flux_points.fits"

        def on_model(models: Models, fit: FitResult) -> None:
            write_model(models, fit, model_path, extra={"spectral_model": params["model"], **inputs.model_section()})
            ctx.publish("model", model_path, YAML)

        def on_flux_point(points: FluxPoints, done: int, total: int) -> None:
            header = inputs.header(target)
            header["NPOINTS"] = (done, f"flux points computed so far, of {total}")
            write_flux_points(points, points_path, header)
            ctx.publish("flux_points", points_path, FITS)

        result = analyse_spectrum(
            inputs.observations, target, on_radius=options.on_radius, model=params["model"], e_min=params["e_min"],
            e_max=params["e_max"], n_bins=params["n_bins"], catalogs=catalogs,
            containment_correction=options.containment_correction, fit_e_min=params.get("fit_e_min"),
            fit_e_max=params.get("fit_e_max"), safe=options.safe, n_off_regions=options.n_off_regions,
            allow_partial=options.allow_partial,
            reco_bins_per_decade=params.get("reco_bins_per_decade") or RECO_PER_DECADE,
            stack=params.get("stack") or "auto", exclusion=options.exclusion,
            sensitivity=bool(params.get("sensitivity")), processes=available_processes(),
            on_reduced=on_reduced, on_model=on_model, on_flux_point=on_flux_point, log=ctx.log,
            progress=ctx.progress, cache=cache,
        )
        ctx.progress(SAVING)
        inputs.decided("stacked", result.stacking.stack, result.stacking.reason)
        ctx.publish("datasets", write_datasets(result.datasets, ctx.workdir / "datasets.tar"), TAR)
