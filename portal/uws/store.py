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
from collections.abc import Callable, Iterable
from datetime import datetime
from pathlib import Path

from portal.private import private_file, private_folder
from portal.uws.models import ExecutionPhase, Job, JobProgress, JobRef, JobResult, Outcome
from portal.uws.store_sql import (
    JOB_COLUMNS,
    PHASES,
    Connections,
    available,
    dt,
    job_from_row,
    progress_of,
    results_of,
    ts,
)

__all__ = ["JobStore"]


class JobStore:
    """SQLite persistence of jobs; see the module docstring for the API (its SQLite side:
    :mod:`portal.uws.store_sql`)."""

    def __init__(self, path: Path, busy_timeout: float = 30.0) -> None:
        self.path = Path(path)
        private_folder(self.path.parent)  # the jobs' owners, parameters and errors: the portal's user only
        private_file(self.path, sqlite=True)
        self._db = Connections(self.path, busy_timeout)  # the schema is made (and migrated) here
        self._conn = self._db.conn
        self._write = self._db.write

    def generation(self) -> tuple[int, int]:
        """A value that changes whenever jobs change: by a write through this store (any thread)
        or by another process (SQLite's data_version of one connection)."""
        return self._db.generation()

    def close(self) -> None:
        self._db.close()

    # -- reading -----------------------------------------------------------------------------

    def get(self, job_id: str) -> Job | None:
        conn = self._conn()
        conn.execute("BEGIN")
        try:
            row = conn.execute(f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
            if row is None:
                return None
            return job_from_row(row, results_of(conn, job_id))
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
        phase = PHASES.__getitem__
        return [JobRef(jid, phase(ph), own, run, ct) for jid, ph, own, run, ct in self._conn().execute(sql, args)]

    def queued(self) -> list[Job]:
        """QUEUED jobs, in the order they were asked to run."""
        conn = self._conn()
        rows = conn.execute(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE phase = 'QUEUED' ORDER BY queued_time, creation_time"
        ).fetchall()
        return [job_from_row(row, []) for row in rows]

    def expired(self, now: datetime) -> list[Job]:
        rows = self._conn().execute(
            f"SELECT {JOB_COLUMNS} FROM jobs WHERE destruction <= ? ORDER BY destruction", (now.timestamp(),)
        ).fetchall()
        return [job_from_row(row, []) for row in rows]

    def count(self) -> int:
        return self._conn().execute("SELECT count(*) FROM jobs").fetchone()[0]

    def usage(self, owner: str) -> tuple[int, int, datetime | None]:
        """How many jobs ``owner`` holds, how many of them are QUEUED, and the soonest destruction time."""
        held, queued, first = self._conn().execute(
            "SELECT count(*), coalesce(sum(phase = 'QUEUED'), 0), min(destruction) FROM jobs WHERE owner = ?",
            (owner,)).fetchone()
        return held, queued, dt(first)

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
                f"SELECT {JOB_COLUMNS} FROM jobs WHERE job_list = ? AND owner = ? "
                f"AND job_id IN ({','.join('?' * len(chunk))})", [job_list, owner, *chunk]).fetchall()
            found.extend(job_from_row(row, []) for row in rows)
        return found

    # -- writing -----------------------------------------------------------------------------

    def add(self, job: Job) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO jobs (job_id, job_list, owner, phase, run_id, parameters, creation_time, "
                "execution_duration, destruction, quote) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job.job_id, job.job_list, job.owner, job.phase.value, job.run_id,
                 json.dumps([list(p) for p in job.parameters]), ts(job.creation_time),
                 job.execution_duration, ts(job.destruction), ts(job.quote)),
            )

    def add_many(self, jobs: Iterable[Job]) -> None:
        """Insert many jobs in one transaction (bulk loads, benchmarks)."""
        with self._write() as conn:
            conn.executemany(
                "INSERT INTO jobs (job_id, job_list, owner, phase, run_id, parameters, creation_time, "
                "execution_duration, destruction) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(j.job_id, j.job_list, j.owner, j.phase.value, j.run_id,
                  json.dumps([list(p) for p in j.parameters]), ts(j.creation_time),
                  j.execution_duration, ts(j.destruction)) for j in jobs],
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
                                (queued_time.timestamp(), ts(quote)),
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
            (outcome.phase.value, outcome.end_time.timestamp(), ts(start_time),
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
            progress = update(progress_of(row[0]))
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


for _name, _method in list(vars(JobStore).items()):  # every public method answers StoreUnavailable, not SQLite's errors
    if callable(_method) and not _name.startswith("_") and _name != "close":
        setattr(JobStore, _name, available(_method))
