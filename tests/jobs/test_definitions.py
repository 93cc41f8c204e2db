"""The job definitions: the DESIGN contract, light imports, importable run functions."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest

from portal.jobs import DEFINITIONS, SPECTRUM
from portal.uws.definitions import REQUIRED


def test_definitions_are_the_three_analyses():
    assert [d.name for d in DEFINITIONS] == ["spectrum", "lightcurve", "skymap"]


def test_importing_the_definitions_does_not_import_the_science_stack():
    code = ("import sys, portal.jobs; heavy = [m for m in ('gammapy', 'matplotlib', 'scipy', 'iminuit') "
            "if m in sys.modules]; print(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


def test_spectrum_parameters_follow_the_design_contract():
    expected = {"obs_ids": REQUIRED, "ra": REQUIRED, "dec": REQUIRED, "on_radius": 0.11, "model": "pl",
                "e_min": 1.0, "e_max": 30.0, "n_bins": 8}
    # the contract's parameters, then optional analysis choices (the contract's analysis is their default)
    choices = {"containment_correction": True, "fit_e_min": None, "fit_e_max": None, "safe_range": "auto",
               "aeff_percent": 10.0, "bias_percent": 10.0, "offset_max": None, "n_off_regions": 3,
               "allow_partial": False}
    assert {p.name: p.default for p in SPECTRUM.parameters} == {**expected, **choices}
    assert [p.name for p in SPECTRUM.parameters][:len(expected)] == list(expected)
    assert SPECTRUM.parameter("obs_ids").type == "int-list"
    assert SPECTRUM.parameter("model").choices == ("pl", "ecpl", "lp")
    assert SPECTRUM.parameter("ra").unit == "deg" and SPECTRUM.parameter("e_min").unit == "TeV"
    assert {r.id for r in SPECTRUM.results} >= {"flux_points", "model", "inputs"}


@pytest.mark.parametrize(("params", "message"), [
    ({"e_min": "1", "e_max": "1.001", "n_bins": "30"}, "narrower than one energy bin"),
    ({"e_min": "1", "e_max": "2", "n_bins": "30"}, "at most 3 flux points"),
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
