"""ProductPanel: the selected product (an SED, a light curve, a sky map of the archive), its provenance graph,
and "Open SED" / "Show on sky"; a thin view of :class:`~widgets.products.state.ProductState`.

    panel = ProductPanel(client=client)
    connect(search, sky, sed, panel)      # a product row selected in the results is the panel's
    panel.state.current                   # the Product (None while no product row is selected)
    panel.open_sed(); panel.show_on_sky() # its flux points in the SED view; its map on the sky
    panel.bar                             # the same actions in one line (the Portal puts it above the results)
"""

from __future__ import annotations

import html

import ipywidgets as w

from widgets.events import Dispatcher
from widgets.products.state import ProductState

__all__ = ["ProductBar", "ProductPanel"]

COLORS = {"idle": "#555", "working": "#555", "ok": "#2e7d32", "error": "#c62828"}


def _buttons(state: ProductState, on_provenance) -> tuple[w.Button, w.Button, w.Button]:
    sed = w.Button(description="Open SED", icon="line-chart", layout=w.Layout(width="auto"),
                   tooltip="Plot the product's flux points in the SED view")
    sed.add_class("portal-product-open-sed")
    sky = w.Button(description="Show on sky", icon="globe", layout=w.Layout(width="auto"),
                   tooltip="Overlay the product's map on the sky, with a colour scale")
    sky.add_class("portal-product-show-sky")
    prov = w.Button(description="Provenance", icon="sitemap", layout=w.Layout(width="auto"),
                    tooltip="How it was made: the job, its parameters and the observations it used")
    prov.add_class("portal-product-provenance")
    sed.on_click(lambda _b: state.open_sed())
    sky.on_click(lambda _b: state.show_on_sky())
    prov.on_click(lambda _b: on_provenance())
    return sed, sky, prov


def _render_buttons(state: ProductState, sed: w.Button, sky: w.Button, prov: w.Button) -> None:
    product = state.current
    kind = product.dataproduct_type if product is not None else ""
    sed.layout.display = None if kind == "sed" else "none"
    sky.layout.display = None if kind == "image" else "none"
    blocked = state.status == "error" and state.links is None
    sed.disabled = sky.disabled = blocked
    prov.disabled = product is None


class ProductBar(w.HBox):
    """One line above the results: the selected product, and its actions (hidden while no product is selected)."""

    def __init__(self, state: ProductState, on_provenance=None, **kwargs) -> None:
        self.state = state
        self.provenance_asked = Dispatcher()
        if on_provenance is not None:
            self.provenance_asked.register(on_provenance)
        # its line and buttons are made when a product is first selected
        self._text: w.HTML | None = None
        self._sed = self._sky = self._prov = None
        super().__init__([], layout=w.Layout(align_items="center", grid_gap="6px", flex_flow="row wrap", width="100%"),
                         **kwargs)
        self.add_class("portal-product-bar")
        state.observe(self._render, ["current", "count", "links", "status", "message"])
        self._render()

    def _build(self) -> None:
        """Its parts, made when a product is first selected (most visits select none: the page draws none)."""
        self._text = w.HTML(layout=w.Layout(flex="1 1 16em", min_width="10em"))
        self._text.add_class("portal-product-bar-text")
        self._sed, self._sky, self._prov = _buttons(self.state, lambda: self.provenance_asked())
        self.children = [self._text, self._sed, self._sky, self._prov]

    def _render(self, _change=None) -> None:
        s = self.state
        if s.current is None:
            self.layout.display = "none"  # its parts, once made, are drawn again at the next product
            return
        if self._text is None:
            self._build()
        more = f" <span style='color:#555'>(1 of {s.count} products selected)</span>" if s.count > 1 else ""
        note = (f"<br><span style='color:{COLORS[s.status]};font-size:90%'>{html.escape(s.message)}</span>"
                if s.status == "error" else "")
        self._text.value = f"<b>{html.escape(s.current.label)}</b>{more}{note}"
        _render_buttons(s, self._sed, self._sky, self._prov)
        self.layout.display = None


class ProductPanel(w.VBox):
    """The selected product in full: what it is, which job made it, its provenance graph, and its actions."""

    observes, publishes = ProductState.observes, ProductState.publishes

    def __init__(self, state: ProductState | None = None, client=None, background=None,
                 bar: ProductBar | None = None, **kwargs) -> None:
        self.state = state or ProductState(client=client, background=background)
        self._header = w.HTML()
        self._header.add_class("portal-product-header")
        self._message = w.HTML()
        self._message.add_class("portal-product-message")
        self._sed, self._sky, self._prov = _buttons(self.state, lambda: None)
        self._prov.layout.display = "none"  # the graph is below
        self._graph = w.HTML(layout=w.Layout(width="100%"))
        self._graph.add_class("portal-product-provenance-graph")
        self.bar = bar or ProductBar(self.state)
        actions = w.HBox([self._sed, self._sky], layout=w.Layout(grid_gap="6px"))
        super().__init__([self._header, actions, self._message, self._graph], **kwargs)
        self.add_class("portal-product-panel")
        self.state.observe(self._render, ["current", "links", "status", "message"])
        self.state.observe(self._render_graph, ["provenance", "provenance_note", "current"])
        self._render()
        self._render_graph()

    # -- Python API -------------------------------------------------------------------------------
    def attach(self, session) -> list:
        """Show the first product among ``session``'s selected rows; open it in the session's SED or sky."""
        return [self.state.join(session)]

    def open_sed(self) -> bool:
        return self.state.open_sed()

    def show_on_sky(self) -> bool:
        return self.state.show_on_sky()

    # -- rendering --------------------------------------------------------------------------------
    def _render(self, _change=None) -> None:
        s = self.state
        p = s.current
        if p is None:
            self._header.value = ""
        else:
            facts = [("type", f"{p.dataproduct_type}" + (f" ({p.subtype})" if p.subtype else "")),
                     ("calibration level", "" if p.calib_level is None else f"{p.calib_level} (science product)"),
                     ("target", p.target), ("made by job", p.job_id), ("title", p.title),
                     ("identifier", p.did)]
            rows = "".join(f"<tr><th style='text-align:left;padding-right:8px;white-space:nowrap'>{html.escape(k)}"
                           f"</th><td style='overflow-wrap:anywhere'>{html.escape(v)}</td></tr>" for k, v in facts if v)
            self._header.value = f"<b>{html.escape(p.label)}</b><table class='portal-product-facts'>{rows}</table>"
        self._message.value = (f"<span style='color:{COLORS[s.status]}'>{html.escape(s.message)}</span>"
                               if s.message else "")
        _render_buttons(s, self._sed, self._sky, self._prov)

    def _render_graph(self, _change=None) -> None:
        s = self.state
        if s.provenance is not None:
            from widgets.jobs.previews import download_link
            from widgets.jobs.provenance import inputs_table, to_svg

            name = f"{(s.current.job_id or 'product') if s.current else 'product'}-provenance.json"
            link = f"PROV-JSON: {download_link(s.provenance_json, 'application/json', name)}" if s.provenance_json else ""
            self._graph.value = (f"<b>Provenance</b><div style='overflow:auto;max-height:32em'>"
                                 f"{to_svg(s.provenance)}</div>{inputs_table(s.provenance)}<div>{link}</div>")
        elif s.provenance_note:
            self._graph.value = f"<i>{html.escape(s.provenance_note)}</i>"
        else:
            self._graph.value = ""
