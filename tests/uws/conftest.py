"""Fixtures of the job-service tests: the real application, in-process, on a real Dask cluster.

One application (``portal.app.create_app`` with the test definitions of ``tests.uws.jobs``)
and its LocalCluster serve the whole session; tests drive it over HTTP with Starlette's
client (httpx) and read every UWS document with pyvo's parsers.
"""

from __future__ import annotations

import asyncio
import io
import os
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from unittest import mock

import pytest
from fastapi.testclient import TestClient
from pyvo.io.uws import parse_job

from portal.auth import TokenStore, token_path
from portal.config import Settings
from tests.uws.jobs import DEFINITIONS

FINAL = {"COMPLETED", "ERROR", "ABORTED"}


def run_async(coro):
    """``asyncio.run`` in a thread of its own: in a full test session the main thread may already
    run an event loop (Playwright's sync API keeps one for its session-wide browser)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coro).result()


@dataclass
class Portal:
    client: TestClient
    tokens: dict[str, str]
    data_dir: object

    @property
    def service(self):
        """The application's job service (portal.uws.service.JobService), for what HTTP does not show."""
        return self.client.app.state.uws

    def headers(self, user: str | None) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[user]}"} if user else {}

    def create(self, user: str, job_list: str, run: bool = False, **params) -> str:
        data = {k: str(v) for k, v in params.items()}
        if run:
            data["PHASE"] = "RUN"
        response = self.client.post(f"/uws/{job_list}", data=data, headers=self.headers(user),
                                    follow_redirects=False)
        assert response.status_code == 303, response.text
        return response.headers["location"]

    def job(self, url: str, user: str = "alice", **params):
        response = self.client.get(url, params=params, headers=self.headers(user))
        assert response.status_code == 200, response.text
        return parse_job(io.BytesIO(response.content))

    def wait(self, url: str, phases=FINAL, user: str = "alice", timeout: float = 120):
        """Block (UWS WAIT) until the job's phase is in ``phases``."""
        deadline = time.monotonic() + timeout
        job = self.job(url, user)
        while job.phase not in phases:
            assert time.monotonic() < deadline, f"job still {job.phase} after {timeout} s"
            job = self.job(url, user, WAIT=5, PHASE=job.phase)
        return job


@pytest.fixture(scope="session")
def uws(tmp_path_factory):
    from portal.app import create_app

    data_dir = tmp_path_factory.mktemp("uws-data")
    env = {"PORTAL_UWS_MAX_RUNNING": "4", "PORTAL_UWS_MAX_RUNNING_PER_USER": "3", "PORTAL_DASK_WORKERS": "1"}
    with mock.patch.dict(os.environ, env):
        app = create_app(Settings(data_dir=data_dir), job_definitions=DEFINITIONS)
    tokens = {name: TokenStore(token_path(data_dir)).create(name) for name in ("alice", "bob")}
    with TestClient(app) as client:
        yield Portal(client, tokens, data_dir)


def jobs_dir(uws: Portal):
    return uws.data_dir / "uws" / "jobs"
