"""Analyses that cannot work end with a message a person understands (UsageError / FatalError)."""

from __future__ import annotations

import logging

import pytest

from portal.archive.locate import ObservationLocation
from portal.uws.definitions import FatalError, UsageError
from tests.jobs.conftest import CRAB, CRAB_RUNS, PKS2155


log = logging.getLogger("tests.jobs.errors")


@pytest.mark.requires_data
def test_an_obs_id_missing_from_its_release(dr1):
    from portal.jobs.observations import load_observations

    with pytest.raises(UsageError, match="Observation 99999 is not in its release hess-dl3-dr1"):
        load_observations([ObservationLocation(23523, dr1), ObservationLocation(99999, dr1)])


def test_no_observation_at_all():
    from portal.jobs.observations import load_observations

    with pytest.raises(UsageError, match="No observations were given"):
        load_observations([])


@pytest.mark.requires_data
def test_observations_too_far_from_the_target(crab_observations):
    from portal.jobs.observations import target_coord
    from portal.jobs.spectrum import analyse_spectrum

    with pytest.raises(UsageError, match=r"target \(RA 329.717 deg, Dec -30.226 deg\) is outside the field of view"):
        analyse_spectrum(crab_observations, target_coord(*PKS2155), log=log)


@pytest.mark.requires_data
def test_a_map_no_observation_reaches(crab_observations):
    from portal.jobs.observations import target_coord
    from portal.jobs.skymap import make_maps

    with pytest.raises(UsageError, match="No observation's field of view reaches the 2 deg map"):
        make_maps(crab_observations, target_coord(*PKS2155), width=2.0, log=log)


@pytest.mark.requires_data
def test_target_at_the_pointing_position_has_no_reflected_region(data_store):
    from portal.jobs.observations import pointing, target_coord
    from portal.jobs.spectrum import analyse_spectrum

    observations = data_store.get_observations([23526], required_irf=["aeff", "edisp"])
    centre = pointing(observations[0]).icrs
    with pytest.raises(UsageError, match="None of the 1 observation.* could be used: 23526: no reflected off region"):
        analyse_spectrum(observations, target_coord(centre.ra.deg, centre.dec.deg), log=log)


@pytest.mark.requires_data
def test_no_event_in_the_on_region(data_store):
    from portal.jobs.observations import target_coord
    from portal.jobs.spectrum import analyse_spectrum

    observations = data_store.get_observations(CRAB_RUNS[:2], required_irf=["aeff", "edisp"])
    # 0.5 deg east of the Crab, 0.68 deg from both pointings: not one event within 0.03 deg
    with pytest.raises(UsageError, match=r"No event in the on region \(0.03 deg around \(RA 84.133"):
        analyse_spectrum(observations, target_coord(84.133, 22.014), on_radius=0.03, log=log)


@pytest.mark.requires_data
def test_a_fit_that_does_not_converge(crab_spectrum):
    from portal.jobs.spectrum import fit_spectrum

    datasets = crab_spectrum[0].datasets.copy()
    with pytest.raises(FatalError, match="The log-parabola fit did not converge .*Try another spectral model"):
        fit_spectrum(datasets, "lp", optimize_opts={"migrad_opts": {"ncall": 3}}, log=log)


def test_an_unknown_spectral_model():
    from portal.jobs.spectrum import spectral_model

    with pytest.raises(ValueError, match="choose one of pl, ecpl, lp"):
        spectral_model("broken")


@pytest.mark.requires_data
def test_a_time_bin_that_does_not_exist(crab_observations):
    from portal.jobs.lightcurve import analyse_lightcurve
    from portal.jobs.observations import target_coord

    with pytest.raises(UsageError, match="time_bin must be 'run' or 'night'"):
        analyse_lightcurve(crab_observations, target_coord(*CRAB), time_bin="week", log=log)
