"""The rules across parameters of the built-in analyses, named by their definition files (``validate``).

Each takes the typed parameters of a job (every one present, defaults filled in) and raises
:class:`portal.seam.params.ParameterError` with a sentence when they do not go together. The job service
imports this module: it must stay light (no science stack).
"""

from __future__ import annotations

from portal.jobs.binning import check_lightcurve as _lightcurve_binning, check_spectrum as _spectrum_binning
from portal.jobs.choices import check_choices
from portal.jobs.skymap_size import check_skymap

__all__ = ["check_joint", "check_lightcurve", "check_skymap", "check_spectrum"]


def check_spectrum(params: dict) -> None:
    _spectrum_binning(params)
    check_choices(params)


def check_lightcurve(params: dict) -> None:
    _lightcurve_binning(params)
    check_choices(params)


def check_joint(params: dict) -> None:
    _spectrum_binning({**params, "fit_e_min": None, "fit_e_max": None})
