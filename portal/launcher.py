"""Run the services and Voila side by side, as `make run` does, and stop both cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

DASHBOARD = "portal.ipynb"


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


def voila_command(notebooks: Path, host: str, port: int) -> list[str]:
    from widgets.jupyter.install import voila_options  # the portal's template (offline assets)

    return [
        sys.executable, "-m", "voila", str(notebooks),
        "--no-browser",
        f"--port={port}",
        f"--Voila.ip={host}",
        "--show_tracebacks=False",
        *voila_options(),
    ]


def stop(procs: list[subprocess.Popen]) -> None:
    for proc in procs:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    deadline = time.monotonic() + 10
    for proc in procs:
        try:
            proc.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def run_all(host: str = "127.0.0.1", port: int = 8000, voila_port: int = 8866,
            notebooks: Path | None = None) -> int:
    notebooks = notebooks or Path.cwd() / "notebooks"
    if not (notebooks / DASHBOARD).exists():
        print(f"error: no {DASHBOARD} in {notebooks}; run from the repository root", file=sys.stderr)
        return 2
    env = dict(os.environ)
    env.setdefault("PORTAL_URL", f"http://{host}:{port}")
    if not env.get("PORTAL_TOKEN"):  # the dashboard launches jobs as the local user
        from portal.auth.local import dashboard_token
        from portal.config import Settings

        env["PORTAL_TOKEN"] = dashboard_token(Settings.from_env(env).data_dir)
    services = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "serve", "--host", host, "--port", str(port)], env=env
    )
    procs = [services]
    try:
        if not wait_for(f"http://{host}:{port}/tap/availability", 600, services):
            print("error: the services did not start (see the log above)", file=sys.stderr)
            return 1
        voila = subprocess.Popen(voila_command(notebooks, host, voila_port), env=env)
        procs.append(voila)
        if not wait_for(f"http://{host}:{voila_port}/voila/tree", 120, voila):
            print("error: Voila did not start (see the log above)", file=sys.stderr)
            return 1
        print(f"\n  Services:  http://{host}:{port}/tap")
        print(f"  Dashboard: http://{host}:{voila_port}/voila/render/{DASHBOARD}")
        print("  Press Ctrl-C to stop both.\n", flush=True)
        while all(p.poll() is None for p in procs):
            time.sleep(0.5)
        return 1
    except KeyboardInterrupt:
        print("\nstopping...", flush=True)
        return 0
    finally:
        stop(procs)
