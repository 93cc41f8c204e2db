"""Simulate the default dataset with gammapy: CTAO-like observations of four well-known sources.

Each run of the plan (:mod:`portal.datasets.plan`) is simulated with gammapy's
``MapDatasetEventSampler`` (source model plus the IRF background, PSF and energy dispersion) and
written as one GADF DL3 file (EVENTS, GTI, AEFF, EDISP, PSF, BKG); ``obs-index`` and ``hdu-index``
follow. The release is written to a temporary folder and renamed when complete, so an interrupted
simulation never leaves a half release behind. Usage::

    from portal.datasets.simulate import simulate_release
    release = simulate_release(Path("out/simulated-ctao-dl3"), caldb=Path("$GAMMAPY_DATA/cta-caldb"))
"""

from __future__ import annotations

import functools
import gzip
import json
import logging
import multiprocessing
import os
import shutil
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from portal.datasets import gadf
from portal.datasets.irfs import IRFSet, load_irfs
from portal.datasets.plan import ARRAYS, SITES, PlannedRun, SimulationConfig, plan_runs

log = logging.getLogger(__name__)

RELEASE_NAME = "simulated-ctao-dl3"
OBS_UNITS = {
    "RA_PNT": "deg", "DEC_PNT": "deg", "GLON_PNT": "deg", "GLAT_PNT": "deg", "ZEN_PNT": "deg",
    "ALT_PNT": "deg", "AZ_PNT": "deg", "RA_OBJ": "deg", "DEC_OBJ": "deg", "OFFSET_OBJ": "deg",
    "ONTIME": "s", "LIVETIME": "s", "TSTART": "s", "TSTOP": "s", "TARGET_OFFSET": "deg",
    "SAFE_ENERGY_LO": "TeV", "SAFE_ENERGY_HI": "TeV",
}


@dataclass(frozen=True)
class SimulatedRelease:
    """A finished simulated release."""

    path: Path
    n_obs: int
    n_events: int
    irf_origin: dict[str, str]  # site -> where its IRFs came from
    seconds: float


def simulate_release(out_dir: Path, config: SimulationConfig | None = None, caldb: Path | None = None,
                     overwrite: bool = False, workers: int | None = None) -> SimulatedRelease:
    """Simulate the dataset described by ``config`` into ``out_dir`` (a GADF DL3 release).

    ``caldb`` is a ``cta-caldb`` folder with the prod5 IRFs (parametric IRFs without it);
    ``workers`` processes share the runs (default: up to 2, the cores of a small machine).
    """
    config = config or SimulationConfig()
    out_dir = Path(out_dir)
    if out_dir.exists():
        if not overwrite:
            raise FileExistsError(f"{out_dir} exists; pass overwrite=True to replace it")
        shutil.rmtree(out_dir)
    started = time.perf_counter()
    runs = plan_runs(config)
    tmp = out_dir.with_name(out_dir.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    (tmp / "data").mkdir(parents=True)

    sites = sorted({run.site for run in runs})
    origins = {site: _irfs(site, caldb).origin for site in sites}
    paths = [tmp / "data" / f"ctao_sim_obs_{run.obs_id:06d}.fits.gz" for run in runs]
    jobs = [(run, config, caldb, path) for run, path in zip(runs, paths, strict=True)]
    obs_rows, hdu_rows = [], []
    for i, (run, path, row) in enumerate(zip(runs, paths, _run_all(jobs, workers), strict=True), 1):
        obs_rows.append(row)
        hdu_rows.extend(gadf.hdu_index_rows(tmp, path, run.obs_id))
        log.info("simulated obs %d (%s, %d/%d): %d events", run.obs_id, run.source.name, i, len(runs),
                 row["EVENT_COUNT"])

    meta = {"MJDREFI": int(config.mjdref), "MJDREFF": config.mjdref % 1, "TIMEUNIT": "s",
            "TIMESYS": "TT", "TIMEREF": "LOCAL"}
    gadf.write_index(tmp, obs_rows, hdu_rows, OBS_UNITS, meta)
    _write_description(tmp, config, runs, origins)
    tmp.rename(out_dir)
    return SimulatedRelease(out_dir, len(runs), sum(r["EVENT_COUNT"] for r in obs_rows), origins,
                            time.perf_counter() - started)


@functools.lru_cache(maxsize=4)
def _irfs(site: str, caldb: Path | None) -> IRFSet:
    return load_irfs(site, caldb)


@functools.lru_cache(maxsize=4)
def _irf_hdus(site: str, caldb: Path | None) -> list:
    irfset = _irfs(site, caldb)
    names = {"aeff": "AEFF", "edisp": "EDISP", "psf": "PSF", "bkg": "BKG"}
    return [gadf.irf_hdu(irfset.irfs[key], extname) for key, extname in names.items()]


def _run_all(jobs: list[tuple], workers: int | None):
    """Simulate every run, in order, on up to ``workers`` processes."""
    workers = max(1, min(workers or os.cpu_count() or 1, 2, len(jobs)))
    if workers == 1:
        yield from map(_simulate_job, jobs)
        return
    # spawn: a clean interpreter per worker, safe whatever threads the caller runs
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn")) as pool:
        yield from pool.map(_simulate_job, jobs)


def _simulate_job(job: tuple) -> dict[str, Any]:
    run, config, caldb, path = job
    return _simulate_run(run, config, _irfs(run.site, caldb), _irf_hdus(run.site, caldb), path)


def _safe_energy_lo(aeff, e_min: float) -> float:
    """Lowest energy where the on-axis effective area reaches 10 % of its maximum (gammapy aeff-max)."""
    import astropy.units as u
    import numpy as np

    energy = np.geomspace(e_min, 100, 200) * u.TeV
    area = aeff.evaluate(energy_true=energy, offset=0.5 * u.deg).value
    return float(energy[np.argmax(area >= 0.1 * area.max())].to_value("TeV"))


def _simulate_run(run: PlannedRun, config: SimulationConfig, irfset: IRFSet, irf_hdus: list,
                  path: Path) -> dict[str, Any]:
    import astropy.units as u
    import numpy as np
    from astropy.coordinates import SkyCoord
    from astropy.io import fits
    from astropy.time import Time
    from gammapy.data import FixedPointingInfo, Observation
    from gammapy.datasets import MapDataset, MapDatasetEventSampler
    from gammapy.makers import MapDatasetMaker
    from gammapy.maps import MapAxis, WcsGeom
    from gammapy.modeling.models import FoVBackgroundModel, Models

    reference = Time(config.mjdref, format="mjd", scale="tt")
    pointing = SkyCoord(run.ra_pnt, run.dec_pnt, unit="deg", frame="icrs")
    observation = Observation.create(
        pointing=FixedPointingInfo(fixed_icrs=pointing), location=SITES[run.site], obs_id=run.obs_id,
        tstart=run.tstart, tstop=run.tstop, irfs=irfset.irfs,
        deadtime_fraction=config.deadtime_fraction, reference_time=reference,
    )
    energy = MapAxis.from_energy_bounds(config.e_min, config.e_max, 8, unit="TeV", per_decade=True)
    energy_true = MapAxis.from_energy_bounds(config.e_min / 3, config.e_max * 2, 10, unit="TeV",
                                             per_decade=True, name="energy_true")
    geom = WcsGeom.create(skydir=pointing, width=2 * config.fov_radius + 0.4, binsz=0.04, frame="icrs",
                          axes=[energy])
    name = f"obs-{run.obs_id}"
    migra = MapAxis.from_bounds(0.2, 3.0, 112, name="migra")
    # IRF maps on a coarse grid: the responses vary slowly across the field of view
    empty = MapDataset.create(geom, energy_axis_true=energy_true, migra_axis=migra, binsz_irf=0.5, name=name)
    dataset = MapDatasetMaker(selection=["exposure", "background", "psf", "edisp"]).run(empty, observation)
    dataset.models = Models([run.source.sky_model(), FoVBackgroundModel(dataset_name=name)])
    events = MapDatasetEventSampler(random_state=run.seed).run(dataset, observation)

    radec = events.radec
    keep = radec.separation(pointing).deg < config.fov_radius
    table = events.table[keep]
    met = (events.time[keep] - reference).to_value(u.s)
    order = np.argsort(met, kind="stable")
    n = int(keep.sum())
    columns = {
        "EVENT_ID": np.arange(1, n + 1, dtype=np.int64),
        "TIME": met[order] * u.s,
        "RA": table["RA"].quantity[order].to(u.deg).astype(np.float32),
        "DEC": table["DEC"].quantity[order].to(u.deg).astype(np.float32),
        "ENERGY": table["ENERGY"].quantity[order].to(u.TeV).astype(np.float32),
        "MC_ID": np.asarray(table["MC_ID"])[order].astype(np.int16),  # simulation truth: 0 = background
    }
    tstart = float((run.tstart - reference).to_value(u.s))
    tstop = float((run.tstop - reference).to_value(u.s))
    livetime = run.ontime * (1 - config.deadtime_fraction)
    time_header = {"MJDREFI": int(config.mjdref), "MJDREFF": config.mjdref % 1, "TIMEUNIT": "s",
                   "TIMESYS": "TT", "TIMEREF": "LOCAL"}
    instrument, n_tels = ARRAYS[run.site]
    site = SITES[run.site]
    start, stop = run.tstart.utc.isot, run.tstop.utc.isot
    header = {
        "TELESCOP": "CTAO", "INSTRUME": instrument, "ORIGIN": "gamma-portal (simulated)",
        "CREATOR": "gamma-portal simulate_release (gammapy MapDatasetEventSampler)",
        "OBS_ID": run.obs_id, "OBJECT": run.source.name, "OBS_MODE": "WOBBLE",
        "TSTART": tstart, "TSTOP": tstop, **time_header,
        "DATE-OBS": start[:10], "TIME-OBS": start[11:23], "DATE-END": stop[:10], "TIME-END": stop[11:23],
        "ONTIME": run.ontime, "LIVETIME": livetime, "DEADC": 1 - config.deadtime_fraction,
        "RA_PNT": run.ra_pnt, "DEC_PNT": run.dec_pnt, "ALT_PNT": run.alt_pnt, "AZ_PNT": run.az_pnt,
        "RA_OBJ": run.source.ra, "DEC_OBJ": run.source.dec, "RADECSYS": "ICRS", "EQUINOX": 2000.0,
        "N_TELS": n_tels, "GEOLON": site.lon.deg, "GEOLAT": site.lat.deg, "ALTITUDE": site.height.to_value(u.m),
        "EUNIT": "TeV", "EV_CLASS": "simulated", "IRF": irfset.origin[:68],
    }
    primary = fits.PrimaryHDU()
    primary.header["COMMENT"] = "Simulated CTAO-like observation made by gamma-portal with gammapy."
    primary.header["COMMENT"] = f"Source model: {run.source.reference}."
    hdus = fits.HDUList([primary, gadf.events_hdu(columns, header), gadf.gti_hdu(tstart, tstop, time_header),
                         *[hdu.copy() for hdu in irf_hdus]])
    with gzip.open(path, "wb", compresslevel=6) as out:  # astropy would use level 9: 3x slower
        hdus.writeto(out)

    offset = float(SkyCoord(run.source.ra, run.source.dec, unit="deg").separation(pointing).deg)
    galactic = pointing.galactic
    return {
        "OBS_ID": run.obs_id, "RA_PNT": run.ra_pnt, "DEC_PNT": run.dec_pnt,
        "GLON_PNT": float(galactic.l.deg), "GLAT_PNT": float(galactic.b.deg),
        "ZEN_PNT": 90 - run.alt_pnt, "ALT_PNT": run.alt_pnt, "AZ_PNT": run.az_pnt,
        "OBJECT": run.source.name, "RA_OBJ": run.source.ra, "DEC_OBJ": run.source.dec, "OFFSET_OBJ": offset,
        "ONTIME": run.ontime, "LIVETIME": livetime, "DEADC": 1 - config.deadtime_fraction,
        "TSTART": tstart, "TSTOP": tstop, "DATE-OBS": header["DATE-OBS"], "TIME-OBS": header["TIME-OBS"],
        "DATE-END": header["DATE-END"], "TIME-END": header["TIME-END"], "N_TELS": n_tels,
        "TELESCOP": "CTAO", "INSTRUME": instrument, "QUALITY": 0, "EVENT_COUNT": n,
        "TARGET_NAME": run.source.name, "TARGET_TAG": run.source.tag, "TARGET_OFFSET": offset,
        "SAFE_ENERGY_LO": _safe_energy_lo(irfset.irfs["aeff"], config.e_min), "SAFE_ENERGY_HI": config.e_max,
    }


def _write_description(release: Path, config: SimulationConfig, runs: list[PlannedRun],
                       origins: dict[str, str]) -> None:
    """``simulation.json`` (what was simulated, for provenance and tests) and a README."""
    import gammapy

    sources = {run.source.tag: run.source for run in runs}
    description = {
        "release": RELEASE_NAME,
        "config": asdict(config),
        "gammapy": gammapy.__version__,
        "irfs": origins,
        "sources": {tag: {"name": s.name, "ra": s.ra, "dec": s.dec, "spectral": s.spectral,
                          "spatial": s.spatial, "reference": s.reference} for tag, s in sources.items()},
        "obs_ids": {tag: [r.obs_id for r in runs if r.source.tag == tag] for tag in sources},
    }
    (release / "simulation.json").write_text(json.dumps(description, indent=2, default=str))
    lines = [
        "# Simulated CTAO-like DL3 release",
        "",
        "Made by gamma-portal with gammapy's MapDatasetEventSampler, because neither a local H.E.S.S.",
        "DL3 DR1 nor a network was available. These are NOT real observations.",
        "",
        f"IRFs: {'; '.join(f'{site}: {origin}' for site, origin in origins.items())}.",
        "",
        "| source | obs ids | model | reference |",
        "| --- | --- | --- | --- |",
    ]
    for tag, s in sources.items():
        ids = description["obs_ids"][tag]
        lines.append(f"| {s.name} | {ids[0]}-{ids[-1]} | {s.spectral['type']} | {s.reference} |")
    lines += ["", "Format: GADF DL3 (obs-index, hdu-index; EVENTS, GTI, AEFF, EDISP, PSF, BKG per file).", ""]
    (release / "README.md").write_text("\n".join(lines))
