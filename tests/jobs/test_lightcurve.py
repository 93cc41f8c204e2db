"""PKS 2155-304 light curve (H.E.S.S. DR1) against the same analysis with gammapy used directly."""

from __future__ import annotations

import logging
from itertools import groupby

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.time import Time

from tests.jobs.conftest import PKS2155, PKS2155_RUNS

pytestmark = pytest.mark.requires_data


@pytest.fixture(scope="module")
def pks_observations(data_store):
    return data_store.get_observations(PKS2155_RUNS, required_irf=["aeff", "edisp"])


@pytest.fixture(scope="module")
def pks_lightcurve(pks_observations):
    from portal.jobs.lightcurve import analyse_lightcurve
    from portal.jobs.observations import target_coord

    return analyse_lightcurve(pks_observations, target_coord(*PKS2155), e_min=0.7, e_max=100.0, time_bin="run",
                              log=logging.getLogger("tests.jobs.pks"))


@pytest.fixture(scope="module")
def direct_datasets(pks_observations):
    """PKS 2155-304 reduced and fitted directly with gammapy (gammapy's tutorial binning, 10 and 20 per decade
    over the range of the H.E.S.S. effective area)."""
    from gammapy.catalog import SourceCatalogGammaCat
    from gammapy.datasets import Datasets, SpectrumDataset
    from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
    from gammapy.maps import MapAxis, RegionGeom, WcsGeom
    from gammapy.modeling import Fit
    from gammapy.modeling.models import PowerLawSpectralModel, SkyModel
    from regions import CircleSkyRegion

    target = SkyCoord(*PKS2155, unit="deg")
    energy = MapAxis.from_energy_bounds(0.01, 100, nbin=20, per_decade=True, unit="TeV", name="energy")
    energy_true = MapAxis.from_energy_bounds(0.01, 100, nbin=20, per_decade=True, unit="TeV", name="energy_true")
    reach = 2 * max(o.get_pointing_icrs(o.tmid).separation(target) for o in pks_observations) + 0.61 * u.deg
    excluded = [CircleSkyRegion(target, 0.41 * u.deg)]
    gammacat = SourceCatalogGammaCat("$GAMMAPY_DATA/catalogs/gammacat/gammacat.fits.gz")
    for pos, sigma in zip(gammacat.positions, np.ma.filled(gammacat.table["morph_sigma"], 0), strict=True):
        if pos.separation(target) < reach + 1 * u.deg:
            excluded.append(CircleSkyRegion(pos, (0.3 + 2 * sigma) * u.deg))
    mask = ~WcsGeom.create(skydir=target, width=2 * reach, binsz=0.02, frame="icrs").region_mask(excluded)
    on = CircleSkyRegion(target, 0.11 * u.deg)
    empty = SpectrumDataset.create(geom=RegionGeom.create(on, axes=[energy]), energy_axis_true=energy_true)
    maker = SpectrumDatasetMaker(containment_correction=True, use_region_center=False,
                                 selection=["counts", "exposure", "edisp"])
    datasets = Datasets()
    for obs in pks_observations:
        dataset = ReflectedRegionsBackgroundMaker(exclusion_mask=mask).run(maker.run(empty.copy(name=str(obs.obs_id)),
                                                                                     obs), obs)
        datasets.append(SafeMaskMaker(methods=["aeff-default"]).run(dataset, obs))
    pwl = PowerLawSpectralModel(index=3, amplitude=1e-11 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
    datasets.models = [SkyModel(spectral_model=pwl, name="pks2155")]
    assert Fit().run(datasets).success
    return datasets


def _direct_lightcurve(datasets, time_intervals=None):
    from gammapy.estimators import LightCurveEstimator

    # gammapy groups the bins nearest to 0.7 and 100 TeV: from 0.708 TeV
    estimator = LightCurveEstimator(energy_edges=[0.7, 100] * u.TeV, source="pks2155", time_intervals=time_intervals,
                                    selection_optional=["errn-errp", "ul"])
    return estimator.run(datasets)


def test_run_by_run_light_curve_agrees_with_gammapy_used_directly(pks_lightcurve, direct_datasets):
    ours = pks_lightcurve.lightcurve.to_table(sed_type="flux", format="lightcurve")
    theirs = _direct_lightcurve(direct_datasets).to_table(sed_type="flux", format="lightcurve")
    assert len(ours) == len(theirs) == len(PKS2155_RUNS)
    np.testing.assert_allclose(ours["time_min"], theirs["time_min"])
    for name in ("flux", "flux_err", "flux_errn", "flux_errp", "flux_ul"):
        np.testing.assert_allclose(ours[name].data.ravel(), theirs[name].data.ravel(), rtol=1e-3, err_msg=name)
    assert list(ours["is_ul"].data.ravel()) == list(theirs["is_ul"].data.ravel())
    assert ours["flux"].unit == u.Unit("cm-2 s-1")
    assert ours["e_min"].quantity[0].to_value("TeV") == pytest.approx(10**-0.15)  # 0.7 TeV snapped to the binning
    np.testing.assert_allclose(ours["e_min"].quantity, theirs["e_min"].quantity)


def test_the_2006_flare_stands_out(pks_lightcurve):
    flux = pks_lightcurve.lightcurve.flux.data.ravel()
    flare, quiet = flux[:2], flux[2:]
    assert flare.min() > 10 * quiet.max()  # July 2006: more than ten times the 2008 flux above 0.7 TeV
    index = pks_lightcurve.model.spectral_model.index
    assert 3.0 < index.value < 3.7  # PKS 2155-304 is soft


def test_night_intervals_follow_the_local_date(pks_observations):
    from portal.jobs.lightcurve import night_intervals

    nights = night_intervals(pks_observations)
    assert len(nights) == 3
    first_start, first_stop = nights[0]
    assert first_start.isot.startswith("2006-07-29T20:25") and first_stop < Time("2006-07-30T12:00:00")
    # each night holds its runs (the flare night spans two 28-minute runs)
    assert (first_stop - first_start).to_value("h") == pytest.approx(0.95, abs=0.05)


def test_night_by_night_light_curve_agrees_with_gammapy_used_directly(pks_observations, direct_datasets, tmp_path,
                                                                     dr1):
    """The job adapter end to end (local context) for nights; gammapy directly with noon-to-noon nights."""
    from gammapy.estimators import FluxPoints

    from portal.jobs import lightcurve
    from tests.jobs.local_context import LocalContext

    ctx = LocalContext(dr1, tmp_path / "job")
    lightcurve.run(ctx, {"obs_ids": PKS2155_RUNS, "ra": PKS2155[0], "dec": PKS2155[1], "on_radius": 0.11,
                         "e_min": 0.7, "e_max": 100.0, "time_bin": "night"})
    assert set(ctx.published) == {"model", "lightcurve", "preview", "inputs"}
    ours = FluxPoints.read(ctx.published["lightcurve"][-1], format="lightcurve")
    noon = [Time(d) for d in ("2006-07-29T12:00", "2006-07-30T12:00", "2008-08-27T12:00", "2008-08-28T12:00",
                              "2008-08-29T12:00")]
    intervals = [(noon[0], noon[1]), (noon[2], noon[3]), (noon[3], noon[4])]
    theirs = _direct_lightcurve(direct_datasets, intervals)
    np.testing.assert_allclose(ours.flux.data.ravel(), theirs.flux.data.ravel(), rtol=1e-3)
    np.testing.assert_allclose(ours.flux_err.data.ravel(), theirs.flux_err.data.ravel(), rtol=1e-3)
    assert ctx.published["preview"][-1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    roles = {role for _, role, _ in ctx.inputs}
    assert roles == {"index", "dl3", "catalog"}
    assert {attrs.get("obs_id") for _, role, attrs in ctx.inputs if role == "dl3"} == set(PKS2155_RUNS)
    # where the job said it was, in order: observations and time bins counted as each one ends
    stages = [stage for stage, _ in groupby(stage for stage, _, _ in ctx.stages)]
    assert stages == ["opening observations", "reducing", "fitting", "light-curve bins", "saving results"]
    assert [(done, total) for stage, done, total in ctx.stages if stage == "reducing"] == [(i, 4) for i in range(5)]
    assert [(done, total) for stage, done, total in ctx.stages if stage == "light-curve bins"] == [
        (i, 3) for i in range(4)]
