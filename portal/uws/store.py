"""The job store: every job, its parameters and results, in one SQLite file.

:class:`JobStore` is the bottom layer (handlers -> service -> store). It knows nothing of HTTP,
owners' rights or execution; it persists :class:`~portal.uws.models.Job` values and performs
phase transitions atomically.

Concurrency: one connection per thread (WAL journal, a busy timeout), so the store may be used
from the event loop, from worker threads of the web server and from runner threads at once.
Transitions are conditional updates (``UPDATE ... WHERE phase IN (...)``): a method that moves a
job to a new phase returns ``True`` only if the job was in an allowed phase, so that an abort
racing with a completion has exactly one winner.

API (all synchronous, all thread-safe)::

    store = JobStore(path)                      # creates the schema if needed
    store.add(job)                              # insert a new Job (PENDING)
    store.get(job_id) -> Job | None
    store.list_refs(job_list, owner, phases=None, after=None, last=None) -> list[JobRef]
    store.set_parameters(job_id, params) -> bool          # only while PENDING
    store.set_execution_duration(job_id, seconds) -> bool  # only while PENDING
    store.set_destruction(job_id, when) -> bool
    store.mark_queued(job_id, quote=None) -> bool          # PENDING/HELD -> QUEUED
    store.mark_executing(job_id, start_time) -> bool       # QUEUED -> EXECUTING
    store.mark_finished(job_id, outcome, from_phases=...) -> bool  # active -> COMPLETED/ERROR/ABORTED
    store.put_result(job_id, result)                       # add or replace one result
    store.update_progress(job_id, update) -> bool          # EXECUTING only: progress = update(previous)
    store.set_results(job_id, results)                     # replace all results
    store.queued() -> list[Job]                            # QUEUED jobs, oldest request first
    store.generation() -> tuple                            # changes whenever any job changes
    store.fail_executing(message, end_time) -> list[str]   # after a crash: EXECUTING -> ERROR
    store.expired(now) -> list[Job]                        # destruction time passed
    store.delete(job_id) -> bool
    store.usage(owner) -> (held, queued, first destruction)  # for the per-user quotas
    store.owned(job_list, owner, job_ids) -> list[Job]     # those of the ids that are owner's jobs in the list
    store.finish_many(job_ids, outcome, from_phases) -> list[str]  # one transaction; the ids that moved
    store.delete_many(job_ids) -> list[str]                # one transaction; the ids deleted
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Callable, Iterable
from datetime import datetime, timezone
from pathlib import Path

from portal.uws.models import (
    ErrorType,
    ExecutionPhase,
    Job,
    JobFailure,
    JobProgress,
    JobRef,
    JobResult,
    Outcome,
)

__all__ = ["JobStore"]

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

_JOB_COLUMNS = ("job_id, job_list, owner, phase, run_id, parameters, creation_time, start_time, end_time, "
                "execution_duration, destruction, quote, error_type, error_message, error_detail, version, progress")
# Columns added to ``jobs`` after stores were first made: a store opened without one gets it (its jobs get NULL).
ADDED_COLUMNS = (("progress", "TEXT"),)  # JSON of a JobProgress: the stage a job last reported


_PHASES = {p.value: p for p in ExecutionPhase}


def _ts(value: datetime | None) -> float | None:
    return None if value is None else value.timestamp()


def _dt(value: float | None) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(value, timezone.utc)


def _progress(value: str | None) -> JobProgress | None:
    return None if value is None else JobProgress.from_dict(json.loads(value))


class JobStore:
    """SQLite persistence of jobs; see the module docstring for the API."""

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._busy_timeout = busy_timeout
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._writes = 0  # committed writes through this store
        self._conn().executescript(SCHEMA)
        self._migrate()

    # -- connections -------------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(self.path, timeout=self._busy_timeout, isolation_level=None,
                                   check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    class _Tx:
        def __init__(self, store: "JobStore", conn: sqlite3.Connection) -> None:
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

    def _write(self) -> "JobStore._Tx":
        return JobStore._Tx(self, self._conn())

    def _migrate(self) -> None:
        """Add the columns an older store lacks (checked again under the write lock: another process may be
        opening the same store)."""
        def missing(conn: sqlite3.Connection) -> list[tuple[str, str]]:
            have = {row[1] for row in conn.execute("PRAGMA table_info(jobs)")}
            return [(name, kind) for name, kind in ADDED_COLUMNS if name not in have]

        if missing(self._conn()):
            with self._write() as conn:
                for name, kind in missing(conn):
                    conn.execute(f"ALTER TABLE jobs ADD COLUMN {name} {kind}")

    def generation(self) -> tuple[int, int]:
        """A value that changes whenever jobs change: by a write through this store (any thread)
        or by another process (SQLite's data_version of this thread's connection)."""
        return self._writes, self._conn().execute("PRAGMA data_version").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            for conn in self._connections:
                try:
                    conn.close()
                except sqlite3.ProgrammingError:  # closed from another thread already
                    pass
            self._connections.clear()
        self._local = threading.local()

    # -- reading -----------------------------------------------------------------------------

    def _job_from_row(self, row: tuple, results: list[JobResult]) -> Job:
        (job_id, job_list, owner, phase, run_id, parameters, creation, start, end, duration,
         destruction, quote, error_type, error_message, error_detail, version, progress) = row
        error = None
        if error_message is not None:
            error = JobFailure(error_message, ErrorType(error_type or "fatal"), error_detail)
        return Job(
            job_id=job_id, job_list=job_list, owner=owner, phase=ExecutionPhase(phase),
            parameters=tuple((n, v) for n, v in json.loads(parameters)),
            creation_time=_dt(creation), execution_duration=duration, destruction=_dt(destruction),
            run_id=run_id, start_time=_dt(start), end_time=_dt(end), quote=_dt(quote), error=error,
            results=tuple(results), version=version, progress=_progress(progress),
        )

    def _results(self, conn: sqlite3.Connection, job_id: str) -> list[JobResult]:
        rows = conn.execute(
            "SELECT result_id, path, mime_type, size, sha256 FROM results WHERE job_id = ? ORDER BY position",
            (job_id,),
        ).fetchall()
        return [JobResult(*row) for row in rows]

    def get(self, job_id: str) -> Job | None:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            row = conn.execute(f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            return self._job_from_row(row, self._results(conn, job_id))
        finally:
            conn.execute("COMMIT")

    def list_refs(self, job_list: str, owner: str | None, *, phases: Iterable[ExecutionPhase] | None = None,
                  after: datetime | None = None, last: int | None = None) -> list[JobRef]:
        """Jobs of ``owner`` in ``job_list``, newest first (UWS 1.1 job-list filters)."""
        sql = "SELECT job_id, phase, owner, run_id, creation_time FROM jobs WHERE job_list = ? AND owner IS ?"
        args: list = [job_list, owner]
        if phases is not None:
            phases = list(phases)
            sql += f" AND phase IN ({','.join('?' * len(phases))})"
            args.extend(p.value for p in phases)
        if after is not None:
            sql += " AND creation_time > ?"
            args.append(after.timestamp())
        sql += " ORDER BY creation_time DESC, job_id DESC"  # the covering index, read backwards
        if last is not None:
            sql += " LIMIT ?"
            args.append(last)
        phase = _PHASES.__getitem__
        return [JobRef(jid, phase(ph), own, run, ct) for jid, ph, own, run, ct in self._conn().execute(sql, args)]

    def queued(self) -> list[Job]:
        """QUEUED jobs, in the order they were asked to run."""
        conn = self._conn()
        rows = conn.execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE phase = 'QUEUED' ORDER BY queued_time, creation_time"
        ).fetchall()
        return [self._job_from_row(row, []) for row in rows]

    def expired(self, now: datetime) -> list[Job]:
        rows = self._conn().execute(
            f"SELECT {_JOB_COLUMNS} FROM jobs WHERE destruction <= ? ORDER BY destruction", (now.timestamp(),)
        ).fetchall()
        return [self._job_from_row(row, []) for row in rows]

    def count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM jobs").fetchone()[0]

    def usage(self, owner: str) -> tuple[int, int, datetime | None]:
        """How many jobs ``owner`` holds, how many of them are QUEUED, and the soonest destruction time."""
        held, queued, first = self._conn().execute(
            "SELECT count(*), coalesce(sum(phase = 'QUEUED'), 0), min(destruction) FROM jobs WHERE owner = ?",
            (owner,)).fetchone()
        return held, queued, _dt(first)

    def owner_job_ids(self, owner: str) -> list[str]:
        return [row[0] for row in self._conn().execute("SELECT job_id FROM jobs WHERE owner = ?", (owner,))]

    def owned(self, job_list: str, owner: str, job_ids: Iterable[str]) -> list[Job]:
        """The jobs among ``job_ids`` that are ``owner``'s and in ``job_list`` (others' are left out)."""
        ids = list(dict.fromkeys(job_ids))
        found: list[Job] = []
        conn = self._conn()
        for start in range(0, len(ids), 500):  # SQLite's limit on bound variables
            chunk = ids[start:start + 500]
            rows = conn.execute(
                f"SELECT {_JOB_COLUMNS} FROM jobs WHERE job_list = ? AND owner = ? "
                f"AND job_id IN ({','.join('?' * len(chunk))})", [job_list, owner, *chunk]).fetchall()
            found.extend(self._job_from_row(row, []) for row in rows)
        return found

    # -- writing -----------------------------------------------------------------------------

    def add(self, job: Job) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, job_list, owner, phase, run_id, parameters, creation_time, "
                "execution_duration, destruction, quote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.job_id, job.job_list, job.owner, job.phase.value, job.run_id,
                 json.dumps([list(p) for p in job.parameters]), _ts(job.creation_time),
                 job.execution_duration, _ts(job.destruction), _ts(job.quote)),
            )

    def add_many(self, jobs: Iterable[Job]) -> None:
        """Insert many jobs in one transaction (bulk loads, benchmarks)."""
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO jobs (job_id, job_list, owner, phase, run_id, parameters, creation_time, "
                "execution_duration, destruction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(j.job_id, j.job_list, j.owner, j.phase.value, j.run_id,
                  json.dumps([list(p) for p in j.parameters]), _ts(j.creation_time),
                  j.execution_duration, _ts(j.destruction)) for j in jobs],
            )

    def _transition(self, job_id: str, assignments: str, values: tuple,
                    from_phases: Iterable[ExecutionPhase] | None) -> bool:
        sql = f"UPDATE jobs SET {assignments}, version = version + 1 WHERE job_id = ?"
        args: list = [*values, job_id]
        if from_phases is not None:
            phases = [p.value for p in from_phases]
            sql += f" AND phase IN ({','.join('?' * len(phases))})"
            args.extend(phases)
        with self._write() as conn:
            return conn.execute(sql, args).rowcount == 1

    def set_parameters(self, job_id: str, parameters: Iterable[tuple[str, str]]) -> bool:
        return self._transition(job_id, "parameters = ?", (json.dumps([list(p) for p in parameters]),),
                                [ExecutionPhase.PENDING])

    def set_execution_duration(self, job_id: str, seconds: int) -> bool:
        return self._transition(job_id, "execution_duration = ?", (int(seconds),),
                                [ExecutionPhase.PENDING, ExecutionPhase.HELD])

    def set_destruction(self, job_id: str, when: datetime) -> bool:
        return self._transition(job_id, "destruction = ?", (when.timestamp(),), None)

    def mark_queued(self, job_id: str, queued_time: datetime, quote: datetime | None = None) -> bool:
        return self._transition(job_id, "phase = 'QUEUED', queued_time = ?, quote = ?",
                                (queued_time.timestamp(), _ts(quote)),
                                [ExecutionPhase.PENDING, ExecutionPhase.HELD])

    def mark_executing(self, job_id: str, start_time: datetime) -> bool:
        return self._transition(job_id, "phase = 'EXECUTING', start_time = ?", (start_time.timestamp(),),
                                [ExecutionPhase.QUEUED])

    def mark_finished(self, job_id: str, outcome: Outcome,
                      from_phases: Iterable[ExecutionPhase] = (ExecutionPhase.QUEUED, ExecutionPhase.EXECUTING),
                      start_time: datetime | None = None) -> bool:
        """Move an active job to its final phase; ``start_time`` fills a start never recorded."""
        error = outcome.error
        return self._transition(
            job_id,
            "phase = ?, end_time = ?, start_time = coalesce(start_time, ?), "
            "error_type = ?, error_message = ?, error_detail = ?",
            (outcome.phase.value, outcome.end_time.timestamp(), _ts(start_time),
             error.type.value if error else None, error.message if error else None,
             error.detail if error else None),
            list(from_phases),
        )

    def put_result(self, job_id: str, result: JobResult) -> bool:
        """Add or replace one result (its position in the list is kept on replacement)."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone() is None:
                return False
            row = conn.execute("SELECT position FROM results WHERE job_id = ? AND result_id = ?",
                               (job_id, result.id)).fetchone()
            if row is None:
                position = conn.execute("SELECT coalesce(max(position), -1) + 1 FROM results WHERE job_id = ?",
                                        (job_id,)).fetchone()[0]
            else:
                position = row[0]
            conn.execute(
                "INSERT OR REPLACE INTO results (job_id, result_id, position, path, mime_type, size, sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                (job_id, result.id, position, result.path, result.mime_type, result.size, result.sha256),
            )
            conn.execute("UPDATE jobs SET version = version + 1 WHERE job_id = ?", (job_id,))
        return True

    def update_progress(self, job_id: str, update: Callable[[JobProgress | None], JobProgress]) -> bool:
        """Set an EXECUTING job's progress to ``update(its progress so far)``, in one transaction; False (and
        nothing changed) if the job is not EXECUTING. The progress stays when the job ends."""
        with self._write() as conn:
            row = conn.execute("SELECT progress FROM jobs WHERE job_id = ? AND phase = 'EXECUTING'",
                               (job_id,)).fetchone()
            if row is None:
                return False
            progress = update(_progress(row[0]))
            conn.execute("UPDATE jobs SET progress = ?, version = version + 1 WHERE job_id = ?",
                         (json.dumps(progress.to_dict()), job_id))
        return True

    def set_results(self, job_id: str, results: Iterable[JobResult]) -> bool:
        """Replace the whole result list (the final list a runner reports)."""
        with self._write() as conn:
            if conn.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone() is None:
                return False
            conn.execute("DELETE FROM results WHERE job_id = ?", (job_id,))
            conn.executemany(
                "INSERT INTO results (job_id, result_id, position, path, mime_type, size, sha256) "
                "VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(job_id, r.id, i, r.path, r.mime_type, r.size, r.sha256) for i, r in enumerate(results)],
            )
            conn.execute("UPDATE jobs SET version = version + 1 WHERE job_id = ?", (job_id,))
        return True

    def fail_executing(self, message: str, end_time: datetime) -> list[str]:
        """After an unclean stop: every EXECUTING job ends in ERROR with ``message``."""
        with self._write() as conn:
            ids = [r[0] for r in conn.execute("SELECT job_id FROM jobs WHERE phase = 'EXECUTING'")]
            conn.execute(
                "UPDATE jobs SET phase = 'ERROR', end_time = ?, error_type = 'transient', error_message = ?, "
                "error_detail = NULL, version = version + 1 WHERE phase = 'EXECUTING'",
                (end_time.timestamp(), message),
            )
        return ids

    def delete(self, job_id: str) -> bool:
        with self._write() as conn:
            return conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,)).rowcount == 1

    def finish_many(self, job_ids: Iterable[str], outcome: Outcome,
                    from_phases: Iterable[ExecutionPhase]) -> list[str]:
        """:meth:`mark_finished` for many jobs in one transaction; returns the ids that moved."""
        phases = [p.value for p in from_phases]
        moved = []
        with self._write() as conn:
            for job_id in job_ids:
                cursor = conn.execute(
                    "UPDATE jobs SET phase = ?, end_time = ?, version = version + 1 "
                    f"WHERE job_id = ? AND phase IN ({','.join('?' * len(phases))})",
                    (outcome.phase.value, outcome.end_time.timestamp(), job_id, *phases))
                if cursor.rowcount == 1:
                    moved.append(job_id)
        return moved

    def delete_many(self, job_ids: Iterable[str]) -> list[str]:
        """:meth:`delete` for many jobs in one transaction; returns the ids deleted."""
        deleted = []
        with self._write() as conn:
            for job_id in job_ids:
                if conn.execute("DELETE FROM jobs WHERE job_id = ?", (job_id,)).rowcount == 1:
                    deleted.append(job_id)
        return deleted
