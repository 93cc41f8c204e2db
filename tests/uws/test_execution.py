"""Execution on Dask: ABORT and the execution duration really stop the work; live logs and
results; the provenance record."""

from __future__ import annotations

import hashlib
import json
import os
import time
from pathlib import Path

from prov.model import ProvDocument

from tests.uws.conftest import jobs_dir

A = "alice"


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    try:  # a zombie has finished its work
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(predicate, timeout=60.0, step=0.1):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(step)


def running_count_job(uws, **params):
    url = uws.create(A, "count", run=True, **{"n": 100000, "interval": 0.05, **params})
    folder = jobs_dir(uws) / url.rsplit("/", 1)[1]
    uws.wait(url, phases={"EXECUTING"})
    wait_for(lambda: (folder / "count.txt").exists() and (folder / "pid.txt").exists())
    return url, folder, int((folder / "pid.txt").read_text())


def test_abort_stops_the_running_process(uws):
    url, folder, pid = running_count_job(uws)
    assert alive(pid)
    response = uws.client.post(url + "/phase", data={"PHASE": "ABORT"}, headers=uws.headers(A),
                               follow_redirects=False)
    assert response.status_code == 303
    assert uws.job(url).phase == "ABORTED"
    wait_for(lambda: not alive(pid), timeout=10)  # the counting process, the file's only writer, is gone
    job = uws.wait(url)
    assert job.phase == "ABORTED" and job.endtime is not None
    ids = [r.id_ for r in job.results]
    assert "log" in ids and "provenance" in ids and "counter" in ids
    provenance = json.loads(uws.client.get(url + "/results/provenance", headers=uws.headers(A)).content)
    activity = next(iter(provenance["activity"].values()))
    assert activity["portal:phase"] == "ABORTED"


def test_execution_duration_is_enforced(uws):
    url = uws.create(A, "count", run=True, n=100000, interval=0.05, EXECUTIONDURATION=2)
    folder = jobs_dir(uws) / url.rsplit("/", 1)[1]
    job = uws.wait(url)
    assert job.phase == "ERROR"
    message = str(job.errorsummary.message.content)
    assert "execution duration (2 s)" in message and "stopped" in message
    pid = int((folder / "pid.txt").read_text())
    wait_for(lambda: not alive(pid), timeout=10)
    elapsed = (job.endtime - job.starttime).to_value("s")
    assert 2 <= elapsed < 30
    log = uws.client.get(url + "/results/log", headers=uws.headers(A)).text
    assert "execution duration of 2 s exceeded" in log


def test_log_and_results_are_readable_while_executing(uws):
    url, folder, pid = running_count_job(uws)
    try:
        wait_for(lambda: int((folder / "count.txt").read_text() or 0) >= 3)
        job = uws.job(url)
        assert job.phase == "EXECUTING"
        ids = [r.id_ for r in job.results]
        assert "counter" in ids
        first = json.loads(uws.client.get(url + "/results/counter", headers=uws.headers(A)).content)["count"]
        log = uws.client.get(url + "/results/log", headers=uws.headers(A)).text
        assert "step 1" in log and "printed 1" in log
        wait_for(lambda: json.loads(uws.client.get(url + "/results/counter",
                                                   headers=uws.headers(A)).content)["count"] > first)
    finally:
        uws.client.post(url + "/phase", data={"PHASE": "ABORT"}, headers=uws.headers(A))
    wait_for(lambda: not alive(pid), timeout=10)


def test_provenance_record(uws):
    url = uws.create(A, "echo", run=True, text="prov", ids="3")
    job = uws.wait(url)
    assert job.phase == "COMPLETED"
    raw = uws.client.get(url + "/results/provenance", headers=uws.headers(A))
    assert raw.headers["content-type"] == "application/json"
    doc = ProvDocument.deserialize(content=raw.text, format="json")
    provn = uws.client.get(url + "/results/provn", headers=uws.headers(A))
    assert provn.headers["content-type"].startswith("text/provenance-notation")
    assert provn.text.startswith("document")
    record = json.loads(raw.content)
    activity = next(iter(record["activity"].values()))
    assert activity["voprov:name"] == "echo" and activity["portal:phase"] == "COMPLETED"
    assert activity["prov:startTime"] and activity["prov:endTime"]
    entities = record["entity"]
    params = {e["voprov:name"]: e["prov:value"] for e in entities.values()
              if e.get("prov:type", {}).get("$") == "voprov:Parameter"}
    # every parameter the job ran with: the given ones, and the defaults of the others
    assert params == {"text": "prov", "ids": "3", "flag": "false", "number": "1.5", "publish": "false"}
    source = Path(__file__).with_name("jobs.py")
    # a file outside the data roots is named by its file name only: the server's folders are not the owner's
    used = [e for e in entities.values() if e.get("voprov:location") == source.name]
    assert used and used[0]["portal:sha256"] == hashlib.sha256(source.read_bytes()).hexdigest()
    assert next(iter(record["used"].values()))["prov:role"] == "code"
    echo_bytes = uws.client.get(url + "/results/echo", headers=uws.headers(A)).content
    generated = [e for e in entities.values() if e.get("voprov:name") == "echo" and "voprov:contentType" in e]
    assert generated[0]["portal:sha256"] == hashlib.sha256(echo_bytes).hexdigest()
    agents = record["agent"]
    assert any(a.get("voprov:name") == A for a in agents.values())
    software = [a for a in agents.values() if a.get("prov:type", {}).get("$") == "prov:SoftwareAgent"]
    assert "portal:version_gamma-portal" in software[0] and "portal:version_python" in software[0]
    assert any(e.get("prov:type", {}).get("$") == "voprov:ConfigFile" for e in entities.values())
    assert len(doc.get_records()) > 10


def _environ(pid: int) -> dict[str, str]:
    raw = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
    return dict(item.decode(errors="replace").split("=", 1) for item in raw if b"=" in item)


def _parent(pid: int) -> int:
    return int(Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[1])


def test_job_processes_run_without_dasks_malloc_trim(uws):
    """Dask's nanny gives its workers MALLOC_TRIM_THRESHOLD_=65536 (it slowed a gammapy analysis by
    8-20% here); the job processes the workers start do not inherit it."""
    url, _folder, pid = running_count_job(uws)
    try:
        worker = _parent(_parent(pid))  # job process <- forkserver <- Dask worker
        assert _environ(worker).get("MALLOC_TRIM_THRESHOLD_") == "65536"  # what the job would inherit
        assert "MALLOC_TRIM_THRESHOLD_" not in _environ(pid)
    finally:
        uws.client.post(url + "/phase", data={"PHASE": "ABORT"}, headers=uws.headers(A))
