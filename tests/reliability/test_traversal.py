"""No file outside its root is served: traversal payloads (plain, encoded, double-encoded, NUL,
backslash, overlong UTF-8, absolute, Windows forms) in every place a path or an id is taken, on
`/data`, `/data/preview`, `/datalink`, UWS results and TAP async results."""

from __future__ import annotations

from urllib.parse import quote

import pytest

SECRET = "reliability-canary-7f3a"
TARGETS = ["etc/passwd", "archive.sqlite", "auth/tokens.sqlite", "canary.txt", "../canary.txt"]
FORMS = [
    "../../../../{t}", "..%2f..%2f..%2f..%2f{t}", "%2e%2e%2f%2e%2e%2f%2e%2e%2f{t}", "%252e%252e%252f%252e%252e%252f{t}",
    "..%5c..%5c..%5c{t}", "..\\..\\..\\{t}", "%2e%2e%5c%2e%2e%5c{t}", "..%00/{t}", "{t}%00.fits", "%00../../{t}",
    "..%c0%af..%c0%af{t}", "/{t}", "%2f{t}", "file:///{t}", "....//....//{t}", "..;/..;/{t}", ".%2e/.%2e/{t}",
]
PAYLOADS = [form.format(t=t) for form in FORMS for t in TARGETS]


def endpoints(portal, uws_job: str, tap_job: str, dr1_id: str | None) -> list[str]:
    places = ["/data?ID={p}", "/data/preview?ID={p}", "/datalink?ID={p}", "/data/{p}",
              uws_job + "/results/{p}", tap_job + "/results/{p}", "/tap/async/{p}/results/result",
              "/uws/echo/{p}/results/echo"]
    if dr1_id:
        places += [f"/data?ID={quote(dr1_id, safe='')}&HDU={{p}}", f"/datalink?ID={quote(dr1_id, safe='')}/{{p}}"]
    return places


@pytest.fixture(scope="module")
def jobs(portal):
    with portal.client("alice") as alice, portal.client() as anonymous:
        uws_job = alice.post("/uws/echo", data={"text": "t", "PHASE": "RUN"}, follow_redirects=False).headers["location"]
        tap_job = anonymous.post("/tap/async", data={"LANG": "ADQL", "QUERY": "SELECT TOP 1 obs_id FROM ivoa.obscore",
                                                     "PHASE": "RUN"}, follow_redirects=False).headers["location"]
        for url, client in ((uws_job, alice), (tap_job, anonymous)):
            phase = client.get(url + "/phase").text
            while phase in ("PENDING", "QUEUED", "EXECUTING"):
                client.get(url, params={"WAIT": "10", "PHASE": phase})
                phase = client.get(url + "/phase").text
            assert phase == "COMPLETED"
    return uws_job.removeprefix(portal.url), tap_job.removeprefix(portal.url)


@pytest.mark.timeout(600)
def test_traversal_is_refused_everywhere(portal, jobs, cases):
    (portal.data_dir / "canary.txt").write_text(SECRET)
    (portal.data_dir.parent / "canary.txt").write_text(SECRET)
    dr1_id = "ivo://gamma-portal/archive?hess-dl3-dr1/23523" if portal.has_dr1 else None
    served = []
    with portal.client("alice") as client:
        for place in endpoints(portal, *jobs, dr1_id):
            for payload in PAYLOADS:
                response = client.get(portal.url + place.format(p=payload), follow_redirects=False)
                body = response.content
                if (response.status_code >= 500 or SECRET.encode() in body or b"root:x:" in body
                        or body.startswith(b"SQLite format")):
                    served.append((place, payload, response.status_code))
                elif response.status_code == 200:
                    # an answer must be the resource the route serves (a DataLink error document, the
                    # job's own result), never a file named by the payload
                    assert "votable" in response.headers.get("content-type", "") or place.startswith(
                        ("/uws/", "/tap/async/")), (place, payload, response.headers)
                cases()
    print(f"traversal: {len(PAYLOADS)} payloads x {len(endpoints(portal, *jobs, dr1_id))} places, "
          f"{len(served)} served")
    assert served == []
