"""RefitState: the refit bar as state. Which model, whether the other points shown join the fit (and with which
statistic when they have no likelihood profiles), and the refit itself: run in the background from the bar
(:meth:`RefitState.run`) or in the calling thread from Python (:meth:`RefitState.fit`).

The fit is :func:`widgets.sed.refit.refit_layers`; a refit that converged is drawn beside the job's fit and
becomes the plot's ``refit_result``; one that did not, or cannot start, is a sentence in the plot's message and
the plot keeps what it had. Tested without a browser; the SED view's refit bar only links its inputs here.
"""

from __future__ import annotations

import traitlets as t

from widgets.sed.refit import CATALOG_STATS, MODELS, Refit, RefitError, parameters_text, refit_layers, shown_points

__all__ = ["RefitState", "summary_lines"]


class RefitState(t.HasTraits):
    model = t.Enum(list(MODELS), "pl")  # pl, lp, ecpl, bpl
    joint = t.Bool(False)  # with the other points shown (by their profiles when they have them)
    catalog_stat = t.Enum(list(CATALOG_STATS), "chi2")  # for points without profiles (catalogs)
    running = t.Bool(False)

    def __init__(self, sed, **kwargs) -> None:
        super().__init__(**kwargs)
        self.sed = sed  # the SEDState whose points are fitted and where the refit is drawn

    def run(self):
        """The bar's "Refit": the chosen model, in the background (a Future); the outcome is applied on the loop."""
        include = shown_points(self.sed) if self.joint else []
        self.sed.say(f"Fitting a {MODELS[self.model]} to the likelihood profiles...", "working")
        self.running = True
        return self.sed.background.run(refit_layers, self.sed, self.model, include, self.catalog_stat,
                                       on_done=lambda found: self._done(*found), on_error=self._failed)

    def fit(self, model: str | None = None, include: list[str] | None = None, catalog_stat: str | None = None):
        """Fit ``model`` (pl, lp, ecpl, bpl) to the stored likelihood profiles now, jointly with the ``include``d
        points (by name); gammapy's FitResult (drawn when it converged), or None with the message saying why."""
        try:
            fit, layers = refit_layers(self.sed, model or self.model, include, catalog_stat or self.catalog_stat)
        except RefitError as exc:
            self.sed.fail(str(exc))
            return None
        self._done(fit, layers)
        return fit.result

    def _done(self, fit: Refit, layers: list) -> None:
        self.running = False
        self.sed.refit_result = fit
        if not fit.success:
            self.sed.fail(f"The {MODELS[fit.kind]} refit did not converge ({fit.result.message.strip()}); "
                          "the plot keeps what it had. Try another model.")
            return
        self.sed.put(layers)
        self.sed.say(f"Refit: {fit.summary()}.")

    def _failed(self, exc: BaseException) -> None:
        self.running = False
        self.sed.failed(exc)


def summary_lines(sed) -> list[str]:
    """What the plot says under the legend: the job's forward-folded fit, and the last refit."""
    lines = []
    models = sed.job_model
    if models is not None and len(models):
        spectral = models[0].spectral_model
        joint = sed.followed_definition == "joint_spectrum"
        what = "Joint forward-folded fit of the input jobs" if joint else "Job's forward-folded fit"
        lines.append(f"{what} ({spectral.tag[0]}): {parameters_text(spectral)}")
    fit = sed.refit_result
    if fit is not None:
        lines.append(("Refit: " if fit.success else "Refit (did not converge): ") + fit.summary())
    return lines
