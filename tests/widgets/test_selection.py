"""One selection shared by the results table and the sky, through the states (no browser)."""

import numpy as np
import pandas as pd
import pytest
from astropy.table import Table

from widgets.links import connect
from widgets.obscore.state import SearchState
from widgets.obscore.table import (ResultsGrid, RowMapping, SelectionBinding, StreamedResultsGrid, make_grid,
                                   rectangles, rows_of, to_dataframe)
from widgets.obscore.view import ObsCoreSearch
from widgets.sky.state import SkyState
from widgets.sky.view import SkyView


def results(n=6) -> Table:
    return Table({
        "obs_id": [str(23500 + i) for i in range(n)],
        "s_ra": np.linspace(80, 85, n),
        "s_dec": np.full(n, 22.0),
        "t_exptime": [1800.0 - 100 * i for i in range(n)],
        "s_region": [f"CIRCLE ICRS {80 + i} 22.0 2.5" for i in range(n)],
    })


@pytest.fixture
def linked():
    search = ObsCoreSearch(SearchState(), background=False)
    sky = SkyView(online=False)
    links = connect(search=search, sky=sky)
    search.state.results = results()
    yield search, sky
    for link in links:
        link.unlink()
    sky.aladin.close()


def test_results_become_footprints(linked):
    search, sky = linked
    assert sky.state.footprints == [(i, f"CIRCLE ICRS {80 + i} 22.0 2.5") for i in range(6)]
    assert sky.aladin._portal_footprints[0] == [0, "CIRCLE ICRS 80 22.0 2.5"]


def test_table_selection_highlights_footprints(linked):
    search, sky = linked
    search.state.selection = [4, 1, 1]
    assert sky.state.selection == [1, 4]
    assert sky.aladin._portal_selected == [1, 4]
    assert list(search.selected["obs_id"]) == ["23501", "23504"]


def test_click_on_footprints_selects_rows(linked):
    search, sky = linked
    sky.aladin._footprint_clicks([2, 3], False)  # what a click message from the front end does
    assert search.state.selection == [2, 3]
    sky.aladin._footprint_clicks([3, 5], True)  # with Ctrl: toggle
    assert search.state.selection == [2, 5]
    assert list(search.selected["obs_id"]) == ["23502", "23505"]


def test_click_message_from_front_end(linked):
    search, sky = linked
    sky.aladin._portal_message(sky.aladin, {"event_type": "portal_footprints_clicked", "rows": [0], "additive": False},
                               [])
    assert search.state.selection == [0]


def test_on_click_callbacks_are_per_view(linked):
    search, sky = linked
    other = SkyView(online=False)
    seen, seen_other = [], []
    sky.on_click(seen.append)
    other.on_click(seen_other.append)
    sky.aladin._footprint_clicks([1], False)
    assert seen == [[1]] and seen_other == []
    sky.on_click(seen.append, remove=True)
    sky.aladin._footprint_clicks([2], False)
    assert seen == [[1]]
    other.aladin.close()


def test_new_results_clear_the_selection(linked):
    search, sky = linked
    search.state.selection = [1]
    search.state.results = results(3)
    assert search.state.selection == [] and sky.state.selection == []
    assert len(sky.state.footprints) == 3


def test_selection_outside_the_results_is_dropped(linked):
    search, _sky = linked
    search.state.selection = [2, 99, -1]
    assert search.state.selection == [2]


@pytest.mark.parametrize("kind", [ResultsGrid, StreamedResultsGrid])
def test_grid_rows_follow_a_sort(kind):
    frame = to_dataframe(results())
    grid = kind(frame)
    state = SearchState()
    state.results = results()
    binding = SelectionBinding(grid, state, len(frame.columns))
    grid.transform([{"type": "sort", "column": "t_exptime", "desc": False}])
    assert grid.mapping().order.tolist() == [5, 4, 3, 2, 1, 0]
    grid.selections = [{"r1": 0, "r2": 1, "c1": 0, "c2": 4}]  # the user selects the first two view rows
    assert state.selection == [4, 5]
    state.selection = [0]  # the sky selects table row 0: the last view row
    assert rows_of(grid.selections) == [5]
    binding.unbind()
    grid.close()


def test_ordinary_results_use_the_plain_grid_and_large_ones_stream():
    from widgets.obscore.table import STREAM_ABOVE

    small = make_grid(to_dataframe(results()))
    big = make_grid(pd.DataFrame({"obs_id": np.arange(STREAM_ABOVE + 1)}, index=pd.RangeIndex(STREAM_ABOVE + 1,
                                                                                                name="row")))
    assert isinstance(small, ResultsGrid) and not small.streaming
    assert isinstance(big, StreamedResultsGrid) and big.streaming
    small.close()
    big.close()


def test_row_mapping_and_rectangles():
    mapping = RowMapping(np.array([3, 1, 2, 0]))
    assert mapping.to_table([0, 1, 7]) == [1, 3]
    assert mapping.to_view([0, 3]) == [0, 3]
    assert rectangles([0, 1, 2, 5], 4) == [{"r1": 0, "r2": 2, "c1": 0, "c2": 3}, {"r1": 5, "r2": 5, "c1": 0, "c2": 3}]
    assert rows_of([{"r1": 2, "r2": 0}, {"r1": 5, "r2": 5}]) == [0, 1, 2, 5]


def test_dataframe_for_display():
    table = Table({"s_region": [np.array([1.0, 2.0, 3.0])] * 2, "name": [b"a", b"b"], "obs_id": ["1", "2"]})
    frame = to_dataframe(table)
    assert list(frame.columns) == ["obs_id", "s_region", "name"]  # telling columns first
    assert frame["s_region"].tolist() == ["1 2 3", "1 2 3"]
    assert frame["name"].tolist() == ["a", "b"]
    assert isinstance(frame.index, pd.RangeIndex) and frame.index.name == "row"


def test_sky_state_validates_selection():
    state = SkyState()
    state.selection = [3, 1, 3]
    assert state.selection == [1, 3]


def test_sky_draws_at_most_max_footprints():
    from widgets.sky.view import MAX_FOOTPRINTS

    sky = SkyView(online=False)
    sky.state.footprints = [(i, "CIRCLE ICRS 10 10 1") for i in range(MAX_FOOTPRINTS + 5)]
    assert len(sky.aladin._portal_footprints) == MAX_FOOTPRINTS
    assert f"Only the first {MAX_FOOTPRINTS:,} of {MAX_FOOTPRINTS + 5:,} footprints are drawn." in sky._note.value
    sky.aladin.close()


def test_sky_offline_offers_only_the_offline_sky():
    sky = SkyView(online=False)
    assert [v for _label, v in sky._survey.options] == ["gamma-portal:offline-sky"]
    assert "Offline: sky surveys (HiPS)" in sky._note.value
    online = SkyView(online=True)
    assert len(online._survey.options) > 1 and online.aladin._init_options["log"] is True
    assert online.aladin.survey == "CDS/P/DSS2/color"
    sky.aladin.close()
    online.aladin.close()


def test_new_results_reuse_the_grid():
    from widgets.obscore.results_view import ResultsPanel

    state = SearchState()
    panel = ResultsPanel(state)
    state.results = results(6)
    grid = panel.grid
    grid.transform([{"type": "sort", "column": "t_exptime", "desc": False}])
    state.selection = [1]
    state.results = results(3)  # a new search: same grid, its sort and selection dropped
    assert panel.grid is grid and grid._transforms == [] and grid.selections == []
    assert grid.mapping().order.tolist() == [0, 1, 2] and grid._row_count == 3
    grid.selections = [{"r1": 2, "r2": 2, "c1": 0, "c2": 4}]
    assert state.selection == [2]
    grid.close()


def test_target_moves_sky_and_cone_until_unlinked():
    from astropy.coordinates import SkyCoord

    from widgets.target.resolver import NameResolver
    from widgets.target.state import TargetState
    from widgets.target.view import TargetSearch

    target = TargetSearch(TargetState(resolver=NameResolver([])), background=False)
    search = ObsCoreSearch(SearchState(), background=False)
    sky = SkyView(online=False)
    links = connect(target=target, search=search, sky=sky)
    target.search("83.633 22.0145", radius="1 deg")
    assert sky.target.ra.deg == pytest.approx(83.633) and sky.state.radius == pytest.approx(1.0)
    assert sky.aladin._portal_target == {"ra": pytest.approx(83.633), "dec": pytest.approx(22.0145),
                                         "radius": 1.0, "name": ""}
    assert "INTERSECTS(s_region, CIRCLE('ICRS', 83.633, 22.0145, 1))" in search.adql
    for link in links:
        link.unlink()
    target.search("10 10")
    assert sky.target.ra.deg == pytest.approx(83.633) and "83.633" in search.adql  # no longer followed
    sky.target = SkyCoord(10, 20, unit="deg")  # the Python API of the sky view
    assert sky.aladin._portal_target["ra"] == pytest.approx(10)
    sky.aladin.close()


def test_the_grid_has_the_height_set_after_the_panel_was_built_from_its_first_paint():
    """The dashboards set ``results_panel.height`` after building the panel: the CSS rule that sizes a new grid
    before its layout applies says that height, not the default's (a grid drawn at one height, then another)."""
    from widgets.obscore.results_view import ResultsPanel

    state = SearchState()
    panel = ResultsPanel(state)
    assert "portal-results-h360px" in panel._holder._dom_classes and "height: 360px" in panel._style.value
    panel.height = "260px"
    assert panel._holder._dom_classes == ("portal-results-h260px",)
    assert "height: 260px" in panel._style.value and "360px" not in panel._style.value
    panel.height = "calc(100vh - 3em)"  # no class can say it: the grid's own layout alone
    assert panel._holder._dom_classes == () and "height:" not in panel._style.value
    panel.height = "20em"
    state.results = results(3)
    assert panel.grid.layout.height == "20em" and panel._holder._dom_classes == ("portal-results-h20em",)
    panel.grid.close()
