"""Every kind of release through the analysis jobs of a running `portal serve` (UWS, Dask workers):
MAGIC's point-like runs with RAD_MAX_2D and the simulated CTAO release (all three jobs) against gammapy
used directly with the same choices; the VERITAS-like and fixed-RAD_MAX releases; the field-of-view
rule on the IRFs' real extent."""

from __future__ import annotations

import io
import logging
import time
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord
from astropy.io import fits

from tests.data.conftest import CRAB, HESS_CRAB_RUNS
from tests.support.watch import Watched, result, wait_final
from widgets.client import PortalClient

# the jobs share the two cores of a CI machine with the tests' own gammapy runs
pytestmark = [pytest.mark.requires_data, pytest.mark.slow, pytest.mark.timeout(1800)]

MAGIC_RUNS = [5029747, 5029748]
CTAO_RUNS = [100001, 100002]
CTAO_CRAB = (83.63308, 22.01450)  # the simulated source
MAGIC_PARAMS = {"obs_ids": MAGIC_RUNS, "ra": CRAB[0], "dec": CRAB[1], "e_min": 0.1, "e_max": 10.0, "n_bins": 4}
HESS_PARAMS = {"obs_ids": HESS_CRAB_RUNS, "ra": CRAB[0], "dec": CRAB[1], "n_bins": 2}
JOBS = {
    "hess-dr1": ("spectrum", HESS_PARAMS),
    "magic": ("spectrum", MAGIC_PARAMS),
    # thresholds spanning the grid: the user says where the fit starts (MAGIC's own safe range starts at 0.089 TeV)
    "magic-veritas-like": ("spectrum", {**MAGIC_PARAMS, "obs_ids": [i + 1_000_000 for i in MAGIC_RUNS],
                                        "fit_e_min": 0.089}),
    "hess-fixed-rad-max": ("spectrum", {**HESS_PARAMS, "obs_ids": [i + 2_000_000 for i in HESS_CRAB_RUNS]}),
    "ctao-spectrum": ("spectrum", {"obs_ids": CTAO_RUNS, "ra": CTAO_CRAB[0], "dec": CTAO_CRAB[1], "n_bins": 4}),
    "ctao-lightcurve": ("lightcurve", {"obs_ids": CTAO_RUNS, "ra": CTAO_CRAB[0], "dec": CTAO_CRAB[1]}),
    "ctao-skymap": ("skymap", {"obs_ids": CTAO_RUNS, "ra": CTAO_CRAB[0], "dec": CTAO_CRAB[1], "width": 2.0,
                               "binsz": 0.05}),
}
figures = logging.getLogger("tests.data.jobs")


@pytest.fixture(scope="module")
def jobs_archive(tmp_path_factory, releases) -> Path:
    """Every release of ``releases`` and H.E.S.S. DR1 in one archive (obs ids do not clash)."""
    from portal.archive.ingest import ingest_release
    from portal.archive.store import db_path
    from tests.conftest import gammapy_data

    data_dir = tmp_path_factory.mktemp("release-jobs")
    for path in [*releases.values(), gammapy_data() / "hess-dl3-dr1"]:
        ingest_release(db_path(data_dir), path)
    return data_dir


@pytest.fixture(scope="module")
def service(jobs_archive):
    from tests.data.conftest import analysis_service

    with analysis_service(jobs_archive, "astronomer") as client:
        yield client


class Jobs:
    """The jobs of ``JOBS``, all submitted at once; each test follows its own to the end (blocking WAIT) and
    meanwhile computes what it compares them with."""

    def __init__(self, service: PortalClient):
        self.service = service
        self.started = time.perf_counter()
        self.urls = {name: service.uws.create(definition, params, run=True)
                     for name, (definition, params) in JOBS.items()}
        self.done: dict[str, Watched] = {}

    def __getitem__(self, name: str) -> Watched:
        if name not in self.done:
            self.done[name] = wait_final(self.service, self.urls[name], self.started, timeout=1800)
        return self.done[name]


@pytest.fixture(scope="module")
def jobs(service) -> Jobs:
    return Jobs(service)


def fitted(service, watched: Watched):
    """The fitted spectral model of a COMPLETED job, read from its ``model`` result."""
    import tempfile

    from portal.jobs.spectrum import read_model

    assert watched.phase == "COMPLETED", watched.error
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "model.yaml"
        path.write_bytes(result(service, watched, "model"))
        return read_model(path)["target"].spectral_model


def exclusion(target: SkyCoord, radius: Angle, reach: Angle):
    """The exclusions the portal makes, written out: HGPS and gamma-cat sources within ``reach`` + 1 deg get
    0.3 deg beyond twice their size, except the target's own counterparts (inside the on region, or whose
    size covers the target), which widen the target's circle (on region plus 0.3 deg) instead."""
    import os

    from gammapy.catalog import SourceCatalogGammaCat, SourceCatalogHGPS
    from gammapy.maps import WcsGeom
    from regions import CircleSkyRegion

    target_radius, others = radius, []
    catalogs = os.path.expandvars("$GAMMAPY_DATA/catalogs")
    for cat, size in ((SourceCatalogHGPS(f"{catalogs}/hgps_catalog_v1.fits.gz"), "Size"),
                      (SourceCatalogGammaCat(f"{catalogs}/gammacat/gammacat.fits.gz"), "morph_sigma")):
        sigma = u.Quantity(np.nan_to_num(np.ma.filled(cat.table[size].astype(float), np.nan)), "deg")
        separation = cat.positions.separation(target)
        for pos, sep, s in zip(cat.positions, separation, sigma, strict=True):
            if sep < radius or sep < s:
                target_radius = max(target_radius, sep + s)
            elif sep < reach + 1 * u.deg:
                others.append(CircleSkyRegion(pos, 0.3 * u.deg + 2 * s))
    excluded = [CircleSkyRegion(target, target_radius + 0.3 * u.deg), *others]
    geom = WcsGeom.create(skydir=target, width=2 * reach, binsz=0.02, frame="icrs", proj="TAN")
    return ~geom.region_mask(excluded)


def tutorial_axes(observations, e_min: float = 1.0, e_max: float = 30.0, n_bins: int = 4):
    """gammapy's tutorial binning, 20 bins per decade (reconstructed and true) on grids through 1 TeV, over the
    effective areas' energies, as the joint-crab paper bins; checked equal to the portal's (portal.jobs.energy)."""
    from gammapy.maps import MapAxis

    from portal.jobs.binning import RECO_PER_DECADE, binning_of
    from portal.jobs.energy import energy_axes, instrument_range

    low = min(o.aeff.axes["energy_true"].edges[0].to_value("TeV") for o in observations)
    high = max(o.aeff.axes["energy_true"].edges[-1].to_value("TeV") for o in observations)
    axes = []
    for per_decade, name in ((RECO_PER_DECADE, "energy"), (20, "energy_true")):
        lo = np.floor(per_decade * np.log10(low) + 1e-3) / per_decade  # float32 edges in the files
        hi = np.ceil(per_decade * np.log10(high) - 1e-3) / per_decade
        axes.append(MapAxis.from_energy_bounds(10**lo, 10**hi, nbin=round((hi - lo) * per_decade), unit="TeV",
                                               name=name))
    reco, true, _ = energy_axes(binning_of(e_min, e_max, n_bins), instrument_range(observations))
    np.testing.assert_allclose(reco.edges.to_value("TeV"), axes[0].edges.to_value("TeV"), rtol=1e-9)
    np.testing.assert_allclose(true.edges.to_value("TeV"), axes[1].edges.to_value("TeV"), rtol=1e-9)
    return axes


def direct_fit(observations, target, region, axes, containment_correction: bool, used_from: float | None = None,
               fit_max: float | None = None):
    """A 1D analysis written with gammapy alone, with the job's choices: reflected (or, for a point region,
    three wobble) off regions, the safe range (the IRFs' thresholds when they carry them, else 10% of the
    effective area's maximum), the exclusions; full-enclosure IRFs averaged over a circular on region,
    point-like ones taken at the region's centre. For a point region the target's exclusion is the widest RAD_MAX at the safe bins'
    centres (those above ``used_from`` TeV when the fit starts there) plus 0.3 deg, and the reconstructed
    axis starts at the first of those bins. The fit from ``used_from`` to ``fit_max`` TeV. A power-law fit."""
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

    reco, true = axes
    point = isinstance(region, PointSkyRegion)
    pointlike = all(o.aeff.is_pointlike for o in observations)  # IRFs taken at the centre (a fixed cut too)
    maker = SpectrumDatasetMaker(containment_correction=containment_correction, use_region_center=pointlike,
                                 selection=["counts", "exposure", "edisp"])
    safe = {o.obs_id: SafeMaskMaker(methods=["aeff-default" if "LO_THRES" in o.aeff.meta else "aeff-max"],
                                    aeff_percent=10) for o in observations}

    def spectra(energy):
        empty = SpectrumDataset.create(geom=RegionGeom.create(region, axes=[energy]), energy_axis_true=true)
        return [(safe[o.obs_id].run(maker.run(empty.copy(name=str(o.obs_id)), o), o), o) for o in observations]

    radius = region.radius if not point else None
    if point:
        cuts, first = [], np.inf
        for dataset, obs in spectra(reco):
            used = dataset.mask_safe.data.ravel() & (reco.edges_min >= (used_from or 0) * 0.999 * u.TeV)
            energies = reco.center[used]
            offset = obs.get_pointing_icrs(obs.tmid).separation(target)
            cuts.append(obs.rad_max.evaluate(method="nearest", energy=energies, offset=offset).max())
            first = min(first, reco.edges_min[used][0].to_value("TeV"))
        radius = Angle(max(cuts))
        per_decade = round(1 / np.diff(np.log10(reco.edges.value))[0])
        reco = MapAxis.from_energy_bounds(first, reco.edges[-1], nbin=round(per_decade * np.log10(
            reco.edges[-1].value / first)), unit="TeV")
    reach = 2 * max(o.get_pointing_icrs(o.tmid).separation(target) for o in observations) + radius + 0.5 * u.deg
    finder = WobbleRegionsFinder(n_off_regions=3) if point else ReflectedRegionsFinder()
    background = ReflectedRegionsBackgroundMaker(region_finder=finder, exclusion_mask=exclusion(target, radius, reach))
    datasets = Datasets()
    for dataset, obs in spectra(reco):
        on_off = background.run(dataset, obs)
        on_off.mask_safe = dataset.mask_safe
        datasets.append(on_off)
    if used_from is not None or fit_max is not None:  # the fit range, snapped to the nearest edges
        for dataset in datasets:
            dataset.mask_fit = dataset.counts.geom.energy_mask(
                energy_min=None if used_from is None else used_from * u.TeV,
                energy_max=None if fit_max is None else fit_max * u.TeV, round_to_edge=True)
    model = PowerLawSpectralModel(index=2.5, amplitude=1e-12 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
    datasets.models = [SkyModel(spectral_model=model, name="direct")]
    assert Fit().run(datasets).success
    return model, datasets


def compare(name: str, ours, direct, extra: str = "") -> None:
    """The job's fit against gammapy's: the same analysis, so the same numbers (measured: 1e-10 in-process)."""
    figures.warning("%s spectrum job index %.4f +- %.4f, amplitude %.4g +- %.2g; gammapy directly %.4f +- %.4f, "
                    "%.4g +- %.2g%s", name, ours.index.value, ours.index.error, ours.amplitude.value,
                    ours.amplitude.error, direct.index.value, direct.index.error, direct.amplitude.value,
                    direct.amplitude.error, extra)
    assert ours.index.value == pytest.approx(direct.index.value, rel=1e-4)
    assert ours.amplitude.value == pytest.approx(direct.amplitude.value, rel=1e-4)
    assert ours.index.error == pytest.approx(direct.index.error, rel=1e-3)
    assert ours.amplitude.error == pytest.approx(direct.amplitude.error, rel=1e-3)


def test_hess_dr1_spectrum_job_agrees_with_gammapy(jobs, service):
    from gammapy.data import DataStore
    from regions import CircleSkyRegion

    from tests.conftest import gammapy_data

    observations = DataStore.from_dir(gammapy_data() / "hess-dl3-dr1").get_observations(HESS_CRAB_RUNS)
    target = SkyCoord(*CRAB, unit="deg")
    direct, _ = direct_fit(observations, target, CircleSkyRegion(target, 0.11 * u.deg),
                           tutorial_axes(observations, n_bins=2), True)
    ours = fitted(service, jobs["hess-dr1"])
    compare("H.E.S.S. DR1 Crab (2 runs)", ours, direct)
    assert 2.4 < ours.index.value < 2.9 and 0.03 < ours.index.error < 0.15


def test_magic_spectrum_job_agrees_with_gammapy(jobs, service, magic_release):
    """MAGIC's tutorial case: point-like IRFs with an energy-dependent cut; the on region is a point,
    events are selected by RAD_MAX, three wobble off regions, the safe range is the IRFs' own LO_THRES
    (no upper one). gammapy's tutorial (no exclusion, 0.05 to 50 TeV) gives 2.3041 +- 0.0454."""
    from gammapy.data import DataStore
    from regions import PointSkyRegion

    observations = DataStore.from_dir(magic_release).get_observations(MAGIC_RUNS, required_irf="point-like")
    target = SkyCoord(*CRAB, unit="deg")
    direct, datasets = direct_fit(observations, target, PointSkyRegion(target),
                                  tutorial_axes(observations, 0.1, 10.0, 4), False)
    assert [d.acceptance_off.data.max() for d in datasets] == [3, 3]  # gammapy's choice kept all three
    ours = fitted(service, jobs["magic"])
    compare("MAGIC Crab", ours, direct, "; gammapy's tutorial 2.3041 +- 0.0454")
    assert abs(ours.index.value - 2.3041) < 0.5 * ours.index.error  # the tutorial's own fit
    assert 0.02 < ours.index.error < 0.1
    log = result(service, jobs["magic"], "log").decode()
    assert "energy-dependent RAD_MAX (up to 0.387 deg)" in log and "Flux point 4/4" in log
    # MAGIC's LO_THRES (0.081, 0.086 TeV): safe from 0.089 TeV on the 20-per-decade axis, where the cut is 0.224 deg
    assert "within the safe energies: up to 0.224 deg" in log and "alpha 0.333" in log


def test_ctao_spectrum_job_agrees_with_gammapy_and_the_simulation(jobs, service, ctao_release):
    from regions import CircleSkyRegion

    from portal.jobs.observations import open_release

    observations = open_release(ctao_release.path).get_observations(CTAO_RUNS)
    target = SkyCoord(*CTAO_CRAB, unit="deg")
    # prod5 has no LO_THRES: the safe range is where the effective area passes 10% of its maximum
    direct, _ = direct_fit(observations, target, CircleSkyRegion(target, 0.11 * u.deg), tutorial_axes(observations),
                           True)
    ours = fitted(service, jobs["ctao-spectrum"])
    compare("simulated CTAO prod5 Crab", ours, direct, "; simulated 2.63, 3.45e-11")
    # the simulation's truth: a power law of index 2.63, 3.45e-11 cm-2 s-1 TeV-1 at 1 TeV
    assert abs(ours.index.value - 2.63) < 3 * ours.index.error
    assert abs(ours.amplitude.value - 3.45e-11) < 3 * ours.amplitude.error


def test_ctao_lightcurve_job(jobs, service):
    watched = jobs["ctao-lightcurve"]
    assert watched.phase == "COMPLETED", watched.error
    table = fits.getdata(io.BytesIO(result(service, watched, "lightcurve")), "FLUXPOINTS")
    assert len(table) == 2 and np.all(table["flux"] > 0)
    flux, error = table["flux"].ravel(), table["flux_err"].ravel()
    assert abs(flux[0] - flux[1]) < 3 * np.hypot(*error)  # a steady source
    assert result(service, watched, "preview")[:4] == b"\x89PNG"


def test_ctao_skymap_job(jobs, service):
    watched = jobs["ctao-skymap"]
    assert watched.phase == "COMPLETED", watched.error
    significance = fits.getdata(io.BytesIO(result(service, watched, "significance")))
    assert significance.shape == (40, 40) and np.nanmax(significance) > 10
    peak = np.unravel_index(np.nanargmax(significance), significance.shape)
    assert abs(peak[0] - 19.5) <= 2 and abs(peak[1] - 19.5) <= 2  # the Crab, at the centre
    assert result(service, watched, "preview")[:4] == b"\x89PNG"


def test_veritas_like_release_analyses(jobs, service, releases):
    """Plain index files and an empty FILE_DIR open; with thresholds spanning the grid every energy is safe, so
    the user starts the fit at MAGIC's own threshold (fit_e_min 0.089 TeV): the fit is MAGIC's, and gammapy's
    with the same choices."""
    from regions import PointSkyRegion

    from portal.jobs.observations import open_release

    like = fitted(service, jobs["magic-veritas-like"])
    magic = fitted(service, jobs["magic"])
    assert like.index.value == pytest.approx(magic.index.value, abs=1e-3)
    assert like.amplitude.value == pytest.approx(magic.amplitude.value, rel=1e-3)
    observations = open_release(releases["magic-veritas-like"]).get_observations(
        [i + 1_000_000 for i in MAGIC_RUNS], required_irf="point-like")
    target = SkyCoord(*CRAB, unit="deg")
    direct, _ = direct_fit(observations, target, PointSkyRegion(target), tutorial_axes(observations, 0.1, 10.0, 4),
                           False, used_from=0.089)
    compare("MAGIC-VERITAS-like (fit from 0.1 TeV)", like, direct)


def test_fixed_rad_max_release_agrees_with_gammapy_and_the_full_enclosure_job(jobs, service, releases):
    """Point-like IRFs with RAD_MAX = 0.11 deg made from DR1 (the effective area times the PSF's containment
    in 0.11 deg): gammapy with the same choices (a 0.11 deg circle, IRFs at its centre, no containment
    correction) gives the job's fit, and the physics is the full-enclosure analysis of the same runs."""
    from regions import CircleSkyRegion

    from portal.jobs.observations import open_release

    point_like = fitted(service, jobs["hess-fixed-rad-max"])
    assert "fixed RAD_MAX cut, 0.110 deg" in result(service, jobs["hess-fixed-rad-max"], "log").decode()
    observations = open_release(releases["hess-fixed-rad-max"]).get_observations(
        [i + 2_000_000 for i in HESS_CRAB_RUNS], required_irf="point-like")
    target = SkyCoord(*CRAB, unit="deg")
    direct, _ = direct_fit(observations, target, CircleSkyRegion(target, 0.11 * u.deg),
                           tutorial_axes(observations, n_bins=2), False)
    full = fitted(service, jobs["hess-dr1"])
    compare("H.E.S.S. fixed RAD_MAX 0.11 deg", point_like, direct,
            f"; full-enclosure job on the same runs {full.index.value:.4f} +- {full.index.error:.4f}")
    assert point_like.index.value == pytest.approx(full.index.value, abs=0.02)
    assert point_like.amplitude.value == pytest.approx(full.amplitude.value, rel=0.03)


def test_field_of_view_follows_the_irfs_extent(magic_release):
    from portal.jobs.observations import (
        check_field_of_view,
        load_observations,
        max_offset,
        target_coord,
    )
    from portal.archive.locate import ObservationLocation
    from portal.uws.definitions import UsageError

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
