"""Instrument responses for the simulated dataset: CTAO prod5 when available, parametric otherwise.

The CTAO prod5 IRFs (Zenodo 5499840) ship in ``$GAMMAPY_DATA/cta-caldb``. Without them the
simulation uses a smooth parametrization that approximates prod5 South at 20 degrees zenith
(effective area within a factor 1.5 from 100 GeV to 100 TeV, background rate within a factor 2
above 100 GeV, PSF and energy resolution within about 20 %), so that a machine with neither
gammapy-data nor a network still gets CTAO-like data.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

PROD5_FILES = {
    "north": "Prod5-North-20deg-AverageAz-4LSTs09MSTs.180000s-v0.1.fits.gz",
    "south": "Prod5-South-20deg-AverageAz-14MSTs37SSTs.180000s-v0.1.fits.gz",
}


@dataclass(frozen=True)
class IRFSet:
    """The four IRF components for one site, and where they came from."""

    site: str
    origin: str  # "prod5 <file name>" or "parametric"
    irfs: dict[str, Any]  # gammapy IRF objects keyed aeff, edisp, psf, bkg


def find_prod5(caldb: Path | None) -> dict[str, Path]:
    """The prod5 IRF files present in ``caldb`` (a ``cta-caldb`` folder), by site."""
    if caldb is None or not caldb.is_dir():
        return {}
    return {site: caldb / name for site, name in PROD5_FILES.items() if (caldb / name).is_file()}


def load_irfs(site: str, caldb: Path | None) -> IRFSet:
    """IRFs for ``site`` ("north" or "south"): prod5 from ``caldb`` if there, else parametric.

    When only one site's prod5 file is present it is used for both sites.
    """
    found = find_prod5(caldb)
    path = found.get(site) or next(iter(found.values()), None)
    if path is not None:
        from gammapy.irf import load_irf_dict_from_file

        irfs = load_irf_dict_from_file(path)
        return IRFSet(site, f"CTAO prod5 {path.name}", {k: irfs[k] for k in ("aeff", "edisp", "psf", "bkg")})
    return IRFSet(site, "parametric (CTAO prod5 South-like, 20 deg zenith)", parametric_irfs())


def parametric_irfs() -> dict[str, Any]:
    """Analytic CTAO-like IRFs (imports gammapy)."""
    import astropy.units as u
    import numpy as np
    from gammapy.irf import PSF3D, Background2D, EffectiveAreaTable2D, EnergyDispersion2D
    from gammapy.maps import MapAxis

    energy_true = MapAxis.from_energy_bounds(0.02, 300, 12, unit="TeV", per_decade=True, name="energy_true")
    energy = MapAxis.from_energy_bounds(0.02, 300, 12, unit="TeV", per_decade=True, name="energy")
    offset = MapAxis.from_bounds(0, 6, 12, unit="deg", name="offset")
    migra = MapAxis.from_bounds(0.2, 5, 200, name="migra", interp="log")
    rad = MapAxis.from_bounds(0, 1.0, 200, unit="deg", name="rad")

    e_t = energy_true.center.to_value("TeV")[:, None]
    off = offset.center.to_value("deg")[None, :]
    # effective area: A0 E^g / (1 + (Eth/E)^p) / (1 + (E/Esat)^g), Gaussian fall-off with offset
    rise = e_t**0.5 / (1 + (0.069 / e_t) ** 5.66) / (1 + (e_t / 30.0) ** 0.5)
    area = 8e5 * rise * np.exp(-(off**2) / (2 * 3.0**2))
    aeff = EffectiveAreaTable2D(axes=[energy_true, offset], data=area, unit="m2",
                                meta={"TELESCOP": "CTAO", "INSTRUME": "parametric CTAO-like"})

    # energy resolution (Gaussian in migra), worse near threshold
    sigma_e = 0.07 + 0.012 * energy_true.center.to_value("TeV") ** -0.9
    edisp = EnergyDispersion2D.from_gauss(energy_true, migra, offset, bias=0, sigma=sigma_e)

    # PSF: 2D Gaussian, sigma(E) from 0.11 deg at 100 GeV to 0.02 deg at high energy, broader off-axis
    sigma_psf = (0.02 + 0.017 * e_t**-0.75) * (1 + 0.05 * off)  # (energy, offset)
    r = rad.center.to_value("deg")[None, None, :]
    s = sigma_psf[:, :, None]
    profile = np.exp(-(r**2) / (2 * s**2)) / (2 * np.pi * np.radians(s) ** 2)
    psf = PSF3D(axes=[energy_true, offset, rad], data=profile, unit="sr-1")

    # background: power law in reconstructed energy, radial Gaussian fall-off (sigma 3.8 deg)
    e_r = energy.center.to_value("TeV")[:, None]
    rate = 139.0 * e_r**-2.21 * np.exp(-(off**2) / (2 * 3.8**2))
    bkg = Background2D(axes=[energy, offset], data=(rate * u.Unit("TeV-1 s-1 sr-1")).to_value("MeV-1 s-1 sr-1"),
                       unit="MeV-1 s-1 sr-1")
    return {"aeff": aeff, "edisp": edisp, "psf": psf, "bkg": bkg}
