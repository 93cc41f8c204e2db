"""MAGIC's energy-dependent cut: the target's exclusion and the reconstructed axis follow the cut within the
safe energies, so that the three wobble off regions of gammapy's MAGIC tutorial are kept."""

from __future__ import annotations

import logging

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import Angle

from tests.data.conftest import CRAB

pytestmark = pytest.mark.requires_data

MAGIC_RUNS = [5029747, 5029748]
log = logging.getLogger("tests.data.magic")


@pytest.fixture(scope="module")
def magic(magic_release):
    from portal.jobs.observations import load_observations, target_coord
    from portal.archive.locate import ObservationLocation

    observations, _ = load_observations([ObservationLocation(i, magic_release, "Crab", 0, 0) for i in MAGIC_RUNS])
    return observations, target_coord(*CRAB)


def _axes(observations):
    from portal.jobs.binning import binning_of
    from portal.jobs.energy import energy_axes, instrument_range

    return energy_axes(binning_of(0.1, 10.0, 4), instrument_range(observations))


def test_the_cut_within_the_safe_energies(magic):
    from portal.jobs.cuts import cut_in_range

    observations, target = magic
    reco, _, _ = _axes(observations)
    assert reco.edges[0].to_value("TeV") == pytest.approx(0.01)  # the instrument's range
    for obs in observations:
        assert cut_in_range(obs, target, reco.edges_min, reco.edges_max).deg == pytest.approx(0.3873, abs=1e-4)
        above = reco.edges_min >= 0.0999 * u.TeV  # MAGIC's LO_THRES is 0.081 and 0.086 TeV: safe from 0.1 TeV
        assert cut_in_range(obs, target, reco.edges_min[above], reco.edges_max[above]).deg == pytest.approx(
            0.1732, abs=1e-4)


def test_three_wobble_off_regions_and_nothing_lost(magic, caplog):
    from gammapy.datasets import SpectrumDataset
    from gammapy.makers import (
        ReflectedRegionsBackgroundMaker,
        SafeMaskMaker,
        SpectrumDatasetMaker,
        WobbleRegionsFinder,
    )
    from gammapy.maps import RegionGeom
    from regions import PointSkyRegion

    from portal.jobs.onoff import reduce_around

    observations, target = magic
    reco, true, edges = _axes(observations)
    with caplog.at_level(logging.INFO, logger=log.name):
        reduction = reduce_around(observations, target, Angle(0.11, "deg"), reco, true, keep_edges=edges, log=log)
    # MAGIC's LO_THRES (0.081, 0.086 TeV): safe from 0.089 TeV on the 20-per-decade axis, where the cut is 0.224 deg
    assert "within the safe energies: up to 0.224 deg" in caplog.text
    assert "the target within 0.52 deg" in caplog.text  # 0.224 + 0.3, not 0.387 + 0.3
    assert reduction.left_out == {}
    empty = SpectrumDataset.create(geom=RegionGeom.create(PointSkyRegion(target), axes=[reco]), energy_axis_true=true)
    maker = SpectrumDatasetMaker(containment_correction=False, use_region_center=True,
                                 selection=["counts", "exposure", "edisp"])
    for dataset, obs in zip(reduction.datasets, observations, strict=True):
        axis = dataset.counts.geom.axes["energy"]
        assert axis.edges[0].to_value("TeV") == pytest.approx(10 ** -1.05) and axis.edges[-1] == reco.edges[-1]
        assert all(np.isclose(axis.edges.to_value("TeV"), e).any() for e in edges.to_value("TeV"))
        np.testing.assert_allclose(dataset.alpha.data.ravel(), 1 / 3)  # the three regions of the tutorial
        # on the instrument's whole axis the same safe bins hold the same events: trimming lost nothing
        full = SafeMaskMaker(methods=["aeff-default"]).run(maker.run(empty.copy(name="full"), obs), obs)
        safe = full.mask_safe.data.ravel()
        assert reco.edges[:-1][safe][0].to_value("TeV") == pytest.approx(10 ** -1.05)  # 0.089 TeV
        np.testing.assert_array_equal(dataset.counts.data.ravel()[dataset.mask_safe.data.ravel()],
                                      full.counts.data.ravel()[safe])
        # and why the axis is trimmed: on the whole axis gammapy finds the three regions overlapping (2 x 0.387
        # deg at 10 GeV), and gives no off region at all
        wobble = ReflectedRegionsBackgroundMaker(region_finder=WobbleRegionsFinder(n_off_regions=3))
        assert wobble.run(full, obs).counts_off is None


def test_the_energies_used_bound_the_cut_and_the_axis(magic):
    from gammapy.datasets import SpectrumDataset
    from gammapy.maps import RegionGeom
    from regions import PointSkyRegion

    from portal.jobs.cuts import safe_cuts, trimmed_axis
    from portal.jobs.safe import SafeRange

    observations, target = magic
    reco, true, edges = _axes(observations)
    empty = SpectrumDataset.create(geom=RegionGeom.create(PointSkyRegion(target), axes=[reco]), energy_axis_true=true)
    every = safe_cuts(observations, target, empty, SafeRange())
    assert every.cut.deg == pytest.approx(0.2236, abs=1e-4)
    assert reco.edges[every.first].to_value("TeV") == pytest.approx(10 ** -1.05) and every.last == reco.nbin - 1
    # a fit from 1 TeV with flux points from 1 TeV: the cut there (0.1 deg, 0.141 deg above 40 TeV)
    high = safe_cuts(observations, target, empty, SafeRange(), energy_range=(1.0, None))
    assert high.cut.deg == pytest.approx(0.1414, abs=1e-4)
    assert trimmed_axis(reco, high).edges[0].to_value("TeV") == pytest.approx(1.0)
    assert trimmed_axis(reco, high, keep=edges).edges[0].to_value("TeV") == pytest.approx(0.1)  # the points' edges
    assert trimmed_axis(reco, high).edges[-1] == reco.edges[-1]
