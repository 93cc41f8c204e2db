"""The `joint_spectrum` job: one spectral model fitted to the reduced datasets of several spectrum jobs.

This is the multi-instrument analysis of the joint-crab paper (Nigro et al. 2019): each
instrument's own on/off spectra, with its own responses, safe and fit ranges, enter one
forward-folded likelihood (gammapy's :class:`Datasets`, WStat summed over them); no flux point
of one instrument is fitted as if it were data. The inputs are the ``datasets`` results of the
caller's own completed ``spectrum`` jobs; the provenance records each as used (by SHA-256) and
the products as derived from them, so run -> instrument job -> joint fit can be followed.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import astropy.units as u
from gammapy.datasets import Datasets
from gammapy.estimators import FluxPoints
from gammapy.modeling import FitResult
from gammapy.modeling.models import SkyModel

from portal.jobs.binning import binning_of
from portal.jobs.definitions import FITS, JSON, YAML
from portal.jobs.fluxpoints import estimate_flux_points, write_flux_points
from portal.jobs.parallel import available_processes
from portal.jobs.products import TAR, read_datasets, write_datasets
from portal.jobs.sanity import problems
from portal.jobs.spectrum import FITTING, MODEL_NAMES, SAVING, SOURCE, fit_spectrum, write_model
from portal.uws.definitions import FatalError, JobContext, UsageError
from portal.uws.joblookup import job_id_of
from portal.uws.params import list_items, obs_item

log = logging.getLogger(__name__)

MAX_JOBS = 20
READING = "reading the jobs' datasets"  # a progress stage


@dataclass
class JointResult:
    datasets: Datasets
    model: SkyModel
    fit: FitResult
    flux_points: FluxPoints


def job_references(text: str) -> list[str]:
    """The job ids of the ``jobs`` parameter (ids or URLs, comma-, space- or ``;``-separated), in order."""
    ids = list(dict.fromkeys(job_id_of(item) for item in list_items(text)))
    if len(ids) < 2:
        raise UsageError("A joint fit needs at least two spectrum jobs (parameter jobs: their ids or URLs).")
    if len(ids) > MAX_JOBS:
        raise UsageError(f"A joint fit takes at most {MAX_JOBS} jobs (got {len(ids)}).")
    return ids


def check_distinct_runs(sources: list[dict]) -> None:
    """Refuse jobs that analysed the same run: a joint likelihood would count its events twice (an id given
    without its collection matches the same id in any collection)."""
    seen: dict[int, list[tuple[str | None, str]]] = {}
    for source in sources:
        for collection, obs_id in (obs_item(item) for item in list_items(source.get("obs_ids") or "")):
            for other_collection, other_job in seen.get(obs_id, []):
                if other_job != source["job_id"] and (collection is None or other_collection is None
                                                      or collection == other_collection):
                    raise UsageError(f"Observation {obs_id} was analysed by both job {other_job} and job "
                                     f"{source['job_id']}: a joint fit would count its events twice. Choose jobs "
                                     "over different observations (one per instrument).")
            seen.setdefault(obs_id, []).append((collection, source["job_id"]))


def labelled(datasets: Datasets, job_id: str) -> Datasets:
    """``datasets`` renamed ``<job id>-<name>`` so that the datasets of several jobs stay apart."""
    return Datasets([dataset.copy(name=f"{job_id}-{dataset.name}") for dataset in datasets])


def analyse_joint(datasets: Datasets, model: str = "lp", reference: float = 1.0, e_min: float = 0.1,
                  e_max: float = 30.0, n_bins: int = 10, processes: int = 1, on_model=None, on_flux_point=None,
                  log: logging.Logger = log, progress=None) -> JointResult:
    """Fit ``model`` to every dataset at once, then joint flux points from ``e_min`` to ``e_max``
    (``progress(stage, done, total)`` hears of the stages: fitting, flux points)."""
    binning = binning_of(e_min, e_max, n_bins)  # a BinningError is a UsageError
    if progress is not None:
        progress(FITTING)
    sky_model, fit = fit_spectrum(datasets, model, reference=reference * u.TeV, log=log)
    found = problems(sky_model.spectral_model.parameters.free_parameters)
    if found:
        raise FatalError(f"The joint {MODEL_NAMES[model]} fit converged on values no gamma-ray source has: "
                         f"{'; '.join(found)}. Check that the jobs analysed the same source.")
    if on_model is not None:
        on_model(datasets.models, fit)
    edges = u.Quantity(binning.point_edges(), "TeV")
    points = estimate_flux_points(datasets, SOURCE, edges, on_flux_point=on_flux_point, processes=processes, log=log,
                                  progress=progress)
    return JointResult(datasets, sky_model, fit, points)


def run(ctx: JobContext, params: dict[str, Any]) -> None:
    """Job service entry point (``portal.jobs.joint:run``)."""
    joined = Datasets()
    sources = []
    references = job_references(params["jobs"])
    for done, job_id in enumerate(references):
        ctx.progress(READING, done, len(references))
        output = ctx.job_result(job_id, "datasets", "spectrum")
        ctx.used(output.path, "datasets", job_id=job_id, definition="spectrum", result="datasets")
        datasets = labelled(read_datasets(output.path, ctx.workdir / "inputs" / job_id), job_id)
        stored = dict(json.loads(output.parameters or "[]"))
        sources.append({"job_id": job_id, "datasets": datasets.names, "obs_ids": stored.get("obs_ids"),
                        "sha256": output.sha256})
        ctx.log.info("Job %s: %d dataset(s) (%s)", job_id, len(datasets), ", ".join(datasets.names))
        joined.extend(datasets)
    check_distinct_runs(sources)
    inputs_path = ctx.workdir / "inputs.json"
    inputs_path.write_text(json.dumps({"jobs": sources}, indent=2))
    ctx.publish("inputs", inputs_path, JSON)
    model_path, points_path = ctx.workdir / "model.yaml", ctx.workdir / "flux_points.fits"

    def on_model(models, fit) -> None:
        write_model(models, fit, model_path, extra={"spectral_model": params["model"], "jobs": sources})
        ctx.publish("model", model_path, YAML)

    def on_flux_point(points: FluxPoints, done: int, total: int) -> None:
        header = {"JOBS": (",".join(s["job_id"] for s in sources), "spectrum jobs fitted jointly"),
                  "NPOINTS": (done, f"flux points computed so far, of {total}"), "CREATOR": "gamma-portal"}
        write_flux_points(points, points_path, header)
        ctx.publish("flux_points", points_path, FITS)

    result = analyse_joint(joined, params["model"], params["reference"], params["e_min"], params["e_max"],
                           params["n_bins"], processes=available_processes(), on_model=on_model,
                           on_flux_point=on_flux_point, log=ctx.log, progress=ctx.progress)
    ctx.progress(SAVING)
    ctx.publish("datasets", write_datasets(result.datasets, Path(ctx.workdir) / "datasets.tar"), TAR)
