"""The layers of an SED plot: flux points, their likelihood profiles, and models with envelopes.

A layer holds gammapy objects (``FluxPoints``, a ``ModelCurve``) and what they look like in
each SED type and energy unit (plain arrays, computed once and kept). Layers belong to a group
(one source: the followed job, a catalog source, a file), and each is one entry of the legend.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from typing import Any

from widgets.sed.curves import ModelCurve
from widgets.sed.points import has_profiles, points_arrays, profile_grid

KINDS = ("profiles", "model", "points")  # drawing order: profiles behind, points on top
KIND_NAMES = {"points": "flux points", "profiles": "likelihood profiles", "model": "model"}

# one colour per source of data (catalog tags, the job, the refits); others take the palette in turn
COLORS = {
    "job": "#111111", "refit/pl": "#d62728", "refit/lp": "#e7298a", "refit/ecpl": "#1b9e77", "refit/bpl": "#7570b3",
    "3fgl": "#1f77b4", "2fhl": "#17becf", "3fhl": "#2ca02c",
    "hgps": "#9467bd", "gamma-cat": "#ff7f0e", "2hwc": "#8c564b", "3hwc": "#e377c2", "1lhaaso": "#bcbd22",
}
PALETTE = ("#7f7f7f", "#393b79", "#637939", "#8c6d31", "#843c39", "#7b4173", "#3182bd", "#e6550d")


@dataclass(eq=False)
class Layer:
    """One legend entry. ``key`` is unique in a plot; ``group`` is the source it belongs to."""

    key: str
    label: str
    kind: str  # points, profiles or model
    group: str
    color: str
    points: Any = None  # gammapy FluxPoints (points and profiles layers)
    curve: ModelCurve | None = None  # model layers
    visible: bool = True
    source: str = "file"  # job, catalog, file, refit
    note: str = ""  # why a layer draws nothing in some SED types, and such
    auto: bool = False  # added for the current target (goes when the target changes)
    extra: bool = False  # a counterpart other than the best of its catalog family: listed, off at first
    version: int = 0  # changes with the data
    _cache: dict = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown layer kind {self.kind!r}")

    @property
    def legend(self) -> str:
        return f"{self.label} — {KIND_NAMES[self.kind]}" if self.label else KIND_NAMES[self.kind]

    def ready(self, sed_type: str) -> bool:
        """Whether :meth:`arrays` is cheap now (a model's envelope may still need computing)."""
        return self.kind != "model" or self.curve.ready(sed_type)

    def arrays(self, sed_type: str, energy_unit: str):
        """PointsArrays, ProfileGrid or ModelArrays for the plot (None: nothing to draw in this type)."""
        key = (sed_type, energy_unit)
        if key not in self._cache:
            try:
                if self.kind == "points":
                    self._cache[key] = points_arrays(self.points, sed_type, energy_unit, self.label)
                elif self.kind == "profiles":
                    self._cache[key] = profile_grid(self.points, sed_type, energy_unit)
                else:
                    self._cache[key] = self.curve.arrays(sed_type, energy_unit)
            except ValueError as exc:  # gammapy: "Missing energy range definition, cannot convert to ..."
                self._cache[key] = None
                self.note = f"not drawn as {sed_type}: {exc}"
        return self._cache[key]

    def rebinned(self, axis) -> "Layer":
        """This model layer with bins to integrate over (flux, eflux); the evaluations made are kept."""
        curve = self.curve.rebinned(axis)
        return Layer(self.key, self.label, self.kind, self.group, self.color, curve=curve, visible=self.visible,
                     source=self.source, auto=self.auto, extra=self.extra)


def points_layers(points, key: str, label: str, group: str, color: str, source: str) -> list[Layer]:
    """The layers of one set of flux points: the points, and their likelihood profiles when they have them."""
    layers = [Layer(f"{key}/points", label, "points", group, color, points=points, source=source)]
    if has_profiles(points):
        layers.insert(0, Layer(f"{key}/profiles", label, "profiles", group, color, points=points, source=source))
    return layers


def model_layer(model, key: str, label: str, group: str, color: str, source: str, energy_range,
                bins=None) -> Layer:
    curve = ModelCurve(model, energy_range, bins=bins)
    note = "" if bins is not None else "drawn as dN/dE and E² dN/dE only: no bins to integrate it over for flux, eflux"
    return Layer(f"{key}/model", label, "model", group, color, curve=curve, source=source, note=note)


class Colors:
    """Colours for sources: a known source's own (a catalog's for its first source), else the palette's next.

    ``source_key`` is a layer key without its kind (``3fhl/3FHL J0534.5+2201``, ``job``, ``refit/lp``);
    a source keeps its colour when its layers are replaced.
    """

    def __init__(self) -> None:
        self._cycle = itertools.cycle(PALETTE)
        self._given: dict[str, str] = {}

    def __call__(self, source_key: str) -> str:
        key = source_key.lower()
        if key not in self._given:
            own = COLORS.get(key) or COLORS.get(key.split("/", 1)[0])
            taken = own in self._given.values() and key.split("/", 1)[0] not in ("job", "refit")
            self._given[key] = own if own and not taken else next(self._cycle)
        return self._given[key]


SOURCES = ("catalog", "file", "refit", "input", "job")  # drawing order within a kind: the job's own on top


def sort_layers(layers: list[Layer]) -> list[Layer]:
    """In drawing order: all profiles, then models, then points; within a kind catalogs first and the followed
    job's last (on top); stable otherwise."""
    return sorted(layers, key=lambda layer: (KINDS.index(layer.kind),
                                             SOURCES.index(layer.source) if layer.source in SOURCES else 1))
