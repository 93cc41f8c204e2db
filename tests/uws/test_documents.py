"""Documents: GET /uws (definitions for forms, XML and JSON), the cached job-list rendering, and
the definitions registry."""

from __future__ import annotations

import io
import random

from lxml import etree
from pyvo.io.uws import parse_job, parse_job_list

from portal.uws.application import default_definitions
from portal.uws.catalog import NAMESPACE
from portal.uws.models import ExecutionPhase, Job, JobFailure, JobRef, utcnow
from portal.uws.render import JobListRenderer, job_list_xml, job_xml

A = "alice"


def test_definitions_as_json(uws):
    response = uws.client.get("/uws", params={"format": "json"}, headers=uws.headers(A))
    assert response.status_code == 200
    defs = {d["name"]: d for d in response.json()["definitions"]}
    assert set(defs) == {"count", "echo", "observations"}
    echo = defs["echo"]
    assert echo["url"] == "http://testserver/uws/echo"
    params = {p["name"]: p for p in echo["parameters"]}
    assert params["number"] == {"name": "number", "type": "float", "unit": "m", "required": False, "default": 1.5,
                                "minimum": 0.0, "maximum": 10.0, "choices": None, "doc": "A bounded number.",
                                "ucd": None, "column": None, "label": None, "choice_labels": None}
    assert params["text"]["required"] is True and params["text"]["default"] is None
    assert params["ids"]["default"] == [1, 2]
    count = {p["name"]: p for p in defs["count"]["parameters"]}
    assert count["fail"]["choices"] == ["none", "usage", "fatal", "transient", "crash", "exit", "linger"]
    assert [r["id"] for r in echo["results"]] == ["echo", "log", "provenance", "provn"]
    same = uws.client.get("/uws", headers={**uws.headers(A), "Accept": "application/json"})
    assert same.json() == response.json()


def test_definitions_as_xml(uws):
    response = uws.client.get("/uws", headers=uws.headers(A))
    assert response.headers["content-type"].startswith("application/xml")
    root = etree.fromstring(response.content)
    ns = {"d": NAMESPACE}
    assert root.tag == f"{{{NAMESPACE}}}definitions"
    number = root.find("d:definition[@name='echo']/d:parameter[@name='number']", ns)
    assert number.get("type") == "float" and number.get("unit") == "m" and number.get("default") == "1.5"
    assert float(number.get("minimum")) == 0 and float(number.get("maximum")) == 10
    assert number.findtext("d:doc", namespaces=ns) == "A bounded number."
    choices = root.findall("d:definition[@name='count']/d:parameter[@name='fail']/d:choice", ns)
    assert [c.text for c in choices][:2] == ["none", "usage"]
    assert root.find("d:definition[@name='echo']", ns).get("href") == "http://testserver/uws/echo"


def _tree(element):
    return (element.tag, dict(element.attrib), (element.text or "").strip(), [_tree(c) for c in element])


def test_cached_job_list_equals_vo_models_rendering():
    now = utcnow()
    phases = list(ExecutionPhase)
    refs = [JobRef(f"job{i:04d}", random.choice(phases), random.choice(["alice", None]),
                   random.choice([None, "run <&> 'x'"]), now.timestamp() - i) for i in range(300)]
    renderer = JobListRenderer(max_entries=100)
    url = "http://h/uws/echo"
    cached = renderer.render(refs, url)
    assert _tree(etree.fromstring(cached)) == _tree(etree.fromstring(job_list_xml(refs, url)))
    again = renderer.render(refs, url)  # partly from the (bounded) cache this time
    assert again == cached
    assert b'xlink:href="echo/job0000"' in cached  # relative to the list: /uws/echo + echo/job0000
    moved = renderer.render(refs[:3], "http://other/tap/async")
    assert b'xlink:href="async/job0000"' in moved
    changed = [refs[0]._replace(run_id="renamed &"), *refs[1:]]  # a job changed: rendered again
    assert _tree(etree.fromstring(renderer.render(changed, url))) == _tree(etree.fromstring(job_list_xml(changed, url)))


def test_default_definitions_are_explicit():
    extra = default_definitions({"PORTAL_JOB_DEFINITIONS": "tests.uws.jobs:DEFINITIONS"})
    names = [d.name for d in extra]
    assert names[-3:] == ["count", "echo", "observations"]
    try:
        from portal.jobs import DEFINITIONS
    except ImportError:
        DEFINITIONS = ()
    assert names[:len(DEFINITIONS)] == [d.name for d in DEFINITIONS]


def test_job_lists_have_etags_and_follow_every_change(uws):
    headers = uws.headers("bob")
    first = uws.client.get("/uws/count", headers=headers)
    etag = first.headers["etag"]
    assert first.headers["cache-control"] == "private, no-cache"
    same = uws.client.get("/uws/count", headers={**headers, "If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    url = uws.create("bob", "count")  # a change: the list is new
    changed = uws.client.get("/uws/count", headers={**headers, "If-None-Match": etag})
    assert changed.status_code == 200 and changed.headers["etag"] != etag
    assert url.rsplit("/", 1)[1].encode() in changed.content
    uws.client.post(url + "/phase", data={"PHASE": "ABORT"}, headers=headers)  # a phase change too
    after_abort = uws.client.get("/uws/count", headers={**headers, "If-None-Match": changed.headers["etag"]})
    assert after_abort.status_code == 200 and b"ABORTED" in after_abort.content
    assert uws.client.get("/uws/count", headers=uws.headers("alice")).headers["etag"] != after_abort.headers["etag"]


def test_a_job_error_with_control_characters_still_renders():
    """Error messages come from the job (a library's coloured output): they must not break documents."""
    now = utcnow()
    job = Job("j1", "echo", "alice", ExecutionPhase.ERROR, (("text", "t"),), now, 60, now,
              run_id="r", error=JobFailure("\x1b[31mfit failed\x1b[0m on file \x00x.fits"))
    parsed = parse_job(io.BytesIO(job_xml(job, "http://h/uws/echo/j1")))
    message = str(parsed.errorsummary.message.content)
    assert "fit failed" in message and "\x1b" not in message and "\x00" not in message
    stale = job.ref()._replace(run_id="stored \x01 before the check")  # a row older than input checks
    assert parse_job_list(io.BytesIO(JobListRenderer().render([stale], "http://h/uws/echo")))[0].runid
