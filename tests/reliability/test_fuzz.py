"""1,000 generated ADQL queries (hypothesis; the same ones every run) against `portal serve`: each
answers with a result or a 400 that says why, never a server error, and the archive is unchanged."""

from __future__ import annotations

import pytest

from tests.reliability.adql_strategies import fuzz
from tests.reliability.conftest import archive_digest

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
