"""An archive product in the SED: the flux points of a published ``sed`` product, with the job's fitted model.

The session's ``product`` (:class:`~widgets.products.ref.OpenProduct`, view ``sed``) carries the product's
links from its DataLink document: the flux points file (``#this``, a gadf SED FITS) and the job's model
(``#auxiliary`` ``model``, gammapy YAML with the fit's covariance). They are fetched through the plot's client
and read by the plot's own readers (:meth:`~widgets.sed.state.SEDState.points_layers`,
:meth:`~widgets.sed.state.SEDState.model_layers`) in the background; the layers are one source in the legend,
named after the product. A failure is the plot's message, never a traceback.
"""

from __future__ import annotations

from widgets.client import ServiceError
from widgets.sed.loading import SEDInputError

__all__ = ["ProductLoader"]

FETCH_TIMEOUT = 120.0


class ProductLoader:
    """Draws the session's products opened for the SED into ``state`` (an SEDState)."""

    def __init__(self, state) -> None:
        self.state = state
        self._asked = 0
        state.watch(self._opened, "product")

    def _opened(self, change) -> None:
        opened = change["new"]
        if opened is None or opened.view != "sed":
            return
        self.load(opened)

    def load(self, opened, wait: bool = False):
        """Fetch and draw ``opened``'s flux points and model (in the background unless ``wait``)."""
        state = self.state
        self._asked += 1
        asked = self._asked
        product, links = opened.product, opened.links
        state.say(f"Reading the flux points of {product.label}...", "working")

        def load():
            return self._layers(product, links)

        def done(layers):
            if asked != self._asked:
                return
            state.put(layers)
            points = next((layer for layer in layers if layer.kind == "points"), None)
            n = points.points.energy_axis.nbin if points is not None else 0
            model = " and its fitted model" if any(layer.kind == "model" for layer in layers) else ""
            state.say(f"Added {product.label}: {n} flux points{model}, from the archive.")

        if wait:
            try:
                layers = load()
            except Exception as exc:  # noqa: BLE001 - a sentence, as in the background
                state.failed(exc)
                return []
            done(layers)
            return layers
        return state.background.run(load, on_done=done, on_error=state.failed)

    def _layers(self, product, links) -> list:
        """I/O and reading (any thread): the product's layers; ServiceError or SEDInputError with a sentence."""
        state = self.state
        if not links.file_url:
            raise ServiceError(f"{product.label} has no file to plot: its DataLink document gives no #this row.")
        data = state.client.get(links.file_url, timeout=FETCH_TIMEOUT).content
        key = f"product/{product.did}"
        label = product.label
        try:
            layers = state.points_layers(data, label, key=key, group=label, origin="file")
        except SEDInputError as exc:
            raise SEDInputError(f"{label}: {exc}") from None
        if links.model_url:
            try:
                model = state.client.get(links.model_url, timeout=FETCH_TIMEOUT).content
                bins = layers[-1].points.energy_axis
                layers += state.model_layers(model, f"{label} fit", key=key + "/fit", group=label, origin="file",
                                             bins=bins)
            except (ServiceError, SEDInputError):
                pass  # the points alone are the product; the fit is a bonus
        return layers
