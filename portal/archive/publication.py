"""The archive store's side of published products: the writes (on a writer connection of their own) and
the named reads that DataLink and the publisher need.

A publication is one job's products: a row of ``product_publication`` (owner, public or private, the
folder that holds the copies of its files), its ObsCore rows (``ivoa.obscore`` with ``_pub`` set) and its
ProvTAP rows (``provenance.*``, each with ``_pub``). :func:`publish` replaces a job's publication in one
transaction; :func:`set_visibility` changes only whether it is public; :func:`unpublish` removes it all.
Who may see what over TAP is :mod:`portal.archive.visibility`'s business; the reads here return owner and
visibility so that DataLink applies the same rule.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from portal.archive import store
from portal.archive.schema import OBSCORE, PROVENANCE_TABLES
from portal.archive.visibility import PUBLICATION_TABLE

__all__ = ["Product", "Publication", "observations", "product", "publication", "publish", "set_visibility",
           "unpublish"]

_PUB = f'"{PUBLICATION_TABLE}"'
_PROV = {t.name: t for t in PROVENANCE_TABLES}


@dataclass(frozen=True)
class Publication:
    job_id: str
    job_list: str
    owner: str
    public: bool
    folder: str  # where the copies of the job's files are (absolute)
    files: tuple[dict, ...]  # {"id", "path", "mime_type", "size"}: the job's results, copied
    published_at: str = ""
    id: int | None = None


@dataclass(frozen=True)
class Product:
    """One ObsCore row of a publication, with what its DataLink document needs."""

    did: str
    result_id: str  # the job result it is (flux_points, lightcurve, significance, ...)
    dataproduct_type: str
    title: str
    publication: Publication
    progenitors: tuple[str, ...]  # obs_publisher_did of the observations it was made from


def publish(path: Path, pub: Publication, obscore_rows: list[dict], prov_rows: dict[str, list[dict]]) -> int:
    """Write (or rewrite) the publication of ``pub.job_id``; returns its id."""
    conn = store.connect_write(path)
    try:
        with store.transaction(conn):
            _delete(conn, pub.job_id)
            now = datetime.now(timezone.utc).isoformat(timespec="seconds")
            cursor = conn.execute(
                f"INSERT INTO {_PUB} (job_id, job_list, owner, public, published_at, folder, files) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (pub.job_id, pub.job_list, pub.owner, int(pub.public), now, pub.folder, json.dumps(pub.files)))
            pub_id = cursor.lastrowid
            store.insert_rows(conn, [{**row, "_pub": pub_id} for row in obscore_rows])
            for name, rows in prov_rows.items():
                table = _PROV[name]
                names = [c.name for c in table.columns] + ["_pub"]
                quoted = ", ".join(f'"{n}"' for n in names)
                conn.executemany(f"INSERT INTO {table.sql_name} ({quoted}) VALUES ({', '.join('?' * len(names))})",
                                 [[row.get(n) for n in names[:-1]] + [pub_id] for row in rows])
        return pub_id
    finally:
        conn.close()


def set_visibility(path: Path, job_id: str, public: bool) -> bool:
    """Make a publication public or private; False when the job is not published."""
    conn = store.connect_write(path)
    try:
        with store.transaction(conn):
            return conn.execute(f"UPDATE {_PUB} SET public = ? WHERE job_id = ?", (int(public), job_id)).rowcount > 0
    finally:
        conn.close()


def unpublish(path: Path, job_id: str) -> Publication | None:
    """Remove a job's publication (its ObsCore and ProvTAP rows); returns what it was, or None."""
    conn = store.connect_write(path)
    try:
        with store.transaction(conn):
            found = _publication(conn, job_id)
            if found is not None:
                _delete(conn, job_id)
        return found
    finally:
        conn.close()


def _delete(conn, job_id: str) -> None:
    row = conn.execute(f"SELECT id FROM {_PUB} WHERE job_id = ?", (job_id,)).fetchone()
    if row is None:
        return
    pub_id = row[0]
    ids = [r[0] for r in conn.execute(f'SELECT "_id" FROM {OBSCORE.sql_name} WHERE "_pub" = ?', (pub_id,))]
    for rtree in (OBSCORE.point_index[2], OBSCORE.region_index[1]):
        conn.executemany(f'DELETE FROM "{rtree}" WHERE id = ?', ((i,) for i in ids))
    conn.execute(f'DELETE FROM {OBSCORE.sql_name} WHERE "_pub" = ?', (pub_id,))
    for table in PROVENANCE_TABLES:
        conn.execute(f'DELETE FROM {table.sql_name} WHERE "_pub" = ?', (pub_id,))
    conn.execute(f"DELETE FROM {_PUB} WHERE id = ?", (pub_id,))


def _publication(conn, job_id: str | None = None, pub_id: int | None = None) -> Publication | None:
    key, value = ("job_id", job_id) if job_id is not None else ("id", pub_id)
    row = conn.execute(f"SELECT job_id, job_list, owner, public, folder, files, published_at, id FROM {_PUB} "
                       f"WHERE {key} = ?", (value,)).fetchone()
    if row is None:
        return None
    return Publication(row[0], row[1], row[2], bool(row[3]), row[4], tuple(json.loads(row[5])), row[6], row[7])


def _has_publications(conn) -> bool:
    return conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (PUBLICATION_TABLE,)).fetchone() is not None


def publication(path: Path, job_id: str) -> Publication | None:
    """The publication of a job, or None."""
    with store.reading(path) as conn:
        if conn is None or not _has_publications(conn):
            return None
        return _publication(conn, job_id)


def product(path: Path, did: str) -> Product | None:
    """The published product whose ``obs_publisher_did`` is ``did`` (whoever may see it), or None."""
    with store.reading(path) as conn:
        if conn is None or not _has_publications(conn):
            return None
        row = conn.execute(f'SELECT "_pub", "dataproduct_type", "obs_title", "dataproduct_subtype" '
                           f'FROM {OBSCORE.sql_name} WHERE "obs_publisher_did" = ? AND "_pub" IS NOT NULL',
                           (did,)).fetchone()
        if row is None:
            return None
        pub = _publication(conn, pub_id=row[0])
        entity, used = _PROV["entity"].sql_name, _PROV["used"].sql_name
        progenitors = [r[0] for r in conn.execute(
            f'SELECT DISTINCT e."obs_publisher_did" FROM {entity} AS e JOIN {used} AS u '
            f'ON u."entity_id" = e."id" AND u."_pub" = e."_pub" WHERE e."_pub" = ? '
            f'AND e."obs_id" IS NOT NULL AND e."obs_publisher_did" IS NOT NULL ORDER BY 1', (row[0],))]
    result_id = did.rsplit("/", 1)[-1]
    return Product(did, result_id, row[1], row[2] or "", pub, tuple(progenitors))


def observations(path: Path, dids: list[str]) -> list[dict]:
    """The ObsCore rows (as dicts) of the observations with these ``obs_publisher_did``."""
    names = ["obs_publisher_did", "obs_id", "obs_collection", "target_name", "t_min", "t_max", "livetime",
             "facility_name", "instrument_name", "messenger", "target_class"]
    out: list[dict] = []
    with store.reading(path) as conn:
        if conn is None:
            return out
        for start in range(0, len(dids), 500):
            chunk = dids[start:start + 500]
            marks = ", ".join("?" * len(chunk))
            out.extend(dict(zip(names, row)) for row in conn.execute(
                f'SELECT {", ".join(chr(34) + n + chr(34) for n in names)} FROM {OBSCORE.sql_name} '
                f'WHERE "obs_publisher_did" IN ({marks}) AND "_pub" IS NULL', chunk))
    return out
