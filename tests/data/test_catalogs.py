"""The catalog registry: present, partly present and absent catalogs; names, cones, spectra."""

from __future__ import annotations

import shutil

import pytest

from portal.catalogs import CATALOGS, CatalogRegistry, CatalogUnavailable, normalize_name
from tests.conftest import gammapy_data

ALL_TAGS = {"3fgl", "2fhl", "3fhl", "hgps", "gamma-cat", "2hwc", "3hwc", "1lhaaso"}


@pytest.fixture(scope="module")
def registry():
    return CatalogRegistry([gammapy_data()])


def test_registry_knows_every_catalog_the_sed_needs():
    assert set(CATALOGS) == ALL_TAGS


def test_absent_catalogs_are_reported_not_raised(tmp_path):
    reg = CatalogRegistry([tmp_path / "nothing-here", None])
    statuses = reg.status()
    assert {s.tag for s in statuses} == ALL_TAGS
    assert not any(s.available for s in statuses)
    hgps = next(s for s in statuses if s.tag == "hgps")
    assert "not available" in hgps.message and "hgps_catalog_v1.fits.gz" in hgps.message
    assert "GAMMAPY_DATA" in hgps.message
    assert reg.available() == []
    assert reg.resolve("Crab") == []
    assert reg.cone(83.6, 22.0, 1.0) == []
    with pytest.raises(CatalogUnavailable, match="not available"):
        reg.catalog("3fgl")
    with pytest.raises(CatalogUnavailable, match="unknown catalog 'nope'"):
        reg.catalog("nope")


def test_registry_from_env_without_gammapy_data(tmp_path):
    reg = CatalogRegistry.from_env({"PORTAL_DATA_DIR": str(tmp_path)})
    assert reg.roots == [tmp_path / "gammapy-data"]
    assert reg.available() == []


def test_normalize_name():
    assert normalize_name(" MSH 15-52 ") == normalize_name("msh15-52") == normalize_name("MSH_15-52")


@pytest.mark.requires_data
def test_partly_present_catalogs(tmp_path):
    (tmp_path / "catalogs").mkdir()
    shutil.copy(gammapy_data() / "catalogs/2HWC.ecsv", tmp_path / "catalogs/2HWC.ecsv")
    reg = CatalogRegistry([tmp_path])
    assert reg.available() == ["2hwc"]
    assert [m.catalog for m in reg.resolve("2HWC J0534+220")] == ["2hwc"]
    assert not next(s for s in reg.status() if s.tag == "3fgl").available


@pytest.mark.requires_data
def test_all_catalogs_present_in_gammapy_data(registry):
    assert set(registry.available()) == ALL_TAGS
    assert all(s.available and s.path.is_file() for s in registry.status())


@pytest.mark.requires_data
@pytest.mark.parametrize("name, ra, dec", [
    ("Crab", 83.633, 22.014), ("Crab Nebula", 83.633, 22.014), ("PKS 2155-304", 329.717, -30.226),
    ("MSH 15-52", 228.5, -59.16), ("MSH15-52", 228.5, -59.16), ("RX J1713.7-3946", 258.2, -39.7),
    ("HESS J1514-591", 228.5, -59.16), ("crab nebula", 83.633, 22.014),
])
def test_names_and_aliases_resolve_offline(registry, name, ra, dec):
    matches = registry.resolve(name)
    assert matches, name
    for m in matches:  # every catalog agrees on where it is, within 0.3 deg
        assert abs(m.ra - ra) * 0.8 < 0.3 and abs(m.dec - dec) < 0.3, m


@pytest.mark.requires_data
def test_unknown_name_resolves_to_nothing(registry):
    assert registry.resolve("Not A Source 123") == []


@pytest.mark.requires_data
def test_cone_search_nearest_first(registry):
    found = registry.cone(83.633, 22.0145, 0.2)
    assert {m.catalog for m in found} >= {"gamma-cat", "3fgl", "3fhl", "2fhl", "2hwc", "3hwc", "1lhaaso"}
    assert [m.separation for m in found] == sorted(m.separation for m in found)
    assert all(m.separation <= 0.2 for m in found)
    assert registry.cone(83.633, 22.0145, 0.2, catalogs=["hgps"]) == []  # HGPS covers the Galactic plane only
    with pytest.raises(ValueError, match="radius"):
        registry.cone(0, 0, 0)


@pytest.mark.requires_data
def test_flux_points_and_spectral_models(registry):
    hgps = registry.source("hgps", "MSH 15-52")
    assert hgps.name == "HESS J1514-591"
    points = hgps.flux_points()
    assert points is not None and points.geom.axes["energy"].nbin >= 3
    assert hgps.spectral_model() is not None
    crab = registry.source("3fhl", "Crab Nebula")
    assert crab.flux_points() is not None
    e_min, e_max = crab.energy_range()
    assert e_min == pytest.approx(0.01) and e_max == pytest.approx(2.0)
    # catalogs without flux points say so with None, not an exception
    hawc = registry.source("3hwc", "3HWC J0534+220")
    assert hawc.flux_points() is None and hawc.spectral_model() is not None
    lhaaso = registry.source("1lhaaso", "Crab")
    assert set(lhaaso.spectral_models()) == {"WCDA", "KM2A"}
    with pytest.raises(CatalogUnavailable, match="no source named"):
        registry.source("gamma-cat", "Not A Source")
