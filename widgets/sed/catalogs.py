"""Catalog and published data for the SED, read from the portal's ``/catalogs`` API.

The kernel may run where ``$GAMMAPY_DATA`` is absent (JupyterHub, Binder), so the catalogs are
read through the service: ``GET /catalogs/cone`` for the counterparts of the target, then for
each its gammapy model (``/model``, YAML) and its flux points (``/flux_points``, gadf SED FITS;
404 when the catalog has none). The flux points are read with the source's model as their
reference spectrum, as gammapy's own catalog classes do, so that SED types convert alike.

:class:`Counterparts` keeps a plot's catalog layers in step with its ``target`` and ``counterpart_radius``. Of
each catalog family (:data:`FAMILIES`: gamma-cat, 3FHL, 2FHL, 3FGL/4FGL, HGPS, HAWC, LHAASO) only the best match
is switched on (:func:`best_of_families`); the others are read too and listed in the legend, switched off.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote

from widgets.client import ServiceError
from widgets.sed.layers import Layer
from widgets.sed.loading import energy_ranges, read_models

FETCH_TIMEOUT = 180.0  # seconds
TITLES = {"3fgl": "3FGL", "2fhl": "2FHL", "3fhl": "3FHL", "hgps": "HGPS", "gamma-cat": "gamma-cat", "2hwc": "2HWC",
          "3hwc": "3HWC", "1lhaaso": "1LHAASO"}

# catalogs of one family: a source appears in each; only the best match of a family is drawn at first
FAMILIES = {"gamma-cat": "gamma-cat", "3fhl": "3FHL", "2fhl": "2FHL", "3fgl": "FGL", "4fgl": "FGL", "hgps": "HGPS",
            "2hwc": "HAWC", "3hwc": "HAWC", "1lhaaso": "LHAASO"}
NEWER = {"4fgl": 1, "3hwc": 1}  # within a family the newer catalog is preferred to the older


def family(tag: str) -> str:
    return FAMILIES.get(tag.lower(), tag.lower())


def best_of_families(found: list[dict]) -> list[dict]:
    """The best counterpart of each catalog family, in the order of ``found`` (nearest first): the newest
    catalog of the family that has one, and its nearest source (then the first listed)."""
    best: dict[str, tuple] = {}
    for i, c in enumerate(found):
        rank = (-NEWER.get(str(c["tag"]).lower(), 0), float(c["separation"]), i)
        fam = family(str(c["tag"]))
        if fam not in best or rank < best[fam][0]:
            best[fam] = (rank, i)
    chosen = sorted(i for _rank, i in best.values())
    return [found[i] for i in chosen]


def source_url(tag: str, name: str, what: str) -> str:
    return f"/catalogs/{quote(tag, safe='')}/{quote(name, safe='')}/{what}"


def cone(client, ra: float, dec: float, radius: float) -> list[dict]:
    """Counterparts within ``radius`` degrees, nearest first: ``[{"tag", "name", "separation", ...}]``."""
    answer = client.get_json("/catalogs/cone", params={"ra": f"{ra:.6f}", "dec": f"{dec:.6f}", "radius": f"{radius:g}"},
                             timeout=FETCH_TIMEOUT)  # the first cone makes the server index every catalog
    if not isinstance(answer, list):
        raise ServiceError("The catalog service answered something other than a list of sources.")
    return [c for c in answer if isinstance(c, dict) and {"tag", "name", "separation"} <= set(c)]


@dataclass
class CatalogData:
    tag: str
    name: str
    models_yaml: str
    points_fits: bytes | None  # None: the catalog gives no flux points for this source


def fetch(client, tag: str, name: str) -> CatalogData:
    """The model and flux points of one catalog source (ServiceError when the source is unknown).

    The first request for a catalog makes the server read it with gammapy (seconds, more on a busy
    machine): hence the long timeout.
    """
    text = client.get(source_url(tag, name, "model"), timeout=FETCH_TIMEOUT).text
    try:
        points = client.get(source_url(tag, name, "flux_points"), timeout=FETCH_TIMEOUT).content
    except ServiceError as exc:
        if exc.status != 404:
            raise
        points = None
    return CatalogData(tag, name, text, points)


def source_label(tag: str, name: str) -> str:
    """``3FHL J0534.5+2201`` as it is; ``Crab nebula`` of gamma-cat as ``gamma-cat Crab nebula``."""
    title = TITLES.get(tag.lower(), tag)
    return name if name.upper().startswith(title.upper()) else f"{title} {name}"


def catalog_layers(state, data: CatalogData, visible: bool = True) -> list[Layer]:
    """Layers (points, model with envelope) of a catalog source; any thread (raises SEDInputError).

    A source's model is shown at first only when it has no flux points (HAWC, LHAASO): where there
    are points the models would crowd the plot; their toggles are in the legend. Not ``visible``: the
    source is listed (``extra``), all its layers off.
    """
    label = source_label(data.tag, data.name)
    key = f"{data.tag.lower()}/{data.name}"
    models = read_models(data.models_yaml, name=data.name)
    layers: list[Layer] = []
    bins = None
    if data.points_fits is not None:
        reference = models[0] if len(models) == 1 else None
        layers += state.points_layers(data.points_fits, label, key=key, group=label, origin="catalog",
                                      reference_model=reference)
        bins = layers[-1].points.energy_axis
    layers += state.model_layers(models, label, key=key, group=label, origin="catalog", bins=bins,
                                 ranges=energy_ranges(data.models_yaml))
    for layer in layers:
        layer.visible = visible and (layer.kind != "model" or data.points_fits is None)
        layer.extra = not visible
    return layers


class Counterparts:
    """The catalog sources near ``state.target`` (within ``state.counterpart_radius``): found through
    ``/catalogs/cone`` and drawn.

    A new target (or radius) replaces the counterparts of the old one; sources added by hand
    (``add``) stay. ``auto`` decides whether counterparts are drawn at once or only listed.
    """

    def __init__(self, state, auto: bool = True) -> None:
        self.state = state
        self.auto = auto
        self._generation = 0
        self._waiting: tuple | None = None  # (chosen, generation) found while the plot was not in view
        state.watch(self._moved, "target")  # the session's
        state.observe(self._moved, "counterpart_radius")
        state.observe(self._in_view, "active")

    # -- one source ---------------------------------------------------------------------------
    def add(self, tag: str, name: str, wait: bool = True, visible: bool = True):
        """Draw one catalog source; in the calling thread with ``wait``, else in the background."""
        def load():
            return catalog_layers(self.state, fetch(self.state.client, tag, name), visible)

        def done(layers):
            wanted = {layer.key: layer.visible for layer in layers}
            self.state.put(layers)  # keeps the shown state of a source listed before: asked for, it is shown now
            for layer in layers:
                layer.visible, layer.extra = wanted[layer.key], not visible
            self.state.revision += 1
            self.state.say(f"Added {layers[0].group} from the catalogs.")

        if not wait:
            return self.state.background.run(load, on_done=done, on_error=self.state.failed)
        try:
            layers = load()
        except Exception as exc:  # noqa: BLE001 - a service error or an unreadable answer: a sentence
            self.state.failed(exc)
            return []
        done(layers)
        return layers

    # -- following the target -----------------------------------------------------------------
    def _moved(self, _change=None) -> None:
        self._generation += 1
        generation = self._generation
        self._waiting = None
        self.state.remove([layer.key for layer in self.state.layers if layer.auto])
        self.state.counterparts = []
        target, radius = self.state.target, self.state.counterpart_radius
        self.state.finding = target is not None
        if target is None:
            return
        icrs = target.icrs
        self.state.say(f"Looking for catalog counterparts within {radius:g} deg...", "working")
        self.state.background.run(cone, self.state.client, float(icrs.ra.deg), float(icrs.dec.deg), float(radius),
                                  on_done=lambda found: self._found(found, generation),
                                  on_error=lambda exc: self._cone_failed(exc, generation))

    def _cone_failed(self, exc: BaseException, generation: int) -> None:
        self.state.failed(exc)
        self._done(generation)

    def _done(self, generation: int) -> None:
        if generation == self._generation:
            self.state.finding = False

    def _found(self, found: list[dict], generation: int) -> None:
        if generation != self._generation:
            return  # the target moved on meanwhile
        self.state.counterparts = found
        if not found:
            self.state.say(f"No catalog source within {self.state.counterpart_radius:g} deg of the target.")
            self._done(generation)
            return
        best = best_of_families(found)
        others = len(found) - len(best)
        listed = f", {others} more listed (off)" if others else ""
        self.state.say(f"Catalog counterparts: {len(best)} shown (the best of each catalog){listed}.")
        if self.auto:
            chosen = [(c, True) for c in best] + [(c, False) for c in found if c not in best]
            if self.state.active:
                self._load(chosen, generation)
            else:  # read when the plot comes into view (if the target has not moved on by then)
                self._waiting = (chosen, generation)
                self._done(generation)
        else:
            self._done(generation)

    def _load(self, chosen: list[tuple[dict, bool]], generation: int) -> None:
        self.state.background.run(self._load_all, chosen, generation, on_done=lambda _r: self._done(generation),
                                  on_error=lambda _exc: self._done(generation))

    def _in_view(self, change) -> None:
        if not change["new"] or self._waiting is None:
            return
        (chosen, generation), self._waiting = self._waiting, None
        if generation == self._generation:
            self.state.finding = True
            self._load(chosen, generation)

    def _load_all(self, chosen: list[tuple[dict, bool]], generation: int) -> None:
        """In a worker: each counterpart in turn (the server reads one catalog at a time), drawn as it comes,
        the best of each family first; the others are read to be listed, switched off."""
        for c, visible in chosen:
            if generation != self._generation:
                return
            try:
                layers = catalog_layers(self.state, fetch(self.state.client, c["tag"], c["name"]), visible)
            except Exception as exc:  # noqa: BLE001 - one source that fails leaves the others
                self.state.background.call(self.state.failed, exc)
                continue
            self.state.background.call(self._show, layers, generation)

    def _show(self, layers: list[Layer], generation: int) -> None:
        if generation == self._generation:
            for layer in layers:
                layer.auto = True
            self.state.put(layers)
