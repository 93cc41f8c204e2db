"""The job store's SQLite side, under :class:`portal.uws.store.JobStore` (nothing else uses it).

- the schema, and the columns added after stores were first made (:meth:`Connections.migrate`);
- :class:`Connections`: one connection per thread (WAL journal, a busy timeout), write transactions
  (``BEGIN IMMEDIATE``) and a generation that changes with every write, here or in another process;
- rows to :class:`~portal.uws.models.Job` values and back (times as POSIX seconds, parameters as JSON);
- :func:`available`: SQLite's operational errors become the store's own
  :class:`~portal.uws.errors.StoreUnavailable`, so that no layer above the store handles SQLite's errors.
"""

from __future__ import annotations

import functools
import json
import sqlite3
import threading
from datetime import datetime, timezone
from pathlib import Path

from portal.uws.errors import StoreUnavailable
from portal.uws.models import ErrorType, ExecutionPhase, Job, JobFailure, JobProgress, JobResult

__all__ = ["ADDED_COLUMNS", "JOB_COLUMNS", "PHASES", "SCHEMA", "Connections", "available", "dt", "job_from_row",
           "progress_of", "results_of", "ts"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    job_list TEXT NOT NULL,
    owner TEXT,
    phase TEXT NOT NULL,
    run_id TEXT,
    parameters TEXT NOT NULL,
    creation_time REAL NOT NULL,
    queued_time REAL,
    start_time REAL,
    end_time REAL,
    execution_duration INTEGER NOT NULL,
    destruction REAL NOT NULL,
    quote REAL,
    error_type TEXT,
    error_message TEXT,
    error_detail TEXT,
    version INTEGER NOT NULL DEFAULT 0,
    progress TEXT
);
DROP INDEX IF EXISTS jobs_by_owner;
CREATE INDEX IF NOT EXISTS jobs_listing ON jobs (job_list, owner, creation_time, job_id, phase, run_id);
CREATE INDEX IF NOT EXISTS jobs_by_phase ON jobs (phase, queued_time);
CREATE INDEX IF NOT EXISTS jobs_by_destruction ON jobs (destruction);
CREATE INDEX IF NOT EXISTS jobs_by_owner_phase ON jobs (owner, phase);
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE,
    result_id TEXT NOT NULL,
    position INTEGER NOT NULL,
    path TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    size INTEGER,
    sha256 TEXT,
    PRIMARY KEY (job_id, result_id)
);
"""

JOB_COLUMNS = ("job_id, job_list, owner, phase, run_id, parameters, creation_time, start_time, end_time, "
               "execution_duration, destruction, quote, error_type, error_message, error_detail, version, progress")
# Columns added to ``jobs`` after stores were first made: a store opened without one gets it (its jobs get NULL).
ADDED_COLUMNS = (("progress", "TEXT"),)  # JSON of a JobProgress: the stage a job last reported


PHASES = {p.value: p for p in ExecutionPhase}


def ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


def progress_of(value: str | None) -> JobProgress | None:
    return None if value is None else JobProgress.from_dict(json.loads(value))


def available(method):
    """The store's own error for a database that cannot answer (locked past the busy timeout, a disk error):
    :class:`~portal.uws.errors.StoreUnavailable`, so that no layer above the store handles SQLite's errors."""
    @functools.wraps(method)
    def wrapper(*args, **kwargs):
        try:
            return method(*args, **kwargs)
        except sqlite3.OperationalError as exc:
            raise StoreUnavailable() from exc
    return wrapper


def job_from_row(row: tuple, results: list[JobResult]) -> Job:
    (job_id, job_list, owner, phase, run_id, parameters, creation, start, end, duration,
     destruction, quote, error_type, error_message, error_detail, version, progress) = row
    error = None
    if error_message is not None:
        error = JobFailure(error_message, ErrorType(error_type or "fatal"), error_detail)
    return Job(
        job_id=job_id, job_list=job_list, owner=owner, phase=ExecutionPhase(phase),
        parameters=tuple((n, v) for n, v in json.loads(parameters)),
        creation_time=dt(creation), execution_duration=duration, destruction=dt(destruction),
        run_id=run_id, start_time=dt(start), end_time=dt(end), quote=dt(quote), error=error,
        results=tuple(results), version=version, progress=progress_of(progress),
    )


def results_of(conn: sqlite3.Connection, job_id: str) -> list[JobResult]:
    rows = conn.execute(
        "SELECT result_id, path, mime_type, size, sha256 FROM results WHERE job_id = ? ORDER BY position",
        (job_id,),
    ).fetchall()
    return [JobResult(*row) for row in rows]


class Connections:
    """The store's connections: one per thread, all closed by :meth:`close`; the schema made at start."""

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writes = 0  # committed writes through these connections
        self._watch: sqlite3.Connection | None = None  # the one connection generation() reads data_version on
        self._watch_lock = threading.Lock()
        self.conn().executescript(SCHEMA)
        self.migrate()

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute("PRAGMA foreign_keys=ON")
        with self._lock:
            self._connections.append(conn)
        return conn

    def conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = self._open()
        return conn

    class _Tx:
        def __init__(self, store: "Connections", conn: sqlite3.Connection) -> None:
            self.store = store
            self.conn = conn

        def __enter__(self) -> sqlite3.Connection:
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type, exc, tb) -> None:
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")
            if not exc_type:
                with self.store._lock:
                    self.store._writes += 1

    def write(self) -> "Connections._Tx":
        return Connections._Tx(self, self.conn())

    def migrate(self) -> None:
        """Add the columns an older store lacks (checked again under the write lock: another process may be
        opening the same store)."""
        def missing(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            have = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
            return [(name, kind) for name, kind in ADDED_COLUMNS if name not in have]

        if missing(self.conn()):
            with self.write() as conn:
                for name, kind in missing(conn):
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")

    def generation(self) -> tuple[int, int]:
        """A value that changes whenever jobs change: by a write through this store (any thread)
        or by another process (SQLite's data_version, always of the same connection: the values of two
        connections are not comparable, and the service asks from whichever thread is free)."""
        with self._watch_lock:
            if self._watch is None:
                self._watch = self._open()
            return self._writes, self._watch.execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:  # closed from another thread already
                    pass
            self._connections.clear()
        self._local = threading.local()
        self._watch = None

    # -- reading -----------------------------------------------------------------------------
