"""JobLauncher: a form for any job definition the service publishes, pre-filled from the dashboard.

    launcher = JobLauncher(definition="spectrum")
    launcher.values                       # the form as a dict
    job = launcher.submit()               # a JobHandle (.url, .job_id, .phase, .results)

The form is built from ``GET /uws`` alone (labels, types, units, defaults, bounds, choices and their
names, help): no code per job kind. A thin view of :class:`~widgets.jobs.form.LauncherState`.

Layout: a body (the job kind, its description, one row per parameter: the label, then the input with
its problem or note below it) above a footer (what will run, Submit and Reset, the message). Rows never
shrink; given a height (``layout.max_height``, as the Portal's tab does) the body scrolls and the footer
stays in view, so Submit is always reachable. The parameter's name is in its label's tooltip.
"""

from __future__ import annotations

import html

import ipywidgets as w

from widgets.background import Background
from widgets.client import PortalClient, default_client
from widgets.jobs.form import FREE_FORM, LauncherState
from widgets.jobs.handle import JobHandle

__all__ = ["JobLauncher"]

COLORS = {"loading": "#555", "idle": "#555", "submitting": "#555", "submitted": "#2e7d32", "error": "#c62828"}
TEXT = "line-height:1.35;white-space:normal;margin:2px 0"  # wrapped text (widgets draw HTML at the inputs' height)


def _tip(p) -> str:
    """The tooltip of a parameter: its name (what UWS and ADQL users know), its help and its bounds."""
    bounds = _bounds(p)
    return f"{p.name}: {p.doc}" + (f" Allowed: {bounds}." if bounds else "")


def _label(p) -> str:
    return p.title + (f" ({p.unit})" if p.unit else "") + (" *" if p.required else "")


def _options(widget: w.Dropdown) -> list:
    return [o[1] if isinstance(o, tuple) else o for o in widget.options]


def _fixed(widget: w.Widget) -> w.Widget:
    """A part of the form that keeps its height (a flex item that never shrinks)."""
    widget.layout.flex = "0 0 auto"
    return widget


def _bounds(p) -> str:
    unit = f" {p.unit}" if p.unit else ""
    if p.minimum is not None and p.maximum is not None:
        return f"{p.minimum:g} to {p.maximum:g}{unit}"
    if p.minimum is not None:
        return f"at least {p.minimum:g}{unit}"
    if p.maximum is not None:
        return f"at most {p.maximum:g}{unit}"
    return unit.strip()


class JobLauncher(w.VBox):
    #: what it does with the session (see :mod:`widgets.session`): pre-fill from the target and the selected
    #: rows, fill in a job to prepare; a job it submits becomes the active job
    observes, publishes = LauncherState.observes, LauncherState.publishes

    def __init__(self, definition: str | None = None, client: PortalClient | None = None,
                 state: LauncherState | None = None, background: bool = True, **kwargs) -> None:
        self.client = client or default_client()
        self.state = state or LauncherState(self.client, definition=definition,
                                            background=Background.shared() if background else None)
        self.background = background
        self._kind = w.Dropdown(description="Job", layout=w.Layout(width="22em"))
        self._kind.observe(self._kind_chosen, "value")
        self._about = w.HTML()
        self._fields = w.VBox(layout=w.Layout(flex="0 0 auto", width="100%", overflow="visible"))
        self._free_list = w.Text(description="Job list", placeholder="https://example.org/uws/myjob",
                                 layout=w.Layout(width="36em"))
        self._free_list.observe(lambda c: setattr(self.state, "free_list", c["new"]), "value")
        self._free_params = w.Textarea(description="Parameters", placeholder="name=value, one per line",
                                       layout=w.Layout(width="36em", height="8em"))
        self._free_params.observe(lambda c: setattr(self.state, "free_params", c["new"]), "value")
        self._free = w.VBox([self._free_list, self._free_params], layout=w.Layout(display="none"))
        self._summary = w.HTML()
        self._summary.add_class("portal-launch-summary")
        self._submit = w.Button(description="Submit", icon="play", button_style="primary",
                                layout=w.Layout(width="auto"))
        self._submit.add_class("portal-launch-submit")
        self._submit.on_click(lambda _b: self.submit(background=self.background))
        self._reset = w.Button(description="Reset form", icon="undo", layout=w.Layout(width="auto"),
                               tooltip="Forget what was typed: defaults and pre-filled values again")
        self._reset.on_click(lambda _b: self.state.reset())
        self._status = w.HTML(layout=w.Layout(max_height="8em", overflow="hidden auto"))  # many problems
        self._status.add_class("portal-launch-status")
        self._inputs: dict[str, w.Widget] = {}
        self._problem_labels: dict[str, w.HTML] = {}
        self._forms: dict[str, tuple] = {}
        self._rendering = False  # True while the view shows the state (its echoes are not typing)
        buttons = w.HBox([self._submit, self._reset], layout=w.Layout(grid_gap="8px", flex="0 0 auto"))
        self.body = w.VBox([_fixed(x) for x in (self._kind, self._about, self._fields, self._free)],
                           layout=w.Layout(flex="1 1 auto", min_height="0", overflow="hidden auto",
                                           padding="0 6px 0 0"))
        self.body.add_class("portal-launch-body")
        self.footer = w.VBox([_fixed(self._summary), buttons, _fixed(self._status)],
                             layout=w.Layout(flex="0 0 auto", border_top="1px solid #e0e0e0", padding="4px 0 0 0"))
        self.footer.add_class("portal-launch-footer")
        super().__init__([self.body, self.footer], **kwargs)
        self.layout.overflow = "hidden"  # the body scrolls, never the whole launcher
        self.add_class("portal-job-launcher")
        s = self.state
        s.observe(self._render_kinds, "definitions")
        s.observe(self._render_form, "definition")
        s.observe(self._render_texts, "texts")
        s.observe(self._render_problems, ["problems", "summary", "notes"])
        s.observe(self._render_status, ["status", "message"])
        if not s.definitions:
            s.load(background=background)
        self._render_kinds()
        self._render_status()

    # -- Python API -------------------------------------------------------------------------------
    def attach(self, session) -> list:
        """Pre-fill from ``session``'s target and selected rows, fill its drafts ("Run again", "Joint fit");
        each job submitted becomes its active job."""
        return [self.state.join(session)]

    @property
    def definition(self) -> str:
        return self.state.definition

    @definition.setter
    def definition(self, name: str) -> None:
        self.state.definition = name

    @property
    def values(self) -> dict:
        """The form as a dict. In a script it first waits for the background work that fills it (the
        definitions, a pre-fill from the selection), as a notebook's next cell would see it."""
        self.state.bg.settle()
        return self.state.values

    @values.setter
    def values(self, values: dict) -> None:
        for name, value in values.items():
            text = ",".join(map(str, value)) if isinstance(value, (list, tuple)) else (
                str(value).lower() if isinstance(value, bool) else str(value))
            self.state.type(name, text)

    def submit(self, background: bool = False) -> JobHandle | None:
        """Create and run the job; its handle (None when the form or the service refused: see the message)."""
        if background:
            self.state.submit_in_background()
            return None
        return self.state.submit()

    def fill(self, definition: str, parameters: dict) -> None:
        """Open the form filled with ``parameters`` (the monitor's "run again")."""
        self.state.fill(definition, parameters)

    def on_submit(self, callback, remove: bool = False) -> None:
        """Call ``callback(job: JobHandle)`` for every job submitted."""
        self.state.submitted.register(callback, remove=remove)

    # -- events -----------------------------------------------------------------------------------
    def _kind_chosen(self, change) -> None:
        if self._rendering:
            return
        if change["new"] is not None and change["new"] != self.state.definition:
            self.state.definition = change["new"]

    def _typed(self, name: str, widget, change) -> None:
        if self._rendering:
            return  # the view showing the state, not the user typing
        value = change["new"]
        text = ("true" if value else "false") if isinstance(widget, w.Checkbox) else str(value)
        if self.state.texts.get(name) != text:
            self.state.type(name, text)

    # -- rendering --------------------------------------------------------------------------------
    def _render_kinds(self, _change=None) -> None:
        options = [(d.name, d.name) for d in self.state.definitions]
        self._rendering = True
        try:
            self._kind.options = options or [("(no definitions: free form)", FREE_FORM)]
            names = [value for _label, value in self._kind.options]
            self._kind.value = self.state.definition if self.state.definition in names else names[0]
        finally:
            self._rendering = False
        self._render_form()

    def _render_form(self, _change=None) -> None:
        definition = self.state.current()
        self._render_free()
        if definition is not None and self._kind.value != definition.name and definition.name in [
                value for _label, value in self._kind.options]:
            self._kind.value = definition.name
        if definition is None:
            self._inputs, self._problem_labels = {}, {}
            self._about.value, self._fields.children = "", ()
            return
        self._about.value = (f"<div style='{TEXT};color:#444;max-width:60em;margin-bottom:6px'>"
                             f"{html.escape(definition.description)}</div>")
        if definition.name not in self._forms:
            self._forms[definition.name] = self._build(definition)
        rows, self._inputs, self._problem_labels = self._forms[definition.name]
        self._fields.children = rows
        self._render_texts()
        self._render_problems()

    def _build(self, definition) -> tuple:
        rows, inputs, labels = [], {}, {}
        for p in definition.parameters:
            tip = _tip(p)
            if p.type == "bool":
                widget = w.Checkbox(value=False, indent=False, description="", tooltip=tip,
                                    layout=w.Layout(width="auto"))
            elif p.type == "choice":
                names = p.choice_names()  # the value sent stays the choice; the list shows its name
                options = [(names[c], c) for c in names] if p.choice_labels else list(names)
                widget = w.Dropdown(options=options, tooltip=tip, layout=w.Layout(width="22em", max_width="100%"))
            else:
                wide = p.type in ("int-list", "obs-list", "string")
                hint = "e.g. 23523, 23526 or hess-dl3-dr1/23523" if p.type == "obs-list" else p.type
                widget = w.Text(placeholder=_bounds(p) or hint, tooltip=tip,
                                layout=w.Layout(width="100%" if wide else "12em", max_width="100%"))
            widget.add_class(f"portal-param-{p.name}")
            widget.observe(lambda c, n=p.name, wd=widget: self._typed(n, wd, c), "value")
            name = w.HTML(f"<div class='portal-param-label' title='{html.escape(tip, quote=True)}' "
                          "style='line-height:1.25;white-space:normal;padding:5px 8px 0 0'>"
                          f"{html.escape(_label(p))}</div>", layout=w.Layout(width="13em", flex="0 0 auto"))
            problem = w.HTML(layout=w.Layout(width="100%", flex="0 0 auto"))
            problem.add_class("portal-param-problem")
            inputs[p.name], labels[p.name] = widget, problem
            cell = w.VBox([_fixed(widget), problem], layout=w.Layout(flex="1 1 14em", min_width="10em",
                                                                      max_width="34em", overflow="visible"))
            row = w.HBox([name, cell], layout=w.Layout(flex="0 0 auto", align_items="flex-start", overflow="visible",
                                                       margin="0 0 2px 0"))
            row.add_class("portal-param-row")
            rows.append(row)
        return tuple(rows), inputs, labels

    def _render_free(self) -> None:
        free = self.state.current() is None and self.state.status != "loading"
        self._free.layout.display = None if free else "none"

    def _render_texts(self, _change=None) -> None:
        self._rendering = True
        try:
            self._show_texts()
        finally:
            self._rendering = False

    def _show_texts(self) -> None:
        for name, widget in self._inputs.items():
            text = self.state.texts.get(name, "")
            if isinstance(widget, w.Checkbox):
                value = text.strip().lower() in ("true", "1", "yes", "on")
            elif isinstance(widget, w.Dropdown):
                value = text if text in _options(widget) else widget.value
            else:
                value = text
            if widget.value != value:
                widget.value = value

    def _render_problems(self, _change=None) -> None:
        for name, label in self._problem_labels.items():
            problem, note = self.state.problems.get(name, ""), self.state.notes.get(name, "")
            style = "font-size:12px;line-height:1.3;white-space:normal;margin:0 0 4px 0;color:"
            label.value = (f"<div style='{style}#c62828'>{html.escape(problem)}</div>" if problem else
                           f"<div style='{style}#555'>{html.escape(note)}</div>" if note else "")
        free = [self.state.problems[k] for k in ("free_list", "free_params") if k in self.state.problems]
        text = html.escape(self.state.summary) if self.state.summary else ""
        if free:
            text = f"<span style='color:#c62828'>{html.escape('; '.join(free))}</span>"
        self._summary.value = f"<div style='{TEXT};font-weight:bold'>{text}</div>" if text else ""

    def _render_status(self, _change=None) -> None:
        s = self.state
        self._submit.disabled = s.status in ("submitting", "loading")
        self._status.value = (f"<div style='{TEXT};color:{COLORS[s.status]}'>{html.escape(s.message)}</div>"
                              if s.message else "")
        self._render_free()
