"""`portal up` (what `make run` runs) brings up both servers and stops both on Ctrl-C."""

import os
import signal
import subprocess
import sys
import time

import httpx
import pytest

from tests.support.servers import REPO, free_port


@pytest.mark.slow
def test_up_starts_both_servers_and_stops_them_on_ctrl_c(tmp_path):
    port, voila_port = free_port(), free_port()
    env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "portal.cli", "up", "--port", str(port), "--voila-port", str(voila_port)],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )
    lines = []
    try:
        deadline = time.monotonic() + 600
        while time.monotonic() < deadline:
            line = proc.stdout.readline()
            if not line:
                break
            lines.append(line)
            if "Dashboard:" in line:
                break
        dashboard = f"http://127.0.0.1:{voila_port}/voila/render/portal.ipynb"
        assert any(dashboard in line for line in lines), "".join(lines)
        assert httpx.get(f"http://127.0.0.1:{port}/tap/availability").status_code == 200
        assert httpx.get(f"http://127.0.0.1:{voila_port}/voila/tree").status_code == 200
    finally:
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=30)
    assert code == 0
    for p in (port, voila_port):
        with pytest.raises(httpx.ConnectError):
            httpx.get(f"http://127.0.0.1:{p}/", timeout=2)
