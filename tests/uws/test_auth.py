"""Bearer tokens: `portal token create`, hashed storage, and JupyterHub's API on loopback."""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from portal.auth import Authenticator, HubAuthenticator, TokenStore, token_path
from portal.auth.tokens import InvalidUserName, hash_token
from tests.support.servers import REPO
from tests.uws.conftest import run_async


def test_tokens_are_stored_hashed(tmp_path):
    store = TokenStore(tmp_path / "t.sqlite")
    token = store.create("carol")
    assert token.startswith("gp_") and len(token) > 40
    assert store.user_for(token) == "carol"
    assert store.user_for(token + "x") is None
    assert store.user_for("") is None
    raw = (tmp_path / "t.sqlite").read_bytes()
    assert token.encode() not in raw
    rows = sqlite3.connect(tmp_path / "t.sqlite").execute("SELECT hash, user FROM tokens").fetchall()
    assert rows == [(hash_token(token), "carol")]
    assert store.revoke_user("carol") == 1
    assert store.user_for(token) is None


@pytest.mark.parametrize("name", ["", "a b", "../x", "x" * 65, "-lead", "name\n"])
def test_bad_user_names(tmp_path, name):
    with pytest.raises(InvalidUserName):
        TokenStore(tmp_path / "t.sqlite").create(name)


def test_cli_token_create(tmp_path):
    env = {**os.environ, "PORTAL_DATA_DIR": str(tmp_path)}
    run = subprocess.run([sys.executable, "-m", "portal.cli", "token", "create", "dave"], env=env, cwd=REPO,
                         capture_output=True, text=True, check=True)
    token = run.stdout.strip()
    assert token.startswith("gp_") and "\n" not in token
    assert "Bearer" in run.stderr
    assert TokenStore(token_path(tmp_path)).user_for(token) == "dave"
    listed = subprocess.run([sys.executable, "-m", "portal.cli", "token", "list"], env=env, cwd=REPO,
                            capture_output=True, text=True, check=True)
    assert listed.stdout.strip() == "dave\t1"
    bad = subprocess.run([sys.executable, "-m", "portal.cli", "token", "create"], env=env, cwd=REPO,
                         capture_output=True, text=True)
    assert bad.returncode == 2 and "needs a user NAME" in bad.stderr


class Hub(BaseHTTPRequestHandler):
    """Answers `GET /hub/api/user` as JupyterHub does: the model of the token's owner with the token's
    scopes, or 403."""

    users = {"hubtoken-erin": ("erin", ["access:services!service=portal", "read:users:name!user=erin"]),
             "hubtoken-gus": ("gus", ["read:users:name!user=gus", "access:servers!user=gus"]),  # not the portal
             "hubtoken-root": ("root", ["access:services", "admin:users"])}  # every service
    calls = 0

    def do_GET(self):  # noqa: N802
        type(self).calls += 1
        scheme, _, token = self.headers.get("Authorization", "").partition(" ")
        name, scopes = self.users.get(token, (None, [])) if scheme == "token" else (None, [])
        if self.path != "/hub/api/user" or name is None:
            self.send_response(403)
            self.end_headers()
            return
        body = json.dumps({"kind": "user", "name": name, "admin": False, "scopes": scopes}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


@pytest.fixture
def hub():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Hub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/hub/api"
    server.shutdown()


def test_hub_tokens_identify_hub_users(tmp_path, hub):
    auth = Authenticator.for_data_dir(tmp_path, {"JUPYTERHUB_API_URL": hub})
    assert isinstance(auth.hub, HubAuthenticator) and auth.hub.scope == "access:services!service=portal"
    local = auth.tokens.create("frank")

    async def check():
        try:
            assert await auth.user_for("hubtoken-erin") == "erin"
            calls = Hub.calls
            assert await auth.user_for("hubtoken-erin") == "erin"
            assert Hub.calls == calls  # cached
            assert await auth.user_for("not-a-hub-token") is None
            assert await auth.user_for(local) == "frank"  # local tokens still work under a hub
            assert await auth.user_for("hubtoken-root") == "root"  # access:services covers this one
        finally:
            await auth.close()

    run_async(check())


def test_a_hub_token_without_the_service_scope_is_forbidden(tmp_path, hub):
    """A valid hub token without `access:services!service=<name>` may not use the portal (403 over HTTP),
    whatever it may do on the hub; the name is the hub's JUPYTERHUB_SERVICE_NAME for the service."""
    from portal.auth import Forbidden

    async def check(env, token):
        auth = Authenticator.for_data_dir(tmp_path, {"JUPYTERHUB_API_URL": hub, **env})
        try:
            assert await auth.user_for(token) is None  # a TAP read with it is anonymous
            with pytest.raises(Forbidden, match=r"may not use the portal.*access:services!service="):
                await auth.authenticate(token)
        finally:
            await auth.close()

    run_async(check({}, "hubtoken-gus"))
    run_async(check({"JUPYTERHUB_SERVICE_NAME": "archive"}, "hubtoken-erin"))  # erin's is for `portal` only


def test_unreachable_hub_means_unauthenticated(tmp_path, caplog):
    auth = HubAuthenticator("http://127.0.0.1:9/hub/api", timeout=1)

    async def check():
        try:
            return await auth.user_for("anything")
        finally:
            await auth.close()

    assert run_async(check()) is None
    assert "could not check a token" in caplog.text


def test_without_hub_only_local_tokens(tmp_path):
    assert Authenticator.for_data_dir(tmp_path, {}).hub is None


def test_the_dashboard_token_of_portal_up_is_kept_and_renewed(tmp_path):
    import stat

    from portal.auth import TokenStore, token_path
    from portal.auth.local import dashboard_token

    first = dashboard_token(tmp_path, "astro")
    assert dashboard_token(tmp_path, "astro") == first  # reused, not one more per start
    store = TokenStore(token_path(tmp_path))
    assert store.user_for(first) == "astro"
    assert stat.S_IMODE((tmp_path / "auth" / "dashboard.token").stat().st_mode) == 0o600
    store.revoke_user("astro")
    second = dashboard_token(tmp_path, "astro")
    assert second != first and store.user_for(second) == "astro"
