"""A job's progress: reported through its JobContext, paced and stored by the service (old stores gain the
column), rendered in UWS 1.1's jobInfo, read back by pyvo and the widgets' client, and waking ETag WAITs."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import threading
from dataclasses import replace
from datetime import timedelta

import pytest
from lxml import etree
from pyvo.io.uws import parse_job

from portal.uws.context import RunContext
from portal.uws.models import ExecutionPhase, Job, JobProgress, ProgressReport, advance, utcnow
from portal.uws.render import PROGRESS_NAMESPACE, job_xml
from portal.uws.store import JobStore
from tests.uws.conftest import run_async
from tests.uws.test_phases import A, post
from tests.uws.test_service import new_job, service, wait_final
from widgets.client.uws import Progress, job_info

UWS = "http://www.ivoa.net/xml/UWS/v1.0"
T0 = 1_700_000_000.0


def test_the_time_left_is_the_pace_so_far_in_the_stage():
    first = advance(None, ProgressReport("reducing", 0, 4, T0))
    assert (first.stage, first.done, first.total, first.time_left) == ("reducing", 0, 4, None)  # no pace yet
    one = advance(first, ProgressReport("reducing", 1, 4, T0 + 10))
    assert one.time_left == 30.0 and one.since == first.since  # 10 s an observation, 3 to go
    three = advance(one, ProgressReport("reducing", 3, 4, T0 + 20))
    assert three.time_left == pytest.approx(20 / 3, abs=0.05)
    assert advance(three, ProgressReport("reducing", 4, 4, T0 + 21)).time_left == 0.0
    fitting = advance(three, ProgressReport("fitting", None, None, T0 + 22))
    assert fitting.time_left is None and fitting.done is None
    # a new stage counts its pace from its own first report, not from the job's start
    points = advance(advance(fitting, ProgressReport("flux points", 0, 8, T0 + 30)),
                     ProgressReport("flux points", 2, 8, T0 + 34))
    assert points.time_left == 12.0 and points.updated.timestamp() == T0 + 34
    # a stage first said without a count: its first item took the time since it was said
    started = advance(advance(None, ProgressReport("bins", None, None, T0)), ProgressReport("bins", 1, 3, T0 + 50))
    assert started.time_left == 100.0 and started.since.timestamp() == T0
    assert advance(started, ProgressReport("bins", 2, 3, T0 + 52)).time_left == 26.0
    # a stage whose first report was dropped on the way (it counts some already): paced since the report before
    skipped = advance(fitting, ProgressReport("flux points", 2, 8, T0 + 26))
    assert skipped.since.timestamp() == T0 + 22 and skipped.time_left == 12.0
    # a count that went back (the stage began again) starts the pace again, after the last report
    again = advance(points, ProgressReport("flux points", 1, 8, T0 + 100))
    assert again.since.timestamp() == T0 + 34 and again.time_left == 462.0
    assert advance(None, ProgressReport("late", 3, 9, T0)).time_left is None  # the first report of all: no pace
    assert JobProgress.from_dict(json.loads(json.dumps(points.to_dict()))) == points


def test_the_context_checks_reports_and_sends_each_once(tmp_path):
    reports = []
    ctx = RunContext("job1", "alice", tmp_path, lambda kind, value: reports.append((kind, value)),
                     logger=logging.getLogger("test.progress"))
    ctx.progress("reducing", 0, 2)
    ctx.progress("reducing", 0, 2)  # the same again: nothing new to say
    ctx.progress(" fitting ")
    import numpy as np

    ctx.progress("flux points", np.int64(1), 8)
    assert [(k, v.stage, v.done, v.total) for k, v in reports] == [
        ("progress", "reducing", 0, 2), ("progress", "fitting", None, None), ("progress", "flux points", 1, 8)]
    assert all(isinstance(v.done, (int, type(None))) and v.time > 0 for _, v in reports)
    for args, kind in [(("",), ValueError), (("a\x1bb",), ValueError), (("x" * 81,), ValueError),
                       (("s", 3, 2), ValueError), (("s", -1, 2), ValueError), (("s", True, 2), ValueError),
                       (("s", 1.5, 2), TypeError), ((None,), ValueError)]:
        with pytest.raises(kind):
            ctx.progress(*args)
    assert len(reports) == 3


OLD_SCHEMA = """
CREATE TABLE jobs (
    job_id TEXT PRIMARY KEY, job_list TEXT NOT NULL, owner TEXT, phase TEXT NOT NULL, run_id TEXT,
    parameters TEXT NOT NULL, creation_time REAL NOT NULL, queued_time REAL, start_time REAL, end_time REAL,
    execution_duration INTEGER NOT NULL, destruction REAL NOT NULL, quote REAL, error_type TEXT,
    error_message TEXT, error_detail TEXT, version INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE results (
    job_id TEXT NOT NULL REFERENCES jobs (job_id) ON DELETE CASCADE, result_id TEXT NOT NULL,
    position INTEGER NOT NULL, path TEXT NOT NULL, mime_type TEXT NOT NULL, size INTEGER, sha256 TEXT,
    PRIMARY KEY (job_id, result_id)
);
INSERT INTO jobs (job_id, job_list, owner, phase, parameters, creation_time, start_time, execution_duration,
                  destruction, version)
VALUES ('old', 'echo', 'alice', 'EXECUTING', '[["text", "t"]]', 1700000000, 1700000001, 60, 4000000000, 7);
"""


def test_a_store_from_before_progress_gains_it(tmp_path):
    path = tmp_path / "jobs.sqlite"
    conn = sqlite3.connect(path)
    conn.executescript(OLD_SCHEMA)
    conn.close()
    stores, errors = [], []
    barrier = threading.Barrier(4)

    def open_store():  # servers opening the same old store at once: one adds the column, none fails
        barrier.wait()
        try:
            stores.append(JobStore(path))
        except Exception as exc:  # noqa: BLE001
            errors.append(exc)

    threads = [threading.Thread(target=open_store) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(stores) == 4
    store = stores[0]
    job = store.get("old")
    assert job.phase == ExecutionPhase.EXECUTING and job.progress is None and job.version == 7
    assert store.update_progress("old", lambda previous: advance(previous, ProgressReport("fitting", None, None, T0)))
    assert store.update_progress("old", lambda previous: advance(previous, ProgressReport("bins", 1, 2, T0 + 1)))
    for s in stores:
        s.close()
    again = JobStore(path)
    job = again.get("old")
    assert (job.progress.stage, job.progress.done, job.progress.total) == ("bins", 1, 2) and job.version == 9
    columns = [row[1] for row in sqlite3.connect(path).execute("PRAGMA table_info(jobs)")]
    assert columns.count("progress") == 1
    # only an EXECUTING job takes progress
    again.add(new_job("new"))
    assert not again.update_progress("new", lambda previous: JobProgress("x"))
    assert again.get("new").progress is None and again.get("new").version == 0


def _job(phase: ExecutionPhase, progress: JobProgress | None) -> Job:
    now = utcnow()
    return Job("j1", "spectrum", "alice", phase, (("n_bins", "8"),), now, 60, now + timedelta(days=1),
               start_time=now, end_time=now if phase != ExecutionPhase.EXECUTING else None, progress=progress)


def test_the_job_document_carries_the_progress_in_job_info():
    progress = advance(advance(None, ProgressReport("flux points", 0, 8, T0)),
                       ProgressReport("flux points", 5, 8, T0 + 10))
    document = job_xml(_job(ExecutionPhase.EXECUTING, progress), "http://h/uws/spectrum/j1")
    root = etree.fromstring(document)
    info = root[-1]  # UWS 1.1: jobInfo is the last element of a job
    assert info.tag == f"{{{UWS}}}jobInfo"
    assert [(etree.QName(c).namespace, etree.QName(c).localname, c.text) for c in info] == [
        (PROGRESS_NAMESPACE, "stage", "flux points"), (PROGRESS_NAMESPACE, "done", "5"),
        (PROGRESS_NAMESPACE, "total", "8"), (PROGRESS_NAMESPACE, "timeLeft", "6.0"),
        (PROGRESS_NAMESPACE, "updated", "2023-11-14T22:13:30.000Z")]
    parsed = parse_job(io.BytesIO(document))  # pyvo reads jobInfo's children by their local names
    assert parsed.phase == "EXECUTING" and parsed.jobinfo["stage"].text == "flux points"
    assert parsed.jobinfo["done"].value == 5 and parsed.jobinfo["timeLeft"].value == 6.0
    read = job_info(document, "http://h/uws/spectrum/j1").progress
    assert (read.stage, read.done, read.total, read.time_left) == ("flux points", 5, 8, 6.0)
    assert read.updated.timestamp() == T0 + 10
    # ended: a completed job says "done"; one in error or aborted keeps where it stopped, with no time left
    done = job_info(job_xml(_job(ExecutionPhase.COMPLETED, progress), "u"), "u").progress
    assert (done.stage, done.done, done.total, done.time_left) == ("done", None, None, None)
    for phase in (ExecutionPhase.ERROR, ExecutionPhase.ABORTED):
        stopped = job_info(job_xml(_job(phase, progress), "u"), "u").progress
        assert (stopped.stage, stopped.done, stopped.total, stopped.time_left) == ("flux points", 5, 8, None)
    # a job that reported nothing has no jobInfo; a stage with characters XML cannot carry still renders
    plain = job_xml(_job(ExecutionPhase.EXECUTING, None), "u")
    assert b"jobInfo" not in plain and parse_job(io.BytesIO(plain)).jobinfo is None
    odd = job_xml(_job(ExecutionPhase.EXECUTING, replace(progress, stage="a\x00b")), "u")
    assert job_info(odd, "u").progress.stage == "a\ufffdb"


def test_the_thread_runner_reports_progress_too(tmp_path):
    svc = service(tmp_path)

    async def scenario():
        await svc.start()
        try:
            job = await svc.create("alice", "count", [("n", "5"), ("interval", "0.01")], run=True)
            return await wait_final(svc, "alice", "count", job.job_id)
        finally:
            await svc.close()

    job = run_async(scenario())
    assert job.phase == ExecutionPhase.COMPLETED
    progress = job.progress
    assert (progress.stage, progress.done, progress.total, progress.time_left) == ("counting", 5, 5, 0.0)


def _get(uws, url, **params):
    headers = uws.headers(A)
    etag = params.pop("etag", None)
    if etag:
        headers["If-None-Match"] = etag
    response = uws.client.get(url, params=params, headers=headers)
    assert response.status_code in (200, 304), response.text
    return response


def test_progress_wakes_a_wait_and_ends_with_the_job(uws):
    """Through the real service (Dask, a job process): each report is a new version of the job, which wakes a
    WAIT with If-None-Match; the count never goes back and never passes what the job published."""
    n = 30
    url = uws.create(A, "count", run=True, n=str(n), interval="0.1")
    response = _get(uws, url)
    seen: list[Progress] = []
    while True:
        info = job_info(response.content, url, response.headers["etag"])
        if info.phase == "EXECUTING" and info.progress is not None:
            seen.append(info.progress)
            counter = _get(uws, info.results["counter"]).json()["count"]  # published before it was counted
            assert info.progress.done <= counter
        if not info.active:
            break
        response = _get(uws, url, WAIT="30", etag=info.etag)
        assert response.status_code == 200  # a change woke it (the job ends well within the WAIT)
    assert info.phase == "COMPLETED"
    final = info.progress
    assert (final.stage, final.done, final.total, final.time_left) == ("done", None, None, None)
    assert abs((final.updated - info.end_time).total_seconds()) < 0.01
    assert {p.stage for p in seen} == {"counting"} and {p.total for p in seen} == {n}
    counts = [p.done for p in seen]
    assert counts == sorted(counts) and len(set(counts)) >= 5, counts  # woken by the reports as they came
    paced = [p for p in seen if 2 <= p.done < n]
    assert paced and all(p.time_left is not None and 0 < p.time_left < 60 for p in paced), paced


def test_an_aborted_job_keeps_the_stage_it_stopped_in(uws):
    url = uws.create(A, "count", run=True, n="100000", interval="0.05")
    response = _get(uws, url)
    try:
        while True:
            info = job_info(response.content, url, response.headers["etag"])
            if info.progress is not None and info.progress.done >= 3:
                break
            assert info.active, info.phase
            response = _get(uws, url, WAIT="30", etag=info.etag)
    finally:
        post(uws, url + "/phase", PHASE="ABORT")
    ended = job_info(uws.client.get(url, headers=uws.headers(A)).content, url)
    assert ended.phase == "ABORTED"
    assert ended.progress.stage == "counting" and ended.progress.done >= 3 and ended.progress.time_left is None
