"""UWS 1.1 XML documents for jobs, built with vo-models (pyvo's parsers read every one).

Functions take domain values (:mod:`portal.uws.models`) and the URLs the document must link
to, and return ``bytes`` ready to send with :data:`XML`::

    job_xml(job, job_url)                 # <uws:job>, GET {list}/{id}
    job_list_xml(refs, list_url)          # <uws:jobs>, GET {list}
    results_xml(job, job_url)             # <uws:results>, GET {list}/{id}/results
    parameters_xml(job)                   # <uws:parameters>, GET {list}/{id}/parameters

Job lists can be long (thousands of jobs) and vo-models renders about 5,000 job references a
second, so :class:`JobListRenderer` keeps each job's rendered ``<uws:jobref>`` (keyed by id,
phase and href) and assembles lists from those fragments inside a vo-models envelope. Every
fragment is vo-models output; the cache only avoids rendering an unchanged job twice.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import Optional

from pydantic_xml import create_model, element
from vo_models.uws import (
    ErrorSummary,
    Jobs,
    JobSummary,
    MultiValuedParameter,
    Parameter,
    Parameters,
    ResultReference,
    Results,
    ShortJobDescription,
)

from portal.uws.models import Job, JobRef

__all__ = ["XML", "JobListRenderer", "job_xml", "job_list_xml", "parameters_xml", "results_xml",
           "result_url"]

XML = "application/xml"


@lru_cache(maxsize=256)
def _parameters_model(names: tuple[str, ...]) -> type[Parameters]:
    """A vo-models Parameters subclass with one (multi-valued) field per parameter name."""
    fields = {n: (Optional[MultiValuedParameter], element(tag="parameter", default=None)) for n in names}
    return create_model("JobParameters", __base__=Parameters, **fields)


def _parameters(job: Job) -> Parameters:
    grouped: dict[str, list[Parameter]] = {}
    for name, value in job.parameters:
        grouped.setdefault(name, []).append(Parameter(id=name, value=value))
    model = _parameters_model(tuple(grouped))
    return model(**grouped)


@lru_cache(maxsize=256)
def _summary_model(parameters: type[Parameters]) -> type[JobSummary]:
    return JobSummary[parameters]


def result_url(job_url: str, result_id: str) -> str:
    return f"{job_url}/results/{result_id}"


def _results(job: Job, job_url: str) -> Results:
    return Results(results=[
        ResultReference(id=r.id, href=result_url(job_url, r.id), size=r.size, mime_type=r.mime_type)
        for r in job.results
    ])


def _summary(job: Job, job_url: str) -> JobSummary:
    error = None
    if job.error is not None:
        error = ErrorSummary(message=job.error.message, type=job.error.type, has_detail=True)
    parameters = _parameters(job)
    return _summary_model(type(parameters))(
        job_id=job.job_id,
        run_id=job.run_id,
        owner_id=job.owner,
        phase=job.phase,
        quote=job.quote,
        creation_time=job.creation_time,
        start_time=job.start_time,
        end_time=job.end_time,
        execution_duration=job.execution_duration,
        destruction=job.destruction,
        parameters=parameters,
        results=_results(job, job_url),
        error_summary=error,
    )


def job_xml(job: Job, job_url: str) -> bytes:
    return _summary(job, job_url).to_xml(encoding="UTF-8")


def results_xml(job: Job, job_url: str) -> bytes:
    return _results(job, job_url).to_xml(encoding="UTF-8")


def parameters_xml(job: Job) -> bytes:
    return _parameters(job).to_xml(encoding="UTF-8")


def _jobref(ref: JobRef, href: str) -> str:
    return ShortJobDescription(
        phase=ref.phase, run_id=ref.run_id, owner_id=ref.owner, creation_time=ref.creation_time,
        job_id=ref.job_id, href=href,
    ).to_xml(encoding=str)


def job_list_xml(refs: Iterable[JobRef], list_url: str) -> bytes:
    """The job list rendered entirely by vo-models (no cache); see :class:`JobListRenderer`."""
    jobs = Jobs(jobref=[
        ShortJobDescription(phase=r.phase, run_id=r.run_id, owner_id=r.owner, creation_time=r.creation_time,
                            job_id=r.job_id, href=f"{list_url}/{r.job_id}")
        for r in refs
    ])
    return jobs.to_xml(encoding="UTF-8")


class JobListRenderer:
    """Job lists assembled from cached vo-models ``<uws:jobref>`` fragments (thread-safe, bounded)."""

    def __init__(self, max_entries: int = 200_000) -> None:
        self._cache: OrderedDict[str, tuple[tuple, str]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        envelope = Jobs().to_xml(encoding=str)
        if not envelope.endswith("/>"):  # pragma: no cover - depends on vo-models' output form
            raise RuntimeError(f"unexpected empty job list form: {envelope!r}")
        self._head = envelope[:-2] + ">"
        self._tail = f"</{envelope[1:].split(' ', 1)[0]}>"

    def fragment(self, ref: JobRef, list_url: str) -> str:
        href = f"{list_url}/{ref.job_id}"
        key = (ref.phase, ref.run_id, ref.owner, ref.creation_time, href)
        with self._lock:
            hit = self._cache.get(ref.job_id)
            if hit is not None and hit[0] == key:
                self._cache.move_to_end(ref.job_id)
                return hit[1]
        text = _jobref(ref, href)
        with self._lock:
            self._cache[ref.job_id] = (key, text)
            self._cache.move_to_end(ref.job_id)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)
        return text

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._cache.pop(job_id, None)

    def render(self, refs: Iterable[JobRef], list_url: str) -> bytes:
        parts = [self._head]
        parts.extend(self.fragment(r, list_url) for r in refs)
        parts.append(self._tail)
        return "".join(parts).encode("utf-8")
