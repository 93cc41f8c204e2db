"""The ``exclusion`` choice changes what the background may use: ``none`` leaves the off regions every room
(they still never overlap the on region), circles exclude exactly what they cover, ``auto`` the target and
the known sources."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.coordinates import Angle

from tests.jobs.conftest import CRAB

pytestmark = pytest.mark.requires_data
log = logging.getLogger("tests.jobs.exclusion")


@pytest.fixture(scope="module")
def axes(crab_observations):
    from portal.jobs.binning import binning_of
    from portal.jobs.energy import energy_axes, instrument_range

    return energy_axes(binning_of(1.0, 30.0, 4), instrument_range(crab_observations))[:2]


def reduce(observations, axes, text: str, caplog=None):
    from portal.jobs.choices import parse_exclusion
    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import reduce_around

    return reduce_around(observations, target_coord(*CRAB), Angle(0.11, "deg"), *axes, exclusion=parse_exclusion(text),
                         allow_partial=True, log=log)


def off_regions(reduction) -> dict[int, float]:
    return {int(d.name): float(np.nanmax(d.acceptance_off.data)) for d in reduction.datasets}


def test_none_auto_and_circles(crab_observations, axes, caplog):
    observations = crab_observations[:2]  # the two runs pointed 0.5 deg from the Crab
    with caplog.at_level(logging.INFO, logger=log.name):
        auto = reduce(observations, axes, "auto")
        none = reduce(observations, axes, "none")
    assert "Excluded from the background: nothing (exclusion=none" in caplog.text
    assert "the target within" in caplog.text  # auto: the target and its counterparts
    # with nothing excluded, every run has at least as many reflected regions, and they count as many events
    for obs_id, regions in off_regions(auto).items():
        assert off_regions(none)[obs_id] >= regions
    assert sum(d.counts_off.data.sum() for d in none.datasets) >= sum(d.counts_off.data.sum() for d in auto.datasets)
    assert off_regions(none) != off_regions(auto)  # the target's exclusion (0.11 + 0.3 deg) costs regions
    # the on region's counts do not depend on what the background excludes
    assert [d.counts.data.sum() for d in none.datasets] == [d.counts.data.sum() for d in auto.datasets]
    # a circle over each run's whole field leaves no room for any off region: the job says so for each run
    from portal.uws.definitions import UsageError

    pointings = [o.get_pointing_icrs(o.tmid) for o in observations]
    circles = "; ".join(f"{p.ra.deg:.4f} {p.dec.deg:.4f} 3" for p in pointings)
    with pytest.raises(UsageError, match="23523: no reflected off region fits outside the excluded regions"):
        reduce(observations, axes, circles)
