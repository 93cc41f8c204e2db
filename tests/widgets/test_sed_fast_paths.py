"""The SED's faster paths give gammapy's own results: flux points read with the table's axes read once
(:func:`widgets.sed.loading.points_from_table`) equal ``FluxPoints.from_table``, and the refit's datasets
(:mod:`widgets.sed.fitdata`) give gammapy's statistic and gammapy's fit. Real data: gammapy-data's H.E.S.S.
Crab points (a likelihood SED with profiles, as a job writes them) and the catalogs' points as ``/catalogs``
serves them."""

from __future__ import annotations

import io
from pathlib import Path

import astropy.units as u
import numpy as np
import pytest
from astropy.table import Table

from tests.conftest import gammapy_data

pytestmark = pytest.mark.requires_data

CATALOG_SOURCES = [("3fhl", "3FHL J0534.5+2201"), ("2fhl", "2FHL J0534.5+2201"), ("hgps", "HESS J1825-137"),
                   ("gamma-cat", "Crab nebula")]


@pytest.fixture(scope="module")
def crab_path() -> Path:
    return gammapy_data() / "estimators/crab_hess_fp/crab_hess_fp.fits"


@pytest.fixture(scope="module")
def crab_points(crab_path):
    from gammapy.estimators import FluxPoints

    return FluxPoints.read(crab_path)


def assert_same_points(ours, theirs) -> None:
    assert type(ours) is type(theirs)
    assert ours.available_quantities == theirs.available_quantities
    assert ours.sed_type_init == theirs.sed_type_init and ours.meta == theirs.meta
    assert ours.geom == theirs.geom
    for name in theirs.available_quantities:
        a, b = getattr(ours, name), getattr(theirs, name)
        assert a.geom == b.geom and a.unit == b.unit and a.data.dtype == b.data.dtype, name
        np.testing.assert_array_equal(np.ma.getdata(a.data), np.ma.getdata(b.data), err_msg=name)
        np.testing.assert_array_equal(np.ma.getmaskarray(a.data), np.ma.getmaskarray(b.data), err_msg=name)
    types = ("dnde", "e2dnde", "flux", "eflux") if theirs.is_convertible_to_flux_sed_type else ("dnde", "e2dnde")
    for sed_type in types:
        np.testing.assert_array_equal(getattr(ours, sed_type).quantity, getattr(theirs, sed_type).quantity)
    sed_type = "likelihood" if "stat_scan" in theirs.available_quantities else "dnde"
    assert ours.to_table(sed_type=sed_type).pformat() == theirs.to_table(sed_type=sed_type).pformat()


def fits_bytes(table: Table) -> bytes:
    from astropy.io import fits

    out = io.BytesIO()
    fits.HDUList([fits.PrimaryHDU(), fits.BinTableHDU(table, name="FLUXPOINTS")]).writeto(out)
    return out.getvalue()


def test_a_likelihood_sed_reads_as_gammapy_reads_it(crab_path):
    from gammapy.estimators import FluxPoints

    from widgets.sed.loading import flux_points_table, points_from_table, read_flux_points

    data = crab_path.read_bytes()
    table = flux_points_table(data)
    theirs = FluxPoints.from_table(table, format="gadf-sed")
    assert_same_points(read_flux_points(data), theirs)
    assert_same_points(points_from_table(table), theirs)  # the table is left as it was (copied)
    assert_same_points(FluxPoints.from_table(table, format="gadf-sed"), theirs)


def test_a_running_jobs_points_read_as_gammapy_reads_them(crab_path):
    """A job still running publishes its file with the bins to come as NaN rows (masked columns when read)."""
    from gammapy.estimators import FluxPoints

    from widgets.sed.loading import flux_points_table, read_flux_points

    table = flux_points_table(crab_path.read_bytes())
    for name in table.colnames:
        if name not in ("e_min", "e_max", "e_ref", "ref_dnde", "ref_flux", "ref_eflux", "ref_e2dnde") \
                and table[name].dtype.kind == "f":
            table[name][3:] = np.nan
    data = fits_bytes(table)
    assert_same_points(read_flux_points(data), FluxPoints.from_table(flux_points_table(data), format="gadf-sed"))


@pytest.mark.parametrize("tag, name", CATALOG_SOURCES)
def test_catalog_points_read_as_gammapy_reads_them(tag, name):
    """The catalogs' points as /catalogs serves them, with and without the source's model as reference."""
    from gammapy.estimators import FluxPoints
    from gammapy.modeling.models import SkyModel

    from portal.catalogs import CatalogRegistry
    from portal.catalogs.formats import flux_points_fits
    from widgets.sed.loading import flux_points_table, read_flux_points

    source = CatalogRegistry([gammapy_data()]).source(tag, name)
    data = flux_points_fits(source)
    model = source.spectral_model()
    reference = SkyModel(spectral_model=model, name="reference")
    theirs = FluxPoints.from_table(flux_points_table(data), format="gadf-sed", reference_model=reference)
    assert_same_points(read_flux_points(data, reference_model=model), theirs)
    ecsv = io.StringIO()
    flux_points_table(data).write(ecsv, format="ascii.ecsv")
    text = ecsv.getvalue().encode()
    assert_same_points(read_flux_points(text, reference_model=model),
                       FluxPoints.from_table(flux_points_table(text), format="gadf-sed", reference_model=reference))


def test_what_gammapy_cannot_read_is_not_read_either(crab_path):
    from widgets.sed.loading import SEDInputError, read_flux_points

    table = Table.read(crab_path, hdu="FLUXPOINTS")
    del table.meta["SED_TYPE"]
    table.remove_columns(["norm", "norm_err", "norm_errn", "norm_errp", "norm_ul", "stat_scan", "stat"])
    with pytest.raises(SEDInputError, match="as gadf flux points"):
        read_flux_points(fits_bytes(table))


def profile_datasets(points, model, name: str = "ours"):
    from gammapy.datasets import FluxPointsDataset
    from gammapy.modeling.models import SkyModel

    from widgets.sed.fitdata import dataset_class

    ours = dataset_class()(models=[SkyModel(spectral_model=model, name=name)], data=points, stat_type="profile")
    theirs = FluxPointsDataset(models=[SkyModel(spectral_model=model.copy(), name=f"{name}-gammapy")], data=points,
                               stat_type="profile")
    return ours, theirs


def test_the_profile_statistic_of_all_bins_at_once_is_gammapys(crab_points):
    from gammapy.modeling.models import ExpCutoffPowerLawSpectralModel, LogParabolaSpectralModel

    rng = np.random.default_rng(7)
    # a bin whose profile has a NaN (gammapy leaves it out) and one whose norm runs off the scan (extrapolated)
    holed = crab_points.copy()
    holed.stat_scan.data[1, 3] = np.nan
    for points in (crab_points, holed):
        for _ in range(8):
            model = LogParabolaSpectralModel(alpha=rng.uniform(1.5, 3.2), beta=rng.uniform(-0.1, 0.5),
                                             amplitude=rng.uniform(5e-12, 2e-10) * u.Unit("cm-2 s-1 TeV-1"))
            ours, theirs = profile_datasets(points, model)
            assert ours.stat_sum() == pytest.approx(theirs.stat_sum(), rel=1e-12, abs=1e-12)
    # a model in other units: gammapy evaluates it, the statistic is the same
    model = ExpCutoffPowerLawSpectralModel(amplitude=3e-11 * u.Unit("m-2 s-1 GeV-1") * 1e4 * 1e-3,
                                           lambda_=0.1 * u.Unit("GeV-1") * 1e-3, index=2.3)
    ours, theirs = profile_datasets(crab_points, model)
    assert not ours._flux_pred_plain() and ours.stat_sum() == pytest.approx(theirs.stat_sum(), rel=1e-12)


def test_the_fit_datasets_add_the_priors_as_gammapy_does(crab_points):
    from gammapy.datasets import Datasets
    from gammapy.modeling.models import GaussianPrior, PowerLawSpectralModel

    from widgets.sed.fitdata import datasets_class

    model = PowerLawSpectralModel(index=2.4, amplitude="3e-11 cm-2 s-1 TeV-1")
    ours, theirs = profile_datasets(crab_points, model)
    fit_datasets, plain = datasets_class()([ours]), Datasets([theirs])
    assert fit_datasets.stat_sum() == pytest.approx(plain.stat_sum(), rel=1e-12)
    for m in (ours.models[0], theirs.models[0]):
        m.spectral_model.index.prior = GaussianPrior(mu=2.6, sigma=0.1)
    assert fit_datasets.stat_sum() == pytest.approx(plain.stat_sum(), rel=1e-12)
    prior = ours.models.parameters.prior_stat_sum()
    assert prior > 1 and fit_datasets.stat_sum() == pytest.approx(ours.stat_sum() + prior, rel=1e-12)  # it counts


@pytest.mark.parametrize("kind", ["pl", "lp", "ecpl", "bpl"])
def test_the_refit_is_gammapys_fit_to_tight_tolerance(crab_points, kind):
    from gammapy.datasets import FluxPointsDataset
    from gammapy.modeling import Fit
    from gammapy.modeling.models import SkyModel

    from widgets.sed.refit import refit, start_model

    ours = refit(kind, crab_points)
    plain = start_model(kind, crab_points)
    dataset = FluxPointsDataset(models=[SkyModel(spectral_model=plain, name="plain")], data=crab_points,
                                stat_type="profile")
    result = Fit().run([dataset])
    assert ours.success == result.success
    for p in ours.model.parameters.free_parameters:
        theirs = plain.parameters[p.name]
        assert p.value == pytest.approx(theirs.value, rel=1e-6), p.name
        assert p.error == pytest.approx(theirs.error, rel=1e-4), p.name
    assert ours.result.total_stat == pytest.approx(result.total_stat, rel=1e-9)
    assert ours.result.nfev == result.nfev
