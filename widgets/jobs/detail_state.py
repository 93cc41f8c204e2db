"""JobDetailState: one job in full, as state. Which job, its live log tail, the result shown or offered for
download, its provenance record, and the delete confirmation; tested without a browser.

The log is fetched as it grows: each change of the job asks for the bytes after those already read (a
Range request), one request at a time; a change that comes while one is on its way asks again when it is
back, and an answer for an offset already read (or for a job no longer shown) is dropped. The window of
lines in view is a :class:`~widgets.jobs.logtail.LogTail` (the newest lines, or earlier ones on request).
The provenance record (PROV-JSON, with PROV-N to offer) is fetched once per version of a finished job.

Everything is fetched through the background helper; every trait changes on the kernel's loop. A
:class:`~widgets.jobs.detail.JobDetail` is its thin view. The monitor's state owns one and shows in it
the session's active job; actions (abort, delete, run again) go through the monitor's state.
"""

from __future__ import annotations

from dataclasses import dataclass

import traitlets as t

from widgets.background import Background
from widgets.client import ServiceError
from widgets.jobs.handle import JobHandle
from widgets.jobs.logtail import LogTail
from widgets.jobs.previews import Preview, preview
from widgets.jobs.provenance import parse

__all__ = ["Download", "JobDetailState", "ProvenanceRecord", "ShownResult"]

JOB_TRAITS = ["version", "phase", "message", "gone", "info"]
NO_PROVENANCE_YET = "The provenance record is written when the job ends."


@dataclass(frozen=True)
class ShownResult:
    rid: str
    preview: Preview


@dataclass(frozen=True)
class Download:
    content: bytes
    mime: str
    filename: str


@dataclass(frozen=True)
class ProvenanceRecord:
    graph: object  # widgets.jobs.provenance.Graph
    files: tuple[Download, ...]  # PROV-JSON, and PROV-N when the service gives it


def _sentence(exc: BaseException) -> str:
    return exc.message if isinstance(exc, ServiceError) else str(exc)


class JobDetailState(t.HasTraits):
    revision = t.Int(0)  # counts the changes of the job shown (phase, results, message...): its view redraws
    log_text = t.Unicode("")  # the lines in view
    log_status = t.Unicode("")  # which lines they are, as a reader would say it
    log_lines = t.Int(0)  # lines in the log so far
    has_earlier = t.Bool(False)  # lines above the window
    following = t.Bool(True)  # the window moves with the newest lines
    shown = t.Instance(ShownResult, allow_none=True)  # the result asked for with "Show"
    shown_error = t.Unicode("")  # why the result asked for cannot be shown or offered
    downloads = t.Dict()  # result id -> Download (fetched with "Download")
    provenance = t.Instance(ProvenanceRecord, allow_none=True)
    provenance_note = t.Unicode("")  # NO_PROVENANCE_YET, or why the record cannot be shown
    provenance_failed = t.Bool(False)
    confirming = t.Bool(False)  # "Delete" asked: waiting for "Really delete" or "Keep it"

    def __init__(self, monitor=None, background: Background | None = None, **kwargs) -> None:
        super().__init__(**kwargs)
        self.monitor = monitor  # a MonitorState: the actions, and its background helper
        self.background = background
        self._job: JobHandle | None = None
        self.tail = LogTail()
        self._log_fetching = False
        self._log_again = False
        self._provenance_for = ""
        self._log_changed()

    @property
    def bg(self) -> Background:
        if self.background is None:
            self.background = self.monitor.bg if self.monitor is not None else Background.shared()
        return self.background

    @property
    def job(self) -> JobHandle | None:
        """The job shown (the monitor's selected job)."""
        return self._job

    # -- which job --------------------------------------------------------------------------------
    def show(self, job: JobHandle | None) -> None:
        if self._job is not None:
            self._job.unobserve(self._changed, JOB_TRAITS)
        self._job = job
        self.tail.clear()
        self._provenance_for = ""
        with self.hold_trait_notifications():
            self._log_changed()
            self.shown, self.shown_error, self.downloads = None, "", {}
            self.provenance, self.provenance_note, self.provenance_failed = None, "", False
            self.confirming = False
        if job is not None:
            job.observe(self._changed, JOB_TRAITS)
            self._changed()
        else:
            self.revision += 1

    def _changed(self, change=None) -> None:
        if self._job is None or (change is not None and change["owner"] is not self._job):
            return  # another observer of the same change showed another job (a deleted job: none) meanwhile
        self.revision += 1
        self.tail_log()
        self._provenance()

    # -- the log ----------------------------------------------------------------------------------
    def tail_log(self) -> None:
        """Fetch what is new in the log (a Range request from what is already read)."""
        job = self._job
        href = job.results.get("log") if job is not None else None
        if href is None:
            return
        if self._log_fetching:
            self._log_again = True
            return
        self._log_fetching, self._log_again = True, False
        offset = self.tail.received
        self.bg.run(job.client.uws.result_from, href, offset, on_done=lambda data: self.log_arrived(job, offset, data),
                    on_error=lambda _exc: self.log_arrived(job, offset, b""))

    def log_arrived(self, job: JobHandle | None, offset: int, data: bytes) -> None:
        """The bytes of ``job``'s log from ``offset`` on (what a Range request brought)."""
        self._log_fetching = False
        if job is not self._job:
            return
        if data and offset == self.tail.received:
            self.tail.append(data)
            self._log_changed()
        if self._log_again:
            self.tail_log()

    def log_earlier(self) -> None:
        """Show earlier lines of the log, and keep them in view as new lines arrive."""
        self.tail.earlier()
        self._log_changed()

    def log_latest(self) -> None:
        """Show the newest lines of the log, and follow it."""
        self.tail.latest()
        self._log_changed()

    def _log_changed(self) -> None:
        tail = self.tail
        with self.hold_trait_notifications():
            self.log_text, self.log_status, self.log_lines = tail.text, tail.status(), tail.total
            self.has_earlier, self.following = tail.hidden_before > 0, tail.following

    # -- results ----------------------------------------------------------------------------------
    def mime(self, rid: str) -> str:
        job = self._job
        return job.info.result_types.get(rid, "") if job is not None and job.info is not None else ""

    def show_result(self, rid: str):
        """Fetch a result and show it (an image, a FITS summary, text); a Future, or None without that result."""
        return self._fetch(rid, self._shown)

    def download(self, rid: str):
        """Fetch a result to offer it for download (``downloads[rid]``)."""
        return self._fetch(rid, self._offered)

    def _fetch(self, rid: str, then):
        job = self._job
        href = job.results.get(rid) if job is not None else None
        if href is None:
            return None
        return self.bg.run(job.client.uws.result, href, on_done=lambda content: then(job, rid, content),
                           on_error=lambda exc: self._fetch_failed(job, rid, exc))

    def _fetch_failed(self, job: JobHandle, rid: str, exc: Exception) -> None:
        if job is self._job:
            self.shown, self.shown_error = None, f"Result {rid}: {_sentence(exc)}"

    def _shown(self, job: JobHandle, rid: str, content: bytes) -> None:
        if job is self._job:
            self.shown, self.shown_error = ShownResult(rid, preview(content, self.mime(rid))), ""

    def _offered(self, job: JobHandle, rid: str, content: bytes) -> None:
        if job is not self._job:
            return
        href = job.results.get(rid, "")
        name = f"{job.job_id}-{href.rstrip('/').rsplit('/', 1)[-1] or rid}"
        self.downloads = {**self.downloads, rid: Download(content, self.mime(rid), name)}

    # -- provenance -------------------------------------------------------------------------------
    def _provenance(self) -> None:
        job = self._job
        href = job.results.get("provenance")
        if href is None or not job.final or self._provenance_for == job.etag:
            if href is None:
                self.provenance, self.provenance_note, self.provenance_failed = None, NO_PROVENANCE_YET, False
            return
        self._provenance_for = job.etag
        provn = job.results.get("provn")

        def both():  # I/O only: PROV-JSON to draw, PROV-N to offer
            return job.client.uws.result(href), job.client.uws.result(provn) if provn else b""

        self.bg.run(both, on_done=lambda pair: self._provenance_arrived(job, *pair),
                    on_error=lambda exc: self._provenance_failed(job, _sentence(exc)))

    def _provenance_arrived(self, job: JobHandle, content: bytes, provn: bytes) -> None:
        if job is not self._job:
            return
        try:
            graph = parse(content.decode("utf-8", "replace"))
        except ValueError as err:
            self._provenance_failed(job, str(err))
            return
        files = [Download(content, "application/json", f"{job.job_id}-provenance.json")]
        if provn:
            files.append(Download(provn, "text/provenance-notation", f"{job.job_id}-provenance.provn"))
        self.provenance, self.provenance_note, self.provenance_failed = ProvenanceRecord(graph, tuple(files)), "", False

    def _provenance_failed(self, job: JobHandle, sentence: str) -> None:
        if job is self._job:
            self.provenance, self.provenance_note, self.provenance_failed = None, sentence, True

    # -- actions ----------------------------------------------------------------------------------
    def abort(self):
        return self._act("abort")

    def ask_delete(self) -> None:
        """"Delete" pressed: ask first (``confirming``)."""
        self.confirming = self._job is not None

    def keep(self) -> None:
        self.confirming = False

    def delete(self):
        """"Really delete": the job and its files go."""
        return self._act("delete")

    def run_again(self) -> None:
        """Hand the job's kind and parameters to the launcher (through the session's draft)."""
        if self._job is not None and self.monitor is not None:
            self.monitor.run_again(self._job)

    def _act(self, action: str):
        self.confirming = False
        if self._job is None or self.monitor is None:
            return None
        return self.monitor.act(self._job, action)
