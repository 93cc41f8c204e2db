"""`portal serve` on a fresh machine: the three default-dataset paths end to end, over HTTP.

- local: ``$GAMMAPY_DATA/hess-dl3-dr1`` (the session's shared server);
- download: no GAMMAPY_DATA, H.E.S.S. DR1 fetched from a loopback server that serves gammapy-data;
- simulated: no GAMMAPY_DATA/hess-dl3-dr1 and no network: the CTAO-like release is simulated
  (prod5 IRFs when ``$GAMMAPY_DATA/cta-caldb`` exists), ingested, linked, covered, and analysed by
  the same `spectrum` job as real data, which must recover the simulated Crab index.
"""

from __future__ import annotations

import io
import socket
import time
from urllib.parse import quote

import httpx
import pytest
import yaml
from astropy.io.votable import parse
from pyvo.dal.adhoc import DatalinkResults
from pyvo.io.uws import parse_job

from tests.conftest import gammapy_data
from tests.data.loopback import LoopbackFileServer
from tests.support.servers import start_portal

# The simulation takes about a minute on 2 free cores, but much longer on a loaded machine: the
# module-scoped server (simulation, ingest) and the spectrum job get a generous time limit.
pytestmark = [pytest.mark.slow, pytest.mark.timeout(2400)]


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


def tap_rows(url: str, query: str) -> list[dict]:
    response = httpx.get(url + "/tap/sync", params={"REQUEST": "doQuery", "LANG": "ADQL", "QUERY": query},
                         timeout=60)
    response.raise_for_status()
    table = parse(io.BytesIO(response.content)).get_first_table().to_table()
    return [dict(zip(table.colnames, row, strict=True)) for row in table]


def wait_for_archive(server, n: int, timeout: float = 900) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.proc.poll() is not None:
            raise RuntimeError("portal serve exited:\n" + server.log.read_text(errors="replace"))
        try:
            if tap_rows(server.url, "SELECT COUNT(*) AS n FROM ivoa.obscore")[0]["n"] >= n:
                return
        except (httpx.HTTPError, IndexError):
            pass
        time.sleep(1)
    raise RuntimeError(f"the archive did not reach {n} rows in {timeout} s:\n" + server.log.read_text(errors="replace"))


@pytest.fixture(scope="module")
def simulated_server(tmp_path_factory):
    """`portal serve` with neither H.E.S.S. data nor a network: it simulates its default dataset."""
    root = tmp_path_factory.mktemp("serve-simulated")
    env = {"PORTAL_DATASET_URL": closed_port_url(), "GAMMAPY_DATA": ""}
    if gammapy_data() is not None and (gammapy_data() / "cta-caldb").is_dir():
        caldb_only = root / "gammapy-data"  # CTAO IRFs, but no hess-dl3-dr1
        caldb_only.mkdir()
        (caldb_only / "cta-caldb").symlink_to(gammapy_data() / "cta-caldb")
        env["GAMMAPY_DATA"] = str(caldb_only)
    server = start_portal(root / "state", env=env)
    try:
        wait_for_archive(server, 16, timeout=2000)
        yield server
    finally:
        server.stop()


def test_simulated_path_is_logged(simulated_server):
    log = simulated_server.log.read_text()
    assert "default dataset: simulated" in log
    assert "not local:" in log and "not download: download failed: cannot reach 127.0.0.1" in log


def test_simulated_release_is_in_the_archive(simulated_server):
    rows = tap_rows(simulated_server.url, "SELECT obs_id, target_name, obs_collection, facility_name, t_exptime "
                                          "FROM ivoa.obscore ORDER BY obs_id")
    assert len(rows) == 16
    assert {r["obs_collection"] for r in rows} == {"simulated-ctao-dl3"}
    assert {r["target_name"] for r in rows} == {"Crab Nebula", "PKS 2155-304", "MSH 15-52", "RX J1713.7-3946"}
    assert {r["facility_name"] for r in rows} == {"CTAO"}
    assert all(r["t_exptime"] == pytest.approx(28 * 60 * 0.97) for r in rows)


def test_simulated_datalinks_resolve(simulated_server):
    rows = tap_rows(simulated_server.url, "SELECT obs_publisher_did, access_url FROM ivoa.obscore")
    with httpx.Client(timeout=60) as client:
        for row in rows:
            assert row["access_url"].startswith(simulated_server.url + "/datalink?ID=")
            result = DatalinkResults(parse(io.BytesIO(client.get(row["access_url"]).content)))
            kinds = {r["local_semantics"] for r in result.to_table()}
            assert kinds == {"dl3", "events", "gti", "aeff", "edisp", "psf", "bkg", "counts-map", "spectrum"}
            for link in result:
                if link.semantics in ("#proc", "#preview-image"):
                    continue
                head = client.head(link.access_url)
                assert head.status_code == 200
                assert head.headers["content-type"] == link.content_type
                assert int(head.headers["content-length"]) == int(link.content_length)
        preview = client.get(simulated_server.url + "/data/preview?ID=" + quote(rows[0]["obs_publisher_did"], safe=""))
        assert preview.status_code == 200 and preview.content[:4] == b"\x89PNG"


def test_simulated_coverage(simulated_server):
    import astropy.units as u
    from mocpy import MOC

    moc = MOC.from_json(httpx.get(simulated_server.url + "/coverage/moc.json", timeout=60).json())
    inside = moc.contains_lonlat([83.633, 329.717, 228.32, 258.11, 0.0] * u.deg,
                                 [22.014, -30.226, -59.08, -39.69, 60.0] * u.deg)
    assert list(inside) == [True, True, True, True, False]


def _create_token(data_dir, user: str) -> str:
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-m", "portal.cli", "token", "create", user], capture_output=True, text=True,
                         check=True, env={"PORTAL_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"})
    return out.stdout.strip().splitlines()[-1].strip()


def test_spectrum_job_recovers_the_simulated_crab_index(simulated_server):
    rows = tap_rows(simulated_server.url, "SELECT obs_id FROM ivoa.obscore WHERE target_name = 'Crab Nebula'")
    obs_ids = ",".join(str(r["obs_id"]) for r in rows)
    token = _create_token(simulated_server.log.parent, "astronomer")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=simulated_server.url, headers=headers, timeout=60) as client:
        # two flux points are enough here (the fit is what is checked) and keep the job short
        created = client.post("/uws/spectrum", data={"obs_ids": obs_ids, "ra": "83.63308", "dec": "22.0145",
                                                     "model": "pl", "n_bins": "2", "PHASE": "RUN"})
        assert created.status_code == 303, created.text
        job_url = created.headers["location"]
        deadline = time.monotonic() + 1800
        while True:
            job = parse_job(io.BytesIO(client.get(job_url).content))
            if job.phase in ("COMPLETED", "ERROR", "ABORTED") or time.monotonic() > deadline:
                break
            time.sleep(2)
        assert job.phase == "COMPLETED", client.get(job_url + "/error").text
        model = yaml.safe_load(client.get(job_url + "/results/model").text)
    spectral = next(c["spectral"] for c in model["components"] if "spectral" in c)
    index = next(p for p in spectral["parameters"] if p["name"] == "index")
    amplitude = next(p for p in spectral["parameters"] if p["name"] == "amplitude")
    # simulated: H.E.S.S. power law, index 2.63, amplitude 3.45e-11 cm-2 s-1 TeV-1 at 1 TeV
    assert abs(index["value"] - 2.63) < 2 * index["error"], index
    assert abs(amplitude["value"] - 3.45e-11) < 2 * amplitude["error"] + 0.05 * 3.45e-11, amplitude


@pytest.mark.requires_data
def test_download_path(tmp_path):
    with LoopbackFileServer(gammapy_data()) as mirror:
        server = start_portal(tmp_path / "state", env={"GAMMAPY_DATA": "", "PORTAL_DATASET_URL": mirror.url})
        try:
            wait_for_archive(server, 105, timeout=600)
            log = server.log.read_text()
            assert "default dataset: download" in log and "not local: GAMMAPY_DATA is not set" in log
            rows = tap_rows(server.url, "SELECT obs_id FROM ivoa.obscore WHERE target_name = 'Crab'")
            assert {int(r["obs_id"]) for r in rows} >= {23523, 23526, 23559, 23592}
        finally:
            server.stop()
    assert (tmp_path / "state" / "gammapy-data" / "catalogs" / "hgps_catalog_v1.fits.gz").is_file()


@pytest.mark.requires_data
def test_local_path(portal_server):
    """The session's `portal serve` (GAMMAPY_DATA set) took the local path and ingested DR1."""
    wait_for_archive(portal_server, 105, timeout=600)
    log = portal_server.log.read_text()
    assert "default dataset: local" in log and "hess-dl3-dr1" in log
    assert "download" not in log.split("default dataset: local")[0]
    assert not (portal_server.log.parent / "gammapy-data").exists()
