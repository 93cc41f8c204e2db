"""The launcher's pre-fill of observations when the selected rows come from several collections."""

from __future__ import annotations

import numpy as np
import pytest
from astropy.table import Table

from portal.jobs.definitions import SPECTRUM
from portal.uws.catalog import definitions_json
from widgets.client import Definition, PortalClient
from widgets.jobs.form import LauncherState
from widgets.jobs.prefill import prefill, summary

DR1, SECOND = "hess-dl3-dr1", "joint-crab-hess"


def spectrum() -> Definition:
    """The spectrum definition as a client reads it from ``GET /uws`` (JSON)."""
    [item] = definitions_json([SPECTRUM], "http://portal.test/uws")["definitions"]
    return Definition.from_json(item)


def rows(pairs) -> Table:
    """ObsCore rows as a TAP search gives them: obs_id is text, obs_collection names the release."""
    return Table({"obs_id": [str(n) for _, n in pairs], "obs_collection": [c for c, _ in pairs],
                  "livetime": np.full(len(pairs), 1800.0)})


def select(state: LauncherState, table: Table) -> None:
    """The rows selected in the archive search: the launcher reads them from its session."""
    state.session.results = table
    state.session.selection = list(range(len(table)))


@pytest.fixture
def launcher():
    client = PortalClient("http://127.0.0.1:9", None)  # no request is made: the definitions are given
    state = LauncherState(client)
    state.set_definitions([spectrum()])
    yield state
    client.close()


def test_the_form_reads_the_type_from_the_service():
    assert spectrum().parameter("obs_ids").type == "obs-list"


def test_one_collection_gives_plain_ids(launcher):
    select(launcher, rows([(DR1, 23523), (DR1, 23526), (DR1, 23523)]))
    assert launcher.texts["obs_ids"] == "23523,23526"
    assert launcher.values["obs_ids"] == [23523, 23526] and "obs_ids" not in launcher.problems


def test_a_selection_across_collections_gives_qualified_ids(launcher):
    select(launcher, rows([(DR1, 23559), (SECOND, 23523), (DR1, 23592)]))
    assert launcher.texts["obs_ids"] == f"{DR1}/23559,{SECOND}/23523,{DR1}/23592"
    assert launcher.values["obs_ids"] == [f"{DR1}/23559", f"{SECOND}/23523", f"{DR1}/23592"]
    assert "obs_ids" not in launcher.problems
    assert launcher.summary.startswith("spectrum on 3 observations, 1.5 h live time")


def test_the_same_run_from_two_collections_is_shown_and_refused(launcher):
    select(launcher, rows([(DR1, 23523), (SECOND, 23523)]))
    assert launcher.texts["obs_ids"] == f"{DR1}/23523,{SECOND}/23523"  # no silent choice of one of them
    assert launcher.problems["obs_ids"] == (f"parameter obs_ids: obs id 23523 is given twice ({DR1}/23523 and "
                                            f"{SECOND}/23523): a job takes each observation once, from one collection")


def test_rows_without_collections_give_plain_ids():
    table = Table({"obs_id": ["23523", "23526"]})
    assert prefill(spectrum(), table)["obs_ids"] == "23523,23526"
    assert summary(spectrum(), {"obs_ids": [f"{SECOND}/23523"]}, rows([(DR1, 23523)])) == "spectrum on 1 observation"


def test_a_shared_id_is_qualified_even_from_one_collection():
    """Rows picked from one collection, but the archive holds one of their runs in another collection too: the
    form qualifies the ids (a plain id would be refused as ambiguous)."""
    assert prefill(spectrum(), rows([(DR1, 23523), (DR1, 23559)]), shared={23523})["obs_ids"] == \
        f"{DR1}/23523,{DR1}/23559"
    assert prefill(spectrum(), rows([(DR1, 23559)]), shared={23523})["obs_ids"] == "23559"


@pytest.mark.requires_data
def test_the_launcher_asks_the_archive_which_ids_are_shared(tmp_path):
    """Against a real archive with H.E.S.S. DR1 and a copy of two of its runs as a second collection."""
    from portal.archive.ingest import ingest_release
    from portal.archive.store import db_path
    from tests.archive.releases import dr1_subset
    from tests.conftest import gammapy_data
    from tests.support.servers import start_portal
    from widgets.background import Background

    dr1 = gammapy_data() / "hess-dl3-dr1"
    ingest_release(db_path(tmp_path), dr1)
    ingest_release(db_path(tmp_path), dr1_subset(dr1, tmp_path / "second", [23523, 23526]), collection=SECOND)
    server = start_portal(tmp_path, env={"PORTAL_DEFAULT_DATASET": "none"})
    client = PortalClient(server.url, None)
    try:
        bg = Background()
        state = LauncherState(client, background=bg)
        state.set_definitions([spectrum()])
        select(state, rows([(DR1, 23523), (DR1, 23559)]))
        assert bg.wait_until(lambda: state.shared_ids == [23523], timeout=60), state.shared_ids
        assert state.texts["obs_ids"] == f"{DR1}/23523,{DR1}/23559" and "obs_ids" not in state.problems
        select(state, rows([(DR1, 23559), (DR1, 23592)]))  # nothing shared: plain ids
        assert bg.wait_until(lambda: state.texts["obs_ids"] == "23559,23592", timeout=60)
    finally:
        client.close()
        server.stop()
