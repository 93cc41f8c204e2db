"""JobDetail: one job in full. Phase, stage (as the job reports it) and times, parameters, error, a live log
tail, results with preview and download, the provenance graph, and the actions (abort, delete with
confirmation, run again).

The log tab shows the newest lines and follows them as they arrive; "Earlier lines" shows more above
and keeps the view still while the job writes on, until "Latest lines" (:class:`~widgets.jobs.logtail.LogTail`).

A thin view of a :class:`~widgets.jobs.handle.JobHandle`; what it fetches (log, results, provenance)
is fetched through the monitor's background helper, and every text from the service is escaped or
shown in a Textarea.
"""

from __future__ import annotations

import html

import ipywidgets as w

from widgets.client import ServiceError
from widgets.jobs.handle import JobHandle
from widgets.jobs.logtail import LogTail
from widgets.jobs.previews import download_link, preview
from widgets.jobs.provenance import inputs_table, parse, to_svg

__all__ = ["JobDetail", "PHASE_COLORS"]

PHASE_COLORS = {"PENDING": "#555", "QUEUED": "#8a6d00", "EXECUTING": "#1565c0", "COMPLETED": "#2e7d32",
                "ERROR": "#c62828", "ABORTED": "#6d4c41", "HELD": "#555", "SUSPENDED": "#555", "ARCHIVED": "#555"}
# the log's lines in a box that starts scrolled to its end (so the newest line shows, wrapped lines too)
LOG_BOX = ("<div class='portal-job-log-lines' style='max-height:22em;overflow:auto;display:flex;"
           "flex-direction:column-reverse;border:1px solid #ddd'><pre style='margin:0;padding:4px;"
           "white-space:pre-wrap;overflow-wrap:anywhere;font-size:0.85em'>{}</pre></div>")


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M:%S UTC") if value is not None else "-"


class JobDetail(w.VBox):
    def __init__(self, monitor_state, **kwargs) -> None:
        self.state = monitor_state
        self.job: JobHandle | None = None
        self._header = w.HTML()
        self._header.add_class("portal-job-header")
        self._error = w.HTML()
        self._error.add_class("portal-job-error")
        self._parameters = w.HTML()
        self._log = w.HTML(layout=w.Layout(width="100%"))
        self._log.add_class("portal-job-log")
        self._log_tail = LogTail()
        self._log_status = w.HTML()
        self._log_earlier = w.Button(description="Earlier lines", icon="arrow-up", layout=w.Layout(width="auto"),
                                     tooltip="Show earlier lines of the log; the view stays still as new lines come")
        self._log_latest = w.Button(description="Latest lines", icon="arrow-down", layout=w.Layout(width="auto"),
                                    tooltip="Show the newest lines and follow the log")
        self._log_earlier.on_click(lambda _b: self.log_earlier())
        self._log_latest.on_click(lambda _b: self.log_latest())
        log_bar = w.HBox([self._log_earlier, self._log_latest, self._log_status],
                         layout=w.Layout(grid_gap="6px", align_items="center"))
        self._results = w.VBox()
        self._preview = w.VBox()
        self._provenance = w.HTML()
        self._provenance.add_class("portal-job-provenance")
        self._abort = w.Button(description="Abort", icon="stop", layout=w.Layout(width="auto"))
        self._delete = w.Button(description="Delete", icon="trash", layout=w.Layout(width="auto"))
        self._confirm = w.Button(description="Really delete", button_style="danger", layout=w.Layout(width="auto"))
        self._cancel = w.Button(description="Keep it", layout=w.Layout(width="auto"))
        self._confirm_box = w.HBox([w.HTML("Delete this job and its files?"), self._confirm, self._cancel],
                                   layout=w.Layout(display="none", grid_gap="6px", align_items="center"))
        self._again = w.Button(description="Run again", icon="repeat", layout=w.Layout(width="auto"),
                               tooltip="Open the launcher with this job's parameters")
        self._abort.on_click(lambda _b: self._act("abort"))
        self._delete.on_click(lambda _b: setattr(self._confirm_box.layout, "display", None))
        self._cancel.on_click(lambda _b: setattr(self._confirm_box.layout, "display", "none"))
        self._confirm.on_click(lambda _b: self._act("delete"))
        self._again.on_click(lambda _b: self.job is not None and self.state.run_again(self.job))
        actions = w.HBox([self._abort, self._delete, self._again], layout=w.Layout(grid_gap="6px"))
        self._tabs = w.Tab([w.VBox([self._parameters]), w.VBox([log_bar, self._log]),
                            w.VBox([self._results, self._preview]), w.VBox([self._provenance])])
        for i, title in enumerate(("Parameters", "Log", "Results", "Provenance")):
            self._tabs.set_title(i, title)
        self._body = w.VBox([self._header, self._error, actions, self._confirm_box, self._tabs])
        self._empty = w.HTML("<i>Select a job to see its parameters, log, results and provenance.</i>")
        super().__init__([self._empty], **kwargs)
        self.add_class("portal-job-detail")
        self._result_rows: dict[str, tuple] = {}
        self._log_fetching = False
        self._log_again = False
        self._provenance_for = ""
        self._show_log()

    # -- which job --------------------------------------------------------------------------------
    def show(self, job: JobHandle | None) -> None:
        if self.job is not None:
            self.job.unobserve(self._changed, ["version", "phase", "message", "gone", "info"])
        self.job = job
        self._log_tail.clear()
        self._show_log()
        self._provenance.value, self._provenance_for = "", ""
        self._preview.children = ()
        self._result_rows = {}
        self._confirm_box.layout.display = "none"
        if job is None:
            self.children = [self._empty]
            return
        self.children = [self._body]
        job.observe(self._changed, ["version", "phase", "message", "gone", "info"])
        self._changed()

    def _changed(self, change=None) -> None:
        if self.job is None or (change is not None and change["owner"] is not self.job):
            return  # another observer of the same change showed another job (a deleted job: none) meanwhile
        self._render()
        self._tail_log()
        self._draw_provenance()

    # -- rendering --------------------------------------------------------------------------------
    def _render(self) -> None:
        job = self.job
        color = PHASE_COLORS.get(job.phase, "#555")
        run = f" &middot; run id <code>{html.escape(job.run_id)}</code>" if job.run_id else ""
        note = f"<div style='color:#8a6d00'>{html.escape(job.message)}</div>" if job.message else ""
        doing = job.progress_text
        if doing and job.phase in ("ERROR", "ABORTED"):
            doing = f"stopped while {doing}"
        stage = (f"<div class='portal-job-progress' style='color:{color}'>{html.escape(doing)}</div>"
                 if doing and job.phase in ("EXECUTING", "ERROR", "ABORTED") else "")
        self._header.value = (
            f"<b>{html.escape(job.definition)}</b> job <code>{html.escape(job.job_id)}</code>: "
            f"<b style='color:{color}' class='portal-job-phase'>{html.escape(job.phase or '?')}</b>{run}"
            f"{stage or '<br>'}"
            f"<span style='color:#555'>created {_when(job.created)} &middot; started {_when(job.started)} &middot; "
            f"ended {_when(job.ended)}</span>{note}")
        self._error.value = (f"<div style='color:#c62828;white-space:pre-wrap'>{html.escape(job.error)}</div>"
                             if job.error else "")
        rows = "".join(f"<tr><td><code>{html.escape(k)}</code></td><td>{html.escape(v)}</td></tr>"
                       for k, v in job.parameters.items())
        self._parameters.value = f"<table class='portal-job-parameters'>{rows}</table>" if rows else "<i>none</i>"
        self._abort.disabled = not job.active or job.gone
        self._delete.disabled = job.gone
        self._again.disabled = job.gone
        self._render_results()

    def _render_results(self) -> None:
        job = self.job
        types = job.info.result_types if job.info is not None else {}
        children = []
        for rid, href in job.results.items():
            if rid not in self._result_rows:
                show = w.Button(description="Show", layout=w.Layout(width="auto"))
                save = w.Button(description="Download", icon="download", layout=w.Layout(width="auto"))
                link = w.HTML()
                show.on_click(lambda _b, r=rid: self._fetch(r, self._show_result))
                save.on_click(lambda _b, r=rid: self._fetch(r, self._offer_download))
                label = w.HTML(layout=w.Layout(width="22em"))
                self._result_rows[rid] = (w.HBox([label, show, save, link], layout=w.Layout(align_items="center")),
                                          label, link)
            row, label, _link = self._result_rows[rid]
            label.value = f"<code>{html.escape(rid)}</code> <span style='color:#777'>{html.escape(types.get(rid, ''))}</span>"
            children.append(row)
        self._results.children = children or [w.HTML("<i>No results yet.</i>")]

    # -- fetching ---------------------------------------------------------------------------------
    def _fetch(self, rid: str, then) -> None:
        job = self.job
        href = job.results.get(rid)
        if href is None:
            return
        self.state.bg.run(job.client.uws.result, href, on_done=lambda content: then(job, rid, content),
                          on_error=lambda exc: self._fetch_failed(job, rid, exc))

    def _fetch_failed(self, job: JobHandle, rid: str, exc: Exception) -> None:
        if job is not self.job:
            return
        text = exc.message if isinstance(exc, ServiceError) else str(exc)
        self._preview.children = [w.HTML(f"<span style='color:#c62828'>Result {html.escape(rid)}: "
                                         f"{html.escape(text)}</span>")]

    def _mime(self, job: JobHandle, rid: str) -> str:
        return job.info.result_types.get(rid, "") if job.info is not None else ""

    def _show_result(self, job: JobHandle, rid: str, content: bytes) -> None:
        if job is not self.job:
            return
        shown = preview(content, self._mime(job, rid))
        title = w.HTML(f"<b>{html.escape(rid)}</b>")
        if shown.kind == "image":
            body = w.Image(value=shown.image, format="png", layout=w.Layout(max_width="100%"))
        elif shown.kind == "text":
            body = w.Textarea(value=shown.text, disabled=True, layout=w.Layout(width="100%", height="16em"))
        else:
            body = w.HTML(f"<i>{html.escape(shown.text)}</i>")
        body.add_class("portal-result-preview")
        self._preview.children = [title, body]

    def _offer_download(self, job: JobHandle, rid: str, content: bytes) -> None:
        if job is not self.job or rid not in self._result_rows:
            return
        href = job.results.get(rid, "")
        name = f"{job.job_id}-{href.rstrip('/').rsplit('/', 1)[-1] or rid}"
        self._result_rows[rid][2].value = download_link(content, self._mime(job, rid), name)

    def _tail_log(self) -> None:
        """Fetch what is new in the log (a Range request from what is already shown)."""
        job = self.job
        href = job.results.get("log")
        if href is None:
            return
        if self._log_fetching:
            self._log_again = True
            return
        self._log_fetching, self._log_again = True, False
        offset = self._log_tail.received
        self.state.bg.run(job.client.uws.result_from, href, offset,
                          on_done=lambda data: self._log_arrived(job, offset, data),
                          on_error=lambda exc: self._log_arrived(job, offset, b""))

    def _log_arrived(self, job: JobHandle, offset: int, data: bytes) -> None:
        self._log_fetching = False
        if job is not self.job:
            return
        if data and offset == self._log_tail.received:
            self._log_tail.append(data)
            self._show_log()
        if self._log_again:
            self._tail_log()

    def log_earlier(self) -> None:
        """Show earlier lines of the log, and keep them in view as new lines arrive."""
        self._log_tail.earlier()
        self._show_log()

    def log_latest(self) -> None:
        """Show the newest lines of the log, and follow it."""
        self._log_tail.latest()
        self._show_log()

    def _show_log(self) -> None:
        tail = self._log_tail
        self._log.value = LOG_BOX.format(html.escape(tail.text)) if tail.total else ""
        self._log_status.value = f"<span style='color:#555'>{html.escape(tail.status())}</span>"
        self._log_earlier.disabled = tail.hidden_before == 0
        self._log_latest.disabled = tail.following

    def _draw_provenance(self) -> None:
        job = self.job
        href = job.results.get("provenance")
        if href is None or not job.final or self._provenance_for == job.etag:
            if href is None:
                self._provenance.value = "<i>The provenance record is written when the job ends.</i>"
            return
        self._provenance_for = job.etag
        provn = job.results.get("provn")

        def both():  # I/O only: PROV-JSON to draw, PROV-N to offer
            return job.client.uws.result(href), job.client.uws.result(provn) if provn else b""

        self.state.bg.run(both, on_done=lambda pair: self._provenance_arrived(job, *pair),
                          on_error=lambda exc: self._provenance_arrived(job, None, b"", exc))

    def _provenance_arrived(self, job: JobHandle, content: bytes | None, provn: bytes,
                            exc: Exception | None = None) -> None:
        if job is not self.job:
            return
        if content is None:
            text = exc.message if isinstance(exc, ServiceError) else str(exc)
            self._provenance.value = f"<span style='color:#c62828'>{html.escape(text)}</span>"
            return
        try:
            graph = parse(content.decode("utf-8", "replace"))
        except ValueError as err:
            self._provenance.value = f"<span style='color:#c62828'>{html.escape(str(err))}</span>"
            return
        files = [(content, "application/json", "provenance.json")]
        if provn:
            files.append((provn, "text/provenance-notation", "provenance.provn"))
        links = " &middot; ".join(download_link(b, m, f"{job.job_id}-{n}") for b, m, n in files)
        self._provenance.value = (f"<div style='overflow:auto;max-height:32em'>{to_svg(graph)}</div>"
                                  f"{inputs_table(graph)}<div>PROV-JSON and PROV-N: {links}</div>")

    # -- actions ----------------------------------------------------------------------------------
    def _act(self, action: str) -> None:
        self._confirm_box.layout.display = "none"
        if self.job is not None:
            self.state.act(self.job, action)
