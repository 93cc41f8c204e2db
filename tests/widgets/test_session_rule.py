"""The session is the one shared state: widget states read from it and write to it, never to each other, and keep
no copy of what it holds; connect() only calls each widget's attach(session), so a new kind of widget joins without
any change to it."""

from __future__ import annotations

import pytest
import traitlets as t
from astropy.coordinates import SkyCoord
from astropy.table import Table

from widgets.background import Background
from widgets.datalink.state import DataLinkState
from widgets.datalink.view import DataLinkPanel
from widgets.jobs.form import LauncherState
from widgets.jobs.launcher import JobLauncher
from widgets.jobs.monitor import JobMonitor
from widgets.jobs.monitor_state import MonitorState
from widgets.links import Observer, connect
from widgets.obscore.state import SearchState
from widgets.obscore.view import ObsCoreSearch
from widgets.products.state import ProductState
from widgets.products.view import ProductPanel
from widgets.sed.state import SEDState
from widgets.sed.view import SEDPlot
from widgets.session import SHARED, JobDraft, Session, SessionState, valid_selection
from widgets.sky.state import SkyState
from widgets.sky.view import SkyView
from widgets.target.state import TargetState
from widgets.target.view import TargetSearch

WIDGETS = (TargetSearch, ObsCoreSearch, SkyView, JobLauncher, JobMonitor, SEDPlot, DataLinkPanel, ProductPanel)


class Counter(t.HasTraits):
    """A widget the library does not know: it counts the selected rows and publishes a target."""

    observes = ("selected",)
    publishes = ("target",)
    seen = t.List()

    def attach(self, session: Session) -> list:
        self.session = session
        return [Observer(session, lambda _c: self.seen.append(0 if session.selected is None else
                                                              len(session.selected)), "selected")]

    def point_at(self, ra: float, dec: float) -> None:
        self.session.set_target(SkyCoord(ra, dec, unit="deg"), 0.5, "here")


@pytest.mark.parametrize("kind", WIDGETS, ids=lambda k: k.__name__)
def test_every_widget_says_what_it_observes_and_publishes(kind):
    traits = set(Session.class_trait_names())
    assert callable(getattr(kind, "attach", None))
    assert set(kind.observes) <= traits and set(kind.publishes) <= traits, (kind.observes, kind.publishes)


def test_a_new_kind_of_widget_joins_without_changing_connect():
    search_rows = Table({"obs_id": [1, 2, 3], "s_ra": [1.0, 2.0, 3.0], "s_dec": [0.0, 0.0, 0.0]})
    counter, sky = Counter(), SkyView(online=False)
    links = connect(counter, sky=sky)
    session = links.session
    session.results = search_rows
    sky.state.selection = [0, 2]  # picked in the sky: the session and so the new widget see it
    assert session.selection == [0, 2] and counter.seen[-1] == 2
    counter.point_at(83.63, 22.01)  # what it publishes reaches the others through the session
    assert sky.state.target is not None and sky.state.target_name == "here"
    links.unlink()
    sky.state.selection = [1]
    assert counter.seen[-1] == 2 and session.selection == [0, 2]  # undone


def test_connect_refuses_a_widget_that_cannot_join_with_a_sentence():
    with pytest.raises(TypeError, match="has no attach"):
        connect(object())


def test_the_selection_rule_is_one_function():
    assert valid_selection([3, -1, 2, 2, 7], 5) == [2, 3] and valid_selection([9, 1]) == [1, 9]
    session = Session(results=Table({"a": [1, 2]}))
    session.selection = [5, 1, 1]
    assert session.selection == [1]


def test_launcher_and_monitor_meet_only_in_the_session(client):
    """Two separate connect() calls on one session: a job to prepare from the monitor fills the launcher, and a job
    submitted from the launcher is listed by the monitor, though neither was given the other."""
    bg = Background()
    state = MonitorState(client, bg, kinds=["count", "echo"], wait=10, auto_refresh=0)
    monitor = JobMonitor(client, state=state, background=True)
    launcher = JobLauncher(client=client, state=LauncherState(client, "count", background=bg))
    session = Session()
    links = connect(monitor=monitor, session=session) + connect(launcher=launcher, session=session)
    try:
        assert bg.wait_until(lambda: state.status == "idle" and launcher.state.definitions, timeout=60)
        drafts = []
        session.observe(lambda c: drafts.append(c["new"]), "draft")
        state.rerun("echo", {"text": "again"})  # what "Run again" does
        assert isinstance(drafts[-1], JobDraft) and drafts[-1].definition == "echo"
        assert launcher.definition == "echo" and launcher.state.texts["text"] == "again"
        state.rerun("echo", {"text": "again"})  # the same draft twice is news twice
        assert len(drafts) == 2
        launcher.definition = "count"
        launcher.values = {"n": 2, "interval": 0.1}
        job = launcher.submit()
        assert session.active_job is job and monitor.jobs[0] is job and monitor.selected_job is job
        assert bg.wait_until(lambda: job.phase == "COMPLETED", timeout=120)
    finally:
        for link in links:
            link.unlink()
        monitor.close()


@pytest.mark.requires_data  # the catalogs
def test_catalog_sources_added_by_name_are_the_sessions(portal_server):
    """A source added by name in one SED is one of the session's sed_sources, which another SED joined to the same
    session draws too; a source put in the session (from Python, or by a widget of another kind) is drawn."""
    from widgets.client import PortalClient

    client = PortalClient(portal_server.url, token="")
    bg = Background()
    first, second = SEDPlot(client=client, background=bg), SEDPlot(client=client, background=bg)
    session = Session()
    links = connect(first, second, session=session)
    try:
        first.add_catalog("hgps", "HESS J1514-591")
        assert session.sed_sources == [("hgps", "HESS J1514-591")]
        assert bg.wait_until(lambda: second.state.layer("hgps/HESS J1514-591/points") is not None, timeout=60)
        session.sed_sources = [*session.sed_sources, ("3fhl", "3FHL J0534.5+2201")]
        for sed in (first, second):
            assert bg.wait_until(lambda: sed.state.layer("3fhl/3FHL J0534.5+2201/points") is not None, timeout=60)
        assert session.sed_sources == [("hgps", "HESS J1514-591"), ("3fhl", "3FHL J0534.5+2201")]  # each once
    finally:
        links.unlink()
        bg.idle()
        client.close()


STATES = (TargetState, SearchState, SkyState, LauncherState, MonitorState, SEDState, DataLinkState, ProductState)


@pytest.mark.parametrize("kind", STATES, ids=lambda k: k.__name__)
def test_no_state_keeps_a_copy_of_what_the_session_holds(kind):
    """A widget state reads the shared values from its session and writes them there: it has no trait of the
    same name that could drift from it."""
    assert issubclass(kind, SessionState)
    assert not set(kind.class_trait_names()) & (set(SHARED) | {"draft"}), kind.class_trait_names()
    widget = next(w for w in WIDGETS if w.observes is kind.observes)
    assert widget.publishes is kind.publishes


def test_a_widget_made_alone_has_a_session_of_its_own_and_keeps_what_it_showed_when_it_joins_and_leaves():
    rows = Table({"obs_id": [1, 2, 3], "s_region": ["CIRCLE ICRS 1 0 1", "CIRCLE ICRS 2 0 1", "CIRCLE ICRS 3 0 1"]})
    search, sky = ObsCoreSearch(SearchState(), background=False), SkyView(online=False)
    assert search.state.session is not sky.state.session
    search.state.results = rows  # the search's own session, before any connect
    search.state.selection = [2]
    assert search.state.session.selected["obs_id"].tolist() == [3] and sky.state.footprints == []
    links = connect(search, sky)
    session = links.session
    assert search.state.session is session and sky.state.session is session
    assert session.results is rows and session.selection == [2]  # what the search published is not lost
    assert [row for row, _ in sky.state.footprints] == [0, 1, 2] and sky.aladin._portal_selected == [2]
    sky.state.click([0], additive=True)
    assert search.state.selection == [0, 2] and search.selected["obs_id"].tolist() == [1, 3]
    links.unlink()
    assert search.state.session is not session and search.state.results is rows  # each keeps what it showed
    sky.state.selection = [1]
    assert search.state.selection == [0, 2] and session.selection == [0, 2]
    sky.aladin.close()


def test_the_sed_follows_the_active_job_and_a_job_it_follows_becomes_the_active_one():
    from widgets.client import PortalClient
    from widgets.jobs.handle import JobHandle

    client = PortalClient("http://127.0.0.1:9", token="x")  # nowhere: the jobs are never read here
    bg = Background()
    state = SEDState(client=client, background=bg)
    session = Session()
    state.join(session)
    spectrum = JobHandle("http://127.0.0.1:9/uws/spectrum/a", client=client, info=None, background=bg)
    count = JobHandle("http://127.0.0.1:9/uws/count/b", client=client, background=bg)
    try:
        session.active_job = spectrum
        assert state.job is spectrum
        session.active_job = count  # not a job the plot draws: it keeps the spectrum
        assert state.job is spectrum
        other = state.follow("http://127.0.0.1:9/uws/spectrum/c")
        assert session.active_job is other and state.job is other and other.job_id == "c"
    finally:
        state.unfollow()
        for job in (spectrum, count, session.active_job):
            job.unfollow()
        bg.idle()
        client.close()


def test_new_rows_are_news_without_comparing_their_cells(monkeypatch):
    """A search's answer is told even when it equals the last one, and without comparing the tables cell by cell
    (traitlets' ``old == new``: 0.7 s for 100,000 rows of 50 columns); the same table set again is not news."""
    session = Session()
    told = []
    session.observe(lambda change: told.append(change["name"]), ["results", "selected"])
    first = Table({"obs_id": [23523, 23526], "s_ra": [83.63, 83.63]})  # two rows: traitlets could not say equal
    session.results = first

    comparisons = []

    def compared(self, other):  # traitlets swallows what a comparison raises: counted instead
        comparisons.append(len(self))
        raise AssertionError("the session compared two tables cell by cell")

    monkeypatch.setattr(Table, "__eq__", compared)
    session.results = Table(first, copy=True)  # an equal answer to a new search
    assert told == ["results", "results"] and comparisons == []
    session.results = session.results
    assert told == ["results", "results"] and comparisons == []
    session.selection = [0]
    assert told[-1] == "selected" and list(session.selected["obs_id"]) == [23523]
    with pytest.raises(t.TraitError):
        session.selected = first  # derived: read-only still
    session.results = None
    assert sorted(told[-2:]) == ["results", "selected"] and session.selected is None and session.selection == []
