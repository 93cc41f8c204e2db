"""Background work is on: I/O in worker threads, every trait change in the loop's thread (here the test's)."""

from __future__ import annotations

import threading

import pytest

from widgets.background import Background
from widgets.client import PortalClient
from widgets.obscore.services import embedded
from widgets.obscore.state import SearchState
from widgets.obscore.view import ObsCoreSearch
from widgets.sky.view import SkyView
from widgets.status import ServiceStatus
from widgets.target.resolver import NameResolver, PortalNames
from widgets.target.state import TargetState
from widgets.target.view import TargetSearch

MAIN = threading.get_ident


def record_threads(obj, names) -> set:
    seen = set()
    obj.observe(lambda _c: seen.add(threading.get_ident()), names)
    return seen


def test_the_helper_applies_effects_in_its_loop_thread():
    bg = Background()
    where, got, failed = [], [], []
    bg.run(lambda: threading.get_ident(), on_done=lambda worker: (got.append(worker), where.append(MAIN())))
    bg.run(lambda: 1 / 0, on_error=lambda exc: failed.append((type(exc), MAIN())))
    elsewhere = threading.Thread(target=lambda: bg.call(lambda: where.append(MAIN())))
    elsewhere.start()
    elsewhere.join()
    assert where == [] and bg.pending == 2  # nothing applied until the loop runs
    assert bg.idle(timeout=30)
    assert bg.wait_until(lambda: len(where) == 2, timeout=30)
    assert got[0] != MAIN() and set(where) == {MAIN()}
    assert failed == [(ZeroDivisionError, MAIN())]


@pytest.fixture(scope="module")
def client(archive_server):
    c = PortalClient(archive_server.url, token="")
    yield c
    c.close()


@pytest.mark.requires_data  # the archive with DR1, the catalogs
def test_an_archive_search_in_the_background(client):
    bg = Background.shared()
    state = SearchState(embedded(client.url), client=client, background=bg)
    search = ObsCoreSearch(state, background=True)
    threads = record_threads(state, ["results", "status", "columns", "suggestions"])
    assert bg.wait_until(lambda: state.columns and state.suggestions, timeout=60), state.columns_note
    search.adql = "SELECT TOP 7 * FROM ivoa.obscore"
    search.run()
    assert state.status == "running"  # said at once; the rows come later
    assert bg.wait_until(lambda: state.status == "done", timeout=60), state.message
    assert len(search.results) == 7 and threads == {MAIN()}
    search.adql = "SELECT nonsense FROM"
    search.run()
    assert bg.wait_until(lambda: state.status == "error", timeout=60)
    assert "refused the query" in state.message and threads == {MAIN()}
    search.run()  # the run lock was released by the failure
    assert bg.wait_until(lambda: state.status == "error", timeout=60)


@pytest.mark.requires_data  # the archive with DR1, the catalogs
def test_a_target_search_in_the_background(client):
    bg = Background.shared()
    state = TargetState(resolver=NameResolver([PortalNames(client.url, client=client)]), background=bg)
    view = TargetSearch(state, background=True)
    threads = record_threads(state, ["target", "status", "message"])
    options = record_threads(view._text, "options")
    view.search("MSH 15-52", radius="1 deg")
    assert state.status == "resolving"
    assert bg.wait_until(lambda: state.status == "ok", timeout=60), state.message
    assert state.target.ra.deg == pytest.approx(228.5, abs=0.2) and threads == {MAIN()}
    assert bg.wait_until(lambda: len(view._text.options) > 10, timeout=60)  # suggestions, applied here too
    assert options == {MAIN()}
    view.search("no such source anywhere")
    assert bg.wait_until(lambda: state.status == "error", timeout=60)
    assert "no such source anywhere" in state.message and threads == {MAIN()}


@pytest.mark.requires_data  # the archive with DR1, the catalogs
def test_coverage_and_status_in_the_background(client):
    bg = Background.shared()
    sky = SkyView(online=False)
    threads = record_threads(sky.state, ["coverage", "coverage_note"])
    sky.show_coverage(client.url + "/coverage/moc.json", client=client)
    assert bg.wait_until(lambda: sky.state.coverage, timeout=60), sky.state.coverage_note
    assert threads == {MAIN()}
    sky.show_coverage(client.url + "/coverage/nothing.json", client=client)
    assert bg.wait_until(lambda: "coverage unavailable" in sky.state.coverage_note, timeout=60)
    sky.aladin.close()
    status = ServiceStatus(client=client)
    seen = record_threads(status.state, "statuses")
    assert bg.wait_until(lambda: status.state.statuses, timeout=60)
    archive, jobs = status.state.statuses
    assert archive["up"] and not jobs["up"] and "needs a token" in jobs["message"]
    assert seen == {MAIN()}
