"""Refit a spectral model to flux points, instantly: no data reduction, only the stored likelihood profiles.

The likelihood is gammapy's: ``FluxPointsDataset(stat_type="profile")`` interpolates each bin's
profile (``norm_scan``, ``stat_scan``) with gammapy's ``interpolate_profile``. Every set of points
in the fit that has profiles (a job's, or any gadf ``likelihood`` SED, whatever the instrument) joins
by its profiles; only sets without them (catalog points) join with ``stat_type="chi2"`` or
``"distrib"``. Gammapy's ``Fit`` minimises the sum: a joint multi-instrument fit.
The datasets are gammapy's with what does not change during a fit computed once instead of at every
evaluation (:mod:`widgets.sed.fitdata`); their statistic is gammapy's, unchanged (tested equal).

gammapy's log-parabola uses the natural log, ``(E/E0)^(-alpha - beta ln(E/E0))``; papers often use
log10 (the joint-crab paper, Nigro et al. 2019): ``beta_log10 = ln(10) beta``. The text of a refit
gives both (:func:`parameters_text`).
"""

from __future__ import annotations

from dataclasses import dataclass

import astropy.units as u
import numpy as np

from widgets.sed.fitdata import dataset_class as _dataset_class
from widgets.sed.fitdata import datasets_class
from widgets.sed.points import has_profiles  # stat_scan and stat: what gammapy's profile statistic reads

MODELS = {"pl": "power law", "lp": "log-parabola", "ecpl": "power law with exponential cut-off",
          "bpl": "broken power law"}
CATALOG_STATS = ("chi2", "distrib")
STAT_NAMES = {"profile": "profiles", "chi2": "chi2", "distrib": "distrib"}
LN10 = float(np.log(10.0))
BETA_CONVENTION = ("natural log, as gammapy: dnde = amplitude (E/reference)^(-alpha - beta ln(E/reference)); "
                   "in log10 (e.g. Nigro et al. 2019) beta_log10 = ln(10) beta")


def beta_log10(spectral) -> tuple[float, float] | None:
    """A log-parabola's beta and its error in the log10 convention (ln 10 times gammapy's); else None."""
    if spectral.tag[0] != "LogParabolaSpectralModel":
        return None
    beta = spectral.parameters["beta"]
    return LN10 * beta.value, LN10 * beta.error


def parameters_text(spectral) -> str:
    """The free parameters with errors; a log-parabola's beta says its convention and gives the log10 value;
    the reference energy (where the amplitude is given) when the model has one."""
    parts = []
    for p in spectral.parameters.free_parameters:
        text = f"{p.name} = {p.value:.4g} ± {p.error:.2g}{' ' + str(p.unit) if str(p.unit) else ''}"
        log10 = beta_log10(spectral) if p.name == "beta" else None
        if log10 is not None:
            text += f" (natural log; {log10[0]:.4g} ± {log10[1]:.2g} in log10)"
        parts.append(text)
    reference = getattr(spectral, "reference", None)
    if reference is not None and reference.frozen:
        parts.append(f"at reference energy {reference.quantity.to_value('TeV'):.4g} TeV")
    return ", ".join(parts)


class RefitError(ValueError):
    """A refit that cannot start (no profiles, an unknown model); the message is a sentence."""


def start_model(kind: str, points):
    """A gammapy spectral model to start from, normalised near the middle of the points' energies."""
    from gammapy.modeling.models import (
        BrokenPowerLawSpectralModel,
        ExpCutoffPowerLawSpectralModel,
        LogParabolaSpectralModel,
        PowerLawSpectralModel,
    )

    if kind not in MODELS:
        raise RefitError(f"Unknown model {kind!r}: choose one of {', '.join(MODELS)} ({', '.join(MODELS.values())}).")
    reference = reference_energy(points)
    dnde = np.asarray(points.dnde.quantity.to_value("cm-2 s-1 TeV-1")).ravel()
    energies = points.energy_ref.to_value("TeV")
    good = np.isfinite(dnde) & (dnde > 0) & ~np.asarray(points.is_ul.data).ravel()
    if good.any():
        amplitude = np.exp(np.interp(np.log(reference.to_value("TeV")), np.log(energies[good]), np.log(dnde[good])))
    else:
        amplitude = 1e-12
    amplitude = amplitude * u.Unit("cm-2 s-1 TeV-1")
    if kind == "pl":
        return PowerLawSpectralModel(index=2.5, amplitude=amplitude, reference=reference)
    if kind == "lp":
        return LogParabolaSpectralModel(alpha=2.5, beta=0.1, amplitude=amplitude, reference=reference)
    if kind == "ecpl":
        return ExpCutoffPowerLawSpectralModel(index=2.0, amplitude=amplitude, reference=reference,
                                              lambda_=0.1 / energies.max() * u.Unit("TeV-1"))
    middle = np.sqrt(energies.min() * energies.max()) * u.TeV  # the break starts between the ends
    return BrokenPowerLawSpectralModel(index1=2.0, index2=3.0, amplitude=_at(amplitude, reference, middle, 2.5),
                                       ebreak=middle)


def _at(amplitude, reference, energy, index: float):
    """A power law's value at ``energy`` from its value at ``reference`` (to start a model normalised elsewhere)."""
    return amplitude * (energy / reference).to_value("") ** -index


def reference_energy(points) -> u.Quantity:
    """1 TeV when the points reach it (the usual convention), else the decade nearest their middle."""
    edges = points.energy_axis.edges.to_value("TeV")
    if edges[0] <= 1.0 <= edges[-1]:
        return 1.0 * u.TeV
    middle = np.sqrt(edges[0] * edges[-1])
    return 10 ** np.round(np.log10(middle)) * u.TeV


@dataclass
class Refit:
    """A refit: gammapy's FitResult, the fitted spectral model and what went in."""

    kind: str
    result: object  # gammapy FitResult
    model: object  # the fitted SpectralModel (with its covariance)
    datasets: list
    included: list[str]  # labels of the points in the fit

    @property
    def success(self) -> bool:
        return bool(self.result.success)

    @property
    def statistics(self) -> dict[str, str]:
        """Each included set's statistic: ``profile`` (its likelihood profiles), ``chi2`` or ``distrib``."""
        return dict(zip(self.included, (d.stat_type for d in self.datasets)))

    def summary(self) -> str:
        """Parameters with errors (a log-parabola's beta in both conventions) and the fit statistic, in one line."""
        data = " + ".join(f"{label} ({STAT_NAMES[stat]})" for label, stat in self.statistics.items())
        return (f"{MODELS[self.kind]} fitted to {data}: {parameters_text(self.model)}; "
                f"fit statistic {self.result.total_stat:.2f} "
                f"({sum(int(np.sum(d.mask)) for d in self.datasets)} points, "
                f"{len(self.model.parameters.free_parameters)} free parameters)")


def refit(kind: str, points, label: str = "flux points", others: list | None = None,
          catalog_stat: str = "chi2") -> Refit:
    """Fit a ``kind`` model to the likelihood profiles of ``points`` and, jointly, to ``others``.

    ``others`` are (label, FluxPoints) pairs: those with likelihood profiles join by their profiles,
    the others with ``catalog_stat`` (``chi2`` or ``distrib``). A fit that does not converge is
    returned with ``success`` False.
    """
    from gammapy.modeling import Fit
    from gammapy.modeling.models import SkyModel

    if not has_profiles(points):
        raise RefitError(f"{label} have no likelihood profiles to refit (a job's flux points have them).")
    if catalog_stat not in CATALOG_STATS:
        raise RefitError(f"Unknown statistic {catalog_stat!r} for catalog points: use chi2 or distrib.")
    spectral = start_model(kind, points)
    model = SkyModel(spectral_model=spectral, name=f"refit-{kind}")
    datasets, included = [], []
    for set_label, data in [(label, points), *(others or [])]:
        stat = "profile" if has_profiles(data) else catalog_stat
        name = set_label if set_label not in included else f"{set_label} ({len(included) + 1})"
        datasets.append(_joined(model, data, stat, name))
        included.append(name)
    try:
        result = Fit().run(datasets_class()(datasets))
    except Exception as exc:  # noqa: BLE001 - a fit that fails outright (not only without converging)
        raise RefitError(f"The {MODELS[kind]} fit failed ({type(exc).__name__}: {str(exc)[:160]}).") from None
    return Refit(kind, result, spectral, datasets, included)


def _joined(model, points, stat: str, label: str):
    """The dataset of one set of points in the fit, or a RefitError that says why it cannot join."""
    try:
        dataset = _dataset_class()(models=[model], data=points, stat_type=stat, name=label)
        dataset.stat_sum()
    except Exception as exc:  # noqa: BLE001 - gammapy cannot use these points with this statistic
        how = "by its likelihood profiles" if stat == "profile" else f"with gammapy's {stat} statistic"
        hint = "" if stat == "profile" else f"; try {_other(stat)}"
        raise RefitError(f"{label} cannot join the fit {how} ({type(exc).__name__}: {str(exc)[:120]}){hint}.") from None
    return dataset


def _other(stat: str) -> str:
    return next(s for s in CATALOG_STATS if s != stat)


def main_points(state):
    """The points a refit is for: the followed job's, else the first layer with likelihood profiles."""
    layer = state.layer("job/points")
    if layer is None:
        layer = next((p for p in state.layers if p.kind == "points" and has_profiles(p.points)), None)
    return layer


def shown_points(state) -> list[str]:
    """The keys of the visible points besides the refit's own: what the widget's joint refit includes.

    The points of a joint fit's input jobs are left out: the joint points already hold their data, and
    fitting both would count it twice."""
    main = main_points(state)
    return [p.key for p in state.layers if p.kind == "points" and p.visible and main is not None
            and p is not main and p.points is not main.points and p.source != "input"]


def refit_layers(state, kind: str = "pl", include: list[str] | None = None, catalog_stat: str = "chi2"):
    """Refit ``kind`` to the plot's points with profiles, jointly with the ``include``d points layers
    (by their profiles when they have them, else with ``catalog_stat``).

    Returns (Refit, layers to show); raises RefitError with a sentence. Any thread.
    """
    main = main_points(state)
    if main is None:
        raise RefitError("There are no flux points with likelihood profiles to refit: follow a spectrum job or "
                         "load its flux_points result.")
    others = []
    for name in include or []:
        found = next((p for p in state.layers if p.kind == "points" and name in (p.key, p.label, p.group)), None)
        if found is None:
            known = ", ".join(sorted({p.group for p in state.layers if p.kind == "points" and p is not main}))
            raise RefitError(f"There are no flux points called {name!r} to include; the plot has: {known or 'none'}.")
        if found is not main and found.points is not main.points:  # the main points are in already
            others.append((found.label, found.points))
    label = main.label if main.source != "job" else "the job's flux points"
    fit = refit(kind, main.points, label=label, others=others, catalog_stat=catalog_stat)
    if not fit.success:
        return fit, []
    axis = main.points.energy_axis
    edges = [p.energy_axis.edges for _, p in others] + [axis.edges]
    lo = min(e[0].to_value("TeV") for e in edges)
    hi = max(e[-1].to_value("TeV") for e in edges)
    layers = state.model_layers(fit.model, f"refit ({MODELS[kind]})", key=f"refit/{kind}", group="refits",
                                origin="refit", energy_range=u.Quantity([lo, hi], "TeV"), bins=axis)
    return fit, layers
