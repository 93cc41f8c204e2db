"""Ingest of GADF DL3 releases: H.E.S.S. DR1, point-like IRFs, broken releases, synthetic rows."""

import gzip
import shutil
import sqlite3

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.table import Table

from portal.archive import store
from portal.archive.ingest import IngestError, ingest_release, ingest_synthetic
from portal.archive.locate import locate_observations
from portal.archive.locate import ObservationLocation
from portal.uws.definitions import UsageError
from tests.archive.conftest import CRAB, DR1, query
from tests.archive.releases import POINTLIKE_OBS, dr1_subset, make_pointlike_release

CRAB_RUNS = ["23523", "23526", "23559", "23592"]


@pytest.fixture(scope="module")
def dr1_db(tmp_path_factory):
    if not (DR1 / "obs-index.fits.gz").is_file():
        pytest.skip("needs $GAMMAPY_DATA/hess-dl3-dr1")
    db = tmp_path_factory.mktemp("dr1") / store.DB_NAME
    assert ingest_release(db, DR1) == 105
    return db


def count(db):
    return query(db, "SELECT COUNT(*) FROM ivoa.obscore")[1][0][0]


@pytest.mark.requires_data
def test_dr1_has_one_row_per_observation(dr1_db):
    assert count(dr1_db) == 105
    names, rows = query(dr1_db, "SELECT * FROM ivoa.obscore WHERE obs_id = '23523'")
    row = dict(zip(names, rows[0]))
    assert row["dataproduct_type"] == "event" and row["calib_level"] == 2
    assert row["obs_collection"] == "hess-dl3-dr1" and row["facility_name"] == "HESS"
    assert row["instrument_name"] == "H.E.S.S. Phase I" and row["target_name"] == "Crab"
    assert row["obs_publisher_did"] == "ivo://gamma-portal/archive?hess-dl3-dr1/23523"
    assert row["access_url"].endswith("/datalink?ID=ivo%3A%2F%2Fgamma-portal%2Farchive%3Fhess-dl3-dr1%2F23523")
    assert row["access_format"] == "application/x-votable+xml;content=datalink"
    assert row["s_ra"] == pytest.approx(83.63333) and row["s_dec"] == pytest.approx(21.51444)
    assert row["s_fov"] == 5.0 and row["s_region"] == "CIRCLE ICRS 83.63333 21.514444 2.5"
    assert 200 < row["s_resolution"] < 800  # arcsec: PSF r68 near 1 TeV
    assert row["t_min"] == pytest.approx(53343.9223, abs=1e-4) and row["t_max"] > row["t_min"]
    assert row["t_exptime"] == pytest.approx(1581.7368) and row["livetime"] == row["t_exptime"]
    assert row["energy_min"] == pytest.approx(0.87096, rel=1e-4) and row["energy_max"] == 100
    assert row["em_min"] == pytest.approx(1.239841984e-6 / 100e12)
    assert row["em_max"] == pytest.approx(1.239841984e-6 / (row["energy_min"] * 1e12))
    assert row["zenith"] == pytest.approx(48.61, abs=0.01) and row["target_offset"] == pytest.approx(0.5)
    assert row["ev_xel"] == 7613 and row["n_tels"] == 4 and row["irf_type"] == "full-enclosure"
    assert 2 < row["em_res_power"] < 20 and row["access_estsize"] > 100


@pytest.mark.requires_data
def test_dr1_crab_cone_on_pointings(dr1_db):
    _, rows = query(dr1_db, f"SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
                            f"CIRCLE('ICRS', {CRAB[0]}, {CRAB[1]}, 2)) ORDER BY obs_id")
    assert [r[0] for r in rows] == CRAB_RUNS
    _, rows = query(dr1_db, f"SELECT obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
                            f"CIRCLE('ICRS', {CRAB[0]}, {CRAB[1]}, 0.6)) ORDER BY obs_id")
    assert [r[0] for r in rows] == CRAB_RUNS[:2]  # the 1.5 degree wobbles are outside


@pytest.mark.requires_data
def test_dr1_fields_of_view_covering_the_crab(dr1_db):
    obs = Table.read(DR1 / "obs-index.fits.gz")
    sep = SkyCoord(obs["RA_PNT"], obs["DEC_PNT"], unit="deg").separation(SkyCoord(*CRAB, unit="deg")).deg
    expected = sorted(str(i) for i in obs["OBS_ID"][sep <= 2.5])  # H.E.S.S. IRFs reach 2.5 deg offset
    _, rows = query(dr1_db, f"SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', {CRAB[0]}, {CRAB[1]}), "
                            "s_region) = 1 ORDER BY obs_id")
    assert [r[0] for r in rows] == expected and set(CRAB_RUNS) <= set(expected)


@pytest.mark.requires_data
def test_ingest_is_idempotent(dr1_db):
    assert ingest_release(dr1_db, DR1) == 0
    assert count(dr1_db) == 105


@pytest.mark.requires_data
def test_locate_observations(dr1_db):
    found = locate_observations(dr1_db, [23592, 23523])
    assert [f.obs_id for f in found] == [23592, 23523]
    assert all(isinstance(f, ObservationLocation) and f.release_dir == DR1.resolve() for f in found)
    assert found[1].target_name == "Crab" and found[1].ra == pytest.approx(83.63333)
    with pytest.raises(UsageError, match="unknown obs ids: 1, 2"):
        locate_observations(dr1_db, [23523, 1, 2])


def test_pointlike_release(tmp_path):
    release = make_pointlike_release(tmp_path / "pointlike")
    db = tmp_path / store.DB_NAME
    assert ingest_release(db, release, collection="test-pointlike") == 3
    names, rows = query(db, "SELECT obs_id, irf_type, s_resolution, target_name, em_res_power, energy_min, "
                            "obs_collection FROM ivoa.obscore ORDER BY obs_id")
    assert [r[0] for r in rows] == [str(o[0]) for o in POINTLIKE_OBS]
    for r in rows:
        assert r[1] == "point-like" and r[2] == pytest.approx(0.12 * 3600) and r[6] == "test-pointlike"
        assert 5 < r[4] < 12 and r[5] == pytest.approx(0.05)
    assert locate_observations(db, [1003])[0].release_dir == release.resolve()


def test_synthetic_rows_and_locate_refuses_them(tmp_path):
    db = tmp_path / store.DB_NAME
    assert ingest_synthetic(db, 1500, seed=3) == 1500
    assert ingest_synthetic(db, 500, seed=3) == 500
    assert count(db) == 2000
    _, rows = query(db, "SELECT COUNT(DISTINCT obs_publisher_did), MIN(s_dec), MAX(s_dec), MIN(energy_min) "
                        "FROM ivoa.obscore")
    assert rows[0][0] == 2000 and -90 < rows[0][1] < -60 and 60 < rows[0][2] < 90 and rows[0][3] > 0.05
    with pytest.raises(UsageError, match="no data files"):
        locate_observations(db, [10])


@pytest.fixture
def subset(tmp_path):
    if not (DR1 / "obs-index.fits.gz").is_file():
        pytest.skip("needs $GAMMAPY_DATA/hess-dl3-dr1")
    return dr1_subset(DR1, tmp_path / "release", [23523, 23526, 23559])


def _broken(kind, release):
    if kind == "missing-file":
        victim = next((release / "data").iterdir())
        victim.unlink()
        return victim.name, "does not exist"
    if kind == "corrupt-file":
        victim = sorted((release / "data").iterdir())[1]
        victim.write_bytes(gzip.compress(b"SIMPLE  =                    T" + b" " * 100))
        return victim.name, "OBS_ID"
    if kind == "truncated-file":
        victim = sorted((release / "data").iterdir())[2]
        victim.write_bytes(victim.read_bytes()[:5000])
        return victim.name, ""
    if kind == "missing-column":
        t = Table.read(release / "obs-index.fits.gz")
        t.remove_column("RA_PNT")
        t.write(release / "obs-index.fits.gz", overwrite=True)
        return "obs-index.fits.gz", "RA_PNT missing"
    if kind == "no-obs-index":
        (release / "obs-index.fits.gz").unlink()
        return "obs-index", "not a GADF DL3 release"
    if kind == "duplicate-obs":
        t = Table.read(release / "obs-index.fits.gz")
        t.add_row(t[0])
        t.write(release / "obs-index.fits.gz", overwrite=True)
        return "obs-index.fits.gz", "listed twice"
    raise AssertionError(kind)


@pytest.mark.requires_data
@pytest.mark.parametrize("kind", ["missing-file", "corrupt-file", "truncated-file", "missing-column",
                                  "no-obs-index", "duplicate-obs"])
def test_broken_release_is_refused_and_nothing_written(tmp_path, subset, kind):
    db = tmp_path / store.DB_NAME
    ingest_synthetic(db, 10, seed=1)
    before = count(db)
    name, problem = _broken(kind, subset)
    with pytest.raises(IngestError) as exc:
        ingest_release(db, subset)
    assert name in str(exc.value) and problem in str(exc.value)
    assert count(db) == before
    conn = sqlite3.connect(db)
    assert conn.execute('SELECT COUNT(*) FROM "archive_release"').fetchone()[0] == 0
    assert conn.execute('SELECT COUNT(*) FROM "obscore_pos"').fetchone()[0] == before
    conn.close()


@pytest.mark.requires_data
def test_failure_while_writing_rolls_back(tmp_path, subset, monkeypatch):
    db = tmp_path / store.DB_NAME
    calls = []

    def failing(conn, columns, pos, region):
        calls.append(1)
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(store, "insert_columns", failing)
    with pytest.raises(sqlite3.OperationalError):
        ingest_release(db, subset)
    monkeypatch.undo()
    assert calls and count(db) == 0
    assert ingest_release(db, subset) == 3


def test_not_a_folder(tmp_path):
    with pytest.raises(IngestError, match="no such folder"):
        ingest_release(tmp_path / "archive.sqlite", tmp_path / "nope")


def test_same_obs_ids_in_two_releases(tmp_path):
    first = make_pointlike_release(tmp_path / "a")
    second = tmp_path / "b"
    shutil.copytree(first, second)
    db = tmp_path / store.DB_NAME
    assert ingest_release(db, first) == 3 and ingest_release(db, second) == 3
    assert count(db) == 6
    with pytest.raises(UsageError, match="obs id 1001 is in collections a and b: write a/1001 or b/1001"):
        locate_observations(db, [1001])  # no silent choice (see test_collections.py)
    assert np.all([r[0] for r in query(db, "SELECT DISTINCT obs_collection FROM ivoa.obscore")[1]])


@pytest.mark.requires_data
def test_first_start_ingests_dr1_in_the_background(tmp_path):
    """An empty archive gets $GAMMAPY_DATA/hess-dl3-dr1 at start-up; /tap/availability answers meanwhile."""
    import time

    from fastapi.testclient import TestClient

    from portal.app import create_app
    from portal.config import Settings
    from tests.archive.conftest import GAMMAPY_DATA

    settings = Settings(data_dir=tmp_path / "state", gammapy_data=GAMMAPY_DATA)
    with TestClient(create_app(settings)) as client:
        started = time.monotonic()
        first = client.get("/tap/availability")
        assert first.status_code == 200 and time.monotonic() - started < 5
        text = first.text
        while "archive ready" not in text and time.monotonic() - started < 120:
            time.sleep(0.2)
            text = client.get("/tap/availability").text
        assert "105 observations ingested" in text
        r = client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT COUNT(*) AS n FROM ivoa.obscore",
                                            "RESPONSEFORMAT": "csv"})
        assert r.text.splitlines() == ["n", "105"]
