"""A job is visible only to its owner: another user gets 404 for everything about it, no token 401."""

from __future__ import annotations

import io

import pytest
from pyvo.io.uws import parse_job_list

OWNER, OTHER, ANONYMOUS = "alice", "bob", None


@pytest.fixture(scope="module")
def jobs(uws):
    """A finished job with results and a pending one, both alice's."""
    done = uws.create(OWNER, "echo", run=True, text="secret")
    uws.wait(done)
    pending = uws.create(OWNER, "echo", text="pending secret")
    return {"done": done, "pending": pending}


# (name, method, path below the job, form data, owner's expected status)
ACTIONS = [
    ("get", "GET", "", None, 200),
    ("phase", "GET", "/phase", None, 200),
    ("parameters", "GET", "/parameters", None, 200),
    ("results", "GET", "/results", None, 200),
    ("result file", "GET", "/results/echo", None, 200),
    ("log", "GET", "/results/log", None, 200),
    ("provenance", "GET", "/results/provenance", None, 200),
    ("error", "GET", "/error", None, 404),  # the owner's job has no error
    ("owner", "GET", "/owner", None, 200),
    ("quote", "GET", "/quote", None, 200),
    ("executionduration", "GET", "/executionduration", None, 200),
    ("destruction", "GET", "/destruction", None, 200),
    ("set destruction", "POST", "/destruction", {"DESTRUCTION": "2030-01-01T00:00:00Z"}, 303),
    ("run", "POST", "/phase", {"PHASE": "RUN"}, 409),  # finished already
    ("abort", "POST", "/phase", {"PHASE": "ABORT"}, 303),
    ("set parameters", "POST", "/parameters", {"text": "changed"}, 409),
    ("bad action", "POST", "", {"ACTION": "EXPLODE"}, 400),
]


def request(uws, user, method, url, data):
    if method == "GET":
        return uws.client.get(url, headers=uws.headers(user))
    return uws.client.post(url, data=data, headers=uws.headers(user), follow_redirects=False)


@pytest.mark.parametrize("name, method, path, data, owner_status", ACTIONS, ids=[a[0] for a in ACTIONS])
@pytest.mark.parametrize("user", [OWNER, OTHER, ANONYMOUS], ids=["owner", "other", "anonymous"])
def test_matrix(uws, jobs, user, name, method, path, data, owner_status):
    response = request(uws, user, method, jobs["done"] + path, data)
    if user == OWNER:
        assert response.status_code == owner_status, response.text
    elif user == OTHER:
        assert response.status_code == 404, response.text
        assert "secret" not in response.text and OWNER not in response.text
    else:
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Bearer")


@pytest.mark.parametrize("user", [OTHER, ANONYMOUS], ids=["other", "anonymous"])
def test_others_cannot_change_or_delete(uws, jobs, user):
    expected = 404 if user else 401
    pending = jobs["pending"]
    assert request(uws, user, "POST", pending + "/parameters", {"text": "hijacked"}).status_code == expected
    assert request(uws, user, "POST", pending + "/phase", {"PHASE": "RUN"}).status_code == expected
    assert request(uws, user, "POST", pending + "/executionduration",
                   {"EXECUTIONDURATION": "5"}).status_code == expected
    assert uws.client.delete(pending, headers=uws.headers(user)).status_code == expected
    assert request(uws, user, "POST", pending, {"ACTION": "DELETE"}).status_code == expected
    job = uws.job(pending, OWNER)
    assert job.phase == "PENDING"
    assert {p.id_: str(p.content) for p in job.parameters} == {"text": "pending secret"}


def test_lists_show_only_ones_own_jobs(uws, jobs):
    mine = parse_job_list(io.BytesIO(uws.client.get("/uws/echo", headers=uws.headers(OWNER)).content))
    theirs = parse_job_list(io.BytesIO(uws.client.get("/uws/echo", headers=uws.headers(OTHER)).content))
    ids = {url.rsplit("/", 1)[1] for url in jobs.values()}
    assert ids <= {j.jobid for j in mine}
    assert not ids & {j.jobid for j in theirs}
    assert all(j.ownerid == OTHER for j in theirs)
    assert uws.client.get("/uws/echo").status_code == 401
    assert uws.client.get("/uws").status_code == 401
    assert uws.client.post("/uws/echo", data={"text": "x"}).status_code == 401


def test_a_job_is_not_reachable_through_another_list(uws, jobs):
    job_id = jobs["done"].rsplit("/", 1)[1]
    assert uws.client.get(f"/uws/count/{job_id}", headers=uws.headers(OWNER)).status_code == 404


@pytest.mark.parametrize("header", ["Bearer nope", "Bearer ", "Basic YWxpY2U6eA==", "Bearer " + "x" * 5000, "token"])
def test_bad_credentials_are_refused(uws, jobs, header):
    response = uws.client.get(jobs["done"], headers={"Authorization": header})
    assert response.status_code == 401


def test_delete_by_owner_works_last(uws, jobs):
    assert uws.client.delete(jobs["pending"], headers=uws.headers(OWNER), follow_redirects=False).status_code == 303
    assert uws.client.get(jobs["pending"], headers=uws.headers(OWNER)).status_code == 404
