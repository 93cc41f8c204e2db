"""A running job reads the results of its owner's other jobs (a joint fit of spectrum jobs).

The job store is opened read-only; a job is found only when it belongs to the same owner, is of
the expected kind, has COMPLETED and has the result asked for. Anything else is a
:class:`~portal.uws.definitions.UsageError` whose message says which, so a job can never read
another user's results, nor a result that is still being written.
"""

from __future__ import annotations

import re
import sqlite3
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote, urlparse

from portal.uws.definitions import UsageError

__all__ = ["JobOutput", "job_id_of", "find_result"]

JOB_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


@dataclass(frozen=True)
class JobOutput:
    job_id: str
    result_id: str
    path: Path  # absolute, inside the job's own folder
    sha256: str | None
    parameters: str  # the job's stored parameters (JSON), for the record


def job_id_of(reference: str) -> str:
    """The job id of ``reference``: an id, or the URL of a job (``.../uws/spectrum/<id>``)."""
    text = reference.strip()
    if "/" in text:
        text = urlparse(text).path.rstrip("/").rsplit("/", 1)[-1]
    if not JOB_ID.fullmatch(text):
        raise UsageError(f"{reference!r} is not a job id or a job URL")
    return text


def find_result(jobs_db: Path, jobs_dir: Path, owner: str, reference: str, job_list: str,
                result_id: str) -> JobOutput:
    """Result ``result_id`` of the ``job_list`` job ``reference`` of ``owner``, which must have COMPLETED."""
    job_id = job_id_of(reference)
    try:
        conn = sqlite3.connect(f"file:{quote(str(jobs_db))}?mode=ro", uri=True, timeout=30)
    except sqlite3.Error as exc:
        raise UsageError(f"the job store cannot be read ({exc})") from None
    try:
        row = conn.execute("SELECT job_list, owner, phase, parameters FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        if row is None or row[1] != owner:  # another user's job is as unknown as a missing one
            raise UsageError(f"job {job_id} is not one of your jobs (unknown, destroyed or another user's)")
        kind, _, phase, parameters = row
        if kind != job_list:
            raise UsageError(f"job {job_id} is a {kind} job, not a {job_list} job")
        if phase != "COMPLETED":
            raise UsageError(f"job {job_id} is {phase}: only COMPLETED jobs can be used")
        found = conn.execute("SELECT path, sha256 FROM results WHERE job_id = ? AND result_id = ?",
                             (job_id, result_id)).fetchone()
    except sqlite3.Error as exc:
        raise UsageError(f"the job store cannot be read ({exc})") from None
    finally:
        conn.close()
    if found is None:
        raise UsageError(f"job {job_id} has no {result_id} result (it was made before jobs published it: run it "
                         "again)")
    folder = (Path(jobs_dir) / job_id).resolve()
    path = (folder / found[0]).resolve()
    if not path.is_relative_to(folder) or not path.is_file():
        raise UsageError(f"the {result_id} result of job {job_id} cannot be read")
    return JobOutput(job_id, result_id, path, found[1], parameters)
