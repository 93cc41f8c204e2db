"""Messages in the views: readable, escaped before they become HTML, never a traceback."""

from widgets.obscore.state import SearchState
from widgets.obscore.view import ObsCoreSearch
from widgets.target.resolver import NameResolver
from widgets.target.state import TargetState
from widgets.target.view import TargetSearch

HOSTILE = "<img src=x onerror=alert(1)>"


class Nothing:
    label = "test names"

    def resolve(self, name):
        return None


def test_target_message_is_escaped():
    view = TargetSearch(TargetState(resolver=NameResolver([Nothing()])), background=False)
    view.search(HOSTILE)
    assert view.state.status == "error"
    assert "<img" not in view._message.value and "&lt;img src=x onerror=alert(1)&gt;" in view._message.value


def test_target_radius_error_in_view():
    view = TargetSearch(TargetState(resolver=NameResolver([Nothing()])), background=False)
    view.search("83.6 22.0", radius="-1 deg")
    assert "The radius must be larger than zero, not -1 deg" in view._message.value
    assert view.target is None


def test_target_found_calls_back_per_view():
    one = TargetSearch(TargetState(resolver=NameResolver([Nothing()])), background=False)
    two = TargetSearch(TargetState(resolver=NameResolver([Nothing()])), background=False)
    got = []
    one.on_target(lambda coord, radius, name: got.append((round(coord.ra.deg, 3), radius.deg)))
    one.search("83.633 22.0145", radius="30 arcmin")
    two.search("10 10")
    assert got == [(83.633, 0.5)]


def test_search_messages_are_escaped():
    search = ObsCoreSearch(SearchState(), background=False)
    search.state.form.target_name = "x"
    search.state.form.set_number("energy_max", HOSTILE, "Energy max (TeV)")
    assert "<img" not in search._problems.value and "&lt;img" in search._problems.value
    search.state.status, search.state.message = "error", HOSTILE
    assert "<img" not in search._status.value


def test_export_without_selection_says_so():
    search = ObsCoreSearch(SearchState(), background=False)
    search.results_panel.export_link()
    assert search.results_panel._link.value == "<span style='color:#c62828'>Select rows first.</span>"


def test_results_that_cannot_be_shown_are_a_message(monkeypatch):
    """A view that fails on the rows (e.g. an exotic column) gives a message, not a traceback in the page."""
    from astropy.table import Table

    from widgets.obscore import state as state_module
    from widgets.obscore.query import Outcome

    monkeypatch.setattr(state_module.tap_query, "run",
                        lambda *a, **k: Outcome(True, "1 row", Table({"obs_id": ["1"]})))
    search = ObsCoreSearch(SearchState(), background=False)

    def broken(_change):
        raise ValueError("cannot draw <b>this</b>")

    search.state.watch(broken, "results")  # the results are the session's: a view watches them there
    search.adql = "SELECT * FROM ivoa.obscore"
    assert search.state.run() is False
    assert search.state.status == "error"
    assert search.state.message == "The results arrived but could not be shown: cannot draw <b>this</b>"
    assert "<b>" not in search._status.value
    search.state.unwatch(broken, "results")
    monkeypatch.setattr(state_module.tap_query, "run",
                        lambda *a, **k: Outcome(True, "2 rows", Table({"obs_id": ["1", "2"]})))
    assert search.state.run() is True  # the run lock was released: the next search works
    assert search.state.status == "done" and len(search.results) == 2


def test_a_new_radius_for_the_same_target_is_announced():
    view = TargetSearch(TargetState(resolver=NameResolver([Nothing()])), background=False)
    got = []
    view.on_target(lambda coord, radius, name: got.append(radius.deg))
    view.search("83.633 22.0145", radius="1 deg")
    view.search(radius="2 deg")  # same position: the sky's circle and the search cone must still follow
    view.search("83.633 22.0145", radius="2 deg")  # nothing new: no call
    assert got == [1.0, 2.0]
