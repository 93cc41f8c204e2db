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

from tests.conftest import gammapy_data
from tests.jobs.conftest import CRAB, CRAB_RUNS, PKS2155, PKS2155_RUNS
from tests.support.servers import create_token
from tests.support.watch import result, run_and_watch
from widgets.client import PortalClient

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def client(portal_server):
    client = PortalClient(portal_server.url, create_token(portal_server.log.parent, "astronomer"))
    yield client
    client.close()


@pytest.fixture(scope="module")
def crab_job(client):
    """../shared/DESIGN.md's example: Crab, four runs, power law from 1 to 30 TeV (defaults; 4 flux points
    rather than 8 to keep the suite fast), watched live."""
    params = {"obs_ids": CRAB_RUNS, "ra": CRAB[0], "dec": CRAB[1], "n_bins": 4}
    # every new version is downloaded (at each change the blocking WAIT reports), whatever the speed of the machine
    return run_and_watch(client, "spectrum", params, watch=["flux_points", "model"])


def _read_points(content: bytes):
    from astropy.table import Table
    from gammapy.estimators import FluxPoints

    table = Table.read(io.BytesIO(content), hdu="FLUXPOINTS")
    return FluxPoints.from_table(table, format="gadf-sed")


@pytest.mark.requires_data
def test_spectrum_job_completes_with_every_result(crab_job):
    assert crab_job.phase == "COMPLETED", crab_job.error
    assert {"flux_points", "model", "inputs", "log", "provenance"} <= set(crab_job.results)


@pytest.mark.requires_data
def test_the_sed_grows_while_the_job_runs(crab_job):
    versions = crab_job.versions["flux_points"]
    executing = [v for v in versions if v.phase == "EXECUTING"]
    assert len(executing) >= 2, [(v.seconds, v.phase) for v in versions]
    # each version adds points (bins still being computed are NaN rows) on the final axis; no sensitivity, which
    # is off by default
    points = [_read_points(v.content) for v in versions]
    done = [int(np.isfinite(np.ma.filled(np.ma.asarray(p.norm.data, dtype=float), np.nan)).sum()) for p in points]
    assert done == sorted(done) and len(set(done)) == len(done) and done[-1] == 4
    assert "norm_sensitivity" not in points[-1].available_quantities
    assert {p.energy_axis.nbin for p in points} == {4}
    # the model (and its envelope) is there before the first flux point
    assert crab_job.first("model").seconds <= crab_job.first("flux_points").seconds


@pytest.mark.requires_data
def test_flux_points_result_reads_back_with_profiles(crab_job, client, tmp_path):
    from gammapy.estimators import FluxPoints

    path = tmp_path / "flux_points.fits"
    path.write_bytes(result(client, crab_job, "flux_points"))
    points = FluxPoints.read(path)
    assert points.sed_type_init == "likelihood"
    assert points.stat_scan.data.shape == (4, 11, 1, 1)
    assert np.all(np.isfinite(points.norm_ul.data))
    header = fits.getheader(path, "FLUXPOINTS")
    assert header["OBS_IDS"] == ",".join(map(str, CRAB_RUNS)) and header["RA_OBJ"] == pytest.approx(CRAB[0])
    assert header["N_OBS"] == 4 and header["NPOINTS"] == 4 and "OBS_OUT" not in header


@pytest.mark.requires_data
def test_model_result_is_the_in_process_analysis(crab_job, client, crab_spectrum, tmp_path):
    from portal.jobs.spectrum import read_model

    path = tmp_path / "model.yaml"
    path.write_bytes(result(client, crab_job, "model"))
    model = read_model(path)["target"].spectral_model
    # the same portal code run in-process (test_spectrum checks that against gammapy used directly)
    expected = crab_spectrum[0].model.spectral_model
    assert model.index.value == pytest.approx(expected.index.value, abs=1e-3)
    assert model.amplitude.value == pytest.approx(expected.amplitude.value, rel=1e-3)
    assert model.index.error == pytest.approx(expected.index.error, rel=1e-2)


def _literal(value) -> int:
    """An integer attribute of a PROV-JSON entity: plain, or typed ({"$": "23523", "type": "xsd:int"})."""
    return int(value["$"] if isinstance(value, dict) else value)


@pytest.mark.requires_data
def test_provenance_names_every_input_file(crab_job, client, portal_server):
    record = json.loads(result(client, crab_job, "provenance"))
    text = json.dumps(record)
    provn = result(client, crab_job, "provn").decode()
    # the server's folders are not the owner's to know: paths relative to the data roots (issue 23)
    roots = {str(p) for p in (gammapy_data(), gammapy_data().resolve(), portal_server.log.parent,
                              portal_server.log.parent.resolve())}
    assert not [r for r in roots if r in text or r in provn]
    assert "hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz" in text
    inputs = json.loads(result(client, crab_job, "inputs"))
    assert {k: inputs[k] for k in ("requested", "used", "left_out")} == {"requested": CRAB_RUNS, "used": CRAB_RUNS,
                                                                      "left_out": []}
    assert inputs["observations"] == [{"obs_id": i, "collection": "hess-dl3-dr1", "used": True} for i in CRAB_RUNS]
    named = [e for e in record["entity"].values() if "portal:obs_id" in e]
    files = [e for e in named if "portal:reduction" not in e]  # the DL3 files (a reused reduction names its run too)
    assert len(files) == len(CRAB_RUNS) and all(e.get("portal:collection") == "hess-dl3-dr1" for e in files)
    reused = sorted(_literal(e["portal:obs_id"]) for e in named if "portal:reduction" in e)
    assert reused == sorted(inputs["decisions"]["reduction"]["value"]["reused"])  # earlier jobs' cache, if any
    for obs_id in CRAB_RUNS:
        assert f"hess_dl3_dr1_obs_id_{obs_id:06d}.fits.gz" in text
    assert "hgps_catalog_v1.fits.gz" in text and "gammacat.fits.gz" in text
    assert "flux_points" in text


@pytest.mark.requires_data
def test_log_tells_what_the_analysis_did(crab_job, client):
    log = result(client, crab_job, "log").decode()
    for phrase in ("Excluded from the background", "Observation 23559: livetime", "Fitted index",
                   "Flux point 4/4"):
        assert phrase in log
    assert "Traceback" not in log
    # the FITS keywords are written whole at every flux point (issue 21): nothing is cut off, nothing warns
    assert "Card is too long" not in log and "VerifyWarning" not in log
    # a warning that comes again is shown once, with how often it came
    shown = [line.split(" WARNING py.warnings: ", 1)[1] for line in log.splitlines()
             if " WARNING py.warnings: " in line and "times in all" not in line]
    assert len(shown) == len(set(shown)), log


@pytest.mark.parametrize(("params", "message"), [
    ({"obs_ids": [23523, 99999999]}, "99999999"),
    ({"ra": PKS2155[0], "dec": PKS2155[1]}, "outside the field of view of observation(s) 23523"),
])
@pytest.mark.requires_data
def test_errors_end_the_job_with_a_message(client, params, message):
    watched = run_and_watch(client, "spectrum", {"obs_ids": CRAB_RUNS, "ra": CRAB[0], "dec": CRAB[1], **params})
    assert watched.phase == "ERROR"
    assert message in watched.error and "Traceback" not in watched.error


@pytest.mark.parametrize(("params", "message"), [
    ({"e_min": 1, "e_max": 1.001, "n_bins": 30}, "narrower than one energy bin"),
    ({"e_min": 1, "e_max": 1.0001, "n_bins": 1}, "narrower than one energy bin"),
    ({"e_min": 1, "e_max": 3, "n_bins": 30}, "at most 10 flux points"),
    ({"fit_e_min": 2, "fit_e_max": 2.05}, "fit energy range 2 to 2.05 TeV is narrower than one energy bin"),
])
def test_binning_that_cannot_work_is_refused_before_the_job_is_queued(client, params, message):
    data = {"obs_ids": ",".join(map(str, PKS2155_RUNS[:3])), "ra": PKS2155[0], "dec": PKS2155[1], **params,
            "PHASE": "RUN"}
    before = client.get("/uws/spectrum").text
    response = client.post("/uws/spectrum", data={k: str(v) for k, v in data.items()}, ok=(200, 201, 303, 400),
                           follow_redirects=False)
    assert response.status_code == 400, response.text
    assert message in response.text and "Traceback" not in response.text
    assert client.get("/uws/spectrum").text.count("<uws:jobref") == before.count("<uws:jobref")  # no job


def _job_process(client, job_url: str) -> int:
    """The pid of a running job's process, from the first line its log writes (woken by each change of the
    job: its log lines too)."""
    import re
    import time

    deadline = time.monotonic() + 120
    info = client.uws.job(job_url)
    while time.monotonic() < deadline:
        if "log" in info.results:
            found = re.search(r"job \S+ started \(process (\d+)\)", client.uws.result(info.results["log"]).decode())
            if found:
                return int(found.group(1))
        info = client.uws.wait(job_url, phase=info.phase, etag=info.etag, timeout=10) or info
    raise TimeoutError("the job's log never named its process")


def _group(pgid: int) -> set[int]:
    """The live processes of a process group."""
    from pathlib import Path

    members = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.add(int(stat.parent.name))
    return members


@pytest.mark.requires_data
def test_abort_stops_the_job_and_its_parallel_workers(client):
    """ABORT while the flux points are being computed in parallel: no process of the job remains."""
    import time

    params = {"obs_ids": CRAB_RUNS, "ra": CRAB[0], "dec": CRAB[1], "n_bins": 8}
    job_url = client.uws.create("spectrum", params, run=True)
    try:
        pid = _job_process(client, job_url)
        deadline = time.monotonic() + 300
        while len(_group(pid)) < 3 and time.monotonic() < deadline:  # the job process and its workers
            time.sleep(0.05)
        assert len(_group(pid)) >= 3, "the job never ran its parallel workers"
        client.uws.abort(job_url)
        deadline = time.monotonic() + 60
        while _group(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _group(pid)
        assert client.uws.job(job_url).phase == "ABORTED"
    finally:
        client.uws.delete(job_url)


@pytest.mark.requires_data
def test_lightcurve_job(client):
    params = {"obs_ids": PKS2155_RUNS[:2], "ra": PKS2155[0], "dec": PKS2155[1], "e_min": 0.7}
    watched = run_and_watch(client, "lightcurve", params)
    assert watched.phase == "COMPLETED", watched.error
    table = fits.getdata(io.BytesIO(result(client, watched, "lightcurve")), "FLUXPOINTS")
    assert len(table) == 2 and np.all(table["flux"] > 0)
    assert result(client, watched, "preview")[:4] == b"\x89PNG"


@pytest.mark.requires_data
def test_skymap_job(client):
    params = {"obs_ids": CRAB_RUNS[:2], "ra": CRAB[0], "dec": CRAB[1], "width": 2.0, "binsz": 0.05}
    watched = run_and_watch(client, "skymap", params)
    assert watched.phase == "COMPLETED", watched.error
    significance = fits.getdata(io.BytesIO(result(client, watched, "significance")))
    assert significance.shape == (40, 40) and np.nanmax(significance) > 10
    assert result(client, watched, "preview")[:4] == b"\x89PNG"
