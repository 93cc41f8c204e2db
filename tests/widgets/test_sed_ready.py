"""`await sed.ready()`, what a notebook cell waits on: the followed job to its end and the target's
counterparts drawn, while the loop keeps applying the plot's updates (against a running `portal serve`)."""

from __future__ import annotations

import pytest
from astropy.coordinates import SkyCoord

from widgets.background import Background
from widgets.sed import SEDPlot

pytestmark = [pytest.mark.requires_data, pytest.mark.slow, pytest.mark.timeout(900)]

CRAB = SkyCoord(83.633, 22.014, unit="deg")


def test_ready_waits_for_the_job_to_end_and_the_counterparts_to_be_drawn(client):
    bg = Background()
    sed = SEDPlot(client=client, background=bg)
    sed.target = CRAB
    assert sed.state.finding
    url = client.uws.create("spectrum", {"obs_ids": "23523", "ra": 10.0, "dec": -40.0}, run=True)  # ends in ERROR
    handle = sed.follow(url)
    assert sed.state.following
    try:
        assert bg.loop.run_until_complete(sed.ready(600)), (handle.phase, sed.state.job_status, sed.message)
        assert handle.phase == "ERROR" and "ended in error" in sed.state.job_status
        assert not sed.state.following and not sed.state.finding
        groups = {layer.group for layer in sed.layers if layer.auto}
        assert len(sed.state.counterparts) >= 4 and "3FHL J0534.5+2201" in groups, groups
    finally:
        sed.state.unfollow()
        handle.unfollow()


def test_ready_gives_up_after_its_timeout_and_is_ready_once_nothing_is_followed(client):
    bg = Background()
    sed = SEDPlot(client=client, background=bg)
    url = client.uws.create("spectrum", {"obs_ids": "23523", "ra": 83.633, "dec": 22.014})  # PENDING: never run
    handle = sed.follow(url)
    try:
        assert bg.wait_until(lambda: "waiting to be started" in sed.state.job_status, timeout=60), sed.state.job_status
        assert bg.loop.run_until_complete(sed.ready(0.5)) is False
        sed.state.unfollow()
        assert bg.loop.run_until_complete(sed.ready(5)) is True
    finally:
        sed.state.unfollow()
        handle.unfollow()
