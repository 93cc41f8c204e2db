"""The origin of the services' absolute URLs when it is configured: ``PORTAL_BASE_URL`` (behind a reverse
proxy, with a path prefix or without) and ``PORTAL_TRUSTED_HOSTS`` (issue 23, point 7).

The whole application runs in-process (Starlette's client, the real middleware and routes); the default
(neither set: the bound address) is tested against a real server in test_http_edges.py.
"""

from __future__ import annotations

import io
import os
import re
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse, RedirectResponse
from starlette.routing import Route

from portal.archive import store
from portal.archive.ingest import ingest_synthetic
from portal.auth import TokenStore, token_path
from portal.config import Settings
from portal.serving.origin import PublicOrigin
from tests.uws.jobs import DEFINITIONS

HOSTILE = ("evil.example", "evil.example:443", "portal.example.org.evil.example", "evil.example/.example.org",
           "[::1]:9", "a b", "")


def _app(**options) -> Starlette:
    """A small application whose answers are built from the request as the services' are."""
    async def see(request):
        return RedirectResponse(request.url_for("job", job_id="abc"), status_code=303)

    async def job(request):
        return PlainTextResponse(str(request.base_url) + " " + str(request.url))

    app = Starlette(routes=[Route("/uws/count", see, methods=["POST"]), Route("/uws/count/{job_id}", job, name="job")])
    app.add_middleware(PublicOrigin, **options)
    return app


@pytest.mark.parametrize("hostile", HOSTILE)
def test_a_base_url_is_the_origin_of_every_url(hostile, cases):
    client = TestClient(_app(base_url="https://portal.example.org/gamma"), base_url="http://127.0.0.1:8000")
    headers = {"Host": hostile} if hostile else {}
    for path in ("/uws/count", "/gamma/uws/count"):  # the proxy strips the prefix, or passes it on
        response = client.post(path, headers=headers, follow_redirects=False)
        assert response.headers["location"] == "https://portal.example.org/gamma/uws/count/abc", (path, hostile)
        page = client.get(path + "/abc", headers=headers)
        assert page.text == "https://portal.example.org/gamma/ https://portal.example.org/gamma/uws/count/abc"
        cases(2)


def test_trusted_hosts_keep_their_name_and_others_are_refused(cases):
    client = TestClient(_app(trusted_hosts=("portal.example.org", "*.example.net")), base_url="http://127.0.0.1:8000")
    for host, expected in (("portal.example.org", "http://portal.example.org/uws/count/abc"),
                           ("PORTAL.example.org:8443", "http://PORTAL.example.org:8443/uws/count/abc"),
                           ("eu.example.net", "http://eu.example.net/uws/count/abc"),
                           ("127.0.0.1:8000", "http://127.0.0.1:8000/uws/count/abc")):  # the bound address
        response = client.post("/uws/count", headers={"Host": host}, follow_redirects=False)
        assert response.headers["location"] == expected, host
        cases()
    for host in HOSTILE[:-1] + ("example.net", "portal.example.org.", "evil.com/.example.net", "x@eu.example.net"):
        response = client.post("/uws/count", headers={"Host": host}, follow_redirects=False)
        assert response.status_code == 400 and "Host header" in response.text, host
        assert "location" not in response.headers and "evil" not in response.text
        cases()


def test_without_configuration_the_bound_address_stands_for_the_host(cases):
    client = TestClient(_app(), base_url="http://127.0.0.1:8000")
    for hostile in HOSTILE:
        response = client.post("/uws/count", headers={"Host": hostile} if hostile else {}, follow_redirects=False)
        assert response.headers["location"] == "http://127.0.0.1:8000/uws/count/abc", hostile
        cases()


@pytest.mark.parametrize("value", ["portal.example.org", "ftp://x.org", "https://x.org/?a=1", "https://"])
def test_a_malformed_base_url_stops_the_start_with_a_sentence(value):
    with pytest.raises(ValueError, match="PORTAL_BASE_URL"):
        PublicOrigin(None, base_url=value)


def test_the_services_behind_a_proxy_with_a_prefix(tmp_path, cases):
    """The real application with PORTAL_BASE_URL: UWS and TAP async redirects, VOSI, DataLink, ObsCore rows."""
    from astropy.io.votable import parse_single_table

    from portal.app import create_app

    ingest_synthetic(store.db_path(tmp_path), 20, seed=3)
    token = TokenStore(token_path(tmp_path)).create("alice")
    base = "https://portal.example.org/gamma"
    env = {"PORTAL_BASE_URL": base, "PORTAL_DEFAULT_DATASET": "none", "PORTAL_DASK_WORKERS": "1"}
    with mock.patch.dict(os.environ, env):
        app = create_app(Settings(data_dir=tmp_path), job_definitions=DEFINITIONS)
    headers = {"Host": "evil.example", "Authorization": f"Bearer {token}"}
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:
        for prefix in ("", "/gamma"):
            created = client.post(prefix + "/uws/count", data={"n": "1"}, headers=headers, follow_redirects=False)
            assert created.status_code == 303 and created.headers["location"].startswith(base + "/uws/count/")
            tap = client.post(prefix + "/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT 1 AS x"},
                              headers=headers, follow_redirects=False)
            assert tap.headers["location"].startswith(base + "/tap/async/")
            capabilities = client.get(prefix + "/tap/capabilities", headers=headers).text
            assert f"{base}/tap" in capabilities and "evil" not in capabilities
            rows = client.get(prefix + "/tap/sync", headers=headers, params={
                "LANG": "ADQL", "FORMAT": "votable/td",
                "QUERY": "SELECT TOP 2 obs_publisher_did, access_url FROM ivoa.obscore"})
            table = parse_single_table(io.BytesIO(rows.content)).array
            assert all(str(url).startswith(base + "/datalink?ID=") for url in table["access_url"])
            links = client.get(prefix + "/datalink", params={"ID": str(table["obs_publisher_did"][0])},
                               headers=headers).text
            urls = [u for u in re.findall(r"https?://[^\s\"'<>]+", links) if "example" in u or "127.0.0.1" in u]
            assert all(u.startswith(base + "/") for u in urls) and "evil" not in links, urls
            cases(5)
