"""The default dataset: what `portal serve` ingests on first start when the archive is empty.

:func:`default_release` makes the decision and is the one place to extend with more sources
(a download, a simulated dataset): it returns a GADF release folder, or None.
:func:`ensure_default_dataset` ingests it when the archive is empty.
"""

from __future__ import annotations

import logging
from pathlib import Path

from portal.archive import store
from portal.config import Settings

log = logging.getLogger("portal.archive")


def default_release(settings: Settings) -> Path | None:
    """The GADF release to ingest into an empty archive: ``$GAMMAPY_DATA/hess-dl3-dr1`` when present."""
    if settings.gammapy_data is not None:
        candidate = Path(settings.gammapy_data) / "hess-dl3-dr1"
        if (candidate / "obs-index.fits.gz").is_file() or (candidate / "obs-index.fits").is_file():
            log.info("default dataset: H.E.S.S. DL3 DR1 from $GAMMAPY_DATA (%s)", candidate)
            return candidate
    log.info("default dataset: none found ($GAMMAPY_DATA/hess-dl3-dr1 absent); the archive stays empty")
    return None


def ensure_default_dataset(settings: Settings) -> int:
    """Ingest the default dataset if the archive is empty; returns the rows added."""
    from portal.archive.ingest import ingest_release

    path = store.db_path(settings.data_dir)
    if store.count_rows(path) > 0:
        return 0
    release = default_release(settings)
    if release is None:
        return 0
    return ingest_release(path, release)
