"""One catalog source, with its spectral model(s) and flux points from gammapy."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import astropy.units as u
import numpy as np

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

    def model_energy_range(self, component: str = "") -> tuple[float, float]:
        """Where the spectral model (of ``component``) applies, in TeV: as the catalog gives it for
        the source (Fermi, HGPS, gamma-cat), else the range of its flux points, else the catalog's."""
        for low, high in self._given_ranges():
            if np.isfinite(low) and np.isfinite(high) and 0 < low < high:
                return float(low), float(high)
        points = self.energy_range()
        if points is not None:
            return points
        for name, low, high in self.spec.component_ranges:
            if name == component:
                return low, high
        return self.spec.energy_range

    def _given_ranges(self):
        obj = self.gammapy
        given = getattr(obj, "energy_range", None)
        if given is not None:
            yield tuple(u.Quantity(given).to_value("TeV"))
        data = getattr(obj, "data", {})
        if "spec_erange_min" in data and "spec_erange_max" in data:  # gamma-cat
            yield (u.Quantity(data["spec_erange_min"], "TeV").to_value("TeV"),
                   u.Quantity(data["spec_erange_max"], "TeV").to_value("TeV"))

    def energy_range(self) -> tuple[float, float] | None:
        """Energy range (TeV) of the flux points, if any."""
        points = self.flux_points()
        if points is None:
            return None
        axis = points.geom.axes["energy"]
        return float(axis.edges[0].to_value("TeV")), float(axis.edges[-1].to_value("TeV"))
