"""Catalog and published data in the SED plot, read through `/catalogs` on `portal serve`.

The widget's numbers are compared with gammapy's catalog objects read directly from $GAMMAPY_DATA
(which the kernel need not have: it only speaks HTTP).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from portal.catalogs import CatalogRegistry
from tests.conftest import gammapy_data
from widgets.background import Background
from widgets.client import PortalClient
from widgets.sed import SEDPlot

pytestmark = pytest.mark.requires_data

CRAB = SkyCoord(83.633, 22.014, unit="deg")
MSH_15_52 = SkyCoord(228.529, -59.158, unit="deg")


@pytest.fixture(scope="module")
def client(portal_server):
    c = PortalClient(portal_server.url, token="")
    yield c
    c.close()


@pytest.fixture(scope="module")
def registry():
    return CatalogRegistry([gammapy_data()])


@pytest.fixture
def sed(client):
    bg = Background()
    plot = SEDPlot(client=client, background=bg)
    yield plot
    bg.idle()


def settle(sed, timeout=300):
    bg = sed.state.background
    assert bg.wait_until(lambda: bg.pending == 0, timeout=timeout), sed.message


@pytest.fixture(scope="module")
def crab(client):
    """One plot with the Crab's counterparts (reading the catalogs takes the server a few seconds once)."""
    bg = Background()
    plot = SEDPlot(client=client, background=bg)
    plot.target = CRAB
    settle(plot)
    return plot


def test_counterparts_near_the_crab(crab):
    tags = {c["tag"] for c in crab.state.counterparts}
    assert {"3fgl", "3fhl", "gamma-cat"} <= tags and tags & {"2hwc", "3hwc"}, crab.message
    groups = {layer.group for layer in crab.layers}
    assert {"3FHL J0534.5+2201", "gamma-cat Crab nebula", "3FGL J0534.5+2201", "3HWC J0534+220"} <= groups
    assert all(layer.auto for layer in crab.layers)
    hawc = crab.state.layer("3hwc/3HWC J0534+220/model")
    assert hawc.visible  # no points: its model is what there is
    assert not crab.state.layer("3fhl/3FHL J0534.5+2201/model").visible  # points shown, model in the legend
    assert set(crab.legend.toggles()) == {layer.key for layer in crab.layers}
    assert crab.state.status != "error", crab.message


def test_only_the_best_counterpart_of_each_family_is_switched_on(crab):
    from widgets.sed.catalogs import best_of_families, family, source_label

    best = {(c["tag"], c["name"]) for c in best_of_families(crab.state.counterparts)}
    assert len({family(tag) for tag, _name in best}) == len(best)  # one per family
    for c in crab.state.counterparts:
        group = [layer for layer in crab.layers if layer.key.startswith(f"{c['tag']}/{c['name']}/")]
        assert group, f"{c['name']} is not listed"
        if (c["tag"], c["name"]) in best:
            assert any(layer.visible for layer in group) and not any(layer.extra for layer in group)
        else:  # listed in the legend, switched off
            assert not any(layer.visible for layer in group) and all(layer.extra for layer in group)
    assert len(best) < len(crab.state.counterparts), "the Crab has several matches in one family (3FGL)"
    others = {source_label(c["tag"], c["name"]) for c in crab.state.counterparts if (c["tag"], c["name"]) not in best}
    assert set(crab.legend.sections()["other"]) == others  # listed apart in the legend


def test_catalog_points_are_gammapys(crab, registry):
    source = registry.source("3fhl", "3FHL J0534.5+2201")
    points = source.flux_points()  # gammapy's: its reference spectrum is the source's model
    for sed_type, unit in (("e2dnde", "erg cm-2 s-1"), ("dnde", "cm-2 s-1 TeV-1"), ("flux", "cm-2 s-1")):
        crab.sed_type = sed_type
        settle(crab)
        marks = crab.plot.marks_of("3fhl/3FHL J0534.5+2201/points")
        value = getattr(points, sed_type).quantity.ravel().to_value(unit)
        good = np.isfinite(value) & ~points.is_ul.data.ravel()
        np.testing.assert_allclose(marks.dots.y, value[good], rtol=1e-6)
        np.testing.assert_allclose(marks.dots.x, points.energy_ref.to_value("TeV")[good], rtol=1e-6)
        limits = getattr(points, sed_type + "_ul").quantity.ravel().to_value(unit)[points.is_ul.data.ravel()]
        assert len(marks.limits.y) == len(limits)
    crab.sed_type = "e2dnde"


def test_catalog_envelope_is_evaluate_error_of_the_catalog_model(crab, registry):
    model = registry.source("gamma-cat", "Crab nebula").spectral_model()
    crab.set_visible("gamma-cat/Crab nebula/model", True)
    settle(crab)
    marks = crab.plot.marks_of("gamma-cat/Crab nebula/model")
    energy = np.asarray(marks.line.x) * u.TeV
    assert energy[0].value == pytest.approx(0.44, rel=1e-6) and energy[-1].value == pytest.approx(40, rel=1e-6)
    median, errn, errp = model.evaluate_error(energy)
    np.testing.assert_allclose(np.asarray(marks.band.y)[0], ((median - errn) * energy**2).to_value("erg cm-2 s-1"),
                               rtol=1e-6)
    assert marks.band.visible


def test_lhaaso_components_each_have_their_range(crab):
    wcda = crab.plot.marks_of("1lhaaso/1LHAASO J0534+2200u/0/model")
    km2a = crab.plot.marks_of("1lhaaso/1LHAASO J0534+2200u/1/model")
    assert np.asarray(wcda.line.x)[[0, -1]] == pytest.approx([1, 25])
    assert np.asarray(km2a.line.x)[[0, -1]] == pytest.approx([25, 1000])


def test_a_joint_refit_with_catalog_points(crab, registry, client):
    from gammapy.estimators import FluxPoints

    from widgets.sed.refit import RefitError, refit

    hess = FluxPoints.read(gammapy_data() / "estimators/crab_hess_fp/crab_hess_fp.fits")
    crab.add_flux_points(hess, label="H.E.S.S. DR1")
    result = crab.refit("lp", include=["3FHL J0534.5+2201", "gamma-cat Crab nebula"])
    assert result is not None and result.success, crab.message
    fit = crab.state.refit_result
    assert fit.included == ["H.E.S.S. DR1", "3FHL J0534.5+2201", "gamma-cat Crab nebula"]
    assert [d.stat_type for d in fit.datasets] == ["profile", "chi2", "chi2"]
    # the same joint fit, gammapy alone from the same start
    from gammapy.datasets import FluxPointsDataset
    from gammapy.modeling import Fit
    from gammapy.modeling.models import SkyModel

    from widgets.sed.refit import start_model

    plain = start_model("lp", hess)
    sky = SkyModel(spectral_model=plain, name="plain")
    fhl = crab.state.layer("3fhl/3FHL J0534.5+2201/points").points
    gcat = crab.state.layer("gamma-cat/Crab nebula/points").points
    datasets = [FluxPointsDataset(models=[sky], data=hess, stat_type="profile"),
                FluxPointsDataset(models=[sky], data=fhl, stat_type="chi2"),
                FluxPointsDataset(models=[sky], data=gcat, stat_type="chi2")]
    assert Fit().run(datasets).success
    for p in fit.model.parameters.free_parameters:
        assert p.value == pytest.approx(plain.parameters[p.name].value, rel=1e-3), p.name
    with pytest.raises(RefitError, match="cannot join the fit with gammapy's distrib statistic"):
        refit("pl", hess, others=[("3FHL", registry.source("3fhl", "3FHL J0534.5+2201").flux_points())],
              catalog_stat="distrib")  # gammapy 2.0.1 needs symmetric errors there; the message says so


def test_counterparts_near_msh_15_52_include_hgps(sed):
    sed.target = MSH_15_52
    settle(sed)
    assert "hgps" in {c["tag"] for c in sed.state.counterparts}
    assert sed.state.layer("hgps/HESS J1514-591/points") is not None
    sed.target = CRAB  # a new target: the old counterparts go
    settle(sed)
    assert sed.state.layer("hgps/HESS J1514-591/points") is None
    assert sed.state.layer("3fhl/3FHL J0534.5+2201/points") is not None


def test_add_catalog_by_hand_stays(sed):
    layers = sed.add_catalog("hgps", "HESS J1514-591")
    assert {layer.kind for layer in layers} == {"points", "model"} and not any(layer.auto for layer in layers)
    assert "Added HGPS HESS J1514-591 from the catalogs" in sed.message
    sed.target = CRAB
    settle(sed)
    assert sed.state.layer("hgps/HESS J1514-591/points") is not None


def test_sources_not_in_a_catalog_are_sentences(sed):
    sed.add_catalog("hgps", "HESS J1514-591")
    before = list(sed.layers)
    for tag, name, words in (("3fhl", "Not a source", "Fermi-LAT 3FHL has no source named 'Not a source'"),
                             ("nope", "Crab", "Unknown catalog 'nope'")):
        assert sed.add_catalog(tag, name) == []
        assert sed.state.status == "error" and words in sed.message
        assert sed.layers == before


def test_a_catalog_service_that_is_down(tmp_path):
    bg = Background()
    sed = SEDPlot(client=PortalClient("http://127.0.0.1:9", token=""), background=bg)
    sed.target = CRAB
    assert bg.wait_until(lambda: sed.state.status == "error", timeout=60)
    assert "cannot be reached" in sed.message and sed.layers == []
