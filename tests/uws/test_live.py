"""The portal's extension for live clients: job ETags, WAIT with If-None-Match, Range on results.

Plain UWS 1.1 clients are not affected: without If-None-Match, WAIT blocks on the phase only.
"""

from __future__ import annotations

import io
import threading

from pyvo.io.uws import parse_job

from tests.uws.test_phases import A, post


def get(uws, url, user=A, headers=None, **params):
    return uws.client.get(url, params=params, headers={**uws.headers(user), **(headers or {})})


def test_job_document_carries_an_etag_that_changes_with_the_job(uws):
    url = uws.create(A, "echo", text="v1")
    first = get(uws, url)
    etag = first.headers["etag"]
    assert etag.startswith('"') and etag.endswith('"')
    assert get(uws, url).headers["etag"] == etag  # unchanged job, same tag
    unchanged = get(uws, url, headers={"If-None-Match": etag})
    assert unchanged.status_code == 304 and unchanged.content == b""
    post(uws, url + "/parameters", text="v2")
    changed = get(uws, url, headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert {p.id_: str(p.content) for p in parse_job(io.BytesIO(changed.content)).parameters}["text"] == "v2"


def test_wait_with_if_none_match_returns_on_a_new_result(uws):
    """A running job that only publishes results (its phase stays EXECUTING) wakes a client that
    sent its ETag; a plain UWS WAIT would sleep until the phase changes."""
    url = uws.create(A, "count", run=True, n="100000", interval="0.2")
    try:
        uws.wait(url, phases={"EXECUTING"})
        etag = get(uws, url).headers["etag"]
        seen = set()
        for _ in range(3):  # three successive versions, each a wake-up, never a 304
            response = get(uws, url, WAIT="30", headers={"If-None-Match": etag})
            assert response.status_code == 200
            assert parse_job(io.BytesIO(response.content)).phase == "EXECUTING"
            assert response.headers["etag"] != etag
            etag = response.headers["etag"]
            seen.add(etag)
        assert len(seen) == 3
    finally:
        post(uws, url + "/phase", PHASE="ABORT")


def test_wait_with_if_none_match_wakes_on_a_phase_change_and_times_out_with_304(uws):
    url = uws.create(A, "echo", text="idle")
    etag = get(uws, url).headers["etag"]
    timed_out = get(uws, url, WAIT="1", headers={"If-None-Match": etag})
    assert timed_out.status_code == 304 and timed_out.headers["etag"] == etag
    runner = threading.Timer(0.5, lambda: post(uws, url + "/phase", PHASE="RUN"))
    runner.start()
    try:
        woke = get(uws, url, WAIT="60", headers={"If-None-Match": etag})
    finally:
        runner.join()
    assert woke.status_code == 200
    assert parse_job(io.BytesIO(woke.content)).phase in {"QUEUED", "EXECUTING", "COMPLETED"}
    final = uws.wait(url)
    assert final.phase == "COMPLETED"
    done = get(uws, url)
    # a final phase answers at once, changed or not
    assert get(uws, url, WAIT="60", headers={"If-None-Match": done.headers["etag"]}).status_code == 304


def test_new_log_lines_change_the_etag(uws):
    """Log lines are written by the job's process, not through the store: they still wake a waiting
    client (the tag includes the log's size)."""
    url = uws.create(A, "count", run=True, n="100000", interval="0.3")
    try:
        uws.wait(url, phases={"EXECUTING"})
        log = uws.data_dir / "uws" / "jobs" / url.rsplit("/", 1)[-1] / "log.txt"
        etag = get(uws, url).headers["etag"]
        before = log.stat().st_size
        response = get(uws, url, WAIT="30", headers={"If-None-Match": etag})
        assert response.status_code == 200
        assert log.stat().st_size > before or response.headers["etag"].split("-")[0] != etag.split("-")[0]
    finally:
        post(uws, url + "/phase", PHASE="ABORT")


def test_results_answer_range_requests(uws):
    url = uws.create(A, "echo", run=True, text="range me")
    job = uws.wait(url)
    assert job.phase == "COMPLETED"
    href = f"{url}/results/echo"
    whole = get(uws, href)
    assert whole.status_code == 200 and whole.headers["accept-ranges"] == "bytes"
    body = whole.content
    part = get(uws, href, headers={"Range": "bytes=2-5"})
    assert part.status_code == 206 and part.content == body[2:6]
    assert part.headers["content-range"] == f"bytes 2-5/{len(body)}"
    tail = get(uws, href, headers={"Range": f"bytes={len(body) - 3}-"})
    assert tail.status_code == 206 and tail.content == body[-3:]
    suffix = get(uws, href, headers={"Range": "bytes=-4"})
    assert suffix.status_code == 206 and suffix.content == body[-4:]
    beyond = get(uws, href, headers={"Range": f"bytes={len(body)}-"})
    assert beyond.status_code == 416 and beyond.headers["content-range"] == f"bytes */{len(body)}"
    assert get(uws, href, headers={"Range": "pages=1-2"}).content == body  # not bytes: the whole file
    log = get(uws, f"{url}/results/log")
    assert get(uws, f"{url}/results/log", headers={"Range": "bytes=0-"}).content == log.content


def test_definitions_say_what_parameters_are_filled_from(uws):
    body = uws.client.get("/uws", params={"format": "json"}, headers=uws.headers(A)).json()
    echo = next(d for d in body["definitions"] if d["name"] == "echo")
    assert all("ucd" in p and "column" in p for p in echo["parameters"])
    xml = uws.client.get("/uws", headers=uws.headers(A)).text
    assert "<parameter" in xml
