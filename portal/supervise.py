"""Keep a few server processes running: restart one that crashes, with back-off, and give up on one
that keeps crashing (what `portal up` does for `portal serve` and Voila).

The rules, for each server on its own:

- A server that exits when it was not asked to (whatever its exit code, a signal included) has
  crashed. What was left of its process group is killed, and so is every descendant it had at the
  last look (they are looked at every ``DESCENDANTS_EVERY`` seconds while it runs: Voila's kernels
  run in sessions of their own, out of its group, and would otherwise be orphaned, with whatever
  they started); it is started again after a delay
  that doubles with each crash of the recent past: ``backoff`` (1 s), then 2, 4, 8 s... at most
  ``max_delay`` seconds.
- Crashes older than ``window`` seconds are forgotten. When a server crashes more than
  ``restarts`` times within ``window`` seconds, the supervisor gives up: :meth:`Supervisor.run`
  returns a :class:`GaveUp` with the sentence to print, and the caller stops everything.
- Each decision is said in one line on ``say`` ("portal up: portal serve exited with code -9;
  restarting in 2 s (attempt 2 of 5)"), and so is a restarted server that answers its health URL
  again. Its health URL is looked at once a second; one that runs but does not answer within
  ``health_deadline`` seconds of its restart (hung) is killed, and that counts as a crash.

:meth:`Supervisor.run` only watches; signals are the caller's business (a stop signal raised in
the main thread goes through ``run`` and the caller stops :meth:`Supervisor.processes`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

import psutil  # a dependency of distributed (the job runner), hence always installed

BACKOFF = 1.0  # seconds before the first restart; it doubles with each recent crash
MAX_DELAY = 30.0
RESTARTS = 5  # restarts allowed within WINDOW seconds; one crash more and the supervisor gives up
WINDOW = 300.0
POLL = 0.2  # seconds between two looks at the processes
HEALTH_EVERY = 1.0  # seconds between two health looks at a restarted server
HEALTH_DEADLINE = 180.0  # a restarted server that runs but never answers its health URL within this has crashed
DESCENDANTS_EVERY = 2.0  # seconds between two looks at a running server's descendants (killed with it on a crash)


@dataclass
class Server:
    """One supervised server: a name for the messages, how to start it, where it says it is healthy."""

    name: str
    start: Callable[[], subprocess.Popen]
    health_url: str | None = None
    proc: subprocess.Popen | None = None
    crashes: list[float] = field(default_factory=list)  # monotonic times of the recent crashes
    restart_at: float | None = None  # a restart is due then (the server is down until it happens)
    crashed_at: float | None = None  # the last crash, until the restarted server is healthy again
    started_at: float | None = None  # when the current process was started (after a crash)
    next_health: float = 0.0  # no health look before then
    descendants: dict[int, float] = field(default_factory=dict)  # pid: create time, at the last look
    next_descendants: float = 0.0  # no look at the descendants before then
    restarted: int = 0  # restarts done (tests read it)


@dataclass
class GaveUp:
    """A server crashed too often: the sentence to print, and what it was."""

    server: str
    message: str


def exit_description(code: int) -> str:
    """``exited with code -9`` (Popen's convention: minus the signal's number when killed by one)."""
    return f"exited with code {code}"


class Supervisor:
    """Watch ``servers`` (already started, or started by :meth:`start`) until one crashes too often."""

    def __init__(self, servers: list[Server], say: Callable[[str], None] = print, prefix: str = "portal up",
                 backoff: float = BACKOFF, max_delay: float = MAX_DELAY, restarts: int = RESTARTS,
                 window: float = WINDOW, kill: Callable[[subprocess.Popen], None] | None = None,
                 clock: Callable[[], float] = time.monotonic, health_deadline: float = HEALTH_DEADLINE) -> None:
        self.servers = servers
        self.say = lambda text: say(f"{prefix}: {text}")
        self.backoff, self.max_delay, self.restarts, self.window = backoff, max_delay, restarts, window
        self.kill = kill or _kill_leftovers
        self.clock = clock
        self.health_deadline = health_deadline

    def processes(self) -> list[subprocess.Popen]:
        """The current process of each server (for stopping them all)."""
        return [s.proc for s in self.servers if s.proc is not None]

    def delay(self, attempt: int) -> float:
        """Seconds to wait before restart number ``attempt`` (1, 2, 3...) of the recent window."""
        return min(self.max_delay, self.backoff * 2 ** (attempt - 1))

    def start(self, server: Server) -> subprocess.Popen:
        server.proc = server.start()
        server.started_at, server.next_health = self.clock(), 0.0
        self.say(f"started {server.name} (pid {server.proc.pid})")
        return server.proc

    def check(self) -> GaveUp | None:
        """One look at every server: note crashes, do the restarts that are due, report the recoveries."""
        now = self.clock()
        for server in self.servers:
            if server.restart_at is not None:
                if now >= server.restart_at:
                    server.restart_at = None
                    server.restarted += 1
                    self.start(server)
                continue
            if server.proc is None:
                continue
            code = server.proc.poll()
            if code is None:
                if now >= server.next_descendants:
                    server.descendants = descendants(server.proc.pid)
                    server.next_descendants = now + DESCENDANTS_EVERY
                self._healthy_again(server, now)
                continue
            gave_up = self._crashed(server, code, now)
            if gave_up is not None:
                return gave_up
        return None

    def run(self, poll: float = POLL) -> GaveUp:
        """Watch until a server crashes too often (a stop signal, raised as an exception, ends it too)."""
        while True:
            gave_up = self.check()
            if gave_up is not None:
                return gave_up
            time.sleep(poll)

    def _crashed(self, server: Server, code: int, now: float) -> GaveUp | None:
        self.kill(server.proc)  # what it left behind in its group goes with it,
        kill_descendants(server.descendants)  # and the kernels, which have sessions of their own
        server.descendants, server.next_descendants = {}, 0.0
        server.crashes = [t for t in server.crashes if now - t < self.window] + [now]
        attempt = len(server.crashes)
        if attempt > self.restarts:
            minutes = self.window / 60
            span = f"{minutes:g} minutes" if minutes >= 1 else f"{self.window:g} s"
            message = (f"{server.name} {exit_description(code)}: {attempt} crashes within {span}; "
                       f"giving up and stopping everything (see its log above)")
            self.say(message)
            return GaveUp(server.name, message)
        wait = self.delay(attempt)
        self.say(f"{server.name} {exit_description(code)}; restarting in {wait:g} s "
                 f"(attempt {attempt} of {self.restarts})")
        server.restart_at = now + wait
        server.crashed_at = now
        return None

    def _healthy_again(self, server: Server, now: float) -> None:
        if server.crashed_at is None:
            return
        if server.health_url is not None:
            if now < server.next_health:
                return
            if not answers(server.health_url):
                server.next_health = now + HEALTH_EVERY
                if server.started_at is not None and now - server.started_at > self.health_deadline:
                    self.say(f"{server.name} (pid {server.proc.pid}) runs but has not answered "
                             f"{server.health_url} within {self.health_deadline:g} s of its restart; killing it")
                    self.kill(server.proc)  # seen as a crash at the next look, with its back-off and its count
                return
        self.say(f"{server.name} is back (pid {server.proc.pid}, {now - server.crashed_at:.1f} s after the crash)")
        server.crashed_at = None


def answers(url: str, timeout: float = 1.0) -> bool:
    """Whether ``url`` answers 200 now (a short look: the supervisor's loop must not stall)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as response:
            return response.status == 200
    except (urllib.error.URLError, OSError, ValueError):
        return False


def descendants(pid: int) -> dict[int, float]:
    """The live descendants of process ``pid`` (whatever their group or session): pid and create time."""
    found = {}
    try:
        children = psutil.Process(pid).children(recursive=True)
    except psutil.Error:  # gone since (its crash is seen at the next look)
        return found
    for child in children:
        try:
            found[child.pid] = child.create_time()
        except psutil.Error:
            pass
    return found


def kill_descendants(known: dict[int, float]) -> None:
    """SIGKILL each of ``known`` (from :func:`descendants`) still alive, unless its pid now names another
    process (a different create time), and their own descendants of now."""
    found = []
    for pid, created in known.items():
        try:
            process = psutil.Process(pid)
            if process.create_time() == created:
                found.append(process)
        except psutil.Error:
            pass
    for process in list(found):
        try:
            found.extend(process.children(recursive=True))
        except psutil.Error:
            pass
    for process in found:
        try:
            process.kill()
        except psutil.Error:
            pass


def _kill_leftovers(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)  # the servers run in process groups of their own
    except (ProcessLookupError, PermissionError):
        pass
