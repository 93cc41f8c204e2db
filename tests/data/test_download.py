"""The download of H.E.S.S. DL3 DR1: checksums, resume, corruption, offline; against a loopback server."""

from __future__ import annotations

import socket

import pytest

from portal.datasets.download import ChecksumError, DownloadUnavailable, download_release
from portal.datasets.manifest import FileEntry, Manifest, load_manifest, sha256_of
from tests.conftest import gammapy_data
from tests.data.loopback import Faults, LoopbackFileServer

DATA_FILE = "hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023523.fits.gz"


def small_manifest() -> Manifest:
    """The index files and three observations: enough to exercise every path quickly."""
    full = load_manifest("hess-dl3-dr1")
    keep = {"hess-dl3-dr1/obs-index.fits.gz", "hess-dl3-dr1/hdu-index.fits.gz", DATA_FILE,
            "hess-dl3-dr1/data/hess_dl3_dr1_obs_id_023526.fits.gz", "catalogs/2HWC.ecsv"}
    return Manifest(full.name, full.base_url, full.release_dir, tuple(f for f in full.files if f.path in keep))


def check_files(dest, manifest):
    for entry in manifest.files:
        path = dest / entry.path
        assert path.stat().st_size == entry.size
        assert sha256_of(path) == entry.sha256
        assert not path.with_name(path.name + ".part").exists()


@pytest.mark.requires_data
def test_manifest_matches_local_gammapy_data():
    manifest = load_manifest("hess-dl3-dr1")
    paths = {f.path for f in manifest.files}
    assert sum(p.startswith("hess-dl3-dr1/data/") for p in paths) == 105
    assert {"catalogs/fermi/gll_psc_v16.fit.gz", "catalogs/hgps_catalog_v1.fits.gz", "catalogs/3HWC.ecsv"} <= paths
    entry = next(f for f in manifest.files if f.path == DATA_FILE)
    assert sha256_of(gammapy_data() / DATA_FILE) == entry.sha256


@pytest.mark.requires_data
def test_download_then_reuse(tmp_path):
    manifest = small_manifest()
    with LoopbackFileServer(gammapy_data()) as server:
        first = download_release(manifest, tmp_path, base_url=server.url, progress=False)
        second = download_release(manifest, tmp_path, base_url=server.url, progress=False)
    check_files(tmp_path, manifest)
    assert (first.fetched, first.reused) == (len(manifest.files), 0)
    assert first.bytes_fetched == manifest.total_size
    assert (second.fetched, second.reused, second.bytes_fetched) == (0, len(manifest.files), 0)
    assert first.release_dir == tmp_path / "hess-dl3-dr1"


@pytest.mark.requires_data
def test_interrupted_transfer_resumes_with_range(tmp_path):
    manifest = small_manifest()
    faults = Faults(interrupt_once={DATA_FILE})
    with LoopbackFileServer(gammapy_data(), faults) as server:
        result = download_release(manifest, tmp_path, base_url=server.url, progress=False)
    check_files(tmp_path, manifest)
    assert result.resumed == 1
    gets = [(rng, status) for path, rng, status in faults.requests if path == DATA_FILE]
    size = (gammapy_data() / DATA_FILE).stat().st_size
    assert gets[0] == (None, 200)
    start = int(gets[1][0].removeprefix("bytes=").rstrip("-"))
    assert gets[1][1] == 206 and 0 < start <= size // 2  # only what is missing is fetched again
    assert result.bytes_fetched == manifest.total_size


@pytest.mark.requires_data
def test_partial_file_from_an_earlier_run_is_resumed(tmp_path):
    manifest = small_manifest()
    source = (gammapy_data() / DATA_FILE).read_bytes()
    part = tmp_path / (DATA_FILE + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes(source[:1000])
    faults = Faults()
    with LoopbackFileServer(gammapy_data(), faults) as server:
        result = download_release(manifest, tmp_path, base_url=server.url, progress=False)
    check_files(tmp_path, manifest)
    assert (DATA_FILE, "bytes=1000-", 206) in faults.requests
    assert result.resumed == 1


@pytest.mark.requires_data
def test_server_ignoring_range_restarts_the_file(tmp_path):
    manifest = small_manifest()
    part = tmp_path / (DATA_FILE + ".part")
    part.parent.mkdir(parents=True)
    part.write_bytes((gammapy_data() / DATA_FILE).read_bytes()[:1000])
    with LoopbackFileServer(gammapy_data(), Faults(ignore_range=True)) as server:
        result = download_release(manifest, tmp_path, base_url=server.url, progress=False)
    check_files(tmp_path, manifest)
    assert result.resumed == 0


@pytest.mark.requires_data
def test_corrupted_file_is_fetched_again(tmp_path):
    manifest = small_manifest()
    faults = Faults(corrupt_once={DATA_FILE})
    with LoopbackFileServer(gammapy_data(), faults) as server:
        download_release(manifest, tmp_path, base_url=server.url, progress=False)
    check_files(tmp_path, manifest)
    assert [status for path, _, status in faults.requests if path == DATA_FILE] == [200, 200]


@pytest.mark.requires_data
def test_persistently_corrupted_file_is_reported_by_name(tmp_path):
    manifest = small_manifest()
    with LoopbackFileServer(gammapy_data(), Faults(corrupt_always={DATA_FILE})) as server:
        with pytest.raises(ChecksumError, match="hess_dl3_dr1_obs_id_023523.fits.gz: SHA-256 mismatch"):
            download_release(manifest, tmp_path, base_url=server.url, progress=False, retries=2)
    assert not (tmp_path / DATA_FILE).exists()
    assert not (tmp_path / (DATA_FILE + ".part")).exists()


@pytest.mark.requires_data
def test_missing_file_on_server_is_reported(tmp_path):
    manifest = Manifest("x", "", "x", (FileEntry("hess-dl3-dr1/nope.fits", 10, "0" * 64),))
    with LoopbackFileServer(gammapy_data()) as server:
        with pytest.raises(Exception, match="nope.fits: not found"):
            download_release(manifest, tmp_path, base_url=server.url, progress=False)


def test_offline_gives_a_clear_message(tmp_path):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{s.getsockname()[1]}/"
    with pytest.raises(DownloadUnavailable, match="offline") as info:
        download_release(small_manifest(), tmp_path, base_url=url, progress=False)
    assert "GAMMAPY_DATA" in str(info.value)


@pytest.mark.parametrize("path", ["../etc/passwd", "/etc/passwd", "a/../../b", ""])
def test_manifest_refuses_unsafe_paths(path):
    with pytest.raises(ValueError, match="unsafe path"):
        FileEntry(path, 1, "0" * 64)
