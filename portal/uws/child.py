"""The job process: one per running job, started by the supervising Dask task, killable as a whole.

:func:`start` launches it, through a per-worker ``forkserver`` that has already imported the
job modules (so a job starts in milliseconds, not after a multi-second gammapy import), or,
in a daemonic worker where multiprocessing may not have children, as ``python -m
portal.uws.child`` (slower, same behaviour).

In the process, :func:`main`:

- imports nothing from the server's working directory: the fork server and ``python -m`` would put it
  first on ``sys.path`` (a folder holding a ``portal/`` directory, such as ``PORTAL_DATA_DIR=./portal``,
  hid the real package), so both start with ``PYTHONSAFEPATH`` and the server's own ``sys.path``
  (:func:`job_environment`); what a process that dies early wrote (a traceback) goes to the job's log;
- creates its files private to the portal's user (umask 077: files 0600, folders 0700);
- becomes the leader of its own process group, so that a kill takes whatever it started too;
- watches a *lifeline* pipe from its supervisor and kills its group when the supervisor goes
  away (the server was killed): no orphan keeps working on a job the service gave up;
- sends its stdout, stderr (file descriptors 1 and 2, so C libraries too) and the logging
  records to the job's ``log.txt``, which the service serves as the ``log`` result while it runs;
- limits its own address space to the request's ``memory_limit`` (``RLIMIT_AS``, inherited by the
  processes it forks, each of which gets the same limit): an allocation past it raises MemoryError,
  which ends the job in ERROR saying it ran out of its memory limit (:mod:`portal.uws.execute`);
- runs the job function (:func:`portal.uws.execute.call`) with a
  :class:`~portal.uws.context.RunContext` whose reports (published, used, noted, progress) and final
  outcome go to the supervisor over a pipe, in the order the job made them.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import pickle
import resource
import signal
import subprocess
import sys
import threading
from contextlib import contextmanager
from multiprocessing.connection import Connection
from pathlib import Path

from portal.config import gib
from portal.uws import warnlog
from portal.uws.context import LOG_FILE, RunContext
from portal.uws.execute import call
from portal.uws.runner import RunRequest

__all__ = ["JobProcess", "PRIVATE_UMASK", "job_environment", "main", "start"]

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
_lock = threading.Lock()
_context = None
_preload: list[str] = []  # the job modules the fork server imports (portal.uws.preload)


# Dask's nanny sets MALLOC_TRIM_THRESHOLD_=65536 for its workers (memory given back at once, good
# for many small tasks). Job processes inherit it, and it made a gammapy analysis 8-20% slower here
# (plain script: 42-44 s without, 47-50 s with). A job process is one long analysis: glibc's
# default suits it. The variable goes only when it holds Dask's value (a user's own is kept).
_DASK_TRIM = ("MALLOC_TRIM_THRESHOLD_", "65536")
PRIVATE_UMASK = 0o077  # what a job writes is its owner's: files 0600, folders 0700
PRELOAD_VARIABLE = "PORTAL_JOB_PRELOAD"  # the job modules the fork server imports (portal.uws.preload)


def job_environment(environ: dict[str, str], path: list[str] | None = None) -> dict[str, str]:
    """The environment job processes start with: ``environ`` without Dask's malloc-trim setting, and with
    this process's import path (``path``, default ``sys.path``) as ``PYTHONPATH`` and ``PYTHONSAFEPATH``
    set, so that a new interpreter (the fork server, ``python -m``) imports what this process imports and
    never from its working directory."""
    name, dask_value = _DASK_TRIM
    env = {k: v for k, v in environ.items() if not (k == name and v == dask_value)}
    folders = [p for p in (sys.path if path is None else path) if p and os.path.isabs(p)]
    env["PYTHONPATH"] = os.pathsep.join(dict.fromkeys(folders))
    env["PYTHONSAFEPATH"] = "1"
    return env


@contextmanager
def _environment(env: dict[str, str]):
    """``os.environ`` is ``env`` inside (what the fork server, started from it, inherits), as it was after;
    only the variables that differ change (other threads keep reading the rest)."""
    changed = {k for k in set(os.environ) | set(env) if os.environ.get(k) != env.get(k)}
    saved = {k: os.environ.get(k) for k in changed}
    try:
        for key in changed:
            if key in env:
                os.environ[key] = env[key]
            else:
                os.environ.pop(key, None)
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _forkserver(preload: list[str]):
    """The forkserver context of this process, preloading the job modules (None if not allowed)."""
    global _context
    if multiprocessing.current_process().daemon:
        return None
    with _lock:
        if _context is None:
            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["portal.uws.child", "portal.uws.preload"])
            _preload[:] = preload
            _context = ctx
        return _context


def ensure_forkserver() -> None:
    """Start the fork server if it is not running, in the job processes' environment (Python 3.11's fork
    server ignores the ``sys.path`` it is given, and ``-c`` puts the working directory first on it)."""
    from multiprocessing import forkserver

    with _lock, _environment({**job_environment(dict(os.environ)), PRELOAD_VARIABLE: ",".join(_preload)}):
        forkserver.ensure_running()


class JobProcess:
    """A started job process, whichever way it was started."""

    def __init__(self, proc, conn: Connection, lifeline: Connection) -> None:
        self._proc = proc
        self.conn = conn  # messages from the job: (kind, value)
        self._lifeline = lifeline  # closing it (or dying) tells the job to stop

    @property
    def pid(self) -> int:
        return self._proc.pid

    def alive(self) -> bool:
        if isinstance(self._proc, subprocess.Popen):
            return self._proc.poll() is None
        return self._proc.is_alive()

    @property
    def exitcode(self) -> int | None:
        if isinstance(self._proc, subprocess.Popen):
            return self._proc.returncode
        return self._proc.exitcode

    def kill(self) -> None:
        """SIGKILL to the job's whole process group."""
        try:
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        try:
            self._proc.kill()
        except (ProcessLookupError, OSError, AttributeError):
            pass

    def join(self, timeout: float | None = None) -> None:
        if isinstance(self._proc, subprocess.Popen):
            try:
                self._proc.wait(timeout)
            except subprocess.TimeoutExpired:
                pass
        else:
            self._proc.join(timeout)
        try:
            self._lifeline.close()
        except OSError:
            pass


def start(request: RunRequest, preload: list[str]) -> JobProcess:
    ctx = _forkserver(preload)
    if ctx is not None:
        ensure_forkserver()  # (again, if it died: Process.start() would restart it in this environment)
        receiver, sender = ctx.Pipe(duplex=False)
        life_r, life_w = ctx.Pipe(duplex=False)
        proc = ctx.Process(target=main, args=(request, sender, life_r), name=f"portal-job-{request.job.job_id}")
        proc.start()
        sender.close()
        life_r.close()
        return JobProcess(proc, receiver, life_w)
    return _start_subprocess(request)


def _start_subprocess(request: RunRequest) -> JobProcess:
    receiver, sender = multiprocessing.Pipe(duplex=False)
    life_r, life_w = multiprocessing.Pipe(duplex=False)
    spec = request.workdir / ".request.pickle"
    with open(os.open(spec, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600), "wb") as out:
        out.write(pickle.dumps(request))
    fds = (sender.fileno(), life_r.fileno())
    # what it writes before it redirects its own output (a failed import) goes to the job's log too
    output = os.open(request.workdir / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        proc = subprocess.Popen(
            [sys.executable, "-P", "-m", "portal.uws.child", str(spec), str(fds[0]), str(fds[1])],
            pass_fds=fds, start_new_session=True, stdin=subprocess.DEVNULL, stdout=output, stderr=output,
            env=job_environment(dict(os.environ)),
        )
    finally:
        os.close(output)
    sender.close()
    life_r.close()
    return JobProcess(proc, receiver, life_w)


def _watch(lifeline: Connection) -> None:
    def watch() -> None:
        try:
            lifeline.recv()  # nothing is ever sent: this returns only when the supervisor is gone
        except (EOFError, OSError):
            pass
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=watch, name="lifeline", daemon=True).start()


def _capture_output(workdir: Path) -> logging.Logger:
    fd = os.open(workdir / LOG_FILE, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = open(1, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    sys.stderr = open(2, "w", buffering=1, encoding="utf-8", errors="replace", closefd=False)
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter(FORMAT))
    root.addHandler(handler)
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    warnlog.install()  # each distinct warning once, its copies counted
    return logging.getLogger("portal.job")


def limit_memory(limit: int) -> int:
    """Limit this process's address space to ``limit`` bytes (0: leave it); returns the limit in force."""
    if limit <= 0:
        return 0
    _soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    return limit


def main(request: RunRequest, conn: Connection, lifeline: Connection) -> None:
    os.umask(PRIVATE_UMASK)
    try:
        os.setpgid(0, 0)
    except OSError:  # already a session leader (started with start_new_session)
        pass
    _watch(lifeline)
    logger = _capture_output(request.workdir)
    memory_limit = getattr(request, "memory_limit", 0)
    if memory_limit:
        try:
            limit_memory(memory_limit)
            logger.info("memory limit of this job: %s of address space", gib(memory_limit))
        except (ValueError, OSError) as exc:  # a lower hard limit set by the system stays
            logger.warning("could not set the memory limit of %s: %s", gib(memory_limit), exc)

    def report(kind: str, value) -> None:
        conn.send((kind, value))

    ctx = RunContext(request.job.job_id, request.job.owner, request.workdir, report, logger=logger,
                     locator=request.locator, jobs_db=request.jobs_db, jobs_dir=request.jobs_dir)
    logger.info("%s job %s started (process %d)", request.definition.name, request.job.job_id, os.getpid())
    phase, failure = call(request, ctx)
    warnlog.report()  # how often each repeated warning came
    sys.stdout.flush()
    sys.stderr.flush()
    conn.send(("outcome", (phase, failure)))
    conn.close()
    # The outcome is known: end now. A normal interpreter exit joins what the job left behind (a process
    # pool's workers, threads of a library), and one stuck there kept a finished job EXECUTING; the pool's
    # workers die with this process.
    logging.shutdown()
    os._exit(0)


def _main_subprocess(argv: list[str]) -> None:
    from multiprocessing.connection import Connection as Conn

    spec, sender_fd, lifeline_fd = argv
    request = pickle.loads(Path(spec).read_bytes())
    Path(spec).unlink(missing_ok=True)
    main(request, Conn(int(sender_fd), readable=False), Conn(int(lifeline_fd), writable=False))


if __name__ == "__main__":
    _main_subprocess(sys.argv[1:])
