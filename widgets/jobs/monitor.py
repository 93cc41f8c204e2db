"""JobMonitor: your jobs of every kind, newest first, followed live; one of them in full below.

    monitor = JobMonitor()
    monitor.jobs                 # JobHandle objects, newest first
    monitor.selected_job         # the job chosen in the list (a JobHandle, or None)
    monitor.selected_results     # its results: id -> URL (the SED follows 'flux_points')
    monitor.pick([id1, id2])     # several jobs (Ctrl- or Shift-click in the list) ...
    monitor.joint_fit()          # ... two or more completed spectrum jobs: the launcher gets a joint_spectrum

A thin view of :class:`~widgets.jobs.monitor_state.MonitorState` with a
:class:`~widgets.jobs.detail.JobDetail` (a view of the state's ``detail``) for the selected job. A running job's line says its stage as the job
reports it ("reducing 3 of 4 observations, about 20 s left", "fitting", "flux point 5 of 8").
"""

from __future__ import annotations

import html

import ipywidgets as w

from widgets.background import Background
from widgets.client import PortalClient, default_client
from widgets.jobs.detail import PHASE_COLORS, JobDetail
from widgets.jobs.handle import JobHandle
from widgets.jobs.monitor_state import PHASE_GROUPS, MonitorState
from widgets.jobs.publish import PublishState
from widgets.jobs.publish_view import PublishControl

__all__ = ["JobMonitor"]

PHASE_LABELS = {"": "all phases", "active": "pending, queued or running", "COMPLETED": "completed",
                "ERROR": "in error", "ABORTED": "aborted"}


def _label(job: JobHandle) -> str:
    when = job.created.strftime("%m-%d %H:%M:%S") if job.created else "-"
    run = f"  {job.run_id}" if job.run_id else ""
    doing = f"  {job.progress_text}" if job.phase == "EXECUTING" and job.progress is not None else ""
    return f"{when}  {job.definition:<11} {job.phase:<10} {job.job_id[:10]}{run}{doing}"


class JobMonitor(w.VBox):
    #: what it does with the session (see :mod:`widgets.session`): lists the active job (one just submitted
    #: elsewhere appears at once); the job chosen becomes the active job; "Run again" and "Joint fit" are drafts
    observes, publishes = MonitorState.observes, MonitorState.publishes

    def __init__(self, client: PortalClient | None = None, state: MonitorState | None = None,
                 background: bool = True, kinds: list[str] | None = None, publish: PublishState | None = None,
                 **kwargs) -> None:
        self.client = client or default_client()
        self.state = state or MonitorState(self.client, Background.shared() if background else None, kinds=kinds)
        self._kind = w.Dropdown(description="Kind", options=[("all kinds", "")], layout=w.Layout(width="16em"))
        self._phase = w.Dropdown(description="Phase", options=[(v, k) for k, v in PHASE_LABELS.items()],
                                 layout=w.Layout(width="20em"))
        self._refresh = w.Button(description="Refresh", icon="refresh", layout=w.Layout(width="auto"))
        self._refresh.on_click(lambda _b: self.state.refresh(background=background))
        self._kind.observe(lambda c: setattr(self.state, "kind_filter", c["new"] or ""), "value")
        self._phase.observe(lambda c: setattr(self.state, "phase_filter", c["new"] or ""), "value")
        self._list = w.SelectMultiple(options=[], rows=8, layout=w.Layout(width="100%"))
        self._list.add_class("portal-job-list")
        self._rendering = False
        self._observed: set[JobHandle] = set()  # jobs whose progress redraws their line
        self._list.observe(self._picked, "value")
        self._message = w.HTML()
        self._message.add_class("portal-monitor-message")
        self._joint = w.Button(description="Joint fit", icon="object-group", disabled=True,
                               layout=w.Layout(width="auto"))
        self._joint.add_class("portal-joint-fit")
        self._joint.on_click(lambda _b: self.joint_fit())
        self._joint_note = w.HTML()
        self._joint_note.add_class("portal-joint-note")
        joint = w.HBox([self._joint, self._joint_note], layout=w.Layout(align_items="center", grid_gap="8px",
                                                                       flex="0 0 auto"))  # never squashed
        self.detail = JobDetail(self.state.detail)
        # whether the selected job is in the archive, and Publish / Unpublish (for a completed job of yours)
        self.publish = PublishControl(publish or PublishState(self.client, self.state.background,
                                                              session=self.state.session))
        toolbar = w.HBox([self._kind, self._phase, self._refresh], layout=w.Layout(align_items="center",
                                                                                   flex_flow="row wrap",
                                                                                   flex="0 0 auto"))
        super().__init__([toolbar, self._message, self._list, joint, self.publish, self.detail], **kwargs)
        self.add_class("portal-job-monitor")
        s = self.state
        s.observe(self._render_list, ["jobs", "kind_filter", "phase_filter", "changes"])
        s.observe(self._render_kinds, "kinds")
        s.observe(self._render_message, ["status", "message", "changes"])
        s.observe(self._render_picked, "picked")
        s.observe(self._render_joint, ["joint_ready", "joint_note"])
        if background:
            s.start()
        else:
            s.refresh(background=False)
        self._render_kinds()
        self._render_list()
        self._render_message()
        self._render_joint()

    # -- Python API -------------------------------------------------------------------------------
    def attach(self, session) -> list:
        """List ``session``'s active job (a job submitted elsewhere appears at once, followed), make the job chosen
        its active job, and make "Run again" / "Joint fit" its drafts."""
        return [self.state.join(session), self.publish.state.join(session)]

    @property
    def jobs(self) -> list[JobHandle]:
        return list(self.state.jobs)

    @property
    def selected_job(self) -> JobHandle | None:
        """The job chosen in the list (the session's active job)."""
        return self.state.selected

    @property
    def selected_results(self) -> dict:
        """Its results: id -> URL."""
        job = self.state.selected
        return dict(job.results) if job is not None else {}

    def add(self, job: JobHandle) -> None:
        """Show a job submitted elsewhere (the launcher does this when connected)."""
        self.state.add(job)

    def select(self, job: JobHandle | str | None) -> None:
        self.state.select(job)

    def pick(self, job_ids) -> None:
        """Select several jobs in the list (the last one is shown in full)."""
        self.state.pick(job_ids)

    def joint_fit(self) -> bool:
        """Open the launcher on a joint fit of the picked completed spectrum jobs (when connected to one)."""
        return self.state.joint_fit()

    def on_rerun(self, callback, remove: bool = False) -> None:
        """Call ``callback(definition, parameters)`` when the launcher is to be filled: "Run again" (the job's
        kind and parameters) and "Joint fit" (``joint_spectrum`` with its ``jobs``)."""
        self.state.rerun.register(callback, remove=remove)

    def close(self) -> None:
        self.state.stop()
        for job in self._observed:
            job.unobserve(self._render_list, "progress")
        self._observed.clear()
        super().close()

    # -- events -----------------------------------------------------------------------------------
    def _picked(self, change) -> None:
        if self._rendering:
            return  # the list being redrawn (new options clear the selection)
        if list(change["new"]) != list(self.state.picked):
            self.state.pick(change["new"])

    # -- rendering --------------------------------------------------------------------------------
    def _render_kinds(self, _change=None) -> None:
        current = self._kind.value
        self._kind.options = [("all kinds", "")] + [(k, k) for k in self.state.kinds]
        self._kind.value = current if current in ("", *self.state.kinds) else ""

    def _render_list(self, _change=None) -> None:
        for job in self.state.jobs:
            if job not in self._observed:
                self._observed.add(job)
                job.observe(self._render_list, "progress")
        options = [(_label(j), j.job_id) for j in self.state.visible]
        self._rendering = True
        try:
            if options != list(self._list.options):
                self._list.options = options
        finally:
            self._rendering = False
        self._render_picked()
        self._list.layout.display = None if options else "none"

    def _render_picked(self, _change=None) -> None:
        ids = {v for _l, v in self._list.options}
        value = tuple(i for i in self.state.picked if i in ids)
        if tuple(self._list.value) != value:
            self._rendering = True
            try:
                self._list.value = value
            finally:
                self._rendering = False

    def _render_joint(self, _change=None) -> None:
        s = self.state
        self._joint.disabled = not s.joint_ready
        self._joint.tooltip = s.joint_note
        self._joint.button_style = "primary" if s.joint_ready else ""
        self._joint_note.value = f"<span style='color:#555'>{html.escape(s.joint_note)}</span>"

    def _render_message(self, _change=None) -> None:
        s = self.state
        color = "#c62828" if s.status == "error" else "#555"
        counts = {}
        for job in s.jobs:
            counts[job.phase] = counts.get(job.phase, 0) + 1
        detail = ", ".join(f"<span style='color:{PHASE_COLORS.get(p, '#555')}'>{n} {html.escape(p.lower())}</span>"
                           for p, n in sorted(counts.items()))
        text = f"<span style='color:{color}'>{html.escape(s.message)}</span>" if s.message else ""
        self._message.value = text + (f" ({detail})" if detail and s.status != "error" else "")


__all__ += ["PHASE_GROUPS"]
