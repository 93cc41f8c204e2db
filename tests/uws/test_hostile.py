"""Hostile job ids, result ids and parameter values: refused or harmless, never a 500, never a file
outside the job's folder."""

from __future__ import annotations

import io
import json

import pytest
from pyvo.io.uws import parse_job, parse_job_list

A = "alice"

# (plain "../" segments are resolved by the HTTP client before sending; their encoded forms are not)
HOSTILE_IDS = [
    "..%2F..%2Fjobs.sqlite", "%2e%2e%2f%2e%2e%2fuws%2fjobs.sqlite", "..%5C..%5Cauth",
    "' OR '1'='1", "x'; DROP TABLE jobs; --", "1 UNION SELECT * FROM jobs",
    "x" * 5000, "ジョブ", "job%00id", "%00", "%0d%0aSet-Cookie:x", "<script>alert(1)</script>",
    "%252e%252e%252f", "COM1", "-", "_",
]


@pytest.fixture(scope="module")
def done(uws):
    url = uws.create(A, "echo", run=True, text="t")
    uws.wait(url)
    return url


@pytest.mark.parametrize("job_id", HOSTILE_IDS)
@pytest.mark.parametrize("suffix", ["", "/phase", "/parameters", "/results", "/results/log", "/error", "/owner"])
def test_hostile_job_ids(uws, job_id, suffix):
    response = uws.client.get(f"/uws/echo/{job_id}{suffix}", headers=uws.headers(A), follow_redirects=False)
    if response.status_code == 307:  # trailing-slash redirect of a decoded "/": stays in the list
        assert response.headers["location"].startswith("http://testserver/uws/echo/")
        return
    assert response.status_code in (404, 405), response.text  # 405: the path became another route
    assert b"SQLite" not in response.content and b"Traceback" not in response.content
    assert uws.client.delete(f"/uws/echo/{job_id}", headers=uws.headers(A)).status_code in (404, 405)
    assert uws.client.post(f"/uws/echo/{job_id}/phase", data={"PHASE": "RUN"},
                           headers=uws.headers(A)).status_code in (404, 405)


@pytest.mark.parametrize("result_id", HOSTILE_IDS + [
    "../log.txt", "..%2Flog.txt", "..%2F..%2F..%2Fjobs.sqlite", "results%2F..%2F..%2Fecho.json",
    "%2Fetc%2Fpasswd", "provenance.json", "log.txt", "echo.json", "counter",
])
def test_hostile_result_ids(uws, done, result_id):
    response = uws.client.get(f"{done}/results/{result_id}", headers=uws.headers(A), follow_redirects=False)
    assert response.status_code in (404, 405, 307), response.text
    assert b"root:" not in response.content and b"SQLite format" not in response.content


def test_results_are_served_by_id_only(uws, done):
    for result_id in ("echo", "log", "provenance", "provn"):
        assert uws.client.get(f"{done}/results/{result_id}", headers=uws.headers(A)).status_code == 200


@pytest.mark.parametrize("value", [
    "'; DROP TABLE jobs; --", "<uws:job>&amp;</uws:job>", "]]>", "ジョブ \u2603 \U0001F680", "a\tb\nc",
    "x" * 50_000,
])
def test_hostile_parameter_values_round_trip(uws, value):
    url = uws.create(A, "echo", run=True, text=value, RUNID=value[:200])
    job = uws.wait(url)
    assert job.phase == "COMPLETED"
    assert {p.id_: str(p.content) for p in job.parameters}["text"] == value.replace("\r", "")
    echoed = json.loads(uws.client.get(url + "/results/echo", headers=uws.headers(A)).content)
    assert echoed["text"] == value
    listing = uws.client.get("/uws/echo", headers=uws.headers(A), params={"LAST": "1"})
    assert parse_job_list(io.BytesIO(listing.content))[0].runid == value[:200]


@pytest.mark.parametrize("data, message", [
    ({"text": "x" * 200_000}, "too long"),
    ({"text": "a", "ids": ",".join(["1"] * 20_000)}, "too many values"),
    ({"text": "a", "RUNID": "r" * 1000}, "RUNID is too long"),
    ({"text": "a", "number": "1e999"}, "finite"),
    ({"text": "a", "Robert'); DROP TABLE jobs;--": "1"}, "unknown parameter"),
])
def test_oversized_or_unknown_values_are_refused(uws, data, message):
    response = uws.client.post("/uws/echo", data=data, headers=uws.headers(A), follow_redirects=False)
    assert response.status_code == 400
    assert message in response.text


def test_file_uploads_are_refused(uws):
    response = uws.client.post("/uws/echo", data={"text": "a"}, files={"upload": ("x.txt", b"data")},
                               headers=uws.headers(A), follow_redirects=False)
    assert response.status_code == 400 and "file uploads" in response.text


def test_store_survives_hostile_input(uws, done):
    assert parse_job(io.BytesIO(uws.client.get(done, headers=uws.headers(A)).content)).phase == "COMPLETED"


@pytest.mark.parametrize("data, message", [
    ({"text": "a\x00b"}, "control character U+0000"),
    ({"text": "bell\x07"}, "control character U+0007"),
    ({"text": "a", "RUNID": "run\x1b[31m"}, "RUNID: contains the control character U+001B"),
    ({"text": "a", "DESTRUCTION": "9999-12-31T23:59:59-12:00"}, "out of range"),
])
def test_values_no_document_can_carry_are_refused(uws, data, message):
    response = uws.client.post("/uws/echo", data=data, headers=uws.headers(A), follow_redirects=False)
    assert response.status_code == 400, response.text
    assert message in response.text
    listing = uws.client.get("/uws/echo", headers=uws.headers(A))  # the list still renders
    assert listing.status_code == 200
    parse_job_list(io.BytesIO(listing.content))


def test_out_of_range_numbers_are_answered(uws, done):
    huge = "9" * 30
    listing = uws.client.get("/uws/echo", params={"LAST": huge}, headers=uws.headers(A))
    assert listing.status_code == 200 and parse_job_list(io.BytesIO(listing.content))
    assert uws.client.get(done, params={"WAIT": huge}, headers=uws.headers(A)).status_code == 200
    later = uws.create(A, "echo", text="t")
    response = uws.client.post(later + "/executionduration", data={"EXECUTIONDURATION": huge},
                               headers=uws.headers(A), follow_redirects=False)
    assert response.status_code == 303
    assert 0 < parse_job(io.BytesIO(uws.client.get(later, headers=uws.headers(A)).content)).executionduration.value
    far = uws.client.post(later + "/destruction", data={"DESTRUCTION": "9999-12-31T23:59:59-12:00"},
                          headers=uws.headers(A), follow_redirects=False)
    assert far.status_code == 400 and "out of range" in far.text
