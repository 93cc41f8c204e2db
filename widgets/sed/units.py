"""SED types and energy units: what is plotted on each axis, in which unit, with which label.

The quantities themselves come from gammapy (``FluxPoints.dnde``, ``.e2dnde``, ``.flux``,
``.eflux`` and the models' evaluations); this module only converts them to the chosen units:

- x: energy in TeV, GeV, MeV or erg, or the photon frequency in Hz (``E = h nu``) for
  multi-wavelength use;
- y: gammapy's default unit of each SED type (``dnde`` in cm-2 s-1 per energy unit, ``e2dnde``
  and ``eflux`` in erg cm-2 s-1, ``flux`` in cm-2 s-1). With the frequency axis ``dnde`` becomes
  dN/dnu = h dN/dE (photons cm-2 s-1 Hz-1) and ``e2dnde`` is nu F_nu.
"""

from __future__ import annotations

import functools

import astropy.units as u
import numpy as np
from astropy.constants import h as PLANCK

SED_TYPES = ("dnde", "e2dnde", "flux", "eflux")
ENERGY_UNITS = ("TeV", "GeV", "MeV", "erg", "Hz")
SED_TYPE_NAMES = {
    "dnde": "dN/dE (differential flux)",
    "e2dnde": "E² dN/dE (νFν)",
    "flux": "flux in the bin",
    "eflux": "energy flux in the bin",
}
# labels written by hand: astropy simplifies "cm-2 s-1 Hz-1" to "cm-2"
_UNIT_TEXT = {"erg cm-2 s-1": "erg cm⁻² s⁻¹", "cm-2 s-1": "cm⁻² s⁻¹"}


class UnitError(ValueError):
    """An SED type or energy unit the plot does not know (the message lists the choices)."""


def check(sed_type: str, energy_unit: str) -> None:
    if sed_type not in SED_TYPES:
        raise UnitError(f"Unknown SED type {sed_type!r}: choose one of {', '.join(SED_TYPES)}.")
    if energy_unit not in ENERGY_UNITS:
        raise UnitError(f"Unknown energy unit {energy_unit!r}: choose one of {', '.join(ENERGY_UNITS)}.")


def is_frequency(energy_unit: str) -> bool:
    return energy_unit == "Hz"


@functools.lru_cache(maxsize=64)
def y_unit(sed_type: str, energy_unit: str) -> u.Unit:
    """The unit of the y axis (parsed once: astropy takes a millisecond to parse a unit)."""
    check(sed_type, energy_unit)
    if sed_type == "dnde":
        return u.Unit(f"cm-2 s-1 {energy_unit}-1")
    return u.Unit(_canonical(sed_type))


def x_label(energy_unit: str) -> str:
    return "Frequency ν [Hz]" if is_frequency(energy_unit) else f"Energy E [{energy_unit}]"


def y_label(sed_type: str, energy_unit: str) -> str:
    check(sed_type, energy_unit)
    if sed_type == "dnde":
        if is_frequency(energy_unit):
            return "dN/dν [cm⁻² s⁻¹ Hz⁻¹]"
        return f"dN/dE [cm⁻² s⁻¹ {energy_unit}⁻¹]"
    unit = _UNIT_TEXT[_canonical(sed_type)]
    names = {"e2dnde": "νFν" if is_frequency(energy_unit) else "E² dN/dE", "flux": "Flux in the bin",
             "eflux": "Energy flux in the bin"}
    return f"{names[sed_type]} [{unit}]"


def _canonical(sed_type: str) -> str:
    return "cm-2 s-1" if sed_type == "flux" else "erg cm-2 s-1"


def x_values(energy: u.Quantity, energy_unit: str) -> np.ndarray:
    """Energies (any energy unit) as plain numbers in ``energy_unit`` (Hz: the photon frequency)."""
    return np.asarray(u.Quantity(energy).to_value(energy_unit, equivalencies=u.spectral()), dtype=float)


def y_values(values: u.Quantity, sed_type: str, energy_unit: str) -> np.ndarray:
    """Fluxes of ``sed_type`` (gammapy quantities) as plain numbers in the y unit.

    With the frequency axis, a differential flux per energy becomes one per frequency:
    dN/dnu = dN/dE dE/dnu = h dN/dE.
    """
    q = u.Quantity(values)
    if sed_type == "dnde" and is_frequency(energy_unit):
        q = q * PLANCK
    return np.asarray(q.to_value(y_unit(sed_type, energy_unit)), dtype=float)
