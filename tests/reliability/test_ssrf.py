"""TAP UPLOAD by URL cannot be turned against the server's own network (SSRF), against loopback
helper servers: a "public" one on 127.0.0.1 (trusted, in one configuration, to stand in for a
public host) and an "internal" one on 127.0.0.2 (a service the server must never reach)."""

from __future__ import annotations

import asyncio
import ipaddress
import socket
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from portal.archive.errors import TapError
from portal.archive.fetch import GENERIC, fetch_uploads
from portal.archive.limits import Limits
from tests.reliability.conftest import start
from tests.reliability.helper_server import Helper
from tests.reliability.votables import error_message, table

QUERY = "SELECT * FROM TAP_UPLOAD.t"


@pytest.fixture(scope="module")
def public():
    helper = Helper("127.0.0.1")
    yield helper
    helper.close()


@pytest.fixture(scope="module")
def internal():
    helper = Helper("127.0.0.2")
    yield helper
    helper.close()


@pytest.fixture(scope="module")
def allowing(tmp_path_factory):
    """A server that lets anonymous callers upload from 127.0.0.1, a trusted network here."""
    started = start(tmp_path_factory.mktemp("ssrf"), {
        "PORTAL_TAP_UPLOAD_HOSTS": "127.0.0.1", "PORTAL_TAP_UPLOAD_TRUSTED_NETWORKS": "127.0.0.1/32",
        "PORTAL_TAP_UPLOAD_DEADLINE": "60"})
    try:
        yield started
    finally:
        started.server.stop()


def upload(client, *urls, query=QUERY):
    names = [f"t{i}" if i else "t" for i in range(len(urls))]
    spec = ";".join(f"{n},{u}" for n, u in zip(names, urls))
    return client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "UPLOAD": spec})


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]  # nothing listens there once the socket is closed


def loopback_and_private(public, internal, portal) -> list[str]:
    port = public.url.rsplit(":", 1)[1]
    return [
        public.url + "/vot", internal.url + "/vot", f"http://localhost:{port}/vot", f"http://[::1]:{port}/vot",
        f"http://2130706433:{port}/vot", f"http://0x7f000001:{port}/vot", f"http://127.1:{port}/vot",
        f"http://0.0.0.0:{port}/vot", f"http://[::ffff:127.0.0.1]:{port}/vot", f"http://[::ffff:7f00:2]:{port}/vot",
        f"http://[64:ff9b::7f00:1]:{port}/vot", "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/x",
        "http://192.168.1.1/", "http://172.16.0.1/", "http://100.64.0.1/", "http://224.0.0.1/", "http://[fe80::1]/",
        "http://[ff02::1]/", "http://240.0.0.1/", "https://127.0.0.1:{}/vot".format(port),
        f"{portal.url}/tap/sync?LANG=ADQL&QUERY=SELECT%201&UPLOAD=x,{public.url}/vot",
        f"{public.url}/redirect?to={internal.url}/vot",
    ]


@pytest.mark.timeout(300)
def test_anonymous_url_uploads_are_off_by_default(portal, public, internal, cases):
    with portal.client() as client:
        for url in loopback_and_private(public, internal, portal) + ["https://example.org/t.vot"]:
            response = upload(client, url)
            assert response.status_code == 400
            assert "not accepted from anonymous callers" in error_message(response.content)
            cases()
    assert public.total_hits() == 0 and internal.total_hits() == 0


@pytest.mark.timeout(300)
def test_no_caller_reaches_loopback_or_private_addresses(portal, public, internal, cases):
    """With a token (URL uploads allowed from public hosts), every loopback, private, link-local,
    multicast, reserved and mapped form is refused with the one generic message, without a
    connection to either helper."""
    messages = set()
    with portal.client("alice") as client:
        for url in loopback_and_private(public, internal, portal):
            response = upload(client, url)
            assert response.status_code == 400, (url, response.text)
            messages.add(error_message(response.content))
            cases()
    assert len(messages) == 1 and GENERIC in messages.pop()
    assert public.total_hits() == 0 and internal.total_hits() == 0


@pytest.mark.timeout(300)
def test_allowed_uploads_work_and_every_redirect_hop_is_checked(allowing, public, internal, cases):
    port = public.url.rsplit(":", 1)[1]
    with allowing.client() as client:
        response = upload(client, public.url + "/vot")
        assert response.status_code == 200, response.text
        assert list(table(response.content)["id"]) == [1, 2]
        cases()
        followed = upload(client, f"{public.url}/redirect?to={public.url}/chain%3Fn%3D3")
        assert followed.status_code == 200, followed.text
        cases()
        refused = {}
        for name, url in {
            "redirect to the internal host": f"{public.url}/redirect?to={internal.url}/vot",
            "redirect to ::1": f"{public.url}/redirect?to=http://[::1]:{port}/vot",
            "redirect to link-local": f"{public.url}/redirect?to=http://169.254.169.254/",
            "redirect to file:": f"{public.url}/redirect?to=file:///etc/passwd",
            "six redirects": f"{public.url}/chain?n=6",
            "404": public.url + "/notfound",
            "not a VOTable": public.url + "/text",
            "21 MB": public.url + "/big?mb=21",
            "a closed port": f"http://127.0.0.1:{closed_port()}/vot",
        }.items():
            response = upload(client, url)
            assert response.status_code == 400, (name, response.text)
            refused[name] = error_message(response.content)
            cases()
        assert internal.total_hits() == 0
        messages = set(refused.values())
        assert len(messages) == 1 and GENERIC in messages.pop()  # nothing tells one failure from another
        host = upload(client, f"http://localhost:{port}/vot")  # not in the anonymous allow-list
        assert "from localhost are not accepted from anonymous callers" in error_message(host.content)
        cases()


@pytest.mark.timeout(300)
def test_caps_on_url_uploads(allowing, public, cases):
    with allowing.client() as client:
        five = upload(client, *[public.url + "/vot"] * 5)
        assert "at most 4 are accepted" in error_message(five.content)
        cases()
        big = upload(client, *[public.url + "/big?mb=15"] * 3)  # 45 MB together, 40 MB allowed
        assert "larger than 40,000,000 bytes in total" in error_message(big.content)
        cases()


@pytest.mark.timeout(300)
def test_slow_uploads_never_hold_the_query_threads(allowing, public, cases):
    """30 uploads held open by the remote end (far more than the server has query threads, fewer
    than its 32 fetches at once): a sync query is answered while every one of them is still held."""
    held = 30

    def held_upload():
        with allowing.client(timeout=120) as client:
            return upload(client, public.url + "/hold")
    with ThreadPoolExecutor(held) as pool:
        pending = [pool.submit(held_upload) for _ in range(held)]
        try:
            while public.holding < held:
                assert not any(f.done() for f in pending), [f.result().text for f in pending if f.done()][:1]
                time.sleep(0.05)
            with allowing.client() as client:
                response = client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"})
            assert response.status_code == 200
            assert public.holding == held  # the query did not wait for any of them
            cases(held + 1)
        finally:
            public.release()
        for future in pending:
            assert future.result().status_code == 400  # released mid-document: not a VOTable


@pytest.mark.timeout(120)
def test_the_deadline_covers_the_whole_fetch(public, cases):
    """A server sending one byte every 0.2 s is cut at the fetch's total deadline (not per read)."""
    limits = Limits(trusted_networks=(ipaddress.ip_network("127.0.0.1/32"),), upload_deadline=2)
    with pytest.raises(TapError) as exc:
        asyncio.run(fetch_uploads([("t", public.url + "/drip")], limits, anonymous=False))
    assert GENERIC in exc.value.message
    cases()
