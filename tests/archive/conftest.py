"""Fixtures of the archive tests: a small archive in-process, and `portal serve` with H.E.S.S. DR1."""

from __future__ import annotations

import os
import time
from pathlib import Path

import httpx
import pytest

from portal.archive import service, store
from portal.archive.ingest import ingest_synthetic
from portal.archive.service import TapQuery
from tests.support.servers import start_portal

GAMMAPY_DATA = Path(os.environ.get("GAMMAPY_DATA", "/nonexistent"))
DR1 = GAMMAPY_DATA / "hess-dl3-dr1"
CRAB = (83.633, 22.014)

# hand-made rows with known geometry, on top of the synthetic ones
SPECIAL = [
    # obs_number, ra, dec, s_region
    (900001, 10.0, 10.0, "POLYGON ICRS 9 9 11 9 11 11 9 11"),
    (900002, 359.8, 0.0, "CIRCLE ICRS 359.8 0.0 1.0"),
    (900003, 0.3, 0.2, "CIRCLE ICRS 0.3 0.2 0.5"),
    (900004, 200.0, 89.9, "CIRCLE ICRS 200.0 89.9 0.3"),
]


def special_row(number: int, ra: float, dec: float, region: str) -> dict:
    return {
        "dataproduct_type": "event", "calib_level": 2, "obs_collection": "special", "obs_id": str(number),
        "obs_publisher_did": f"ivo://gamma-portal/archive?special/{number}", "access_path": f"/datalink?ID={number}",
        "access_format": "application/x-votable+xml;content=datalink", "target_name": f"Special {number}",
        "s_ra": ra, "s_dec": dec, "s_region": region, "s_fov": 2.0, "t_min": 55000.0, "t_max": 55000.02,
        "energy_min": 0.5, "energy_max": 50.0, "facility_name": "TEST", "instrument_name": "test",
        "obs_number": number, "proposal_id": None, "livetime": 1500.0, "zenith": 30.0,
    }


@pytest.fixture(scope="session")
def small_db(tmp_path_factory) -> Path:
    """An archive with 5000 synthetic rows and a few special ones, built once per session."""
    path = tmp_path_factory.mktemp("archive") / store.DB_NAME
    ingest_synthetic(path, 5000, seed=42)
    conn = store.connect_write(path)
    with store.transaction(conn):
        store.insert_rows(conn, [special_row(*s) for s in SPECIAL])
    conn.execute("ANALYZE")
    conn.close()
    return path


def query(db: Path, adql: str, maxrec: int = 100_000, uploads=None, base_url: str = "http://portal.test"):
    """Run ADQL in-process; returns (column names, rows)."""
    q = TapQuery(adql, maxrec=maxrec, uploads=uploads or [])
    result = service.execute(db, q, base_url)
    return [c.meta.name for c in result.columns], result.rows


@pytest.fixture(scope="session")
def tap_server(tmp_path_factory):
    """`portal serve` with H.E.S.S. DR1 ingested at start-up (as on first use) when $GAMMAPY_DATA has it;
    without it, with 300 synthetic rows ingested beforehand."""
    data_dir = tmp_path_factory.mktemp("portal-archive")
    has_dr1 = (DR1 / "obs-index.fits.gz").is_file()
    if not has_dr1:
        ingest_synthetic(store.db_path(data_dir), 300, seed=5)
    env = {"GAMMAPY_DATA": str(GAMMAPY_DATA)} if has_dr1 else {"GAMMAPY_DATA": ""}
    server = start_portal(data_dir, env=env)
    try:
        deadline = time.monotonic() + 300
        text = ""
        while time.monotonic() < deadline:
            text = httpx.get(server.url + "/tap/availability").text
            if "archive ready" in text or "could not be ingested" in text:
                break
            time.sleep(0.3)
        assert "archive ready" in text, text
        server.has_dr1 = has_dr1
        yield server
    finally:
        server.stop()
