"""Validation of the spectral analysis on the H.E.S.S. DR1 Crab runs against gammapy used directly."""

from __future__ import annotations

import os

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle, SkyCoord

from tests.jobs.conftest import CRAB

pytestmark = pytest.mark.requires_data


@pytest.fixture(scope="module")
def direct_crab_fit(crab_observations):
    """The same analysis written directly with gammapy: reflected regions, safe range, power-law fit."""
    from gammapy.catalog import SourceCatalogGammaCat, SourceCatalogHGPS
    from gammapy.datasets import Datasets, SpectrumDataset
    from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker
    from gammapy.maps import MapAxis, RegionGeom, WcsGeom
    from gammapy.modeling import Fit
    from gammapy.modeling.models import PowerLawSpectralModel, SkyModel
    from regions import CircleSkyRegion

    target = SkyCoord(*CRAB, unit="deg")
    # gammapy's tutorial binning over the range of the H.E.S.S. effective area: 10 and 20 bins per decade
    energy = MapAxis.from_energy_bounds(0.01, 100, nbin=20, per_decade=True, unit="TeV", name="energy")
    energy_true = MapAxis.from_energy_bounds(0.01, 100, nbin=20, per_decade=True, unit="TeV", name="energy_true")
    on = CircleSkyRegion(target, 0.11 * u.deg)
    # the target and known sources are excluded (0.3 deg beyond their size) where reflected regions may lie;
    # the target's own counterparts (inside the on region, or covering it) are the target's 0.41 deg circle
    reach = 2 * max(obs.get_pointing_icrs(obs.tmid).separation(target) for obs in crab_observations) + 0.61 * u.deg
    excluded = [CircleSkyRegion(target, 0.41 * u.deg)]
    catalogs = os.path.expandvars("$GAMMAPY_DATA/catalogs")
    for cat, size in ((SourceCatalogHGPS(f"{catalogs}/hgps_catalog_v1.fits.gz"), "Size"),
                      (SourceCatalogGammaCat(f"{catalogs}/gammacat/gammacat.fits.gz"), "morph_sigma")):
        sigma = np.nan_to_num(np.ma.filled(cat.table[size].astype(float), np.nan))
        for pos, s in zip(cat.positions, sigma, strict=True):
            separation = pos.separation(target)
            if separation < reach + 1 * u.deg and not (separation < 0.11 * u.deg or separation < s * u.deg):
                excluded.append(CircleSkyRegion(pos, (0.3 + 2 * s) * u.deg))
    mask = ~WcsGeom.create(skydir=target, width=2 * reach, binsz=0.02, frame="icrs").region_mask(excluded)
    empty = SpectrumDataset.create(geom=RegionGeom.create(on, axes=[energy]), energy_axis_true=energy_true)
    maker = SpectrumDatasetMaker(containment_correction=True, use_region_center=False,
                                 selection=["counts", "exposure", "edisp"])
    reflected = ReflectedRegionsBackgroundMaker(exclusion_mask=mask)
    safe = SafeMaskMaker(methods=["aeff-default"])
    datasets = Datasets()
    for obs in crab_observations:
        dataset = maker.run(empty.copy(name=str(obs.obs_id)), obs)
        datasets.append(safe.run(reflected.run(dataset, obs), obs))
    pwl = PowerLawSpectralModel(index=2, amplitude=1e-12 * u.Unit("cm-2 s-1 TeV-1"), reference=1 * u.TeV)
    datasets.models = [SkyModel(spectral_model=pwl, name="crab")]
    result = Fit().run(datasets)
    assert result.success
    return pwl, datasets


def test_crab_power_law_agrees_with_gammapy_used_directly(crab_spectrum, direct_crab_fit):
    result, _ = crab_spectrum
    direct, _ = direct_crab_fit
    fitted = result.model.spectral_model
    # the same choices (IRFs averaged over the on region, as the job does for full-enclosure IRFs): 3 digits at least
    assert fitted.index.value == pytest.approx(direct.index.value, rel=1e-3)
    assert fitted.amplitude.value == pytest.approx(direct.amplitude.value, rel=1e-3)
    assert fitted.index.error == pytest.approx(direct.index.error, rel=1e-2)
    assert fitted.amplitude.unit == u.Unit("cm-2 s-1 TeV-1") and fitted.reference.quantity == 1 * u.TeV
    # the H.E.S.S. Crab: a power law of index about 2.6, 4e-11 cm-2 s-1 TeV-1 at 1 TeV (PSF-containment corrected)
    assert 2.4 < fitted.index.value < 2.9 and 3e-11 < fitted.amplitude.value < 6e-11
    assert 0.03 < fitted.index.error < 0.15


def test_the_reflected_background_matches(crab_spectrum, direct_crab_fit):
    result, _ = crab_spectrum
    _, direct = direct_crab_fit
    for ours, theirs in zip(result.datasets, direct, strict=True):
        assert ours.name == theirs.name
        assert ours.counts.data.sum() == theirs.counts.data.sum()
        assert ours.counts_off.data.sum() == theirs.counts_off.data.sum()
        assert np.array_equal(ours.mask_safe.data, theirs.mask_safe.data)


def test_flux_points_are_gammapys_own_estimate(crab_spectrum):
    """Bin by bin, our flux points are what gammapy's FluxPointsEstimator.run gives (first bin)."""
    from gammapy.estimators import FluxPointsEstimator

    result, _ = crab_spectrum
    edges = result.flux_points.energy_axis.edges[:2]
    theirs = FluxPointsEstimator(energy_edges=edges, source="target", selection_optional="all").run(result.datasets)
    ours = result.flux_points
    for name in ("norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "ts", "stat_scan"):
        np.testing.assert_allclose(getattr(ours, name).data[:1], getattr(theirs, name).data, rtol=1e-4, err_msg=name)
    # computed on its own slice (not after the estimate): within its root search's tolerance (1e-2), measured 2e-5
    np.testing.assert_allclose(ours.norm_sensitivity.data[:1], theirs.norm_sensitivity.data, rtol=1e-3)


def test_without_sensitivity_no_sensitivity_is_computed(crab_spectrum):
    """The default: the flux points keep what the SED needs (errors, upper limits, TS, profiles), no sensitivity."""
    from portal.jobs.fluxpoints import estimate_flux_points
    from portal.jobs.spectrum import SOURCE

    result, _ = crab_spectrum
    seen = []
    points = estimate_flux_points(result.datasets, SOURCE, result.flux_points.energy_axis.edges,
                                  on_flux_point=lambda p, done, total: seen.append(done))
    assert seen == [1, 2, 3, 4] and "norm_sensitivity" not in points.available_quantities
    for name in ("norm", "norm_err", "norm_ul", "ts", "stat_scan"):
        np.testing.assert_allclose(getattr(points, name).data, getattr(result.flux_points, name).data, rtol=1e-6)


def test_flux_points_grow_bin_by_bin(crab_spectrum):
    result, seen = crab_spectrum
    # every bin's estimate, then their sensitivities
    assert [(done, total) for _, done, total in seen] == [(1, 4), (2, 4), (3, 4), (4, 4)] + [(4, 4)] * 4
    final = result.flux_points.norm.data.ravel()
    for points, done, _ in seen:
        # the final energy axis from the first version on; bins not computed yet are NaN, without success
        assert points.energy_axis.nbin == 4
        norm = points.norm.data.ravel()
        np.testing.assert_allclose(norm[:done], final[:done])
        assert np.all(np.isnan(norm[done:])) and not np.any(points.success.data.ravel()[done:])
        np.testing.assert_allclose(points.dnde_ref.data, result.flux_points.dnde_ref.data)
    assert seen[-1][0] is result.flux_points


def test_flux_points_carry_errors_upper_limits_and_profiles(crab_spectrum):
    points = crab_spectrum[0].flux_points
    assert points.sed_type_init == "likelihood"
    # 1 to 30 TeV, its edges snapped to the 10-per-decade binning
    assert points.energy_axis.edges[0].to_value("TeV") == pytest.approx(1.0)
    assert points.energy_axis.edges[-1].to_value("TeV") == pytest.approx(10**1.5)
    assert points.stat_scan.data.shape == (4, 11, 1, 1)
    assert np.all(np.isfinite(points.norm_ul.data))
    assert np.all(points.sqrt_ts.data[:3] > 5)  # the Crab is detected up to 10 TeV
    profile = points.stat_scan.data[0, :, 0, 0]
    assert np.argmin(profile) not in (0, len(profile) - 1)  # the minimum of the profile lies inside the scan


def test_ecpl_and_logparabola_fit(crab_spectrum):
    from portal.jobs.spectrum import fit_spectrum

    datasets = crab_spectrum[0].datasets.copy()
    ecpl, _ = fit_spectrum(datasets, "ecpl")
    assert ecpl.spectral_model.tag[0] == "ExpCutoffPowerLawSpectralModel"
    lp, _ = fit_spectrum(datasets, "lp")
    assert lp.spectral_model.tag[0] == "LogParabolaSpectralModel"
    assert 1.7 < lp.spectral_model.alpha.value < 3.0 and lp.spectral_model.beta.error > 0  # alpha 1.98 +- 0.25


def test_model_file_keeps_values_errors_and_covariance(crab_spectrum, tmp_path):
    from gammapy.modeling.models import Models

    from portal.jobs.spectrum import read_model, write_model

    result, _ = crab_spectrum
    path = write_model(result.datasets.models, result.fit, tmp_path / "model.yaml", extra={"spectral_model": "pl"})
    plain = Models.read(path)  # gammapy reads it as it is
    index = plain["target"].spectral_model.index
    assert index.value == pytest.approx(result.model.spectral_model.index.value)
    assert index.error == pytest.approx(result.model.spectral_model.index.error)
    restored = read_model(path)
    free = result.datasets.models.parameters.free_parameters
    expected = result.datasets.models.covariance.get_subcovariance(free).data
    got = restored.covariance.get_subcovariance(restored.parameters.free_parameters).data
    np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert expected[0, 1] != 0  # index and amplitude are correlated


def test_on_region_must_lie_in_every_field_of_view(crab_observations):
    from portal.jobs.observations import check_field_of_view, target_coord
    from portal.uws.definitions import UsageError

    far = target_coord(83.633, 24.0)  # 2 deg north of the Crab: 2.48 deg from three of the pointings
    expected = r"outside the field of view of observation\(s\) 23523 .*23559 .*23592 "
    with pytest.raises(UsageError, match=expected) as err:
        check_field_of_view(crab_observations, far, Angle(0.11, "deg"))
    assert "23526" not in str(err.value)
    check_field_of_view(crab_observations, target_coord(*CRAB), Angle(0.11, "deg"))


def test_without_containment_correction_the_issues_reference_run_is_found(crab_observations, crab_spectrum):
    """The issue quotes a direct gammapy run without PSF containment correction: index 2.59 +- 0.06 and
    2.70e-11 cm-2 s-1 TeV-1 at 1 TeV. The same runs with ``containment_correction=false`` agree with it;
    the corrected default is brighter by the inverse of the PSF's containment in 0.11 deg. (This analysis
    differs in small choices, safe range and binning, from that run: agreement within the errors.)"""
    import logging

    from portal.jobs.binning import binning_of
    from portal.jobs.energy import energy_axes, instrument_range
    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import reduce_around
    from portal.jobs.spectrum import fit_spectrum

    log = logging.getLogger("tests.jobs.uncorrected")
    # the portal's earlier 10-per-decade binning, with which it was checked against that run
    reco, true, _ = energy_axes(binning_of(1.0, 30.0, 8, per_decade=10), instrument_range(crab_observations))
    datasets = reduce_around(crab_observations, target_coord(*CRAB), Angle(0.11, "deg"), reco, true,
                             containment_correction=False, log=log).datasets
    model, fit = fit_spectrum(datasets, "pl", log=log)
    pl = model.spectral_model
    assert fit.success
    # within one combined standard deviation (the quoted errors and this fit's)
    assert abs(pl.index.value - 2.59) < np.hypot(0.06, pl.index.error)
    assert abs(pl.amplitude.value - 2.70e-11) < pl.amplitude.error
    assert pl.amplitude.error < 0.1 * pl.amplitude.value
    corrected = crab_spectrum[0].model.spectral_model
    assert 1.3 < corrected.amplitude.value / pl.amplitude.value < 1.8
