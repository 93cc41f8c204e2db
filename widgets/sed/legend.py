"""The legend of an SED plot: one row per layer (a colour, its name, a toggle), grouped by source."""

from __future__ import annotations

import html

import ipywidgets as w

SWATCH = {"points": "&#9679;", "model": "&#9472;&#9472;", "profiles": "&#9638;"}


class Legend(w.VBox):
    """Observes ``state.layers``; a toggle shows or hides its layer (``state.set_visible``)."""

    def __init__(self, state, **kwargs) -> None:
        self.state = state
        self._boxes: dict[str, w.Checkbox] = {}
        self._shown: tuple | None = None
        super().__init__([], **kwargs)
        self.add_class("portal-sed-legend")
        state.observe(self._render, ["layers", "revision"])
        self._render()

    def toggles(self) -> dict[str, bool]:
        """Layer key -> whether its toggle is on (what the legend shows)."""
        return {key: box.value for key, box in self._boxes.items()}

    def _render(self, _change=None) -> None:
        layers = list(self.state.layers)
        shape = tuple((layer.key, layer.group, layer.label, layer.color, layer.note) for layer in layers)
        if shape != self._shown:
            self._rebuild(layers)
            self._shown = shape
        for layer in layers:
            box = self._boxes[layer.key]
            if box.value != layer.visible:
                box.value = layer.visible

    def _rebuild(self, layers) -> None:
        groups: dict[str, list] = {}
        for layer in layers:
            groups.setdefault(layer.group, []).append(layer)
        self._boxes = {}
        rows = []
        for group in sorted(groups, key=_group_order):
            rows.append(w.HTML(f"<b>{html.escape(group)}</b>", layout=w.Layout(margin="4px 0 0 0", flex="0 0 auto")))
            for layer in sorted(groups[group], key=lambda item: ("points", "model", "profiles").index(item.kind)):
                rows.append(self._row(layer))
        if not rows:
            rows = [w.HTML("<i>Nothing to show yet: follow a job, load flux points or set a target.</i>")]
        self.children = rows

    def _row(self, layer) -> w.HBox:
        box = w.Checkbox(value=layer.visible, indent=False, description=_kind_text(layer),
                         tooltip=layer.note or layer.legend, layout=w.Layout(width="auto", flex="1 1 auto",
                                                                             min_width="0"))
        box.add_class("portal-sed-toggle")
        box.observe(lambda change, key=layer.key: self.state.set_visible(key, change["new"]), "value")
        self._boxes[layer.key] = box
        swatch = w.HTML(f"<span style='color:{html.escape(layer.color)};font-size:14px'>{SWATCH[layer.kind]}</span>",
                        layout=w.Layout(width="2.2em", flex="0 0 2.2em"))
        # one line whatever the label's length (a joint fit's input jobs have long ones): the swatch beside it
        row = w.HBox([swatch, box], layout=w.Layout(align_items="center", flex="0 0 auto", flex_flow="row nowrap"))
        row.add_class("portal-sed-legend-row")
        row._dom_classes = row._dom_classes + (f"portal-sed-{layer.kind}",)
        return row


KIND_TEXT = {"points": "flux points", "model": "model, 1σ envelope", "profiles": "likelihood profiles (ΔTS)"}


def _kind_text(layer) -> str:
    """What the toggle says: the kind of layer, qualified by what its label adds to the group's name."""
    label = layer.label
    if label.startswith(layer.group):
        label = label[len(layer.group):].strip()
    text = KIND_TEXT[layer.kind]
    return f"{label}: {text}" if label and label != "flux points" else text


def _group_order(group: str) -> tuple:
    return (0 if " job " in group else 1 if group == "refits" else 2, group)
