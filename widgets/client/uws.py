"""The UWS 1.1 part of the client: job definitions, jobs, lists, results, blocking WAIT.

Every UWS document is parsed by pyvo (:func:`pyvo.io.uws.parse_job`, ``parse_job_list``), so the
client reads any UWS 1.1 service, not only the portal's. What only the portal offers is used
when it is there and never required:

- ``GET /uws?format=json`` (the job definitions, for forms); a service without it has no
  definitions and the launcher asks for parameters by name;
- the job's ``ETag`` and WAIT with ``If-None-Match`` (wake on any change, 304 when none);
  without them :meth:`UWSClient.wait` is plain UWS 1.1 WAIT on the phase;
- ``Range`` on results (a log tail fetches only what is new); without it the whole file comes
  and the new part is cut from it;
- the job's stage in UWS 1.1's ``jobInfo`` (``stage``, ``done``, ``total``, ``timeLeft``, ``updated``
  elements, as pyvo parses them): :class:`Progress`; None for a job or a service that says nothing.
"""

from __future__ import annotations

import io
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import Any
from urllib.parse import urljoin

from portal.seam.params import REQUIRED, Parameter
from portal.seam.phases import ACTIVE_PHASES, FINAL_PHASES
from widgets.client.errors import ServiceError

__all__ = ["ACTIVE", "FINAL", "Definition", "JobInfo", "JobRef", "Progress", "UWSClient"]

ACTIVE = ACTIVE_PHASES
FINAL = FINAL_PHASES
EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


@dataclass(frozen=True)
class Definition:
    """A kind of job a service runs: its parameters (the portal's own rules, so that the form and
    the service check values alike) and its results."""

    name: str
    url: str  # the job list
    description: str = ""
    parameters: tuple[Parameter, ...] = ()
    results: tuple[dict, ...] = ()
    execution_duration: int | None = None

    def parameter(self, name: str) -> Parameter:
        for p in self.parameters:
            if p.name.lower() == name.lower():
                return p
        raise KeyError(name)

    @classmethod
    def from_json(cls, item: dict[str, Any]) -> "Definition":
        params = []
        for p in item.get("parameters") or []:
            default = REQUIRED if p.get("required") else p.get("default")
            if isinstance(default, list):
                default = tuple(default)
            choices = tuple(p["choices"]) if p.get("choices") else None
            named = p.get("choice_labels") if isinstance(p.get("choice_labels"), dict) else {}
            params.append(Parameter(
                name=str(p["name"]), type=p.get("type") or "string", doc=p.get("doc") or "", default=default,
                unit=p.get("unit") or None, minimum=p.get("minimum"), maximum=p.get("maximum"),
                choices=choices, ucd=p.get("ucd") or None, column=p.get("column") or None,
                label=str(p["label"]) if p.get("label") else None,
                choice_labels=tuple(str(named.get(c) or c) for c in choices) if choices and named else None))
        return cls(name=str(item["name"]), url=str(item.get("url") or ""), description=item.get("description") or "",
                   parameters=tuple(params), results=tuple(item.get("results") or ()),
                   execution_duration=item.get("execution_duration"))


@dataclass(frozen=True)
class JobRef:
    """A job as a job list shows it."""

    job_id: str
    url: str
    list_name: str
    phase: str
    run_id: str | None = None
    owner: str | None = None
    creation_time: datetime | None = None


@dataclass(frozen=True)
class Progress:
    """Where a job is, as its ``jobInfo`` says: the stage, ``done`` of ``total`` finished items, the seconds
    ``time_left`` in the stage at its pace so far (as of ``updated``); None where the service says nothing."""

    stage: str
    done: int | None = None
    total: int | None = None
    time_left: float | None = None
    updated: datetime | None = None


@dataclass(frozen=True)
class JobInfo:
    """Everything a job document says, with absolute result URLs; missing optional fields are None."""

    job_id: str
    url: str
    phase: str
    run_id: str | None = None
    owner: str | None = None
    creation_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    execution_duration: int | None = None
    destruction: datetime | None = None
    parameters: dict[str, str] = field(default_factory=dict)
    results: dict[str, str] = field(default_factory=dict)  # id -> absolute URL
    result_types: dict[str, str] = field(default_factory=dict)  # id -> MIME type, where given
    error: str | None = None  # the error summary's message
    etag: str | None = None
    progress: Progress | None = None  # the stage the job reported (jobInfo)

    @property
    def list_name(self) -> str:
        return self.url.rstrip("/").rsplit("/", 2)[-2]

    @property
    def active(self) -> bool:
        return self.phase in ACTIVE

    def same_as(self, other: "JobInfo | None") -> bool:
        """Nothing a person would see differs (for services without ETags)."""
        return other is not None and (
            self.phase, self.results, self.error, self.parameters, self.end_time, self.progress) == (
            other.phase, other.results, other.error, other.parameters, other.end_time, other.progress)


def _time(value) -> datetime | None:
    return None if value is None else value.to_datetime(timezone=timezone.utc)


def _text(value) -> str | None:
    if value is None:
        return None
    text = str(getattr(value, "content", value)).strip()
    return text or None


def _number(text: str | None, kind):
    try:
        return None if text is None else kind(text)
    except ValueError:
        return None


def _progress(job) -> Progress | None:
    """The stage in the job's ``jobInfo``: pyvo (1.7 on) parses its children, by local name."""
    info = getattr(job, "jobinfo", None)
    if info is None or not hasattr(info, "get"):
        return None

    def child(name: str) -> str | None:
        element = info.get(name)
        return None if element is None else element.text

    stage = child("stage")
    if not stage:
        return None
    updated = child("updated")
    try:
        when = None if updated is None else datetime.fromisoformat(updated.replace("Z", "+00:00"))
    except ValueError:
        when = None
    return Progress(stage, _number(child("done"), int), _number(child("total"), int),
                    _number(child("timeLeft"), float), when)


def job_info(content: bytes, url: str, etag: str | None = None) -> JobInfo:
    """A :class:`JobInfo` from a UWS job document (parsed by pyvo)."""
    from pyvo.io.uws import parse_job  # at first use: importing pyvo is 0.2 s of a dashboard's start

    try:
        job = parse_job(io.BytesIO(content))
    except Exception as exc:  # noqa: BLE001 - pyvo raises many kinds on a document it cannot read
        raise ServiceError(f"{url} did not answer a UWS job document ({type(exc).__name__}).", url=url) from None
    results, types = {}, {}
    for r in job.results or []:
        results[r.id_] = urljoin(url.rstrip("/") + "/", r.href) if r.href else f"{url}/results/{r.id_}"
        if getattr(r, "mimetype", None):
            types[r.id_] = str(r.mimetype)
    error = None
    if job.errorsummary is not None:
        error = _text(job.errorsummary.message) or "The job ended in error (the service gave no message)."
    duration = job.executionduration
    return JobInfo(
        job_id=str(job.jobid), url=url, phase=str(job.phase), run_id=_text(job.runid), owner=_text(job.ownerid),
        creation_time=_time(job.creationtime), start_time=_time(job.starttime), end_time=_time(job.endtime),
        execution_duration=None if duration is None else int(duration.to_value("s")),
        destruction=_time(job.destruction),
        parameters={p.id_: "" if p.content is None else str(p.content) for p in job.parameters or []},
        results=results, result_types=types, error=error, etag=etag, progress=_progress(job))


class UWSClient:
    """UWS 1.1 over a :class:`~widgets.client.http.PortalClient` (same token, same errors)."""

    def __init__(self, client, base_url: str) -> None:
        self.client = client
        self.base_url = base_url.rstrip("/")

    def list_url(self, definition: str) -> str:
        """The job list of a definition name, or a job list URL given as is."""
        if definition.startswith(("http://", "https://", "/")):
            return self.client.absolute(definition).rstrip("/")
        return f"{self.base_url}/{definition}"

    # -- definitions ------------------------------------------------------------------------------
    def definitions(self) -> list[Definition]:
        """The service's job definitions; [] for a UWS service that does not publish them."""
        try:
            body = self.client.get_json(self.base_url, params={"format": "json"},
                                        headers={"Accept": "application/json"})
        except ServiceError as exc:
            if exc.status in (404, 405, 406) or (exc.status is None and "JSON" in exc.message):
                return []
            raise
        items = body.get("definitions") if isinstance(body, dict) else None
        return [Definition.from_json(d) for d in items or [] if isinstance(d, dict) and d.get("name")]

    # -- jobs -------------------------------------------------------------------------------------
    def create(self, definition: str, params: dict[str, Any] | list[tuple[str, str]], *, run: bool = False,
               run_id: str | None = None, execution_duration: int | None = None) -> str:
        """Create a job (and start it with ``run``); the job's URL."""
        pairs = list(params.items()) if isinstance(params, dict) else list(params)
        data = [(k, ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v)) for k, v in pairs]
        if run_id:
            data.append(("RUNID", run_id))
        if execution_duration is not None:
            data.append(("EXECUTIONDURATION", str(int(execution_duration))))
        if run:
            data.append(("PHASE", "RUN"))
        list_url = self.list_url(definition)
        form: dict[str, list[str]] = {}
        for key, value in data:
            form.setdefault(key, []).append(value)
        response = self.client.post(list_url, data=form, ok=(200, 201, 303), follow_redirects=False)
        location = response.headers.get("location")
        if not location:
            raise ServiceError(f"{list_url} created a job but did not say where it is.", response.status_code,
                               list_url)
        return urljoin(list_url + "/", location)

    def job(self, url: str) -> JobInfo:
        response = self.client.get(url)
        return job_info(response.content, url, response.headers.get("etag"))

    def wait(self, url: str, *, phase: str | None = None, etag: str | None = None,
             timeout: float = 30.0) -> JobInfo | None:
        """Block up to ``timeout`` s for the job to change: any change when the service honours
        ``etag`` (None means it answered 304: nothing changed), else its phase (UWS 1.1 WAIT)."""
        params = {"WAIT": str(max(1, int(timeout)))}
        if phase:
            params["PHASE"] = phase
        headers = {"If-None-Match": etag} if etag else {}
        response = self.client.get(url, params=params, headers=headers, ok=(200, 304), timeout=timeout + 15)
        if response.status_code == 304:
            return None
        return job_info(response.content, url, response.headers.get("etag"))

    def run(self, url: str) -> None:
        self.client.post(f"{url}/phase", data={"PHASE": "RUN"}, ok=(200, 303), follow_redirects=False)

    def abort(self, url: str) -> None:
        self.client.post(f"{url}/phase", data={"PHASE": "ABORT"}, ok=(200, 303), follow_redirects=False)

    def delete(self, url: str) -> None:
        try:
            self.client.request("DELETE", url, ok=(200, 204, 303), follow_redirects=False)
        except ServiceError as exc:
            if exc.status not in (405, 501):
                raise
            self.client.post(url, data={"ACTION": "DELETE"}, ok=(200, 303), follow_redirects=False)

    def set_parameters(self, url: str, params: dict[str, Any]) -> None:
        data = {k: ",".join(map(str, v)) if isinstance(v, (list, tuple)) else str(v) for k, v in params.items()}
        self.client.post(f"{url}/parameters", data=data, ok=(200, 303), follow_redirects=False)

    def error(self, url: str) -> str:
        return self.client.get(f"{url}/error").text

    # -- publishing (the portal's {job}/publish: the job's products in the archive) -------------------
    def publication(self, url: str) -> str:
        """Whether the job's products are in the archive: ``public``, ``private`` or ``unpublished``."""
        return self.client.get(f"{url}/publish").text.strip()

    def publish(self, url: str, public: bool = False) -> str:
        """Publish a completed job's products (again: change their visibility); the visibility they now have."""
        response = self.client.post(f"{url}/publish", data={"VISIBILITY": "public" if public else "private"},
                                    timeout=120.0)
        return response.text.strip()

    def unpublish(self, url: str) -> None:
        """Take the job's products out of the archive (the job itself stays)."""
        self.client.request("DELETE", f"{url}/publish", ok=(200, 204), timeout=120.0)

    # -- results ----------------------------------------------------------------------------------
    def result(self, href: str) -> bytes:
        return self.client.get(href).content

    def result_from(self, href: str, offset: int) -> bytes:
        """The bytes of a result after ``offset`` (a Range request; b"" when there is nothing new)."""
        if offset <= 0:
            return self.result(href)
        response = self.client.get(href, headers={"Range": f"bytes={offset}-"}, ok=(200, 206, 416))
        if response.status_code == 416:
            return b""
        return response.content if response.status_code == 206 else response.content[offset:]

    # -- lists ------------------------------------------------------------------------------------
    def list_jobs(self, definition: str, *, phases: list[str] | None = None, after: datetime | None = None,
                  last: int | None = None, etag: str | None = None) -> tuple[list[JobRef], str | None] | None:
        """The caller's jobs of one list, newest first, and the list's ETag (None: unchanged, 304)."""
        list_url = self.list_url(definition)
        params: list[tuple[str, str]] = [("PHASE", p) for p in phases or []]
        if after is not None:
            params.append(("AFTER", after.isoformat()))
        if last is not None:
            params.append(("LAST", str(int(last))))
        headers = {"If-None-Match": etag} if etag else {}
        response = self.client.get(list_url, params=params, headers=headers, ok=(200, 304))
        if response.status_code == 304:
            return None
        from pyvo.io.uws import parse_job_list  # at first use (see job_info)

        try:
            jobs = parse_job_list(io.BytesIO(response.content))
        except Exception as exc:  # noqa: BLE001 - pyvo raises many kinds
            raise ServiceError(f"{list_url} did not answer a UWS job list ({type(exc).__name__}).",
                               url=list_url) from None
        name = list_url.rsplit("/", 1)[-1]
        refs = [JobRef(str(j.jobid), f"{list_url}/{j.jobid}", name, str(j.phase), _text(j.runid), _text(j.ownerid),
                       _time(j.creationtime)) for j in jobs]
        refs.sort(key=lambda r: r.creation_time or EPOCH, reverse=True)
        return refs, response.headers.get("etag")
