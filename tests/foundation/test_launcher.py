"""`portal up` (what `make run` runs) brings up both servers and stops both on SIGINT, SIGTERM and
SIGHUP, even when it was started with those signals ignored and blocked (as a non-interactive
launcher may start it); killed with SIGKILL, its servers die with it. Every test kills what it
started in `finally`, and waits on conditions (output lines, ports, processes), not durations."""

from __future__ import annotations

import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time

import httpx
import psutil
import pytest

from tests.support.servers import REPO, free_port

STOPS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def _hostile_signal_state() -> None:
    """preexec_fn: what a careless launcher leaves behind: the stop signals ignored and blocked."""
    for signum in STOPS:
        signal.signal(signum, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, STOPS)


def alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"  # a zombie has exited
    except FileNotFoundError:
        return False


def listening(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(1)
        return s.connect_ex(("127.0.0.1", port)) == 0


def wait_until(condition, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"still not {what} after {timeout:.0f} s"
        time.sleep(0.2)


class Up:
    """`portal up` in a subprocess, its output read by a thread, its servers' pids remembered."""

    def __init__(self, tmp_path, hostile: bool, args: tuple[str, ...] = ()):
        self.port, self.voila_port = free_port(), free_port()
        env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path), "PORTAL_DEFAULT_DATASET": "none"}
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "portal.cli", "up", "--port", str(self.port), "--voila-port", str(self.voila_port),
             *args],
            cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            preexec_fn=_hostile_signal_state if hostile else None,
        )
        self.lines: list[str] = []
        self.pids: list[int] = []
        self._queue: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self) -> None:
        for line in self.proc.stdout:
            self._queue.put(line)
        self._queue.put(None)

    def wait_for_line(self, text: str, timeout: float = 600) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                line = self._queue.get(timeout=max(0.1, deadline - time.monotonic()))
            except queue.Empty:
                line = ""
            if line is None or time.monotonic() > deadline:
                raise AssertionError(f"no line with {text!r}; output:\n{''.join(self.lines)}")
            self.lines.append(line)
            started = re.search(r"portal up: started .*?\(pid (\d+)\)", line)
            if started:  # a server's own log may follow on the same line: the two share the pipe
                self.pids.append(int(started.group(1)))
            if text in line:
                return

    def voila_url(self, path: str) -> str:
        """``path`` on this `portal up`'s Voila, with the token its "Dashboard:" line printed."""
        line = next(line for line in self.lines if "Dashboard:" in line)
        token = re.search(r"\?token=([0-9a-f]{48})\s*$", line)
        assert token, f"no token in the dashboard URL: {line!r}"
        return f"http://127.0.0.1:{self.voila_port}{path}?token={token.group(1)}"

    def kill_everything(self) -> None:
        for pid in [self.proc.pid, *self.pids]:
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        self.proc.wait(timeout=60)

    def servers_gone(self) -> bool:
        return not any(alive(p) for p in self.pids) and not listening(self.port) and not listening(self.voila_port)


@pytest.mark.slow
@pytest.mark.parametrize("stop", STOPS, ids=lambda s: s.name)
def test_up_starts_both_servers_and_stops_them_on_a_signal(tmp_path, stop):
    up = Up(tmp_path, hostile=True)
    try:
        up.wait_for_line("Dashboard:")
        dashboard = f"http://127.0.0.1:{up.voila_port}/voila/render/portal.ipynb"
        assert any(dashboard in line for line in up.lines), "".join(up.lines)
        assert len(up.pids) == 2
        # the dashboards' kernels, started by Voila, give freed memory back; the job service keeps glibc's default
        services, voila = (psutil.Process(pid).environ() for pid in up.pids)
        assert voila.get("MALLOC_TRIM_THRESHOLD_") == "65536"
        assert services.get("MALLOC_TRIM_THRESHOLD_") == os.environ.get("MALLOC_TRIM_THRESHOLD_")
        assert httpx.get(f"http://127.0.0.1:{up.port}/tap/availability", timeout=30).status_code == 200
        assert httpx.get(up.voila_url("/voila/tree"), timeout=30).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{up.voila_port}/voila/tree", timeout=30).status_code == 302  # to log in
        up.proc.send_signal(stop)
        assert up.proc.wait(timeout=120) == 0
        wait_until(up.servers_gone, 60, "stopped: both servers")
    finally:
        up.kill_everything()


@pytest.mark.slow
def test_servers_die_with_a_killed_up(tmp_path):
    up = Up(tmp_path, hostile=False)
    try:
        up.wait_for_line("Dashboard:")
        up.proc.kill()  # SIGKILL: `portal up` cannot clean up; the parent-death signal does
        up.proc.wait(timeout=60)
        wait_until(up.servers_gone, 120, "stopped: both servers after SIGKILL of portal up")
    finally:
        up.kill_everything()
