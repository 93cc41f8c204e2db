"""A real JupyterHub on loopback for the tests: DummyAuthenticator, SimpleLocalProcessSpawner, the
configurable-http-proxy from the npm registry, and `portal serve` as a hub-managed service."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass
from pathlib import Path

from tests.support.servers import REPO, free_port, wait_until_up

CHP = REPO / ".venv" / "node" / "node_modules" / ".bin" / "configurable-http-proxy"
PASSWORD = "journey-password"
MINTER_TOKEN = "test-token-minter-" + "0123456789abcdef" * 2  # a test service that makes users and their tokens


def proxy_command() -> str:
    if CHP.exists():
        return str(CHP)
    raise RuntimeError(f"configurable-http-proxy is not installed at {CHP}: run `make test`, which installs it (needs npm)")


@dataclass
class Hub:
    url: str  # the proxy: what users open
    service_url: str  # the portal service, as the hub gives it to the users' servers
    proc: subprocess.Popen
    root: Path

    @property
    def log(self) -> str:
        return (self.root / "hub.log").read_text(errors="replace")

    def stop(self) -> None:
        """Stop the hub (it stops the proxy, the users' servers and the portal service), then kill
        whatever it started that is still there."""
        import psutil

        try:
            children = psutil.Process(self.proc.pid).children(recursive=True)
        except psutil.NoSuchProcess:
            children = []
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        for child in children:
            try:
                child.kill()
            except psutil.NoSuchProcess:
                pass


def config(root: Path, port: int, hub_port: int, api_port: int, service_port: int) -> str:
    """The test's jupyterhub_config.py: the one of docs/deploy.md, on loopback with test users."""
    bin_dir = Path(sys.executable).parent
    return textwrap.dedent(f"""
        import sys
        c.JupyterHub.bind_url = "http://127.0.0.1:{port}"
        c.JupyterHub.hub_bind_url = "http://127.0.0.1:{hub_port}"
        c.ConfigurableHTTPProxy.api_url = "http://127.0.0.1:{api_port}"
        c.ConfigurableHTTPProxy.command = [{proxy_command()!r}]
        c.JupyterHub.db_url = "sqlite:///{root / 'hub.sqlite'}"
        c.JupyterHub.cookie_secret_file = {str(root / 'cookie_secret')!r}
        c.JupyterHub.pid_file = {str(root / 'hub.pid')!r}
        c.JupyterHub.authenticator_class = "dummy"
        c.DummyAuthenticator.password = {PASSWORD!r}
        c.Authenticator.allow_all = True
        c.JupyterHub.spawner_class = "simple"
        c.SimpleLocalProcessSpawner.home_dir_template = {str(root / 'home' / '{{username}}')!r}
        c.Spawner.cmd = [{str(bin_dir / 'jupyterhub-singleuser')!r}]
        c.Spawner.args = ["--allow-root"]  # the CI machine runs as root
        c.Spawner.notebook_dir = {str(REPO)!r}
        c.Spawner.default_url = "/voila/render/notebooks/portal.ipynb"
        c.Spawner.start_timeout = 300
        c.Spawner.http_timeout = 300
        c.Spawner.environment = {{"PORTAL_OFFLINE": "1", "JUPYTER_PLATFORM_DIRS": "1"}}
        # the portal as a hub-managed service; users' servers may ask the hub where it is
        c.JupyterHub.services = [{{
            "name": "portal",
            "url": "http://127.0.0.1:{service_port}",
            "command": [sys.executable, "-m", "portal.cli", "serve", "--port", "{service_port}"],
            "environment": {{"PORTAL_DATA_DIR": {str(root / 'portal')!r},
                             "GAMMAPY_DATA": {os.environ.get('GAMMAPY_DATA', '')!r},
                             "PORTAL_DEFAULT_DATASET": "local", "PYTHONPATH": {str(REPO)!r}}},
        }}, {{"name": "token-minter", "api_token": {MINTER_TOKEN!r}}}]
        # users may use the portal (access:services!service=portal), and so may their servers' tokens, which the
        # dashboards send; a token made without that scope is refused by the service (403)
        c.JupyterHub.load_roles = [
            {{"name": "user", "scopes": ["self", "read:services!service=portal", "access:services!service=portal"]}},
            {{"name": "token-minter", "services": ["token-minter"], "scopes": ["admin:users", "tokens"]}},
        ]
        c.Spawner.server_token_scopes = ["users:activity!user", "access:servers!server",
                                         "read:services!service=portal", "access:services!service=portal"]
    """)


def start_hub(root: Path, timeout: float = 300) -> Hub:
    port, hub_port, api_port, service_port = (free_port() for _ in range(4))
    (root / "home").mkdir(parents=True, exist_ok=True)
    (root / "hub_config.py").write_text(config(root, port, hub_port, api_port, service_port))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PORTAL_", "JUPYTERHUB_"))}
    env["PATH"] = f"{Path(sys.executable).parent}:{env.get('PATH', '/usr/bin:/bin')}"
    with open(root / "hub.log", "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "jupyterhub", "-f", str(root / "hub_config.py")],
                                cwd=root, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    hub = Hub(f"http://127.0.0.1:{port}", f"http://127.0.0.1:{service_port}", proc, root)
    try:
        wait_until_up(hub.url + "/hub/health", proc, timeout)
        wait_until_up(hub.service_url + "/tap/availability", proc, timeout)
    except RuntimeError as exc:
        hub.stop()
        raise RuntimeError(f"{exc}\n--- hub log ---\n{hub.log[-8000:]}") from None
    return hub
