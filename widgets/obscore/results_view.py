"""The results panel: the data grid, how many rows are selected, and export of the selection.

The grid shows ObsCore's MJD times as UTC dates (a display layer, see :mod:`widgets.obscore.table`); a line
above it says so, and that ``search.results`` and the exports keep the MJD.
"""

from __future__ import annotations

import html
import re

import ipywidgets as w

from widgets.obscore.export import FORMATS, download_link
from widgets.obscore.state import SearchState

MAX_LINK_ROWS = 50_000  # larger selections: use search.export() in a notebook
STALE_NOTE = ("These rows are from the previous search: the latest one failed (its message is below the "
              "query). They stay so that nothing is lost; search again to replace them.")
STALE_STYLE = "<style>.portal-results-stale .portal-results-grid { opacity: 0.45; }</style>"
_CSS_LENGTH = re.compile(r"^(\d{1,5})(\.\d{1,3})?(px|em|rem|vh)$")


def height_style(height: str) -> tuple[str, str]:
    """A class for the grid's holder and a CSS rule giving the grid ``height`` from the start. A new grid is
    measured and drawn before its own classes and layout apply (they wait until it is shown), so at
    ipydatagrid's own 500 px, then drawn again at its height: a full paint of the grid's cells, 0.3 to 1 s
    in a browser without a GPU. ("", "") for a height CSS cannot take as a class."""
    found = _CSS_LENGTH.match(height.strip())
    if not found:
        return "", ""
    name = "portal-results-h" + re.sub(r"[^0-9a-z]", "-", found.group(0))
    return name, f"<style>.{name} > .datagrid-container {{ height: {found.group(0)}; }}</style>"


class ResultsPanel(w.VBox):
    def __init__(self, state: SearchState, height: str = "360px", **kwargs) -> None:
        self.state = state
        self.grid = None  # a ResultsGrid once there are results (pandas and ipydatagrid load then)
        self._binding = None
        self._holder = w.Box(layout=w.Layout(width="100%"))
        self._count = w.HTML()
        self._format = w.Dropdown(options=list(FORMATS), value="VOTable", layout=w.Layout(width="9em"))
        self._export = w.Button(description="Export selection", icon="download", layout=w.Layout(width="auto"))
        self._export.on_click(lambda _b: self.export_link())
        self._clear = w.Button(description="Clear selection", layout=w.Layout(width="auto"))
        self._clear.on_click(lambda _b: setattr(self.state, "selection", []))
        self._link = w.HTML()
        self._link.add_class("portal-export")
        self._stale = w.HTML()
        self._stale.add_class("portal-results-stale-note")
        self._dates = w.HTML()
        self._dates.add_class("portal-results-dates")
        self._times = w.HTML()  # the selected rows' exact times (MJD), which the grid's dates round
        self._times.add_class("portal-results-times")
        bar = w.HBox([self._count, self._format, self._export, self._clear, self._link],
                     layout=w.Layout(align_items="center", flex_flow="row wrap", grid_gap="8px"))
        self._style = w.HTML(STALE_STYLE)
        self._height_class = ""
        self.height = height
        super().__init__([self._style, bar, self._stale, self._dates, self._holder, self._times], **kwargs)
        self.add_class("portal-results")
        state.watch(self._show_results, "results")  # the results and the selection are the session's
        state.watch(self._show_count, ["selection", "results"])
        state.observe(self._show_count, "overflow")
        state.observe(self._show_stale, "stale")
        self._show_results()
        self._show_count()
        self._show_stale()

    @property
    def height(self) -> str:
        """The grid's height (CSS). Set before the first results (the dashboards set theirs after building the
        panel), it is the grid's height from its first paint: the holder's class and rule follow it."""
        return self._height

    @height.setter
    def height(self, value: str) -> None:
        self._height = value
        height_class, height_rule = height_style(value)
        if self._height_class:
            self._holder.remove_class(self._height_class)
        self._height_class = height_class
        if height_class:
            self._holder.add_class(height_class)
        self._style.value = STALE_STYLE + height_rule

    def _show_results(self, _change=None) -> None:
        self._link.value = ""
        table = self.state.results
        if table is None:
            self._dates.value = ""
            self._holder.children = [w.HTML("<i>No results yet: fill the form and press Search.</i>")]
            return
        from widgets.obscore.table import (
            DATE_WIDTH,
            PRODUCT_WIDTHS,
            SelectionBinding,
            date_header,
            date_note,
            fits,
            has_products,
            make_grid,
            to_dataframe,
        )

        frame = to_dataframe(table)
        note = date_note(table)
        self._dates.value = f"<span style='color:#555;font-size:90%'>{html.escape(note)}</span>" if note else ""
        widths = {date_header(n): DATE_WIDTH for n in table.colnames if date_header(n) in frame.columns}
        if has_products(table):  # what a product is and which job made it, readable without widening columns
            widths.update({n: px for n, px in PRODUCT_WIDTHS.items() if n in frame.columns})
        if self.grid is None or not fits(self.grid, frame):  # made once per kind of grid, then reused
            if self.grid is not None:
                self._binding.unbind()
                self.grid.close()
            self.grid = make_grid(frame, layout=w.Layout(height=self.height, width="100%"), base_column_size=120,
                                  header_visibility="all", column_widths=widths)
            self.grid.add_class("portal-results-grid")
            self._binding = SelectionBinding(self.grid, self.state, len(frame.columns))
        else:
            self.grid.set_frame(frame)
            self.grid.column_widths = widths
            self._binding.n_columns = len(frame.columns)
        self._holder.children = [self.grid]

    def _show_stale(self, _change=None) -> None:
        if self.state.stale:
            self.add_class("portal-results-stale")
            self._stale.value = f"<div style='color:#c62828;font-weight:bold'>{html.escape(STALE_NOTE)}</div>"
        else:
            self.remove_class("portal-results-stale")
            self._stale.value = ""

    def _show_count(self, _change=None) -> None:
        table = self.state.results
        if table is None:
            self._count.value = self._times.value = ""
            return
        note = " (truncated at MAXREC)" if self.state.overflow else ""
        self._count.value = (f"<b>{len(table):,}</b> rows{html.escape(note)}, "
                             f"<b>{len(self.state.selection):,}</b> selected")
        self._export.disabled = not self.state.selection
        from widgets.obscore.table import selected_times

        times = selected_times(table, list(self.state.selection))
        self._times.value = f"<span style='color:#555;font-size:90%'>{html.escape(times)}</span>" if times else ""

    def export_link(self) -> None:
        """Put a download link for the selected rows in the panel."""
        rows = self.state.selection
        if not rows:
            self._link.value = "<span style='color:#c62828'>Select rows first.</span>"
            return
        if len(rows) > MAX_LINK_ROWS:
            self._link.value = (f"<span style='color:#c62828'>{len(rows):,} rows are too many for a browser "
                                f"download; in a notebook use search.export(...)</span>")
            return
        try:
            self._link.value = download_link(self.state.selected, self._format.value)
        except Exception as exc:  # noqa: BLE001 - a table astropy cannot write
            self._link.value = f"<span style='color:#c62828'>{html.escape(f'Export failed: {exc}')}</span>"
