"""portal.jobs.fastpaths: gammapy's fits and flux points give the same values, bit for bit, with and without
the fast paths, and gammapy is as it was after the block."""

from __future__ import annotations

import logging
import sys

import numpy as np
import pytest

from tests.jobs.conftest import CRAB


@pytest.fixture(scope="module")
def reduced(crab_observations):
    """The Crab's four on/off spectra, as the spectrum job reduces them (no models)."""
    from portal.jobs.binning import binning_of
    from portal.jobs.observations import target_coord
    from portal.jobs.onoff import OnOffOptions, reduce_1d

    binning = binning_of(1.0, 30.0, 4, None, None, 20)
    reduction, edges = reduce_1d(crab_observations, target_coord(*CRAB), binning, OnOffOptions(), None, 1, None,
                                 logging.getLogger("tests.jobs.fastpaths"))
    return reduction.datasets, binning, edges


def _fit_and_points(reduced, kind: str, fast: bool):
    from gammapy.datasets import Datasets

    from portal.jobs.binning import EnergyBinning
    from portal.jobs.energy import set_fit_range
    from portal.jobs.fastpaths import fast_statistics
    from portal.jobs.fluxpoints import estimate_flux_points
    from portal.jobs.spectrum import SOURCE, fit_spectrum

    datasets, binning, edges = reduced
    datasets = Datasets([d.copy(name=d.name) for d in datasets])
    set_fit_range(datasets, binning)

    def analyse():
        model, fit = fit_spectrum(datasets, kind)
        fitted = [(p.name, p.value, p.error) for p in model.spectral_model.parameters]
        set_fit_range(datasets, EnergyBinning(binning.points, per_decade=binning.per_decade))
        points = estimate_flux_points(datasets, SOURCE, edges)
        return fitted, fit.total_stat, points.to_table(sed_type="likelihood", format="gadf-sed")

    if not fast:
        return analyse()
    with fast_statistics():
        return analyse()


@pytest.mark.requires_data
@pytest.mark.parametrize("kind", ["pl", "lp"])
def test_fit_and_flux_points_equal_gammapy_bit_for_bit(reduced, kind):
    plain_fit, plain_stat, plain_points = _fit_and_points(reduced, kind, fast=False)
    fast_fit, fast_stat, fast_points = _fit_and_points(reduced, kind, fast=True)
    assert fast_fit == plain_fit  # values and errors
    assert fast_stat == plain_stat
    assert plain_points.colnames == fast_points.colnames
    for name in plain_points.colnames:
        assert np.array_equal(np.asarray(plain_points[name]), np.asarray(fast_points[name]),
                              equal_nan=plain_points[name].dtype.kind == "f"), name


def test_the_statistic_counts_priors_as_gammapy_does():
    from gammapy.datasets import Datasets, SpectrumDataset
    from gammapy.maps import MapAxis, RegionGeom
    from gammapy.modeling.models import GaussianPrior, PowerLawSpectralModel, SkyModel

    from portal.jobs.fastpaths import fast_statistics

    axis = MapAxis.from_energy_bounds(1, 10, 4, unit="TeV")
    geom = RegionGeom.create("icrs;circle(83.63,22.01,0.1)", axes=[axis])
    dataset = SpectrumDataset.create(geom=geom, energy_axis_true=axis.copy(name="energy_true"), name="a")
    dataset.exposure.data += 1e10
    dataset.counts.data += 3
    model = SkyModel(spectral_model=PowerLawSpectralModel(), name="s")
    model.spectral_model.index.prior = GaussianPrior(mu=2.3, sigma=0.1)
    datasets = Datasets([dataset])
    datasets.models = [model]
    plain = datasets.stat_sum()
    with fast_statistics():
        fast = datasets.stat_sum()
    assert fast == plain and model.spectral_model.index.prior_stat_sum() > 0


def test_gammapy_is_restored_after_the_block_and_blocks_nest():
    from gammapy.datasets import Datasets
    from gammapy.maps import Map

    from portal.jobs.fastpaths import fast_statistics

    arithmetics, stat_sum, ray = Map._arithmetics, Datasets.stat_sum, sys.modules.get("ray", "absent")
    with fast_statistics():
        with fast_statistics():
            assert Map._arithmetics is not arithmetics
        assert Map._arithmetics is not arithmetics  # the outer block still holds them
    assert (Map._arithmetics, Datasets.stat_sum, sys.modules.get("ray", "absent")) == (arithmetics, stat_sum, ray)
