"""Name resolution with Sesame offline: the local catalogs answer at once; a Sesame that refuses or never
answers is not waited on, and once it is known to be unreachable it is not asked (issue 21, point 8).

No assertion here is on wall time: a Sesame that holds every request for 60 s (or a client whose own
timeout is minutes) shows that an answer did not wait for it when the answer is there while Sesame's
request is still under way.
"""

import time

import pytest
from astropy.coordinates import SkyCoord

from tests.support.servers import free_port
from tests.widgets.sesame_server import SesameServer
from tests.widgets.silent_server import SilentServer
from widgets.target.resolver import (
    NameNotFound,
    NameResolver,
    PortalNames,
    Resolution,
    SesameClient,
    Unreachable,
)
from widgets.target.sesame import MAX_PENDING
from widgets.target.state import default_resolver

CRAB = SkyCoord(83.6331, 22.0145, unit="deg")
OFFLINE_MESSAGE = ("no position found for 'No Such Object 123'; unknown to test names; "
                   "Sesame (CDS) not reachable (offline?), asked again in 5 min")


def closed_url() -> str:
    return f"http://127.0.0.1:{free_port()}/cgi-bin/nph-sesame"


class Known:
    """A local source that knows one name."""

    label = "test names"

    def __init__(self, name="Crab", coord=CRAB):
        self.name, self.coord = name, coord
        self.asked = 0

    def resolve(self, name):
        self.asked += 1
        return Resolution(name, self.name, self.coord, self.label) if name == self.name else None


@pytest.fixture()
def silent():
    with SilentServer(hold=60) as server:
        yield server


def test_local_answer_does_not_wait_for_a_silent_sesame(silent):
    sesame = SesameClient([silent.url], timeout=600)  # its own timeout would hold a waiter for minutes
    found = NameResolver([sesame, Known()]).resolve("Crab")
    assert found.source == "test names" and found.note == ""  # not known to be down: no note
    assert sesame.pending == 1 and sesame.state == "unknown"  # its request is still under way
    assert silent.wait_for(1) and silent.held == 1  # and Sesame holds it


@pytest.mark.requires_data
def test_crab_from_the_local_catalogs_with_a_silent_sesame(archive_server, silent):
    sesame = SesameClient([silent.url], timeout=600)
    found = NameResolver([sesame, PortalNames(archive_server.url)]).resolve("Crab")
    assert (found.name, found.source) == ("Crab nebula", "gamma-cat")
    assert found.coord.separation(CRAB).deg < 1e-3
    assert sesame.pending == 1 and silent.wait_for(1) and silent.held == 1


def test_silent_sesame_is_given_up_at_its_deadline_and_remembered(silent):
    sesame = SesameClient([silent.url], timeout=0.5)  # a name no local source knows waits for its deadline
    local = Known()
    resolver = NameResolver([sesame, local])
    with pytest.raises(NameNotFound) as info:
        resolver.resolve("No Such Object 123")
    assert str(info.value) == OFFLINE_MESSAGE
    assert sesame.state == "down" and silent.wait_for(1) and silent.held == 1  # given up while Sesame holds it
    # known to be down: not asked again, and said so
    assert resolver.resolve("Crab").note == "Sesame (CDS) not reachable"
    with pytest.raises(NameNotFound, match=r"Sesame \(CDS\) not reachable \(offline\?\), asked again in 5 min"):
        resolver.resolve("Another Unknown Thing")
    assert silent.received == 1 and local.asked == 3


def test_unknown_name_once_offline_is_known_does_not_wait(silent):
    sesame = SesameClient([closed_url()])  # a refused connection
    resolver = NameResolver([sesame, Known()])
    with pytest.raises(NameNotFound) as info:
        resolver.resolve("No Such Object 123")
    assert str(info.value) == OFFLINE_MESSAGE and sesame.state == "down"
    sesame.urls = [silent.url]  # were it asked now, the lookup would wait on a Sesame that never answers
    with pytest.raises(NameNotFound) as info:
        resolver.resolve("No Such Object 123")
    assert str(info.value) == OFFLINE_MESSAGE
    assert silent.received == 0 and sesame.pending == 0
    found = resolver.resolve("Crab")
    assert found.source == "test names" and found.note == "Sesame (CDS) not reachable"


def test_silent_sesame_requests_do_not_pile_up(silent):
    sesame = SesameClient([silent.url], timeout=600)
    resolver = NameResolver([sesame, Known()])
    for _ in range(MAX_PENDING + 2):
        assert resolver.resolve("Crab").source == "test names"
    assert sesame.pending == MAX_PENDING
    assert silent.wait_for(MAX_PENDING) and silent.received == MAX_PENDING


def test_sesame_switched_off_is_never_asked(monkeypatch):
    monkeypatch.setenv("PORTAL_OFFLINE", "1")
    sesame = default_resolver(portal=f"http://127.0.0.1:{free_port()}").sources[0]
    assert isinstance(sesame, SesameClient) and sesame.state == "down"
    with pytest.raises(Unreachable) as info:
        sesame.start("Crab")
    assert info.value.phrase == "not asked (PORTAL_OFFLINE is set)"
    found = NameResolver([sesame, Known()]).resolve("Crab")
    assert found.source == "test names" and found.note == ""  # switched off on purpose: no note


# -- Sesame reachable: it still gives its answer -----------------------------------------------------------
def test_reachable_sesame_answer_wins_once_it_is_known_up():
    with SesameServer() as server:
        sesame = SesameClient([server.url])
        resolver = NameResolver([sesame, Known()])
        with pytest.raises(NameNotFound, match="unknown to Sesame"):
            resolver.resolve("No Such Object 123")  # nothing local: waits for Sesame, which answers
        assert sesame.state == "up"
        found = resolver.resolve("Crab")  # known up: its answer is waited for and wins, as before
        assert (found.name, found.source) == ("M   1", "Sesame (Simbad)")
        assert resolver.resolve("NGC 1068").source == "Sesame (NED)"  # and it adds names nothing local knows
        assert server.requests[-1].endswith("SNV?NGC%201068")


def test_retry_of_a_sesame_still_down_does_not_wait(silent):
    sesame = SesameClient([closed_url()], retry_after=0, timeout=600)  # the retry is due at once
    resolver = NameResolver([sesame, Known()])
    with pytest.raises(NameNotFound):
        resolver.resolve("No Such Object 123")
    sesame.urls = [silent.url]
    with pytest.raises(NameNotFound) as info:  # nothing local knows it, yet the retry is not waited for
        resolver.resolve("No Such Object 123")
    assert str(info.value).endswith("Sesame (CDS) not reachable (offline?), being asked again")
    assert sesame.pending == 1 and silent.wait_for(1) and silent.held == 1


def test_sesame_back_after_an_outage_is_used_again():
    with SesameServer() as server:
        sesame = SesameClient([closed_url()], retry_after=0)
        resolver = NameResolver([sesame, Known()])
        with pytest.raises(NameNotFound):
            resolver.resolve("No Such Object 123")
        assert sesame.state != "up"
        sesame.urls = [server.url]
        try:
            resolver.resolve("PKS 2155-304")  # the retry: answered now, or marks Sesame up when it answers
        except NameNotFound as exc:
            assert str(exc).endswith("being asked again")
        assert wait_until(lambda: sesame.state == "up")
        assert resolver.resolve("PKS 2155-304").source == "Sesame (Simbad)"


def wait_until(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


@pytest.mark.requires_data
def test_reachable_sesame_with_the_local_catalogs(archive_server):
    with SesameServer() as server:
        resolver = NameResolver([SesameClient([server.url]), PortalNames(archive_server.url)])
        with pytest.raises(NameNotFound):
            resolver.resolve("No Such Object 123")  # nothing local: waits for Sesame, which answers
        crab = resolver.resolve("Crab")
        assert crab.source == "Sesame (Simbad)" and crab.size_note == "point-like in gamma-cat (Crab nebula)"
