"""The Portal dashboard without a browser, against a running `portal serve`: the SED beside the sky,
following the session's active job when it is a spectrum, and the target's catalog counterparts."""

from __future__ import annotations

import pytest
from astropy.coordinates import SkyCoord

from widgets.app import SED, SKY, Portal
from widgets.background import Background
from widgets.jobs.handle import JobHandle
from widgets.sed.view import SEDPlot

pytestmark = [pytest.mark.requires_data, pytest.mark.timeout(600)]

CRAB = SkyCoord(83.633, 22.0145, unit="deg")


@pytest.fixture(scope="module")
def portal(client):
    portal = Portal(client=client, online=False)
    try:
        yield portal
    finally:
        portal.sed.state.unfollow()
        portal.close()


@pytest.fixture
def bg():
    return Background.shared()


def job(client, definition: str, parameters: dict) -> JobHandle:
    """A PENDING job of alice's (never run: following it costs nothing)."""
    return JobHandle(client.uws.create(definition, parameters), client=client)


def test_the_right_column_is_the_sky_or_the_sed_above_the_results(portal):
    assert isinstance(portal.sed, SEDPlot) and portal.sed.state.client is portal.client
    assert portal.views.titles == ("Sky", "SED", "Files", "Product")
    assert portal.views.selected_index == SKY
    right = portal.children[-1].children[1]
    assert right.children == (portal.views, portal.products.bar, portal.search.results_panel)
    sky, slot, _files, _product = portal.views.children
    assert sky is portal.sky and slot.children == ()  # the SED is drawn when its tab is first shown
    portal.show("sed")
    assert slot.children == (portal.sed,)
    assert portal.views.selected_index == SED and portal.tabs.selected_index == 0  # the left column stays
    portal.show("jobs")
    assert portal.views.selected_index == SED and portal.tabs.selected_index == 2
    portal.show("sky")
    assert portal.views.selected_index == SKY
    with pytest.raises(ValueError):
        portal.show("nowhere")


def test_a_left_tab_page_is_drawn_when_first_opened(client):
    portal = Portal(client=client, online=False)
    bodies = portal.tabs.children
    assert bodies[0].children == (portal.search.search_panel,)
    assert all(body.children == () for body in bodies[1:])  # not drawn while the page opens
    portal.show("launch")
    assert bodies[1].children == (portal.launcher,) and bodies[2].children == ()
    portal.show("services")
    portal.show("jobs")
    assert [body.children for body in bodies[1:]] == [(portal.launcher,), (portal.monitor,), (portal.status,)]
    portal.show("search")
    assert bodies[0].children == (portal.search.search_panel,)
    portal.close()


def test_a_spectrum_job_made_active_is_followed_by_the_sed_which_comes_to_the_front(portal, client, bg):
    portal.show("sky")
    spectrum = job(client, "spectrum", {"obs_ids": "23523,23526", "ra": 83.633, "dec": 22.0145})
    portal.monitor.add(spectrum)  # what the launcher does with a job it submits; a click in the list too
    assert portal.session.active_job is spectrum
    assert portal.sed.state.job is spectrum
    assert portal.views.selected_index == SED
    assert bg.wait_until(lambda: "waiting to be started" in portal.sed.state.job_status, timeout=60), \
        portal.sed.state.job_status

    # another kind of job: the SED keeps the spectrum it shows, the right column stays where it is
    portal.show("sky")
    echo = job(client, "echo", {"text": "not a spectrum"})
    portal.monitor.add(echo)
    assert portal.session.active_job is echo
    assert portal.sed.state.job is spectrum
    assert portal.views.selected_index == SKY

    # back to the spectrum in the list: the SED again
    portal.monitor.select(spectrum)
    assert portal.session.active_job is spectrum and portal.views.selected_index == SED


def test_a_new_target_reaches_the_sed_and_turns_the_right_column_to_the_sky(portal, bg):
    portal.show("sed")
    portal.session.set_target(CRAB, 0.6, "Crab nebula")  # what the target search does
    assert portal.views.selected_index == SKY
    state = portal.sed.state
    assert state.target_name == "Crab nebula" and state.target.separation(CRAB).deg < 1e-9
    # the counterparts near the Crab come from the service's /catalogs
    assert bg.wait_until(lambda: len(state.counterparts) > 0, timeout=300), state.message
    tags = {c["tag"] for c in state.counterparts}
    assert {"3fhl", "gamma-cat"} <= tags, tags


def test_the_target_message_goes_to_the_page_before_the_views_that_follow_the_target(portal, bg):
    """A position typed in: its answer is the first thing the kernel sends back (the echo of Enter); the sky,
    the search's cone and its ADQL follow the session's new target after it."""
    sent = []
    watched = [(portal.target._message, "value", "message"), (portal.search._adql, "value", "adql"),
               (portal.sky.aladin, "_portal_target", "sky")]
    handlers = [(widget, trait, lambda _c, what=what: sent.append(what)) for widget, trait, what in watched]
    for widget, trait, handler in handlers:
        widget.observe(handler, trait)
    try:
        portal.target._text.value = "83.6401 22.0201"
        assert bg.idle(timeout=60)
    finally:  # the portal is the module's: the next tests' targets are not recorded
        for widget, trait, handler in handlers:
            widget.unobserve(handler, trait)
    assert sent and sent[0] == "message" and {"adql", "sky"} <= set(sent), sent
    assert "83.6401" in portal.search.adql and portal.session.target.ra.deg == pytest.approx(83.6401)
