"""The bqplot figure of an SED: log-log axes, one set of marks per layer, kept in step with the state.

Each layer's marks are made once and then only given new arrays when its data, the SED type or
the energy unit change; hidden layers keep their marks (a toggle costs nothing). A model whose
envelope is not computed yet for the current SED type is computed in a worker thread and drawn
when ready. The axis ranges follow the visible data; the ticks are chosen for the figure's size
(:mod:`widgets.sed.ticks`: at decades, as many as fit), its width reported by the page (``width``).

The followed job's points are drawn on top, larger, dark with a white outline; catalog points are smaller
and lighter. The likelihood profiles' colour scale is an HTML key under the plot (``key``): bqplot's colour
bar is drawn 100 px short of each end of the axis, which squashed its labels into a few pixels.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as w
import numpy as np

from widgets.sed import units
from widgets.sed.points import DTS_MAX, UL_ARROW
from widgets.sed.ticks import axis_ticks

PAD = 10**0.15  # log-padding around the data
EMPTY_X = (0.1, 100.0)  # TeV, before there is data
EMPTY_Y = {"dnde": (1e-16, 1e-9), "e2dnde": (1e-14, 1e-9), "flux": (1e-15, 1e-9), "eflux": (1e-14, 1e-9)}
FLOOR = 1e-2  # an error bar or envelope reaching zero is drawn down to a hundredth of the value
HEAT_COLORS = ["#3f007d", "#9e9ac8", "rgba(239, 237, 245, 0)"]  # delta TS 0 (best) -> DTS_MAX (clear); purple:
# no catalog colour is near it
# the followed job's own points stand out: larger, dark, outlined, on top; catalogs' smaller and lighter
DOT_SIZE = {"job": 81, "catalog": 25}  # others (files, a joint fit's inputs, refits): 36
BAR_WIDTH = {"job": 2.5, "catalog": 1.2}
OPACITY = {"catalog": 0.7}
MARGIN = {"top": 12, "bottom": 48, "left": 66, "right": 18}  # room for the tick labels and the axis labels
KEY_TICKS = (0, 1, 4, 9)  # ΔTS of 1, 2 and 3 sigma for one parameter


def _segments(x0, x1, y0, y1):
    """(n, 2) arrays for n two-point lines."""
    return np.column_stack([x0, x1]), np.column_stack([y0, y1])


class LayerMarks:
    """The bqplot marks of one layer."""

    def __init__(self, layer, scales: dict, color_scale) -> None:
        self.kind = layer.kind
        self.signature = None  # what the marks show: (layer, its version, SED type, energy unit)
        self.empty = True  # nothing to draw in this SED type
        self.blank: set = set()
        xy = {"x": scales["x"], "y": scales["y"]}
        c = layer.color
        if layer.kind == "points":
            size, width = DOT_SIZE.get(layer.source, 36), BAR_WIDTH.get(layer.source, 1.5)
            opacity = OPACITY.get(layer.source, 1.0)
            self.bars = bq.Lines(x=[], y=[], scales=xy, colors=[c], stroke_width=width, opacities=[opacity])
            tooltip = bq.Tooltip(fields=["name"], labels=[layer.label or "point"])
            outline = {"stroke": "white", "stroke_width": 1.5} if layer.source == "job" else {}
            self.dots = bq.Scatter(x=[], y=[], scales=xy, colors=[c], default_size=size, names=[],
                                   display_names=False, tooltip=tooltip, opacities=[opacity], **outline)
            self.limits = bq.Scatter(x=[], y=[], scales=xy, colors=[c], marker="triangle-down",
                                     default_size=size + 4, names=[], display_names=False, tooltip=tooltip,
                                     opacities=[opacity])
            self.marks = [self.bars, self.dots, self.limits]
        elif layer.kind == "model":
            self.band = bq.Lines(x=[], y=[], scales=xy, colors=[c], fill="between", fill_colors=[c],
                                 fill_opacities=[0.25], opacities=[0.6], stroke_width=1)
            self.line = bq.Lines(x=[], y=[], scales=xy, colors=[c], stroke_width=2)
            self.marks = [self.band, self.line]
        else:
            self.heat = bq.GridHeatMap(row=[1.0, 2.0, 3.0], column=[1.0, 2.0, 3.0], color=np.full((2, 2), DTS_MAX),
                                       scales={"row": scales["y"], "column": scales["x"], "color": color_scale},
                                       stroke=None, null_color=None, opacity=1.0)
            self.marks = [self.heat]

    def show(self, visible: bool) -> None:
        for mark in self.marks:
            mark.visible = visible and mark not in self.blank

    def update(self, arrays) -> None:
        self.blank = set()  # marks with nothing to draw (bqplot would draw an empty path)
        if self.kind == "points":
            self._points(arrays)
        elif self.kind == "model":
            self._model(arrays)
        else:
            self._profiles(arrays)

    def _set(self, mark, **data) -> None:
        """Give a mark its arrays, or mark it blank when there is nothing to draw."""
        if any(len(np.ravel(v)) == 0 for k, v in data.items() if k in ("x", "y")):
            self.blank.add(mark)
            return
        for name, value in data.items():
            setattr(mark, name, value)

    def _points(self, a) -> None:
        ok = ~a.is_ul & (a.y > 0)  # a log axis cannot show a value of zero or less
        limit = a.is_ul & (a.y_ul > 0)
        has_y = ok & np.isfinite(a.y_errn) & np.isfinite(a.y_errp)
        has_x = (a.x_min > 0) & (a.x_max > 0)
        low = np.where(a.y - a.y_errn > 0, a.y - a.y_errn, a.y * FLOOR)  # an error bar down to zero: off the plot
        limit_end = a.y_ul * UL_ARROW
        parts = [
            _segments(a.x[has_y], a.x[has_y], low[has_y], (a.y + a.y_errp)[has_y]),
            _segments(a.x_min[ok & has_x], a.x_max[ok & has_x], a.y[ok & has_x], a.y[ok & has_x]),
            _segments(a.x[limit], a.x[limit], a.y_ul[limit], limit_end[limit]),
            _segments(a.x_min[limit & has_x], a.x_max[limit & has_x], a.y_ul[limit & has_x], a.y_ul[limit & has_x]),
        ]
        x = np.concatenate([p[0] for p in parts])
        y = np.concatenate([p[1] for p in parts])
        hover = np.asarray(a.hover, dtype=object)
        with self.bars.hold_sync(), self.dots.hold_sync(), self.limits.hold_sync():
            self._set(self.bars, x=x, y=y, colors=[self.bars.colors[0]] * max(1, len(x)))
            self._set(self.dots, x=a.x[ok], y=a.y[ok], names=list(hover[ok]))
            self._set(self.limits, x=a.x[limit], y=limit_end[limit], names=list(hover[limit]))

    def _model(self, m) -> None:
        good = (m.y > 0) & np.isfinite(m.x)
        with self.band.hold_sync(), self.line.hold_sync():
            self._set(self.line, x=m.x[good], y=m.y[good])
            band = good & np.isfinite(m.y_hi) & (m.y_hi > 0)
            if m.has_envelope and band.any():
                low = np.where(m.y_lo > 0, m.y_lo, m.y * FLOOR)[band]
                self._set(self.band, x=m.x[band], y=np.vstack([low, m.y_hi[band]]))
            else:
                self.blank.add(self.band)

    def _profiles(self, g) -> None:
        color = np.nan_to_num(g.dts.T, nan=DTS_MAX)  # rows: flux, columns: energy
        columns = g.x_edges
        if color.shape[1] == 1:  # bqplot squeezes a one-column grid to 1-d: draw the bin as two halves
            color = np.repeat(color, 2, axis=1)
            columns = np.array([columns[0], np.sqrt(columns[0] * columns[-1]), columns[-1]])
        with self.heat.hold_sync():
            self.heat.color = color
            self.heat.row, self.heat.column = g.y_edges, columns


class SEDFigure:
    """``figure`` is the bqplot Figure; it redraws itself when the state changes."""

    def __init__(self, state, height: str = "480px", width: int = 640) -> None:
        self.state = state
        self.scales = {"x": bq.LogScale(), "y": bq.LogScale()}
        self.color_scale = bq.ColorScale(min=0.0, max=DTS_MAX, colors=HEAT_COLORS)
        self.x_axis = bq.Axis(scale=self.scales["x"], label="", grid_lines="dashed", label_offset="36px")
        self.y_axis = bq.Axis(scale=self.scales["y"], side="left", label="", grid_lines="dashed",
                              label_offset="52px")
        self.figure = bq.Figure(marks=[], axes=[self.x_axis, self.y_axis], padding_y=0.0, fig_margin=dict(MARGIN),
                                layout={"width": "100%", "height": height}, animation_duration=0)
        self.figure.add_class("portal-sed-figure")
        self.height = _pixels(height, 480)
        self.width = width  # the figure's width in pixels, as the page draws it (SEDPlot's probe updates it)
        self.key = w.HTML(color_key(), layout=w.Layout(display="none"))
        self.key.add_class("portal-sed-key")
        self._marks: dict[str, LayerMarks] = {}
        self._preparing: set[tuple[str, str]] = set()
        self.draws = 0  # how many times the figure was brought up to date (tests, benchmarks)
        state.observe(self.draw, ["revision", "sed_type", "energy_unit", "layers"])
        self.draw()

    def marks_of(self, key: str) -> LayerMarks | None:
        return self._marks.get(key)

    def draw(self, _change=None) -> None:
        st, eu = self.state.sed_type, self.state.energy_unit
        layers = list(self.state.layers)
        ordered = []
        with self.figure.hold_sync():
            for layer in layers:
                marks = self._marks.get(layer.key)
                if marks is None:
                    marks = self._marks[layer.key] = LayerMarks(layer, self.scales, self.color_scale)
                signature = (id(layer), layer.version, st, eu)
                if marks.signature != signature:
                    if layer.ready(st):
                        arrays = layer.arrays(st, eu)
                        try:
                            if arrays is not None:
                                marks.update(arrays)
                        except Exception as exc:  # noqa: BLE001 - one layer that cannot be drawn spoils no other
                            self.state.fail(f"{layer.legend} cannot be drawn ({type(exc).__name__}: {exc}).")
                            arrays = None
                        marks.signature, marks.empty = signature, arrays is None
                    else:
                        self._prepare(layer, st)  # drawn when its envelope is computed
                marks.show(layer.visible and marks.signature == signature and not marks.empty)
                ordered += marks.marks
            for key in set(self._marks) - {layer.key for layer in layers}:
                del self._marks[key]
            if [id(m) for m in self.figure.marks] != [id(m) for m in ordered]:
                self.figure.marks = ordered
            self._axes(layers, st, eu)
        self.draws += 1

    def _prepare(self, layer, sed_type: str) -> None:
        """Compute a model's envelope for ``sed_type`` in a worker, then draw again."""
        key = (layer.key, sed_type)
        if key in self._preparing:
            return
        self._preparing.add(key)

        def done(_result=None):
            self._preparing.discard(key)
            self.draw()

        self.state.background.run(layer.curve.prepare, sed_type, on_done=done,
                                  on_error=lambda exc: (self._preparing.discard(key), self.state.failed(exc)))

    def _axes(self, layers, sed_type: str, energy_unit: str) -> None:
        """Axis labels, and ranges that follow the visible points (models may add a decade below them)."""
        xs, ys, model_ys = [], [], []
        for layer in layers:
            if not layer.visible or not layer.ready(sed_type) or layer.kind == "profiles":
                continue
            arrays = layer.arrays(sed_type, energy_unit)
            if arrays is None:
                continue
            if layer.kind == "points":
                xs += [arrays.x, arrays.x_min, arrays.x_max]
                ys += [arrays.y - arrays.y_errn, arrays.y + arrays.y_errp, arrays.y, arrays.y_ul * UL_ARROW,
                       arrays.y_ul]
            else:
                xs.append(arrays.x)
                model_ys.append(arrays.y)
        self.x_axis.label = units.x_label(energy_unit)
        self.y_axis.label = units.y_label(sed_type, energy_unit)
        self.key.layout.display = None if any(layer.kind == "profiles" and layer.visible for layer in layers) \
            else "none"
        x0, x1 = _range(xs) or tuple(units.x_values(np.array(EMPTY_X) * _tev(), energy_unit))
        points, models = _range(ys), _range(model_ys)
        if points and models:  # a steep model must not squash the data into a corner
            y0, y1 = min(points[0], max(models[0], points[0] / 10)), max(points[1], min(models[1], points[1] * 10))
        else:
            y0, y1 = points or models or _empty_y(sed_type, energy_unit)
        with self.scales["x"].hold_sync(), self.scales["y"].hold_sync():
            self.scales["x"].min, self.scales["x"].max = float(min(x0, x1) / PAD), float(max(x0, x1) * PAD)
            self.scales["y"].min, self.scales["y"].max = float(y0 / PAD), float(y1 * PAD)
        self.ticks()

    @property
    def plot_size(self) -> tuple[float, float]:
        """The plot area's (width, height) in pixels: the figure less its margins."""
        margin = self.figure.fig_margin
        return (max(self.width - margin["left"] - margin["right"], 1.0),
                max(self.height - margin["top"] - margin["bottom"], 1.0))

    def resized(self, width: int) -> None:
        """The page drew the figure ``width`` pixels wide: choose the ticks again."""
        if width > 0 and width != self.width:
            self.width = width
            self.ticks()

    def ticks(self) -> None:
        """Ticks at decades, as many as fit the plot area without overlapping labels."""
        width, height = self.plot_size
        for axis, scale, length, vertical in ((self.x_axis, self.scales["x"], width, False),
                                              (self.y_axis, self.scales["y"], height, True)):
            if scale.min is None or scale.max is None:
                continue
            ticks = axis_ticks(scale.min, scale.max, length, vertical)
            with axis.hold_sync():
                axis.tick_values = np.array(ticks.values)
                axis.tick_labels = ticks.bqplot_labels()


def color_key() -> str:
    """The likelihood profiles' colour scale as HTML: a gradient from ΔTS 0 to DTS_MAX, labelled at 0, 1, 4, 9."""
    stops = ", ".join(f"{c} {100 * i / (len(HEAT_COLORS) - 1):.0f}%" for i, c in enumerate(HEAT_COLORS))
    labels = "".join(f"<span style='position:absolute;left:{100 * v / DTS_MAX:.1f}%;transform:translateX(-50%)'>"
                     f"{v}</span>" for v in KEY_TICKS)
    return ("<div style='display:flex;align-items:center;gap:8px;font-size:12px;margin-left:8px'>"
            "<span title='The likelihood profiles: ΔTS of the flux in each energy bin'>ΔTS</span>"
            "<div style='width:180px'>"
            f"<div style='height:10px;border:1px solid #999;background:linear-gradient(to right, {stops})'></div>"
            f"<div style='position:relative;height:15px;line-height:15px'>{labels}</div></div>"
            "<span style='color:#555'>(1, 2, 3σ at 1, 4, 9)</span></div>")


def _pixels(size: str, default: float) -> float:
    text = str(size).strip()
    try:
        return float(text[:-2]) if text.endswith("px") else float(text)
    except ValueError:
        return float(default)


def _range(arrays) -> tuple[float, float] | None:
    values = np.concatenate([np.ravel(a) for a in arrays]) if arrays else np.array([])
    values = values[np.isfinite(values) & (values > 0)]
    if not len(values):
        return None
    lo, hi = float(values.min()), float(values.max())
    return (lo / 2, hi * 2) if lo == hi else (lo, hi)


def _tev():
    import astropy.units as u

    return u.TeV


def _empty_y(sed_type: str, energy_unit: str) -> tuple[float, float]:
    lo, hi = EMPTY_Y[sed_type]
    unit = units.y_unit(sed_type, "TeV")
    values = units.y_values(np.array([lo, hi]) * unit, sed_type, energy_unit)
    return float(values[0]), float(values[1])
