"""The SED refit as a joint multi-instrument fit, and the log-parabola's beta convention in its text and exports.

Two real sets of flux points with likelihood profiles: gammapy-data's H.E.S.S. DR1 Crab points
(``estimators/crab_hess_fp``) and MAGIC's, estimated here with gammapy from gammapy-data's two MAGIC Crab
runs (``magic/rad_max``, point-like IRFs): gammapy's 1D reduction and ``FluxPointsEstimator`` with
its norm scans, written as a gadf ``likelihood`` SED as a job writes them.
"""

from __future__ import annotations

import re

import numpy as np
import pytest
import yaml
from astropy.table import Table

from tests.conftest import gammapy_data
from widgets.background import Background
from widgets.client import PortalClient
from widgets.sed import SEDPlot

pytestmark = pytest.mark.requires_data

LN10 = np.log(10.0)
BETA = re.compile(r"beta = (\S+) ± (\S+) \(natural log; (\S+) ± (\S+) in log10\)")


@pytest.fixture(scope="module")
def hess():
    from gammapy.estimators import FluxPoints

    return FluxPoints.read(gammapy_data() / "estimators/crab_hess_fp/crab_hess_fp.fits")


@pytest.fixture(scope="module")
def magic_path(tmp_path_factory):
    """MAGIC Crab flux points with likelihood profiles, from the two runs of gammapy-data (a few seconds)."""
    import astropy.units as u
    from astropy.coordinates import SkyCoord
    from gammapy.data import DataStore
    from gammapy.datasets import Datasets, SpectrumDataset
    from gammapy.estimators import FluxPointsEstimator
    from gammapy.makers import ReflectedRegionsBackgroundMaker, SafeMaskMaker, SpectrumDatasetMaker, WobbleRegionsFinder
    from gammapy.maps import MapAxis, RegionGeom
    from gammapy.modeling import Fit
    from gammapy.modeling.models import PowerLawSpectralModel, SkyModel
    from regions import PointSkyRegion

    folder = gammapy_data() / "magic/rad_max/data"
    if not (folder / "obs-index.fits.gz").is_file():
        pytest.skip("needs $GAMMAPY_DATA/magic/rad_max/data")
    observations = DataStore.from_dir(folder).get_observations(required_irf="point-like")
    crab = SkyCoord(83.63333, 22.01444, unit="deg")
    reco = MapAxis.from_energy_bounds(0.05, 50, 5, per_decade=True, unit="TeV", name="energy")
    true = MapAxis.from_energy_bounds(0.01, 100, 20, per_decade=True, unit="TeV", name="energy_true")
    empty = SpectrumDataset.create(geom=RegionGeom.create(PointSkyRegion(crab), axes=[reco]), energy_axis_true=true)
    maker = SpectrumDatasetMaker(containment_correction=False, use_region_center=True,
                                 selection=["counts", "exposure", "edisp"])
    off = ReflectedRegionsBackgroundMaker(region_finder=WobbleRegionsFinder(n_off_regions=3))
    safe = SafeMaskMaker(methods=["aeff-default"])
    datasets = Datasets([safe.run(off.run(maker.run(empty.copy(name=str(o.obs_id)), o), o), o) for o in observations])
    datasets.models = [SkyModel(PowerLawSpectralModel(index=2.5, amplitude="3e-11 cm-2 s-1 TeV-1"), name="crab")]
    assert Fit().run(datasets).success
    estimator = FluxPointsEstimator(energy_edges=[0.08, 0.16, 0.3, 0.6, 1.2, 2.5, 5, 10] * u.TeV, source="crab",
                                    selection_optional=["scan"])
    path = tmp_path_factory.mktemp("magic") / "magic_crab_fp.fits"
    estimator.run(datasets).write(path, sed_type="likelihood")
    return path


@pytest.fixture
def sed(hess, magic_path):
    """H.E.S.S. and MAGIC points (each with its profiles) on a plot whose service is nowhere."""
    plot = SEDPlot(client=PortalClient("http://127.0.0.1:9", token="x"), background=Background())
    plot.add_flux_points(hess, label="H.E.S.S.")
    plot.add_flux_points(magic_path, label="MAGIC")
    yield plot
    plot.state.background.idle()


def gammapy_joint_fit(kind, hess, others):
    """gammapy alone: the same start model, its own FluxPointsDataset for each set, Datasets and Fit."""
    from gammapy.datasets import Datasets, FluxPointsDataset
    from gammapy.modeling import Fit
    from gammapy.modeling.models import SkyModel

    from widgets.sed.refit import start_model

    plain = start_model(kind, hess)
    sky = SkyModel(spectral_model=plain, name="plain")
    datasets = Datasets([FluxPointsDataset(models=[sky], data=data, stat_type=stat, name=f"set{i}")
                         for i, (data, stat) in enumerate([(hess, "profile"), *others])])
    result = Fit().run(datasets)
    assert result.success
    return plain, result


@pytest.mark.parametrize("kind", ["pl", "lp", "ecpl"])
def test_every_set_with_profiles_is_fitted_by_its_profiles(sed, hess, magic_path, kind):
    from gammapy.estimators import FluxPoints

    result = sed.refit(kind, include=["MAGIC"])
    assert result is not None and result.success, sed.message
    fit = sed.state.refit_result
    plain, theirs = gammapy_joint_fit(kind, hess, [(FluxPoints.read(magic_path), "profile")])
    for p in fit.model.parameters.free_parameters:
        q = plain.parameters[p.name]
        assert p.value == pytest.approx(q.value, rel=1e-3), p.name
        assert p.error == pytest.approx(q.error, rel=1e-3), p.name
    assert result.total_stat == pytest.approx(theirs.total_stat, rel=1e-3)
    assert [d.stat_type for d in fit.datasets] == ["profile", "profile"]
    assert fit.statistics == {"H.E.S.S.": "profile", "MAGIC": "profile"}
    assert "fitted to H.E.S.S. (profiles) + MAGIC (profiles)" in fit.summary()


def test_sets_without_profiles_join_with_chi2(sed, hess, magic_path):
    from gammapy.estimators import FluxPoints

    magic = FluxPoints.read(magic_path)
    table = magic.to_table(sed_type="dnde")
    table.remove_columns(["norm_scan", "stat_scan"])
    sed.add_flux_points(FluxPoints.from_table(table), label="MAGIC without profiles")
    sed.set_visible("file/MAGIC/points", False)
    from widgets.sed.refit import shown_points

    assert shown_points(sed.state) == ["file/MAGIC without profiles/points"]  # what the widget's checkbox adds
    result = sed.refit("pl", include=shown_points(sed.state) + ["H.E.S.S."])  # the refit's own points once
    assert result is not None and result.success, sed.message
    fit = sed.state.refit_result
    assert fit.statistics == {"H.E.S.S.": "profile", "MAGIC without profiles": "chi2"}
    plain, _ = gammapy_joint_fit("pl", hess, [(FluxPoints.from_table(table), "chi2")])
    for p in fit.model.parameters.free_parameters:
        assert p.value == pytest.approx(plain.parameters[p.name].value, rel=1e-3), p.name


def beta_values(text: str) -> tuple[float, ...]:
    found = BETA.search(text)
    assert found, text
    return tuple(float(v) for v in found.groups())


def test_the_refit_text_gives_beta_in_both_conventions(sed):
    sed.refit("lp", include=["MAGIC"])
    beta = sed.state.refit_result.model.parameters["beta"]
    for text in (sed.state.refit_result.summary(), sed.message, sed._summary.value):
        value, error, value10, error10 = beta_values(text)
        assert value == pytest.approx(beta.value, rel=1e-3) and error == pytest.approx(beta.error, rel=1e-2)
        assert value10 == pytest.approx(LN10 * beta.value, rel=1e-3)
        assert error10 == pytest.approx(LN10 * beta.error, rel=1e-2)
    sed.refit("pl")
    assert "log10" not in sed.state.refit_result.summary()


def test_a_log10_beta_reads_back_as_given():
    """gammapy's own converter (``from_log10``) agrees with the text: the log10 value is the one given."""
    import astropy.units as u
    from gammapy.modeling.models import LogParabolaSpectralModel

    from widgets.sed.refit import parameters_text

    model = LogParabolaSpectralModel.from_log10(alpha=2.47, beta=0.37, amplitude=3.8e-11 * u.Unit("cm-2 s-1 TeV-1"),
                                                reference=1 * u.TeV)
    model.beta.error = 0.22 / LN10
    value, error, value10, error10 = beta_values(parameters_text(model))
    assert parameters_text(model).endswith("at reference energy 1 TeV")  # where the amplitude is given
    assert (value10, error10) == pytest.approx((0.37, 0.22))
    assert value == pytest.approx(0.37 / LN10, rel=1e-3)


def test_model_exports_say_the_beta_convention(sed, tmp_path):
    from gammapy.modeling.models import Models

    sed.refit("lp", include=["MAGIC"])
    beta = sed.state.refit_result.model.parameters["beta"]
    path = sed.save_model(tmp_path / "refit.yaml")
    text = path.read_text()
    assert text.startswith("# log-parabola beta: natural log")
    fit = yaml.safe_load(text)["fit"]
    assert "natural log" in fit["beta_convention"] and fit["statistics"] == {"H.E.S.S.": "profile", "MAGIC": "profile"}
    assert (fit["beta_log10"]["value"], fit["beta_log10"]["error"]) == pytest.approx((LN10 * beta.value,
                                                                                      LN10 * beta.error))
    assert Models.read(path)[0].spectral_model.beta.value == pytest.approx(beta.value)
    for suffix in (".ecsv", ".fits"):
        table = Table.read(sed.save_model(tmp_path / f"refit{suffix}"))
        rows = {row["name"]: row for row in table}
        assert rows["beta"]["value"] == pytest.approx(beta.value) and "natural log" in rows["beta"]["note"]
        assert (rows["beta_log10"]["value"], rows["beta_log10"]["error"]) == pytest.approx((LN10 * beta.value,
                                                                                            LN10 * beta.error))
        assert "natural log" in table.meta["BETACONV"] and table.meta["MODEL"] == "LogParabolaSpectralModel"
        assert "beta_log10 = ln(10) beta" in " ".join(table.meta["comments"])
    sed.refit("pl")
    table = Table.read(sed.save_model(tmp_path / "pl.ecsv"))
    assert "beta_log10" not in table["name"] and "BETACONV" not in table.meta
    assert not sed.save_model(tmp_path / "refit.txt") and "not .txt" in sed.message
