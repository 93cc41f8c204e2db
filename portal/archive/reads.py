"""The archive store's named reads for the services: coverage (:func:`content_version`,
:func:`footprints`), DataLink (:func:`observation`) and the jobs' observation locator
(:func:`observation_places`). They return plain values.

Each opens its own read-only connection (:func:`portal.archive.store.connect_read`: ``mode=ro``,
``PRAGMA query_only``, the TAP queries' authorizer) in the calling thread, and closes it. Each returns
its empty value when the database does not exist yet, and raises :class:`sqlite3.Error` when it exists
but cannot be read (no tables yet, corrupt, locked): the caller decides what that means.
"""

from __future__ import annotations

from pathlib import Path
from typing import NamedTuple

from portal.archive.schema import OBSCORE
from portal.archive.store import reading

__all__ = ["ObservationRow", "Place", "content_version", "footprints", "observation", "observation_places",
           "release_folders"]


def content_version(path: Path) -> tuple[int, int | None]:
    """(observations, highest row id of an observation) in ivoa.obscore, which changes with every ingest but
    not when products are published (they are not in the coverage); (0, None) without a database.

    Each part is its own subquery so that SQLite answers it from a b-tree's counts and ends (a few ms on a
    million rows) instead of reading every row of an index (about 80 ms)."""
    with reading(path) as conn:
        if conn is None:
            return (0, None)
        return tuple(conn.execute(
            f'SELECT (SELECT count(*) FROM {OBSCORE.sql_name}) - (SELECT count(*) FROM {OBSCORE.sql_name} '
            f'WHERE "_pub" IS NOT NULL), (SELECT max("_id") FROM {OBSCORE.sql_name} WHERE "_pub" IS NULL)').fetchone())


def footprints(path: Path) -> list[str]:
    """Every observation's ``s_region`` (STC-S) that is not null (published products are not observations)."""
    with reading(path) as conn:
        if conn is None:
            return []
        return [row[0] for row in conn.execute(f'SELECT "s_region" FROM {OBSCORE.sql_name} '
                                               'WHERE "s_region" IS NOT NULL AND "_pub" IS NULL')]


_WITH_RELEASE = f'FROM {OBSCORE.sql_name} AS o LEFT JOIN "archive_release" AS r ON r.id = o."release_id"'


class ObservationRow(NamedTuple):
    number: int | None  # obs_number: the obs id as an integer
    obs_id: str
    collection: str
    target_name: str | None
    s_ra: float
    s_dec: float
    target_ra: float | None
    target_dec: float | None
    s_fov: float | None
    release: str | None  # the release folder; None for a row without files (synthetic)


def observation(path: Path, did: str) -> ObservationRow | None:
    """The observation whose ``obs_publisher_did`` is ``did``, with its release folder; None if there is none."""
    with reading(path) as conn:
        if conn is None:
            return None
        row = conn.execute('SELECT o."obs_number", o."obs_id", o."obs_collection", o."target_name", o."s_ra", '
                           'o."s_dec", o."target_ra", o."target_dec", o."s_fov", r."path" '
                           f'{_WITH_RELEASE} WHERE o."obs_publisher_did" = ? AND o."_pub" IS NULL', (did,)).fetchone()
    return ObservationRow(*row) if row else None


class Place(NamedTuple):
    number: int  # obs_number
    collection: str
    release: str | None  # the release folder; None for a row without files (synthetic)
    target_name: str | None
    s_ra: float
    s_dec: float


def observation_places(path: Path, numbers: list[int]) -> tuple[set[str], list[Place]]:
    """The collections of the ingested releases, and where the observations with obs numbers ``numbers``
    are: one :class:`Place` per row, in ingest order of the releases, then of the rows."""
    with reading(path) as conn:
        if conn is None:
            return set(), []
        collections = {row[0] for row in conn.execute('SELECT DISTINCT "collection" FROM "archive_release"')}
        places = []
        for start in range(0, len(numbers), 500):
            chunk = numbers[start:start + 500]
            places.extend(Place(*row) for row in conn.execute(
                'SELECT o."obs_number", o."obs_collection", r."path", o."target_name", o."s_ra", o."s_dec" '
                f'{_WITH_RELEASE} WHERE o."obs_number" IN ({", ".join("?" * len(chunk))}) ORDER BY r.id, o."_id"',
                chunk))
        return collections, places


def release_folders(path: Path) -> list[str]:
    """The folder of every ingested release."""
    with reading(path) as conn:
        if conn is None:
            return []
        return [row[0] for row in conn.execute('SELECT DISTINCT "path" FROM "archive_release"') if row[0]]
