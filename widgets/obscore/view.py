"""ObsCoreSearch: choose a TAP service, fill the form, see (or edit) the ADQL, run it, browse the results.

Python API for notebooks: ``search.results`` and ``search.selected`` (astropy Tables),
``search.adql`` (the query text; setting it switches to hand-edited ADQL), ``search.run()``.
"""

from __future__ import annotations

import html

import ipywidgets as w
from astropy.coordinates import Angle, SkyCoord

from widgets.copy import CopyButton
from widgets.events import Dispatcher
from widgets.obscore.caret import status_html
from widgets.obscore.form_view import FormView
from widgets.obscore.query import MAX_MAXREC
from widgets.obscore.results_view import ResultsPanel
from widgets.obscore.services import Service, custom, known_services
from widgets.obscore.state import SearchState

OTHER = "other"


class ObsCoreSearch(w.VBox):
    #: what it does with the session (see :mod:`widgets.session`): publishes its rows and shares their selection;
    #: its cone follows the target
    observes, publishes = SearchState.observes, SearchState.publishes

    def __init__(self, state: SearchState | None = None, services: list[Service] | None = None,
                 background: bool = True, **kwargs) -> None:
        self.state = state or SearchState()
        self.background = background
        self._results_callbacks = Dispatcher(on_error=lambda exc: self._say("error", f"a callback failed: {exc}"))
        self.services = list(services or known_services())
        if all(s.key != self.state.service.key for s in self.services):
            self.services.insert(0, self.state.service)
        self.service_panel = self._build_service_panel()
        self.form_view = FormView(self.state.form)
        self.query_panel = self._build_query_panel()
        self.results_panel = ResultsPanel(self.state)
        self.search_panel = w.VBox([self.service_panel, self.form_view, self.query_panel])
        super().__init__([self.search_panel, self.results_panel], **kwargs)
        self.add_class("portal-obscore-search")
        s = self.state
        s.observe(lambda _c: self._render_adql(), ["adql", "editing", "mode", "maxrec", "service"])
        self._ran = ""  # the query of the latest run: a service's error points at a line and column of it
        s.observe(self._running, "status")
        s.observe(lambda _c: self._render_status(), ["status", "message", "problems"])
        s.observe(lambda _c: self._render_columns(), ["columns_note"])
        s.watch(self._on_new_results, "results")
        s.observe(self._suggest, "suggestions")
        self._render_adql()
        self._render_status()
        self.state.set_service(self.state.service, background=background)
        self._render_columns()

    # -- narrow public API ------------------------------------------------------------------------
    def attach(self, session) -> list:
        """Publish the rows found to ``session`` and share its selection; search around its target."""
        return [self.state.join(session)]

    @property
    def results(self):
        """The rows found (an astropy Table); in a script, once the query under way has been applied."""
        self.state.bg.settle()
        return self.state.results

    @property
    def selected(self):
        self.state.bg.settle()
        return self.state.selected

    @property
    def adql(self) -> str:
        return self.state.adql

    @adql.setter
    def adql(self, text: str) -> None:
        self.state.editing = True
        self.state.adql = text

    def run(self, background: bool | None = None) -> None:
        """Run the query (in the background in the page; set background=False to wait)."""
        if self.background if background is None else background:
            self.state.run_in_background()
        else:
            self.state.run()

    def export(self, path: str, fmt: str = "VOTable") -> None:
        """Write the selected rows to ``path`` as "VOTable" or "CSV"."""
        with open(path, "wb") as out:
            out.write(self.state.export(fmt))

    def set_cone(self, target: SkyCoord, radius: Angle | float) -> None:
        """Search around ``target`` (e.g. from TargetSearch) within ``radius`` (deg if a number)."""
        self.state.set_cone(target, radius)

    def on_results(self, callback, remove: bool = False) -> None:
        """Call ``callback(table)`` when new results arrive."""
        self._results_callbacks.register(callback, remove=remove)

    # -- building ---------------------------------------------------------------------------------
    def _build_service_panel(self) -> w.VBox:
        options = [(s.label, i) for i, s in enumerate(self.services)] + [("Other TAP service...", OTHER)]
        current = next(i for i, s in enumerate(self.services) if s.key == self.state.service.key)
        self._service = w.Dropdown(options=options, value=current, description="Service",
                                   layout=w.Layout(width="34em"))
        # the row for another TAP service: its fields (self._url, self._table) are made when it is first chosen
        self._url = self._table = None
        self._custom = w.HBox([], layout=w.Layout(display="none"))
        self._columns_note = w.HTML()
        self._service.observe(self._service_chosen, "value")
        return w.VBox([self._service, self._custom, self._columns_note])

    def _build_query_panel(self) -> w.VBox:
        self._adql = w.Textarea(layout=w.Layout(width="100%", height="9em"), continuous_update=False)
        self._adql.add_class("portal-adql")
        self._adql.observe(self._adql_typed, "value")
        self._edit = w.ToggleButton(value=self.state.editing, description="Edit ADQL", icon="pencil",
                                    tooltip="Type the query yourself; the form no longer changes it")
        self._edit.observe(lambda c: setattr(self.state, "editing", c["new"]), "value")
        self._show_code = w.ToggleButton(value=False, description="pyvo code", icon="code")
        # the pyvo code and its copy button (self._code, self._copy) are made when first asked for
        self._code = self._copy = None
        self._code_box = w.VBox([], layout=w.Layout(display="none"))
        self._show_code.observe(lambda _c: self._render_adql(), "value")
        self._mode = w.ToggleButtons(options=[("Sync", "sync"), ("Async", "async")], value=self.state.mode,
                                     style={"button_width": "5em"})
        self._mode.observe(lambda c: setattr(self.state, "mode", c["new"]), "value")
        self._maxrec = w.BoundedIntText(value=self.state.maxrec, min=1, max=MAX_MAXREC, description="MAXREC",
                                        layout=w.Layout(width="14em"))
        self._maxrec.observe(lambda c: setattr(self.state, "maxrec", int(c["new"])), "value")
        self._run = w.Button(description="Search", icon="search", button_style="primary", layout=w.Layout(width="auto"))
        self._run.add_class("portal-search-run")
        self._run.on_click(lambda _b: self.run())
        self._status = w.HTML()
        self._status.add_class("portal-search-status")
        self._problems = w.HTML()
        self._problems.add_class("portal-form-problems")
        tools = w.HBox([self._edit, self._show_code], layout=w.Layout(grid_gap="6px"))
        run = w.HBox([self._mode, self._maxrec, self._run], layout=w.Layout(align_items="center", grid_gap="8px"))
        return w.VBox([w.HTML("<b>ADQL</b>"), self._problems, self._adql, tools, self._code_box, run, self._status])

    def _build_custom(self) -> None:
        self._url = w.Text(placeholder="https://example.org/tap", description="TAP URL", layout=w.Layout(width="30em"))
        self._table = w.Text(value="ivoa.obscore", description="Table", layout=w.Layout(width="18em"))
        use = w.Button(description="Use", layout=w.Layout(width="auto"))
        use.on_click(lambda _b: self._use_custom())
        self._custom.children = [self._url, self._table, use]

    def _build_code(self) -> None:
        self._code = w.Textarea(layout=w.Layout(width="100%", height="10em"))
        self._code.add_class("portal-pyvo-code")
        self._copy = CopyButton(description="Copy pyvo code")
        self._code_box.children = [self._code, self._copy]

    # -- events -----------------------------------------------------------------------------------
    def _service_chosen(self, change) -> None:
        if change["new"] == OTHER:
            if not self._custom.children:
                self._build_custom()
            self._custom.layout.display = None
            return
        self._custom.layout.display = "none"
        self.state.set_service(self.services[change["new"]], background=self.background)

    def _use_custom(self) -> None:
        try:
            service = custom(self._url.value, self._table.value)
        except ValueError as exc:
            self._say("error", str(exc))
            return
        self.state.set_service(service, background=self.background)

    def _adql_typed(self, change) -> None:
        if self.state.editing and change["new"] != self.state.adql:
            self.state.adql = change["new"]

    def _on_new_results(self, change) -> None:
        if change["new"] is not None:
            self._results_callbacks(change["new"])

    def _running(self, change) -> None:
        if change["new"] == "running":
            self._ran = self.state.adql

    def _suggest(self, change) -> None:
        for column, values in change["new"].items():
            self.form_view.suggest(column, values)

    def _say(self, status: str, message: str) -> None:
        self.state.status, self.state.message = status, message[:1].upper() + message[1:]

    # -- rendering --------------------------------------------------------------------------------
    def _render_adql(self) -> None:
        if self._adql.value != self.state.adql:
            self._adql.value = self.state.adql
        self._adql.disabled = not self.state.editing
        self._edit.value = self.state.editing
        show = self._show_code.value
        if show and not self._code_box.children:
            self._build_code()
        self._code_box.layout.display = None if show else "none"
        if show:
            self._code.value = self._copy.text = self.state.pyvo_code()

    def _render_status(self) -> None:
        s = self.state
        self._run.disabled = s.status == "running"
        self._status.value = status_html(s.status, s.message, self._ran)
        if s.problems and not s.editing:
            items = "".join(f"<li>{html.escape(p)}</li>" for p in s.problems)
            self._problems.value = f"<ul style='color:#c62828;margin:0'>{items}</ul>"
        else:
            self._problems.value = ""

    def _render_columns(self) -> None:
        note = self.state.columns_note
        self._columns_note.value = f"<span style='color:#555;font-size:90%'>{html.escape(note)}</span>" if note else ""


__all__ = ["ObsCoreSearch", "status_html"]
