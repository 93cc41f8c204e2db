"""OverlayBar: the sky view's controls for a sky map over the sky (which map, "Show", colour map, opacity,
"Remove"), a thin view of :class:`~widgets.sky.overlay.OverlayState` that draws the state's ``image`` in the
sky's Aladin widget (its ``_portal_image_fits`` and ``_portal_image`` traits, see ``layers.js``).
It is hidden while there is no map to offer."""

from __future__ import annotations

import html

import ipywidgets as w

from widgets.sky.overlay import COLORMAPS, OverlayState

__all__ = ["OverlayBar"]

COLORS = {"idle": "#555", "working": "#555", "ok": "#2e7d32", "error": "#c62828"}


class OverlayBar(w.VBox):
    def __init__(self, state: OverlayState, aladin, **kwargs) -> None:
        self.state = state
        self.aladin = aladin
        self._choice = w.Dropdown(description="Sky map", options=[], style={"description_width": "auto"},
                                  layout=w.Layout(width="auto", flex="1 1 18em", min_width="12em"))
        self._choice.add_class("portal-overlay-choice")
        self._show = w.Button(description="Show", icon="eye", layout=w.Layout(width="auto"),
                              tooltip="Draw this map over the sky")
        self._show.add_class("portal-overlay-show")
        self._colormap = w.Dropdown(description="Colours", options=list(COLORMAPS), value=state.colormap,
                                    style={"description_width": "auto"}, layout=w.Layout(width="11em"))
        self._colormap.add_class("portal-overlay-colormap")
        self._opacity = w.FloatSlider(description="Opacity", value=state.opacity, min=0.0, max=1.0, step=0.05,
                                      readout_format=".2f", style={"description_width": "auto"},
                                      layout=w.Layout(width="15em"))
        self._opacity.add_class("portal-overlay-opacity")
        self._remove = w.Button(description="Remove", icon="times", layout=w.Layout(width="auto"),
                                tooltip="Take the map off the sky")
        self._remove.add_class("portal-overlay-remove")
        self._message = w.HTML()
        self._message.add_class("portal-overlay-message")
        self._choice.observe(lambda c: setattr(self.state, "chosen", c["new"] or ""), "value")
        self._show.on_click(lambda _b: self.state.show())
        self._colormap.observe(lambda c: setattr(self.state, "colormap", c["new"]), "value")
        self._opacity.observe(lambda c: setattr(self.state, "opacity", float(c["new"])), "value")
        self._remove.on_click(lambda _b: self.state.remove())
        self._style = w.HBox([self._colormap, self._opacity, self._remove],
                             layout=w.Layout(align_items="center", grid_gap="6px", flex_flow="row wrap"))
        row = w.HBox([self._choice, self._show, self._style],
                     layout=w.Layout(align_items="center", grid_gap="6px", flex_flow="row wrap", width="100%"))
        super().__init__([row, self._message], **kwargs)
        self.add_class("portal-overlay-bar")
        aladin.on_image_drawn(self.state.drawn)
        state.observe(self._render_choices, ["choices", "chosen"])
        state.observe(self._draw, "image")
        state.observe(self._style_changed, ["colormap", "opacity"])
        state.observe(self._render, ["image", "status", "message", "choices"])
        self._render_choices()
        self._draw()
        self._render()

    def _render_choices(self, _change=None) -> None:
        options = [(c.label, c.url) for c in self.state.choices]
        if options != list(self._choice.options):
            self._choice.options = options
        if self.state.chosen and self._choice.value != self.state.chosen:
            self._choice.value = self.state.chosen

    def _spec(self) -> dict:
        image = self.state.image
        return {"name": image.label, "colormap": self.state.colormap, "opacity": float(self.state.opacity),
                "min_cut": image.min_cut, "max_cut": image.max_cut}

    def _draw(self, _change=None) -> None:
        image = self.state.image
        with self.aladin.hold_sync():
            if image is None:
                self.aladin._portal_image = {}
                self.aladin._portal_image_fits = b""
            else:
                self.aladin._portal_image = self._spec()
                self.aladin._portal_image_fits = image.fits

    def _style_changed(self, _change=None) -> None:
        if self._colormap.value != self.state.colormap:
            self._colormap.value = self.state.colormap
        if abs(self._opacity.value - self.state.opacity) > 1e-9:
            self._opacity.value = self.state.opacity
        if self.state.image is not None:
            self.aladin._portal_image = self._spec()

    def _render(self, _change=None) -> None:
        s = self.state
        self.layout.display = None if (s.choices or s.image is not None or s.message) else "none"
        self._show.disabled = not s.choices or s.status == "working"
        self._style.layout.display = None if s.image is not None else "none"
        self._message.value = (f"<span style='color:{COLORS[s.status]};font-size:90%'>{html.escape(s.message)}</span>"
                               if s.message else "")
