"""What a new user ran into in the archive search, each against a real `portal serve`: a failed query left the
previous rows on screen unmarked; the ADQL syntax error's caret was flattened onto one line; a remote ObsCore
whose s_region is NULL found 0 rows by field of view with no hint."""

import sqlite3

import pytest
from astropy.coordinates import SkyCoord

from tests.support.servers import start_portal
from widgets.obscore.services import Service, embedded
from widgets.obscore.state import NO_FOOTPRINTS, SearchState
from widgets.obscore.view import ObsCoreSearch, status_html

pytestmark = pytest.mark.requires_data
CRAB = SkyCoord(83.633, 22.0145, unit="deg")
CRAB_RUNS = ["23523", "23526", "23559", "23592"]


@pytest.fixture
def search(archive_server):
    return ObsCoreSearch(SearchState(embedded(archive_server.url)), background=False)


def test_a_failed_query_marks_the_rows_of_the_previous_one(search):
    search.set_cone(CRAB, 0.5)
    search.run()
    assert sorted(search.results["obs_id"]) == CRAB_RUNS and not search.state.stale
    panel = search.results_panel
    assert "portal-results-stale" not in panel._dom_classes

    search.adql = "SELECT * FRM ivoa.obscore"
    search.run()
    assert search.state.status == "error"
    assert len(search.results) == 4  # nothing is lost ...
    assert search.state.stale  # ... and the rows say they are the previous search's
    assert "portal-results-stale" in panel._dom_classes
    assert "from the previous search" in panel._stale.value

    search.adql = "SELECT * FROM ivoa.obscore WHERE obs_id = 23523"
    search.run()
    assert search.state.status == "done" and not search.state.stale
    assert "portal-results-stale" not in panel._dom_classes and panel._stale.value == ""


def test_a_form_that_cannot_make_a_query_marks_them_too(search):
    search.set_cone(CRAB, 0.5)
    search.run()
    search.state.form.set_number("radius", "wide")
    search.run()
    assert search.state.status == "error" and search.state.stale and len(search.results) == 4


def test_the_syntax_errors_caret_stays_under_its_column(search):
    search.adql = "SELECT * FRM ivoa.obscore"
    search.run()
    message = search.state.message
    lines = message.splitlines()
    assert lines[0].startswith("The service refused the query: syntax error") and "column 10" in lines[0]
    quoted = next(line for line in lines[1:] if "FRM" in line)
    caret = next(line for line in lines if line.strip() == "^")
    assert caret.index("^") == quoted.index("FRM")
    shown = status_html(search.state.status, message)
    assert "<pre" in shown and f"{quoted}\n{caret}" in shown  # a monospace block that keeps the spaces
    # the search draws the query's own line, numbered, with the caret under the same character
    assert "1 | SELECT * FRM ivoa.obscore\n" + " " * len("1 | SELECT * ") + "^</pre>" in search._status.value


def test_status_html_escapes_every_line():
    shown = status_html("error", "bad <b>query</b>\n  SELECT '<script>'\n         ^")
    assert "<b>" not in shown and "<script>" not in shown and "&lt;script&gt;" in shown


def test_an_empty_field_of_view_search_where_footprints_exist_stays_empty(search):
    search.set_cone(SkyCoord(10.0, -80.0, unit="deg"), 0.5)  # no H.E.S.S. DR1 run there
    search.run()
    assert search.state.status == "done" and len(search.results) == 0
    assert NO_FOOTPRINTS not in search.state.message and "DISTANCE" not in search.adql


@pytest.fixture(scope="module")
def footprintless(archive_server, tmp_path_factory):
    """A TAP service like DaCHS publishing H.E.S.S. DR1: the same rows, s_region NULL everywhere."""
    data = tmp_path_factory.mktemp("no-s-region")
    source = sqlite3.connect(f"file:{archive_server.log.parent / 'archive.sqlite'}?mode=ro", uri=True)
    copy = sqlite3.connect(data / "archive.sqlite")
    try:
        source.backup(copy)
        copy.execute('UPDATE "ivoa.obscore" SET s_region = NULL')
        copy.execute("DELETE FROM obscore_region")
        copy.commit()
    finally:
        source.close()
        copy.close()
    server = start_portal(data, env={"PORTAL_DEFAULT_DATASET": "none"})
    try:
        yield server
    finally:
        server.stop()


def test_a_service_without_s_region_is_searched_by_pointing_and_says_so(footprintless):
    service = Service("DR1 without footprints", footprintless.url + "/tap", "ivoa.obscore")
    search = ObsCoreSearch(SearchState(service), background=False)
    search.set_cone(CRAB, 0.5)
    assert "INTERSECTS(s_region" in search.adql
    search.run()
    assert search.state.status == "done", search.state.message
    assert sorted(search.results["obs_id"]) == CRAB_RUNS  # fields of view 5 deg across: all four reach the Crab
    assert NO_FOOTPRINTS in search.state.message
    assert "DISTANCE(POINT('ICRS', s_ra, s_dec)" in search.adql and "s_fov / 2" in search.adql  # what ran

    search.set_cone(CRAB, 0.1)  # the next search goes straight to the pointings
    search.run()
    assert sorted(search.results["obs_id"]) == CRAB_RUNS and NO_FOOTPRINTS in search.state.message
