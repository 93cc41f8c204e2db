"""The ownership matrix against a running `portal serve`: every UWS resource and action of a job
(`/uws/echo` and `/tap/async`), tried by its owner, another user, an anonymous caller and a bad
token. Only the owner gets the job's answer; the others get 404 (the job does not exist for them)
or 401 (no valid token where one is needed), and nothing of the job leaks into what they read.
An anonymous TAP async job is reachable by whoever holds its id, as TAP allows."""

from __future__ import annotations

import io

import pytest
from pyvo.io.uws import parse_job_list

from tests.uws.test_isolation import ACTIONS

SECRET = "matrix-secret-51"
CALLERS = ["alice", "bob", None, "bad token"]
TAP_ACTIONS = [a for a in ACTIONS if a[0] not in ("result file", "set parameters")] + [
    ("result file", "GET", "/results/result", None, 200),
    ("set parameters", "POST", "/parameters", {"QUERY": "SELECT 2"}, 409),
]


def headers(portal, caller):
    if caller == "bad token":
        return {"Authorization": "Bearer not-a-token"}
    return portal.headers(caller)


def finished(client, url: str) -> str:
    phase = client.get(url + "/phase").text
    while phase in ("PENDING", "QUEUED", "EXECUTING"):
        client.get(url, params={"WAIT": "10", "PHASE": phase})
        phase = client.get(url + "/phase").text
    return phase


@pytest.fixture(scope="module")
def jobs(portal):
    query = {"LANG": "ADQL", "QUERY": f"SELECT '{SECRET}' AS s FROM TAP_SCHEMA.schemas", "PHASE": "RUN"}
    with portal.client("alice") as alice, portal.client() as anonymous:
        made = {
            "uws": alice.post("/uws/echo", data={"text": SECRET, "PHASE": "RUN"}, follow_redirects=False),
            "tap": alice.post("/tap/async", data=query, follow_redirects=False),
            "tap anonymous": anonymous.post("/tap/async", data=query, follow_redirects=False),
        }
        urls = {k: r.headers["location"] for k, r in made.items()}
        assert {finished(alice if k != "tap anonymous" else anonymous, u) for k, u in urls.items()} == {"COMPLETED"}
    return urls


def expected(kind: str, caller, owner_status: int) -> int:
    if caller == "bad token":
        return 401
    if kind == "tap anonymous" or caller == "alice":
        return owner_status
    if kind == "uws" and caller is None:
        return 401
    return 404


# {job}/publish (portal.uws.publish): the owner's echo job made no product, so publishing it is refused with a
# sentence (400); for everyone else the job does not exist
PUBLISH_ACTIONS = [("publication", "GET", "/publish", None, 200, "unpublished"),
                   ("publish", "POST", "/publish", {"VISIBILITY": "public"}, 400, "made no product"),
                   ("unpublish", "DELETE", "/publish", None, 200, "unpublished")]


@pytest.mark.timeout(300)
def test_publish_is_for_the_owner_only(portal, jobs, cases):
    failures = []
    with portal.client() as client:
        for caller in CALLERS:
            for name, method, path, data, owner_status, owner_text in PUBLISH_ACTIONS:
                response = client.request(method, jobs["uws"] + path, data=data, headers=headers(portal, caller))
                want = expected("uws", caller, owner_status)
                wrong = response.status_code != want or (want == owner_status and owner_text not in response.text)
                if wrong or (want in (401, 404) and (SECRET in response.text or "alice" in response.text)):
                    failures.append((caller, name, response.status_code, want, response.text[:200]))
                cases()
    assert failures == []


@pytest.mark.timeout(600)
def test_ownership_matrix(portal, jobs, cases):
    failures = []
    with portal.client() as client:
        for kind, url in jobs.items():
            actions = ACTIONS if kind == "uws" else TAP_ACTIONS
            for caller in CALLERS:
                for name, method, path, data, owner_status in actions:
                    h = headers(portal, caller)
                    if method == "GET":
                        response = client.get(url + path, headers=h)
                    else:
                        response = client.post(url + path, data=data, headers=h, follow_redirects=False)
                    want = expected(kind, caller, owner_status)
                    leaked = want in (401, 404) and (SECRET in response.text or "alice" in response.text)
                    if response.status_code != want or leaked:
                        failures.append((kind, caller, name, response.status_code, want, leaked))
                    cases()
                for delete in ("DELETE", "ACTION=DELETE"):  # only the owner may (tried last, below)
                    if caller == "alice" or kind == "tap anonymous":
                        continue
                    if delete == "DELETE":
                        response = client.delete(url, headers=headers(portal, caller))
                    else:
                        response = client.post(url, data={"ACTION": "DELETE"}, headers=headers(portal, caller))
                    if response.status_code not in (401, 404):
                        failures.append((kind, caller, delete, response.status_code))
                    cases()
        with portal.client("bob") as bob:  # lists: nobody else sees alice's jobs
            for path in ("/uws/echo", "/tap/async"):
                listed = {j.jobid for j in parse_job_list(io.BytesIO(bob.get(path).content))}
                if listed & {u.rsplit("/", 1)[1] for u in jobs.values()}:
                    failures.append(("list", "bob", path))
                cases()
        anonymous_list = client.get("/tap/async")
        if SECRET in anonymous_list.text or jobs["tap"].rsplit("/", 1)[1] in anonymous_list.text:
            failures.append(("list", "anonymous", "/tap/async"))
        cases()
    assert failures == []
    with portal.client("alice") as alice:  # the owner still has everything, and may delete
        for kind in ("uws", "tap"):
            assert alice.get(jobs[kind] + "/phase").text == "COMPLETED"
            assert alice.delete(jobs[kind], follow_redirects=False).status_code == 303
