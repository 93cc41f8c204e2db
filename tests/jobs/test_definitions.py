"""The job definitions: the DESIGN contract, light imports, importable run functions."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from portal.jobs import DEFINITIONS, SPECTRUM
from portal.uws.definitions import REQUIRED


def test_definitions_are_the_analyses():
    assert [d.name for d in DEFINITIONS] == ["spectrum", "lightcurve", "skymap", "joint_spectrum"]


def test_importing_the_definitions_does_not_import_the_science_stack():
    code = ("import sys, portal.jobs; heavy = [m for m in ('gammapy', 'matplotlib', 'scipy', 'iminuit') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_spectrum_parameters_follow_the_design_contract():
    expected = {"obs_ids": REQUIRED, "ra": REQUIRED, "dec": REQUIRED, "on_radius": 0.11, "model": "pl",
                "e_min": 1.0, "e_max": 30.0, "n_bins": 8}
    # the contract's parameters, then optional analysis choices (the contract's analysis is their default)
    choices = {"containment_correction": True, "sensitivity": False, "stack": "auto", "reco_bins_per_decade": 20,
               "fit_e_min": None, "fit_e_max": None, "safe_range": "auto", "e_threshold": None,
               "aeff_percent": 10.0, "bias_percent": 10.0, "offset_max": None, "n_off_regions": 3,
               "exclusion": "auto", "allow_partial": False}
    assert {p.name: p.default for p in SPECTRUM.parameters} == {**expected, **choices}
    assert [p.name for p in SPECTRUM.parameters][:len(expected)] == list(expected)
    assert SPECTRUM.parameter("obs_ids").type == "obs-list"  # obs ids, or <collection>/<obs_id>
    assert SPECTRUM.parameter("model").choices == ("pl", "ecpl", "lp")
    assert SPECTRUM.parameter("ra").unit == "deg" and SPECTRUM.parameter("e_min").unit == "TeV"
    assert {r.id for r in SPECTRUM.results} >= {"flux_points", "model", "inputs", "datasets"}
    assert "fixed" in SPECTRUM.parameter("safe_range").choices
    assert SPECTRUM.parameter("stack").choices == ("auto", "true", "false")
    assert "natural log" in SPECTRUM.parameter("model").doc and "log10" in SPECTRUM.parameter("model").doc


@pytest.mark.parametrize(("params", "message"), [
    ({"safe_range": "fixed"}, "safe_range=fixed needs e_threshold"),
    ({"e_threshold": "0.4"}, "e_threshold applies only with safe_range=fixed"),
    ({"exclusion": "83.6 22"}, "is not a circle"),
    ({"exclusion": "83.6 22 20"}, "0 < radius <= 10"),
    ({"reco_bins_per_decade": "3"}, "reco_bins_per_decade"),
    ({"stack": "maybe"}, "not one of auto, true, false"),
])
def test_choices_that_cannot_work_are_refused(params, message):
    from portal.uws.params import ParameterError, typed

    given = {"obs_ids": "23523", "ra": "83.6", "dec": "22.0", **params}
    with pytest.raises(ParameterError, match=message):
        typed(SPECTRUM, list(given.items()))


def test_choices_that_work_are_typed():
    from portal.uws.params import typed

    given = {"obs_ids": "23523", "ra": "83.6", "dec": "22.0", "safe_range": "fixed", "e_threshold": "0.4",
             "exclusion": "83.6 22.0 0.3; 84.4 21.1 0.2", "stack": "true", "reco_bins_per_decade": "10"}
    params = typed(SPECTRUM, list(given.items()))
    assert params["e_threshold"] == 0.4 and params["stack"] == "true" and params["reco_bins_per_decade"] == 10


@pytest.mark.parametrize(("params", "message"), [
    ({"e_min": "1", "e_max": "1.001", "n_bins": "30"}, "narrower than one energy bin"),
    ({"e_min": "1", "e_max": "2", "n_bins": "30"}, "at most 6 flux points"),
    ({"e_min": "1", "e_max": "2", "n_bins": "30", "reco_bins_per_decade": "10"}, "at most 3 flux points"),
    ({"fit_e_min": "3", "fit_e_max": "3.1"}, "fit energy range 3 to 3.1 TeV is narrower"),
])
def test_binning_the_analysis_cannot_serve_is_refused_with_the_typed_parameters(params, message):
    from portal.uws.params import ParameterError, typed

    given = {"obs_ids": "23523", "ra": "83.6", "dec": "22.0", **params}
    with pytest.raises(ParameterError, match=message):
        typed(SPECTRUM, list(given.items()))


@pytest.mark.parametrize("definition", DEFINITIONS, ids=lambda d: d.name)
def test_every_definition_is_complete(definition):
    module, _, name = definition.run.partition(":")
    assert callable(getattr(importlib.import_module(module), name))
    for p in definition.parameters:
        assert p.doc
        if p.default not in (REQUIRED, None) and p.minimum is not None:
            assert p.minimum <= p.default <= p.maximum, p.name
        if p.choices:
            assert p.default in p.choices
    assert len({r.id for r in definition.results}) == len(definition.results)
