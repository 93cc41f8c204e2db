"""Shared fixtures of the data tests: a small simulated release, an archive, a DataLink client."""

from __future__ import annotations

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
