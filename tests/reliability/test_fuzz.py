"""1,000 generated ADQL queries (hypothesis; the same ones every run) against `portal serve`: each
answers with a result or a 400 that says why, never a server error, and the archive is unchanged.
Then 300 queries with a huge or long number (sync) and the issue's cases as TAP async jobs: 400 (or
ERROR) with a sentence saying the number is out of range, never a 5xx or an exception's name."""

from __future__ import annotations

import time

import pytest

from tests.reliability.adql_strategies import INTERNAL_NAME, fuzz, huge_number_queries, representable
from tests.reliability.conftest import archive_digest
from tests.reliability.votables import error_message

N = 1000


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_fuzzed_adql_1000_cases_no_server_error_archive_unchanged(portal, cases):
    before = archive_digest(portal.data_dir)
    tally = fuzz(portal.url, N)
    cases(tally["cases"])
    print(f"fuzzed ADQL: {tally['cases']} cases, {tally['ok']} answered, {tally['refused']} refused with a "
          f"message, {len(tally['server_errors'])} server errors")
    assert tally["cases"] >= N
    assert tally["server_errors"] == []
    assert tally["ok"] > 50 and tally["refused"] > 50  # the generator reaches both sides
    assert archive_digest(portal.data_dir) == before


HUGE_N = 300
# the cases, as an async job too: a VisitError once reached the job's error summary
ASYNC_HUGE = (
    ("SELECT TOP 1 obs_id FROM ivoa.obscore WHERE t_min > " + "9" * 5000, False),
    ("SELECT " + "1" + "0" * 4300 + " FROM ivoa.obscore", False),
    ("SELECT TOP 1 obs_id FROM ivoa.obscore WHERE t_min > 1e99999", False),
    ("SELECT TOP 0x" + "f" * 5000 + " obs_id FROM ivoa.obscore", False),
    ("SELECT obs_id FROM ivoa.obscore OFFSET " + "9" * 5000, False),
    ("SELECT TOP 1 obs_id FROM ivoa.obscore WHERE t_min > " + "7" * 400 + ".5", False),
    ("SELECT TOP 1 obs_id FROM ivoa.obscore WHERE t_min > 0." + "3" * 50_000, True),
)


def _refusal_ok(message: str | None, literal_fits: bool) -> bool:
    """A sentence naming no exception class; for a number nothing holds, one that says so."""
    if not message or len(message) < 20 or INTERNAL_NAME.search(message):
        return False
    return literal_fits or any(words in message for words in ("out of range", "too large", "needs a whole number"))


@pytest.mark.timeout(900)
def test_huge_numbers_300_cases_answer_400_with_a_sentence(portal, cases):
    """Integers of up to 30,000 digits, 1e999999, 0x and 20,000 f's, long decimals, in every place a
    number stands (SELECT, WHERE, BETWEEN, IN, CIRCLE, a function, TOP, OFFSET, ORDER BY): an
    unrepresentable number is a 400 saying it is out of range; a long decimal a double holds is a result."""
    from hypothesis import HealthCheck, given, settings

    bad = []
    tally = {"answered": 0, "refused": 0}
    with portal.client() as client:
        @settings(max_examples=HUGE_N, deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck), phases=("generate",))
        @given(case=huge_number_queries())
        def one(case):
            query, literal = case
            cases()
            response = client.post("/tap/sync", data={"LANG": "ADQL", "MAXREC": "10", "QUERY": query})
            fits = representable(literal)
            if response.status_code == 200 and fits:
                tally["answered"] += 1
            elif response.status_code == 400 and _refusal_ok(error_message(response.content), fits):
                tally["refused"] += 1
            else:
                bad.append((response.status_code, query[:120], len(query), error_message(response.content)))

        one()
    print(f"huge numbers: {tally}")
    assert bad == []
    assert tally["answered"] > 10 and tally["refused"] > 100


@pytest.mark.timeout(600)
def test_huge_numbers_as_async_jobs_end_in_error_with_a_sentence(portal, cases):
    """The same numbers as TAP async jobs: ERROR with the sync query's sentence (no VisitError), or
    COMPLETED for the long decimal a double holds."""
    with portal.client() as client:
        for query, fits in ASYNC_HUGE:
            created = client.post("/tap/async", data={"LANG": "ADQL", "QUERY": query, "PHASE": "RUN"},
                                  follow_redirects=False)
            assert created.status_code == 303, created.text
            job = created.headers["location"]
            deadline = time.monotonic() + 300
            phase = ""
            while time.monotonic() < deadline:
                phase = client.get(job + "/phase").text
                if phase in ("COMPLETED", "ERROR", "ABORTED"):
                    break
                client.get(job, params={"WAIT": "5", "PHASE": phase})
            assert phase == ("COMPLETED" if fits else "ERROR"), (query[:80], phase)
            if not fits:
                error = client.get(job + "/error")  # TAP: a VOTable error document
                message = error_message(error.content) or error.text
                assert _refusal_ok(message, False), message[:400]
            sync = client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query})
            assert sync.status_code == (200 if fits else 400)
            if not fits:
                assert error_message(sync.content) == message
            client.delete(job)
            cases()
