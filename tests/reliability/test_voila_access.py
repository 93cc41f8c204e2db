"""Who may use the dashboards' Voila (`portal up`'s): a dashboard's kernel acts as PORTAL_TOKEN's owner.

* Without the token (or with a wrong one) every way in is refused, a login redirect or a 403, and no kernel
  starts: each dashboard, the tree, the contents API, a kernel's API, its websocket, the request-info websocket.
  With the token, a page renders, its kernel answers over the websocket (the token or the login cookie the
  page's URL set) and the static files load; the kernels do not inherit the token.
* Only the dashboards are served: the tutorials (which launch jobs from code) are neither listed nor rendered,
  even with the token, however the path is written, and no kernel starts for them.
* A cap on kernels: a page beyond it gets a sentence (503, Retry-After) at once and no kernel; the pool's
  refill waits for a place; pages that race for the last place get one kernel between them.
* Serving without a token is an explicit choice (``portal up --no-token``, ``PORTAL_VOILA_AUTH=none``).
"""

from __future__ import annotations

import asyncio
import json
import re
import signal
import subprocess
import sys
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import psutil
import pytest

from portal.launcher import voila_command, voila_environment
from tests.foundation.test_launcher import Up, wait_until
from tests.support.servers import REPO, Server, free_port, start_voila, voila_kernels
from widgets.jupyter.kernel_cap import SENTENCE
from widgets.jupyter.voila_token import voila_token

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]
NOTEBOOKS = REPO / "notebooks"
DASHBOARDS = sorted(p.name for p in NOTEBOOKS.glob("*.ipynb"))
TUTORIALS = sorted(p.name for p in (NOTEBOOKS / "tutorials").glob("*.ipynb"))
REFUSED = (302, 403)  # a page: to the login form; an API call or a websocket: forbidden


def kernel_id(html: str) -> str:
    return re.search(r'"kernelId": "([0-9a-f-]{36})"', html).group(1)


async def _websocket(url: str, headers: dict[str, str], kernel_info: bool):
    """Open a websocket: its HTTP status when refused, else "open" (and the kernel's reply to a
    kernel_info_request when ``kernel_info``)."""
    from tornado.httpclient import HTTPClientError, HTTPRequest
    from tornado.websocket import websocket_connect

    try:
        conn = await websocket_connect(HTTPRequest(url, headers=headers, request_timeout=60))
    except HTTPClientError as exc:
        return exc.code
    try:
        if not kernel_info:
            return "open"
        msg_id = uuid.uuid4().hex
        await conn.write_message(json.dumps({
            "header": {"msg_id": msg_id, "msg_type": "kernel_info_request", "username": "", "session": uuid.uuid4().hex,
                       "date": "", "version": "5.3"},
            "parent_header": {}, "metadata": {}, "content": {}, "channel": "shell", "buffers": []}))
        while True:
            message = await asyncio.wait_for(conn.read_message(), 120)
            if isinstance(message, str) and json.loads(message).get("parent_header", {}).get("msg_id") == msg_id:
                reply = json.loads(message)
                if reply["msg_type"] == "kernel_info_reply":
                    return reply["content"]["status"]
    finally:
        conn.close()


def websocket(url: str, headers: dict[str, str] | None = None, kernel_info: bool = False):
    return asyncio.run(_websocket(url.replace("http://", "ws://"), headers or {}, kernel_info))


def small_notebooks(folder: Path, names=("portal", "a", "b")) -> Path:
    """Notebooks of one light cell (the cap is about kernels, not about what they run), and a sub-folder."""
    cell = {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
            "source": ["print('dashboard')"]}
    nb = {"cells": [cell], "metadata": {"kernelspec": {"name": "python3", "display_name": "Python 3",
                                                       "language": "python"}}, "nbformat": 4, "nbformat_minor": 5}
    (folder / "sub").mkdir(parents=True)
    for name in (*names, "sub/hidden"):
        (folder / f"{name}.ipynb").write_text(json.dumps(nb))
    return folder


@pytest.fixture(scope="module")
def voila(tmp_path_factory):
    """`portal up`'s Voila on notebooks/, with a token; no pool (every kernel is a page's), no services."""
    data = tmp_path_factory.mktemp("voila-access")
    server = start_voila(NOTEBOOKS, {"PORTAL_URL": f"http://127.0.0.1:{free_port()}", "PORTAL_DATA_DIR": str(data),
                                     "PORTAL_VOILA_POOL": "0"})
    try:
        yield server
    finally:
        server.stop()


def test_the_token_is_required_unless_turned_off_explicitly(cases):
    assert len(voila_token({})) == 48 and voila_token({}) != voila_token({})  # a new random one each start
    assert voila_token({"PORTAL_VOILA_TOKEN": "x" * 20}) == "x" * 20
    assert voila_token({"PORTAL_VOILA_TOKEN": "  "}) not in ("", None)  # blank: as unset, never "no token"
    assert voila_token({"PORTAL_VOILA_AUTH": ""}) is not None
    assert voila_token({}, no_token=True) is None and voila_token({"PORTAL_VOILA_AUTH": "none"}) is None
    assert voila_token({"PORTAL_VOILA_AUTH": "None"}) is None
    for env in ({"PORTAL_VOILA_AUTH": "off"}, {"PORTAL_VOILA_AUTH": "0"}, {"PORTAL_VOILA_TOKEN": "short"}):
        with pytest.raises(ValueError, match="PORTAL_VOILA_"):
            voila_token(env)
    assert "--Voila.token=" in voila_command(NOTEBOOKS, "127.0.0.1", 1, 0, no_token=True)
    assert not any("token" in arg.lower() for arg in voila_command(NOTEBOOKS, "127.0.0.1", 1, 0))  # not in `ps`
    assert voila_environment({"JUPYTER_TOKEN": "old"}, "new")["JUPYTER_TOKEN"] == "new"
    assert "JUPYTER_TOKEN" not in voila_environment({"JUPYTER_TOKEN": "old"}, None)
    cases(13)


def test_without_the_token_nothing_is_served_and_no_kernel_starts(voila, cases):
    assert voila_kernels(voila) == []
    wrong = "0" * 32
    anonymous = httpx.Client(base_url=voila.url, timeout=60, follow_redirects=False)
    pages = [f"/voila/render/{name}" for name in DASHBOARDS] + ["/", "/voila/tree", "/voila/tree/"]
    for path in pages:
        for variant in (path, f"{path}?token={wrong}"):
            response = anonymous.get(variant)
            assert response.status_code == 302 and response.headers["location"].startswith("/login?"), variant
            cases()
        assert anonymous.get(path, headers={"Authorization": f"token {wrong}"}).status_code == 302
        cases()
    for path in ("/voila/api/contents", "/voila/api/contents/", "/voila/api/contents/portal.ipynb",
                 f"/voila/api/contents?token={wrong}"):
        assert anonymous.get(path).status_code == 403, path
        cases()
    assert voila_kernels(voila) == []  # nothing above started one

    # a kernel a token holder started: its id does not open it to anyone else
    page = httpx.get(voila.at("/voila/render/index.ipynb"), timeout=300)
    assert page.status_code == 200
    kid = kernel_id(page.text)
    assert len(voila_kernels(voila)) == 1
    for method, path in (("GET", f"/api/kernels/{kid}"), ("DELETE", f"/api/kernels/{kid}"),
                         ("POST", f"/api/kernels/{kid}/interrupt"), ("POST", f"/api/kernels/{kid}/restart"),
                         ("POST", f"/voila/api/shutdown/{kid}"), ("GET", "/api/kernels"),
                         ("GET", f"/api/kernels/{kid}?token={wrong}")):
        assert anonymous.request(method, path).status_code in (403, 404), (method, path)
        cases()
    for path in (f"/api/kernels/{kid}/channels", f"/api/kernels/{kid}/channels?token={wrong}"):
        assert websocket(voila.url + path) == 403, path
        cases()
    assert websocket(voila.url + f"/api/kernels/{kid}/channels", {"Authorization": f"token {wrong}"}) == 403
    cases()
    assert len(voila_kernels(voila)) == 1  # the token holder's, still there: nothing was shut down or started

    # with the token: the kernel answers over its websocket, by the token or by the cookie the page's URL set
    assert websocket(voila.at(f"/api/kernels/{kid}/channels"), kernel_info=True) == "ok"
    with httpx.Client(timeout=300) as browser_like:
        second = browser_like.get(voila.at("/voila/render/index.ipynb"))
        cookie = "; ".join(f"{k}={v}" for k, v in browser_like.cookies.items())
        assert cookie and browser_like.get(voila.url + "/voila/api/contents").status_code == 200
    assert websocket(voila.url + f"/api/kernels/{kernel_id(second.text)}/channels", {"Cookie": cookie},
                     kernel_info=True) == "ok"
    for path in ("/voila/static/voila.js", "/voila/templates/gamma-portal/static/hips/offline-sky/properties"):
        assert httpx.get(voila.url + path, timeout=60).status_code == 200  # the page's scripts
    for kernel in voila_kernels(voila):  # the token is Voila's: its kernels do not inherit it
        assert "JUPYTER_TOKEN" not in kernel.environ()
    assert voila.token not in " ".join(psutil.Process(voila.proc.pid).cmdline())
    cases(5)

    # the login form: the token is the password; a wrong one is refused with a sentence; no password can be set
    with httpx.Client(base_url=voila.url, timeout=60, follow_redirects=False) as visitor:
        form = visitor.get("/login?next=%2Fvoila%2Ftree")
        assert form.status_code == 200 and "access token" in form.text and "jupyter server list" not in form.text
        xsrf = re.search(r'name="_xsrf" value="([^"]+)"', form.text).group(1)
        refused = visitor.post("/login?next=%2Fvoila%2Ftree", data={"_xsrf": xsrf, "password": wrong})
        assert refused.status_code == 401 and "Invalid credentials" in refused.text
        assert visitor.get("/voila/tree").status_code == 302
        logged = visitor.post("/login?next=%2Fvoila%2Ftree",
                              data={"_xsrf": xsrf, "password": voila.token, "new_password": "chosen-by-a-visitor"})
        assert logged.status_code == 302 and logged.headers["location"] == "/voila/tree"
        assert visitor.get("/voila/tree").status_code == 200
        assert not (REPO / "jupyter_server_config.json").exists()  # Jupyter writes the password there if allowed
    cases(4)


def test_the_tutorials_are_not_served_even_with_the_token(voila, cases):
    before = len(voila_kernels(voila))
    auth = {"Authorization": f"token {voila.token}"}
    client = httpx.Client(base_url=voila.url, timeout=120, follow_redirects=False, headers=auth)
    listing = client.get("/voila/api/contents").json()
    assert sorted(item["name"] for item in listing["content"]) == DASHBOARDS
    tree = client.get("/voila/tree").text
    assert "tutorial" not in tree.lower() and all(name in tree for name in DASHBOARDS)
    cases(2)
    paths = []
    for name in TUTORIALS:
        paths += [f"/voila/render/tutorials/{name}", f"/voila/render/tutorials%2F{name}", f"/voila/render//tutorials/{name}",
                  f"/voila/render/./tutorials/{name}", f"/voila/render/portal.ipynb/../tutorials/{name}",
                  f"/voila/render/tutorials/./{name}", f"/voila/render/tutorials/{name}?template=lab",
                  f"/voila/api/contents/tutorials/{name}", f"/voila/files/tutorials/{name}", f"/voila/tree/tutorials/{name}"]
    paths += ["/voila/tree/tutorials", "/voila/tree/tutorials/", "/voila/api/contents/tutorials",
              "/voila/render/tutorials", "/voila/tree/./tutorials"]
    for path in paths:
        response = client.send(client.build_request("GET", path))  # as written: no client-side normalisation
        assert response.status_code in (302, 403, 404) and "tutorials/" not in response.headers.get("location", ""), \
            (path, response.status_code, response.headers.get("location"))
        assert "nbformat" not in response.text and "cell_type" not in response.text, path  # no notebook content
        cases()
    assert len(voila_kernels(voila)) == before  # no kernel ran a tutorial


def _capped_voila(folder: Path, cap: int) -> Server:
    """Voila on ``folder`` with a pool of 1 for portal.ipynb refilled after 1 s, and at most ``cap`` kernels."""
    return start_voila(folder, {"PORTAL_DATA_DIR": str(folder.parent), "PORTAL_VOILA_POOL": "1",
                                "PORTAL_VOILA_MAX_KERNELS": str(cap)}, timeout=180,
                       options=("--VoilaKernelManager.fill_delay=1",))


def test_beyond_the_kernel_cap_a_page_gets_a_sentence_and_no_kernel(tmp_path, cases):
    cap = 3
    voila = _capped_voila(small_notebooks(tmp_path / "notebooks"), cap)
    sentence = SENTENCE.format(cap=cap)
    client = httpx.Client(timeout=300, follow_redirects=False)

    def render(name: str) -> httpx.Response:
        return client.get(voila.at(f"/voila/render/{name}.ipynb"))

    def refused(response: httpx.Response) -> bool:
        return (response.status_code == 503 and sentence in response.text and response.headers["Retry-After"] == "120"
                and "Traceback" not in response.text)

    def shut_down(page: httpx.Response) -> None:
        assert client.post(voila.at(f"/voila/api/shutdown/{kernel_id(page.text)}")).status_code == 204

    def log_count(text: str) -> int:
        return voila.log.read_text().count(text)

    def kernels(n: int) -> None:
        wait_until(lambda: len(voila_kernels(voila)) == n, 120, f"{n} kernels")

    filled, waits = "Kernel pool of portal.ipynb is filled", "the pool's refill waits for a place"
    try:
        kernels(1)  # the pool's
        a, b = render("a"), render("b")
        assert a.status_code == b.status_code == 200 and "dashboard" in a.text
        assert len(voila_kernels(voila)) == cap
        for name in ("a", "b", "a", "sub/hidden"):  # beyond the cap: a sentence at once, no kernel (or a 404)
            response = render(name)
            assert refused(response) or (name.startswith("sub/") and response.status_code == 404)
            cases()
        assert len(voila_kernels(voila)) == cap

        first = render("portal")  # the pool's kernel is always offered: no new kernel
        assert first.status_code == 200 and "dashboard" in first.text
        # the websocket that hands a preheated kernel's page its request (the URL, the token in it) needs the token
        query = f"/voila/query/{kernel_id(first.text)}"
        assert websocket(voila.url + query) == 403 and websocket(voila.at(query)) == "open"
        wait_until(lambda: log_count(waits) == 1, 60, "waiting: the pool's refill")
        assert refused(render("portal"))  # the refill, waiting for a place, is not offered
        assert len(voila_kernels(voila)) == cap
        cases(3)

        shut_down(a)  # a page closed frees its place: the refill takes it
        wait_until(lambda: log_count(filled) == 2, 120, "refilled: the pool")
        assert len(voila_kernels(voila)) == cap
        assert refused(render("a"))
        second = render("portal")
        assert second.status_code == 200
        cases(2)

        shut_down(b)  # the refill (waiting again) takes b's place ...
        wait_until(lambda: log_count(filled) == 3, 120, "refilled: the pool")
        shut_down(first)  # ... and two places are free
        shut_down(second)
        kernels(cap - 2)
        with ThreadPoolExecutor(6) as pool:  # six pages race for the two places
            racing = list(pool.map(lambda name: render(name), ["a", "b", "a", "b", "a", "b"]))
        assert sorted(r.status_code for r in racing) == [200, 200, 503, 503, 503, 503]
        assert all(refused(r) for r in racing if r.status_code != 200)
        assert len(voila_kernels(voila)) == cap
        cases(6)
    finally:
        client.close()
        voila.stop()


def test_without_a_token_only_when_asked_and_still_only_the_dashboards(tmp_path, cases):
    folder = small_notebooks(tmp_path / "notebooks")
    voila = start_voila(folder, {"PORTAL_DATA_DIR": str(tmp_path), "PORTAL_VOILA_POOL": "0"}, no_token=True)
    try:
        assert voila.token is None
        client = httpx.Client(base_url=voila.url, timeout=300, follow_redirects=False)
        assert client.get("/voila/tree").status_code == 200
        assert sorted(i["name"] for i in client.get("/voila/api/contents").json()["content"]) == \
            ["a.ipynb", "b.ipynb", "portal.ipynb"]
        page = client.get("/voila/render/a.ipynb")
        assert page.status_code == 200 and "dashboard" in page.text
        assert websocket(voila.url + f"/api/kernels/{kernel_id(page.text)}/channels", kernel_info=True) == "ok"
        assert client.get("/voila/render/sub/hidden.ipynb").status_code == 404
        assert len(voila_kernels(voila)) == 1
        cases(6)
    finally:
        voila.stop()


def test_portal_up_says_when_it_serves_without_a_token(tmp_path, monkeypatch, cases):
    monkeypatch.setenv("PORTAL_VOILA_POOL", "0")
    monkeypatch.setenv("PORTAL_VOILA_AUTH", "off")  # not a choice: refused with a sentence, nothing started
    refused = subprocess.run([sys.executable, "-m", "portal.cli", "up", "--port", str(free_port())], cwd=REPO,
                             capture_output=True, text=True, timeout=120)
    assert refused.returncode == 2 and "PORTAL_VOILA_AUTH must be 'token'" in refused.stderr
    monkeypatch.delenv("PORTAL_VOILA_AUTH")
    up = Up(tmp_path, hostile=False, args=("--no-token",))
    try:
        up.wait_for_line("No token (--no-token): anyone who reaches this port")
        dashboard = next(line for line in up.lines if "Dashboard:" in line)
        assert dashboard.rstrip().endswith("/voila/render/portal.ipynb")  # no token to print
        assert httpx.get(f"http://127.0.0.1:{up.voila_port}/voila/tree", timeout=60).status_code == 200
        assert httpx.get(f"http://127.0.0.1:{up.voila_port}/voila/api/contents", timeout=60).status_code == 200
        up.proc.send_signal(signal.SIGTERM)  # both servers stop in order
        assert up.proc.wait(timeout=120) == 0
    finally:
        up.kill_everything()
    cases(4)
