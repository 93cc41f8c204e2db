"""The collection of each observation in what a job says about its inputs (the ``inputs`` result, FITS keywords)."""

from __future__ import annotations

import json

import pytest
from astropy.coordinates import SkyCoord

from portal.uws.definitions import UsageError


@pytest.mark.requires_data
def test_inputs_and_headers_name_the_collections(dr1, data_store, tmp_path):
    from portal.jobs.context import Inputs
    from tests.jobs.local_context import LocalContext

    ctx = LocalContext(dr1, tmp_path / "job")
    observations = data_store.get_observations([23523, 23526], required_irf=["aeff"])
    inputs = Inputs(ctx, observations, [], {23523: "joint-crab-hess", 23526: "hess-dl3-dr1"})
    inputs.selected([23523], {23526: "no room for reflected regions"})
    document = json.loads(ctx.published["inputs"][-1].read_text())
    assert document["used"] == [23523] and document["observations"] == [
        {"obs_id": 23523, "collection": "joint-crab-hess", "used": True},
        {"obs_id": 23526, "collection": "hess-dl3-dr1", "used": False}]
    assert document["left_out"] == [{"obs_id": 23526, "reason": "no room for reflected regions",
                                     "collection": "hess-dl3-dr1"}]
    header = inputs.header(SkyCoord(83.633, 22.014, unit="deg"))
    assert header["OBS_IDS"][0] == "23523" and header["OBS_COLL"][0] == "joint-crab-hess"
    assert header["OBS_OUT"][0] == "23526"


@pytest.mark.requires_data
def test_the_same_run_twice_is_refused_before_anything_is_opened(dr1, tmp_path):
    from portal.jobs.context import open_observations
    from tests.jobs.local_context import LocalContext

    ctx = LocalContext(dr1, tmp_path / "job")
    with pytest.raises(UsageError, match=r"^Obs id 23523 is given twice \(23523 and hess-dl3-dr1/23523\)"):
        open_observations(ctx, [23523, "hess-dl3-dr1/23523"], ["aeff"])
    assert ctx.inputs == []
