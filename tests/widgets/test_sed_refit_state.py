"""The SED's refit flow as state (:class:`~widgets.sed.refit_state.RefitState`), driven without a browser: the bar's
choices, the fit in the background with its outcome applied on the loop, and the sentences when it cannot run."""

from __future__ import annotations

import pytest

from widgets.background import Background
from widgets.client import PortalClient
from widgets.sed.refit_state import summary_lines
from widgets.sed.state import SEDState


@pytest.fixture
def state():
    client = PortalClient("http://127.0.0.1:9", token="x")  # the refit asks no service
    bg = Background()
    yield SEDState(client=client, background=bg)
    bg.idle()
    client.close()


def test_a_refit_without_points_with_profiles_says_why_and_changes_nothing(state):
    refits = state.refits
    assert (refits.model, refits.joint, refits.catalog_stat, refits.running) == ("pl", False, "chi2", False)
    assert refits.fit() is None
    assert state.status == "error" and state.message.startswith("There are no flux points with likelihood profiles")
    refits.model = "lp"
    refits.run()  # the bar's button: in the background
    assert refits.running and state.status == "working" and "log-parabola" in state.message
    assert state.background.wait_until(lambda: not refits.running, timeout=60)
    assert state.status == "error" and "no flux points with likelihood profiles" in state.message
    assert state.layers == [] and state.refit_result is None and summary_lines(state) == []


@pytest.mark.requires_data
def test_the_bars_refit_runs_in_the_background_and_is_drawn_beside_the_points(state):
    from gammapy.estimators import FluxPoints

    from tests.conftest import gammapy_data

    path = gammapy_data() / "estimators/crab_hess_fp/crab_hess_fp.fits"
    state.add_flux_points(FluxPoints.read(path), label="H.E.S.S.")
    refits = state.refits
    refits.model = "lp"
    refits.run()
    assert state.background.wait_until(lambda: not refits.running, timeout=300), state.message
    fit = state.refit_result
    assert fit is not None and fit.success and fit.kind == "lp"
    assert state.layer("refit/lp/model") is not None and state.status == "ok"
    assert state.message.startswith("Refit: log-parabola fitted to H.E.S.S. (profiles)")
    assert summary_lines(state)[-1].startswith("Refit: log-parabola fitted to H.E.S.S. (profiles)")
    state.add_flux_points(FluxPoints.read(path), label="again")  # the same points read again: another set
    refits.joint, refits.model = True, "pl"
    refits.run()  # with the other points shown, each by its profiles
    assert state.background.wait_until(lambda: not refits.running, timeout=300), state.message
    assert state.refit_result.statistics == {"H.E.S.S.": "profile", "again": "profile"}
    assert {"refit/lp/model", "refit/pl/model"} <= {layer.key for layer in state.layers}
