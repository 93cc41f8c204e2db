"""The catalogs over HTTP (`/catalogs` on `portal serve`): counterparts, flux points, models, errors.

Read with the widgets' own client from the session's running server; the answers are compared
with gammapy's catalog objects read directly from $GAMMAPY_DATA.
"""

from __future__ import annotations

import io
from urllib.parse import quote

import numpy as np
import pytest
import yaml
from astropy.io import fits
from astropy.table import Table

from portal.catalogs import CatalogRegistry
from tests.conftest import gammapy_data
from widgets.client import PortalClient, ServiceError

pytestmark = pytest.mark.requires_data

CRAB = (83.633, 22.014)
MSH_15_52 = (228.529, -59.158)


@pytest.fixture(scope="module")
def client(portal_server):
    c = PortalClient(portal_server.url, token="")  # the catalogs are public, like TAP reads
    yield c
    c.close()


@pytest.fixture(scope="module")
def registry():
    return CatalogRegistry([gammapy_data()])


def cone(client, position, radius):
    return client.get_json("/catalogs/cone", params={"ra": position[0], "dec": position[1], "radius": radius})


def test_counterparts_of_the_crab(client):
    found = cone(client, CRAB, 0.2)
    tags = {c["tag"] for c in found}
    assert {"3fgl", "3fhl", "gamma-cat"} <= tags
    assert tags & {"2hwc", "3hwc"}, "no HAWC counterpart"
    names = {(c["tag"], c["name"]) for c in found}
    assert ("3fhl", "3FHL J0534.5+2201") in names and ("gamma-cat", "Crab nebula") in names
    separations = [c["separation"] for c in found]
    assert separations == sorted(separations) and max(separations) <= 0.2
    assert all({"tag", "name", "separation", "ra", "dec", "catalog"} <= set(c) for c in found)


def test_counterparts_of_msh_15_52_include_hgps(client):
    found = cone(client, MSH_15_52, 0.2)
    assert ("hgps", "HESS J1514-591") in {(c["tag"], c["name"]) for c in found}
    assert cone(client, (0.0, -89.0), 0.1) == []  # nothing near the south pole


@pytest.mark.parametrize("tag,name", [("3fhl", "3FHL J0534.5+2201"), ("gamma-cat", "Crab nebula"),
                                      ("3fgl", "3FGL J0534.5+2201"), ("hgps", "HESS J1514-591")])
def test_flux_points_are_the_catalogs_own(client, registry, tag, name):
    from gammapy.estimators import FluxPoints

    response = client.get(f"/catalogs/{tag}/{quote(name, safe='')}/flux_points")
    assert response.headers["content-type"] == "application/fits"
    hdus = fits.open(io.BytesIO(response.content))
    assert hdus["FLUXPOINTS"].header["OBJECT"] == name and hdus["FLUXPOINTS"].header["CATALOG"] == tag
    table = Table.read(hdus["FLUXPOINTS"])
    source = registry.source(tag, name)
    ours = source.flux_points()
    served = FluxPoints.from_table(table, format="gadf-sed")
    assert served.sed_type_init == ours.sed_type_init
    kind = ours.sed_type_init
    np.testing.assert_allclose(getattr(served, kind).quantity.to_value(getattr(ours, kind).unit),
                               getattr(ours, kind).quantity.value, rtol=1e-6)
    np.testing.assert_allclose(served.energy_ref.to_value("TeV"), ours.energy_ref.to_value("TeV"), rtol=1e-6)


def test_model_is_gammapy_yaml_with_errors_and_range(client, registry):
    from gammapy.modeling.models import Models

    text = client.get("/catalogs/gamma-cat/Crab%20nebula/model").text
    models = Models.from_yaml(text)
    ours = registry.source("gamma-cat", "Crab nebula").spectral_model()
    served = models["Crab nebula"].spectral_model
    assert type(served) is type(ours)
    for p in ours.parameters:
        assert served.parameters[p.name].value == pytest.approx(p.value, rel=1e-6)
        assert served.parameters[p.name].error == pytest.approx(p.error, rel=1e-6, abs=1e-30)
    meta = yaml.safe_load(text)
    assert meta["energy_range"]["Crab nebula"] == pytest.approx([0.44, 40.0], rel=1e-6)
    assert meta["source"]["catalog"] == "gamma-cat"


def test_model_of_each_lhaaso_component(client):
    from gammapy.modeling.models import Models

    text = client.get(f"/catalogs/1lhaaso/{quote('1LHAASO J0534+2200u', safe='')}/model").text
    models = Models.from_yaml(text)
    assert models.names == ["1LHAASO J0534+2200u WCDA", "1LHAASO J0534+2200u KM2A"]
    assert yaml.safe_load(text)["energy_range"]["1LHAASO J0534+2200u KM2A"] == [25.0, 1000.0]


def test_no_flux_points_is_a_404_with_a_sentence(client):
    with pytest.raises(ServiceError) as info:
        client.get(f"/catalogs/3hwc/{quote('3HWC J0534+220', safe='')}/flux_points")
    assert info.value.status == 404
    assert info.value.message.startswith("HAWC 3HWC gives no flux points for 3HWC J0534+220")
    client.get(f"/catalogs/3hwc/{quote('3HWC J0534+220', safe='')}/model")  # its model is there


@pytest.mark.parametrize("path,status,words", [
    ("/catalogs/nope/Crab/model", 404, "Unknown catalog 'nope'"),
    ("/catalogs/3fhl/Not%20a%20source/flux_points", 404, "Fermi-LAT 3FHL has no source named 'Not a source'"),
    ("/catalogs/cone?ra=83.6&dec=22", 400, "The radius parameter is required"),
    ("/catalogs/cone?ra=abc&dec=22&radius=1", 400, "The ra parameter, 'abc', is not a number"),
    ("/catalogs/cone?ra=83.6&dec=-91&radius=1", 400, "The dec parameter must be between -90 and 90"),
    ("/catalogs/cone?ra=83.6&dec=22&radius=0", 400, "The radius parameter must be more than 0"),
    ("/catalogs/cone?ra=83.6&dec=22&radius=nan", 400, "The radius parameter must be between 0 and 30"),
])
def test_bad_requests_are_sentences(client, path, status, words):
    with pytest.raises(ServiceError) as info:
        client.get(path)
    assert info.value.status == status
    assert words in info.value.message and "Traceback" not in info.value.message


def test_catalog_list(client):
    listed = client.get_json("/catalogs")
    assert {c["tag"] for c in listed} == {"3fgl", "2fhl", "3fhl", "hgps", "gamma-cat", "2hwc", "3hwc", "1lhaaso"}
    assert all(c["available"] for c in listed)
