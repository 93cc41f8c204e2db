"""`portal serve` at the edges of HTTP: slow clients, too many connections, hostile Host headers,
the access log, and a stop while clients long-poll (issue 23, points 6, 7 and 9; gzip: test_gzip.py).

- a request head or body dripped a byte at a time is cut off (408) once its time is up; a silent
  connection is closed; connections beyond the limit are answered 503, and the server serves normal
  clients again as soon as the flood is gone;
- no absolute URL the services write (redirects, capabilities, DataLink, ObsCore access_url, job
  documents) names the host a request's Host header gave;
- the access log names parameters, never their values;
- SIGTERM while clients block in UWS and TAP async WAITs: they get the job at once and the server exits.
"""

from __future__ import annotations

import io
import os
import re
import signal
import socket
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest
from astropy.io.votable import parse_single_table

from portal.auth import TokenStore, token_path
from portal.serving.accesslog import redact
from tests.reliability.conftest import BASE_ENV, build_archive
from tests.reliability.test_inputs import logged as log_says
from tests.support.servers import start_portal

HEAD_TIMEOUT = 2.0
BODY_TIMEOUT = 2.0
MAX_CONNECTIONS = 8
EDGE_ENV = {**BASE_ENV, "PORTAL_HTTP_HEADER_TIMEOUT": str(HEAD_TIMEOUT), "PORTAL_HTTP_BODY_TIMEOUT": str(BODY_TIMEOUT),
            "PORTAL_HTTP_MAX_CONNECTIONS": str(MAX_CONNECTIONS)}
MARGIN = 15.0  # seconds beyond a timeout before a test gives up waiting (a loaded machine); never a goal
HOSTILE = ("evil.example", "evil.example:8080", "127.0.0.1:1@evil.example", "evil.example/.localhost",
           "localhost.evil.example", "[::1]:9", "localhost")
SLOW_QUERY = ("SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, "
              "TAP_SCHEMA.columns AS d WHERE a.s_ra + b.s_dec > c.s_ra + d.column_index")


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    """A server with short timeouts and a small connection limit, logging every request."""
    data_dir = tmp_path_factory.mktemp("edges")
    build_archive(data_dir)
    server = start_portal(data_dir, EDGE_ENV, log_level="info")
    server.token = TokenStore(token_path(data_dir)).create("alice")
    try:
        yield server
    finally:
        server.stop()


def _address(url: str) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname, parts.port


def _read_until_closed(sock: socket.socket, deadline: float, drip: bytes = b"", every: float = 1.0) -> bytes:
    """What the server sends until it closes the connection, dripping ``drip`` a byte per ``every`` s."""
    got = b""
    sent = 0
    while time.monotonic() < deadline:
        if sent < len(drip):
            try:
                sock.sendall(drip[sent:sent + 1])
                sent += 1
            except OSError:  # the server closed while we wrote: read what it said
                drip = b""
        sock.settimeout(every)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            return got
        if not data:
            return got
        got += data
    raise AssertionError(f"the connection was still open after {MARGIN} s beyond its timeout ({sent} bytes sent)")


def _read_response(sock: socket.socket) -> bytes:
    """One whole response (with a Content-Length) from a kept-alive connection."""
    sock.settimeout(30)
    got = b""
    while b"\r\n\r\n" not in got:
        got += sock.recv(65536)
    head, _, body = got.partition(b"\r\n\r\n")
    length = int(re.search(rb"(?i)content-length: *(\d+)", head).group(1))
    while len(body) < length:
        body += sock.recv(65536)
    return head + b"\r\n\r\n" + body


def test_a_dripped_request_is_cut_off_when_its_time_is_up(edge, cases):
    host, port = _address(edge.url)
    head = (f"GET /tap/availability HTTP/1.1\r\nHost: {host}\r\nUser-Agent: a-slow-client\r\n"
            f"X-Padding: {'a' * 60}\r\n\r\n").encode()
    # a head a byte per second (it would take over 100 s), several at once
    socks = [socket.create_connection((host, port)) for _ in range(3)]
    results: list[bytes] = [b""] * len(socks)

    def drip(i: int) -> None:
        results[i] = _read_until_closed(socks[i], time.monotonic() + HEAD_TIMEOUT + MARGIN, head)

    threads = [threading.Thread(target=drip, args=(i,)) for i in range(len(socks))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for sock, got in zip(socks, results):
        sock.close()
        assert got.startswith(b"HTTP/1.1 408 "), got
        assert b"did not arrive within 2 s" in got
        cases()
    # a connection that says nothing is closed, without an answer
    with socket.create_connection((host, port)) as sock:
        assert _read_until_closed(sock, time.monotonic() + HEAD_TIMEOUT + MARGIN) == b""
        cases()
    # a kept-alive connection's next request, dripped, has the same time as the first
    with socket.create_connection((host, port)) as sock:
        sock.sendall(head)
        assert _read_response(sock).startswith(b"HTTP/1.1 200 ")
        got = _read_until_closed(sock, time.monotonic() + HEAD_TIMEOUT + MARGIN, head)
        assert got.startswith(b"HTTP/1.1 408 "), got
        cases()
    # a request body a few bytes per second: TAP sync and a UWS form post
    for path in ("/tap/sync", "/uws/count"):
        with socket.create_connection((host, port)) as sock:
            sock.sendall((f"POST {path} HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {edge.token}\r\n"
                          "Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 5000\r\n\r\n").encode())
            got = _read_until_closed(sock, time.monotonic() + BODY_TIMEOUT + MARGIN, b"LANG=ADQL&QUERY=" * 10, 0.2)
            assert got.startswith(b"HTTP/1.1 408 ") and b"arrived too slowly" in got, (path, got)
            cases()
    # and the server answers as before
    assert httpx.get(edge.url + "/tap/availability", timeout=30).status_code == 200


def test_connections_beyond_the_limit_are_refused_and_the_server_recovers(edge, cases):
    host, port = _address(edge.url)
    flood = [socket.create_connection((host, port)) for _ in range(MAX_CONNECTIONS + 4)]
    try:
        for _ in range(3):  # each one a fresh connection beyond the limit
            refused = httpx.get(edge.url + "/tap/availability", timeout=30)
            assert refused.status_code == 503, refused.text
            assert refused.headers["retry-after"] and "as many connections as it allows (8)" in refused.text
            assert refused.headers["connection"] == "close"
            cases()
        # the flood is closed by the server (the head timeout; sooner for those beyond the limit)
        deadline = time.monotonic() + HEAD_TIMEOUT + MARGIN
        for sock in flood:
            assert _read_until_closed(sock, deadline) == b""
            cases()
    finally:
        for sock in flood:
            sock.close()
    with httpx.Client(base_url=edge.url, timeout=30) as client:
        for _ in range(20):
            response = client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"})
            assert response.status_code == 200, response.text
        cases()


def test_the_access_log_names_parameters_but_not_their_values(edge, cases):
    marker = "secret-target-4711"
    requests = [
        ("GET", "/tap/sync", {"LANG": "ADQL", "QUERY": f"SELECT TOP 1 '{marker}' AS x FROM ivoa.obscore"},
         "/tap/sync?LANG=*&QUERY=*"),
        ("GET", "/datalink", {"ID": f"ivo://{marker}"}, "/datalink?ID=*"),
        ("GET", "/catalogs/cone", {"ra": "83.6", "dec": "22.0", "radius": "0.5", "note": marker},
         "/catalogs/cone?ra=*&dec=*&radius=*&note=*"),
        ("POST", "/tap/sync", {"LANG": "ADQL", "QUERY": f"SELECT '{marker}' AS y"}, "/tap/sync?LANG=*&QUERY=*"),
    ]
    with httpx.Client(base_url=edge.url, timeout=30) as client:
        for method, path, params, _ in requests:
            client.request(method, path, params=params)
    deadline = time.monotonic() + 30
    log = ""
    while time.monotonic() < deadline:
        log = edge.log.read_text(errors="replace")
        if all(logged in log for *_, logged in requests):
            break
        time.sleep(0.2)
    for *_, logged in requests:
        assert logged in log, logged
        cases()
    assert marker not in log and "83.6" not in log


@pytest.mark.parametrize(("target", "logged"), [
    ("/tap/sync", "/tap/sync"),
    ("/tap/sync?QUERY=SELECT%201", "/tap/sync?QUERY=*"),
    ("/uws/count/abc?WAIT=600&PHASE=EXECUTING", "/uws/count/abc?WAIT=*&PHASE=*"),
    ("/x?flag&b=", "/x?flag&b=*"),
    ("/x?" + "&".join(f"p{i}=v" for i in range(40)), "/x?" + "&".join(f"p{i}=*" for i in range(16)) + "&..."),
    ("/x?" + "n" * 100 + "=v", "/x?" + "n" * 40 + "...=*"),
])
def test_redaction_of_a_request_target(target, logged, cases):
    assert redact(target) == logged
    cases()


def _urls(text: str) -> list[str]:
    """The http(s) URLs in a document, but the XML namespaces and schema locations."""
    return [u for u in re.findall(r"https?://[^\s\"'<>]+", text) if not re.search(r"ivoa\.net|w3\.org|astropy\.org", u)]


def test_a_hostile_host_header_never_reaches_a_url(portal, cases):
    token = portal.tokens["alice"]
    with httpx.Client(base_url=portal.url, timeout=60, follow_redirects=False) as client:
        for hostile in HOSTILE:
            headers = {"Host": hostile, "Authorization": f"Bearer {token}"}

            def check(response, what: str, absolute: bool = True) -> None:
                urls = [response.headers["location"]] if response.status_code in (303, 307) else []
                urls += _urls(response.text)
                assert urls or not absolute, (hostile, what, response.status_code, response.text[:300])
                for url in urls:
                    assert url.startswith(portal.url + "/"), (hostile, what, url)
                assert "evil" not in response.text, (hostile, what)
                cases()

            created = client.post("/uws/count", data={"n": "1", "interval": "0"}, headers=headers)
            assert created.status_code == 303
            check(created, "UWS create")
            job = created.headers["location"]
            check(client.post(job + "/parameters", data={"n": "2"}, headers=headers), "UWS parameters")
            check(client.post(job + "/executionduration", data={"EXECUTIONDURATION": "60"}, headers=headers),
                  "UWS execution duration")
            check(client.post(job + "/destruction", data={"DESTRUCTION": "2030-01-01T00:00:00Z"}, headers=headers),
                  "UWS destruction")
            check(client.post(job + "/phase", data={"PHASE": "RUN"}, headers=headers), "UWS phase")
            deadline = time.monotonic() + 120
            while client.get(job + "/phase", headers=headers).text != "COMPLETED":  # its results have URLs
                assert time.monotonic() < deadline
                client.get(job, params={"WAIT": "5"}, headers=headers)
            check(client.get(job, headers=headers), "UWS job document")
            check(client.get("/uws/count", headers=headers), "UWS job list", absolute=False)  # relative links
            check(client.get("/uws", headers=headers), "UWS definitions")
            check(client.get("/uws/capabilities", headers=headers), "UWS capabilities")
            check(client.post(job, data={"ACTION": "DELETE"}, headers=headers), "UWS delete")
            tap = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"},
                              headers={"Host": hostile})
            check(tap, "TAP async create")
            check(client.post(tap.headers["location"] + "/phase", data={"PHASE": "RUN"}, headers={"Host": hostile}),
                  "TAP async phase")
            deadline = time.monotonic() + 120
            while client.get(tap.headers["location"] + "/phase").text != "COMPLETED":  # its result has a URL
                assert time.monotonic() < deadline
                client.get(tap.headers["location"], params={"WAIT": "5"})
            check(client.get(tap.headers["location"], headers={"Host": hostile}), "TAP async job document")
            check(client.get("/tap/capabilities", headers=headers), "TAP capabilities")
            check(client.get("/tap/examples", headers=headers), "TAP examples")
            check(client.get("/tap/capabilities/", headers=headers), "307 to the path without its slash")
            rows = client.get("/tap/sync", headers=headers, params={
                "LANG": "ADQL", "FORMAT": "votable/td", "QUERY": "SELECT TOP 3 obs_publisher_did, access_url "
                "FROM ivoa.obscore"})
            check(rows, "ObsCore access_url")
            did = parse_single_table(io.BytesIO(rows.content)).array["obs_publisher_did"][0]
            check(client.get("/datalink", params={"ID": str(did)}, headers=headers), "DataLink")
            check(client.get("/datalink/capabilities", headers=headers), "DataLink capabilities")


def _raw_get(url: str, headers: dict[str, str]) -> socket.socket:
    """A GET sent on a socket of its own; the caller reads the answer."""
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port))
    lines = [f"GET {parts.path}?{parts.query} HTTP/1.1", f"Host: {parts.netloc}", "Connection: close",
             *(f"{k}: {v}" for k, v in headers.items())]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode())
    return sock


@pytest.mark.timeout(900)
def test_a_stop_ends_blocking_waits_at_once(tmp_path, cases):
    """UWS and TAP async WAIT=600 on executing jobs; SIGTERM: the waits answer and the server exits, although
    the server's own bound on requests in progress at a stop is off (PORTAL_HTTP_SHUTDOWN_TIMEOUT=0) and a
    WAIT may block 60 s."""
    build_archive(tmp_path)
    token = TokenStore(token_path(tmp_path)).create("alice")
    server = start_portal(tmp_path, {**BASE_ENV, "PORTAL_HTTP_SHUTDOWN_TIMEOUT": "0"})
    waits: list[socket.socket] = []
    try:
        auth = {"Authorization": f"Bearer {token}"}
        with httpx.Client(base_url=server.url, headers=auth, timeout=120, follow_redirects=False) as client:
            jobs = [client.post("/uws/count", data={"n": "100000", "interval": "1", "PHASE": "RUN"}).headers["location"],
                    client.post("/tap/async", data={"LANG": "ADQL", "QUERY": SLOW_QUERY, "PHASE": "RUN"}
                                ).headers["location"]]
            for job in jobs:
                deadline = time.monotonic() + 600
                while (phase := client.get(job + "/phase").text) != "EXECUTING":
                    assert phase in ("PENDING", "QUEUED") and time.monotonic() < deadline, phase
                    client.get(job, params={"WAIT": "5", "PHASE": phase})
            offset = server.log.stat().st_size
            waits = [_raw_get(f"{job}?WAIT=600", auth) for job in jobs]
            for job in jobs:  # the stop comes once both WAITs block (the services' DEBUG log says so)
                assert log_says(server.log, offset, f"job {job.rsplit('/', 1)[-1]}: WAIT blocks", until=lambda: False), \
                    f"the WAIT on {job} never blocked"
        stopped = time.monotonic()
        os.kill(server.proc.pid, signal.SIGTERM)
        answers = [_read_until_closed(sock, time.monotonic() + 45) for sock in waits]
        server.proc.wait(timeout=45)  # well before the 60 s a WAIT could block
        elapsed = time.monotonic() - stopped
        for job, answer in zip(jobs, answers):
            assert answer.startswith(b"HTTP/1.1 200 ") and b"<uws:phase>EXECUTING</uws:phase>" in answer, (job, answer)
            cases()
        assert server.proc.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal once it has stopped
        print(f"SIGTERM to exit: {elapsed:.1f} s")
    finally:
        for sock in waits:
            sock.close()
        server.stop()
