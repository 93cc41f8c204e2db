"""The widgets find the portal from the hub: GET {JUPYTERHUB_API_URL}/services/portal with the user's token."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from widgets import config
from widgets.jupyter import hub

TOKEN = "user-token"


class FakeHub(BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 - http.server's name
        if self.headers.get("Authorization") != f"token {TOKEN}":
            self.send_response(403)
            self.end_headers()
            return
        known = {"/hub/api/services/portal": {"name": "portal", "url": "http://portal-service.hub.invalid:8000/", "prefix": "/services/portal/"},
                 "/hub/api/services/external": {"name": "external", "prefix": "/services/external/"}}
        if getattr(FakeHub, "later", None):  # a service the hub starts knowing during a test
            known["/hub/api/services/later"] = FakeHub.later
        model = known.get(self.path)
        self.send_response(200 if model else 404)
        self.send_header("Content-Type", "application/json")
        self.end_headers()
        self.wfile.write(json.dumps(model or {"status": 404}).encode())

    def log_message(self, *args):
        pass


@pytest.fixture
def api():
    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeHub)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    hub._found.clear()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/hub/api"
    finally:
        server.shutdown()
        server.server_close()
        hub._found.clear()


def test_the_service_url_comes_from_the_hub(api):
    env = {"JUPYTERHUB_API_URL": api, "JUPYTERHUB_API_TOKEN": TOKEN}
    assert hub.hub_service_url(env) == "http://portal-service.hub.invalid:8000"
    assert hub.hub_service_url({**env, "PORTAL_HUB_SERVICE": "external"}) is None  # no url: not hub-managed
    assert hub.hub_service_url({**env, "PORTAL_HUB_SERVICE": "missing"}) is None


def test_a_token_without_the_scope_or_no_hub_falls_back(api):
    assert hub.hub_service_url({"JUPYTERHUB_API_URL": api, "JUPYTERHUB_API_TOKEN": "other"}) is None
    assert hub.hub_service_url({}) is None
    assert hub.hub_service_url({"JUPYTERHUB_API_URL": "http://127.0.0.1:9/hub/api", "JUPYTERHUB_API_TOKEN": "x"}) is None


def test_a_failed_lookup_is_not_kept(api):
    """A hub that was down (or refused) once is asked again by the next widget; an answer is kept."""
    env = {"JUPYTERHUB_API_URL": api, "JUPYTERHUB_API_TOKEN": TOKEN, "PORTAL_HUB_SERVICE": "later"}
    assert hub.hub_service_url(env) is None  # the hub does not know the service yet (404)
    FakeHub.later = {"name": "later", "url": "http://later.hub.invalid:8000"}
    try:
        assert hub.hub_service_url(env) == "http://later.hub.invalid:8000"
    finally:
        del FakeHub.later
    assert hub.hub_service_url(env) == "http://later.hub.invalid:8000"  # kept, the hub is not asked again


def test_portal_url_prefers_PORTAL_URL_then_the_hub(api, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_URL", api)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", TOKEN)
    monkeypatch.delenv("PORTAL_URL", raising=False)
    assert config.portal_url() == "http://portal-service.hub.invalid:8000"
    monkeypatch.setenv("PORTAL_URL", "http://127.0.0.1:8123/")
    assert config.portal_url() == "http://127.0.0.1:8123"
    monkeypatch.delenv("PORTAL_URL")
    monkeypatch.delenv("JUPYTERHUB_API_URL")
    assert config.portal_url() == config.DEFAULT_URL
