"""Shared fixtures of the data tests: a small simulated release, an archive, a DataLink client."""

from __future__ import annotations

import contextlib

from pathlib import Path

import pytest

from portal.datasets.plan import SimulationConfig


@pytest.fixture(scope="session")
def tiny_release(tmp_path_factory):
    """One short Crab run simulated with the parametric IRFs (no caldb): quick, and tests that path."""
    from portal.datasets.simulate import simulate_release

    out = tmp_path_factory.mktemp("sim") / "tiny-sim"
    config = SimulationConfig(sources=("crab",), runs_per_source=1, ontime_min=5.0, seed=7)
    return simulate_release(out, config, caldb=None, workers=1)


@pytest.fixture(scope="session")
def dr1_archive(tmp_path_factory, tiny_release):
    """A data dir whose archive holds H.E.S.S. DR1 (105 observations) and the tiny simulated release."""
    from portal.archive.ingest import ingest_release
    from portal.archive.store import db_path
    from tests.conftest import gammapy_data

    data_dir = tmp_path_factory.mktemp("archive")
    ingest_release(db_path(data_dir), gammapy_data() / "hess-dl3-dr1")
    ingest_release(db_path(data_dir), tiny_release.path)
    return data_dir


def make_client(data_dir):
    """An in-process app with DataLink and the coverage MOC mounted (the spectrum definition known)."""
    from fastapi import FastAPI
    from fastapi.testclient import TestClient

    from portal.config import Settings
    from portal.coverage.handlers import install as install_coverage
    from portal.datalink.handlers import install as install_datalink
    from portal.jobs import SPECTRUM

    settings = Settings(data_dir=data_dir)
    app = FastAPI()
    app.state.settings = settings
    install_datalink(app, settings).spectrum = SPECTRUM
    install_coverage(app, settings)
    return TestClient(app)


@pytest.fixture(scope="session")
def client(dr1_archive):
    with make_client(dr1_archive) as c:
        yield c


CRAB = (83.63333, 22.01444)  # as the MAGIC and H.E.S.S. files give it
HESS_CRAB_RUNS = [23523, 23526]  # 0.5 deg wobbles


@pytest.fixture(scope="session")
def magic_release():
    """MAGIC's two Crab runs with point-like IRFs and an energy-dependent RAD_MAX_2D (gammapy-data)."""
    from tests.conftest import gammapy_data

    path = (gammapy_data() or Path("/nonexistent")) / "magic" / "rad_max" / "data"
    if not (path / "obs-index.fits.gz").is_file():
        pytest.skip("needs $GAMMAPY_DATA/magic/rad_max/data")
    return path


@pytest.fixture(scope="session")
def ctao_release(tmp_path_factory):
    """Two 10-minute wobble runs on the Crab simulated with the CTAO prod5 North IRFs, as the default
    simulated dataset is (power law of index 2.63)."""
    from tests.conftest import gammapy_data

    from portal.datasets.simulate import simulate_release

    caldb = (gammapy_data() or Path("/nonexistent")) / "cta-caldb"
    if not caldb.is_dir():
        pytest.skip("needs $GAMMAPY_DATA/cta-caldb")
    config = SimulationConfig(sources=("crab",), runs_per_source=2, ontime_min=10.0, seed=11)
    return simulate_release(tmp_path_factory.mktemp("ctao") / "simulated-ctao-dl3", config, caldb=caldb, workers=1)


@pytest.fixture(scope="session")
def releases(tmp_path_factory, magic_release, ctao_release) -> dict[str, Path]:
    """Every kind of release the portal must take, by name: MAGIC as published; VERITAS-like releases
    (empty FILE_DIR, safe thresholds spanning the whole grid) made from the MAGIC files (plain files and
    plain index files) and from H.E.S.S. DR1 files (gzip); point-like IRFs with a fixed RAD_MAX header
    keyword made from H.E.S.S. DR1; the simulated CTAO release. Obs ids are shifted so that they can
    share one archive."""
    from tests.archive.releases import fixed_rad_max, veritas_like
    from tests.conftest import gammapy_data

    root = tmp_path_factory.mktemp("releases")
    dr1 = gammapy_data() / "hess-dl3-dr1"
    return {
        "magic": magic_release,
        "magic-veritas-like": veritas_like(magic_release, root / "magic-veritas-like", renumber=1_000_000),
        "hess-veritas-like": veritas_like(dr1, root / "hess-veritas-like", HESS_CRAB_RUNS, gzip_index=True,
                                          renumber=1_000_000),
        "hess-fixed-rad-max": fixed_rad_max(dr1, root / "hess-fixed-rad-max", HESS_CRAB_RUNS, renumber=2_000_000),
        "ctao": ctao_release.path,
    }


@pytest.fixture(scope="session")
def releases_archive(tmp_path_factory, releases) -> Path:
    """A data dir whose archive holds every release of ``releases``, each under its default name."""
    from portal.archive.ingest import ingest_release
    from portal.archive.store import db_path

    data_dir = tmp_path_factory.mktemp("releases-archive")
    for path in releases.values():
        ingest_release(db_path(data_dir), path)
    return data_dir


@contextlib.contextmanager
def analysis_service(data_dir, user: str):
    """`portal serve` on an archive already ingested in ``data_dir`` (no default dataset), with two worker
    processes and two jobs at a time (the two cores of a CI machine); a client with ``user``'s token."""
    from tests.support.servers import create_token, start_portal
    from widgets.client import PortalClient

    env = {"PORTAL_DEFAULT_DATASET": "none", "PORTAL_DASK_WORKERS": "2", "PORTAL_UWS_MAX_RUNNING": "2",
           "PORTAL_UWS_MAX_RUNNING_PER_USER": "2"}
    server = start_portal(data_dir, env=env)
    client = PortalClient(server.url, create_token(data_dir, user))
    try:
        yield client
    finally:
        client.close()
        server.stop()
