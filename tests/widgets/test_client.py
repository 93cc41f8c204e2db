"""The widgets' one client against a running `portal serve`: UWS through pyvo's parsers, readable errors."""

from __future__ import annotations

import httpx
import pytest

from widgets.client import FINAL, PortalClient, ServiceError, discover_token
from tests.support.servers import free_port


@pytest.fixture(scope="module")
def client(portal_server, portal_token):
    c = PortalClient(portal_server.url, portal_token)
    yield c
    c.close()


def wait_final(client, url, timeout=120):
    info = client.uws.job(url)
    while info.phase not in FINAL:
        info = client.uws.wait(url, phase=info.phase, etag=info.etag, timeout=timeout) or info
    return info


def test_token_from_the_environment():
    assert discover_token({"PORTAL_TOKEN": "a", "JUPYTERHUB_API_TOKEN": "b"}) == "a"
    assert discover_token({"JUPYTERHUB_API_TOKEN": "b"}) == "b"
    assert discover_token({}) is None


def test_definitions_are_parameter_rules(client):
    defs = {d.name: d for d in client.uws.definitions()}
    assert {"spectrum", "lightcurve", "skymap", "count", "echo"} <= set(defs)
    spectrum = defs["spectrum"]
    assert spectrum.parameter("obs_ids").ucd == "meta.id;obs" and spectrum.parameter("obs_ids").column == "obs_id"
    assert spectrum.parameter("ra").unit == "deg" and spectrum.parameter("ra").required
    assert spectrum.parameter("model").choices == ("pl", "ecpl", "lp")
    assert spectrum.parameter("on_radius").default == pytest.approx(0.11)
    assert defs["echo"].parameter("ids").default == (1, 2)


def test_create_follow_and_read_results(client):
    url = client.uws.create("echo", {"text": "hello", "number": 2.5, "ids": [3, 4]}, run=True, run_id="client-test")
    info = wait_final(client, url)
    assert info.phase == "COMPLETED" and info.run_id == "client-test" and info.owner == "alice"
    assert info.parameters["text"] == "hello"
    assert {"echo", "log", "provenance", "provn"} <= set(info.results)
    assert b'"text": "hello"' in client.uws.result(info.results["echo"])
    whole = client.uws.result(info.results["log"])
    assert client.uws.result_from(info.results["log"], len(whole)) == b""
    assert client.uws.result_from(info.results["log"], 3) == whole[3:]
    refs, etag = client.uws.list_jobs("echo", last=5)
    assert refs[0].job_id == info.job_id and refs[0].url == url
    assert client.uws.list_jobs("echo", last=5, etag=etag) is None  # unchanged: 304
    client.uws.delete(url)
    with pytest.raises(ServiceError, match="No job"):
        client.uws.job(url)


def test_parameters_abort_and_errors(client):
    url = client.uws.create("count", {"n": 5})
    client.uws.set_parameters(url, {"n": 100000, "interval": 0.05})
    assert client.uws.job(url).parameters["n"] == "100000"
    client.uws.run(url)
    info = client.uws.job(url)
    while info.phase in ("PENDING", "QUEUED"):
        info = client.uws.wait(url, phase=info.phase, etag=info.etag, timeout=30) or info
    client.uws.abort(url)
    assert wait_final(client, url).phase == "ABORTED"
    failing = client.uws.create("count", {"n": 1, "fail": "usage"}, run=True)
    info = wait_final(client, failing)
    assert info.phase == "ERROR" and "Observation 42" in info.error
    assert "Observation 42" in client.uws.error(failing)
    with pytest.raises(ServiceError, match="above the maximum"):
        client.uws.create("echo", {"text": "x", "number": 11})


def test_readable_errors_for_tokens_and_a_service_down(portal_server):
    with pytest.raises(ServiceError, match="needs a token and none is set"):
        PortalClient(portal_server.url, token="").uws.definitions()
    with pytest.raises(ServiceError, match="refused the token"):
        PortalClient(portal_server.url, token="not-a-token").uws.definitions()
    down = PortalClient(f"http://127.0.0.1:{free_port()}", token="x")
    with pytest.raises(ServiceError, match="cannot be reached.*portal serve"):
        down.uws.definitions()


def test_any_uws_service_without_the_portal_extensions():
    """A plain UWS 1.1 service: no definitions document, no ETag, a minimal job document."""
    job = (b'<?xml version="1.0"?><uws:job xmlns:uws="http://www.ivoa.net/xml/UWS/v1.0" version="1.1">'
           b'<uws:jobId>j1</uws:jobId><uws:phase>EXECUTING</uws:phase><uws:parameters/></uws:job>')

    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/uws" and request.method == "GET":
            return httpx.Response(404, text="not here")
        if request.url.path == "/uws/thing/j1":
            assert request.url.params.get("WAIT") in (None, "5")
            return httpx.Response(200, content=job, headers={"content-type": "text/xml"})
        return httpx.Response(500)

    other = PortalClient("http://uws.example", token="t", transport=httpx.MockTransport(handler))
    assert other.uws.definitions() == []
    info = other.uws.wait("http://uws.example/uws/thing/j1", phase="EXECUTING", timeout=5)
    assert info.phase == "EXECUTING" and info.etag is None and info.results == {} and info.run_id is None
    assert info.creation_time is None and info.error is None


def test_the_token_goes_only_to_the_portal():
    seen = {}

    def handler(request: httpx.Request) -> httpx.Response:
        seen[f"{request.url.host}:{request.url.port}"] = request.headers.get("authorization")
        return httpx.Response(200, json={})

    c = PortalClient("http://portal.example:8000", token="secret", transport=httpx.MockTransport(handler))
    c.get("/uws")
    c.get("http://cds.example/sesame")
    c.get("http://portal.example:9000/elsewhere")
    assert seen == {"portal.example:8000": "Bearer secret", "cds.example:None": None, "portal.example:9000": None}


def test_why_a_connection_failed_is_said_in_words():
    import httpx

    from widgets.client.http import why_unreachable

    assert why_unreachable(httpx.ConnectError("[Errno 111] Connection refused")) == "connection refused"
    assert why_unreachable(httpx.RemoteProtocolError("Server disconnected without sending a response.")) == \
        "the connection was closed before an answer"
    assert why_unreachable(httpx.ConnectError("[Errno -2] Name or service not known")) == \
        "its host name does not resolve"
    assert why_unreachable(httpx.ReadTimeout("timed out")) == "no answer in time"
    assert why_unreachable(httpx.ConnectError("something else")) == "connection failed"
