"""UWS 1.1 XML documents for jobs, built with vo-models (pyvo's parsers read every one).

Functions take domain values (:mod:`portal.uws.models`) and the URLs the document must link
to, and return ``bytes`` ready to send with :data:`XML`::

    job_xml(job, job_url)                 # <uws:job>, GET {list}/{id}, with the job's progress in <uws:jobInfo>
    job_list_xml(refs, list_url)          # <uws:jobs>, GET {list}
    results_xml(job, job_url)             # <uws:results>, GET {list}/{id}/results
    parameters_xml(job)                   # <uws:parameters>, GET {list}/{id}/parameters

A job that reported its progress has it in UWS 1.1's ``<uws:jobInfo>`` (which takes any content), as
simple elements of the namespace :data:`PROGRESS_NAMESPACE` (prefix ``portal``)::

    <uws:jobInfo xmlns:portal="urn:gamma-portal:uws-progress:v1">
      <portal:stage>flux points</portal:stage> <portal:done>5</portal:done> <portal:total>8</portal:total>
      <portal:timeLeft>42.5</portal:timeLeft> <portal:updated>2025-01-01T10:00:00.000Z</portal:updated>
    </uws:jobInfo>

``done`` of ``total`` counts finished items; ``timeLeft`` is the seconds left in the stage at the pace so far,
as of ``updated`` (when the job said it), shown while EXECUTING only. A completed job says stage ``done``; a
job that ended in ERROR or ABORTED keeps the stage it was in (and its counts).

Job lists can be long (thousands of jobs) and vo-models renders only a few thousand job
references a second, so :class:`JobListRenderer` keeps each job's rendered ``<uws:jobref>``
(keyed by its reference) and assembles lists from those fragments inside a vo-models envelope.
Every fragment is vo-models output; the cache only avoids rendering an unchanged job twice.
A jobref's href is relative to the list (``echo/<id>`` in ``/uws/echo``), so fragments do not
depend on the host or path prefix a request came through.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Iterable
from functools import lru_cache
from typing import Optional

from pydantic_xml import BaseXmlModel, create_model, element
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
from vo_models.uws.models import NSMAP as UWS_NSMAP
from vo_models.voresource.types import UTCTimestamp

from portal.uws.models import ExecutionPhase, Job, JobRef

__all__ = ["XML", "NOT_XML", "PROGRESS_NAMESPACE", "JobListRenderer", "job_href", "job_xml", "job_list_xml",
           "parameters_xml", "results_xml", "result_url", "xml_text"]

XML = "application/xml"
#: Characters XML 1.0 cannot carry (control characters, lone surrogates, U+FFFE, U+FFFF).
NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")


def xml_text(value: str | None) -> str | None:
    """``value`` with the characters XML cannot carry replaced by U+FFFD.

    The service refuses such characters in parameters and run ids, but an error message comes
    from the job (a library's coloured output, a file name): one such job must not make its
    summary or its owner's whole job list fail to render.
    """
    return None if value is None else NOT_XML.sub("\ufffd", value)


PROGRESS_NAMESPACE = "urn:gamma-portal:uws-progress:v1"
DONE = "done"  # the stage a completed job that reported its progress shows


class ProgressInfo(BaseXmlModel, tag="jobInfo", ns="uws", nsmap={**UWS_NSMAP, "portal": PROGRESS_NAMESPACE},
                   skip_empty=True):
    """``<uws:jobInfo>`` with the job's progress."""

    stage: str = element(tag="stage", ns="portal")
    done: Optional[int] = element(tag="done", ns="portal", default=None)
    total: Optional[int] = element(tag="total", ns="portal", default=None)
    time_left: Optional[float] = element(tag="timeLeft", ns="portal", default=None)
    updated: Optional[UTCTimestamp] = element(tag="updated", ns="portal", default=None)


def _progress(job: Job) -> ProgressInfo | None:
    progress = job.progress
    if progress is None:
        return None
    if job.phase == ExecutionPhase.COMPLETED:
        return ProgressInfo(stage=DONE, updated=job.end_time or progress.updated)
    executing = job.phase == ExecutionPhase.EXECUTING
    return ProgressInfo(stage=xml_text(progress.stage), done=progress.done, total=progress.total,
                        time_left=progress.time_left if executing else None, updated=progress.updated)


@lru_cache(maxsize=256)
def _parameters_model(names: tuple[str, ...]) -> type[Parameters]:
    """A vo-models Parameters subclass with one (multi-valued) field per parameter name."""
    fields = {n: (Optional[MultiValuedParameter], element(tag="parameter", default=None)) for n in names}
    return create_model("JobParameters", __base__=Parameters, **fields)


def _parameters(job: Job) -> Parameters:
    grouped: dict[str, list[Parameter]] = {}
    for name, value in job.parameters:
        grouped.setdefault(name, []).append(Parameter(id=name, value=xml_text(value)))
    model = _parameters_model(tuple(grouped))
    return model(**grouped)


@lru_cache(maxsize=256)
def _summary_model(parameters: type[Parameters]) -> type[JobSummary]:
    """vo-models' job summary with these parameters, its ``jobInfo`` holding the job's progress."""
    return create_model("JobWithProgress", __base__=JobSummary[parameters],
                        job_info=(Optional[ProgressInfo], element(tag="jobInfo", default=None)))


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
        error = ErrorSummary(message=xml_text(job.error.message), type=job.error.type, has_detail=True)
    parameters = _parameters(job)
    return _summary_model(type(parameters))(
        job_id=job.job_id,
        run_id=xml_text(job.run_id),
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
        job_info=_progress(job),
    )


def job_xml(job: Job, job_url: str) -> bytes:
    return _summary(job, job_url).to_xml(encoding="UTF-8")


def results_xml(job: Job, job_url: str) -> bytes:
    return _results(job, job_url).to_xml(encoding="UTF-8")


def parameters_xml(job: Job) -> bytes:
    return _parameters(job).to_xml(encoding="UTF-8")


def _jobref(ref: JobRef, href: str) -> str:
    return ShortJobDescription(
        phase=ref.phase, run_id=xml_text(ref.run_id), owner_id=ref.owner, creation_time=ref.creation_time,
        job_id=ref.job_id, href=href,
    ).to_xml(encoding=str)


def job_href(list_name: str, job_id: str) -> str:
    """A jobref's xlink:href, relative to the job list's URL (``/uws/echo`` + ``echo/abc``).

    Relative, so that the reference holds behind any host or path prefix (a JupyterHub proxy)
    and a rendered reference does not depend on the request.
    """
    return f"{list_name}/{job_id}"


def list_name_of(list_url: str) -> str:
    return list_url.rstrip("/").rsplit("/", 1)[-1]


def job_list_xml(refs: Iterable[JobRef], list_url: str) -> bytes:
    """The job list rendered entirely by vo-models (no cache); see :class:`JobListRenderer`."""
    name = list_name_of(list_url)
    jobs = Jobs(jobref=[
        ShortJobDescription(phase=r.phase, run_id=xml_text(r.run_id), owner_id=r.owner, creation_time=r.creation_time,
                            job_id=r.job_id, href=job_href(name, r.job_id))
        for r in refs
    ])
    return jobs.to_xml(encoding="UTF-8")


class JobListRenderer:
    """Job lists assembled from cached vo-models ``<uws:jobref>`` fragments (thread-safe, bounded).

    A fragment is reused while the job's reference (id, phase, owner, run id, creation time)
    and the list's name are unchanged; the least recently used fragments go first when the
    cache is full. Fragments lose the namespace declarations the envelope already makes, when they are exactly those
    (otherwise they keep them: still valid XML).
    """

    def __init__(self, max_entries: int = 200_000) -> None:
        self._cache: OrderedDict[str, tuple[JobRef, str, str]] = OrderedDict()
        self._max = max_entries
        self._lock = threading.Lock()
        envelope = Jobs().to_xml(encoding=str)
        if not envelope.endswith("/>"):  # pragma: no cover - depends on vo-models' output form
            raise RuntimeError(f"unexpected empty job list form: {envelope!r}")
        self._head = envelope[:-2] + ">"
        tag = envelope[1:].split(" ", 1)[0]
        self._tail = f"</{tag}>"
        self._declarations = envelope[len(tag) + 1:].split(" version=", 1)[0]

    def _render(self, ref: JobRef, name: str) -> str:
        text = _jobref(ref, job_href(name, ref.job_id))
        tag = text[1:].split(" ", 1)[0]
        prefix = f"<{tag}{self._declarations} "
        if self._declarations and text.startswith(prefix):
            text = f"<{tag} " + text[len(prefix):]
        return text

    def forget(self, job_id: str) -> None:
        with self._lock:
            self._cache.pop(job_id, None)

    def _store(self, fresh: list[tuple[JobRef, str, str]]) -> None:
        with self._lock:
            for ref, name, text in fresh:
                self._cache[ref.job_id] = (ref, name, text)
                self._cache.move_to_end(ref.job_id)
            while len(self._cache) > self._max:
                self._cache.popitem(last=False)

    def render(self, refs: Iterable[JobRef], list_url: str) -> bytes:
        name = list_name_of(list_url)
        parts: list[str | None] = []
        missing: list[tuple[int, JobRef]] = []
        with self._lock:
            cache = self._cache
            for ref in refs:
                hit = cache.get(ref.job_id)
                if hit is not None and hit[0] == ref and hit[1] == name:
                    parts.append(hit[2])
                else:
                    missing.append((len(parts), ref))
                    parts.append(None)
        fresh = [(ref, name, self._render(ref, name)) for _, ref in missing]
        for (i, _), (_, _, text) in zip(missing, fresh):
            parts[i] = text
        self._store(fresh)
        return "".join([self._head, *parts, self._tail]).encode("utf-8")
