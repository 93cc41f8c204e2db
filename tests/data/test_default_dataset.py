"""The default dataset chain, in process: local, download (from loopback), simulated; forced paths."""

from __future__ import annotations

import shutil
import socket

import pytest

from portal.catalogs import CatalogRegistry
from portal.config import Settings
from portal.datasets.default import SIMULATED_DIR, SOURCES, is_release, resolve_default_dataset
from tests.conftest import gammapy_data
from tests.data.loopback import LoopbackFileServer


def closed_port_url() -> str:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return f"http://127.0.0.1:{s.getsockname()[1]}/"


@pytest.mark.requires_data
def test_local_gammapy_data_comes_first(tmp_path):
    dataset = resolve_default_dataset(Settings(data_dir=tmp_path, gammapy_data=gammapy_data()), SOURCES)
    assert dataset.source == "local"
    assert dataset.release_dir == gammapy_data() / "hess-dl3-dr1"
    assert not (tmp_path / "gammapy-data").exists()  # nothing downloaded


@pytest.mark.requires_data
def test_download_when_there_is_no_local_copy(tmp_path, monkeypatch):
    with LoopbackFileServer(gammapy_data()) as server:
        monkeypatch.setenv("PORTAL_DATASET_URL", server.url)
        dataset = resolve_default_dataset(Settings(data_dir=tmp_path, gammapy_data=None), SOURCES)
    assert dataset.source == "download"
    assert dataset.release_dir == tmp_path / "gammapy-data" / "hess-dl3-dr1"
    assert is_release(dataset.release_dir)
    assert len(list((dataset.release_dir / "data").glob("*.fits.gz"))) == 105
    assert dataset.skipped == ("local: GAMMAPY_DATA is not set",)
    # the catalogs came with it, and the registry finds them there
    registry = CatalogRegistry.from_settings(Settings(data_dir=tmp_path, gammapy_data=None))
    assert len(registry.available()) == 8
    assert registry.resolve("Crab")


def test_simulated_when_offline_and_no_data(tmp_path, monkeypatch, tiny_release):
    """Offline with no GAMMAPY_DATA: the simulated path (here a release made earlier is reused)."""
    monkeypatch.setenv("PORTAL_DATASET_URL", closed_port_url())
    shutil.copytree(tiny_release.path, tmp_path / SIMULATED_DIR)
    dataset = resolve_default_dataset(Settings(data_dir=tmp_path, gammapy_data=tmp_path / "empty"), SOURCES)
    assert dataset.source == "simulated"
    assert dataset.release_dir == tmp_path / SIMULATED_DIR
    local, download = dataset.skipped
    assert local.startswith("local: ") and "not a GADF release" in local
    assert download.startswith("download: download failed: cannot reach 127.0.0.1") and "offline" in download
    assert "default dataset: simulated" in dataset.describe()


def test_portal_default_dataset_selects_the_paths(tmp_path, monkeypatch):
    settings = Settings(data_dir=tmp_path, gammapy_data=None)
    monkeypatch.setenv("PORTAL_DEFAULT_DATASET", "local")
    with pytest.raises(RuntimeError, match="no default dataset could be made: local: GAMMAPY_DATA is not set"):
        resolve_default_dataset(settings)
    monkeypatch.setenv("PORTAL_DEFAULT_DATASET", "none")
    assert resolve_default_dataset(settings) is None
    monkeypatch.setenv("PORTAL_DEFAULT_DATASET", "somewhere")
    with pytest.raises(ValueError, match="PORTAL_DEFAULT_DATASET must be auto, none, local, download or simulated"):
        resolve_default_dataset(settings)


@pytest.mark.requires_data
def test_in_process_default_never_downloads_or_simulates(tmp_path, monkeypatch):
    """Unset (an app made in process, as in tests): the local path only, nothing fetched or simulated."""
    monkeypatch.delenv("PORTAL_DEFAULT_DATASET", raising=False)
    with LoopbackFileServer(gammapy_data()) as server:
        monkeypatch.setenv("PORTAL_DATASET_URL", server.url)
        assert resolve_default_dataset(Settings(data_dir=tmp_path, gammapy_data=None)) is None
        assert server.faults.requests == []
    assert list(tmp_path.iterdir()) == []
    local = resolve_default_dataset(Settings(data_dir=tmp_path, gammapy_data=gammapy_data()))
    assert local.source == "local"
