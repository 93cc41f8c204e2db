"""SEDPlot: the live SED in bqplot, a thin view of :class:`~widgets.sed.state.SEDState`.

Python API (the names tests and tools rely on)::

    sed = SEDPlot()
    sed.follow(job)                       # a JobHandle or a job URL: points as published, then the model
    await sed.ready()                     # in a notebook cell: until the job has ended and all is drawn
    sed.flux_points                       # gammapy FluxPoints of the followed job (None before its first point)
    sed.sed_type = "e2dnde"               # dnde, e2dnde, flux, eflux
    sed.energy_unit = "TeV"               # TeV, GeV, MeV, erg, Hz
    sed.refit(model="lp", include=["3FHL J0534.5+2201"])   # gammapy's FitResult; drawn beside the job's fit
    sed.add_flux_points(fp_or_path, label="...")          # FluxPoints, gadf SED FITS (any sed_type), ECSV
    sed.add_model(model_or_yaml, label="...")
    sed.add_catalog("3fhl", "3FHL J0534.5+2201")
    sed.target = SkyCoord(...)            # counterparts within sed.radius (deg) are drawn
    sed.save_data("crab.ecsv"); sed.save_model("refit.yaml"); sed.save_image("sed.png")
    sed.legend.collapsed = True           # the legend (under the plot) folded away; SEDPlot(legend_collapsed=True)

The plot takes the whole width, the legend is under it: in the Portal's right column (about 630 px at 1280x800)
the plot area stays over 480x320 px. The ticks follow the figure's width as the page reports it (``sed.probe``).
"""

from __future__ import annotations

import html
from pathlib import Path

import ipywidgets as w
import traitlets as t

from widgets.sed import export
from widgets.sed.figure import SEDFigure
from widgets.sed.legend import Legend
from widgets.sed.probe import WidthProbe
from widgets.sed.refit import CATALOG_STATS, MODELS
from widgets.sed.refit_state import summary_lines
from widgets.sed.state import SEDState
from widgets.sed.units import ENERGY_UNITS, SED_TYPE_NAMES, SED_TYPES

COLORS = {"idle": "#555", "working": "#555", "live": "#1565c0", "ok": "#2e7d32", "error": "#c62828"}
# the heat map's cells edge to edge: without it, anti-aliasing draws a faint line between rows
STYLE = """<style>.portal-sed-figure rect.heatmapcell { shape-rendering: crispEdges; }
.portal-sed .portal-sed-toolbar .widget-dropdown > label, .portal-sed .portal-sed-toolbar .widget-label { width: auto;
  min-width: 0; margin-right: 4px; }
.portal-sed .portal-sed-message, .portal-sed .portal-sed-job { line-height: 1.3; }
.portal-sed .portal-sed-message .widget-html-content, .portal-sed .portal-sed-job .widget-html-content
  { line-height: 1.3; }
</style>"""


class SEDPlot(w.VBox):
    #: what it does with the session (see :mod:`widgets.session`): follows the active job when it is a spectrum
    #: or a joint fit, draws the target's catalog counterparts and the session's catalog sources; a job followed
    #: here becomes the active job, a source added by name here one of the session's
    observes, publishes = SEDState.observes, SEDState.publishes

    def __init__(self, state: SEDState | None = None, client=None, background=None, height: str = "480px",
                 legend_collapsed: bool = False, **kwargs) -> None:
        self.state = state or SEDState(client=client, background=background)
        self.plot = SEDFigure(self.state, height=height)
        self.probe = WidthProbe()  # the figure's width, as the page draws it: the ticks are chosen for it
        self.probe.observe(lambda change: self.plot.resized(change["new"]), "width")
        self.legend = Legend(self.state, collapsed=legend_collapsed, layout=w.Layout(width="100%"))
        self._message = w.HTML(layout=w.Layout(min_height="1.4em"))
        self._message.add_class("portal-sed-message")
        self._job = w.HTML()
        self._job.add_class("portal-sed-job")
        self._summary = w.HTML()
        self._summary.add_class("portal-sed-refit")
        self._downloads = w.HTML()
        self._downloads.add_class("portal-sed-downloads")
        # the plot takes the whole width; the legend is under it (beside it, it took the plot's width)
        body = w.VBox([self.probe, self.plot.figure, self.plot.key], layout=w.Layout(width="100%", min_width="0"))
        body.add_class("portal-sed-body")
        super().__init__([w.HTML(STYLE), self._toolbar(), self._job, self._message, body, self.legend,
                          self._refit_bar(), self._summary, self._export_bar(), self._downloads], **kwargs)
        self.add_class("portal-sed")
        self.state.observe(self._render_message, ["status", "message", "job_status"])
        self.state.observe(self._render_summary, ["refit_result", "job_model"])
        self._render_message()

    # -- Python API ---------------------------------------------------------------------------
    def attach(self, session) -> list:
        """Follow ``session``'s active job (a spectrum or a joint fit), draw its target's counterparts and its
        catalog sources."""
        return [self.state.join(session)]

    @property
    def sed_type(self) -> str:
        """dnde, e2dnde, flux or eflux."""
        return self.state.sed_type

    @sed_type.setter
    def sed_type(self, value: str) -> None:
        self.state.sed_type = value

    @property
    def energy_unit(self) -> str:
        """TeV, GeV, MeV, erg or Hz."""
        return self.state.energy_unit

    @energy_unit.setter
    def energy_unit(self, value: str) -> None:
        self.state.energy_unit = value

    @property
    def flux_points(self):
        """The gammapy FluxPoints of the followed job (None before its first point). In a script it first waits
        for the downloads already started (what a notebook's next cell would see)."""
        self.state.background.settle()
        return self.state.flux_points

    @property
    def layers(self):
        return list(self.state.layers)

    @property
    def message(self) -> str:
        return self.state.message

    @property
    def target(self):
        return self.state.target

    @target.setter
    def target(self, coord) -> None:
        self.state.target = coord

    def set_target(self, coord, name: str = "") -> None:
        """The target whose catalog counterparts (within ``radius``) are drawn: the session's target."""
        self.state.set_target(coord, name)

    @property
    def radius(self) -> float:
        return self.state.counterpart_radius

    @radius.setter
    def radius(self, degrees: float) -> None:
        self.state.counterpart_radius = float(degrees)

    def follow(self, job, interval: float = 1.0):
        """Follow a ``spectrum`` or ``joint_spectrum`` job (a JobHandle or its URL); returns the JobHandle."""
        return self.state.follow(job, interval=interval)

    async def ready(self, timeout: float | None = 1800.0) -> bool:
        """``await sed.ready()``: until the followed job has ended and the target's counterparts are drawn."""
        return await self.state.ready(timeout)

    def add_flux_points(self, points, label: str = "flux points", **kwargs):
        return self.state.add_flux_points(points, label=label, **kwargs)

    def add_model(self, model, label: str = "model", **kwargs):
        return self.state.add_model(model, label=label, **kwargs)

    def add_catalog(self, tag: str, name: str, wait: bool = True):
        """Draw one catalog source (its flux points and model) read from the portal's /catalogs; it becomes one
        of the session's ``sed_sources``."""
        return self.state.add_catalog(tag, name, wait=wait)

    def set_visible(self, name: str, visible: bool = True) -> None:
        self.state.set_visible(name, visible)

    def refit(self, model: str = "pl", include: list[str] | None = None, catalog_stat: str = "chi2"):
        """Fit ``model`` (pl, lp, ecpl, bpl) to the stored likelihood profiles, jointly with the
        ``include``d points (catalog sources, by name); gammapy's FitResult, drawn when it converged."""
        return self.state.refits.fit(model, include, catalog_stat)

    def save_data(self, path, layer: str | None = None, sed_type: str | None = None) -> Path | None:
        """Write flux points (the job's, or ``layer``) as ECSV or gadf FITS, chosen by the suffix."""
        points = self.state.points_to_export(layer)
        if points is None:
            return None
        path = Path(path)
        try:
            path.write_bytes(export.flux_points_bytes(points, path.suffix, sed_type))
        except export.ExportError as exc:
            self.state.fail(str(exc))
            return None
        return path

    def save_model(self, path) -> Path | None:
        """Write the last refit model: gammapy YAML (values, errors, covariance), or its parameters as an
        ECSV or FITS table, chosen by the suffix (a log-parabola's beta with its convention, both ways)."""
        if self.state.refit_result is None or not self.state.refit_result.success:
            self.state.fail("There is no refit to save yet: refit a model first.")
            return None
        path = Path(path)
        try:
            path.write_bytes(export.refit_bytes(self.state.refit_result, path.suffix))
        except export.ExportError as exc:
            self.state.fail(str(exc))
            return None
        return path

    def save_image(self, path, on_saved=None) -> None:
        """Write the figure as PNG or SVG (by the suffix) once the page has drawn it."""
        kind = Path(path).suffix.lower().lstrip(".")
        try:
            export.figure_image(self.plot.figure, path, kind, on_saved)
        except export.ExportError as exc:
            self.state.fail(str(exc))

    # -- view ---------------------------------------------------------------------------------
    def _toolbar(self) -> w.HBox:
        sed = w.Dropdown(options=[(f"{SED_TYPE_NAMES[s]}", s) for s in SED_TYPES], description="SED",
                         style={"description_width": "initial"}, layout=w.Layout(width="13em"))
        unit = w.Dropdown(options=[("frequency (Hz)" if u == "Hz" else u, u) for u in ENERGY_UNITS],
                          description="Energy", style={"description_width": "initial"},
                          layout=w.Layout(width="8.5em"))
        sed.add_class("portal-sed-type")
        unit.add_class("portal-sed-unit")
        self._controls = [t.link((self.state, "sed_type"), (sed, "value")),
                          t.link((self.state, "energy_unit"), (unit, "value"))]
        job = w.Text(placeholder="job URL (…/uws/spectrum/<id> or …/uws/joint_spectrum/<id>)",
                     layout=w.Layout(flex="1 1 10em", min_width="8em", width="auto"))
        follow = w.Button(description="Follow", icon="play", layout=w.Layout(width="auto"))
        follow.on_click(lambda _b: job.value.strip() and self.follow(job.value))
        job.on_submit(lambda _t: job.value.strip() and self.follow(job.value))
        upload = w.FileUpload(accept=".fits,.fits.gz,.ecsv,.yaml,.yml", multiple=False, description="Load",
                              layout=w.Layout(width="auto"))
        upload.observe(lambda change: self._loaded(change["new"]), "value")
        bar = w.HBox([sed, unit, job, follow, upload], layout=w.Layout(width="100%", flex_flow="row wrap"))
        bar.add_class("portal-sed-toolbar")
        return bar

    def _refit_bar(self) -> w.HBox:
        refits = self.state.refits
        kind = w.Dropdown(options=[(name, key) for key, name in MODELS.items()], value=refits.model,
                          description="Refit", layout=w.Layout(width="22em"))
        joint = w.Checkbox(value=refits.joint, description="with the other points shown", indent=False,
                           layout=w.Layout(width="auto"))
        stat = w.Dropdown(options=list(CATALOG_STATS), value=refits.catalog_stat, layout=w.Layout(width="7em"))
        button = w.Button(description="Refit", icon="line-chart", button_style="primary", layout=w.Layout(width="auto"))
        button.add_class("portal-sed-refit-button")
        self._refit_links = [t.link((refits, "model"), (kind, "value")), t.link((refits, "joint"), (joint, "value")),
                             t.link((refits, "catalog_stat"), (stat, "value"))]
        button.on_click(lambda _b: refits.run())
        return w.HBox([kind, button, joint, stat], layout=w.Layout(align_items="center"))

    def _export_bar(self) -> w.HBox:
        buttons = []
        for text, action in (("PNG", lambda: self._image("png")), ("SVG", lambda: self._image("svg")),
                             ("Data (ECSV)", lambda: self._data(".ecsv")), ("Data (FITS)", lambda: self._data(".fits")),
                             ("Refit model (YAML)", self._model)):
            button = w.Button(description=text, icon="download", layout=w.Layout(width="auto"))
            button.on_click(lambda _b, act=action: act())
            button.add_class("portal-sed-export")
            buttons.append(button)
        return w.HBox([w.Label("Export:"), *buttons], layout=w.Layout(align_items="center"))

    def _image(self, kind: str) -> None:
        mime = "image/png" if kind == "png" else "image/svg+xml"

        def got(data):
            raw = bytes(data) if not isinstance(data, str) else data.encode("utf-8")
            self._downloads.value = export.download_link(raw, f"sed.{kind}", mime, f"Download sed.{kind}")

        getter = self.plot.figure.get_png_data if kind == "png" else self.plot.figure.get_svg_data
        try:
            getter(got)
        except Exception as exc:  # noqa: BLE001 - bqplot: another export is still waiting for the page
            self.state.fail(f"The figure cannot be exported right now ({exc}).")

    def _data(self, suffix: str) -> None:
        points = self.state.points_to_export()
        if points is not None:
            data = export.flux_points_bytes(points, suffix)
            name = f"flux_points{suffix}"
            self._downloads.value = export.download_link(data, name, export.DATA_FORMATS[suffix], f"Download {name}")

    def _model(self) -> None:
        if self.state.refit_result is None or not self.state.refit_result.success:
            self.state.fail("There is no refit to save yet: refit a model first.")
            return
        text = export.refit_yaml(self.state.refit_result)
        self._downloads.value = export.download_link(text.encode("utf-8"), "refit.yaml", "application/yaml",
                                                     "Download refit.yaml")

    def _loaded(self, value) -> None:
        files = list(value or ())
        if not files:
            return
        item = files[0]
        name = str(item.get("name", "upload"))
        content = bytes(item.get("content", b""))
        if name.lower().endswith((".yaml", ".yml")):
            self.add_model(content, label=Path(name).stem)
        else:
            self.add_flux_points(content, label=Path(name).stem)

    def _render_message(self, _change=None) -> None:
        status, message = self.state.status, self.state.message
        self._message.value = (f"<span style='color:{COLORS[status]}'>{html.escape(message)}</span>"
                               if message else "")
        job = self.state.job_status
        self._job.value = f"<span style='color:#1565c0'>{html.escape(job)}</span>" if job else ""

    def _render_summary(self, _change=None) -> None:
        self._summary.value = "<br>".join(html.escape(line) for line in summary_lines(self.state))
