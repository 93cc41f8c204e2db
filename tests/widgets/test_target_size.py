"""The target's angular size: from the real local catalogs ($GAMMAPY_DATA) through the resolver,
the target search and the session into the launcher's on-region (``phys.angSize;src``)."""

from __future__ import annotations

import math

import pytest
from astropy.coordinates import SkyCoord

from portal.catalogs import CatalogRegistry
from portal.catalogs.extent import SourceSize
from portal.resolver.service import NameService
from tests.conftest import gammapy_data
from tests.widgets.sesame_server import SesameServer
from widgets.client import PortalClient
from widgets.jobs.launcher import JobLauncher
from widgets.jobs.prefill import CONTAINMENT_70, region_radius
from widgets.links import connect
from widgets.target.resolver import NameResolver, PortalNames, SesameClient
from widgets.target.state import TargetState
from widgets.target.view import TargetSearch

pytestmark = pytest.mark.requires_data


@pytest.fixture(scope="module")
def names():
    return NameService(CatalogRegistry([gammapy_data()]))


@pytest.fixture(scope="module")
def client(portal_server, portal_token):
    c = PortalClient(portal_server.url, portal_token)
    yield c
    c.close()


# -- the resolver (portal side), against the real catalogs ---------------------------------------
def test_point_like_source_has_no_size(names):
    answer = names.resolve("Crab")
    assert answer.matches[0].name == "Crab nebula"
    assert answer.size is None and answer.size_note == "point-like in gamma-cat (Crab nebula)"
    assert answer.to_json()["size"] is None


def test_hgps_size_is_preferred_and_says_where_it_came_from(names):
    answer = names.resolve("MSH 15-52")  # gamma-cat and HGPS (Identified_Object) both know it
    size = answer.size
    assert (size.catalog, size.label, size.source, size.column) == ("hgps", "HGPS", "HESS J1514-591", "Size")
    assert size.model == "gaussian"
    assert size.radius == pytest.approx(0.1447, abs=1e-4) and size.region == pytest.approx(0.2151, abs=1e-4)
    assert answer.size_note.startswith("HGPS: Gaussian sigma 0.145 deg (Size of HESS J1514-591)")
    body = answer.to_json()
    assert body["size"]["catalog"] == "hgps" and "row" not in body["matches"][0]


def test_shells_and_other_catalogs(names):
    vela_jr = names.resolve("Vela Junior").size
    assert (vela_jr.catalog, vela_jr.model, vela_jr.radius) == ("hgps", "shell", 1.0)
    cta1 = names.resolve("CTA 1").size  # northern: not in HGPS, a Gaussian in gamma-cat
    assert (cta1.catalog, cta1.model, cta1.column) == ("gamma-cat", "gaussian", "morph_sigma")
    assert cta1.radius == pytest.approx(0.3)
    w44 = names.resolve("W 44").size  # only the Fermi-LAT catalogs know it: 3FHL's ring
    assert (w44.catalog, w44.model, w44.column) == ("3fhl", "ring", "Model_SemiMajor")
    assert names.resolve("HESS J1018-589 A").size_note.startswith("point-like in HGPS")  # only a Size_UL
    assert names.resolve("PKS 2155-304").size is None  # gamma-cat gives no morphology: nothing said


def test_http_answer_carries_the_size(client):
    body = client.get_json("/resolver", params={"name": "MSH 15-52"})
    assert body["size"]["catalog"] == "hgps" and body["size"]["region"] == pytest.approx(0.215, abs=1e-3)
    assert body["matches"][0]["name"] and "size_note" in body
    found = PortalNames(client.url, client=client).resolve("MSH 15-52")
    assert found.size == SourceSize.from_json(body["size"]) and found.size_note == body["size_note"]


def test_sesame_position_gets_the_local_size(client):
    """Sesame gives no sizes: the local catalogs' size of the same source is added to its answer."""
    portal = PortalNames(client.url, client=client)
    with SesameServer() as sesame:
        resolver = NameResolver([SesameClient([sesame.url]), portal])
        msh = resolver.resolve("MSH 15-52")
        assert msh.source == "Sesame (Simbad)" and msh.size.catalog == "hgps"
        crab = resolver.resolve("Crab")
        assert crab.size is None and crab.size_note == "point-like in gamma-cat (Crab nebula)"
    far = SkyCoord(10, 10, unit="deg")
    assert portal.size("MSH 15-52", far) is None  # a local source of that name elsewhere is another source


# -- the on-region rule ----------------------------------------------------------------------------
def test_region_radius_contains_the_source():
    def size(model, radius, region=None):
        return SourceSize(radius, model, "x", "X", "src", "col", region)

    assert region_radius(size("gaussian", 0.3), 0.11)[0] == pytest.approx(math.hypot(CONTAINMENT_70 * 0.3, 0.11))
    assert region_radius(size("gaussian", 1e-6), 0.11)[0] == pytest.approx(0.11)  # point-like: the default
    assert region_radius(size("shell", 0.5), 0.11)[0] == pytest.approx(0.61)
    assert region_radius(size("gaussian", 0.3, region=0.42), 0.11)[0] == 0.42  # the catalog's own region
    assert CONTAINMENT_70 == pytest.approx(1.5518, abs=1e-4)


# -- the launcher, wired to a target search on the real resolver --------------------------------------
@pytest.fixture()
def wired(client):
    target = TargetSearch(TargetState(resolver=NameResolver([PortalNames(client.url, client=client)])),
                          background=False)
    launcher = JobLauncher(definition="spectrum", client=client, background=False)
    links = connect(target=target, launcher=launcher)
    yield target, launcher
    links.unlink()


def test_point_like_target_keeps_the_default(wired):
    target, launcher = wired
    target.search("Crab")
    assert target.size is None
    assert launcher.values["on_radius"] == pytest.approx(0.11)  # the definition's default
    assert launcher.state.notes["on_radius"] == ("on_radius 0.11 deg, the default for a point-like source "
                                                 "(Crab nebula: no catalog size)")
    assert launcher._problem_labels["on_radius"].value.count("point-like") == 1


def test_extended_target_gets_the_catalog_region(wired):
    target, launcher = wired
    target.search("MSH 15-52")
    assert target.size.catalog == "hgps" and "size HGPS" in target.state.message
    assert launcher.values["on_radius"] == pytest.approx(0.215)  # HGPS RSpec of HESS J1514-591
    name = target.name  # the resolver's name for it (gamma-cat's "MSH 15-5-02")
    assert f"on_radius 0.215 deg from HGPS size of {name} (Size 0.145 deg; RSpec, the spectrum region of " \
           "HESS J1514-591)" in launcher.state.summary
    assert launcher._inputs["on_radius"].value == "0.215"
    assert f"HGPS size of {name}" in launcher._problem_labels["on_radius"].value
    target.search("CTA 1")  # gamma-cat's Gaussian: 70 % containment with the PSF
    assert launcher.values["on_radius"] == pytest.approx(math.hypot(CONTAINMENT_70 * 0.3, 0.11), abs=1e-3)
    assert "from gamma-cat size of CTA 1" in launcher.state.summary
    target.search("Vela Junior")  # HGPS shell of 1 deg, RSpec 1 deg: the largest the job allows
    assert launcher.values["on_radius"] == pytest.approx(1.0)
    target.search("Crab")
    assert launcher.values["on_radius"] == pytest.approx(0.11)


def test_typed_radius_survives_a_target_change(wired):
    target, launcher = wired
    target.search("MSH 15-52")
    launcher._inputs["on_radius"].value = "0.3"  # typed by the user
    assert "on_radius" not in launcher.state.notes
    for name in ("Vela Junior", "Crab", "CTA 1"):
        target.search(name)
        assert launcher.values["on_radius"] == pytest.approx(0.3)
        assert "on_radius" not in launcher.state.summary
    assert launcher.values["ra"] == pytest.approx(1.65, abs=0.5)  # untouched fields still follow the target
    launcher.state.reset()
    assert launcher.values["on_radius"] == pytest.approx(math.hypot(CONTAINMENT_70 * 0.3, 0.11), abs=1e-3)
