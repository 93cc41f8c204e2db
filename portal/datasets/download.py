"""Download a release file by file: progress bar, SHA-256 checks, resume after an interruption.

Each file of the manifest is streamed into ``<file>.part``; an interrupted transfer (network cut,
``portal serve`` stopped) resumes where it stopped with an HTTP ``Range`` request, in this run or
the next. A finished file is checked against its size and SHA-256 before it takes its final
name; a corrupted file is fetched again, and reported by name if it stays corrupted. When the
server cannot be reached at all, :class:`DownloadUnavailable` says so in plain words. Usage::

    from portal.datasets.download import download_release
    from portal.datasets.manifest import load_manifest
    result = download_release(load_manifest("hess-dl3-dr1"), Path("~/gammapy-data"))
"""

from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urljoin, urlparse

import httpx

from portal.datasets.manifest import FileEntry, Manifest, sha256_of

log = logging.getLogger(__name__)

CHUNK = 1 << 16
RETRYABLE = (httpx.ReadError, httpx.WriteError, httpx.RemoteProtocolError, httpx.ReadTimeout,
             httpx.WriteTimeout, httpx.PoolTimeout)


class DownloadError(Exception):
    """The download failed; the message says which file and why."""


class DownloadUnavailable(DownloadError):
    """The source cannot be reached at all (offline machine, DNS failure, server down)."""


class ChecksumError(DownloadError):
    """A file kept arriving with the wrong size or SHA-256."""


@dataclass(frozen=True)
class DownloadResult:
    root: Path  # the gammapy-data-like folder the files went into
    release_dir: Path  # the GADF release inside it
    fetched: int  # files transferred in this run
    reused: int  # files already present and verified
    bytes_fetched: int
    resumed: int  # transfers that continued a partial file
    seconds: float


def download_release(manifest: Manifest, dest: Path, base_url: str | None = None, retries: int = 3,
                     timeout: float = 30.0, progress: bool | None = None,
                     client: httpx.Client | None = None) -> DownloadResult:
    """Fetch every file of ``manifest`` into ``dest`` (a gammapy-data-like folder).

    ``base_url`` overrides the manifest's source (``$PORTAL_DATASET_URL`` does the same from the
    environment). ``progress``: a tqdm bar on stderr (default: only when stderr is a terminal;
    a log line per file is always written).
    """
    base = base_url or os.environ.get("PORTAL_DATASET_URL") or manifest.base_url
    base = base if base.endswith("/") else base + "/"
    dest = Path(dest)
    started = time.perf_counter()
    own_client = client is None
    client = client or httpx.Client(timeout=timeout, follow_redirects=True)
    bar = _progress_bar(manifest, progress)
    stats = {"fetched": 0, "reused": 0, "bytes": 0, "resumed": 0}
    try:
        for i, entry in enumerate(manifest.files, 1):
            target = dest / entry.path
            if _verified(target, entry):
                stats["reused"] += 1
                bar.update(entry.size)
                continue
            _fetch_file(client, base, entry, target, retries, bar, stats)
            stats["fetched"] += 1
            log.info("downloaded %s (%d/%d files, %.1f MB)", entry.path, i, len(manifest.files), entry.size / 1e6)
    finally:
        bar.close()
        if own_client:
            client.close()
    complete_marker(dest, manifest).write_text(f"{len(manifest.files)} files verified\n")
    return DownloadResult(dest, dest / manifest.release_dir, stats["fetched"], stats["reused"], stats["bytes"],
                          stats["resumed"], time.perf_counter() - started)


def complete_marker(dest: Path, manifest: Manifest) -> Path:
    """The file that says every file of ``manifest`` is in ``dest``, verified (written last)."""
    return Path(dest) / f".{manifest.name}.complete"


def _verified(target: Path, entry: FileEntry) -> bool:
    """The file is there, complete and intact (a stamp file skips re-hashing unchanged files)."""
    if not target.is_file() or target.stat().st_size != entry.size:
        return False
    stamp = target.with_name(target.name + ".sha256")
    fresh = stamp.is_file() and stamp.stat().st_mtime >= target.stat().st_mtime
    if fresh and stamp.read_text().strip() == entry.sha256:
        return True
    if sha256_of(target) == entry.sha256:
        stamp.write_text(entry.sha256 + "\n")
        return True
    return False


def _fetch_file(client: httpx.Client, base: str, entry: FileEntry, target: Path, retries: int, bar,
                stats: dict) -> None:
    url = urljoin(base, entry.path)
    part = target.with_name(target.name + ".part")
    target.parent.mkdir(parents=True, exist_ok=True)
    attempts = 0
    while True:
        attempts += 1
        try:
            _transfer(client, url, entry, part, bar, stats)
        except httpx.ConnectError as exc:
            raise DownloadUnavailable(_offline_message(url, exc)) from None
        except httpx.ConnectTimeout as exc:
            raise DownloadUnavailable(_offline_message(url, exc)) from None
        except RETRYABLE as exc:
            if attempts > retries:
                raise DownloadError(f"{entry.path}: transfer interrupted {attempts} times ({exc}); "
                                    f"run again to resume from {part.stat().st_size} bytes") from None
            log.warning("%s: transfer interrupted (%s), resuming", entry.path, exc.__class__.__name__)
            time.sleep(min(2.0, 0.2 * attempts))
            continue
        size = part.stat().st_size
        if size == entry.size and sha256_of(part) == entry.sha256:
            part.replace(target)
            target.with_name(target.name + ".sha256").write_text(entry.sha256 + "\n")
            return
        bar.update(-size)
        part.unlink()
        problem = (f"wrong size ({size} bytes, expected {entry.size})" if size != entry.size
                   else "SHA-256 mismatch")
        if attempts > retries:
            raise ChecksumError(f"{entry.path}: {problem} after {attempts} attempts; the file at {url} "
                                f"differs from the one the portal expects")
        log.warning("%s: %s, fetching it again", entry.path, problem)


def _transfer(client: httpx.Client, url: str, entry: FileEntry, part: Path, bar, stats: dict) -> None:
    """Stream ``url`` into ``part``, continuing a partial file with a Range request."""
    offset = part.stat().st_size if part.is_file() else 0
    if offset > entry.size:
        part.unlink()
        bar.update(-offset)
        offset = 0
    headers = {"Range": f"bytes={offset}-"} if offset else {}
    with client.stream("GET", url, headers=headers) as response:
        if response.status_code == 416 and offset == entry.size:
            return  # already complete: the checksum decides
        if response.status_code == 404:
            raise DownloadError(f"{entry.path}: not found at {url} (HTTP 404)")
        if response.status_code not in (200, 206):
            raise DownloadError(f"{entry.path}: HTTP {response.status_code} from {url}")
        if response.status_code == 206 and offset:
            stats["resumed"] += 1
            mode = "ab"
        else:
            if offset:
                bar.update(-offset)  # the server ignored the Range: start again
            mode = "wb"
        with open(part, mode) as out:
            for chunk in response.iter_bytes(CHUNK):
                out.write(chunk)
                stats["bytes"] += len(chunk)
                bar.update(len(chunk))


def _offline_message(url: str, exc: Exception) -> str:
    host = urlparse(url).netloc
    return (f"cannot reach {host} ({exc.__class__.__name__}: {exc}). This machine seems to be offline "
            f"or {host} is down. Set GAMMAPY_DATA to a local gammapy-data folder, or PORTAL_DATASET_URL "
            f"to a mirror, to use the real H.E.S.S. data.")


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(manifest: Manifest, progress: bool | None):
    if progress is None:
        progress = sys.stderr.isatty()
    if not progress:
        return _NoBar()
    from tqdm import tqdm

    return tqdm(total=manifest.total_size, unit="B", unit_scale=True, unit_divisor=1024,
                desc=f"downloading {manifest.name}", file=sys.stderr)
