"""`portal up` (what `make run` runs) keeps its servers running: `portal serve` killed with SIGKILL is
restarted by itself and answers again while Voila stays up, and the output says so; so is a killed Voila,
whose leftovers are gone: its process group, and its preheated dashboard kernel (in a session of its own,
out of the group); `portal serve` killed again and again, `portal up` gives up with a sentence, stops
everything and exits with status 1. Everything is killed in `finally`; the test waits on output lines and
answers, not durations."""

from __future__ import annotations

import os
import re
import signal
import time

import httpx
import psutil
import pytest

from portal.supervise import RESTARTS
from tests.foundation.test_launcher import Up, alive, wait_until

pytestmark = pytest.mark.slow


def in_group(pgid: int) -> list[int]:
    """The live processes of process group ``pgid``."""
    found = []
    for pid in psutil.pids():
        try:
            if os.getpgid(pid) == pgid and alive(pid):
                found.append(pid)
        except ProcessLookupError:
            pass
    return found


def kernels(pid: int) -> dict[int, float]:
    """The ipykernel processes below ``pid`` (Voila's dashboard kernels): pid and create time."""
    found = {}
    for child in psutil.Process(pid).children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()):
                found[child.pid] = child.create_time()
        except psutil.NoSuchProcess:
            pass
    return found


def gone(pid: int, created: float) -> bool:
    """Whether process ``pid`` of that create time has exited (its pid free, a zombie, or another's now)."""
    try:
        return not alive(pid) or psutil.Process(pid).create_time() != created
    except psutil.NoSuchProcess:
        return True


def last_started(up: Up, name: str) -> int:
    """The pid of the latest ``name`` that `portal up` said it started."""
    pids = [int(m.group(1)) for line in up.lines for m in [re.search(rf"portal up: started {name} \(pid (\d+)\)", line)]
            if m]
    return pids[-1]


def answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def test_a_killed_service_comes_back_and_one_that_keeps_crashing_stops_everything(tmp_path, monkeypatch):
    monkeypatch.setenv("PORTAL_VOILA_POOL", "1")  # one preheated kernel of the dashboard, started with Voila
    up = Up(tmp_path, hostile=False)
    health = f"http://127.0.0.1:{up.port}/tap/availability"
    try:
        up.wait_for_line("Dashboard:")
        services, voila = up.pids
        os.kill(services, signal.SIGKILL)
        killed = time.monotonic()
        up.wait_for_line(f"portal up: portal serve exited with code -9; restarting in 1 s (attempt 1 of {RESTARTS})",
                         timeout=60)
        up.wait_for_line("portal up: started portal serve", timeout=60)
        restarted = last_started(up, "portal serve")
        assert restarted != services
        wait_until(lambda: answers(health), 300, "answering: the restarted portal serve")
        back = time.monotonic() - killed
        up.wait_for_line(f"portal up: portal serve is back (pid {restarted}, ", timeout=60)
        print(f"\nportal serve killed -> /tap/availability answers again: {back:.1f} s")
        assert alive(voila) and up.proc.poll() is None  # Voila was not stopped with it
        assert answers(up.voila_url("/voila/tree"))

        # Voila too, and what it left (its preheated kernel, in a session of its own) goes with it
        found: dict[int, float] = {}
        wait_until(lambda: found.update(kernels(voila)) or found, 300, "started: Voila's preheated kernel")
        assert all(os.getsid(pid) != os.getsid(voila) for pid in found)  # out of reach of a group kill
        os.kill(voila, signal.SIGKILL)
        up.wait_for_line(f"portal up: voila exited with code -9; restarting in 1 s (attempt 1 of {RESTARTS})",
                         timeout=60)
        up.wait_for_line("portal up: voila is back (pid ", timeout=300)
        assert answers(up.voila_url("/voila/tree"))
        wait_until(lambda: not in_group(voila), 60, "gone: the killed Voila's process group")
        wait_until(lambda: all(gone(pid, created) for pid, created in found.items()), 60,
                   f"gone: the killed Voila's kernels {sorted(found)}")
        print("".join(line for line in up.lines if " is back " in line), end="")

        # crash after crash: each new process is killed as soon as it is started
        for attempt in range(2, RESTARTS + 2):
            os.kill(last_started(up, "portal serve"), signal.SIGKILL)
            if attempt <= RESTARTS:
                delay = 2 ** (attempt - 1)
                up.wait_for_line(f"portal serve exited with code -9; restarting in {delay} s "
                                 f"(attempt {attempt} of {RESTARTS})", timeout=60)
                up.wait_for_line("portal up: started portal serve", timeout=120)
        up.wait_for_line(f"{RESTARTS + 1} crashes within 5 minutes; giving up and stopping everything", timeout=60)
        assert up.proc.wait(timeout=120) == 1
        up.wait_for_line("portal serve keeps crashing, so `portal up` stopped everything", timeout=30)
        wait_until(up.servers_gone, 120, "stopped: both servers after giving up")
    finally:
        up.kill_everything()
