"""gammapy's datasets for a refit from flux points, with what does not change during a fit computed once.

:func:`dataset_class` is gammapy's ``FluxPointsDataset`` (a refit's one kind of dataset), with

- the flux points' reference fluxes and the model's energies computed once (gammapy rebuilds its maps at
  each evaluation);
- spectral models in TeV-based units evaluated with plain numbers (astropy's unit handling is most of the
  cost of an evaluation);
- for ``stat_type="profile"``, gammapy's statistic evaluated for all bins at once: gammapy interpolates each
  bin's profile with its own ``interp1d(norm_scan, |stat_scan - stat|, kind="quadratic", extrapolate)``;
  here one quadratic spline (scipy's ``make_interp_spline``, what ``interp1d`` builds) holds every bin's
  profile as a column, over the same norm grid.

:class:`FitDatasets` is gammapy's ``Datasets`` with the models' parameters (for their priors) collected once
per set of models, not at every evaluation. The statistics are gammapy's, unchanged (tested equal).
"""

from __future__ import annotations

import copy
import functools

import astropy.units as u
import numpy as np

DNDE = u.Unit("cm-2 s-1 TeV-1")
PLAIN_UNITS = {u.Unit("TeV"): "TeV", u.Unit("TeV-1"): "TeV-1", u.dimensionless_unscaled: "", DNDE: "dnde"}


def plain_parameters(spectral) -> list:
    """(name, Parameter) pairs when all are in TeV-based units (energies TeV, dN/dE cm-2 s-1 TeV-1), else []."""
    pairs = [(p.name, p) for p in spectral.parameters]
    return pairs if all(p.unit in PLAIN_UNITS for _, p in pairs) else []


def _cached(name: str):
    from gammapy.estimators import FluxPoints

    return functools.cached_property(getattr(FluxPoints, name).fget)


def _frozen_class():
    from gammapy.estimators import FluxPoints

    names = ("dnde", "dnde_ref", "dnde_err", "dnde_errn", "dnde_errp", "dnde_ul", "is_ul")
    return type("FrozenFluxPoints", (FluxPoints,), {n: _cached(n) for n in names})


class _Profiles:
    """Every bin's profile |stat_scan - stat| as one quadratic spline over the norm grid (a column per bin), as
    gammapy's ``interpolate_profile`` builds one per bin; ``usable`` False when the data are not laid out as one
    profile per energy bin (then gammapy's own statistic is used)."""

    def __init__(self, dataset) -> None:
        from scipy.interpolate import make_interp_spline

        data = dataset.data
        shape = data.dnde.data.shape
        interpolators = dataset._profile_interpolators
        kwargs = dataset.stat_kwargs
        self.usable = (interpolators.ndim == 1 and len(interpolators) == shape[0] and int(np.prod(shape)) == shape[0]
                       and kwargs.get("interp_scale") == "sqrt" and kwargs.get("extrapolate") is True)
        if not self.usable:
            return
        x = np.asarray(data.stat_scan.geom.axes["norm"].center, dtype=float)
        scan = np.asarray(data.stat_scan.data, dtype=float).reshape(shape[0], -1)
        stat = np.asarray(data.stat.data, dtype=float).reshape(shape[0], 1)
        if scan.shape[1] != len(x):  # not one profile over the norm grid per bin: gammapy's statistic
            self.usable = False
            return
        y = np.abs(scan - stat)
        order = np.argsort(x, kind="mergesort")  # as interp1d sorts its x
        x, y = x[order], y[:, order]
        # a bin whose profile has a NaN gives NaN, as gammapy's (its mask_valid leaves it out of the fit); a finite
        # column stands in for it in the spline, whose columns are solved together
        self.valid = np.isnan(y).sum(axis=1) == 0
        self.spline = make_interp_spline(x, np.where(self.valid[:, None], y, 1.0).T, k=2, check_finite=False)
        self.index = np.arange(shape[0])
        self.shape = shape

    def stat_array(self, norm: np.ndarray) -> np.ndarray:
        """gammapy's profile statistic of each bin at the predicted ``norm`` (one per bin), shaped as the data."""
        values = self.spline(norm.ravel())  # (bins, bins): every bin's profile at every bin's norm
        stat = values[self.index, self.index]
        stat[~self.valid] = np.nan
        return stat.reshape(self.shape)


@functools.cache
def dataset_class():
    from gammapy.datasets import FluxPointsDataset
    from gammapy.maps import Map

    frozen = _frozen_class()

    class ProfileDataset(FluxPointsDataset):
        """gammapy's FluxPointsDataset for spectral models, with the fixed parts computed once."""

        def __init__(self, models=None, data=None, **kwargs):
            snapshot = copy.copy(data)  # the same maps; the properties gammapy recomputes are kept
            snapshot.__class__ = frozen
            super().__init__(models=models, data=snapshot, **kwargs)
            shape = self.data.dnde.data.shape
            self._energy = self.data.geom.axes["energy"].center.reshape((-1,) + (1,) * (len(shape) - 1))
            self._energy_tev = self._energy.to_value("TeV")
            self._dnde_ref = np.asarray(self.data.dnde_ref.to_value(DNDE), dtype=float)
            self._plain: dict[int, list] = {}  # model -> its parameters, when they are in TeV-based units
            self._profiles = _Profiles(self) if self.stat_type == "profile" else None

        def _flux_pred_plain(self):
            """The sum of the models' dN/dE in cm-2 s-1 TeV-1 as plain numbers; None if a model is in other units."""
            flux = 0.0
            for model in self.models:
                spectral = model.spectral_model
                plain = self._plain.get(id(spectral))
                if plain is None:
                    plain = self._plain[id(spectral)] = plain_parameters(spectral)
                if not plain:
                    return None
                flux = flux + spectral.evaluate(self._energy_tev, **{name: p.value for name, p in plain})
            return flux

        def flux_pred(self):
            """As gammapy's: the sum of the models' dN/dE at the bins' centres (spectral models only).

            Models in the units :func:`~widgets.sed.refit.start_model` gives them (TeV, TeV-1,
            cm-2 s-1 TeV-1) are evaluated with their parameters as plain numbers; any other model as
            gammapy does it.
            """
            plain = self._flux_pred_plain()
            if plain is not None:
                return plain * DNDE
            flux = 0.0
            for model in self.models:
                flux = flux + model.spectral_model(self._energy)
            return flux

        def stat_sum(self):
            """gammapy's statistic; with profiles, every bin's interpolated at once."""
            profiles = self._profiles
            if profiles is None or not profiles.usable or self.stat_type != "profile":
                return super().stat_sum()
            plain = self._flux_pred_plain()
            if plain is not None:
                norm = np.zeros(profiles.shape) + plain / self._dnde_ref
            else:
                norm = np.zeros(profiles.shape) + (self.flux_pred() / self.data.dnde_ref).to_value("")
            stat = profiles.stat_array(norm)
            mask = self.mask
            if mask is not None:  # as gammapy's FitStatistic.stat_sum_dataset
                stat = stat[mask.data if isinstance(mask, Map) else mask]
            return np.sum(stat)

    return ProfileDataset


@functools.cache
def datasets_class():
    from gammapy.datasets import Datasets

    class FitDatasets(Datasets):
        """gammapy's Datasets whose statistic collects the models' parameters once per set of models."""

        _models_key = None
        _parameters = None

        def stat_sum(self):
            """As gammapy's: the datasets' statistics plus the parameters' priors."""
            key = tuple(id(m) for d in self for m in (d.models or []))
            if key != self._models_key:
                self._models_key, self._parameters = key, self.models.parameters
            stat_sum = 0.0
            for dataset in self:
                stat_sum += dataset.stat_sum()
            return stat_sum + self._parameters.prior_stat_sum()

    return FitDatasets
