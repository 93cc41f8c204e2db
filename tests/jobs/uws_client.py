"""Drive analysis jobs through a running job service over HTTP (UWS 1.1, parsed with pyvo).

Used by the integration tests and by ``benchmarks/bench_analysis.py``: submit with PHASE=RUN,
follow the job summary, and record each new version of a result as it is published.
"""

from __future__ import annotations

import hashlib
import io
import subprocess
import sys
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import httpx
from pyvo.io.uws import parse_job

FINAL = {"COMPLETED", "ERROR", "ABORTED"}


def create_token(data_dir: Path, user: str) -> str:
    """A bearer token for ``user`` (``portal token create``), against the server's data dir."""
    out = subprocess.run([sys.executable, "-m", "portal.cli", "token", "create", user], capture_output=True,
                         text=True, check=True, env={"PORTAL_DATA_DIR": str(data_dir), "PATH": "/usr/bin:/bin"})
    return out.stdout.strip().splitlines()[-1].strip()


@dataclass
class Version:
    """One published version of a result, as a watcher downloaded it."""

    seconds: float  # since the job was asked to run
    phase: str
    content: bytes


@dataclass
class Watched:
    job_url: str
    phase: str
    submitted: float  # perf_counter when the POST with PHASE=RUN was sent
    finished: float
    error: str | None = None
    execution_s: float | None = None  # the service's own startTime to endTime
    versions: dict[str, list[Version]] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)  # id -> href

    def first(self, result_id: str) -> Version | None:
        versions = self.versions.get(result_id) or []
        return versions[0] if versions else None


class UWSClient:
    def __init__(self, base_url: str, token: str, timeout: float = 30) -> None:
        self.http = httpx.Client(base_url=base_url, headers={"Authorization": f"Bearer {token}"}, timeout=timeout)

    def close(self) -> None:
        self.http.close()

    def submit(self, definition: str, params: dict, run: bool = True) -> str:
        data = {k: ",".join(map(str, v)) if isinstance(v, list | tuple) else str(v) for k, v in params.items()}
        if run:
            data["PHASE"] = "RUN"
        response = self.http.post(f"/uws/{definition}", data=data, follow_redirects=False)
        if response.status_code != 303:
            raise RuntimeError(f"job creation answered {response.status_code}: {response.text}")
        return str(self.http.base_url.join(response.headers["location"]))

    def summary(self, job_url: str):
        response = self.http.get(job_url)
        response.raise_for_status()
        return parse_job(io.BytesIO(response.content))

    def run_and_watch(self, definition: str, params: dict, watch: Iterable[str] = (), poll: float = 0.1,
                      refresh: float = 1.0, timeout: float = 900) -> Watched:
        """Submit and run a job, download every new version of the ``watch`` results, until it ends.

        The summary is read every ``poll`` seconds; a watched result is downloaded as soon as it
        appears, then again at most every ``refresh`` seconds (and at the end) to catch new versions.
        """
        watch = set(watch)
        started = time.perf_counter()
        job_url = self.submit(definition, params)
        seen: dict[str, str] = {}
        fetched: dict[str, float] = {}
        watched = Watched(job_url, "PENDING", started, started)
        while True:
            job = self.summary(job_url)
            phase = str(job.phase)
            now = time.perf_counter()
            for result in job.results or []:
                watched.results[result.id_] = result.href
                due = result.id_ not in fetched or now - fetched[result.id_] >= refresh or phase in FINAL
                if result.id_ in watch and due:
                    fetched[result.id_] = now
                    content = self.http.get(result.href).content
                    digest = hashlib.sha256(content).hexdigest()
                    if seen.get(result.id_) != digest:
                        seen[result.id_] = digest
                        watched.versions.setdefault(result.id_, []).append(Version(now - started, phase, content))
            if phase in FINAL:
                watched.phase, watched.finished = phase, now
                if job.starttime is not None and job.endtime is not None:
                    watched.execution_s = float((job.endtime - job.starttime).to_value("s"))
                if phase == "ERROR":
                    watched.error = self.http.get(f"{job_url}/error").text
                return watched
            if now - started > timeout:
                raise TimeoutError(f"{job_url} still {phase} after {timeout} s")
            time.sleep(poll)

    def result(self, watched: Watched, result_id: str) -> bytes:
        response = self.http.get(watched.results[result_id])
        response.raise_for_status()
        return response.content
