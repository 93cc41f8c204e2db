"""Run the services and Voila side by side, as `make run` does, keep them running, and stop both cleanly.

- SIGTERM, SIGINT and SIGHUP stop both servers, whatever signal state `portal up` inherited: a
  non-interactive launcher may start it with SIGINT ignored or with signals blocked, so the
  handlers are installed and the signals unblocked first thing.
- Each server runs in a process group of its own (a Ctrl-C in the terminal reaches `portal up`
  alone, which stops the servers in order) and gets a parent-death signal (Linux
  ``PR_SET_PDEATHSIG``), so it goes down with `portal up` even when `portal up` is killed with
  SIGKILL.
- Stopping sends SIGTERM to each server, waits for it to shut down (the job service ends its
  jobs, Voila its kernels), then kills what is left of its process group.
- A server that crashes once both are up is restarted with back-off, and one that keeps crashing
  stops everything (the rules are in :mod:`portal.supervise`); each step is said on stdout.
- Voila asks for a token (:mod:`widgets.jupyter.voila_access`): ``PORTAL_VOILA_TOKEN``, else a new random one
  at each start, kept across Voila's restarts and printed in the dashboard's URL (``?token=``), as Jupyter
  does. ``portal up --no-token`` (or ``PORTAL_VOILA_AUTH=none``) serves the dashboards to anyone who reaches
  the port, and says so.
"""

from __future__ import annotations

import ctypes
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DASHBOARD = "portal.ipynb"
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)
GRACE = 20.0  # seconds a server has to stop after SIGTERM
PR_SET_PDEATHSIG = 1

try:
    _LIBC = ctypes.CDLL(None, use_errno=True)
except OSError:  # not Linux: no parent-death signal, the process groups still clean up
    _LIBC = None


class Stopped(Exception):
    """A stop signal arrived."""

    def __init__(self, signum: int):
        super().__init__(signal.Signals(signum).name)
        self.signum = signum


def _raise_stop(signum, _frame) -> None:
    raise Stopped(signum)


def take_stop_signals(handler=_raise_stop) -> None:
    """Handle SIGTERM, SIGINT and SIGHUP (whatever was inherited: ignored, blocked or default)."""
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOP_SIGNALS)
    for signum in STOP_SIGNALS:
        signal.signal(signum, handler)


def _die_with_parent(parent: int):
    """A ``preexec_fn``: the child gets SIGTERM when ``parent`` dies (and exits if it already has)."""
    def setup() -> None:
        if _LIBC is not None:
            _LIBC.prctl(PR_SET_PDEATHSIG, signal.SIGTERM, 0, 0, 0)
        if os.getppid() != parent:
            os._exit(1)
    return setup


def start(command: list[str], env: dict[str, str]) -> subprocess.Popen:
    """A server process: its own process group, dying with this process."""
    return subprocess.Popen(command, env=env, process_group=0, preexec_fn=_die_with_parent(os.getpid()))


def wait_for(url: str, timeout: float, proc: subprocess.Popen) -> bool:
    """Poll ``url`` until it answers 200, the process dies, or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            pass
        time.sleep(0.3)
    return False


def voila_command(notebooks: Path, host: str, port: int, pool: int | None = None, cap: int | None = None,
                  no_token: bool = False) -> list[str]:
    """Voila on ``notebooks``; ``pool`` preheated kernels for the main dashboard (default: PORTAL_VOILA_POOL),
    at most ``cap`` kernels (default: PORTAL_VOILA_MAX_KERNELS, else 8).

    ``widgets.jupyter.voila_app`` is Voila serving its static files gzipped and cacheable, asking for the token
    of ``JUPYTER_TOKEN`` in its environment (a random one, which it logs, without); ``no_token`` turns the
    token off (``--Voila.token=``, Voila's own way)."""
    from widgets.jupyter.install import voila_options  # the portal's template (offline assets)

    return [
        sys.executable, "-m", "widgets.jupyter.voila_app", str(notebooks),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        "--show_tracebacks=False",
        *voila_options(pool, cap),
        *(["--Voila.token="] if no_token else []),
    ]


def voila_environment(env: dict[str, str], token: str | None) -> dict[str, str]:
    """Voila's environment: ``env``, what the kernels need, and the token in ``JUPYTER_TOKEN`` (Voila reads it
    and keeps it from the kernels)."""
    from widgets.jupyter.install import kernel_environment  # what the dashboards' kernels need

    voila_env = {k: v for k, v in kernel_environment(env).items() if k != "JUPYTER_TOKEN"}
    return {**voila_env, "JUPYTER_TOKEN": token} if token else voila_env


def _kill_group(proc: subprocess.Popen) -> None:
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def stop(procs: list[subprocess.Popen], grace: float = GRACE) -> None:
    """SIGTERM each server, wait up to ``grace`` seconds in all (a second stop signal cuts it
    short), then kill whatever is left in their process groups."""
    hurry = []
    take_stop_signals(lambda signum, _frame: hurry.append(signum))
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    for proc in procs:
        while proc.poll() is None and not hurry and time.monotonic() < deadline:
            try:
                proc.wait(timeout=0.2)
            except subprocess.TimeoutExpired:
                pass
    for proc in procs:
        _kill_group(proc)  # the server if it is still there, and anything it left behind
        proc.wait()


def run_all(host: str = "127.0.0.1", port: int = 8000, voila_port: int = 8866,
            notebooks: Path | None = None, no_token: bool = False) -> int:
    take_stop_signals()
    notebooks = notebooks or Path.cwd() / "notebooks"
    if not (notebooks / DASHBOARD).exists():
        print(f"error: no {DASHBOARD} in {notebooks}; run from the repository root", file=sys.stderr)
        return 2
    from widgets.jupyter.voila_token import voila_token, with_token  # not voila_access: no Voila here

    try:
        token = voila_token(os.environ, no_token)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.setdefault("PORTAL_URL", f"http://{host}:{port}")
    if not env.get("PORTAL_TOKEN"):  # the dashboard launches jobs as the local user
        from portal.auth.local import dashboard_token
        from portal.config import Settings

        env["PORTAL_TOKEN"] = dashboard_token(Settings.from_env(env).data_dir)
    from portal.supervise import Server, Supervisor

    services = Server("portal serve", lambda: start(
        [sys.executable, "-m", "portal.cli", "serve", "--host", host, "--port", str(port)], env),
        health_url=f"http://{host}:{port}/tap/availability")
    voila = Server("voila", lambda: start(voila_command(notebooks, host, voila_port, no_token=token is None),
                                          voila_environment(env, token)),
                   health_url=with_token(f"http://{host}:{voila_port}/voila/tree", token))
    supervisor = Supervisor([services, voila], say=lambda text: print(text, flush=True))
    try:
        supervisor.start(services)
        if not wait_for(services.health_url, 600, services.proc):
            print("error: the services did not start (see the log above)", file=sys.stderr)
            return 1
        supervisor.start(voila)
        if not wait_for(voila.health_url, 120, voila.proc):
            print("error: Voila did not start (see the log above)", file=sys.stderr)
            return 1
        print(f"\n  Services:  http://{host}:{port}/tap")
        print(f"  Dashboard: {with_token(f'http://{host}:{voila_port}/voila/render/{DASHBOARD}', token)}")
        if token is None:
            print("  No token (--no-token): anyone who reaches this port uses the dashboards, and launches jobs, "
                  "as PORTAL_TOKEN's owner.")
        print("  Press Ctrl-C to stop both.\n", flush=True)
        gave_up = supervisor.run()  # a crashed server is restarted; one that keeps crashing ends it
        print(f"error: {gave_up.server} keeps crashing, so `portal up` stopped everything; "
              "its log above says why.", file=sys.stderr)
        return 1
    except Stopped as sig:
        print(f"\nstopping ({sig})...", flush=True)
        return 0
    finally:
        stop(supervisor.processes())
