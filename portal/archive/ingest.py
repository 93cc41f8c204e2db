"""Ingest into the archive: GADF DL3 releases, and synthetic rows for scale tests.

Python API::

    from portal.archive.ingest import ingest_release, ingest_synthetic
    added = ingest_release(db_path, "/data/hess-dl3-dr1")   # rows added; 0 when already there
    added = ingest_synthetic(db_path, 1_000_000, seed=1)

Both are transactional: a release that cannot be read raises :class:`IngestError` (naming the
file and the problem) before anything is written, and a failure while writing rolls back.
Ingest is idempotent: an observation already in the archive (same obs_publisher_did) is skipped.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timezone
from pathlib import Path

from portal.archive import store
from portal.archive.gadf import IngestError, Release
from portal.archive.layout import InvalidCollectionName, check_collection
from portal.archive.schema import OBSCORE
from portal.archive.synthetic import synthetic_columns

__all__ = ["IngestError", "ingest_release", "ingest_synthetic"]
log = logging.getLogger("portal.archive")


def ingest_release(db_path: Path, release_dir: Path | str, collection: str | None = None) -> int:
    """Add the observations of a GADF DL3 release (a folder with obs-index and hdu-index).

    ``collection`` names the release in ``obs_collection`` and in the identifiers (default: the
    release's own name, see :mod:`portal.archive.layout`). Full-enclosure and point-like (RAD_MAX)
    IRFs are both accepted. Returns the number of rows added.
    """
    started = time.perf_counter()
    release = Path(release_dir).resolve()
    if collection is not None:
        try:
            check_collection(collection)
        except InvalidCollectionName as exc:
            raise IngestError(str(exc)) from None
    source = Release(release, collection)
    dids = source.dids()
    conn = store.connect_write(db_path)
    try:
        existing = _existing(conn, list(dids.values()))
        missing = {obs_id for obs_id, d in dids.items() if d not in existing}
        new = source.rows(missing) if missing else []  # read (and check) files before writing anything
        with store.transaction(conn):
            new = [r for r in new if r["obs_publisher_did"] not in _existing(conn, [r["obs_publisher_did"]
                                                                                   for r in new])]
            if new:
                cur = conn.execute('INSERT INTO "archive_release" (collection, path, ingested_at, n_obs) '
                                   "VALUES (?, ?, ?, ?)", (new[0]["obs_collection"], str(release), _now(), len(new)))
                for r in new:
                    r["release_id"] = cur.lastrowid
                store.insert_rows(conn, new)
        if new:
            conn.execute("PRAGMA optimize")
    finally:
        conn.close()
    log.info("ingested %s: %d new observations (%d already present) in %.1f s", release, len(new),
             len(dids) - len(new), time.perf_counter() - started)
    return len(new)


def _existing(conn, dids: list[str]) -> set[str]:
    found: set[str] = set()
    for i in range(0, len(dids), 500):
        chunk = dids[i:i + 500]
        marks = ", ".join("?" * len(chunk))
        found.update(r[0] for r in conn.execute(
            f'SELECT "obs_publisher_did" FROM {OBSCORE.sql_name} WHERE "obs_publisher_did" IN ({marks})', chunk))
    return found


def ingest_synthetic(db_path: Path, n: int, seed: int | None = None, chunk: int = 100_000) -> int:
    """Add ``n`` synthetic ObsCore rows (random sky positions, realistic IACT values).

    They belong to the collection ``synthetic`` and have no files (locate_observations refuses them).
    """
    if n < 0:
        raise IngestError(f"--synthetic needs a positive number of rows, not {n}")
    conn = store.connect_write(db_path)
    try:
        with store.transaction(conn):
            first = conn.execute(f'SELECT coalesce(max("obs_number"), 0) FROM {OBSCORE.sql_name} '
                                 "WHERE \"obs_collection\" = 'synthetic'").fetchone()[0] + 1
            for start in range(0, n, chunk):
                store.insert_columns(conn, *synthetic_columns(first + start, min(chunk, n - start), seed))
        conn.execute("ANALYZE")
    finally:
        conn.close()
    return n


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")
