"""Names and units in the archive search (issue 21, point 7): the grid shows ObsCore's MJD times as UTC dates
while the table, the selection and the exports keep the MJD; a malformed query's caret stands under the
column the service names, in a monospace block built from the query's own line, everything escaped."""

import io
import re

import numpy as np
import pandas as pd
import pytest
from astropy.coordinates import SkyCoord
from astropy.io.votable import parse_single_table
from astropy.table import MaskedColumn, Table
from astropy.time import Time

from widgets.obscore.caret import MONOSPACE, excerpt, position, status_html
from widgets.obscore.services import embedded
from widgets.obscore.state import SearchState
from widgets.obscore.table import (DATE_WIDTH, date_header, date_note, is_date_column, iso_dates,
                                   selected_times, time_scale, to_dataframe)
from widgets.obscore.view import ObsCoreSearch

CRAB = SkyCoord(83.633, 22.0145, unit="deg")
# run 23523 of H.E.S.S. DR1: TSTART 123890826 s after MJDREF 51910 + 64.184 s (TT), i.e. 2004-12-04 22:07:06 UTC
RUN_23523_TT = 51910 + 0.000742870370370241 + 123890826 / 86400


def block_lines(shown: str) -> list[str]:
    """The lines of the monospace block, unescaped."""
    import html

    found = re.search(r"<pre[^>]*>(.*?)</pre>", shown, re.S)
    assert found, shown
    return html.unescape(found.group(1)).split("\n")


# -- dates --------------------------------------------------------------------------------------------------
def test_iso_dates_are_utc_to_the_second_from_the_columns_scale():
    assert iso_dates(np.array([RUN_23523_TT]), "tt").tolist() == ["2004-12-04 22:07:06"]
    # the same number read as UTC is 64.184 s later: the scale matters
    assert iso_dates(np.array([RUN_23523_TT]), "utc").tolist() == ["2004-12-04 22:08:10"]
    assert iso_dates(np.array([53343.999999999]), "utc").tolist() == ["2004-12-05 00:00:00"]  # rounded
    masked = MaskedColumn([53343.5, 0.0, np.nan], mask=[False, True, False])
    assert iso_dates(masked).tolist() == ["2004-12-04 12:00:00", None, None]
    assert iso_dates(Time(["2010-01-01T00:00:00"], scale="tt")).tolist() == ["2009-12-31 23:58:54"]
    assert iso_dates(np.array([1e9]), "tt").tolist() == ["MJD 1000000000.000000"]  # no date astropy converts


def test_the_fast_dates_are_astropys_to_the_second_leap_seconds_included():
    mjd = np.random.default_rng(3).uniform(41317, 61000, 20_000)  # 1972 (the first leap second) to 2084
    assert iso_dates(mjd, "tt").tolist() == Time(mjd, format="mjd", scale="tt", precision=0).utc.iso.tolist()
    sparse = mjd[:7]  # a few dates decades apart: each day written on its own, not every day of the span
    assert iso_dates(sparse, "tt").tolist() == Time(sparse, format="mjd", scale="tt", precision=0).utc.iso.tolist()
    leap = Time("2016-12-31T23:59:60.2", scale="utc").mjd
    assert iso_dates(np.array([leap, leap + 0.5 / 86400])).tolist() == ["2016-12-31 23:59:60", "2017-01-01 00:00:00"]


def test_time_columns_are_known_by_name_and_unit():
    assert time_scale(Table({"t": [1.0]}, meta={})["t"]) == "utc"
    col = Table({"t_min": [1.0]})["t_min"]
    col.description = "Start time of the observation (MJD, TT)"
    assert time_scale(col) == "tt" and is_date_column("t_min", col)
    col.unit = "s"
    assert not is_date_column("t_min", col)  # not MJD: shown as it is
    assert not is_date_column("t_exptime", Table({"t_exptime": [1.0]})["t_exptime"])


def test_the_grid_shows_dates_and_the_table_keeps_its_mjd():
    table = Table({"obs_id": ["1", "2"], "t_min": [RUN_23523_TT, 55000.25], "t_max": [RUN_23523_TT + 0.02, np.nan]})
    table["t_min"].description = table["t_max"].description = "(MJD, TT)"
    frame = to_dataframe(table)
    assert list(frame.columns) == ["obs_id", date_header("t_min"), date_header("t_max")]
    assert date_header("t_min") == "t_min (UTC; MJD in exports)"
    assert frame[date_header("t_min")].tolist() == ["2004-12-04 22:07:06", "2009-06-18 05:58:54"]
    assert pd.isna(frame[date_header("t_max")].tolist()[1])  # no date: an empty cell
    assert table["t_min"].dtype.kind == "f" and table["t_min"][0] == RUN_23523_TT  # untouched
    assert "converted from MJD (TT)" in date_note(table) and "exported files keep" in date_note(table)
    assert date_note(Table({"obs_id": ["1"]})) == ""


# -- against the portal's archive -------------------------------------------------------------------------
@pytest.fixture
def search(archive_server):
    search = ObsCoreSearch(SearchState(embedded(archive_server.url)), background=False)
    yield search
    if search.results_panel.grid is not None:
        search.results_panel.grid.close()


@pytest.mark.requires_data
def test_the_crab_runs_dates_in_the_grid_and_mjd_everywhere_else(search):
    search.set_cone(CRAB, 0.5)
    search.run()
    results = search.results
    assert len(results) == 4 and results["t_min"].dtype.kind == "f"
    panel = search.results_panel
    frame = panel.grid.data
    header = date_header("t_min")
    assert header in frame.columns and "t_min" not in frame.columns
    by_obs = dict(zip(frame["obs_id"], frame[header]))
    assert by_obs["23523"] == "2004-12-04 22:07:06"
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", v) for v in frame[header])
    assert panel.grid.column_widths == {header: DATE_WIDTH, date_header("t_max"): DATE_WIDTH}
    assert "converted from MJD (TT)" in panel._dates.value

    # a sort by date in the browser: the selection still names the right table rows
    panel.grid.transform([{"type": "sort", "column": header, "desc": True}])
    panel.grid.selections = [{"r1": 0, "r2": 0, "c1": 0, "c2": 3}]  # the latest run
    latest = int(np.argmax(results["t_min"]))
    assert search.state.selection == [latest]
    # the exact MJD of what is selected, under the grid (what a tooltip on the cell would say)
    first = [x.decode() if isinstance(x, bytes) else str(x) for x in results["obs_id"]].index("23523")
    search.state.selection = [first]
    assert f"obs 23523: t_min MJD {RUN_23523_TT:.6f} (2004-12-04 22:07:06 UTC), t_max MJD" in panel._times.value

    # exports: ObsCore's MJD values, exactly, and no date column added
    search.state.selection = list(range(4))
    votable = parse_single_table(io.BytesIO(search.state.export("VOTable"))).to_table()
    assert list(votable["t_min"]) == list(results["t_min"]) and votable["t_min"].dtype.kind == "f"
    assert not any("UTC" in name for name in votable.colnames)
    row = dict(zip(votable["obs_id"], votable["t_min"]))
    assert row["23523"] == pytest.approx(RUN_23523_TT, abs=1e-9)
    csv = Table.read(search.state.export("CSV").decode(), format="ascii.csv")
    assert np.allclose(csv["t_min"], results["t_min"], rtol=0, atol=1e-9)
    assert csv.colnames == results.colnames


def test_selected_times_name_each_rows_mjd_and_say_how_many_more():
    table = Table({"obs_id": [1, 2, 3, 4], "t_min": [53343.5, 53344.5, 53345.5, np.nan]})
    text = selected_times(table, [0, 1, 2, 3], limit=2)
    assert text == ("obs 1: t_min MJD 53343.500000 (2004-12-04 12:00:00 UTC); obs 2: t_min MJD 53344.500000 "
                    "(2004-12-05 12:00:00 UTC); and 2 more selected")
    assert selected_times(table, []) == "" and selected_times(Table({"a": [1]}), [0]) == ""


# -- the caret ----------------------------------------------------------------------------------------------
def test_positions_in_the_services_words():
    assert position("syntax error: unexpected 'FRM' (line 1, column 10)") == (1, 10)
    assert position("Could not parse your query: Expected end of text (at char 9), (line:2, col:7)") == (2, 7)
    assert position("the service at x cannot be reached") is None


def test_the_caret_stands_under_the_column_in_the_querys_line():
    query = "SELECT *\nFROM ivoa.obscore\nWHERE obs_id = 23523 ANDD t_min > 0"
    line, caret = excerpt(query, 3, 22)
    assert line == "3 | WHERE obs_id = 23523 ANDD t_min > 0"
    assert caret.index("^") == line.index("ANDD") and caret.strip() == "^"

    long = "SELECT * FROM ivoa.obscore WHERE " + " AND ".join(f"c{i} = {i}" for i in range(60)) + " ORR x = 1"
    column = long.index("ORR") + 1
    line, caret = excerpt(long, 1, column)
    assert len(line) < 120 and line.startswith("1 | \u2026")  # cut around the column ...
    assert line[caret.index("^"):].startswith("ORR")  # ... the caret still under it

    line, caret = excerpt("SELECT\t'日本' FRM t", 1, 13)  # a tab is one column; a wide character two cells
    assert line == "1 | SELECT '日本' FRM t" and caret.index("^") == line.index("FRM") + 2
    assert excerpt(query, 9, 1) is None and excerpt(query, 1, 40) is None


def test_status_html_draws_the_caret_in_a_monospace_block_and_escapes_the_users_text():
    query = "SELECT * FROM ivoa.obscore\nWHERE target_name = '<script>x</script>' ANDD 1 = 1"
    message = ("The service refused the query: syntax error: unexpected 'ANDD' (line 2, column 42)\n"
               "  WHERE target_name = '<script>x</script>' ANDD 1 = 1\n"
               "                                          ^")
    shown = status_html("error", message, query)
    assert "<script>" not in shown and "&lt;script&gt;" in shown
    assert MONOSPACE in shown and "white-space:pre" in shown
    lines = block_lines(shown)
    assert lines[0] == "2 | WHERE target_name = '<script>x</script>' ANDD 1 = 1"
    assert len(lines) == 2  # the service's own quote of the line is left out
    assert lines[1].index("^") == lines[0].index("ANDD")
    # without the query (a Python caller), the service's own lines, spaces kept
    assert block_lines(status_html("error", message)) == message.splitlines()[1:]
    assert "<pre" not in status_html("done", "4 rows in 0.1 s (sync)")


@pytest.mark.requires_data
def test_a_malformed_query_on_the_service_points_at_its_character(search):
    search.adql = "SELECT obs_id\nFROM ivoa.obscore\nWHERE target_name = '<b>Crab</b>' ANDD t_min > 0"
    search.run()
    assert search.state.status == "error"
    shown = search._status.value
    assert "<b>Crab" not in shown and "&lt;b&gt;Crab" in shown
    lines = block_lines(shown)
    assert lines[0] == "3 | WHERE target_name = '<b>Crab</b>' ANDD t_min > 0"
    assert lines[1].index("^") == lines[0].index("ANDD")
    search.adql = "SELECT obs_id FROM ivoa.obscore"  # typing again does not move the shown caret
    assert block_lines(search._status.value)[0].startswith("3 | WHERE")
