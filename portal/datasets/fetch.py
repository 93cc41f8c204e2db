"""`portal data`: the gammapy data folder the portal and its tests use, downloaded as gammapy does.

``portal data fetch`` downloads H.E.S.S. DL3 DR1 and the catalogs the SED needs from the
gammapy-data repository into ``$PORTAL_DATA_DIR/gammapy-data`` (laid out like ``$GAMMAPY_DATA``;
checksums, resume), unless ``$GAMMAPY_DATA`` already holds DR1. ``portal data path`` prints the
folder to use as ``GAMMAPY_DATA`` (empty when there is none), which ``make`` exports for the
services and the tests. ``make setup`` runs ``portal data fetch --optional``: offline, it says so
and set-up goes on (the portal then simulates its dataset on first start).
"""

from __future__ import annotations

from pathlib import Path

from portal.config import Settings
from portal.datasets.default import DOWNLOAD_DIR, is_release
from portal.datasets.download import complete_marker
from portal.datasets.manifest import load_manifest

MANIFEST = "hess-dl3-dr1"


def downloaded_folder(settings: Settings) -> Path:
    return settings.data_dir / DOWNLOAD_DIR


def data_folder(settings: Settings) -> Path | None:
    """``$GAMMAPY_DATA`` when it holds H.E.S.S. DR1, else a complete download, else None."""
    if settings.gammapy_data is not None and is_release(settings.gammapy_data / "hess-dl3-dr1"):
        return settings.gammapy_data
    folder = downloaded_folder(settings)
    return folder if complete_marker(folder, load_manifest(MANIFEST)).is_file() else None


def fetch(settings: Settings, dest: Path | None = None) -> tuple[Path, str]:
    """Make sure the data is there; returns its folder and a sentence saying what was done.

    Raises :class:`portal.datasets.download.DownloadError` (with a readable message) on failure.
    """
    if dest is None and settings.gammapy_data is not None and is_release(settings.gammapy_data / "hess-dl3-dr1"):
        return settings.gammapy_data, f"GAMMAPY_DATA ({settings.gammapy_data}) has H.E.S.S. DL3 DR1: nothing to download"
    from portal.datasets.download import download_release

    folder = Path(dest) if dest is not None else downloaded_folder(settings)
    result = download_release(load_manifest(MANIFEST), folder)
    return folder, (f"H.E.S.S. DL3 DR1 and catalogs in {folder}: {result.fetched} files downloaded "
                    f"({result.bytes_fetched / 1e6:.1f} MB in {result.seconds:.1f} s), {result.reused} already there")
