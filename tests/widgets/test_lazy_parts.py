"""A dashboard's first seconds build only what is shown: the parts in closed tabs (launcher, jobs, services, SED,
product), the ObsCore form's closed sections and the sky-map controls are built when first shown, and follow the
session meanwhile; the dashboard's first requests start once it is built (Background.held)."""

from __future__ import annotations

import threading

import pytest
from astropy.coordinates import SkyCoord
from ipywidgets.widgets.widget import _instances as widget_instances

from widgets.app import Portal
from widgets.background import Background
from widgets.jobs.form import LauncherState
from widgets.sky.overlay import ImageSource
from widgets.sky.view import SkyView

CRAB = SkyCoord(83.633, 22.0145, unit="deg")
DEFERRED = ("launcher", "monitor", "status", "sed", "products")


def widget_count() -> int:
    return len(widget_instances)


def test_work_asked_for_while_held_starts_when_the_block_ends():
    bg = Background()
    started, release = threading.Event(), threading.Event()
    got, failed = [], []
    with bg.held():
        future = bg.run(lambda: (started.set(), release.wait(30), 42)[-1], on_done=got.append)
        broken = bg.run(lambda: 1 / 0, on_error=failed.append)
        assert not started.wait(0.5), "held work started inside the block"
        assert bg.pending == 2
    assert started.wait(30)
    release.set()
    assert future.result(timeout=30) == 42
    with pytest.raises(ZeroDivisionError):
        broken.result(timeout=30)
    assert bg.idle(timeout=30) and got == [42] and isinstance(failed[0], ZeroDivisionError)
    with bg.held(), bg.held():  # nested: the outer block's end starts the work
        inner = bg.run(lambda: 7)
    assert inner.result(timeout=30) == 7


@pytest.mark.requires_data
def test_closed_tabs_are_built_when_first_shown_and_follow_the_session_meanwhile(client):
    before = widget_count()
    portal = Portal(client=client, online=False)
    try:
        at_start = widget_count() - before
        assert all(portal.built(name) is None for name in DEFERRED)
        assert portal.search.form_view.products is None and portal.search.form_view.high_energy is None
        assert portal.sky._overlay is None
        # hidden, the SED still follows the session: its target and its counterparts, listed; their flux points
        # are read once it is in view (typing targets does not read catalogs nobody looks at)
        bg = Background.shared()
        portal.session.set_target(CRAB, 0.6, "Crab nebula")
        sed_state = portal._deferred["sed"].states[0]
        assert sed_state.target_name == "Crab nebula" and not sed_state.active
        assert bg.wait_until(lambda: sed_state.counterparts and not sed_state.finding, timeout=300), sed_state.message
        assert bg.idle(timeout=60) and not [layer for layer in sed_state.layers if layer.auto]
        portal.show("sed")
        assert portal.built("sed") is portal.sed and portal.views.children[1].children == (portal.sed,)
        assert portal.sed.state is sed_state and sed_state.active
        assert bg.wait_until(lambda: [layer for layer in sed_state.layers if layer.auto] and not sed_state.finding,
                             timeout=300), sed_state.message
        for name in ("launch", "jobs", "services", "product"):
            portal.show(name)
        assert all(portal.built(name) is not None for name in DEFERRED)
        assert portal.products.bar is portal.product_bar  # one bar, above the results
        portal.search.form_view.sections.selected_index = 1
        portal.search.form_view.sections.selected_index = 2
        assert portal.search.form_view.products is not None and portal.search.form_view.high_energy is not None
        everything = widget_count() - before
        assert at_start < everything / 2, (at_start, everything)  # most of the dashboard waits to be shown
    finally:
        portal.sed.state.unfollow()
        portal.close()


def test_work_cancelled_while_held_never_runs_and_applies_nothing():
    bg = Background()
    ran, applied = [], []
    with bg.held():
        future = bg.run(lambda: ran.append("ran"), on_done=applied.append, on_error=applied.append)
        kept = bg.run(lambda: 7, on_done=applied.append)
        assert future.cancel()
    assert kept.result(timeout=30) == 7
    assert bg.idle(timeout=30) and bg.pending == 0
    assert future.cancelled() and ran == [] and applied == [7]


@pytest.mark.requires_data
def test_a_draft_made_before_the_definitions_are_read_is_the_form_shown(client):
    """"Joint fit" in the jobs tab before the launcher was ever opened: its form is the joint fit's."""
    state = LauncherState(client, definition="spectrum")
    state.fill("echo", {"text": "again"})
    assert state.definitions == []
    state.load()
    assert state.definition == "echo" and state.texts["text"] == "again"
    assert state.status == "idle" and "parameters of a echo job" in state.message  # what to do, said once read
    loading = LauncherState(client, definition="spectrum")
    loading.status = "loading"  # the launcher drawn, its definitions being read
    loading.fill("echo", {"text": "again"})
    assert loading.status == "loading"  # Submit stays off until the form is the echo job's
    loading.load()
    assert loading.status == "idle" and "parameters of a echo job" in loading.message


def test_the_sky_map_controls_are_built_when_there_is_a_map_to_offer():
    sky = SkyView(online=False)
    assert sky._overlay is None and len(sky.children) == 3
    sky.overlay_state.choices = [ImageSource("excess map", "http://example.org/map.fits", "job")]
    assert sky._overlay is not None and sky.children[1] is sky.overlay
    assert sky.overlay._choice.options == (("excess map", "http://example.org/map.fits"),)


@pytest.mark.requires_data
def test_the_jobs_tab_opened_late_lists_what_happened_meanwhile_and_stops_with_the_portal(client):
    """A job made active while "Your jobs" was never opened is followed meanwhile; opening the tab reads the lists
    and starts their refresh (a job made elsewhere appears by itself); closing the portal stops the refresh and
    the followers, whether the tab was ever opened or not."""
    from widgets.jobs.handle import JobHandle

    bg = Background.shared()
    for open_jobs in (True, False):
        portal = Portal(client=client, online=False)
        monitor = portal._deferred["monitor"].states[0]
        monitor.wait, monitor.auto_refresh = 2.0, 0.3  # short WAITs and refreshes: the threads end soon after close
        try:
            job = JobHandle(client.uws.create("echo", {"text": "made while hidden"}), client, background=bg)
            job.refresh()  # PENDING: active, followed until stopped
            portal.session.active_job = job
            assert portal.built("monitor") is None
            assert monitor.find(job.job_id) is job and job.followed
            follower = job._follower._thread
            if open_jobs:
                portal.show("jobs")
                view = portal.built("monitor")
                assert view is not None and monitor._refresher is not None and monitor._refresher.is_alive()
                assert bg.wait_until(lambda: monitor.status == "idle", timeout=60), monitor.message
                assert monitor.find(job.job_id) is job and monitor.selected is job  # the hidden job, kept
                assert job.job_id in [value for _label, value in view._list.options]
                elsewhere = client.uws.create("echo", {"text": "made elsewhere"}).rsplit("/", 1)[-1]
                assert bg.wait_until(lambda: monitor.find(elsewhere) is not None, timeout=60)  # no Refresh pressed
                assert bg.wait_until(lambda: elsewhere in [value for _label, value in view._list.options], 10)
            refresher = monitor._refresher
        finally:
            portal.sed.state.unfollow()
            portal.close()
        assert not job.followed
        follower.join(timeout=30)
        assert not follower.is_alive(), "a job follower still polls after close"
        if refresher is not None:
            refresher.join(timeout=30)
            assert not refresher.is_alive(), "the job lists' refresh still runs after close"


def test_parts_never_shown_are_not_built_once_the_portal_is_closed(client):
    """Reading ``portal.status`` after close() used to build the services' view, whose health probe nothing
    stopped; now it says the dashboard is closed, and opening a tab builds nothing."""
    portal = Portal(client=client, online=False)
    portal.close()
    threads = set(threading.enumerate())
    with pytest.raises(RuntimeError, match="closed"):
        portal.status  # noqa: B018
    portal.show("services")
    portal.show("sed")
    assert all(portal.built(name) is None for name in DEFERRED)
    assert not set(threading.enumerate()) - threads, "a closed portal started a thread"


def test_a_part_that_cannot_be_drawn_says_so_in_its_place_and_is_tried_again():
    import ipywidgets as w

    from widgets.lazy import join_when_shown

    tries = []

    def build():
        tries.append(1)
        if len(tries) == 1:
            raise RuntimeError("the <service> said no")
        return w.Label("drawn")

    tabs = w.Tab([w.Label("first"), w.Box()])
    join_when_shown(tabs, {1: build})
    tabs.selected_index = 1
    message = tabs.children[1].children[0]
    assert "could not be drawn: the &lt;service&gt; said no" in message.value  # escaped
    tabs.selected_index = 0
    tabs.selected_index = 1
    assert tabs.children[1].children[0].value == "drawn" and len(tries) == 2


def test_lines_hidden_at_first_have_no_parts_until_first_shown():
    """The lines a dashboard hides at first (the services' banner, the product bar, the other-TAP-service row,
    the pyvo code) are empty boxes: the page draws none of their parts until one is shown; then it works."""
    from tests.support.servers import free_port
    from widgets.banner import ServiceBanner
    from widgets.client import PortalClient
    from widgets.health import ServiceHealth
    from widgets.obscore.services import Service
    from widgets.obscore.state import SearchState
    from widgets.obscore.view import OTHER, ObsCoreSearch
    from widgets.products.ref import Product
    from widgets.products.state import ProductState
    from widgets.products.view import ProductBar

    bg = Background()
    dead = f"http://127.0.0.1:{free_port()}"
    health = ServiceHealth(PortalClient(dead), bg, interval=600, backoff=600)  # no probe: set by hand below
    try:
        banner = ServiceBanner(health)
        assert banner.children == () and not banner.shown and banner.retry is None
        health.message, health.reachable = "connection refused", False
        assert banner.shown and len(banner.children) == 3 and "connection refused" in banner._text.value
        health.reachable = True
        assert not banner.shown and len(banner.children) == 3  # made once, hidden again
    finally:
        health.close()

    products = ProductState(client=PortalClient(dead), background=bg)
    bar = ProductBar(products)
    assert bar.children == () and bar.layout.display == "none"
    products.current = Product("ivo://gamma-portal/archive?portal-products/j1/flux_points", "sed",
                               dead + "/datalink/products", target="Crab <nebula>")
    assert bar.layout.display is None and len(bar.children) == 4
    assert "Crab &lt;nebula&gt;" in bar._text.value and bar._sed.layout.display is None
    products.current = None
    assert bar.layout.display == "none"

    search = ObsCoreSearch(SearchState(Service("down", dead + "/tap")), background=False)
    assert search._custom.children == () and search._code_box.children == ()
    search._service.value = OTHER
    assert search._custom.layout.display is None and [c.description for c in search._custom.children] == [
        "TAP URL", "Table", "Use"]
    search._show_code.value = True
    assert search._code_box.layout.display is None and "pyvo" in search._code.value
    assert search._copy.text == search._code.value
    assert bg.idle(timeout=60)
