"""Start the portal's servers as real subprocesses on free ports, for tests and benchmarks."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parents[2]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(url: str, proc: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with code {proc.returncode} before answering {url}")
        try:
            if httpx.get(url, timeout=2).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer within {timeout} s")


@dataclass
class Server:
    """A running server process and the URL it answers on."""

    url: str
    proc: subprocess.Popen
    log: Path
    token: str | None = None  # Voila's: what a page's URL carries (``?token=``)

    def at(self, path: str) -> str:
        """The URL of ``path`` on this server, with the server's token (Voila's) when it has one."""
        from widgets.jupyter.voila_token import with_token

        return with_token(self.url + path, self.token)

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def kill(self) -> None:
        """Kill without letting the server clean up, as a crash would."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def create_token(data_dir: Path, user: str) -> str:
    """A bearer token for ``user`` (``portal token create``), against a server's data dir."""
    out = subprocess.run([sys.executable, "-m", "portal.cli", "token", "create", user], capture_output=True,
                         text=True, check=True, env={"PORTAL_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"})
    return out.stdout.strip().splitlines()[-1].strip()


# A test server is shared by a whole session of one user's jobs (hundreds): no per-user quotas unless a test sets
# them (tests/reliability/test_quotas.py does, small).
NO_QUOTAS = {"PORTAL_UWS_MAX_JOBS_PER_USER": "0", "PORTAL_UWS_MAX_QUEUED_PER_USER": "0",
             "PORTAL_UWS_MAX_BYTES_PER_USER": "0"}


def start_portal(data_dir: Path, env: dict[str, str] | None = None, port: int | None = None,
                 timeout: float = 600, log_level: str = "warning") -> Server:
    """Run ``portal serve`` with its state in ``data_dir``; wait for /tap/availability (``log_level`` info
    writes uvicorn's access log to the server's log too)."""
    port = port or free_port()
    data_dir.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, "PORTAL_DATA_DIR": str(data_dir), **NO_QUOTAS, **(env or {})}
    log = data_dir / f"serve-{port}.log"
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "portal.cli", "serve", "--port", str(port), "--log-level", log_level],
            env=full_env, stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log)
    try:
        wait_until_up(server.url + "/tap/availability", proc, timeout)
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"{exc}\n--- server log ---\n{log.read_text(errors='replace')}") from None
    return server


def start_voila(notebooks: Path, env: dict[str, str], timeout: float = 120, no_token: bool = False,
                options: tuple[str, ...] = ()) -> Server:
    """Run Voila on ``notebooks`` (same options as `make run`, then ``options``); wait for its tree page.

    ``env`` is the server's environment; its PORTAL_VOILA_POOL and PORTAL_VOILA_MAX_KERNELS (else this
    process's) set the pool and the kernel cap. Voila asks for a token this chooses (``server.token``; open
    pages with ``server.at(path)``), unless ``no_token``.
    """
    from portal.launcher import voila_command, voila_environment
    from widgets.jupyter.install import kernel_pool, max_kernels

    port = free_port()
    token = None if no_token else secrets.token_hex(16)
    log = Path(env.get("PORTAL_DATA_DIR", "/tmp")) / f"voila-{port}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    full_env = {**os.environ, **env}
    with open(log, "ab") as out:
        proc = subprocess.Popen(
            [*voila_command(notebooks, "127.0.0.1", port, kernel_pool(full_env), max_kernels(full_env), no_token),
             *options],
            env=voila_environment(full_env, token),
            stdout=out, stderr=subprocess.STDOUT, cwd=REPO,
        )
    server = Server(f"http://127.0.0.1:{port}", proc, log, token)
    try:
        wait_until_up(server.at("/voila/tree"), proc, timeout)
    except RuntimeError as exc:
        server.stop()
        raise RuntimeError(f"{exc}\n--- voila log ---\n{log.read_text(errors='replace')}") from None
    except BaseException:  # interrupted while waiting: no Voila left behind
        server.stop()
        raise
    return server


def voila_kernels(voila: Server) -> list:
    """The kernels a running Voila started (its ipykernel child processes)."""
    import psutil

    found = []
    for child in psutil.Process(voila.proc.pid).children(recursive=True):
        try:
            if "ipykernel_launcher" in " ".join(child.cmdline()):
                found.append(child)
        except psutil.NoSuchProcess:
            pass
    return found
