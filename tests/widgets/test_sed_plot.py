"""The SED plot without a browser or a server: the numbers in its bqplot marks, its layers and legend,
its refit, its exports and its messages for bad input.

The flux points are gammapy-data's H.E.S.S. DR1 Crab points (gadf ``likelihood`` SED with profiles).
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
import pytest
from astropy.constants import h
from astropy.table import Table

from tests.conftest import gammapy_data
from widgets.background import Background
from widgets.client import PortalClient
from widgets.sed import SEDPlot
from widgets.sed.points import UL_ARROW
from widgets.sed.units import ENERGY_UNITS, SED_TYPES

pytestmark = pytest.mark.requires_data

Y_UNITS = {"dnde": "cm-2 s-1 TeV-1", "e2dnde": "erg cm-2 s-1", "flux": "cm-2 s-1", "eflux": "erg cm-2 s-1"}


@pytest.fixture(scope="module")
def crab_points():
    from gammapy.estimators import FluxPoints

    return FluxPoints.read(gammapy_data() / "estimators/crab_hess_fp/crab_hess_fp.fits")


def local_plot() -> SEDPlot:
    """A plot whose service is nowhere: everything here is local."""
    return SEDPlot(client=PortalClient("http://127.0.0.1:9", token="x"), background=Background())


@pytest.fixture
def sed():
    plot = local_plot()
    yield plot
    plot.state.background.idle()


@pytest.fixture(scope="module")
def shown(crab_points):
    """One plot with the Crab points, for the checks that only switch the SED type and unit."""
    plot = local_plot()
    plot.add_flux_points(crab_points, label="H.E.S.S.")
    return plot


def expected(points, sed_type: str, energy_unit: str, suffix: str = ""):
    """gammapy's values for the points, converted with astropy alone (independently of the widget)."""
    q = getattr(points, sed_type + suffix).quantity.reshape(-1)
    if energy_unit == "Hz":
        if sed_type == "dnde":
            return (q * h).to_value("cm-2 s-1 Hz-1")
        return q.to_value(Y_UNITS[sed_type])
    unit = Y_UNITS[sed_type].replace("TeV", energy_unit)
    return q.to_value(unit)


def energies(quantity, energy_unit):
    return quantity.to_value(energy_unit, equivalencies=u.spectral())


@pytest.mark.parametrize("energy_unit", ENERGY_UNITS)
@pytest.mark.parametrize("sed_type", SED_TYPES)
def test_plotted_numbers_are_gammapys_conversions(shown, crab_points, sed_type, energy_unit):
    sed = shown
    sed.sed_type, sed.energy_unit = sed_type, energy_unit
    marks = sed.plot.marks_of("file/H.E.S.S./points")
    good = np.isfinite(expected(crab_points, sed_type, energy_unit)) & ~crab_points.is_ul.data.ravel()
    np.testing.assert_allclose(marks.dots.x, energies(crab_points.energy_ref, energy_unit)[good], rtol=1e-12)
    np.testing.assert_allclose(marks.dots.y, expected(crab_points, sed_type, energy_unit)[good], rtol=1e-12)
    # the error bars: vertical from value - errn to value + errp, horizontal over the energy bin
    value = expected(crab_points, sed_type, energy_unit)[good]
    low = value - expected(crab_points, sed_type, energy_unit, "_errn")[good]
    high = value + expected(crab_points, sed_type, energy_unit, "_errp")[good]
    bars = np.column_stack([np.asarray(marks.bars.x), np.asarray(marks.bars.y)])
    vertical = bars[: good.sum()]
    np.testing.assert_allclose(vertical[:, 2], low, rtol=1e-12)
    np.testing.assert_allclose(vertical[:, 3], high, rtol=1e-12)
    horizontal = bars[good.sum(): 2 * good.sum()]
    np.testing.assert_allclose(horizontal[:, 0], energies(crab_points.energy_min, energy_unit)[good], rtol=1e-12)
    np.testing.assert_allclose(horizontal[:, 1], energies(crab_points.energy_max, energy_unit)[good], rtol=1e-12)
    assert sed.plot.y_axis.label.endswith("]") and sed.plot.x_axis.label.endswith(("[Hz]", f"[{energy_unit}]"))


def test_upper_limits_are_downward_arrows(sed, crab_points):
    ul = crab_points.copy()
    ul._data["is_ul"].data[-1] = True  # the last bin as an upper limit (its norm_ul is gammapy's)
    sed.add_flux_points(ul, label="with limit")
    marks = sed.plot.marks_of("file/with limit/points")
    limit = expected(crab_points, "e2dnde", "TeV", "_ul")[-1]
    assert np.asarray(marks.limits.y) == pytest.approx([limit * UL_ARROW], rel=1e-9)  # the head, below the limit
    assert len(marks.dots.x) == np.isfinite(expected(crab_points, "e2dnde", "TeV")).sum() - 1
    shafts = [(y0, y1) for y0, y1 in np.asarray(marks.bars.y) if y0 == pytest.approx(limit, rel=1e-9) and y1 < y0]
    assert len(shafts) == 1 and shafts[0][1] == pytest.approx(limit * UL_ARROW, rel=1e-9)
    assert "upper limit" in marks.limits.names[0]


def test_hover_shows_values_ts_and_counts(sed, crab_points):
    sed.add_flux_points(crab_points, label="H.E.S.S.")
    names = sed.plot.marks_of("file/H.E.S.S./points").dots.names
    first = names[0]
    ts = crab_points.ts.data.ravel()[1]  # the first bin has no fit: gammapy masks it
    counts = crab_points.counts.data.reshape(crab_points.energy_axis.nbin, -1).sum(axis=1)[1]
    assert f"TS {ts:.1f}" in first and f"counts {counts:.0f}" in first
    assert f"{expected(crab_points, 'e2dnde', 'TeV')[1]:.3g}" in first and "erg cm⁻² s⁻¹" in first
    assert sed.plot.marks_of("file/H.E.S.S./points").dots.tooltip.fields == ["name"]


def test_profiles_heat_map_has_its_minimum_at_the_points(sed, crab_points):
    sed.add_flux_points(crab_points, label="H.E.S.S.")
    heat = sed.plot.marks_of("file/H.E.S.S./profiles").heat
    rows, columns, dts = np.asarray(heat.row), np.asarray(heat.column), np.asarray(heat.color)
    np.testing.assert_allclose(columns, crab_points.energy_axis.edges.to_value("TeV"))
    centres = np.sqrt(rows[:-1] * rows[1:])
    value = expected(crab_points, "e2dnde", "TeV")
    for i in np.flatnonzero(np.isfinite(value)):
        column = dts[:, i]
        best = np.argmin(column)
        assert centres[best] == pytest.approx(value[i], rel=0.05)
        assert column[best] < 0.1 and np.all(np.diff(column[best:]) >= -1e-9)  # rising away from the best value
        assert np.all(np.diff(column[:best]) <= 1e-9)
    assert sed.plot.key.layout.display is None and "ΔTS" in sed.plot.key.value  # the colour key under the plot


def test_every_layer_is_a_legend_entry_with_a_toggle(sed, crab_points):
    sed.add_flux_points(crab_points, label="H.E.S.S.")
    sed.refit("pl")
    keys = {layer.key for layer in sed.layers}
    assert keys == {"file/H.E.S.S./points", "file/H.E.S.S./profiles", "refit/pl/model"}
    assert set(sed.legend.toggles()) == keys
    box = sed.legend._boxes["file/H.E.S.S./profiles"]
    box.value = False  # as a click does
    assert not any(m.visible for m in sed.plot.marks_of("file/H.E.S.S./profiles").marks)
    assert not sed.state.layer("file/H.E.S.S./profiles").visible
    sed.set_visible("file/H.E.S.S./profiles", True)
    assert box.value and all(m.visible for m in sed.plot.marks_of("file/H.E.S.S./profiles").marks)


def test_model_envelope_is_evaluate_error(sed, crab_points):
    fit = sed.refit  # a refit gives a model with a full covariance
    sed.add_flux_points(crab_points, label="H.E.S.S.")
    fit("lp")
    model = sed.state.refit_result.model
    marks = sed.plot.marks_of("refit/lp/model")
    energy = np.asarray(marks.line.x) * u.TeV
    median, errn, errp = model.evaluate_error(energy)
    np.testing.assert_allclose(np.asarray(marks.band.y)[0], ((median - errn) * energy**2).to_value("erg cm-2 s-1"))
    np.testing.assert_allclose(np.asarray(marks.band.y)[1], ((median + errp) * energy**2).to_value("erg cm-2 s-1"))
    np.testing.assert_allclose(np.asarray(marks.line.y), (model(energy) * energy**2).to_value("erg cm-2 s-1"))
    sed.sed_type = "flux"  # binned: the model integrated over the points' bins, with integral_error
    sed.state.background.idle()
    edges = crab_points.energy_axis.edges
    low, high = edges[:-1], edges[1:]
    median, errn, errp = model.integral_error(low, high)
    marks = sed.plot.marks_of("refit/lp/model")
    np.testing.assert_allclose(np.asarray(marks.band.y)[0][::2], (median - errn).to_value("cm-2 s-1"))
    np.testing.assert_allclose(np.asarray(marks.line.y)[::2], model.integral(low, high).to_value("cm-2 s-1"))


@pytest.mark.parametrize("kind", ["pl", "lp", "ecpl", "bpl"])
def test_refit_equals_gammapy_fitting_the_same_profiles(sed, crab_points, kind):
    from gammapy.datasets import FluxPointsDataset
    from gammapy.modeling import Fit
    from gammapy.modeling.models import SkyModel

    from widgets.sed.refit import start_model

    sed.add_flux_points(crab_points, label="H.E.S.S.")
    result = sed.refit(kind)
    assert result.success, sed.message
    fitted = sed.state.refit_result.model
    # gammapy alone, from the same start: its own FluxPointsDataset and Fit
    plain = start_model(kind, crab_points)
    dataset = FluxPointsDataset(models=[SkyModel(spectral_model=plain, name="plain")], data=crab_points,
                                stat_type="profile")
    assert Fit().run([dataset]).success
    for p in fitted.parameters.free_parameters:
        assert p.value == pytest.approx(plain.parameters[p.name].value, rel=1e-3), p.name
    assert result.total_stat == pytest.approx(dataset.stat_sum(), rel=1e-3, abs=1e-3)


def test_the_faster_profile_dataset_has_gammapys_statistic(crab_points):
    from gammapy.datasets import FluxPointsDataset
    from gammapy.modeling.models import LogParabolaSpectralModel, SkyModel

    from widgets.sed.refit import _dataset_class

    rng = np.random.default_rng(3)
    for _ in range(5):
        model = LogParabolaSpectralModel(alpha=rng.uniform(1.8, 3), beta=rng.uniform(0, 0.4),
                                         amplitude=rng.uniform(1e-11, 8e-11) * u.Unit("cm-2 s-1 TeV-1"))
        ours = _dataset_class()(models=[SkyModel(spectral_model=model, name="a")], data=crab_points,
                                stat_type="profile")
        theirs = FluxPointsDataset(models=[SkyModel(spectral_model=model.copy(), name="b")], data=crab_points,
                                   stat_type="profile")
        assert ours.stat_sum() == pytest.approx(theirs.stat_sum(), rel=1e-12)


def test_a_refit_that_does_not_converge_is_a_sentence(sed, crab_points):
    sed.add_flux_points(crab_points.slice_by_idx({"energy": slice(4, 5)}), label="one point")
    before = list(sed.layers)
    result = sed.refit("bpl")  # four parameters on one point
    assert result is not None and not result.success
    assert sed.state.status == "error" and "did not converge" in sed.message
    assert sed.layers == before


def test_bad_inputs_are_sentences_and_the_plot_keeps_what_it_had(sed, crab_points, tmp_path):
    sed.add_flux_points(crab_points, label="H.E.S.S.")
    before = list(sed.layers)
    lightcurve = gammapy_data() / "estimators/pks2155_hess_lc/pks2155_hess_lc.fits"
    cases = [
        (lambda: sed.add_flux_points(b"not a file at all"), "neither a FITS file nor an ECSV table"),
        (lambda: sed.add_flux_points(tmp_path / "missing.fits"), "Cannot read"),
        (lambda: sed.add_flux_points(lightcurve), "Cannot read pks2155_hess_lc.fits as gadf flux points"),
        (lambda: sed.add_flux_points(gammapy_data() / "catalogs/2HWC.ecsv"), "No SED in 2HWC.ecsv"),
        (lambda: sed.add_model(gammapy_data() / "estimators/crab_hess_fp/crab_hess_fp.fits"), "not a text (YAML)"),
        (lambda: sed.add_model("components: [1, 2]\n"), "Cannot read"),
        (lambda: sed.add_model("fit: {}\nfoo: bar\n"), "not a gammapy models file"),
        (lambda: sed.refit("spline"), "Unknown model 'spline'"),
        (lambda: sed.refit("pl", include=["nothing like it"]), "no flux points called 'nothing like it'"),
        (lambda: sed.follow(42), "Cannot follow int"),
        (lambda: sed.save_data(tmp_path / "points.txt"), "written as .ecsv or .fits"),
        (lambda: sed.save_model(tmp_path / "refit.yaml"), "no refit to save"),
        (lambda: sed.set_visible("no such layer"), "no layer 'no such layer'"),
        (lambda: sed.add_catalog("3fhl", "3FHL J0534.5+2201"), "cannot be reached"),
    ]
    for action, words in cases:
        action()
        assert sed.state.status == "error", words
        assert words in sed.message, (words, sed.message)
        assert "Traceback" not in sed.message
        assert sed.layers == before


def test_a_refit_without_profiles_is_a_sentence(sed, crab_points):
    table = crab_points.to_table(sed_type="e2dnde")
    table.remove_columns(["norm_scan", "stat_scan"])
    sed.add_flux_points(crab_points.from_table(table), label="no profiles")
    assert [layer.kind for layer in sed.layers] == ["points"]
    assert sed.refit("pl") is None
    assert "no flux points with likelihood profiles to refit" in sed.message


def test_exports_round_trip(sed, crab_points, tmp_path):
    from gammapy.estimators import FluxPoints
    from gammapy.modeling.models import Models

    sed.add_flux_points(crab_points, label="H.E.S.S.")
    for suffix in (".ecsv", ".fits"):
        path = sed.save_data(tmp_path / f"points{suffix}")
        back = FluxPoints.read(path)
        assert back.sed_type_init == "likelihood"  # profiles kept
        np.testing.assert_allclose(back.e2dnde.quantity.value, crab_points.e2dnde.quantity.value)
    path = sed.save_data(tmp_path / "points-dnde.ecsv", sed_type="dnde")
    assert Table.read(path).meta["SED_TYPE"] == "dnde"
    sed.refit("lp")
    models = Models.read(sed.save_model(tmp_path / "refit.yaml"))
    fitted = sed.state.refit_result.model
    assert models[0].spectral_model.alpha.value == pytest.approx(fitted.alpha.value)
    from portal.jobs.spectrum import read_model

    again = read_model(tmp_path / "refit.yaml")[0].spectral_model  # the covariance is in the file too
    np.testing.assert_allclose(again.covariance.data, fitted.covariance.data, rtol=1e-6)


def test_the_figure_exports_wait_for_the_page(sed):
    sed.save_image("sed.jpg")
    assert "png or svg" in sed.message
    sed._image("png")  # asks the page; without one nothing comes back, and nothing breaks
    assert sed._downloads.value == ""


def test_connect_wires_the_plot_to_the_session(sed):
    from astropy.coordinates import SkyCoord

    from widgets.jobs.handle import JobHandle
    from widgets.links import connect
    from widgets.session import Session

    session = Session()
    links = connect(sed=sed, session=session)
    crab = SkyCoord(83.633, 22.014, unit="deg")
    session.set_target(crab, 0.5, "Crab")
    assert sed.state.target is crab and sed.state.target_name == "Crab"
    job = JobHandle("http://127.0.0.1:9/uws/spectrum/abc", client=sed.state.client, background=sed.state.background)
    session.active_job = job
    assert sed.state.job is job
    links.unlink()
    job.unfollow()
    sed.state.unfollow()


def test_the_explorer_page_reads_its_query_string():
    from widgets.sed.page import explorer

    sed = explorer("?ra=83.633&dec=22.014&name=Crab&radius=0.3&sed_type=dnde&unit=GeV&catalog=nonsense",
                   client=PortalClient("http://127.0.0.1:9", token="x"), background=Background())
    assert sed.sed_type == "dnde" and sed.energy_unit == "GeV" and sed.radius == 0.3
    assert sed.state.target_name == "Crab" and sed.target.ra.deg == pytest.approx(83.633)
    assert "should be tag/name" in sed.message
    bad = explorer("ra=abc&dec=1", client=PortalClient("http://127.0.0.1:9", token="x"), background=Background())
    assert "is not a position in degrees" in bad.message and bad.target is None


def test_the_explorer_page_has_a_target_field_and_a_catalog_source_input():
    from widgets.sed.page import ExplorerPage

    page = ExplorerPage("?ra=83.633&dec=22.014&name=Crab&radius=0.3", client=PortalClient("http://127.0.0.1:9",
                        token="x"), background=Background())
    assert page.target._text.value == "Crab" and page.target.state.radius_text == "0.3 deg"  # filled in
    assert page.sed.target.ra.deg == pytest.approx(83.633) and page.sed in page.children
    sources = page.sources
    assert sources.options() == []  # no counterparts read (the service is nowhere)
    page.sed.state.counterparts = [{"tag": "3fgl", "name": "3FGL J0534.5+2201s", "separation": 0.005},
                                   {"tag": "3fhl", "name": "3FHL J0534.5+2201", "separation": 0.004},
                                   {"tag": "3fgl", "name": "3FGL J0534.5+2201", "separation": 0.009}]
    sources.catalog.value = "3fgl"
    assert sources.name.options == ("3FGL J0534.5+2201s", "3FGL J0534.5+2201")  # the target's, of that catalog
    sources.name.value = ""
    assert sources.add() is False and "Type the name of a 3FGL source" in page.sed.message
    sources.name.value = "3FGL J0534.5+2201s"
    sources.button.click()  # read in the background: the service is nowhere, so a sentence comes back
    bg = page.sed.state.background
    assert bg.wait_until(lambda: page.sed.state.status == "error", timeout=60), page.sed.message
    assert "Traceback" not in page.sed.message
    bg.idle()


@pytest.mark.parametrize("sed_type", ["likelihood", "dnde", "e2dnde", "flux", "eflux"])
@pytest.mark.parametrize("suffix", [".fits", ".ecsv"])
def test_gadf_sed_files_of_any_sed_type_load(sed, crab_points, tmp_path, sed_type, suffix):
    path = tmp_path / f"crab-{sed_type}{suffix}"
    crab_points.write(path, sed_type=sed_type)
    layers = sed.add_flux_points(path, label="file")
    assert layers and sed.state.status == "ok", sed.message
    shown = sed.state.layer("file/file/points").points
    assert shown.sed_type_init == sed_type
    good = np.isfinite(expected(crab_points, sed_type if sed_type != "likelihood" else "dnde", "TeV"))
    kind = "dnde" if sed_type == "likelihood" else sed_type
    np.testing.assert_allclose(getattr(shown, kind).quantity.ravel()[good].value,
                               getattr(crab_points, kind).quantity.ravel()[good].to_value(
                                   getattr(shown, kind).unit), rtol=1e-9)
    assert "file/file/profiles" in {layer.key for layer in sed.layers}  # gammapy writes the scans in every type


def test_a_gamma_cat_sed_file_loads(sed, tmp_path):
    """gamma-cat's per-paper SED files: ECSV with e_ref, dnde and its errors, no SED_TYPE keyword."""
    from portal.catalogs import CatalogRegistry

    points = CatalogRegistry([gammapy_data()]).source("gamma-cat", "Crab nebula").flux_points()
    table = Table({"e_ref": points.energy_ref, "dnde": points.dnde.quantity.ravel(),
                   "dnde_errn": points.dnde_errn.quantity.ravel(), "dnde_errp": points.dnde_errp.quantity.ravel()},
                  meta={"data_type": "sed", "source_id": 1, "reference_id": "2006A&A...457..899A"})
    path = tmp_path / "tev-000001-sed.ecsv"
    table.write(path, format="ascii.ecsv")
    sed.add_flux_points(path, label="Crab, HESS 2006")
    marks = sed.plot.marks_of("file/Crab, HESS 2006/points")
    expected_e2dnde = (points.dnde.quantity.ravel() * points.energy_ref**2).to_value("erg cm-2 s-1")
    np.testing.assert_allclose(marks.dots.y, expected_e2dnde, rtol=1e-9)
    assert np.all(np.isnan(sed.state.layer("file/Crab, HESS 2006/points").arrays("e2dnde", "TeV").x_min))  # no bins
