"""The ObsCore form: one input per field of :class:`~widgets.obscore.form.ObsCoreForm`, nothing more."""

from __future__ import annotations

import ipywidgets as w

from widgets.obscore.adql import DATA_LEVELS
from widgets.lazy import join_when_shown
from widgets.obscore.form import DATAPRODUCT_TYPES, IRF_TYPES, ObsCoreForm

LABEL = {"description_width": "9em"}
NARROW = w.Layout(width="17em")
WIDE = w.Layout(width="26em")

# (trait, label, placeholder) of the optional numbers typed as text
NUMBERS_WHERE = [("ra", "RA (deg)", "e.g. 83.633"), ("dec", "Dec (deg)", "e.g. 22.014"),
                 ("radius", "Radius (deg)", "e.g. 0.5")]
NUMBERS_WHEN = [("energy_min", "Energy min (TeV)", "any"), ("energy_max", "Energy max (TeV)", "any"),
                ("exposure_min", "Exposure min (s)", "any"), ("exposure_max", "Exposure max (s)", "any")]
NUMBERS_HE = [("zenith_max", "Zenith max (deg)", "any"), ("offset_max", "Offset max (deg)", "any"),
              ("n_tels_min", "Telescopes min", "any"), ("livetime_min", "Live time min (s)", "any"),
              ("events_min", "Events min", "any")]
LEVEL_TIPS = {"DL0": "calib_level 0: raw data", "DL1": "calib_level 1: calibrated camera data",
              "DL2": "calib_level 1: reconstructed events", "DL3": "calib_level 2: event lists with IRFs",
              "DL4": "calib_level 3: binned data (cubes)",
              "DL5": "calib_level 4: science products (SED, light curve, sky map)"}
TEXTS = [("obs_collection", "Collection", "e.g. hess-dl3-dr1"), ("facility_name", "Facility", "e.g. H.E.S.S."),
         ("instrument_name", "Instrument", "e.g. H.E.S.S."), ("target_name", "Target name", "e.g. Crab (* is a wildcard)"),
         ("obs_ids", "Obs ids", "e.g. 23523, 23526"), ("proposal_id", "Proposal id", "")]


def _fmt(value) -> str:
    return "" if value is None else f"{value:g}" if isinstance(value, float) else str(value)


class FormView(w.VBox):
    """Inputs bound to an ObsCoreForm. Numbers are typed as text so that a field can stay empty."""

    def __init__(self, form: ObsCoreForm, **kwargs) -> None:
        self.form = form
        self._syncing = False
        self.numbers: dict[str, w.Text] = {}
        self.texts: dict[str, w.Combobox] = {}
        self._suggested: dict[str, tuple] = {}  # options for text fields not built yet
        # built with their section ("What", "When"), when it is first opened
        self.products: w.TagsInput | None = None
        self.levels: dict[str, w.Checkbox] = {}
        self.high_energy: w.VBox | None = None
        self.date_start = self.date_end = self.irf_type = None
        where = [self._number(*spec) for spec in NUMBERS_WHERE]
        self.cone_mode = w.ToggleButtons(options=[("Field of view overlaps", "fov"), ("Pointing inside", "pointing")],
                                         value=form.cone_mode, tooltips=["INTERSECTS(s_region, CIRCLE)",
                                                                         "CONTAINS(POINT(s_ra, s_dec), CIRCLE)"],
                                         style={"button_width": "13em"})
        self.cone_mode.observe(lambda c: setattr(form, "cone_mode", c["new"]), "value")
        # a shortcut: observations (event lists), the gateway's products (calib_level 4), or both
        self.scope = w.ToggleButtons(options=[("Observations", "observations"), ("Products", "products"),
                                              ("Both", "all")], value=form.scope() or None,
                                     tooltips=["Event lists: dataproduct_type = 'event'",
                                               "SEDs, light curves and sky maps made by jobs: dataproduct_type "
                                               "sed, timeseries or image, calib_level 4",
                                               "No condition on the product type or the data level"],
                                     style={"button_width": "8.5em"})
        self.scope.add_class("portal-search-scope")
        self.scope.observe(self._on_scope, "value")
        look_for = w.HBox([w.Label("Look for", layout=w.Layout(width="9em")), self.scope],
                          layout=w.Layout(align_items="center", flex_flow="row wrap"))
        self.sections = w.Accordion(children=[w.VBox([_grid(where), self.cone_mode]), w.VBox(), w.VBox()],
                                    titles=("Where: cone", "What: products, collection, instrument, target, ids",
                                            "When, energies, exposure, high-energy columns"))
        self.sections.selected_index = 0
        join_when_shown(self.sections, {1: self._what, 2: self._when})
        super().__init__([look_for, self.sections], **kwargs)
        form.observe(self._show_form)
        self._show_form()

    def _what(self) -> w.VBox:
        """The "What" section: product types, data levels, collection, instrument, target, ids."""
        form = self.form
        self.products = w.TagsInput(value=list(form.dataproduct_type), allowed_tags=list(DATAPRODUCT_TYPES),
                                    allow_duplicates=False, placeholder="dataproduct_type: event, image...")
        self.products.observe(lambda c: setattr(form, "dataproduct_type", list(c["new"])), "value")
        self.levels = {lv: w.Checkbox(value=lv in form.data_levels, description=lv, indent=False,
                                      tooltip=LEVEL_TIPS.get(lv, ""), layout=w.Layout(width="4.5em"))
                       for lv in DATA_LEVELS}
        for box in self.levels.values():
            box.observe(self._on_levels, "value")
        texts = [self._text(*spec) for spec in TEXTS]
        level_row = w.HBox([w.Label("Data level", layout=w.Layout(width="9em")), *self.levels.values()],
                           layout=w.Layout(flex_flow="row wrap"))
        level_note = w.HTML("<span style='color:#555;font-size:90%'>ObsCore calib_level: DL3 = 2 (event lists "
                            "with IRFs), DL5 = 4 (science products: SED, light curve, sky map).</span>")
        return w.VBox([self.products, level_row, level_note, _grid(texts)])

    def _when(self) -> w.VBox:
        """The "When" section: dates, energies, exposure and the high-energy columns (shown when the service has
        them)."""
        form = self.form
        self.date_start = w.DatePicker(description="From", value=form.date_start, style=LABEL, layout=NARROW)
        self.date_end = w.DatePicker(description="To", value=form.date_end, style=LABEL, layout=NARROW)
        self.date_start.observe(lambda c: setattr(form, "date_start", c["new"]), "value")
        self.date_end.observe(lambda c: setattr(form, "date_end", c["new"]), "value")
        when = [self._number(*spec) for spec in NUMBERS_WHEN]
        he = [self._number(*spec) for spec in NUMBERS_HE]
        self.irf_type = w.Dropdown(options=[("any", "")] + [(v, v) for v in IRF_TYPES], value=form.irf_type,
                                   description="IRF type", style=LABEL, layout=NARROW)
        self.irf_type.observe(lambda c: setattr(form, "irf_type", c["new"]), "value")
        self.high_energy = w.VBox([w.HTML("<b>High-energy columns</b>"), _grid(he + [self.irf_type])])
        self._show_high_energy()
        return w.VBox([_grid([self.date_start, self.date_end] + when), self.high_energy])

    def _number(self, name: str, label: str, placeholder: str) -> w.Text:
        box = w.Text(value=_fmt(getattr(self.form, name)), description=label, placeholder=placeholder,
                     continuous_update=False, style=LABEL, layout=NARROW)
        box.observe(lambda c, n=name, lb=label: self.form.set_number(n, c["new"], lb), "value")
        self.numbers[name] = box
        return box

    def _text(self, name: str, label: str, placeholder: str) -> w.Combobox:
        box = w.Combobox(value=getattr(self.form, name), description=label, placeholder=placeholder,
                         ensure_option=False, continuous_update=False, style=LABEL, layout=WIDE)
        box.observe(lambda c, n=name: setattr(self.form, n, c["new"]), "value")
        if name in self._suggested:
            box.options = self._suggested.pop(name)
        self.texts[name] = box
        return box

    def _on_levels(self, _change) -> None:
        if not self._syncing:
            self.form.data_levels = [lv for lv, box in self.levels.items() if box.value]

    def _on_scope(self, change) -> None:
        if change["new"] and not self._syncing and change["new"] != self.form.scope():
            self.form.set_scope(change["new"])

    def _show_kinds(self) -> None:
        """The product types, data levels and the "Look for" shortcut as the form has them."""
        self._syncing = True
        try:
            if self.products is not None and list(self.products.value) != list(self.form.dataproduct_type):
                self.products.value = list(self.form.dataproduct_type)
            for lv, box in self.levels.items():
                box.value = lv in self.form.data_levels
            self.scope.value = self.form.scope() or None
        finally:
            self._syncing = False

    def _show_form(self, change=None) -> None:
        """Show values set from Python (e.g. the cone from the target search) and the HE fields."""
        name = change["name"] if change else None
        if name in self.numbers and name not in self.form.input_errors:
            text = _fmt(change["new"])
            box = self.numbers[name]
            try:
                same = box.value.strip() != "" and float(box.value) == change["new"]
            except (TypeError, ValueError):
                same = False
            if not same and box.value != text:
                box.value = text
        elif name in self.texts and self.texts[name].value != change["new"]:
            self.texts[name].value = change["new"]
        elif name in (None, "dataproduct_type", "data_levels"):
            self._show_kinds()
        self._show_high_energy()

    def _show_high_energy(self) -> None:
        if self.high_energy is not None:
            self.high_energy.layout.display = None if self.form.high_energy() else "none"

    def suggest(self, name: str, values: list[str]) -> None:
        """Offer ``values`` (e.g. the service's distinct collections) in the text field ``name``."""
        if name in self.texts:
            self.texts[name].options = tuple(values)
        elif any(name == spec[0] for spec in TEXTS):  # its section is still closed
            self._suggested[name] = tuple(values)


def _grid(children: list) -> w.GridBox:
    return w.GridBox(children, layout=w.Layout(grid_template_columns="repeat(auto-fill, minmax(17em, 1fr))",
                                               grid_gap="2px 12px"))
