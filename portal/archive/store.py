"""The archive database (SQLite at ``$PORTAL_DATA_DIR/archive.sqlite``): the one module that opens it.

Writers (ingest, publishing) use :func:`connect_write`. TAP queries use :func:`query_connection` (a pooled
:class:`QueryConnection`): a ``mode=ro`` connection with ``PRAGMA query_only``, the views and authorizer of
:mod:`portal.archive.visibility` around one that allows nothing but reading and the ADQL support functions,
and a progress handler that stops a statement at its time limit. The other services (coverage, DataLink, the
jobs' observation locator) call named reads that return plain values: :func:`count_rows` here, the others in
:mod:`portal.archive.reads` (kept apart for size). Each opens its own :func:`connect_read` connection
(``mode=ro``, ``query_only``, the same authorizer) in the calling thread and closes it. No SQL on the
archive's tables is written outside these two modules and :mod:`portal.archive.publication` (the
published products' writes and reads).
"""

from __future__ import annotations

import functools
import hashlib
import os
import sqlite3
import threading
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

from portal.archive import sphere, visibility
from portal.archive.schema import (OBSCORE, OBSCORE_HIDDEN_DDL, PROVENANCE_TABLES, PUBLISHED_TABLES, SCHEMAS,
                                   column_name)
from portal.archive.sqlfuncs import ALLOWED_FUNCTIONS, FunctionErrors, register

DB_NAME = "archive.sqlite"
SCHEMA_VERSION = 3  # 3: published products (_pub, product_publication, provenance.*)
STORED_COLUMNS = [c for c in OBSCORE.columns if c.sql is None]
RTREE_COLUMNS = "id, x0, x1, y0, y1, z0, z1"


def db_path(data_dir: Path) -> Path:
    return Path(data_dir) / DB_NAME


def connect_write(path: Path) -> sqlite3.Connection:
    """A read-write connection; creates the database and its tables when missing."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    conn = sqlite3.connect(path, timeout=60, isolation_level=None)
    conn.execute("PRAGMA journal_mode = WAL")
    conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("PRAGMA cache_size = -262144")  # 256 MiB: bulk ingest keeps its indexes in memory
    if conn.execute("PRAGMA user_version").fetchone()[0] != SCHEMA_VERSION:
        _create(conn)
    elif _stored_fingerprint(conn) != schema_fingerprint():
        with transaction(conn):  # column metadata changed with the code: describe it afresh
            _fill_tap_schema(conn)
    return conn


def schema_fingerprint() -> str:
    """A digest of the published metadata, so that TAP_SCHEMA follows the code that serves it."""
    text = repr([(t.qualified, t.description, t.utype, t.columns, t.foreign_keys) for t in PUBLISHED_TABLES])
    return hashlib.sha256(text.encode()).hexdigest()


def _stored_fingerprint(conn: sqlite3.Connection) -> str | None:
    try:
        row = conn.execute("SELECT value FROM \"archive_meta\" WHERE key = 'schema'").fetchone()
    except sqlite3.Error:
        return None
    return row[0] if row else None


def _create(conn: sqlite3.Connection) -> None:
    columns = ", ".join([f'"{c.name}" {c.sqlite_type}' for c in STORED_COLUMNS] + list(OBSCORE_HIDDEN_DDL))
    statements = [
        f'CREATE TABLE IF NOT EXISTS {OBSCORE.sql_name} ({columns})',
        f'CREATE UNIQUE INDEX IF NOT EXISTS "obscore_did" ON {OBSCORE.sql_name} ("obs_publisher_did")',
        f'CREATE INDEX IF NOT EXISTS "obscore_number" ON {OBSCORE.sql_name} ("obs_number")',
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{OBSCORE.point_index[2]}" USING rtree({RTREE_COLUMNS})',
        f'CREATE VIRTUAL TABLE IF NOT EXISTS "{OBSCORE.region_index[1]}" USING rtree({RTREE_COLUMNS})',
        'CREATE TABLE IF NOT EXISTS "archive_release" (id INTEGER PRIMARY KEY, collection TEXT NOT NULL, '
        'path TEXT, ingested_at TEXT NOT NULL, n_obs INTEGER NOT NULL)',
        'CREATE TABLE IF NOT EXISTS "archive_meta" (key TEXT PRIMARY KEY, value TEXT)',
    ]
    for c in STORED_COLUMNS:
        if c.indexed and c.name not in ("obs_publisher_did", "s_ra", "s_dec", "s_region"):
            statements.append(f'CREATE INDEX IF NOT EXISTS "obscore_{c.name}" ON {OBSCORE.sql_name} ("{c.name}")')
    with transaction(conn):
        if "_pub" not in {row[1] for row in conn.execute(f"PRAGMA table_info({OBSCORE.sql_name})")}:
            if conn.execute("SELECT 1 FROM sqlite_master WHERE name = ?", (OBSCORE.qualified,)).fetchone():
                conn.execute(f'ALTER TABLE {OBSCORE.sql_name} ADD COLUMN "_pub" INTEGER')  # archives of version 2
        for sql in statements + _publication_ddl():
            conn.execute(sql)
        _fill_tap_schema(conn)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def _publication_ddl() -> list[str]:
    """The publications of products and the ProvTAP tables (see portal.archive.publication)."""
    statements = [
        f'CREATE TABLE IF NOT EXISTS "{visibility.PUBLICATION_TABLE}" (id INTEGER PRIMARY KEY, job_id TEXT NOT NULL '
        'UNIQUE, job_list TEXT NOT NULL, owner TEXT NOT NULL, public INTEGER NOT NULL, published_at TEXT NOT NULL, '
        'folder TEXT NOT NULL, files TEXT NOT NULL)',
        f'CREATE INDEX IF NOT EXISTS "obscore__pub" ON {OBSCORE.sql_name} ("_pub")',
    ]
    for t in PROVENANCE_TABLES:
        columns = ", ".join([f'"{c.name}" {c.sqlite_type}' for c in t.columns] + ['"_pub" INTEGER NOT NULL'])
        statements.append(f"CREATE TABLE IF NOT EXISTS {t.sql_name} ({columns})")
        statements.append(f'CREATE INDEX IF NOT EXISTS "{t.name}__pub" ON {t.sql_name} ("_pub")')
        statements.extend(f'CREATE INDEX IF NOT EXISTS "{t.name}_{c.name}" ON {t.sql_name} ("{c.name}")'
                          for c in t.columns if c.indexed)
    return statements


def _fill_tap_schema(conn: sqlite3.Connection) -> None:
    """(Re)write TAP_SCHEMA from portal.archive.schema, the one source of column metadata."""
    ts = {t.name: t for t in PUBLISHED_TABLES if t.schema == "TAP_SCHEMA"}
    for t in ts.values():
        cols = ", ".join(f'"{c.name}" {c.sqlite_type}' for c in t.columns)
        conn.execute(f"CREATE TABLE IF NOT EXISTS {t.sql_name} ({cols})")
        conn.execute(f"DELETE FROM {t.sql_name}")
    conn.execute('INSERT OR REPLACE INTO "archive_meta" VALUES (\'schema\', ?)', (schema_fingerprint(),))
    rows = {"schemas": [], "tables": [], "columns": [], "keys": [], "key_columns": []}
    for i, (name, description, utype) in enumerate(SCHEMAS):
        rows["schemas"].append((name, utype, description, i))
    for i, t in enumerate(PUBLISHED_TABLES):
        rows["tables"].append((t.schema, t.qualified, t.table_type, t.utype, t.description, i))
        for j, c in enumerate(t.columns):
            size = None if c.arraysize in (None, "*") else int(c.arraysize.rstrip("*") or 0) or None
            rows["columns"].append((t.qualified, column_name(c.name), c.datatype, c.arraysize, c.xtype, size,
                                    c.description, c.utype, c.unit, c.ucd, int(c.indexed), int(c.principal),
                                    int(c.std), j))
        for fk in t.foreign_keys:
            rows["keys"].append((fk.key_id, t.qualified, fk.target_table, fk.description, None))
            rows["key_columns"].extend((fk.key_id, a, b) for a, b in fk.columns)
    for name, values in rows.items():
        if values:
            marks = ", ".join("?" * len(values[0]))
            conn.executemany(f"INSERT INTO {ts[name].sql_name} VALUES ({marks})", values)


class transaction:
    """``with transaction(conn):`` BEGIN IMMEDIATE ... COMMIT, or ROLLBACK on any exception."""

    def __init__(self, conn: sqlite3.Connection):
        self.conn = conn

    def __enter__(self):
        self.conn.execute("BEGIN IMMEDIATE")
        return self.conn

    def __exit__(self, exc_type, exc, tb):
        self.conn.execute("COMMIT" if exc_type is None else "ROLLBACK")
        return False


HIDDEN_COLUMNS = ["access_path", "release_id", "obs_number", "_pub"]


def insert_rows(conn: sqlite3.Connection, rows: list[dict]) -> int:
    """Insert ObsCore rows (dicts keyed by column name, plus the hidden columns) with their index boxes.

    Call inside a transaction. Returns the number of rows inserted.
    """
    names = [c.name for c in STORED_COLUMNS] + HIDDEN_COLUMNS
    columns = {n: [row.get(n) for row in rows] for n in names}
    pos = [_point_box(row["s_ra"], row["s_dec"]) for row in rows]
    region = [sphere.cap_box(*sphere.cap(sphere.parse(row["s_region"]))) for row in rows]
    return insert_columns(conn, columns, pos, region)


def insert_columns(conn: sqlite3.Connection, columns: dict[str, list], pos_boxes, region_boxes) -> int:
    """Bulk insert: equal-length value lists by column name, and the (x0, x1, y0, y1, z0, z1) boxes
    of each row's position and region for the R*Tree indexes. Call inside a transaction.
    """
    names = [c.name for c in STORED_COLUMNS] + HIDDEN_COLUMNS
    n = len(pos_boxes)
    quoted = ", ".join(f'"{name}"' for name in ["_id", *names])
    marks = ", ".join("?" * (len(names) + 1))
    first = conn.execute(f'SELECT coalesce(max("_id"), 0) + 1 FROM {OBSCORE.sql_name}').fetchone()[0]
    ids = range(first, first + n)
    values = [columns.get(name) or [None] * n for name in names]
    conn.executemany(f"INSERT INTO {OBSCORE.sql_name} ({quoted}) VALUES ({marks})", zip(ids, *values))
    conn.executemany(f'INSERT INTO "{OBSCORE.point_index[2]}" VALUES (?, ?, ?, ?, ?, ?, ?)',
                     ((i, *box) for i, box in zip(ids, pos_boxes)))
    conn.executemany(f'INSERT INTO "{OBSCORE.region_index[1]}" VALUES (?, ?, ?, ?, ?, ?, ?)',
                     ((i, *box) for i, box in zip(ids, region_boxes)))
    return n


def _point_box(ra: float, dec: float) -> tuple:
    x, y, z = sphere.vec(ra, dec)
    return (x, x, y, y, z, z)


# --- queries ----------------------------------------------------------------------------

_READ_ACTIONS = {sqlite3.SQLITE_SELECT, sqlite3.SQLITE_READ, sqlite3.SQLITE_RECURSIVE}


def _authorizer(action, arg1, arg2, dbname, source):
    if action in _READ_ACTIONS:
        return sqlite3.SQLITE_OK
    if action == sqlite3.SQLITE_FUNCTION and (arg2 or "").lower() in ALLOWED_FUNCTIONS:
        return sqlite3.SQLITE_OK
    return sqlite3.SQLITE_DENY


def _read_only_uri(path: Path) -> str:
    return f"file:{quote(str(path))}?mode=ro"


def connect_read(path: Path, timeout: float = 10.0) -> sqlite3.Connection:
    """A read-only connection for the named reads: ``mode=ro``, ``PRAGMA query_only`` and the query
    authorizer (no write, PRAGMA, ATTACH or unlisted function). For the calling thread only; close it."""
    conn = sqlite3.connect(_read_only_uri(path), uri=True, timeout=timeout)
    try:
        conn.execute("PRAGMA query_only = ON")
        conn.set_authorizer(_authorizer)
    except BaseException:
        conn.close()
        raise
    return conn


class QueryConnection:
    """A read-only connection for queries, with uploads, a time limit and function errors."""

    def __init__(self, path: Path, base_url: str = "", time_limit: float = 60.0,
                 uploads: list[tuple[str, list[str], list[tuple]]] | None = None):
        if not Path(path).exists():
            connect_write(path).close()  # an empty archive is still queryable
        self.inode = os.stat(path).st_ino
        self.base_url = base_url
        self.viewer = visibility.Viewer()  # whose products the queries see (portal.archive.visibility)
        self.cursor: sqlite3.Cursor | None = None
        self.budget = None
        self.conn = sqlite3.connect(_read_only_uri(path), uri=True, isolation_level=None, check_same_thread=False)
        self.time_limit = time_limit
        self.deadline = time.monotonic() + time_limit
        try:
            self._prepare(uploads)
        except BaseException:
            # close now: a half-prepared connection is in a reference cycle with its Python
            # callbacks and would stay open until the garbage collector found it
            self.conn.close()
            raise

    def _prepare(self, uploads) -> None:
        self.conn.execute("PRAGMA case_sensitive_like = ON")  # ADQL LIKE is case-sensitive
        self.errors: FunctionErrors = register(self.conn, lambda: self.base_url)
        # connect the R*Tree virtual tables before the authorizer (they prepare their own statements)
        self.conn.execute(f'SELECT count(*) FROM "{OBSCORE.point_index[2]}" WHERE id = 0').fetchone()
        self.conn.execute(f'SELECT count(*) FROM "{OBSCORE.region_index[1]}" WHERE id = 0').fetchone()
        visibility.prepare(self.conn, self.viewer)
        if uploads:
            self._load_uploads(uploads)
        self.conn.execute("PRAGMA query_only = ON")
        self.conn.set_authorizer(visibility.authorizer(_authorizer))
        self.conn.set_progress_handler(self._progress, 20000)

    def _load_uploads(self, uploads) -> None:
        self.conn.execute(f"ATTACH DATABASE 'file:up{uuid.uuid4().hex}?mode=memory' AS tap_upload")
        for name, columns, rows in uploads:
            cols = ", ".join(f'"c{i + 1}"' for i in range(len(columns)))
            self.conn.execute(f'CREATE TABLE tap_upload."{name}" ({cols})')
            marks = ", ".join("?" * len(columns))
            self.conn.executemany(f'INSERT INTO tap_upload."{name}" VALUES ({marks})', rows)

    def _progress(self) -> int:
        if self.budget is not None:
            return 1 if self.budget.stopped() else 0
        return 1 if time.monotonic() > self.deadline else 0

    def execute(self, sql: str, budget=None) -> sqlite3.Cursor:
        """Run ``sql``; it stops at the connection's time limit, or when ``budget`` (a
        :class:`portal.archive.budget.Budget`) runs out or is cancelled."""
        self.budget = budget
        self.deadline = budget.deadline if budget is not None else time.monotonic() + self.time_limit
        self.errors.message = None
        self.cursor = self.conn.execute(sql)
        return self.cursor

    def finish(self) -> None:
        """End the statement (and so the read transaction and its WAL snapshot)."""
        self.budget = None
        self.viewer.user = None
        if self.cursor is not None:
            self.cursor.close()
            self.cursor = None

    def interrupt(self) -> None:
        """Stop the running statement (from another thread): an aborted async job."""
        try:
            self.conn.interrupt()
        except sqlite3.ProgrammingError:  # already closed: nothing runs any more
            pass

    def timed_out(self) -> bool:
        return time.monotonic() > self.deadline

    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()


# Prepared read-only connections are reused (their page cache stays warm); with uploads, never.
_POOL: dict[str, list[QueryConnection]] = {}
_POOL_LOCK = threading.Lock()
POOL_SIZE = 8


@contextmanager
def query_connection(path: Path, base_url: str = "", time_limit: float = 60.0, uploads=None, pooled=True,
                     viewer: str | None = None):
    """A :class:`QueryConnection` for one query, from the pool unless the query has uploads (or
    ``pooled`` is false: async jobs hand the connection to their abort callback). ``viewer`` is the
    caller's user name (None: anonymous): the query sees the public products and the viewer's own."""
    if uploads or not pooled:
        with QueryConnection(path, base_url, time_limit, uploads) as conn:
            conn.viewer.user = viewer
            yield conn
        return
    key = _pool_key(os.path.abspath(path))
    conn = None
    with _POOL_LOCK:
        while _POOL.get(key) and conn is None:
            conn = _POOL[key].pop()
            if not _same_file(conn, path):
                conn.close()
                conn = None
    if conn is None:
        conn = QueryConnection(path, base_url, time_limit)
    conn.base_url, conn.time_limit = base_url, time_limit
    conn.viewer.user = viewer
    try:
        yield conn
    except BaseException:
        conn.close()
        raise
    conn.finish()
    with _POOL_LOCK:
        spare = _POOL.setdefault(key, [])
        if len(spare) < POOL_SIZE:
            spare.append(conn)
            conn = None
    if conn is not None:
        conn.close()


@functools.lru_cache(maxsize=64)
def _pool_key(path: str) -> str:
    """The pool's name for a database path (resolved once: a lookup per query was several system calls,
    each a wait for the GIL under load; a replaced file is caught by :func:`_same_file`)."""
    return str(Path(path).resolve())


def _same_file(conn: QueryConnection, path: Path) -> bool:
    try:
        return os.stat(path).st_ino == conn.inode
    except OSError:
        return False


# --- reads for the services (the named reads are here and in portal.archive.reads) --------

@contextmanager
def reading(path: Path):
    """``with reading(path) as conn:`` a :func:`connect_read` connection, closed at the end; None when
    the database does not exist yet."""
    if not Path(path).is_file():
        yield None
        return
    conn = connect_read(path)
    try:
        yield conn
    finally:
        conn.close()


def count_rows(path: Path) -> int:
    """Rows in ivoa.obscore; 0 when the database does not exist yet or cannot be read."""
    try:
        with reading(path) as conn:
            return conn.execute(f'SELECT count(*) FROM {OBSCORE.sql_name} WHERE "_pub" IS NULL').fetchone()[0] \
                if conn else 0
    except sqlite3.Error:
        return 0
