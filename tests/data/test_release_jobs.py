"""Every kind of release through the analysis jobs of a running `portal serve` (UWS, Dask workers):
MAGIC's point-like runs with RAD_MAX_2D and the simulated CTAO release (all three jobs) against gammapy
used directly with the same choices; the VERITAS-like and fixed-RAD_MAX releases; the field-of-view
rule on the IRFs' real extent."""

from __future__ import annotations

import io
import logging
import time

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord
from astropy.io import fits

from tests.data.conftest import CRAB, HESS_CRAB_RUNS
from tests.jobs.uws_client import FINAL, UWSClient, Watched, create_token

# the jobs share the two cores of a CI machine with the tests' own gammapy runs
pytestmark = [pytest.mark.requires_data, pytest.mark.slow, pytest.mark.timeout(1800)]

MAGIC_RUNS = [5029747, 5029748]
CTAO_RUNS = [100001, 100002]
CTAO_CRAB = (83.63308, 22.01450)  # the simulated source
# MAGIC from 100 GeV: the reconstructed bins are 0.1 dex from 0.1 to 100 TeV, as energy_axes gives them
MAGIC_PARAMS = {"obs_ids": MAGIC_RUNS, "ra": CRAB[0], "dec": CRAB[1], "e_min": 0.1, "e_max": 10.0, "n_bins": 4}
JOBS = {
    "magic": ("spectrum", MAGIC_PARAMS),
    "magic-veritas-like": ("spectrum", {**MAGIC_PARAMS, "obs_ids": [i + 1_000_000 for i in MAGIC_RUNS]}),
    "hess-fixed-rad-max": ("spectrum", {"obs_ids": [i + 2_000_000 for i in HESS_CRAB_RUNS], "ra": CRAB[0],
                                        "dec": CRAB[1], "n_bins": 2}),
    "ctao-spectrum": ("spectrum", {"obs_ids": CTAO_RUNS, "ra": CTAO_CRAB[0], "dec": CTAO_CRAB[1], "n_bins": 4}),
    "ctao-lightcurve": ("lightcurve", {"obs_ids": CTAO_RUNS, "ra": CTAO_CRAB[0], "dec": CTAO_CRAB[1]}),
    "ctao-skymap": ("skymap", {"obs_ids": CTAO_RUNS, "ra": CTAO_CRAB[0], "dec": CTAO_CRAB[1], "width": 2.0,
                               "binsz": 0.05}),
}


@pytest.fixture(scope="module")
def service(releases_archive):
    from tests.support.servers import start_portal

    # two worker processes, two jobs at a time: the two cores of a CI machine
    env = {"PORTAL_DEFAULT_DATASET": "none", "PORTAL_DASK_WORKERS": "2", "PORTAL_UWS_MAX_RUNNING": "2",
           "PORTAL_UWS_MAX_RUNNING_PER_USER": "2"}
    server = start_portal(releases_archive, env=env)
    client = UWSClient(server.url, create_token(releases_archive, "astronomer"))
    try:
        yield client
    finally:
        client.close()
        server.stop()


class Jobs:
    """The jobs of ``JOBS``, all submitted at once; each test waits for its own (and meanwhile computes
    what it compares them with)."""

    def __init__(self, service: UWSClient):
        self.service = service
        self.started = time.perf_counter()
        self.urls = {name: service.submit(definition, params) for name, (definition, params) in JOBS.items()}
        self.done: dict[str, Watched] = {}

    def __getitem__(self, name: str) -> Watched:
        url = self.urls[name]
        while name not in self.done:
            job = self.service.summary(url)
            phase = str(job.phase)
            if phase in FINAL:
                watched = Watched(url, phase, self.started, time.perf_counter(),
                                  results={r.id_: r.href for r in job.results or []})
                if phase == "ERROR":
                    watched.error = self.service.http.get(f"{url}/error").text
                self.done[name] = watched
            else:
                assert time.perf_counter() - self.started < 1800, f"{name} still {phase}"
                time.sleep(0.5)
        return self.done[name]


@pytest.fixture(scope="module")
def jobs(service) -> Jobs:
    return Jobs(service)


def fitted(service, watched: Watched):
    """The fitted spectral model of a COMPLETED job, read from its ``model`` result."""
    import tempfile
    from pathlib import Path

    from portal.jobs.spectrum import read_model

    assert watched.phase == "COMPLETED", watched.error
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.yaml"
        path.write_bytes(service.result(watched, "model"))
        return read_model(path)["target"].spectral_model


def exclusion(target: SkyCoord, radius: Angle, reach: Angle):
    """The exclusions the portal makes, written out: the target's circle (on region plus 0.3 deg) and
    every HGPS and gamma-cat source within ``reach`` + 1 deg (0.3 deg beyond twice its size)."""
    import os

    from gammapy.catalog import SourceCatalogGammaCat, SourceCatalogHGPS
    from gammapy.maps import WcsGeom
    from regions import CircleSkyRegion

    excluded = [CircleSkyRegion(target, radius + 0.3 * u.deg)]
    catalogs = os.path.expandvars("$GAMMAPY_DATA/catalogs")
    for cat, size in ((SourceCatalogHGPS(f"{catalogs}/hgps_catalog_v1.fits.gz"), "Size"),
                      (SourceCatalogGammaCat(f"{catalogs}/gammacat/gammacat.fits.gz"), "morph_sigma")):
        sigma = np.nan_to_num(np.ma.filled(cat.table[size].astype(float), np.nan))
        near = cat.positions.separation(target) < reach + 1 * u.deg
        excluded += [CircleSkyRegion(p, (0.3 + 2 * s) * u.deg) for p, s in zip(cat.positions[near], sigma[near],
                                                                               strict=True)]
    return ~WcsGeom.create(skydir=target, width=2 * reach, binsz=0.02, frame="icrs").region_mask(excluded)


def direct_fit(observations, target, region, energy, containment_correction: bool, safe_methods: list[str]):
    """A 1D analysis written with gammapy alone: reflected (or wobble, for a point region) off regions,
    the safe range, a power-law fit."""
    from gammapy.datasets import Datasets, SpectrumDataset
    from gammapy.makers import (
        ReflectedRegionsBackgroundMaker,
        ReflectedRegionsFinder,
        SafeMaskMaker,
        SpectrumDatasetMaker,
        WobbleRegionsFinder,
    )
    from gammapy.maps import MapAxis, RegionGeom
    from gammapy.modeling import Fit
    from gammapy.modeling.models import PowerLawSpectralModel, SkyModel
    from regions import PointSkyRegion

    point = isinstance(region, PointSkyRegion)
    radius = (Angle(max(o.rad_max.quantity.max() for o in observations)) if point else region.radius)
    reach = 2 * max(o.get_pointing_icrs(o.tmid).separation(target) for o in observations) + radius + 0.5 * u.deg
    finder = WobbleRegionsFinder(n_off_regions=3) if point else ReflectedRegionsFinder()
    background = ReflectedRegionsBackgroundMaker(region_finder=finder, exclusion_mask=exclusion(target, radius, reach))
    true = MapAxis.from_energy_bounds(energy.edges[0] / 2, energy.edges[-1] * 2, nbin=20, per_decade=True,
                                      name="energy_true")
    empty = SpectrumDataset.create(geom=RegionGeom.create(region, axes=[energy]), energy_axis_true=true)
    maker = SpectrumDatasetMaker(containment_correction=containment_correction, use_region_center=point,
                                 selection=["counts", "exposure", "edisp"])
    safe = SafeMaskMaker(methods=safe_methods, aeff_percent=10)
    datasets = Datasets()
    for obs in observations:
        dataset = background.run(maker.run(empty.copy(name=str(obs.obs_id)), obs), obs)
        datasets.append(safe.run(dataset, obs))
    model = PowerLawSpectralModel(index=2.5, amplitude=1e-12 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
    datasets.models = [SkyModel(spectral_model=model, name="direct")]
    assert Fit().run(datasets).success
    return model


def test_magic_spectrum_job_agrees_with_gammapy(jobs, service, magic_release):
    """MAGIC's tutorial case: point-like IRFs with an energy-dependent cut; the on region is a point,
    events are selected by RAD_MAX, three wobble off regions are tried, the safe range is the IRFs' own
    LO_THRES (no upper one)."""
    from gammapy.data import DataStore
    from gammapy.maps import MapAxis
    from regions import PointSkyRegion

    from portal.jobs.onoff import energy_axes

    energy = MapAxis.from_energy_bounds(0.1, 100, nbin=30, unit="TeV", name="energy")
    np.testing.assert_allclose(energy_axes(0.1, 10.0, 4)[0].edges.to_value("TeV"), energy.edges.to_value("TeV"))
    observations = DataStore.from_dir(magic_release).get_observations(MAGIC_RUNS, required_irf="point-like")
    target = SkyCoord(*CRAB, unit="deg")
    direct = direct_fit(observations, target, PointSkyRegion(target), energy, False, ["aeff-default"])
    ours = fitted(service, jobs["magic"])
    logging.getLogger("tests.data.jobs").warning("MAGIC spectrum job index %.4f +- %.4f, amplitude %.4g; "
                                                  "gammapy directly %.4f +- %.4f, %.4g", ours.index.value,
                                                  ours.index.error, ours.amplitude.value, direct.index.value,
                                                  direct.index.error, direct.amplitude.value)
    assert ours.index.value == pytest.approx(direct.index.value, abs=0.02)
    assert ours.amplitude.value == pytest.approx(direct.amplitude.value, rel=0.03)
    assert 2.0 < ours.index.value < 2.8 and 0.02 < ours.index.error < 0.1  # the Crab, from 100 GeV
    log = service.result(jobs["magic"], "log").decode()
    assert "energy-dependent RAD_MAX (up to 0.387 deg)" in log and "Flux point 4/4" in log


def test_ctao_spectrum_job_agrees_with_gammapy_and_the_simulation(jobs, service, ctao_release):
    from gammapy.maps import MapAxis
    from regions import CircleSkyRegion

    from portal.jobs.observations import open_release
    from portal.jobs.onoff import energy_axes

    energy = energy_axes(1.0, 30.0, 4)[0]
    assert isinstance(energy, MapAxis)
    observations = open_release(ctao_release.path).get_observations(CTAO_RUNS)
    target = SkyCoord(*CTAO_CRAB, unit="deg")
    # prod5 has no LO_THRES: the portal's safe range is where the effective area passes 10% of its maximum
    direct = direct_fit(observations, target, CircleSkyRegion(target, 0.11 * u.deg), energy, True, ["aeff-max"])
    ours = fitted(service, jobs["ctao-spectrum"])
    logging.getLogger("tests.data.jobs").warning("CTAO spectrum job index %.4f +- %.4f, amplitude %.4g; "
                                                  "gammapy directly %.4f +- %.4f, %.4g; simulated 2.63, 3.45e-11",
                                                  ours.index.value, ours.index.error, ours.amplitude.value,
                                                  direct.index.value, direct.index.error, direct.amplitude.value)
    assert ours.index.value == pytest.approx(direct.index.value, abs=0.02)
    assert ours.amplitude.value == pytest.approx(direct.amplitude.value, rel=0.03)
    # the simulation's truth: a power law of index 2.63, 3.45e-11 cm-2 s-1 TeV-1 at 1 TeV
    assert abs(ours.index.value - 2.63) < 3 * ours.index.error
    assert abs(ours.amplitude.value - 3.45e-11) < 3 * ours.amplitude.error


def test_ctao_lightcurve_job(jobs, service):
    watched = jobs["ctao-lightcurve"]
    assert watched.phase == "COMPLETED", watched.error
    table = fits.getdata(io.BytesIO(service.result(watched, "lightcurve")), "FLUXPOINTS")
    assert len(table) == 2 and np.all(table["flux"] > 0)
    flux, error = table["flux"].ravel(), table["flux_err"].ravel()
    assert abs(flux[0] - flux[1]) < 3 * np.hypot(*error)  # a steady source
    assert service.result(watched, "preview")[:4] == b"\x89PNG"


def test_ctao_skymap_job(jobs, service):
    watched = jobs["ctao-skymap"]
    assert watched.phase == "COMPLETED", watched.error
    significance = fits.getdata(io.BytesIO(service.result(watched, "significance")))
    assert significance.shape == (40, 40) and np.nanmax(significance) > 10
    peak = np.unravel_index(np.nanargmax(significance), significance.shape)
    assert abs(peak[0] - 19.5) <= 2 and abs(peak[1] - 19.5) <= 2  # the Crab, at the centre
    assert service.result(watched, "preview")[:4] == b"\x89PNG"


def test_veritas_like_release_analyses(jobs, service):
    """Plain index files and an empty FILE_DIR open; with thresholds spanning the grid the safe range is the
    whole reconstructed axis, which for MAGIC starts at 100 GeV, above its LO_THRES: the fit is MAGIC's."""
    like = fitted(service, jobs["magic-veritas-like"])
    magic = fitted(service, jobs["magic"])
    assert like.index.value == pytest.approx(magic.index.value, abs=1e-3)
    assert like.amplitude.value == pytest.approx(magic.amplitude.value, rel=1e-3)


def test_fixed_rad_max_release_gives_the_full_enclosure_result(jobs, service, tmp_path):
    """Point-like IRFs with RAD_MAX = 0.11 deg made from DR1 (the effective area times the PSF's containment
    in 0.11 deg) give what the full-enclosure analysis of the same runs with containment correction gives."""
    from tests.conftest import gammapy_data

    from portal.jobs.observations import load_observations, target_coord
    from portal.jobs.onoff import energy_axes, reduce_around
    from portal.jobs.spectrum import fit_spectrum
    from portal.uws.definitions import ObservationLocation

    dr1 = gammapy_data() / "hess-dl3-dr1"
    observations, _ = load_observations([ObservationLocation(i, dr1, "Crab", 0, 0) for i in HESS_CRAB_RUNS])
    log = logging.getLogger("tests.data.jobs")
    reco, true, _ = energy_axes(1.0, 30.0, 2)
    datasets = reduce_around(observations, target_coord(*CRAB), Angle(0.11, "deg"), reco, true, log=log)
    full, _ = fit_spectrum(datasets, "pl", log=log)
    point_like = fitted(service, jobs["hess-fixed-rad-max"])
    assert "fixed RAD_MAX cut, 0.110 deg" in service.result(jobs["hess-fixed-rad-max"], "log").decode()
    log.warning("H.E.S.S. fixed RAD_MAX job index %.4f +- %.4f; full enclosure %.4f +- %.4f",
                point_like.index.value, point_like.index.error, full.spectral_model.index.value,
                full.spectral_model.index.error)
    assert point_like.index.value == pytest.approx(full.spectral_model.index.value, abs=0.02)
    assert point_like.amplitude.value == pytest.approx(full.spectral_model.amplitude.value, rel=0.03)


def test_field_of_view_follows_the_irfs_extent(magic_release):
    from portal.jobs.observations import check_field_of_view, load_observations, max_offset, target_coord
    from portal.uws.definitions import ObservationLocation, UsageError

    observations, _ = load_observations([ObservationLocation(i, magic_release, "Crab", 0, 0) for i in MAGIC_RUNS])
    assert [round(max_offset(o).deg, 4) for o in observations] == [0.41, 0.41]  # the bin's edge, not 0.40
    check_field_of_view(observations, target_coord(*CRAB), Angle(0.11, "deg"))  # 0.40 deg wobbles
    pointing = observations[0].get_pointing_icrs(observations[0].tmid)
    with pytest.raises(UsageError) as near:
        check_field_of_view(observations[:1], pointing, Angle(0.11, "deg"))
    assert "0.39 deg nearer the pointing than its IRFs' 0.39 to 0.41 deg" in str(near.value)
    far = pointing.directional_offset_by(0 * u.deg, 1.0 * u.deg)
    with pytest.raises(UsageError) as beyond:
        check_field_of_view(observations[:1], far, Angle(0.11, "deg"))
    assert "5029747 (the target lies 1.00 deg from the pointing, 0.59 deg beyond its IRFs'" in str(beyond.value)
