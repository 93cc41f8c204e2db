"""Truth about inputs: only the observations that entered a result are named as its inputs; the others
are listed with their reason; a job that loses more than half of them ends in ERROR unless allowed."""

from __future__ import annotations

import json
import logging

import astropy.units as u
import pytest
import yaml
from astropy.coordinates import SkyCoord
from astropy.io import fits

from portal.uws.definitions import UsageError
from tests.jobs.conftest import CRAB, CRAB_RUNS


log = logging.getLogger("tests.jobs.inputs")
MSH1552 = (228.529, -59.1575)


def _crab_params(**extra):
    return {"obs_ids": CRAB_RUNS, "ra": CRAB[0], "dec": CRAB[1], "on_radius": 0.11, "model": "pl", "e_min": 1.0,
            "e_max": 10.0, "n_bins": 2, **extra}


@pytest.fixture(scope="module")
def offset_limited_job(dr1, tmp_path_factory):
    """The Crab runs with offset_max 1 deg: the two runs pointed 1.5 deg away are left out (half: allowed)."""
    from portal.jobs import spectrum
    from tests.jobs.local_context import LocalContext

    ctx = LocalContext(dr1, tmp_path_factory.mktemp("offset") / "job")
    spectrum.run(ctx, _crab_params(offset_max=1.0))
    return ctx


@pytest.mark.requires_data
def test_msh_15_52_uses_all_twenty_runs(data_store, caplog):
    """The 20 DR1 runs pointed within 2 deg of MSH 15-52: its catalog counterparts (HESS J1514-591, MSH 15-5-02)
    are merged into the target's exclusion, so reflected regions fit in every run."""
    from portal.jobs.binning import binning_of
    from portal.jobs.onoff import OnOffOptions, reduce_1d

    target = SkyCoord(*MSH1552, unit="deg")
    table = data_store.obs_table
    near = SkyCoord(table["RA_PNT"], table["DEC_PNT"], unit="deg").separation(target) < 2 * u.deg
    obs_ids = [int(i) for i in table["OBS_ID"][near]]
    assert len(obs_ids) == 20
    observations = data_store.get_observations(obs_ids, required_irf=["aeff", "edisp"])
    with caplog.at_level(logging.INFO, logger=log.name):
        reduction, _ = reduce_1d(observations, target, binning_of(1.0, 30.0, 8), OnOffOptions(on_radius=0.2),
                                 None, processes=2, on_reduced=None, log=log)
    assert reduction.used == obs_ids and reduction.left_out == {}
    assert "merged into it: HESS J1514-591 (hgps), MSH 15-5-02 (gamma-cat)" in caplog.text
    assert all(d.counts_off.data.sum() > 0 for d in reduction.datasets)


@pytest.mark.requires_data
def test_left_out_runs_are_named_with_their_reason(offset_limited_job):
    ctx = offset_limited_job
    inputs = json.loads(ctx.published["inputs"][-1].read_text())
    assert inputs["requested"] == CRAB_RUNS and inputs["used"] == [23523, 23526]
    assert [item["obs_id"] for item in inputs["left_out"]] == [23559, 23592]
    for item in inputs["left_out"]:
        assert "beyond offset_max 1 deg" in item["reason"] and "1.50 deg from the target" in item["reason"]


@pytest.mark.requires_data
def test_headers_model_and_provenance_list_only_the_runs_used(offset_limited_job):
    ctx = offset_limited_job
    header = fits.getheader(ctx.published["flux_points"][-1], "FLUXPOINTS")
    assert header["OBS_IDS"] == "23523,23526" and header["N_OBS"] == 2 and header["OBS_OUT"] == "23559,23592"
    model = yaml.safe_load(ctx.published["model"][-1].read_text())
    assert model["fit"]["observations"]["used"] == [23523, 23526]
    assert [i["obs_id"] for i in model["fit"]["observations"]["left_out"]] == [23559, 23592]
    used = {attrs["obs_id"] for _, role, attrs in ctx.inputs if role == "dl3"}
    rejected = {attrs["obs_id"]: attrs["reason"] for _, role, attrs in ctx.inputs if role == "left-out"}
    assert used == {23523, 23526} and set(rejected) == {23559, 23592}


def test_provenance_shows_left_out_files_as_considered_not_used():
    from prov.model import PROV_TYPE, ProvInfluence, ProvUsage

    from portal.provenance.record import LEFT_OUT, ProvenanceInfo, build

    info = ProvenanceInfo(
        job_id="abc", definition="spectrum", description="d", owner="alice", phase="COMPLETED", start=None, end=None,
        parameters=[], results=[],
        inputs=[{"path": "/data/run_1.fits", "role": "dl3", "sha256": "1" * 64, "attributes": {"obs_id": 1}},
                {"path": "/data/run_2.fits", "role": LEFT_OUT, "sha256": "2" * 64,
                 "attributes": {"obs_id": 2, "reason": "no reflected off region fits"}}])
    doc = build(info)
    used = [r for r in doc.get_records(ProvUsage)]
    assert [str(r.formal_attributes[1][1]) for r in used] == ["portal:file_" + "1" * 32]
    influences = [r for r in doc.get_records(ProvInfluence) if "leftOut" in str(r.get_attribute(PROV_TYPE))]
    assert [str(r.formal_attributes[1][1]) for r in influences] == ["portal:file_" + "2" * 32]
    text = doc.serialize(format="json")
    assert "no reflected off region fits" in text and "leftOutReason" in text


@pytest.mark.requires_data
def test_losing_more_than_half_is_an_error_unless_allowed(data_store):
    from portal.jobs.observations import target_coord
    from portal.jobs.safe import SafeRange
    from portal.jobs.spectrum import analyse_spectrum

    observations = data_store.get_observations([23523, 23559, 23592], required_irf=["aeff", "edisp"])
    seen = []
    with pytest.raises(UsageError, match=r"2 of the 3 observations could not be used, more than half: 23559: "
                                         r"pointing 1.50 deg .*Set allow_partial to true"):
        analyse_spectrum(observations, target_coord(*CRAB), e_min=1, e_max=10, n_bins=1,
                         safe=SafeRange(offset_max=1.0), on_reduced=seen.append, log=log)
    assert seen[0].used == [23523] and set(seen[0].left_out) == {23559, 23592}  # known before the error
    result = analyse_spectrum(observations, target_coord(*CRAB), e_min=1, e_max=10, n_bins=1,
                              safe=SafeRange(offset_max=1.0), allow_partial=True, log=log)
    assert [d.name for d in result.datasets] == ["23523"] and set(result.left_out) == {23559, 23592}


@pytest.mark.requires_data
def test_responses_are_read_once_and_kept_for_the_reduction(data_store):
    from portal.jobs.inputs import hold_responses

    obs = data_store.get_observations(CRAB_RUNS[:1], required_irf=["aeff", "edisp", "psf"])
    assert obs[0].aeff is not obs[0].aeff  # gammapy reads the file at every access
    hold_responses(obs)
    for name in ("aeff", "edisp", "psf"):
        assert getattr(obs[0], name) is getattr(obs[0], name) is not None


@pytest.mark.requires_data
def test_responses_read_in_processes_equal_those_read_here(data_store):
    """Read in two forked processes (the values travel back), the responses are the same as read here, and held
    ones are not read again."""
    import numpy as np

    from portal.jobs.inputs import hold_responses

    here = data_store.get_observations(CRAB_RUNS, required_irf=["aeff", "edisp", "psf"])
    there = data_store.get_observations(CRAB_RUNS, required_irf=["aeff", "edisp", "psf"])
    hold_responses(here)
    hold_responses(there, processes=2)
    for a, b in zip(here, there, strict=True):
        for name in ("aeff", "edisp", "psf"):
            assert getattr(b, name) is getattr(b, name)  # held
            np.testing.assert_array_equal(getattr(a, name).data, getattr(b, name).data)
    kept = there[0].aeff
    hold_responses(there, processes=2)
    assert there[0].aeff is kept  # already held: not read again
