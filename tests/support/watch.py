"""Run analysis jobs and record what a watcher sees, through the widget library's one client.

Used by the integration tests and ``benchmarks/bench_analysis.py``. The job is followed with
blocking WAIT (``widgets.client.UWSClient.wait`` with the job's ETag: it returns on every change,
a phase, a new result version or new log lines), never by polling; each change downloads the
watched results, and every new version (by content) is kept with the time it was seen.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable
from dataclasses import dataclass, field

from widgets.client import FINAL, PortalClient

__all__ = ["Version", "Watched", "result", "run_and_watch", "wait_final"]


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
    error: str | None = None  # the job's error document, for a job in ERROR
    execution_s: float | None = None  # the service's own startTime to endTime
    versions: dict[str, list[Version]] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)  # id -> URL
    wakes: int = 0  # WAIT answers (the changes seen)

    def first(self, result_id: str) -> Version | None:
        versions = self.versions.get(result_id) or []
        return versions[0] if versions else None


def _follow(client: PortalClient, url: str, started: float, watch: set[str], refresh: float, timeout: float,
            wait: float) -> Watched:
    watched = Watched(url, "PENDING", started, started)
    seen: dict[str, str] = {}
    fetched: dict[str, float] = {}
    info = client.uws.job(url)
    while True:
        now = time.perf_counter()
        final = info.phase in FINAL
        watched.results.update(info.results)
        for result_id in sorted(watch & info.results.keys()):
            if result_id in fetched and now - fetched[result_id] < refresh and not final:
                continue
            fetched[result_id] = now
            content = client.uws.result(info.results[result_id])
            digest = hashlib.sha256(content).hexdigest()
            if seen.get(result_id) != digest:
                seen[result_id] = digest
                watched.versions.setdefault(result_id, []).append(Version(now - started, info.phase, content))
        if final:
            watched.phase, watched.finished = info.phase, now
            if info.start_time is not None and info.end_time is not None:
                watched.execution_s = (info.end_time - info.start_time).total_seconds()
            if info.phase == "ERROR":
                watched.error = client.uws.error(url)
            return watched
        left = timeout - (now - started)
        if left <= 0:
            raise TimeoutError(f"{url} still {info.phase} after {timeout} s")
        new = client.uws.wait(url, phase=info.phase, etag=info.etag, timeout=min(wait, max(1.0, left)))
        watched.wakes += 1
        if new is not None:
            info = new


def run_and_watch(client: PortalClient, definition: str, params: dict, watch: Iterable[str] = (),
                  refresh: float = 0.0, timeout: float = 900, wait: float = 30) -> Watched:
    """Create and run a job, download every new version of the ``watch`` results, until it ends.

    A watched result is downloaded as soon as it appears, then at each change of the job at most
    every ``refresh`` seconds (0: at every change), and once more at the end.
    """
    started = time.perf_counter()
    url = client.uws.create(definition, params, run=True)
    return _follow(client, url, started, set(watch), refresh, timeout, wait)


def wait_final(client: PortalClient, url: str, started: float | None = None, timeout: float = 1800) -> Watched:
    """Follow an already submitted job to its end (no results downloaded)."""
    return _follow(client, url, time.perf_counter() if started is None else started, set(), 0.0, timeout, 30)


def result(client: PortalClient, watched: Watched, result_id: str) -> bytes:
    """The content of a result of a watched job (a KeyError names the results there are)."""
    if result_id not in watched.results:
        raise KeyError(f"{watched.job_url} has no result {result_id!r} (results: {', '.join(sorted(watched.results))})")
    return client.uws.result(watched.results[result_id])
