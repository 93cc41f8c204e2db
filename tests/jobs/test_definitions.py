"""The job definitions: the contract of ../shared/DESIGN.md, light imports, importable run functions."""

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


def test_every_parameter_has_a_label_and_every_choice_a_name():
    """What the forms show: a label per parameter, as an astronomer says it (the name stays what is sent)."""
    from portal.uws.application import default_definitions

    definitions = default_definitions({})
    assert {d.name for d in definitions} >= {d.name for d in DEFINITIONS}
    missing = [f"{d.name}.{p.name}" for d in definitions for p in d.parameters
               if not (p.label or "").strip() or p.label == p.name]
    assert missing == [], f"parameters without a label: {missing}"
    unnamed = [f"{d.name}.{p.name}" for d in definitions for p in d.parameters
               if p.choices and (not p.choice_labels or not all(name.strip() for name in p.choice_labels))]
    assert unnamed == [], f"choices without names: {unnamed}"
    units = [f"{d.name}.{p.name}" for d in definitions for p in d.parameters if p.unit and p.unit in p.label]
    assert units == [], f"labels that repeat the unit the form adds: {units}"
    assert SPECTRUM.parameter("aeff_percent").label == "Effective-area threshold"
    assert SPECTRUM.parameter("model").choice_names() == {
        "pl": "power law", "ecpl": "power law with exponential cut-off", "lp": "log-parabola"}


def test_labels_are_published_next_to_the_help():
    from lxml import etree

    from portal.uws.catalog import NAMESPACE, definitions_json, definitions_xml

    [item] = definitions_json([SPECTRUM], "http://portal.test/uws")["definitions"]
    params = {p["name"]: p for p in item["parameters"]}
    assert params["aeff_percent"]["label"] == "Effective-area threshold" and params["aeff_percent"]["unit"] == "%"
    assert params["model"]["choices"] == ["pl", "ecpl", "lp"]  # the values, as before
    assert params["model"]["choice_labels"] == {"pl": "power law", "ecpl": "power law with exponential cut-off",
                                                "lp": "log-parabola"}
    assert params["n_bins"]["choice_labels"] is None
    root = etree.fromstring(definitions_xml([SPECTRUM], "http://portal.test/uws"))
    ns = {"d": NAMESPACE}
    model = root.find("d:definition/d:parameter[@name='model']", ns)
    assert model.get("label") == "Spectral model"
    assert [(c.text, c.get("label")) for c in model.findall("d:choice", ns)] == [
        ("pl", "power law"), ("ecpl", "power law with exponential cut-off"), ("lp", "log-parabola")]


def test_choice_labels_match_the_choices():
    from portal.uws.definitions import Parameter

    with pytest.raises(ValueError, match="2 choice labels for 3 choices"):
        Parameter("m", "choice", "M", choices=("a", "b", "c"), choice_labels=("A", "B"))
