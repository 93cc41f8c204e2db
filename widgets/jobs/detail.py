"""JobDetail: one job in full. Phase, stage (as the job reports it) and times, parameters, error, a live log
tail, results with preview and download, the provenance graph, and the actions (abort, delete with
confirmation, run again).

The log tab shows the newest lines and follows them as they arrive; "Earlier lines" shows more above
and keeps the view still while the job writes on, until "Latest lines".

A thin view of a :class:`~widgets.jobs.detail_state.JobDetailState` (which fetches the log, the results and
the provenance, and holds the log's window and the delete confirmation) and of the job it shows; every text
from the service is escaped or shown in a Textarea.
"""

from __future__ import annotations

import html

import ipywidgets as w

from widgets.jobs.detail_state import JobDetailState
from widgets.jobs.previews import download_link
from widgets.jobs.provenance import inputs_table, to_svg

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
    def __init__(self, state: JobDetailState | None = None, **kwargs) -> None:
        self.state = state or JobDetailState()
        self._header = w.HTML()
        self._header.add_class("portal-job-header")
        self._error = w.HTML()
        self._error.add_class("portal-job-error")
        self._parameters = w.HTML()
        self._log = w.HTML(layout=w.Layout(width="100%"))
        self._log.add_class("portal-job-log")
        self._log_status = w.HTML()
        self._log_earlier = w.Button(description="Earlier lines", icon="arrow-up", layout=w.Layout(width="auto"),
                                     tooltip="Show earlier lines of the log; the view stays still as new lines come")
        self._log_latest = w.Button(description="Latest lines", icon="arrow-down", layout=w.Layout(width="auto"),
                                    tooltip="Show the newest lines and follow the log")
        self._log_earlier.on_click(lambda _b: self.state.log_earlier())
        self._log_latest.on_click(lambda _b: self.state.log_latest())
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
                                   layout=w.Layout(display="none", grid_gap="6px", align_items="center",
                                                     flex="0 0 auto"))  # never squashed by a tall column
        self._again = w.Button(description="Run again", icon="repeat", layout=w.Layout(width="auto"),
                               tooltip="Open the launcher with this job's parameters")
        self._abort.on_click(lambda _b: self.state.abort())
        self._delete.on_click(lambda _b: self.state.ask_delete())
        self._cancel.on_click(lambda _b: self.state.keep())
        self._confirm.on_click(lambda _b: self.state.delete())
        self._again.on_click(lambda _b: self.state.run_again())
        actions = w.HBox([self._abort, self._delete, self._again], layout=w.Layout(grid_gap="6px", flex="0 0 auto"))
        self._tabs = w.Tab([w.VBox([self._parameters]), w.VBox([log_bar, self._log]),
                            w.VBox([self._results, self._preview]), w.VBox([self._provenance])])
        for i, title in enumerate(("Parameters", "Log", "Results", "Provenance")):
            self._tabs.set_title(i, title)
        self._body = w.VBox([self._header, self._error, actions, self._confirm_box, self._tabs])
        self._empty = w.HTML("<i>Select a job to see its parameters, log, results and provenance.</i>")
        super().__init__([self._empty], **kwargs)
        self.add_class("portal-job-detail")
        self._result_rows: dict[str, tuple] = {}
        self._rows_for = None  # the job the result rows were made for
        s = self.state
        s.observe(self._render, "revision")
        s.observe(self._show_log, ["log_text", "log_status", "log_lines", "has_earlier", "following"])
        s.observe(self._show_preview, ["shown", "shown_error"])
        s.observe(self._show_downloads, "downloads")
        s.observe(self._show_provenance, ["provenance", "provenance_note", "provenance_failed"])
        s.observe(self._show_confirm, "confirming")
        self._render()
        self._show_log()

    @property
    def job(self):
        return self.state.job

    def show(self, job) -> None:
        """Show ``job`` (a JobHandle, or None); the monitor's state does this for the session's active job."""
        self.state.show(job)

    def log_earlier(self) -> None:
        self.state.log_earlier()

    def log_latest(self) -> None:
        self.state.log_latest()

    # -- rendering --------------------------------------------------------------------------------
    def _render(self, _change=None) -> None:
        job = self.state.job
        if job is None:
            self._result_rows, self._rows_for = {}, None
            self.children = [self._empty]
            return
        if job is not self._rows_for:
            self._result_rows, self._rows_for = {}, job
        if self.children != (self._body,):
            self.children = [self._body]
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
        self._render_results(job)

    def _render_results(self, job) -> None:
        types = job.info.result_types if job.info is not None else {}
        children = []
        for rid in job.results:
            if rid not in self._result_rows:
                show = w.Button(description="Show", layout=w.Layout(width="auto"))
                save = w.Button(description="Download", icon="download", layout=w.Layout(width="auto"))
                link = w.HTML()
                show.on_click(lambda _b, r=rid: self.state.show_result(r))
                save.on_click(lambda _b, r=rid: self.state.download(r))
                label = w.HTML(layout=w.Layout(width="22em"))
                self._result_rows[rid] = (w.HBox([label, show, save, link], layout=w.Layout(align_items="center")),
                                          label, link)
            row, label, _link = self._result_rows[rid]
            label.value = f"<code>{html.escape(rid)}</code> <span style='color:#777'>{html.escape(types.get(rid, ''))}</span>"
            children.append(row)
        self._results.children = children or [w.HTML("<i>No results yet.</i>")]
        self._show_downloads()

    def _show_log(self, _change=None) -> None:
        s = self.state
        self._log.value = LOG_BOX.format(html.escape(s.log_text)) if s.log_lines else ""
        self._log_status.value = f"<span style='color:#555'>{html.escape(s.log_status)}</span>"
        self._log_earlier.disabled = not s.has_earlier
        self._log_latest.disabled = s.following

    def _show_preview(self, _change=None) -> None:
        s = self.state
        if s.shown_error:
            self._preview.children = [w.HTML(f"<span style='color:#c62828'>{html.escape(s.shown_error)}</span>")]
            return
        if s.shown is None:
            self._preview.children = ()
            return
        shown = s.shown.preview
        title = w.HTML(f"<b>{html.escape(s.shown.rid)}</b>")
        if shown.kind == "image":
            body = w.Image(value=shown.image, format="png", layout=w.Layout(max_width="100%"))
        elif shown.kind == "text":
            body = w.Textarea(value=shown.text, disabled=True, layout=w.Layout(width="100%", height="16em"))
        else:
            body = w.HTML(f"<i>{html.escape(shown.text)}</i>")
        body.add_class("portal-result-preview")
        self._preview.children = [title, body]

    def _show_downloads(self, _change=None) -> None:
        for rid, (_row, _label, link) in self._result_rows.items():
            d = self.state.downloads.get(rid)
            link.value = download_link(d.content, d.mime, d.filename) if d is not None else ""

    def _show_provenance(self, _change=None) -> None:
        s = self.state
        record = s.provenance
        if record is not None:
            links = " &middot; ".join(download_link(f.content, f.mime, f.filename) for f in record.files)
            self._provenance.value = (f"<div style='overflow:auto;max-height:32em'>{to_svg(record.graph)}</div>"
                                      f"{inputs_table(record.graph)}<div>PROV-JSON and PROV-N: {links}</div>")
        elif s.provenance_failed:
            self._provenance.value = f"<span style='color:#c62828'>{html.escape(s.provenance_note)}</span>"
        else:
            self._provenance.value = f"<i>{html.escape(s.provenance_note)}</i>" if s.provenance_note else ""

    def _show_confirm(self, _change=None) -> None:
        self._confirm_box.layout.display = None if self.state.confirming else "none"
