"""Input that once gave a 5xx: deep nesting, a BINARY2 upload, a huge WAIT, DESTRUCTION past year
9999, hostile numbers in every numeric parameter, oversized or unnamed upload parts. Each answers
with a result or a 4xx that says why, and the connection stays usable."""

from __future__ import annotations

import io
import socket
import time

import pytest
from astropy.io.votable.tree import VOTableFile

from portal.archive.adql.parser import MAX_NESTING
from tests.reliability.votables import error_message, table

NESTED = {
    "subqueries 140 deep": "SELECT TOP 1 obs_id FROM ivoa.obscore WHERE obs_id IN ({})",
    "ABS( 500 deep": "SELECT TOP 1 {} FROM ivoa.obscore",
    "AND ( 500 deep": "SELECT TOP 1 * FROM ivoa.obscore WHERE {}",
    "NOT 5000 times": "SELECT TOP 1 * FROM ivoa.obscore WHERE {}",
    "30,000 additions": "SELECT TOP 1 {} FROM ivoa.obscore",
    "unary minus 5000 times": "SELECT TOP 1 {} FROM ivoa.obscore",
    "subqueries 10 deep": "SELECT TOP 1 obs_id FROM ivoa.obscore WHERE obs_id IN ({})",
    "subqueries 11 deep": "SELECT TOP 1 obs_id FROM ivoa.obscore WHERE obs_id IN ({})",
    "subqueries 40 deep": "SELECT TOP 1 obs_id FROM ivoa.obscore WHERE obs_id IN ({})",
    "ABS( 31 deep": "SELECT TOP 1 {} FROM ivoa.obscore",
    "ABS( 32 deep": "SELECT TOP 1 {} FROM ivoa.obscore",
    "ABS( 100 deep": "SELECT TOP 1 {} FROM ivoa.obscore",  # MAX_NESTING: the deepest the ADQL parser takes
    "ABS( 101 deep": "SELECT TOP 1 {} FROM ivoa.obscore",
}
#: What each answers, as docs/reliability.md says: past MAX_NESTING (100) levels of parentheses, or a chain of
#: operators too long for the parser's recursion, the ADQL parser refuses ("nested too deeply"); below that,
#: SQLite's own parser (a stack of 100 states) takes 31 nested function calls in a query of one table (30 where
#: the cost check's EXPLAIN wraps a query of several) and 10 nested subqueries, and deeper queries are refused
#: with a sentence saying so ("nested too deeply for the database").
PAST_THE_LIMIT = {"subqueries 140 deep", "ABS( 500 deep", "AND ( 500 deep", "ABS( 101 deep"}
TOO_LONG = {"NOT 5000 times", "30,000 additions", "unary minus 5000 times"}
FOR_THE_DATABASE = {"subqueries 11 deep", "subqueries 40 deep", "ABS( 32 deep", "ABS( 100 deep"}
REFUSED = PAST_THE_LIMIT | TOO_LONG | FOR_THE_DATABASE


def nested(kind: str) -> str:
    if kind.startswith("subqueries"):
        inner = "SELECT TOP 1 obs_id FROM ivoa.obscore"
        for _ in range(int(kind.split()[1]) - 1):
            inner = NESTED[kind].format(inner)
        return inner
    if kind.startswith("ABS"):
        depth = int(kind.split()[1])
        return NESTED[kind].format("ABS(" * depth + "1" + ")" * depth)
    if kind.startswith("AND"):
        return NESTED[kind].format("1=1 AND (" * 500 + "1=1" + ")" * 500)
    if kind.startswith("NOT"):
        return NESTED[kind].format("NOT " * 5000 + "1=1")
    if kind.startswith("30,000"):
        return NESTED[kind].format("1" + "+1" * 30000)
    return NESTED[kind].format("- " * 5000 + "1")


def assert_answered(response) -> None:
    """200, or a 4xx whose body says why (a VOTable error document or a plain sentence)."""
    assert response.status_code < 500, response.text[-500:]
    if response.status_code >= 400:
        text = error_message(response.content) or response.text
        assert len(text.strip()) > 10 and "Traceback" not in text, text


@pytest.mark.timeout(300)
@pytest.mark.parametrize("kind", list(NESTED))
def test_nested_queries_answer_with_a_sentence(portal, cases, kind):
    with portal.client() as client:
        response = client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": nested(kind)})
        assert_answered(response)
        if kind in REFUSED:
            assert response.status_code == 400 and "nested too deeply" in error_message(response.content)
            said = error_message(response.content)
            assert (f"(more than {MAX_NESTING} levels of parentheses)" in said) == (kind in PAST_THE_LIMIT), said
            assert ("for the database" in said) == (kind in FOR_THE_DATABASE), said
        else:
            assert response.status_code == 200 and len(table(response.content)) == 1, response.text[-500:]
        # the same connection serves the next request
        assert client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore"}
                          ).status_code == 200
    cases()


@pytest.mark.timeout(120)
@pytest.mark.parametrize("fmt", ["votable", "votable/td", "binary"])
def test_the_service_own_output_uploads_back(portal, cases, fmt):
    """BINARY2 (the default output), TABLEDATA and BINARY VOTables are accepted as uploads."""
    with portal.client() as client:
        query = "SELECT TOP 5 obs_id, s_ra, s_dec, POINT('ICRS', s_ra, s_dec) AS p FROM ivoa.obscore ORDER BY obs_id"
        first = client.get("/tap/sync", params={"LANG": "ADQL", "QUERY": query,
                                                "RESPONSEFORMAT": "votable" if fmt == "binary" else fmt})
        content = first.content
        if fmt == "binary":  # astropy's BINARY serialisation of the same table
            out = io.BytesIO()
            VOTableFile.from_table(table(content)).to_xml(out, tabledata_format="binary")
            content = out.getvalue()
        response = client.post("/tap/sync", data={"LANG": "ADQL", "UPLOAD": "t,param:t",
                                                  "QUERY": "SELECT obs_id, s_ra FROM TAP_UPLOAD.t ORDER BY obs_id"},
                               files={"t": ("t.vot", content)})
        assert response.status_code == 200, response.text[-400:]
        assert list(table(response.content)["obs_id"]) == list(table(first.content)["obs_id"])
    cases()


SLOW = ("SELECT COUNT(*) FROM ivoa.obscore AS a, ivoa.obscore AS b, ivoa.obscore AS c, "
        "TAP_SCHEMA.columns AS d WHERE a.s_ra + b.s_dec > c.s_ra + d.column_index")
HUGE = ["9" * 30, "99999999999999999999", "1e400", "-1", "-99999999999999999999", "nan", "inf", "0x10",
        "١٢", "9" * 5000, "", " ", "1.5", "+7"]


@pytest.mark.timeout(300)
def test_hostile_wait_values_on_an_executing_async_job(portal, cases):
    """WAIT (anonymous, TAP async) with huge, odd or negative values: never a 5xx, and the
    keep-alive connection serves the next request."""
    with portal.client(timeout=120) as client:
        job = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": SLOW, "PHASE": "RUN"},
                          follow_redirects=False).headers["location"]
        try:
            deadline = time.monotonic() + 60
            while client.get(job + "/phase").text != "EXECUTING":
                assert time.monotonic() < deadline, "the slow query never started"
                time.sleep(0.1)
            for value in HUGE:
                # PHASE=QUEUED: the job is not QUEUED, so even a long WAIT returns at once
                response = client.get(job, params={"WAIT": value, "PHASE": "QUEUED"})
                assert_answered(response)
                assert client.get(job + "/phase").status_code == 200
                cases()
        finally:
            client.post(job + "/phase", data={"PHASE": "ABORT"})
            client.delete(job)


def logged(log, offset: int, text: str, until, timeout: float = 120) -> bool:
    """Whether the server's ``log``, from ``offset`` on, says ``text`` before ``until()`` is true (or the
    timeout passes); looks every 50 ms."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with open(log, "rb") as handle:
            handle.seek(offset)
            if text.encode() in handle.read():
                return True
        if until():
            return False
        time.sleep(0.05)
    return False


@pytest.mark.timeout(300)
@pytest.mark.parametrize("value", ["9" * 30, "99999999999999999999", "-1"])
def test_a_huge_wait_blocks_until_the_phase_changes(portal, cases, value):
    """A blocking WAIT with a huge value waits (at most the server's maximum) and returns when the
    job is aborted; it once overflowed float() and answered 500 at once."""
    from concurrent.futures import ThreadPoolExecutor

    with portal.client(timeout=120) as client, portal.client(timeout=120) as other:
        job = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": SLOW, "PHASE": "RUN"},
                          follow_redirects=False).headers["location"]
        try:
            deadline = time.monotonic() + 60
            while client.get(job + "/phase").text != "EXECUTING":
                assert time.monotonic() < deadline, "the slow query never started"
                time.sleep(0.1)
            with ThreadPoolExecutor(1) as pool:
                offset = portal.server.log.stat().st_size
                waiting = pool.submit(client.get, job, params={"WAIT": value, "PHASE": "EXECUTING"})
                # abort only once the server says the WAIT blocks (its DEBUG log): had it answered at once,
                # it would say EXECUTING, and the line would never come
                blocked = logged(portal.server.log, offset, f"job {job.rsplit('/', 1)[-1]}: WAIT blocks",
                                 until=waiting.done)
                other.post(job + "/phase", data={"PHASE": "ABORT"})
                response = waiting.result(timeout=120)
            assert blocked, f"the WAIT never blocked: it answered at once ({response.text[:200]})"
            assert response.status_code == 200, response.text
            assert "ABORTED" in response.text
            assert client.get(job + "/phase").text == "ABORTED"  # the same keep-alive connection
        finally:
            client.delete(job)
    cases()


NUMERIC = [("MAXREC", v) for v in HUGE] + [("EXECUTIONDURATION", v) for v in HUGE] + [
    ("DESTRUCTION", v) for v in ("9999-12-31T23:59:59-12:00", "0000-01-01T00:00:00Z", "2030-02-30T00:00:00Z",
                                 "x" * 5000, "2030-01-01T00:00:00+99:00", "-2030-01-01", "2030-01-01T00:00:00Z")]


@pytest.mark.timeout(300)
def test_hostile_numbers_and_times_in_every_parameter(portal, cases):
    """MAXREC (sync and async), EXECUTIONDURATION and DESTRUCTION (async creation and the UWS
    resources), LAST (UWS list): a result or a 400 with a sentence."""
    with portal.client() as client, portal.client("alice") as alice:
        for name, value in NUMERIC:
            params = {"LANG": "ADQL", "QUERY": "SELECT TOP 2 obs_id FROM ivoa.obscore", name: value}
            if name == "MAXREC":
                assert_answered(client.post("/tap/sync", data=params))
            created = client.post("/tap/async", data=params, follow_redirects=False)
            assert_answered(created)
            if created.status_code == 303:
                job = created.headers["location"]
                if name != "MAXREC":
                    assert_answered(client.post(f"{job}/{name.lower()}", data={name: value}, follow_redirects=False))
                client.delete(job)
            cases()
        for value in HUGE:
            assert_answered(alice.get("/uws/echo", params={"LAST": value}))
            cases()


def _raw_post(url: str, head: bytes, chunks, limit_s: float = 60) -> bytes:
    """Send a request head and body chunks over a socket, stop sending as soon as the server
    answers, and return what it answered."""
    host, port = url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=limit_s) as sock:
        sock.sendall(head)
        sock.setblocking(False)
        answer = b""
        for chunk in chunks:
            try:
                answer += sock.recv(65536)
            except BlockingIOError:
                pass
            if answer:
                break
            sock.setblocking(True)
            try:
                sock.sendall(chunk)
            except (BrokenPipeError, ConnectionResetError):
                break
            sock.setblocking(False)
        sock.setblocking(True)
        sock.settimeout(limit_s)
        while b"\r\n\r\n" not in answer:
            data = sock.recv(65536)
            if not data:
                break
            answer += data
    return answer


@pytest.mark.timeout(300)
def test_an_oversized_part_is_refused_while_it_streams(portal, cases):
    """Two 60 MB parts: the server answers 413 once the first passes 20 MB, before the body is
    sent (the client stops sending when it sees the answer; 120 MB are announced)."""
    boundary = "reliabilityboundary"
    part_head = (f'--{boundary}\r\nContent-Disposition: form-data; name="t"; filename="t.vot"\r\n'
                 "Content-Type: application/x-votable+xml\r\n\r\n")
    fields = "".join(f'--{boundary}\r\nContent-Disposition: form-data; name="{k}"\r\n\r\n{v}\r\n'
                     for k, v in {"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t", "UPLOAD": "t,param:t"}.items())
    sent = {"bytes": 0}

    def body():
        yield (fields + part_head).encode()
        for _ in range(2 * 60):  # two parts of 60 MB, 1 MB at a time
            sent["bytes"] += 1 << 20
            yield b"x" * (1 << 20)
    head = (f"POST /tap/sync HTTP/1.1\r\nHost: {portal.url.removeprefix('http://')}\r\n"
            f"Content-Type: multipart/form-data; boundary={boundary}\r\nTransfer-Encoding: chunked\r\n\r\n").encode()

    def chunked():
        for data in body():
            yield f"{len(data):x}\r\n".encode() + data + b"\r\n"
    answer = _raw_post(portal.url, head, chunked())
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert sent["bytes"] < 100 << 20  # it answered long before the 120 MB were sent
    cases()
    # and with Content-Length: refused before a byte of the body
    head = (f"POST /tap/sync HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; boundary={boundary}\r\n"
            f"Content-Length: {120 << 20}\r\n\r\n").encode()
    assert _raw_post(portal.url, head, [b""]).startswith(b"HTTP/1.1 413")
    cases()


@pytest.mark.timeout(120)
def test_parts_no_upload_names_are_refused(portal, cases):
    files = {"t": ("t.vot", b"<VOTABLE/>"), "extra": ("x.vot", b"x" * 1000)}
    with portal.client() as client:
        for path in ("/tap/sync", "/tap/async"):
            response = client.post(path, data={"LANG": "ADQL", "QUERY": "SELECT * FROM TAP_UPLOAD.t",
                                               "UPLOAD": "t,param:t"}, files=files, follow_redirects=False)
            assert response.status_code == 400
            assert "no UPLOAD names (extra)" in (error_message(response.content) or response.text)
            cases()
    jobs = portal.data_dir / "tap" / "jobs"
    assert not any("extra" in f.read_text() for f in jobs.glob("*/inputs/parts/*.name"))  # nothing stored


@pytest.mark.timeout(120)
def test_anonymous_async_jobs_have_a_quota(tmp_path, cases):
    """Anonymous callers share a quota of jobs (and bytes); a token holder is not held by it."""
    from fastapi.testclient import TestClient

    from portal.app import create_app
    from portal.archive.limits import Limits
    from portal.auth import TokenStore, token_path
    from portal.config import Settings

    settings = Settings(data_dir=tmp_path)
    token = TokenStore(token_path(tmp_path)).create("alice")
    app = create_app(settings, job_definitions=())
    app.state.archive_limits = Limits(anonymous_jobs=3, anonymous_bytes=5000)
    query = {"LANG": "ADQL", "QUERY": "SELECT 1 FROM TAP_SCHEMA.schemas"}
    with TestClient(app) as client:
        for _ in range(3):
            assert client.post("/tap/async", data=query, follow_redirects=False).status_code == 303
            cases()
        refused = client.post("/tap/async", data=query, follow_redirects=False)
        assert refused.status_code == 429 and "anonymous callers hold 3 async jobs" in refused.text
        assert client.post("/tap/async", data=query, headers={"Authorization": f"Bearer {token}"},
                           follow_redirects=False).status_code == 303
        cases(2)
        job = client.post("/tap/async", data=query, headers={"Authorization": f"Bearer {token}"},
                          follow_redirects=False).headers["location"]
        client.delete(job, headers={"Authorization": f"Bearer {token}"})
    app = create_app(settings, job_definitions=())
    app.state.archive_limits = Limits(anonymous_jobs=100, anonymous_bytes=5000)
    with TestClient(app) as client:  # bytes: a 6 kB upload does not fit in what is left
        big = client.post("/tap/async", data={**query, "UPLOAD": "t,param:t"}, files={"t": ("t.vot", b"x" * 6000)},
                          follow_redirects=False)
        assert big.status_code == 429 and "5,000 bytes" in big.text
        cases()
