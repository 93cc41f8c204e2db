"""Name resolution: Sesame online (a loopback server that answers as Sesame does), the fallbacks offline.

Sesame offline (a refused connection, a server that never answers) is tested in test_resolver_offline.py.
"""

import pytest

from tests.support.servers import free_port
from tests.widgets.sesame_server import SesameServer
from widgets.target.resolver import (
    ArchiveTargets,
    NameNotFound,
    NameResolver,
    PortalNames,
    SesameClient,
    Unreachable,
)
from widgets.target.state import TargetState


@pytest.fixture(scope="module")
def sesame():
    with SesameServer() as server:
        yield server


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}/cgi-bin/nph-sesame"


class Known:
    """A source that knows one name (to test the chain without a network)."""

    label = "test names"

    def __init__(self, name, coord):
        self.name, self.coord = name, coord

    def resolve(self, name):
        from widgets.target.resolver import Resolution

        return Resolution(name, self.name, self.coord, self.label) if name == self.name else None


def test_sesame_online(sesame):
    found = SesameClient([sesame.url]).resolve("Crab")
    assert found.name == "M   1"
    assert found.coord.ra.deg == pytest.approx(83.63308) and found.coord.dec.deg == pytest.approx(22.0145)
    assert found.source == "Sesame (Simbad)"
    assert sesame.requests[-1] == "/cgi-bin/nph-sesame/-oxp/SNV?Crab"


def test_sesame_reports_the_database(sesame):
    assert SesameClient([sesame.url]).resolve("NGC 1068").source == "Sesame (NED)"


def test_sesame_unknown_name(sesame):
    assert SesameClient([sesame.url]).resolve("No Such Object 123") is None


def test_sesame_name_is_url_encoded(sesame):
    SesameClient([sesame.url]).resolve("PKS 2155-304")
    assert sesame.requests[-1].endswith("SNV?PKS%202155-304")


def test_sesame_mirror_used_when_first_is_down(sesame):
    found = SesameClient([closed_url(), sesame.url]).resolve("Crab")
    assert found.source == "Sesame (Simbad)"


def test_sesame_down_is_unreachable_and_not_retried_at_once(sesame):
    client = SesameClient([closed_url()])
    with pytest.raises(Unreachable):
        client.resolve("Crab")
    assert client.state == "down"
    client.urls = [sesame.url]  # even now up, it is not asked again within retry_after
    requests = len(sesame.requests)
    with pytest.raises(Unreachable, match="a moment ago") as info:
        client.resolve("Crab")
    assert info.value.phrase == "not reachable (offline?), asked again in 5 min"
    assert len(sesame.requests) == requests


def test_sesame_asked_again_after_retry_after(sesame):
    client = SesameClient([closed_url()], retry_after=0)
    with pytest.raises(Unreachable):
        client.resolve("Crab")
    client.urls = [sesame.url]
    assert client.resolve("Crab").source == "Sesame (Simbad)"  # asked alone, it is waited for
    assert client.state == "up"


def test_chain_falls_back_when_sesame_is_unreachable():
    from astropy.coordinates import SkyCoord

    crab = SkyCoord(83.6331, 22.0145, unit="deg")
    resolver = NameResolver([SesameClient([closed_url()]), Known("Crab", crab)])
    assert resolver.resolve("Crab").source == "test names"


def test_chain_message_says_where_it_looked(sesame):
    resolver = NameResolver([SesameClient([sesame.url]), PortalNames(f"http://127.0.0.1:{free_port()}")])
    with pytest.raises(NameNotFound) as info:
        resolver.resolve("No Such Object 123")
    assert str(info.value) == ("no position found for 'No Such Object 123'; unknown to Sesame (CDS); "
                               "could not ask local catalogs (offline?)")


def test_target_state_online(sesame):
    state = TargetState(resolver=NameResolver([SesameClient([sesame.url])]))
    assert state.search("Crab", "30 arcmin")
    assert state.status == "ok" and state.radius == pytest.approx(0.5)
    assert state.message == "M   1: 83.6331 +22.0145 (05:34:31.9 +22:00:52.2), radius 0.5 deg (Sesame (Simbad))"


@pytest.mark.parametrize("text, radius, message", [
    ("Crab", "0 deg", "The radius must be larger than zero, not 0 deg"),
    ("Crab", "-2 arcmin", "The radius must be larger than zero, not -2 arcmin"),
    ("Crab", "200 deg", "The radius must be at most 180 degrees, not 200 deg"),
    ("400 10", "1 deg", "RA must be between 0 and 360 degrees (0h to 24h), not 400"),
    ("10 -100", "1 deg", "Dec must be between -90 and +90 degrees, not -100"),
])
def test_target_state_messages(sesame, text, radius, message):
    state = TargetState(resolver=NameResolver([SesameClient([sesame.url])]))
    assert not state.search(text, radius)
    assert state.status == "error" and state.message == message and state.target is None


def test_target_state_unknown_name(sesame):
    state = TargetState(resolver=NameResolver([SesameClient([sesame.url])]))
    assert not state.search("No Such Object 123")
    assert state.message == "No position found for 'No Such Object 123'; unknown to Sesame (CDS)"


# -- offline: the portal's local catalogs and the archive's target names -------------------------------

OFFLINE_NAMES = {
    # name typed: (expected name, ra, dec), positions from gamma-cat
    "Crab": ("Crab nebula", 83.633, 22.0145),
    "Crab Nebula": ("Crab nebula", 83.633, 22.0145),
    "PKS 2155-304": ("PKS 2155-304", 329.717, -30.2256),
    "MSH 15-52": ("MSH 15-5-02", 228.321, -59.0817),
    "RX J1713.7-3946": ("RX J1713.7-3946", 258.1125, -39.6867),
}


@pytest.mark.requires_data
@pytest.mark.parametrize("typed", list(OFFLINE_NAMES))
def test_offline_names_from_local_catalogs(archive_server, typed):
    resolver = NameResolver([SesameClient([closed_url()]), PortalNames(archive_server.url)])
    found = resolver.resolve(typed)
    name, ra, dec = OFFLINE_NAMES[typed]
    assert found.name == name and found.source == "gamma-cat"
    assert found.coord.ra.deg == pytest.approx(ra, abs=1e-3)
    assert found.coord.dec.deg == pytest.approx(dec, abs=1e-3)


@pytest.mark.requires_data
def test_offline_candidates_for_a_partial_name(archive_server):
    resolver = NameResolver([PortalNames(archive_server.url)])
    with pytest.raises(NameNotFound) as info:
        resolver.resolve("Westerlund")
    assert sorted(info.value.candidates) == ["Westerlund 1", "Westerlund 2"]
    assert str(info.value).endswith("Did you mean Westerlund 2, Westerlund 1?")


@pytest.mark.requires_data
@pytest.mark.parametrize("typed, name", [("Crab", "Crab"), ("msh 15-52", "MSH 15-52"),
                                         ("RX J1713.7-3946", "RX J1713.7-3946")])
def test_offline_names_from_the_archive(archive_server, typed, name):
    archive = ArchiveTargets(archive_server.url + "/tap")
    found = archive.resolve(typed)
    assert found.name == name and found.source == "archive"
    assert "Crab" in archive.names()


@pytest.mark.requires_data
def test_archive_target_position_is_the_targets(archive_server):
    found = ArchiveTargets(archive_server.url + "/tap").resolve("Crab")
    assert found.coord.ra.deg == pytest.approx(83.633, abs=0.01)
    assert found.coord.dec.deg == pytest.approx(22.014, abs=0.01)


@pytest.mark.requires_data
def test_offline_chain_in_the_target_search(archive_server):
    """The widget's whole chain with Sesame unreachable: a clear message, then local catalogs answer and
    say that Sesame could not be asked."""
    resolver = NameResolver([SesameClient([closed_url()]), PortalNames(archive_server.url),
                             ArchiveTargets(archive_server.url + "/tap")])
    state = TargetState(resolver=resolver)
    assert not state.search("No Such Object 123")
    assert state.message == ("No position found for 'No Such Object 123'; unknown to local catalogs, archive "
                             "target names; Sesame (CDS) not reachable (offline?), asked again in 5 min")
    assert state.search("PKS 2155-304", "1 deg")
    assert state.source == "gamma-cat, Sesame (CDS) not reachable"
    assert state.target.dec.deg == pytest.approx(-30.2256, abs=1e-3)
    assert state.message.endswith(", radius 1 deg (gamma-cat, Sesame (CDS) not reachable)")
