"""The analysis choices that are more than one parameter's rule: the exclusion, the stacking rule, the
sanity bounds of a fit, the fixed safe threshold."""

from __future__ import annotations

import math

import pytest

from portal.jobs.choices import (
    STACK_LOW_COUNTS,
    STACK_MANY_RUNS,
    Circle,
    ExclusionChoice,
    parse_exclusion,
    should_stack,
)
from portal.uws.params import ParameterError


def test_exclusion_choices():
    assert parse_exclusion(None) == ExclusionChoice("auto")
    assert parse_exclusion(" NONE ") == ExclusionChoice("none")
    choice = parse_exclusion("83.63 22.01 0.3; 84.4, 21.1, 0.2;")
    assert choice == ExclusionChoice("circles", (Circle(83.63, 22.01, 0.3), Circle(84.4, 21.1, 0.2)))
    assert "radius 0.3 deg" in choice.describe()
    for bad, message in (("83 22", "is not a circle"), ("a b c", "is not a circle"), ("83 95 0.1", "-90 <= dec"),
                         ("83 22 0", "0 < radius"), ("83 22 nan", "not finite"), (";", "at least one circle")):
        with pytest.raises(ParameterError, match=message):
            parse_exclusion(bad)


def test_the_stacking_rule():
    many = [100.0] * (STACK_MANY_RUNS + 1)
    assert should_stack("auto", many).stack and "more than" in should_stack("auto", many).reason
    assert not should_stack("auto", [100.0] * STACK_MANY_RUNS).stack
    low = [STACK_LOW_COUNTS / 2] * 3 + [50.0] * 2  # the median run has few counts per bin
    decision = should_stack("auto", low)
    assert decision.stack and "median run" in decision.reason
    assert not should_stack("auto", [STACK_LOW_COUNTS * 2] * 4).stack
    assert not should_stack("auto", [0.1]).stack  # one run: nothing to stack
    assert should_stack("true", [100.0, 100.0]).stack and not should_stack("false", many).stack


def test_sanity_bounds_catch_what_no_source_has():
    pytest.importorskip("gammapy")
    from gammapy.modeling.models import LogParabolaSpectralModel, PowerLawSpectralModel

    from portal.jobs.sanity import loose, problems

    crab = LogParabolaSpectralModel(alpha=2.39, beta=0.16)
    for par, error in zip(crab.parameters.free_parameters, (0.3e-11, 0.18, 0.10), strict=True):
        par.error = error
    crab.amplitude.value = 4.47e-11
    assert problems(crab.parameters.free_parameters) == []
    fact = LogParabolaSpectralModel(alpha=1.30, beta=5.99 / math.log(10))  # FACT's 125 runs, unstacked
    for par, error in zip(fact.parameters.free_parameters, (1e-13, 0.51, 0.5), strict=True):
        par.error = error
    found = problems(fact.parameters.free_parameters)
    assert len(found) == 1 and "beta 2.6" in found[0] and "5.99" in found[0] and "log10" in found[0]
    weak = PowerLawSpectralModel(index=2.5)
    weak.index.error, weak.amplitude.error = 3.0, 1e-13
    # a weak source: not a spectrum no source has (the job goes on, saying so), but a sign to stack under auto
    assert problems(weak.parameters.free_parameters) == []
    assert "error larger than its value" in loose(weak.parameters.free_parameters)[0]


@pytest.mark.requires_data
def test_a_fixed_threshold_keeps_the_bins_wholly_above_it():
    import os

    import astropy.units as u
    from gammapy.data import DataStore
    from gammapy.datasets import SpectrumDataset
    from gammapy.makers import SpectrumDatasetMaker
    from gammapy.maps import MapAxis, RegionGeom
    from regions import CircleSkyRegion

    from portal.jobs.observations import target_coord
    from portal.jobs.safe import SafeRange
    from portal.uws.definitions import UsageError

    obs = DataStore.from_dir(os.environ["GAMMAPY_DATA"] + "/hess-dl3-dr1").obs(23523)
    axis = MapAxis.from_energy_bounds(0.1, 100, 60, unit="TeV")  # 20 per decade
    geom = RegionGeom.create(CircleSkyRegion(target_coord(83.63, 22.01), 0.11 * u.deg), axes=[axis])
    dataset = SpectrumDatasetMaker().run(SpectrumDataset.create(geom=geom), obs)
    fixed = SafeRange("fixed", e_threshold=0.4).apply(dataset.copy(), obs)
    kept = axis.edges_min[fixed.mask_safe.data.ravel()]
    assert kept.min().to_value("TeV") == pytest.approx(10 ** (-7 / 20))  # 0.447: the bin from 0.398 is not wholly above
    assert kept.max() == axis.edges_min[-1]  # no upper threshold
    thresholds = SafeRange("thresholds").apply(dataset.copy(), obs)
    assert axis.edges_min[thresholds.mask_safe.data.ravel()].min() > 0.8 * u.TeV  # the IRF's own 0.87 TeV
    with pytest.raises(UsageError, match="needs e_threshold"):
        SafeRange("fixed").apply(dataset.copy(), obs)


def test_a_joint_fit_refuses_the_same_run_in_two_jobs():
    pytest.importorskip("gammapy")
    from portal.jobs.joint import check_distinct_runs
    from portal.uws.definitions import UsageError

    check_distinct_runs([{"job_id": "a", "obs_ids": "23523,23526"}, {"job_id": "b", "obs_ids": "5029747,5029748"}])
    check_distinct_runs([{"job_id": "a", "obs_ids": "dr1/23523"}, {"job_id": "b", "obs_ids": "other/23523"}])
    for second in ("23526,23559", "dr1/23526", "23526"):
        with pytest.raises(UsageError, match="Observation 23526 was analysed by both job a and job b"):
            check_distinct_runs([{"job_id": "a", "obs_ids": "dr1/23523,dr1/23526"},
                                 {"job_id": "b", "obs_ids": second}])
