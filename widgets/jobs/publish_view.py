"""PublishControl: the job monitor's "Publish" bar, a thin view of :class:`~widgets.jobs.publish.PublishState`.

It shows whether the selected job is in the archive (unpublished, private, public), a Private/Public choice,
"Publish" (or "Change visibility" once published) and "Unpublish". It is hidden while no job is selected.
"""

from __future__ import annotations

import html

import ipywidgets as w

from widgets.jobs.publish import PublishState

__all__ = ["PublishControl"]

BADGE = {"unpublished": ("not in the archive", "#555"), "private": ("published, private", "#8a6d00"),
         "public": ("published, public", "#2e7d32")}


class PublishControl(w.VBox):
    def __init__(self, state: PublishState | None = None, **kwargs) -> None:
        self.state = state or PublishState()
        self._badge = w.HTML()
        self._badge.add_class("portal-publish-badge")
        self._choice = w.ToggleButtons(options=[("Private", "private"), ("Public", "public")], value="private",
                                       tooltips=["Only you (your token) see the products in the archive",
                                                 "Anyone searching the archive finds the products"],
                                       style={"button_width": "6em"})
        self._choice.add_class("portal-publish-choice")
        self._publish = w.Button(description="Publish", icon="upload", button_style="primary",
                                 layout=w.Layout(width="auto"),
                                 tooltip="Put this job's products (flux points, light curve, maps) in the archive")
        self._publish.add_class("portal-publish-button")
        self._unpublish = w.Button(description="Unpublish", icon="times", layout=w.Layout(width="auto"),
                                   tooltip="Take this job's products out of the archive (the job stays)")
        self._unpublish.add_class("portal-unpublish-button")
        self._message = w.HTML()
        self._message.add_class("portal-publish-message")
        self._publish.on_click(lambda _b: self.state.publish(self._choice.value == "public"))
        self._unpublish.on_click(lambda _b: self.state.unpublish())
        self._choice.observe(lambda _c: self._render(), "value")
        self._controls = w.HBox([w.HTML("<b>Archive</b>"), self._badge, self._choice, self._publish, self._unpublish],
                                layout=w.Layout(align_items="center", grid_gap="4px 8px", flex_flow="row wrap",
                                                flex="0 0 auto"))
        super().__init__([self._controls, self._message], **kwargs)
        self.layout.flex = "0 0 auto"  # in the monitor's column: never squashed
        self.add_class("portal-publish")
        self.state.observe(lambda _c: self.sync_choice(), "visibility")
        self.state.observe(self._render, ["visibility", "can_publish", "busy", "failed", "message"])
        self.state.watch(self._render, "active_job")
        self._render()

    def _render(self, _change=None) -> None:
        s = self.state
        job = s.job
        self.layout.display = "none" if job is None else None
        completed = job is not None and job.phase == "COMPLETED"
        self._controls.layout.display = None if completed and (s.can_publish or s.busy) else "none"
        text, color = BADGE.get(s.visibility, ("asking...", "#555") if s.busy else ("", "#555"))
        self._badge.value = (f"<span class='portal-publish-state' data-visibility='{html.escape(s.visibility)}' "
                             f"style='color:{color};font-weight:bold'>{html.escape(text)}</span>")
        published = s.visibility in ("private", "public")
        if published and self._choice.value == s.visibility:
            self._publish.description, self._publish.disabled = "Publish", True
        else:
            self._publish.description = "Change visibility" if published else "Publish"
            self._publish.disabled = s.busy or not s.can_publish
        self._unpublish.disabled = s.busy or not published
        self._choice.disabled = s.busy
        color = "#c62828" if s.failed else "#555"
        self._message.value = (f"<span style='color:{color};font-size:90%'>{html.escape(s.message)}</span>"
                               if s.message else "")

    def sync_choice(self) -> None:
        """Set the Private/Public choice to the job's visibility (once it is known)."""
        if self.state.visibility in ("private", "public"):
            self._choice.value = self.state.visibility
