"""The default dataset: what `portal serve` ingests on first start when the archive is empty.

:func:`default_release` makes the decision (local H.E.S.S. DR1, a download, or a simulated dataset,
see :mod:`portal.datasets.default`): it returns a GADF release folder, or None.
:func:`ensure_default_dataset` ingests it when the archive is empty.
"""

from __future__ import annotations

import logging
from pathlib import Path

from portal.archive import store
from portal.config import Settings

log = logging.getLogger("portal.archive")


def default_release(settings: Settings) -> Path | None:
    """The GADF release to ingest into an empty archive, or None.

    The chain lives in :func:`portal.datasets.default.resolve_default_dataset`:
    ``$GAMMAPY_DATA/hess-dl3-dr1``, else a download of H.E.S.S. DL3 DR1, else a simulated CTAO-like
    release, as ``PORTAL_DEFAULT_DATASET`` allows (``portal serve`` sets ``auto``: all three); it logs
    which path it took and why the others were not.
    """
    from portal.datasets.default import resolve_default_dataset

    dataset = resolve_default_dataset(settings)
    return dataset.release_dir if dataset is not None else None


def ensure_default_dataset(settings: Settings) -> int:
    """Ingest the default dataset if the archive is empty; returns the rows added."""
    from portal.archive.ingest import ingest_release

    path = store.db_path(settings.data_dir)
    store.connect_write(path).close()  # creates the archive, or brings its TAP_SCHEMA up to date
    if store.count_rows(path) > 0:
        return 0
    release = default_release(settings)
    if release is None:
        return 0
    return ingest_release(path, release)
