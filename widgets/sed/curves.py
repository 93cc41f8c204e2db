"""A spectral model on the plot: its curve and 1 sigma envelope (butterfly), as plain arrays.

The envelope is gammapy's: ``SpectralModel.evaluate_error`` (and ``integral_error`` /
``energy_flux_error`` for the binned SED types) with the covariance the model carries, the same
calls ``SpectralModel.plot_error`` makes; nothing here propagates errors itself. The sampling is
costly (thousands of parameter draws), so each result is computed once per SED type and kept;
:meth:`ModelCurve.prepare` is safe to call from a worker thread.

``flux`` and ``eflux`` are fluxes in a bin, so a model is shown in those types integrated over
the bins of the flux points it belongs to (a step line), and not at all when it has no bins.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import astropy.units as u
import numpy as np

from widgets.sed import units

N_ENERGIES = 60  # nodes of a model curve (log-spaced over its energy range)
DIFFERENTIAL = ("dnde", "e2dnde")


@dataclass
class ModelArrays:
    x: np.ndarray
    y: np.ndarray  # the model
    y_lo: np.ndarray  # the envelope (NaN when the model carries no errors)
    y_hi: np.ndarray
    steps: bool = False  # binned (flux, eflux): x holds each bin's two edges in turn

    @property
    def has_envelope(self) -> bool:
        return bool(np.any(np.isfinite(self.y_lo)))


def has_errors(model) -> bool:
    """Whether the model's covariance gives it an envelope at all."""
    data = np.asarray(model.covariance.data)
    return data.size > 0 and bool(np.any(data != 0)) and bool(np.all(np.isfinite(data)))


class ModelCurve:
    """A gammapy ``SpectralModel`` over ``energy_range``; ``bins`` (an energy MapAxis) for flux/eflux."""

    def __init__(self, model, energy_range: u.Quantity, bins=None, n_energies: int = N_ENERGIES) -> None:
        self.model = model
        lo, hi = u.Quantity(energy_range).to("TeV")
        self.energy = np.geomspace(lo.value, hi.value, n_energies) * u.TeV
        self.bins = bins
        self._native: dict[str, tuple | None] = {}
        self._lock = threading.Lock()

    @property
    def energy_range(self) -> u.Quantity:
        return u.Quantity([self.energy[0], self.energy[-1]])

    def rebinned(self, bins) -> "ModelCurve":
        """The same model with ``bins`` for the binned SED types (differential evaluations kept)."""
        other = ModelCurve(self.model, self.energy_range, bins=bins, n_energies=len(self.energy))
        if "differential" in self._native:
            other._native["differential"] = self._native["differential"]
        return other

    def ready(self, sed_type: str) -> bool:
        return _kind(sed_type) in self._native

    def prepare(self, sed_type: str) -> None:
        """Evaluate the model and its envelope for ``sed_type`` (the costly part; any thread)."""
        kind = _kind(sed_type)
        with self._lock:
            if kind not in self._native:
                self._native[kind] = self._evaluate(kind)

    def _evaluate(self, kind: str):
        model, errors = self.model, has_errors(self.model)
        if kind == "differential":
            energy = self.energy
            value = model(energy)
            if errors:
                median, errn, errp = model.evaluate_error(energy)
                return energy, value, median - errn, median + errp
            return energy, value, None, None
        if self.bins is None:
            return None  # no bins to integrate over
        e_min, e_max = self.bins.edges_min, self.bins.edges_max
        if kind == "flux":
            value = model.integral(e_min, e_max)
            error = model.integral_error(e_min, e_max) if errors else None
        else:
            value = model.energy_flux(e_min, e_max)
            error = model.energy_flux_error(e_min, e_max) if errors else None
        if error is None:
            return (e_min, e_max), value, None, None
        median, errn, errp = error
        return (e_min, e_max), value, median - errn, median + errp

    def arrays(self, sed_type: str, energy_unit: str) -> ModelArrays | None:
        """The curve in the plot's units (prepares it when needed); None when it cannot be shown."""
        self.prepare(sed_type)
        native = self._native[_kind(sed_type)]
        if native is None:
            return None
        energy, value, lo, hi = native
        if sed_type == "e2dnde":
            value, lo, hi = (None if q is None else q * energy**2 for q in (value, lo, hi))

        def y(q):
            return np.full(np.shape(value), np.nan) if q is None else units.y_values(q, sed_type, energy_unit)

        if sed_type in DIFFERENTIAL:
            return ModelArrays(units.x_values(energy, energy_unit), y(value), y(lo), y(hi))
        e_min, e_max = (units.x_values(e, energy_unit) for e in energy)
        x = np.column_stack([e_min, e_max]).ravel()
        return ModelArrays(x, *(np.repeat(y(q), 2) for q in (value, lo, hi)), steps=True)


def _kind(sed_type: str) -> str:
    return "differential" if sed_type in DIFFERENTIAL else sed_type
