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
        # hidden, the SED still follows the session: its target and counterparts
        portal.session.set_target(CRAB, 0.6, "Crab nebula")
        sed_state = portal._deferred["sed"].states[0]
        assert sed_state.target_name == "Crab nebula"
        portal.show("sed")
        assert portal.built("sed") is portal.sed and portal.views.children[1].children == (portal.sed,)
        assert portal.sed.state is sed_state
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


@pytest.mark.requires_data
def test_a_draft_made_before_the_definitions_are_read_is_the_form_shown(client):
    """"Joint fit" in the jobs tab before the launcher was ever opened: its form is the joint fit's."""
    state = LauncherState(client, definition="spectrum")
    state.fill("echo", {"text": "again"})
    assert state.definitions == []
    state.load()
    assert state.definition == "echo" and state.texts["text"] == "again"


def test_the_sky_map_controls_are_built_when_there_is_a_map_to_offer():
    sky = SkyView(online=False)
    assert sky._overlay is None and len(sky.children) == 3
    sky.overlay_state.choices = [ImageSource("excess map", "http://example.org/map.fits", "job")]
    assert sky._overlay is not None and sky.children[1] is sky.overlay
    assert sky.overlay._choice.options == (("excess map", "http://example.org/map.fits"),)
