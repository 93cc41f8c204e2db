"""ObsCoreSearch against the real embedded archive (`portal serve` with H.E.S.S. DR1)."""

import io

import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from tests.support.servers import free_port
from widgets.obscore.services import Service, embedded
from widgets.obscore.state import SearchState
from widgets.obscore.view import ObsCoreSearch

pytestmark = pytest.mark.requires_data
CRAB = SkyCoord(83.633, 22.0145, unit="deg")
CRAB_RUNS = ["23523", "23526", "23559", "23592"]


@pytest.fixture
def search(archive_server):
    return ObsCoreSearch(SearchState(embedded(archive_server.url)), background=False)


def test_columns_read_from_vosi_tables(search):
    names = [c.name for c in search.state.columns]
    assert "s_region" in names and "energy_min" in names
    assert search.state.form.high_energy()
    assert search.form_view.high_energy is None  # its section is built when first opened
    search.form_view.sections.selected_index = 2
    assert search.form_view.high_energy.layout.display is None  # the high-energy fields are shown


def test_text_fields_suggest_the_archives_values(search):
    assert search.state.suggestions["obs_collection"] == ["hess-dl3-dr1"]
    assert "Crab" in search.state.suggestions["target_name"]
    assert "facility_name" not in search.form_view.texts  # its section is closed: the options wait for it
    search.form_view.sections.selected_index = 1
    assert search.form_view.texts["facility_name"].options == tuple(search.state.suggestions["facility_name"])


def test_field_of_view_cone_finds_the_crab_runs(search):
    search.set_cone(CRAB, 0.5)
    search.run()
    assert search.state.status == "done", search.state.message
    assert sorted(search.results["obs_id"]) == CRAB_RUNS
    assert search.state.message.startswith("4 rows in ")


def test_async_run(search):
    search.state.mode = "async"
    search.set_cone(CRAB, 0.5)
    search.run()
    assert search.state.status == "done", search.state.message
    assert sorted(search.results["obs_id"]) == CRAB_RUNS
    assert search.state.message.endswith("(async)")
    assert "service.run_async(query, maxrec=10000)" in search.state.pyvo_code()


def test_pointing_cone_needs_a_wide_circle(search):
    search.state.form.cone_mode = "pointing"
    search.set_cone(CRAB, 0.6)
    search.run()
    assert sorted(search.results["obs_id"]) == ["23523", "23526"]  # pointings 0.5 deg away
    search.set_cone(CRAB, 2.0)
    search.run()
    assert sorted(search.results["obs_id"]) == CRAB_RUNS


def test_high_energy_fields_filter(search):
    search.set_cone(CRAB, 0.5)
    search.state.form.set_number("zenith_max", "47")
    search.run()
    zenith = search.results["zenith"]
    assert 0 < len(zenith) < 4 and max(zenith) <= 47


def test_selected_rows_and_export(search):
    search.set_cone(CRAB, 0.5)
    search.run()
    search.state.selection = [0, 2]
    assert list(search.selected["obs_id"]) == [search.results["obs_id"][0], search.results["obs_id"][2]]
    votable = Table.read(io.BytesIO(search.state.export("VOTable")), format="votable")
    assert list(votable["obs_id"]) == list(search.selected["obs_id"])
    csv = Table.read(search.state.export("CSV").decode(), format="ascii.csv")
    assert [str(v) for v in csv["obs_id"]] == list(search.selected["obs_id"])


def test_overflow_notice(search):
    search.state.maxrec = 10
    search.run()
    assert len(search.results) == 10 and search.state.overflow
    assert "truncated at MAXREC = 10 rows" in search.state.message


def test_malformed_adql_is_a_message(search):
    search.adql = "SELECT FROM WHERE"
    search.run()
    assert search.state.status == "error"
    assert search.state.message.startswith("The service refused the query: ")
    assert "Traceback" not in search.state.message


def test_unknown_column_is_a_message(search):
    search.adql = "SELECT nope FROM ivoa.obscore"
    search.run()
    assert search.state.status == "error" and "nope" in search.state.message


def test_service_down_is_a_message():
    down = Service("down", f"http://127.0.0.1:{free_port()}/tap")
    search = ObsCoreSearch(SearchState(down), services=[down], background=False)
    assert "could not read the columns" in search.state.columns_note
    search.run()
    assert search.state.status == "error"
    assert search.state.message == f"The service at {down.url} cannot be reached (connection refused)"


def test_form_problems_stop_the_run(search):
    search.state.form.set_number("energy_min", "abc", "Energy min (TeV)")
    search.run()
    assert search.state.status == "error"
    assert search.state.message == "The form cannot make a query: Energy min (TeV): 'abc' is not a number"
    assert "is not a number" in search._problems.value


def test_edited_adql_is_kept_until_back_to_the_form(search):
    search.adql = "SELECT TOP 3 obs_id FROM ivoa.obscore"
    search.set_cone(CRAB, 0.5)  # the form changes: the hand-written query stays
    assert search.adql == "SELECT TOP 3 obs_id FROM ivoa.obscore"
    search.run()
    assert search.results.colnames == ["obs_id"] and len(search.results) == 3
    search.state.editing = False
    assert search.adql.startswith("SELECT *\nFROM ivoa.obscore\nWHERE 1 = INTERSECTS(s_region, CIRCLE('ICRS', 83.633")


def test_pyvo_code_gives_the_same_rows(search):
    search.set_cone(CRAB, 0.5)
    search.run()
    namespace = {}
    exec(search.state.pyvo_code(), namespace)  # noqa: S102 - the code the widget offers to copy
    assert sorted(namespace["table"]["obs_id"]) == CRAB_RUNS


def test_any_tap_url_typed_in(archive_server):
    from widgets.obscore.view import OTHER

    search = ObsCoreSearch(SearchState(Service("down", f"http://127.0.0.1:{free_port()}/tap")), background=False)
    labels = [label for label, _value in search._service.options]
    assert any("H.E.S.S." in label and "Paris" in label for label in labels)
    search._service.value = OTHER
    search._url.value = "ftp://example.org/tap"
    search._custom.children[-1].click()
    assert search.state.status == "error" and "starts with http:// or https://" in search.state.message
    search._url.value = archive_server.url + "/tap/sync"  # a URL pasted with its /sync
    search._custom.children[-1].click()
    assert search.state.service.url == archive_server.url + "/tap"
    assert search.state.form.high_energy()  # its columns were read from /tables
    search.set_cone(CRAB, 0.5)
    search.run()
    assert sorted(search.results["obs_id"]) == CRAB_RUNS
