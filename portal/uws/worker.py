"""The Dask task that supervises one job: runs on a Dask worker, returns the job's Outcome.

A cancelled Dask future does not stop a running task, so the work itself runs in a separate
job process (:mod:`portal.uws.child`) that this task can kill. :func:`supervise`:

- reports ``started``, every ``published`` result and the job's ``progress`` to the service as Dask
  worker events (topic :data:`TOPIC`), so the service shows EXECUTING, live results and the stage; a burst
  of progress reports goes up as its last one, never ahead of a result published after it;
- returns ABORTED before starting anything if the job was aborted while it waited;
- kills the job's process group when the service sets the job's abort :class:`distributed.Event`,
  when the execution duration is exceeded (the job ends in ERROR saying so) or when the service
  lets go of the task (its client went away: on an external cluster, a killed server's jobs stop);
- turns a job process that dies on its own (a signal, an exit) into a readable ERROR (one whose
  address space had come near its memory limit ran out of it: C code that cannot allocate dies), with the
  last lines it wrote (its stderr and stdout go to the job's log), paths shown relative to the data roots;
- finishes the run (checksums, log, provenance: :func:`portal.uws.execute.finish`) and returns
  the Outcome, whose result list is complete.
"""

from __future__ import annotations

import signal
import time

from portal.config import gib
from portal.private import private_file
from portal.uws import child
from portal.paths import shown_paths
from portal.uws.execute import data_roots, finish, out_of_memory
from portal.uws.models import ErrorType, ExecutionPhase, JobFailure, Outcome, utcnow
from portal.uws.runner import RunRequest

__all__ = ["TOPIC", "abort_event_name", "supervise"]

TOPIC = "portal-uws"
POLL = 0.1  # seconds between looks at the job process
ABORT_POLL = 0.25  # seconds between looks at the abort event
EXIT_GRACE = 30.0  # seconds a job process that reported its outcome has to exit before it is stopped
NEAR_LIMIT = 0.9  # a process that died after its address space reached this share of its limit ran out of it
C_OUT_OF_MEMORY = (signal.SIGABRT, signal.SIGSEGV, signal.SIGBUS)  # how C code dies when malloc fails
TAIL_LINES = 20  # the last lines of a dead job process's output that its error summary quotes
TAIL_BYTES = 16_384
TAIL_LINE_CHARS = 300


def abort_event_name(job_id: str) -> str:
    return f"portal-uws-abort-{job_id}"


def _describe_exit(code: int | None, memory_limit: int = 0, peak: int = 0) -> str:
    if memory_limit and peak >= NEAR_LIMIT * memory_limit:  # C code that could not allocate dies, not raises
        how = f"killed by {_signal_name(-code)}" if code is not None and code < 0 else f"ended with exit code {code}"
        return f"{out_of_memory(memory_limit)} (Its process {how}.)"
    if code is None:
        return "The job's process did not report how it ended"
    if code < 0 and memory_limit and -code in C_OUT_OF_MEMORY:  # it died too fast for its peak to be seen
        return (f"The job's process was killed by {_signal_name(-code)}, which is how C code ends when it gets no "
                f"more memory: it may have run out of its memory limit of {gib(memory_limit)} (ask for less at "
                "once: fewer observations, a smaller map, fewer energy bins). Its log may say more.")
    if code < 0:
        name = _signal_name(-code)
        hint = " (perhaps it ran out of memory)" if -code == signal.SIGKILL else ""
        return f"The job's process was killed by {name}{hint}"
    return f"The job's process ended unexpectedly with exit code {code}"


def _signal_name(number: int) -> str:
    try:
        return signal.Signals(number).name
    except ValueError:
        return f"signal {number}"


def _peak_memory(pid: int) -> int:
    """The largest address space the process has had (VmPeak), in bytes; 0 when unknown."""
    try:
        with open(f"/proc/{pid}/status", "rb") as status:
            for line in status:
                if line.startswith(b"VmPeak:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0


def output_tail(request: RunRequest, lines: int = TAIL_LINES) -> str:
    """The last ``lines`` lines the job's process wrote (its log: stdout, stderr and log records), each cut
    to a readable length, with the server's paths shown relative to the data roots; "" when it wrote none."""
    try:
        with open(request.workdir / child.LOG_FILE, "rb") as handle:
            handle.seek(0, 2)
            size = handle.tell()
            handle.seek(max(0, size - TAIL_BYTES))
            raw = handle.read()
    except OSError:
        return ""
    text = raw.decode("utf-8", errors="replace")
    if size > TAIL_BYTES:
        text = text.partition("\n")[2]  # the first line read may be cut
    kept = [line.rstrip() for line in text.splitlines() if line.strip()][-lines:]
    kept = [line if len(line) <= TAIL_LINE_CHARS else line[:TAIL_LINE_CHARS - 3] + "..." for line in kept]
    return shown_paths("\n".join(kept), data_roots(request))


def _died(request: RunRequest, code: int | None, memory_limit: int, peak: int) -> JobFailure:
    """The failure of a job process that ended without saying how: how it ended, then its last output."""
    how = _describe_exit(code, memory_limit, peak)
    tail = output_tail(request)
    _append_log(request, how)
    if not tail:
        return JobFailure(f"{how.rstrip('.')}. It wrote nothing to its log (the server's log may say more).")
    return JobFailure(f"{how.rstrip('.')}. The last lines it wrote:\n{tail}")


def _append_log(request: RunRequest, line: str) -> None:
    try:
        with open(request.workdir / child.LOG_FILE, "a", encoding="utf-8") as handle:
            handle.write(f"{utcnow().isoformat(timespec='milliseconds')} {line}\n")
    except OSError:
        pass


def _let_go(worker, key) -> bool:
    """Whether the service let go of this task (its client went away: the server died)."""
    task = worker.state.tasks.get(key) if key is not None else None
    return task is None or task.state in ("cancelled", "released", "forgotten")


def supervise(request: RunRequest, preload: list[str]) -> Outcome:
    from distributed import Event, get_worker
    from distributed.worker import thread_state

    worker = get_worker()
    key = getattr(thread_state, "key", None)
    job_id = request.job.job_id

    def emit(kind: str, **payload) -> None:
        worker.log_event(TOPIC, {"job": job_id, "kind": kind, **payload})

    start = utcnow()
    private_file(request.workdir / child.LOG_FILE)
    emit("started", time=start.timestamp())  # first: the service shows EXECUTING at once
    emit("published", id="log", path=child.LOG_FILE, mime_type="text/plain", size=None)
    abort = Event(abort_event_name(job_id))
    if abort.is_set():  # aborted while it waited for a worker (the service ignores the start)
        return Outcome(ExecutionPhase.ABORTED, utcnow())
    proc = child.start(request, preload)
    published, inputs, notes, reported, stopped = {}, [], {}, None, None
    progress = []  # the latest progress report not sent yet (at most one)

    def send_progress() -> None:
        if progress:
            emit("progress", **progress.pop()._asdict())

    duration = request.job.execution_duration
    deadline = time.monotonic() + duration if duration > 0 else None
    next_abort_check = time.monotonic() + ABORT_POLL
    connection_open = True
    exit_deadline = None
    memory_limit, peak = getattr(request, "memory_limit", 0), 0
    while True:
        if memory_limit:
            peak = max(peak, _peak_memory(proc.pid))
        while connection_open and proc.conn.poll(0 if reported is None else POLL):
            try:
                kind, value = proc.conn.recv()
            except (EOFError, OSError):
                connection_open = False
                break
            if kind == "progress":
                progress[:] = [value]
                continue
            send_progress()  # what the job said before this goes up before it
            if kind == "published":
                published[value.id] = value
                emit("published", id=value.id, path=value.path, mime_type=value.mime_type, size=value.size)
            elif kind == "used":
                inputs.append(value)
            elif kind == "noted":
                notes[value[0]] = value[1]
            elif kind == "outcome":
                reported = value
        send_progress()
        if not proc.alive() and not (connection_open and proc.conn.poll(0)):
            break
        now = time.monotonic()
        if reported is not None:
            exit_deadline = exit_deadline or now + EXIT_GRACE
            if now > exit_deadline:  # it said how it ended but does not exit: its outcome stands
                proc.kill()
                _append_log(request, f"the job's process did not exit {EXIT_GRACE:g} s after it ended: it was stopped")
                break
        if deadline is not None and now > deadline:
            proc.kill()
            stopped = "timeout"
            break
        if now >= next_abort_check:
            next_abort_check = now + ABORT_POLL
            if abort.is_set():
                proc.kill()
                stopped = "abort"
                break
            if _let_go(worker, key):  # on an external cluster the job would outlive the server
                proc.kill()
                stopped = "orphaned"
                break
        if connection_open:
            proc.conn.poll(POLL)
        else:
            time.sleep(POLL)
    proc.join(timeout=30)
    end = utcnow()
    if stopped == "abort":
        phase, failure = ExecutionPhase.ABORTED, None
        _append_log(request, "job aborted: its process was stopped")
    elif stopped == "orphaned":
        phase, failure = ExecutionPhase.ERROR, JobFailure(
            "The job service stopped while this job was executing, so its work was stopped", ErrorType.TRANSIENT)
        _append_log(request, "the job service went away: the job was stopped")
    elif stopped == "timeout":
        phase, failure = ExecutionPhase.ERROR, JobFailure(
            f"The job ran longer than its execution duration ({duration} s) and was stopped")
        _append_log(request, f"execution duration of {duration} s exceeded: the job was stopped")
    elif reported is not None:
        phase, failure = reported
    else:
        phase, failure = ExecutionPhase.ERROR, _died(request, proc.exitcode, memory_limit, peak)
    results = finish(request, published, inputs, phase, failure, start, end, notes)
    return Outcome(phase, end, failure, results)
