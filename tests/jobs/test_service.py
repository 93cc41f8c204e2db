"""The analysis jobs end to end through the real job service (`portal serve`, Dask workers, archive).

Observations are resolved by the archive that `portal serve` ingested from $GAMMAPY_DATA; the
client speaks UWS over HTTP and watches the SED grow while the job is EXECUTING.
"""

from __future__ import annotations

import io
import json

import numpy as np
import pytest
from astropy.io import fits

from tests.jobs.conftest import CRAB, CRAB_RUNS, PKS2155, PKS2155_RUNS
from tests.jobs.uws_client import UWSClient, create_token

pytestmark = [pytest.mark.requires_data, pytest.mark.slow]


@pytest.fixture(scope="module")
def client(portal_server):
    client = UWSClient(portal_server.url, create_token(portal_server.log.parent, "astronomer"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def crab_job(client):
    """The DESIGN's example: Crab, four runs, power law from 1 to 30 TeV (defaults; 4 flux points
    rather than 8 to keep the suite fast), watched live."""
    params = {"obs_ids": CRAB_RUNS, "ra": CRAB[0], "dec": CRAB[1], "n_bins": 4}
    # every new version is downloaded (refresh as often as the polling), whatever the speed of the machine
    return client.run_and_watch("spectrum", params, watch=["flux_points", "model"], poll=0.1, refresh=0.1)


def _read_points(content: bytes):
    from astropy.table import Table
    from gammapy.estimators import FluxPoints

    table = Table.read(io.BytesIO(content), hdu="FLUXPOINTS")
    return FluxPoints.from_table(table, format="gadf-sed")


def test_spectrum_job_completes_with_every_result(crab_job):
    assert crab_job.phase == "COMPLETED", crab_job.error
    assert {"flux_points", "model", "log", "provenance"} <= set(crab_job.results)


def test_the_sed_grows_while_the_job_runs(crab_job):
    versions = crab_job.versions["flux_points"]
    executing = [v for v in versions if v.phase == "EXECUTING"]
    assert len(executing) >= 2, [(v.seconds, v.phase) for v in versions]
    sizes = [_read_points(v.content).energy_axis.nbin for v in versions]
    assert sizes == sorted(sizes) and len(set(sizes)) == len(sizes)  # each version adds points
    assert sizes[-1] == 4
    # the model (and its envelope) is there before the first flux point
    assert crab_job.first("model").seconds <= crab_job.first("flux_points").seconds


def test_flux_points_result_reads_back_with_profiles(crab_job, client, tmp_path):
    from gammapy.estimators import FluxPoints

    path = tmp_path / "flux_points.fits"
    path.write_bytes(client.result(crab_job, "flux_points"))
    points = FluxPoints.read(path)
    assert points.sed_type_init == "likelihood"
    assert points.stat_scan.data.shape == (4, 11, 1, 1)
    assert np.all(np.isfinite(points.norm_ul.data))
    header = fits.getheader(path, "FLUXPOINTS")
    assert header["OBS_IDS"] == ",".join(map(str, CRAB_RUNS)) and header["RA_OBJ"] == pytest.approx(CRAB[0])


def test_model_result_is_the_in_process_analysis(crab_job, client, crab_spectrum, tmp_path):
    from portal.jobs.spectrum import read_model

    path = tmp_path / "model.yaml"
    path.write_bytes(client.result(crab_job, "model"))
    model = read_model(path)["target"].spectral_model
    # the same portal code run in-process (test_spectrum checks that against gammapy used directly)
    expected = crab_spectrum[0].model.spectral_model
    assert model.index.value == pytest.approx(expected.index.value, abs=1e-3)
    assert model.amplitude.value == pytest.approx(expected.amplitude.value, rel=1e-3)
    assert model.index.error == pytest.approx(expected.index.error, rel=1e-2)


def test_provenance_names_every_input_file(crab_job, client):
    record = json.loads(client.result(crab_job, "provenance"))
    text = json.dumps(record)
    for obs_id in CRAB_RUNS:
        assert f"hess_dl3_dr1_obs_id_{obs_id:06d}.fits.gz" in text
    assert "hgps_catalog_v1.fits.gz" in text and "gammacat.fits.gz" in text
    assert "flux_points" in text


def test_log_tells_what_the_analysis_did(crab_job, client):
    log = client.result(crab_job, "log").decode()
    for phrase in ("Excluded from the background", "Observation 23559: livetime", "Fitted index",
                   "Flux point 4/4"):
        assert phrase in log
    assert "Traceback" not in log


@pytest.mark.parametrize(("params", "message"), [
    ({"obs_ids": [23523, 99999999]}, "99999999"),
    ({"ra": PKS2155[0], "dec": PKS2155[1]}, "outside the field of view of observation(s) 23523"),
])
def test_errors_end_the_job_with_a_message(client, params, message):
    watched = client.run_and_watch("spectrum", {"obs_ids": CRAB_RUNS, "ra": CRAB[0], "dec": CRAB[1], **params})
    assert watched.phase == "ERROR"
    assert message in watched.error and "Traceback" not in watched.error


def test_lightcurve_job(client):
    params = {"obs_ids": PKS2155_RUNS[:2], "ra": PKS2155[0], "dec": PKS2155[1], "e_min": 0.7}
    watched = client.run_and_watch("lightcurve", params)
    assert watched.phase == "COMPLETED", watched.error
    table = fits.getdata(io.BytesIO(client.result(watched, "lightcurve")), "FLUXPOINTS")
    assert len(table) == 2 and np.all(table["flux"] > 0)
    assert client.result(watched, "preview")[:4] == b"\x89PNG"


def test_skymap_job(client):
    params = {"obs_ids": CRAB_RUNS[:2], "ra": CRAB[0], "dec": CRAB[1], "width": 2.0, "binsz": 0.05}
    watched = client.run_and_watch("skymap", params)
    assert watched.phase == "COMPLETED", watched.error
    significance = fits.getdata(io.BytesIO(client.result(watched, "significance")))
    assert significance.shape == (40, 40) and np.nanmax(significance) > 10
    assert client.result(watched, "preview")[:4] == b"\x89PNG"
