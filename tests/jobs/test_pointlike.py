"""Point-like IRFs (RAD_MAX): the on region comes from the IRFs, without containment correction.

DR1 ships full-enclosure IRFs only, so the point-like observations here are built from DR1 runs
with gammapy: the same events, an effective area flagged point-like with a RAD_MAX cut.
"""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle

from tests.jobs.conftest import CRAB

pytestmark = pytest.mark.requires_data

log = logging.getLogger("tests.jobs.pointlike")


def _pointlike(obs, rad_max=None, cut=0.11):
    from gammapy.data import Observation
    from gammapy.irf import EffectiveAreaTable2D

    aeff = EffectiveAreaTable2D(axes=obs.aeff.axes, data=obs.aeff.data, unit=obs.aeff.unit,
                                meta={**obs.aeff.meta, "RAD_MAX": cut}, is_pointlike=True)
    return Observation(obs_id=obs.obs_id, pointing=obs.pointing, gti=obs.gti, aeff=aeff, edisp=obs.edisp,
                       events=obs.events, location=obs.observatory_earth_location, rad_max=rad_max)


def _axes():
    from portal.jobs.binning import binning_of
    from portal.jobs.energy import energy_axes

    return energy_axes(binning_of(1.0, 30.0, 4), (0.01, 100.0))[:2]


def test_a_fixed_rad_max_sets_the_on_radius(crab_observations, caplog):
    from gammapy.data import Observations

    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import reduce_around

    target = target_coord(*CRAB)
    observations = Observations([_pointlike(o, cut=0.1) for o in crab_observations[:2]])
    with caplog.at_level(logging.INFO, logger=log.name):
        datasets = reduce_around(observations, target, Angle(0.2, "deg"), *_axes(), log=log).datasets
    assert "fixed RAD_MAX cut, 0.100 deg (on_radius ignored)" in caplog.text
    for dataset, obs in zip(datasets, observations, strict=True):
        assert dataset.counts.geom.region.radius.to_value("deg") == pytest.approx(0.1)
        events = obs.events.select_energy(dataset.counts.geom.axes["energy"].bounds)
        assert dataset.counts.data.sum() == np.sum(events.radec.separation(target) < 0.1 * u.deg)
        # exposure is the point-like effective area as given: no PSF containment factor applied
        energy = dataset.exposure.geom.axes["energy_true"].center
        offset = obs.get_pointing_icrs(obs.tmid).separation(target)
        expected = obs.aeff.evaluate(energy_true=energy, offset=offset) * obs.observation_live_time_duration
        np.testing.assert_allclose(dataset.exposure.quantity.ravel().to_value("m2 s"),
                                   expected.to_value("m2 s"), rtol=1e-6)


def test_an_energy_dependent_rad_max_uses_point_regions_and_wobble_off_regions(crab_observations, caplog):
    from gammapy.data import Observations
    from gammapy.irf import RadMax2D
    from gammapy.maps import MapAxis
    from regions import PointSkyRegion

    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import WOBBLE_OFF_REGIONS, reduce_around
    from portal.jobs.spectrum import fit_spectrum

    energy = MapAxis.from_energy_bounds(0.1, 100, 6, unit="TeV")
    offset = MapAxis.from_bounds(0, 3, 1, unit="deg", name="offset")
    cuts = RadMax2D(axes=[energy, offset], data=np.linspace(0.2, 0.08, 6)[:, None], unit="deg")
    observations = Observations([_pointlike(o, rad_max=cuts) for o in crab_observations[:2]])
    with caplog.at_level(logging.INFO, logger=log.name):
        datasets = reduce_around(observations, target_coord(*CRAB), Angle(0.11, "deg"), *_axes(), log=log).datasets
    assert "energy-dependent RAD_MAX (up to 0.200 deg)" in caplog.text
    for dataset in datasets:
        assert isinstance(dataset.counts.geom.region, PointSkyRegion)
        assert dataset.acceptance_off.data.max() == WOBBLE_OFF_REGIONS
        assert dataset.info_dict()["sqrt_ts"] > 10  # the Crab
    model, _ = fit_spectrum(datasets, "pl", log=log)
    assert 2.0 < model.spectral_model.index.value < 3.2


def test_point_like_and_full_enclosure_do_not_mix(crab_observations):
    from gammapy.data import Observations

    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import on_region
    from portal.uws.definitions import UsageError

    mixed = Observations([_pointlike(crab_observations[0]), crab_observations[1]])
    with pytest.raises(UsageError, match="23523 have point-like IRFs and 23526 full-enclosure IRFs"):
        on_region(mixed, target_coord(*CRAB), Angle(0.11, "deg"))


def test_full_enclosure_without_a_psf_is_a_usage_error(crab_observations):
    from gammapy.data import Observation

    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import on_region
    from portal.uws.definitions import UsageError

    obs = crab_observations[0]
    no_psf = Observation(obs_id=obs.obs_id, pointing=obs.pointing, gti=obs.gti, aeff=obs.aeff, edisp=obs.edisp,
                         events=obs.events, location=obs.observatory_earth_location)
    with pytest.raises(UsageError, match="Observation\\(s\\) 23523 have full-enclosure IRFs but no PSF"):
        on_region([no_psf, crab_observations[1]], target_coord(*CRAB), Angle(0.11, "deg"))
    assert on_region(crab_observations, target_coord(*CRAB), Angle(0.11, "deg")).containment_correction
