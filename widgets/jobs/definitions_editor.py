"""DefinitionsEditor: the operators' job definition editor (OPUS's), over ``/uws/definitions``.

    editor = DefinitionsEditor()          # with an operator's token (`portal token create NAME --operator`)
    editor.state.open("spectrum")         # the kind's file (a built-in one: saving makes the folder's copy)
    editor.state.text = "..."             # edit
    editor.state.validate()               # the server's sentence: valid, or the file and the line
    editor.state.save()                   # written to the definitions folder; /uws offers it at once

:class:`DefinitionsEditorState` holds everything (the kinds, the files refused with their sentences, the
open file, the message) and talks to the service; :class:`DefinitionsEditor` is its thin view: a list of
kinds, the file in a text area, Validate, Save, Delete and Reload. A token without the operator role gets the
service's 403 sentence, shown as the message.
"""

from __future__ import annotations

import html
import re
from concurrent.futures import Future

import ipywidgets as w
import traitlets as t

from portal.seam.names import JOB_KIND_NAME
from widgets.background import Background, UsesBackground
from widgets.client import PortalClient, ServiceError, default_client

__all__ = ["DefinitionsEditor", "DefinitionsEditorState", "TEMPLATE"]

NAME = JOB_KIND_NAME  # the service's rule (portal.seam.names)
#: what a new kind starts from (TOML; docs/jobs.md describes every key)
TEMPLATE = '''\
description = "What this kind of job does, in a sentence or two."
run = "mypackage.jobs:run"        # module:function, called as run(ctx, params)
execution_duration = 3600

[[parameters]]
name = "ra"
type = "float"
label = "Right ascension"
unit = "deg"
minimum = 0.0
maximum = 360.0
ucd = "pos.eq.ra;meta.main"
help = "Right ascension of the target (ICRS)."

[[results]]
id = "result"
mime_type = "application/json"
help = "What the job writes."
'''
COLORS = {"idle": "#555", "busy": "#555", "ok": "#2e7d32", "error": "#c62828"}


class DefinitionsEditorState(UsesBackground, t.HasTraits):
    kinds = t.List(t.Dict())  # {"name", "origin" (built-in, folder, python), "file", "editable", ...}
    problems = t.List(t.Dict())  # the files refused: {"file", "line", "message"}
    name = t.Unicode("")  # the kind open in the editor
    text = t.Unicode("")
    format = t.Enum(["toml", "yaml"], "toml")
    origin = t.Unicode("")  # where the open file comes from ("" for a new kind)
    line = t.Int(0)  # the line of the open file's problem (0: none)
    status = t.Enum(["idle", "busy", "ok", "error"], "idle")
    message = t.Unicode("")

    def __init__(self, client: PortalClient | None = None, background: Background | None = None, **kwargs):
        super().__init__(**kwargs)
        self.client = client or default_client()
        self.background = background

    def _path(self, name: str = "") -> str:
        return "/uws/definitions" + (f"/{name}" if name else "")

    def _do(self, work, background: bool, busy: str) -> Future | None:
        """``work()`` (which returns the trait changes to apply), now or in a worker thread."""
        self.status, self.message = "busy", busy
        if background:
            return self.bg.run(work, on_done=self._apply, on_error=self._failed)
        try:
            self._apply(work())
        except ServiceError as exc:
            self._failed(exc)
        return None

    def _apply(self, changes: dict) -> None:
        with self.hold_trait_notifications():
            for key, value in changes.items():
                setattr(self, key, value)

    def _failed(self, exc: Exception) -> None:
        self.status = "error"
        self.message = exc.message if isinstance(exc, ServiceError) else f"The job service failed: {exc}"

    # -- reading -------------------------------------------------------------------------------------------
    def _listing(self) -> dict:
        body = self.client.get_json(self._path())
        return {"kinds": body["definitions"], "problems": body["problems"]}

    def load(self, background: bool = False) -> Future | None:
        """The kinds and the files refused, from the service."""
        def work() -> dict:
            found = self._listing()
            count = len(found["problems"])
            return {**found, "status": "error" if count else "idle", "message": (
                f"{count} definition file(s) refused: see below." if count else
                f"{len(found['kinds'])} job kinds.")}
        return self._do(work, background, "Reading the job definitions...")

    def open(self, name: str, background: bool = False) -> Future | None:
        """Show the file of kind ``name``."""
        def work() -> dict:
            response = self.client.get(self._path(name))
            origin = response.headers.get("x-definition-origin", "")
            note = " (built in: saving makes the definitions folder's own copy, which replaces it)" \
                if origin == "built-in" else ""
            return {"name": name, "text": response.text, "format": response.headers.get("x-definition-format", "toml"),
                    "origin": origin, "line": 0, "status": "idle", "message": f"{name}{note}."}
        return self._do(work, background, f"Reading {name}...")

    def new(self, name: str) -> None:
        """Start a new kind ``name`` from :data:`TEMPLATE` (nothing is saved until :meth:`save`)."""
        if not NAME.fullmatch(name or ""):
            self.status, self.message = "error", (f"{name!r} is not a job kind's name: use 1 to 64 letters, digits, "
                                                  "_ and -, starting with a letter.")
            return
        self._apply({"name": name, "text": TEMPLATE, "format": "toml", "origin": "", "line": 0, "status": "idle",
                     "message": f"New kind {name}: fill it in, validate, then save."})

    # -- checking and writing ------------------------------------------------------------------------------
    def _check(self) -> dict:
        response = self.client.post(self._path("validate"), params={"name": self.name, "format": self.format},
                                    content=self.text.encode("utf-8"))
        result = response.json()
        return {"status": "ok" if result["valid"] else "error", "message": result["message"],
                "line": result.get("line") or 0}

    def validate(self, background: bool = False) -> Future | None:
        """Ask the service whether the open file is valid: its sentence (the file and the line if not)."""
        if not self.name:
            self.status, self.message = "error", "Open a kind, or start a new one, first."
            return None
        return self._do(self._check, background, f"Validating {self.name}...")

    def save(self, background: bool = False) -> Future | None:
        """Write the open file to the definitions folder (refused with the service's sentence if not valid)."""
        if not self.name:
            self.status, self.message = "error", "Open a kind, or start a new one, first."
            return None

        def work() -> dict:
            response = self.client.request("PUT", self._path(self.name), ok=(200, 400), params={"format": self.format},
                                           content=self.text.encode("utf-8"))
            if response.status_code == 400:
                found = re.search(r", line (\d+):", response.text)
                return {"status": "error", "message": response.text, "line": int(found.group(1)) if found else 0}
            return {**self._listing(), "origin": "folder", "line": 0, "status": "ok",
                    "message": response.json()["message"]}
        return self._do(work, background, f"Saving {self.name}...")

    def delete(self, background: bool = False) -> Future | None:
        """Remove the open kind's file from the definitions folder (a built-in kind it replaced comes back)."""
        name = self.name

        def work() -> dict:
            said = self.client.request("DELETE", self._path(name)).text
            return {**self._listing(), "name": "", "text": "", "origin": "", "line": 0, "status": "ok",
                    "message": said}
        return self._do(work, background, f"Removing {name}...")


class DefinitionsEditor(w.VBox):
    """The thin view of :class:`DefinitionsEditorState` (see the module docstring)."""

    def __init__(self, client: PortalClient | None = None, state: DefinitionsEditorState | None = None,
                 background: bool = True, **kwargs) -> None:
        self.state = state or DefinitionsEditorState(client, Background.shared() if background else None)
        self.background = background
        self._kinds = w.Select(description="Kinds", rows=8, layout=w.Layout(width="22em"))
        self._kinds.observe(self._chosen, "value")
        self._new_name = w.Text(placeholder="new kind's name", layout=w.Layout(width="14em"))
        self._new = w.Button(description="New kind", icon="plus", layout=w.Layout(width="auto"))
        self._new.on_click(lambda _b: self.state.new(self._new_name.value.strip()))
        self._text = w.Textarea(layout=w.Layout(width="100%", height="28em"))
        self._text.add_class("portal-definition-text")
        self._text.observe(self._typed, "value")
        self._title = w.HTML()
        buttons = []
        for label, icon, action in (("Validate", "check", "validate"), ("Save", "save", "save"),
                                    ("Delete", "trash", "delete"), ("Reload", "refresh", "load")):
            button = w.Button(description=label, icon=icon, layout=w.Layout(width="auto"),
                              button_style="primary" if action == "save" else "")
            button.on_click(lambda _b, a=action: getattr(self.state, a)(background=self.background))
            buttons.append(button)
        self._buttons = buttons
        self._message = w.HTML()
        self._message.add_class("portal-definition-message")
        self._problems = w.HTML()
        side = w.VBox([self._kinds, w.HBox([self._new_name, self._new])], layout=w.Layout(flex="0 0 auto"))
        main = w.VBox([self._title, self._text, w.HBox(buttons, layout=w.Layout(grid_gap="8px")), self._message],
                      layout=w.Layout(flex="1 1 auto", min_width="20em"))
        super().__init__([w.HBox([side, main], layout=w.Layout(grid_gap="12px")), self._problems], **kwargs)
        self.add_class("portal-definitions-editor")
        s = self.state
        s.observe(self._render_kinds, ["kinds", "name"])
        s.observe(self._render_text, ["text", "name", "origin", "format"])
        s.observe(self._render_message, ["status", "message", "line", "problems"])
        self._render_kinds(), self._render_text(), self._render_message()
        if not s.kinds:
            s.load(background=background)

    def _chosen(self, change) -> None:
        name = change["new"]
        if name and name != self.state.name:
            self.state.open(name, background=self.background)

    def _typed(self, change) -> None:
        if change["new"] != self.state.text:
            self.state.text = change["new"]

    def _render_kinds(self, _change=None) -> None:
        editable = [k for k in self.state.kinds if k.get("editable")]
        self._kinds.options = [(f"{k['name']} ({k['origin']})", k["name"]) for k in editable]
        names = [k["name"] for k in editable]
        self._kinds.value = self.state.name if self.state.name in names else None

    def _render_text(self, _change=None) -> None:
        s = self.state
        if self._text.value != s.text:
            self._text.value = s.text
        where = {"built-in": "built in", "folder": "in the definitions folder", "": "new, not saved"}.get(s.origin, "")
        self._title.value = (f"<b>{html.escape(s.name)}</b> <span style='color:#555'>({html.escape(s.format)}, "
                             f"{html.escape(where)})</span>" if s.name else "<i>Choose a kind, or start a new one.</i>")
        for button in self._buttons[:3]:
            button.disabled = not s.name
        self._buttons[2].disabled = s.origin != "folder"

    def _render_message(self, _change=None) -> None:
        s = self.state
        text = html.escape(s.message)
        self._message.value = (f"<div style='white-space:normal;line-height:1.35;color:{COLORS[s.status]}'>{text}"
                               "</div>") if text else ""
        rows = "".join(f"<li>{html.escape(p['message'])}</li>" for p in s.problems)
        self._problems.value = (f"<div style='color:#c62828'><b>Definition files refused</b> (the other kinds keep "
                                f"working):<ul>{rows}</ul></div>") if rows else ""
