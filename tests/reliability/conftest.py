"""The reliability suite: a real `portal serve` probed as an attacker or a careless user would.

Every test counts its cases with the ``cases`` fixture; the counts are printed at the end of the
run ("reliability cases" in the summary), so the report of `make test` says how much was tried.
Each test is bounded in time (``pytest.mark.timeout`` and HTTP timeouts) and waits on conditions.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from portal.archive import store
from portal.archive.ingest import ingest_release, ingest_synthetic
from portal.auth import TokenStore, token_path
from tests.support.servers import Server, start_portal

GAMMAPY_DATA = Path(os.environ.get("GAMMAPY_DATA", "/nonexistent"))
DR1 = GAMMAPY_DATA / "hess-dl3-dr1"
USERS = ("alice", "bob")
BASE_ENV = {
    "PORTAL_JOB_DEFINITIONS": "tests.uws.jobs:DEFINITIONS",
    "PORTAL_DEFAULT_DATASET": "none",  # the archive is built beforehand: the server never writes it
    "PORTAL_DASK_WORKERS": "1",
    "PORTAL_LOG_LEVEL": "DEBUG",  # the job services say when a WAIT blocks (test_inputs waits for it)
}  # the default sync budget (60 s): with a shorter one, a query queued behind 49 others on a loaded
#    machine ran out of time (seen with both cores busy)
_COUNTS: Counter = Counter()


_OUTCOMES: dict[str, str] = {}


def pytest_runtest_logreport(report):
    if report.when == "call" or report.outcome != "passed":
        _OUTCOMES.setdefault(report.nodeid.rsplit("::", 1)[-1], report.outcome)


def pytest_terminal_summary(terminalreporter):
    if _COUNTS:
        terminalreporter.section("reliability cases")
        for name, n in sorted(_COUNTS.items()):
            terminalreporter.write_line(f"{name}: {n} cases")
    if os.environ.get("RELIABILITY_REPORT"):  # `make bench` reads the counts and outcomes from here
        Path(os.environ["RELIABILITY_REPORT"]).write_text(json.dumps(
            {"cases": dict(_COUNTS), "outcomes": _OUTCOMES}, indent=1))


@pytest.fixture
def cases(request):
    """``cases(n=1)`` counts cases tried by the test; the total is printed at the end."""
    name = request.node.name

    def count(n: int = 1) -> None:
        _COUNTS[name] += n
    return count


def archive_digest(data_dir: Path) -> str:
    return hashlib.sha256(store.db_path(data_dir).read_bytes()).hexdigest()


@dataclass
class Portal:
    server: Server
    data_dir: Path
    tokens: dict[str, str]
    has_dr1: bool

    @property
    def url(self) -> str:
        return self.server.url

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def client(self, user: str | None = None, timeout: float = 60) -> httpx.Client:
        return httpx.Client(base_url=self.url, headers=self.headers(user), timeout=timeout)


def build_archive(data_dir: Path) -> bool:
    """H.E.S.S. DR1 (when $GAMMAPY_DATA has it) and 500 synthetic rows; True with DR1."""
    data_dir.mkdir(parents=True, exist_ok=True)
    has_dr1 = (DR1 / "obs-index.fits.gz").is_file()
    if has_dr1:
        ingest_release(store.db_path(data_dir), DR1)
    ingest_synthetic(store.db_path(data_dir), 500, seed=16)
    return has_dr1


def start(data_dir: Path, env: dict[str, str] | None = None) -> Portal:
    has_dr1 = build_archive(data_dir) if not store.db_path(data_dir).exists() else (DR1 / "obs-index.fits.gz").is_file()
    tokens = {user: TokenStore(token_path(data_dir)).create(user) for user in USERS}
    server = start_portal(data_dir, {**BASE_ENV, **(env or {})})
    return Portal(server, data_dir, tokens, has_dr1)


@pytest.fixture(scope="session")
def portal(tmp_path_factory):
    """The default configuration (anonymous URL uploads off), shared by the suite."""
    started = start(tmp_path_factory.mktemp("reliability"))
    try:
        yield started
    finally:
        started.server.stop()
