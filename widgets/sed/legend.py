"""The legend of an SED plot: compact, collapsible, one line per source with a toggle for each of its layers.

The legend sits under the plot (never beside it, where it took the plot's width). Its header, a button
"Layers (16) · 7 shown", folds it away (``collapsed``). Each source (a group of layers: the followed job,
a refit, a catalog source, a file) is a line: its colour, its name in bold, and a toggle per layer with a
short text ("flux points", "model ±1σ", "ΔTS profiles"); the lines flow in columns. Catalog counterparts
other than the best of their family (``Layer.extra``) come last, under "Other counterparts", switched off
until their toggle is ticked; a source keeps its place whatever its toggles say.
"""

from __future__ import annotations

import html

import ipywidgets as w
import traitlets as t

SWATCH = {"points": "&#9679;", "model": "&#9472;&#9472;", "profiles": "&#9638;"}
KIND_TEXT = {"points": "flux points", "model": "model ±1σ", "profiles": "ΔTS profiles"}
STYLE = """<style>
.portal-sed-legend { overflow-y: auto; }
.portal-sed-legend-group { flex-wrap: wrap !important; align-items: center; min-width: 0; height: auto;
  flex: 0 0 auto !important; }
.portal-sed-legend-group > .widget-html, .portal-sed-legend-title { margin: 0 6px 0 0; height: 22px;
  line-height: 22px; flex: 0 1 auto; min-width: 0; }
.portal-sed-legend-group > .widget-html .widget-html-content { line-height: 22px; height: 22px; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap; max-width: 24em; }
.portal-sed-legend-group .widget-checkbox { width: auto !important; margin: 0 10px 0 0; height: 22px;
  flex: 0 0 auto; }
.portal-sed-legend-group .widget-checkbox label { font-size: 12px; }
.portal-sed-legend-extra { opacity: 0.85; }
</style>"""


class Legend(w.VBox):
    """Observes ``state.layers``; a toggle shows or hides its layer (``state.set_visible``).

    ``collapsed`` folds the toggles away (the header button does it); ``title`` is the header's text.
    """

    collapsed = t.Bool(False)
    title = t.Unicode("Layers (0)")

    def __init__(self, state, collapsed: bool = False, **kwargs) -> None:
        self.state = state
        self._boxes: dict[str, w.Checkbox] = {}
        self._shown: tuple | None = None
        self.header = w.Button(layout=w.Layout(width="auto"), tooltip="Show or hide the layers' toggles")
        self.header.add_class("portal-sed-legend-header")
        self.header.on_click(lambda _b: setattr(self, "collapsed", not self.collapsed))
        self.body = w.VBox([], layout=w.Layout(width="100%", max_height="15em"))
        self.body.add_class("portal-sed-legend")
        super().__init__([w.HTML(STYLE), self.header, self.body], **kwargs)
        self.add_class("portal-sed-legend-box")
        self.observe(self._fold, ["collapsed", "title"])
        self.collapsed = collapsed
        state.observe(self._render, ["layers", "revision"])
        self._render()
        self._fold()

    def toggles(self) -> dict[str, bool]:
        """Layer key -> whether its toggle is on (what the legend shows)."""
        return {key: box.value for key, box in self._boxes.items()}

    def counts(self) -> tuple[int, int]:
        """(layers, layers shown)."""
        layers = list(self.state.layers)
        return len(layers), sum(layer.visible for layer in layers)

    def sections(self) -> dict[str, list[str]]:
        """The groups (sources) as listed: ``{"main": [...], "other": [...]}`` (the counterparts switched off)."""
        main, other = _sections(list(self.state.layers))
        return {"main": [g for g, _ in main], "other": [g for g, _ in other]}

    def _fold(self, _change=None) -> None:
        self.header.description = ("▸ " if self.collapsed else "▾ ") + self.title
        self.body.layout.display = "none" if self.collapsed else None

    def _render(self, _change=None) -> None:
        layers = list(self.state.layers)
        shape = tuple((layer.key, layer.group, layer.label, layer.color, layer.note, layer.extra) for layer in layers)
        if shape != self._shown:
            self._rebuild(layers)
            self._shown = shape
        for layer in layers:
            box = self._boxes[layer.key]
            if box.value != layer.visible:
                box.value = layer.visible
        total, shown = self.counts()
        self.title = f"Layers ({total})" + (f" · {shown} shown" if total else "")

    def _rebuild(self, layers) -> None:
        self._boxes = {}
        main, other = _sections(layers)
        rows = [self._group(group, items) for group, items in main]
        if other:
            title = w.HTML("<i>Other counterparts (switched off):</i>")
            title.add_class("portal-sed-legend-title")
            rows += [title] + [self._group(group, items, extra=True) for group, items in other]
        if not rows:
            rows = [w.HTML("<i>Nothing to show yet: follow a job, load flux points or set a target.</i>")]
        self.body.children = rows

    def _group(self, group: str, layers, extra: bool = False) -> w.HBox:
        color = html.escape(layers[0].color)
        name = w.HTML(f"<span style='color:{color};font-size:14px'>{SWATCH[layers[0].kind]}</span> "
                      f"<b title='{html.escape(group)}'>{html.escape(group)}</b>")
        name.add_class("portal-sed-legend-name")
        toggles = [self._toggle(layer) for layer in layers]
        row = w.HBox([name, *toggles], layout=w.Layout(min_width="0"))
        row.add_class("portal-sed-legend-group")
        if extra:
            row.add_class("portal-sed-legend-extra")
        return row

    def _toggle(self, layer) -> w.Checkbox:
        box = w.Checkbox(value=layer.visible, indent=False, description=_kind_text(layer),
                         tooltip=layer.note or layer.legend, layout=w.Layout(width="auto"))
        box.add_class("portal-sed-toggle")
        box.add_class(f"portal-sed-{layer.kind}")
        box.observe(lambda change, key=layer.key: self.state.set_visible(key, change["new"]), "value")
        self._boxes[layer.key] = box
        return box


def _sections(layers) -> tuple[list, list]:
    """(group, its layers) in the order listed: the job's first, then refits, files, catalogs; the other
    counterparts (all their layers ``extra``) apart."""
    groups: dict[str, list] = {}
    for layer in layers:
        groups.setdefault(layer.group, []).append(layer)
    order = sorted(groups, key=_group_order)
    items = [(g, sorted(groups[g], key=lambda item: ("points", "model", "profiles").index(item.kind))) for g in order]
    main = [(g, ls) for g, ls in items if not all(layer.extra for layer in ls)]
    other = [(g, ls) for g, ls in items if all(layer.extra for layer in ls)]
    return main, other


def _kind_text(layer) -> str:
    """What the toggle says: the kind of layer, qualified by what its label adds to the group's name."""
    label = layer.label
    if label.startswith(layer.group):
        label = label[len(layer.group):].strip()
    text = KIND_TEXT[layer.kind]
    if label in ("", "flux points"):
        return text
    return f"{label}: points" if layer.kind == "points" else f"{label} {text}" if layer.kind == "model" else \
        f"{label}: {text}"


def _group_order(group: str) -> tuple:
    return (0 if " job " in group else 1 if group == "refits" else 2, group)
