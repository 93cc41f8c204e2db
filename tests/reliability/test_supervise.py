"""The supervisor `portal up` uses (portal/supervise.py), on real subprocesses: a crashed server is
restarted after a delay that doubles, crashes of long ago are forgotten, one that keeps crashing
makes it give up with a sentence, and what a crashed server left in its process group is killed, and so
are its descendants in sessions of their own (as Voila's kernels are).
Every test kills what it started in `finally` and waits on conditions, not durations."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time

import psutil

from portal.supervise import Server, Supervisor
from tests.support.servers import free_port


class Recorder:
    """Starts ``command`` (in a process group of its own, as `portal up` does) and remembers when."""

    def __init__(self, command: list[str]) -> None:
        self.command = command
        self.starts: list[float] = []
        self.procs: list[subprocess.Popen] = []

    def __call__(self) -> subprocess.Popen:
        self.starts.append(time.monotonic())
        proc = subprocess.Popen(self.command, process_group=0, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL)
        self.procs.append(proc)
        return proc

    def kill_all(self) -> None:
        for proc in self.procs:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait()


def drive(supervisor: Supervisor, until, timeout: float = 120):
    """Call ``check()`` until ``until()`` holds or it gives up; return what it gave up with (or None)."""
    deadline = time.monotonic() + timeout
    while not until():
        gave_up = supervisor.check()
        if gave_up is not None:
            return gave_up
        assert time.monotonic() < deadline, f"condition not reached in {timeout} s"
        time.sleep(0.02)
    return None


def test_a_server_that_keeps_crashing_is_restarted_with_doubling_delays_then_given_up():
    crashing = Recorder([sys.executable, "-c", "import sys; sys.exit(3)"])
    lines: list[str] = []
    server = Server("crasher", crashing)
    supervisor = Supervisor([server], say=lines.append, backoff=0.2, restarts=3, window=600)
    try:
        supervisor.start(server)
        gave_up = supervisor.run(poll=0.02)
        assert gave_up.server == "crasher"
        assert "4 crashes within 10 minutes; giving up and stopping everything" in gave_up.message
        assert len(crashing.starts) == 4 and server.restarted == 3
        said = [line for line in lines if "restarting" in line]
        assert said == [f"portal up: crasher exited with code 3; restarting in {d:g} s (attempt {n} of 3)"
                        for n, d in ((1, 0.2), (2, 0.4), (3, 0.8))]
        assert lines[-1] == f"portal up: {gave_up.message}"
        gaps = [b - a for a, b in zip(crashing.starts, crashing.starts[1:])]
        assert all(gap >= delay for gap, delay in zip(gaps, (0.2, 0.4, 0.8))), gaps
        assert supervisor.delay(10) == supervisor.max_delay
    finally:
        crashing.kill_all()


def test_crashes_older_than_the_window_are_forgotten():
    # it crashes every ~1.5 s; with a window of 1 s no crash is ever "recent", so it is never given up
    flaky = Recorder([sys.executable, "-c", "import sys, time; time.sleep(1.5); sys.exit(1)"])
    lines: list[str] = []
    server = Server("flaky", flaky)
    supervisor = Supervisor([server], say=lines.append, backoff=0.1, restarts=1, window=1.0)
    try:
        supervisor.start(server)
        assert drive(supervisor, lambda: server.restarted >= 3) is None
        said = [line for line in lines if "restarting" in line]
        assert len(said) == 3 and all(line.endswith("restarting in 0.1 s (attempt 1 of 1)") for line in said)
    finally:
        flaky.kill_all()


def test_a_killed_server_is_restarted_and_said_to_be_back_when_it_answers():
    port = free_port()
    web = Recorder([sys.executable, "-m", "http.server", str(port), "--bind", "127.0.0.1"])
    lines: list[str] = []
    server = Server("web", web, health_url=f"http://127.0.0.1:{port}/")
    supervisor = Supervisor([server], say=lines.append, backoff=0.5)
    try:
        supervisor.start(server)
        first = server.proc
        first.kill()
        assert drive(supervisor, lambda: any(" is back " in line for line in lines), 120) is None
        assert f"portal up: web exited with code {-signal.SIGKILL}; restarting in 0.5 s (attempt 1 of 5)" in lines
        assert server.proc is not first and server.proc.poll() is None
        back = next(line for line in lines if " is back " in line)
        assert f"(pid {server.proc.pid}, " in back and back.endswith(" s after the crash)")
        assert supervisor.processes() == [server.proc]
    finally:
        web.kill_all()


def _group(pid: int) -> int | None:
    try:
        return os.getpgid(pid)
    except ProcessLookupError:
        return None


def test_what_a_crashed_server_left_in_its_process_group_is_killed():
    parent = Recorder(["sh", "-c", "sleep 300 & exec sleep 301"])
    server = Server("parent", parent)
    supervisor = Supervisor([server], say=lambda _line: None, backoff=60)
    try:
        supervisor.start(server)
        first = server.proc
        children = []
        deadline = time.monotonic() + 60
        while not children:
            assert time.monotonic() < deadline
            children = [p for p in psutil.process_iter(["cmdline"]) if p.info["cmdline"] == ["sleep", "300"]
                        and _group(p.pid) == first.pid]
            time.sleep(0.05)
        first.kill()
        assert drive(supervisor, lambda: server.restart_at is not None) is None
        psutil.wait_procs(children, timeout=30)
        assert not any(c.is_running() and c.status() != psutil.STATUS_ZOMBIE for c in children)
        assert len(parent.starts) == 1  # the restart is 60 s away
    finally:
        parent.kill_all()


def test_what_a_crashed_server_started_in_a_session_of_its_own_is_killed_too():
    # as jupyter_client starts a kernel: start_new_session=True, out of the server's process group
    server_code = ("import subprocess, time; subprocess.Popen(['sleep', '302'], start_new_session=True); "
                   "time.sleep(600)")
    parent = Recorder([sys.executable, "-c", server_code])
    server = Server("parent", parent)
    supervisor = Supervisor([server], say=lambda _line: None, backoff=60)
    kernel = None
    try:
        supervisor.start(server)
        first = server.proc
        deadline = time.monotonic() + 60
        while kernel is None:
            assert time.monotonic() < deadline, "the server never started its child"
            kernel = next((c for c in psutil.Process(first.pid).children() if c.cmdline() == ["sleep", "302"]), None)
            time.sleep(0.05)
        assert os.getsid(kernel.pid) == kernel.pid != _group(first.pid)  # not in the group the supervisor kills
        assert drive(supervisor, lambda: kernel.pid in server.descendants, 60) is None  # the supervisor saw it
        first.kill()  # the server alone, as a crash would
        assert drive(supervisor, lambda: server.restart_at is not None) is None
        psutil.wait_procs([kernel], timeout=30)
        assert not (kernel.is_running() and kernel.status() != psutil.STATUS_ZOMBIE), "the child outlived the crash"
        assert server.descendants == {} and len(parent.starts) == 1  # the restart is 60 s away
    finally:
        if kernel is not None:
            try:
                kernel.kill()
            except psutil.NoSuchProcess:
                pass
        parent.kill_all()


def test_a_restarted_server_that_runs_but_never_answers_is_killed_and_counted_as_a_crash():
    port = free_port()  # nothing listens there: the restarted process runs (sleeps) but never answers
    hung = Recorder([sys.executable, "-c", "import time; time.sleep(600)"])
    lines: list[str] = []
    server = Server("hung", hung, health_url=f"http://127.0.0.1:{port}/")
    supervisor = Supervisor([server], say=lines.append, backoff=0.1, restarts=2, window=600, health_deadline=1.0)
    try:
        supervisor.start(server)
        server.proc.kill()  # the first crash; each restart then hangs, is killed, and counts as a crash
        gave_up = drive(supervisor, lambda: False, 120)
        assert gave_up is not None and "3 crashes within 10 minutes" in gave_up.message
        killed = [line for line in lines if "has not answered" in line]
        assert len(killed) == 2 and all(f"http://127.0.0.1:{port}/ within 1 s of its restart; killing it" in line
                                        for line in killed)
        assert not any(" is back " in line for line in lines)
    finally:
        hung.kill_all()
