"""One catalog source, with its spectral model(s) and flux points from gammapy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

from portal.catalogs.spec import CatalogSpec

# how gammapy's catalog objects say "this source has no such data"
_NOT_GIVEN = (AttributeError, KeyError, ValueError, TypeError, IndexError)


@dataclass
class CatalogSource:
    """A source of a catalog. Position and names need no gammapy; spectra load it on first use."""

    spec: CatalogSpec
    name: str
    ra: float  # ICRS degrees
    dec: float
    index: int  # row in the catalog table
    _catalog: Callable[[], Any] = field(repr=False)

    @property
    def catalog(self) -> str:
        return self.spec.tag

    @property
    def gammapy(self):
        """gammapy's ``SourceCatalogObject`` for this source."""
        return self._catalog()[self.index]

    def spectral_models(self) -> dict[str, Any]:
        """Spectral models by component: ``{"": model}``, or ``{"WCDA": ..., "KM2A": ...}`` for 1LHAASO.

        Components the catalog does not give for this source are left out.
        """
        obj = self.gammapy
        if not self.spec.components:
            try:
                model = obj.spectral_model()
            except _NOT_GIVEN:
                model = None
            return {"": model} if model is not None else {}
        models = {}
        for component in self.spec.components:
            try:
                models[component] = obj.spectral_model(which=component)
            except _NOT_GIVEN:
                continue  # this source has no such component
        return models

    def spectral_model(self):
        """The catalog's spectral model (the first component when there are several), or None."""
        models = self.spectral_models()
        return next(iter(models.values()), None)

    def flux_points(self):
        """gammapy ``FluxPoints`` from the catalog, or None when the catalog gives none for this source."""
        try:
            return self.gammapy.flux_points
        except _NOT_GIVEN:
            return None  # no flux points (HAWC, LHAASO) or none for this source (gamma-cat)

    def energy_range(self) -> tuple[float, float] | None:
        """Energy range (TeV) of the flux points, if any."""
        points = self.flux_points()
        if points is None:
            return None
        axis = points.geom.axes["energy"]
        return float(axis.edges[0].to_value("TeV")), float(axis.edges[-1].to_value("TeV"))
