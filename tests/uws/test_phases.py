"""The UWS 1.1 phase state machine and every job resource, through HTTP, parsed by pyvo."""

from __future__ import annotations

import io
import json
import threading
import time
from datetime import datetime, timedelta, timezone

from urllib.parse import urljoin

import psutil
import pytest
from lxml import etree
from pyvo.io.uws import parse_job_list
from vo_models.uws import Parameters, Results

from tests.uws.conftest import jobs_dir

A = "alice"
XLINK_HREF = "{http://www.w3.org/1999/xlink}href"


def text(uws, url, user=A):
    response = uws.client.get(url, headers=uws.headers(user))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")
    return response.text


def post(uws, url, user=A, **data):
    return uws.client.post(url, data=data, headers=uws.headers(user), follow_redirects=False)


def test_pending_job_and_its_resources(uws):
    url = uws.create(A, "echo", text="hello", number="2.5", RUNID="my run")
    job = uws.job(url)
    assert job.phase == "PENDING"
    assert job.ownerid == A
    assert job.runid == "my run"
    assert {p.id_: str(p.content) for p in job.parameters} == {"text": "hello", "number": "2.5"}
    assert job.creationtime is not None and job.destruction is not None
    assert job.executionduration.to_value("s") == 60  # the definition's default
    assert text(uws, url + "/phase") == "PENDING"
    assert text(uws, url + "/owner") == A
    assert text(uws, url + "/executionduration") == "60"
    assert text(uws, url + "/quote") == ""
    assert text(uws, url + "/destruction").endswith("Z")
    params = uws.client.get(url + "/parameters", headers=uws.headers(A))
    assert params.headers["content-type"].startswith("application/xml")
    assert "hello" in params.text
    Parameters.from_xml(params.content)
    results = uws.client.get(url + "/results", headers=uws.headers(A))
    assert Results.from_xml(results.content).results == []
    assert uws.client.get(url + "/error", headers=uws.headers(A)).status_code == 404


def test_parameters_change_while_pending_only(uws):
    url = uws.create(A, "echo", text="one")
    response = post(uws, url + "/parameters", text="two", FLAG="yes")
    assert response.status_code == 303 and response.headers["location"] == url
    job = uws.job(url)
    assert {p.id_: str(p.content) for p in job.parameters} == {"text": "two", "flag": "yes"}
    bad = post(uws, url + "/parameters", number="11")
    assert bad.status_code == 400 and "above the maximum 10 m" in bad.text
    unknown = post(uws, url + "/parameters", colour="red")
    assert unknown.status_code == 400 and "unknown parameter 'colour'" in unknown.text
    assert post(uws, url + "/phase", PHASE="RUN").status_code == 303
    uws.wait(url)
    late = post(uws, url + "/parameters", text="three")
    assert late.status_code == 409 and "PENDING" in late.text


def test_run_to_completion_with_results(uws):
    url = uws.create(A, "echo", text="x", ids="5, 6,7", flag="true")
    response = post(uws, url + "/phase", PHASE="RUN")
    assert response.status_code == 303
    job = uws.wait(url)
    assert job.phase == "COMPLETED"
    assert job.starttime is not None and job.endtime is not None and job.endtime >= job.starttime
    ids = [r.id_ for r in job.results]
    assert ids == ["echo", "log", "provenance", "provn"]
    echo = uws.client.get(url + "/results/echo", headers=uws.headers(A))
    assert echo.headers["content-type"] == "application/json"
    assert json.loads(echo.content) == {"text": "x", "number": 1.5, "flag": True, "ids": [5, 6, 7], "publish": False}
    assert int(echo.headers["content-length"]) == len(echo.content)
    results = Results.from_xml(uws.client.get(url + "/results", headers=uws.headers(A)).content).results
    assert [r.href for r in results] == [f"{url}/results/{i}" for i in ids]
    assert all(r.size and r.size > 0 for r in results)
    # a finished job cannot run again, and ABORT leaves it as it is
    again = post(uws, url + "/phase", PHASE="RUN")
    assert again.status_code == 409
    assert post(uws, url + "/phase", PHASE="ABORT").status_code == 303
    assert uws.job(url).phase == "COMPLETED"
    assert post(uws, url + "/phase", PHASE="SUSPEND").status_code == 400


def test_create_and_run_at_once(uws):
    url = uws.create(A, "echo", run=True, text="now")
    assert uws.job(url).phase in {"QUEUED", "EXECUTING", "COMPLETED"}
    assert uws.wait(url).phase == "COMPLETED"


@pytest.mark.parametrize("data, message", [
    ({"PHASE": "RUN"}, "missing required parameter: text"),
    ({"text": "a", "PHASE": "ABORT"}, "only RUN"),
    ({"text": "a", "number": "nan"}, "not a finite number"),
    ({"text": "a", "ids": "1,x"}, "'x' is not an integer"),
    ({"text": "a", "flag": "maybe"}, "not a boolean"),
    ({"text": "a", "EXECUTIONDURATION": "soon"}, "not an integer"),
    ({"text": "a", "DESTRUCTION": "tomorrow"}, "not an ISO 8601"),
])
def test_bad_creation_requests_are_explained(uws, data, message):
    response = uws.client.post("/uws/echo", data=data, headers=uws.headers(A), follow_redirects=False)
    assert response.status_code == 400
    assert message in response.text


def test_abort_pending_job(uws):
    url = uws.create(A, "count")
    assert post(uws, url + "/phase", PHASE="abort").status_code == 303
    job = uws.job(url)
    assert job.phase == "ABORTED" and job.endtime is not None
    assert post(uws, url + "/phase", PHASE="RUN").status_code == 409


@pytest.mark.parametrize("fail, kind, message", [
    ("usage", "fatal", "Observation 42 is not in the archive"),
    ("fatal", "fatal", "The fit did not converge"),
    ("transient", "transient", "The archive is down"),
    ("crash", "fatal", "failed unexpectedly (ZeroDivisionError: division by zero in step n)"),
    ("exit", "fatal", "ended unexpectedly with exit code 3"),
])
def test_failures_end_in_error_with_a_readable_message(uws, fail, kind, message):
    url = uws.create(A, "count", run=True, n="1", interval="0", fail=fail)
    job = uws.wait(url)
    assert job.phase == "ERROR"
    assert job.errorsummary.type_ == kind
    summary = str(job.errorsummary.message.content)
    assert message in summary
    assert "Traceback" not in summary
    error = text(uws, url + "/error")
    assert message in error and "Traceback" not in error
    log = uws.client.get(url + "/results/log", headers=uws.headers(A)).text
    assert "step 1" in log and "printed 1" in log  # logging and stdout both captured
    if fail == "crash":
        assert "Traceback" in log and "ZeroDivisionError" in log  # the details stay in the log
    assert "provenance" in [r.id_ for r in job.results]


def test_a_job_that_leaves_a_thread_running_still_completes(uws):
    """Its process ends once it has said how it ended: nothing it left behind keeps the job EXECUTING."""
    url = uws.create(A, "count", run=True, n="1", interval="0", fail="linger", EXECUTIONDURATION="600")
    job = uws.wait(url)
    assert job.phase == "COMPLETED", job.phase
    assert "total" in [r.id_ for r in job.results]
    pid = int(uws.client.get(url + "/results/log", headers=uws.headers(A)).text.split("(process ")[1].split(")")[0])
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE


def test_execution_duration_and_destruction_can_be_set(uws):
    url = uws.create(A, "echo", text="t", EXECUTIONDURATION="30")
    assert text(uws, url + "/executionduration") == "30"
    assert post(uws, url + "/executionduration", EXECUTIONDURATION="45").status_code == 303
    assert uws.job(url).executionduration.to_value("s") == 45
    when = (datetime.now(timezone.utc) + timedelta(days=1)).replace(microsecond=0)
    assert post(uws, url + "/destruction", DESTRUCTION=when.strftime("%Y-%m-%dT%H:%M:%SZ")).status_code == 303
    assert uws.job(url).destruction.to_datetime(timezone.utc) == when
    far = post(uws, url + "/destruction", DESTRUCTION="2999-01-01T00:00:00Z")
    assert far.status_code == 303
    assert uws.job(url).destruction.to_datetime(timezone.utc) < datetime(2999, 1, 1, tzinfo=timezone.utc)  # capped by the service
    assert post(uws, url + "/executionduration", EXECUTIONDURATION="-5").status_code == 400
    assert post(uws, url + "/executionduration").status_code == 400


def test_delete_by_delete_and_by_action(uws):
    for how in ("DELETE", "ACTION"):
        url = uws.create(A, "echo", run=True, text="gone")
        uws.wait(url)
        folder = jobs_dir(uws) / url.rsplit("/", 1)[1]
        assert folder.is_dir()
        if how == "DELETE":
            response = uws.client.delete(url, headers=uws.headers(A), follow_redirects=False)
        else:
            response = post(uws, url, ACTION="DELETE")
        assert response.status_code == 303
        assert response.headers["location"].endswith("/uws/echo")
        assert uws.client.get(url, headers=uws.headers(A)).status_code == 404
        assert not folder.exists()
    assert post(uws, uws.create(A, "echo", text="t"), ACTION="KEEP").status_code == 400


def test_job_list_filters(uws):
    urls = [uws.create("bob", "echo", text=str(i)) for i in range(3)]
    uws.client.post(urls[0] + "/phase", data={"PHASE": "ABORT"}, headers=uws.headers("bob"))
    listing = uws.client.get("/uws/echo", headers=uws.headers("bob"))
    jobs = parse_job_list(io.BytesIO(listing.content))
    ids = [j.jobid for j in jobs]
    assert set(u.rsplit("/", 1)[1] for u in urls) <= set(ids)
    hrefs = etree.fromstring(listing.content).findall("{*}jobref")
    assert {urljoin(str(listing.url), h.get(XLINK_HREF)) for h in hrefs} >= set(urls)
    assert all(j.ownerid == "bob" for j in jobs)
    created = [j.creationtime.unix for j in jobs]
    assert created == sorted(created, reverse=True)  # newest first
    aborted = parse_job_list(io.BytesIO(uws.client.get(
        "/uws/echo", params={"PHASE": "ABORTED"}, headers=uws.headers("bob")).content))
    assert [j.jobid for j in aborted] == [urls[0].rsplit("/", 1)[1]]
    two = parse_job_list(io.BytesIO(uws.client.get(
        "/uws/echo", params={"LAST": "2"}, headers=uws.headers("bob")).content))
    assert [j.jobid for j in two] == ids[:2]
    after = jobs[1].creationtime.isot + "Z"
    newer = parse_job_list(io.BytesIO(uws.client.get(
        "/uws/echo", params={"AFTER": after}, headers=uws.headers("bob")).content))
    assert [j.jobid for j in newer] == ids[:1]
    for bad in ({"PHASE": "DONE"}, {"LAST": "-1"}, {"LAST": "many"}, {"AFTER": "yesterday"}):
        assert uws.client.get("/uws/echo", params=bad, headers=uws.headers("bob")).status_code == 400
    assert uws.client.get("/uws/nosuchlist", headers=uws.headers("bob")).status_code == 404


def test_wait_blocks_until_the_phase_changes(uws):
    """A blocking GET answers when the phase changes: a job that never ends by itself is aborted once the
    request is blocked in its WAIT (the service counts those); the answer is ABORTED, with an end time after
    the request was made. A WAIT that did not block would answer EXECUTING, and never be counted."""
    url = uws.create(A, "count", run=True, n="100000", interval="0.05")
    uws.wait(url, phases={"EXECUTING"})
    asked = datetime.now(timezone.utc).replace(microsecond=0)
    service, blocked, answered = uws.service, threading.Event(), threading.Event()

    def abort_once_blocked():
        deadline = time.monotonic() + 120
        while not answered.is_set() and time.monotonic() < deadline:
            if service.waiting:
                blocked.set()
                break
            time.sleep(0.01)
        post(uws, url + "/phase", PHASE="ABORT")  # in any case: the job would count for hours

    aborter = threading.Thread(target=abort_once_blocked)
    aborter.start()
    try:
        job = uws.job(url, WAIT="60", PHASE="EXECUTING")
    finally:
        answered.set()
        aborter.join()
    assert blocked.is_set(), f"the WAIT was never blocked: it answered {job.phase} at once"
    assert job.phase == "ABORTED"
    assert job.endtime.to_datetime(timezone.utc) >= asked
    assert service.waiting == 0  # the answered request is counted no more
    # a final phase, or another phase than the one named, answers at once (not after 30 s)
    quick = time.monotonic()
    assert uws.job(url, WAIT="30").phase == "ABORTED"
    assert uws.job(url, WAIT="30", PHASE="EXECUTING").phase == "ABORTED"
    assert time.monotonic() - quick < 20
    pending = uws.create(A, "echo", text="p")
    assert uws.job(pending, WAIT="1").phase == "PENDING"  # times out and answers
    assert uws.client.get(pending, params={"WAIT": "x"}, headers=uws.headers(A)).status_code == 400
