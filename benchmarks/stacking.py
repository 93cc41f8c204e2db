"""Part of ``make bench analysis``: a stacked spectrum of 100 short, low-count runs through the job service,
against a plain gammapy script that does the same in the same run.

The release is the project's simulator's (:mod:`tests.support.lowcount`: two-minute runs of a faint
log-parabola, CTAO-North prod5 IRFs). The job is a `spectrum` job with ``stack=auto`` (it stacks: more
than 20 runs), a log-parabola, 6 flux points from 0.2 to 20 TeV; the plain script reduces every run
with gammapy (reflected regions, the target excluded, 10 % of the effective area's maximum as the safe
range, 20 bins per decade), stacks them, fits the log-parabola and estimates the same flux points (errors,
upper limits, profiles), on one core as gammapy does by default. Both are timed as in
:mod:`benchmarks.bench_analysis` (the plain script from after its imports; the job from RUN to COMPLETED).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

N_RUNS = int(os.environ.get("BENCH_STACK_RUNS", "100"))
PARAMS = {"model": "lp", "e_min": 0.2, "e_max": 20.0, "n_bins": 6, "stack": "auto"}


def plain_stacked_spectrum(release: Path, outdir: Path) -> dict:
    """The stacked analysis as an astronomer would script it with gammapy; returns its timings."""
    t_start = time.perf_counter()
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import SkyCoord
    from gammapy.data import DataStore
    from gammapy.datasets import Datasets, SpectrumDataset
    from gammapy.estimators import FluxPointsEstimator
    from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
    from gammapy.maps import MapAxis, RegionGeom, WcsGeom
    from gammapy.modeling import Fit
    from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel
    from regions import CircleSkyRegion

    from tests.support.lowcount import SOURCE

    t_imported, cpu_imported = time.perf_counter(), time.process_time()
    store = DataStore.from_dir(release)
    observations = store.get_observations(list(store.obs_table["OBS_ID"]), required_irf=["aeff", "edisp"])
    target = SkyCoord(SOURCE["ra"], SOURCE["dec"], unit="deg")
    energy = MapAxis.from_energy_bounds(0.01, 300, nbin=20, per_decade=True, unit="TeV", name="energy")
    energy_true = MapAxis.from_energy_bounds(0.01, 300, nbin=20, per_decade=True, unit="TeV", name="energy_true")
    on = CircleSkyRegion(target, 0.11 * u.deg)
    mask = ~WcsGeom.create(skydir=target, width=4, binsz=0.02, frame="icrs").region_mask(
        [CircleSkyRegion(target, 0.41 * u.deg)])
    empty = SpectrumDataset.create(geom=RegionGeom.create(on, axes=[energy]), energy_axis_true=energy_true)
    maker = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"])
    background = ReflectedRegionsBackgroundMaker(exclusion_mask=mask)
    safe = SafeMaskMaker(methods=["aeff-max"], aeff_percent=10)
    datasets = Datasets()
    for obs in observations:
        datasets.append(safe.run(background.run(maker.run(empty.copy(name=str(obs.obs_id)), obs), obs), obs))
    stacked = Datasets([datasets.stack_reduce(name="stacked")])
    model = LogParabolaSpectralModel(alpha=2.5, beta=0.1, amplitude=1e-12 * u.Unit("cm-2 s-1 TeV-1"),
                                     reference=1 * u.TeV)
    stacked.models = [SkyModel(spectral_model=model, name="target")]
    fit = Fit().run(stacked)
    stacked.models.write(outdir / "model.yaml", overwrite=True)
    edges = PARAMS["e_min"] * np.geomspace(1, PARAMS["e_max"] / PARAMS["e_min"], PARAMS["n_bins"] + 1) * u.TeV
    points = FluxPointsEstimator(energy_edges=edges, source="target",
                                 selection_optional=["errn-errp", "ul", "scan"]).run(stacked)
    points.write(outdir / "flux_points.fits", sed_type="likelihood", format="gadf-sed", overwrite=True)
    t_end, cpu_end = time.perf_counter(), time.process_time()
    return {"import_s": t_imported - t_start, "analysis_s": t_end - t_imported, "cpu_s": cpu_end - cpu_imported,
            "success": bool(fit.success), "alpha": float(model.alpha.value)}


def run_plain(release: Path) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        out = subprocess.run([sys.executable, "-m", "benchmarks.stacking", str(release), tmp], capture_output=True,
                             text=True, check=True, cwd=Path(__file__).resolve().parents[1])
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_job(client, release_obs_ids: list[int]) -> dict:
    from tests.support.lowcount import SOURCE
    from tests.support.watch import run_and_watch

    watched = run_and_watch(client, "spectrum", {**PARAMS, "obs_ids": release_obs_ids, "ra": SOURCE["ra"],
                                                 "dec": SOURCE["dec"]})
    if watched.phase != "COMPLETED":
        raise RuntimeError(f"the stacked spectrum job ended {watched.phase}: {watched.error}")
    return {"job_s": watched.finished - watched.submitted}


if __name__ == "__main__":
    if len(sys.argv) == 3:
        print(json.dumps(plain_stacked_spectrum(Path(sys.argv[1]), Path(sys.argv[2]))))
    else:
        print("usage: python -m benchmarks.stacking RELEASE OUTDIR", file=sys.stderr)
        sys.exit(2)
