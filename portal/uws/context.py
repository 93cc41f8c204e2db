"""The :class:`~portal.uws.definitions.JobContext` a running job gets.

The same class serves both runners: in a Dask job process its ``report`` callback sends
events up a pipe to the supervising task; in the thread runner it calls the service directly.

- ``workdir``: the job's own folder under ``$PORTAL_DATA_DIR/uws/jobs/<id>``;
- ``log``: a logger whose records go to the job's ``log`` result (readable while it runs);
- ``publish(result_id, path, mime)``: copies ``path`` (inside workdir) to ``results/`` and makes
  it a result at once, replacing an earlier version atomically (flux points bin by bin);
- ``used(path, role, **attrs)``: records an input file with its SHA-256 for provenance;
- ``progress(stage, done=None, total=None)``: where the job is, for the job document's ``jobInfo``
  (reported as a :class:`~portal.uws.models.ProgressReport` with the time; a repeat is not sent);
- ``locate(obs_ids)``: resolves obs ids (or ``<collection>/<obs_id>``) through the observation locator the
  application injected (:mod:`portal.uws.locator`), which names unknown and ambiguous ids in a UsageError;
- ``abort_requested`` / ``on_abort(callback)``: for in-process work that can stop cooperatively
  (the Dask runner kills the job's process instead).
"""

from __future__ import annotations

import hashlib
import logging
import operator
import os
import re
import shutil
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from portal.private import private_folder
from portal.uws.definitions import FatalError
from portal.uws.locator import ObservationLocator
from portal.uws.models import JobInput, JobResult, ProgressReport

__all__ = ["RunContext", "sha256_file", "LOG_FILE", "RESULTS_DIR"]

LOG_FILE = "log.txt"
RESULTS_DIR = "results"
RESULT_ID = re.compile(r"[A-Za-z0-9_.-]{1,64}")
RESERVED_RESULTS = frozenset({"log", "provenance", "provn"})  # written by the service itself
MAX_STAGE = 80  # characters of a stage name
Report = Callable[[str, Any], None]


def sha256_file(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


class RunContext:
    """What a running job may use; see the module docstring."""

    def __init__(self, job_id: str, owner: str | None, workdir: Path, report: Report, *,
                 logger: logging.Logger, locator: ObservationLocator | None = None, jobs_db: Path | None = None,
                 jobs_dir: Path | None = None) -> None:
        self.job_id = job_id
        self.owner = owner or "anonymous"
        self.workdir = Path(workdir)
        self.log = logger
        self.locator = locator
        self.jobs_db = jobs_db
        self.jobs_dir = jobs_dir
        self.notes: dict[str, str] = {}
        self.abort_requested = threading.Event()
        self.inputs: list[JobInput] = []
        self.published: dict[str, JobResult] = {}
        self._report = report
        self._abort_callbacks: list[Callable[[], None]] = []
        self._lock = threading.Lock()
        self._said: tuple | None = None  # the last progress reported (stage, done, total)

    # -- JobContext --------------------------------------------------------------------------

    def locate(self, obs_ids: list[int | str]) -> list[Any]:
        if self.locator is None:
            raise FatalError("This job service has no archive to resolve observation ids in")
        return self.locator.locate(list(obs_ids))  # one per item, or a UsageError

    def note(self, name: str, value: Any) -> None:
        """Record something the job decided itself (``stacked``, and why) in its provenance."""
        text = value if isinstance(value, str) else ("true" if value is True else "false" if value is False
                                                     else str(value))
        with self._lock:
            self.notes[str(name)] = text
        self._report("noted", (str(name), text))

    def job_result(self, reference: str, result_id: str, job_list: str) -> Any:
        """A result of another COMPLETED ``job_list`` job of this job's owner
        (:func:`portal.uws.joblookup.find_result`): its path and checksum, or a UsageError saying why not."""
        from portal.uws.joblookup import find_result

        if self.jobs_db is None or self.jobs_dir is None:
            raise FatalError("This job service does not let jobs read other jobs' results")
        return find_result(self.jobs_db, self.jobs_dir, self.owner, reference, job_list, result_id)

    def publish(self, result_id: str, path: Path, mime_type: str) -> None:
        if not RESULT_ID.fullmatch(result_id):
            raise ValueError(f"invalid result id {result_id!r}: use letters, digits, '.', '_' or '-'")
        if result_id in RESERVED_RESULTS:
            raise ValueError(f"result id {result_id!r} is reserved: the job service writes it")
        source = Path(path)
        if not source.is_absolute():
            source = self.workdir / source
        source = source.resolve()
        root = self.workdir.resolve()
        if not source.is_relative_to(root):
            raise ValueError(f"result {result_id}: {path} is outside the job's folder")
        if not source.is_file():
            raise ValueError(f"result {result_id}: {path} is not a file")
        target_dir = root / RESULTS_DIR
        private_folder(target_dir)
        suffix = "".join(source.suffixes)[-16:] if source.suffixes else ""
        target = target_dir / f"{result_id}{suffix}"
        with self._lock:
            if source != target:
                tmp = target_dir / f".{result_id}.tmp-{os.getpid()}-{threading.get_ident()}"
                shutil.copyfile(source, tmp)
                os.replace(tmp, target)  # readers of the earlier version keep reading it
            result = JobResult(result_id, str(target.relative_to(root)), mime_type, target.stat().st_size)
            self.published[result_id] = result
        self._report("published", result)

    def progress(self, stage: str, done: int | None = None, total: int | None = None) -> None:
        """Where the job is (see :meth:`portal.uws.definitions.JobContext.progress`)."""
        stage = stage.strip() if isinstance(stage, str) else ""
        if not stage or len(stage) > MAX_STAGE or not stage.isprintable():
            raise ValueError(f"a stage is printable text of 1 to {MAX_STAGE} characters, not {stage!r}")
        counts = []
        for name, value in (("done", done), ("total", total)):
            if value is not None:
                if isinstance(value, bool):
                    raise ValueError(f"progress {name} must be a count, not {value!r}")
                value = operator.index(value)  # numpy integers too; a float is a TypeError
                if value < 0:
                    raise ValueError(f"progress {name} must be 0 or more, not {value}")
            counts.append(value)
        done, total = counts
        if done is not None and total is not None and done > total:
            raise ValueError(f"progress of {stage!r}: {done} done is more than the {total} in all")
        with self._lock:  # held while reporting: reports from several threads go up in the order they were made
            if self._said != (stage, done, total):
                self._said = (stage, done, total)
                self._report("progress", ProgressReport(stage, done, total, time.time()))

    def used(self, path: Path, role: str, **attributes: Any) -> None:
        path = Path(path)
        checksum = sha256_file(path) if path.is_file() else None
        clean = {k: v if isinstance(v, (str, int, float, bool)) or v is None else str(v)
                 for k, v in attributes.items()}
        item = JobInput(str(path), role, checksum, clean)
        with self._lock:
            self.inputs.append(item)
        self._report("used", item)

    # -- cooperative abort (in-process runners) ----------------------------------------------

    def on_abort(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (once, from another thread) when the job is aborted or times out."""
        with self._lock:
            self._abort_callbacks.append(callback)
            fire = self.abort_requested.is_set()
        if fire:
            callback()

    def request_abort(self) -> None:
        with self._lock:
            if self.abort_requested.is_set():
                return
            self.abort_requested.set()
            callbacks = list(self._abort_callbacks)
        for callback in callbacks:
            try:
                callback()
            except Exception:  # noqa: BLE001 - one failing callback must not hide the others
                self.log.exception("abort callback failed")
