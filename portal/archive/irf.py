"""Summaries of GADF IRF HDUs for ObsCore: field of view, energy range, PSF and energy resolution.

Only astropy.io.fits and numpy: ingest stays fast and never imports gammapy.
"""

from __future__ import annotations

import numpy as np

REFERENCE_ENERGY = 1.0  # TeV: where s_resolution and em_res_power are given
REFERENCE_OFFSET = 0.5  # deg: typical wobble offset


def _row(hdu, name):
    return np.asarray(hdu.data[name][0], dtype=float)


def _index(lo, hi, value) -> int:
    inside = np.nonzero((lo <= value) & (value < hi))[0]
    if inside.size:
        return int(inside[0])
    centres = np.sqrt(np.abs(lo * hi)) if np.all(lo > 0) else (lo + hi) / 2
    return int(np.argmin(np.abs(centres - value)))


def aeff_summary(hdu) -> dict:
    """Field-of-view radius, energy range and IRF type from an AEFF_2D HDU."""
    header = hdu.header
    out = {"irf_type": "point-like" if "POINT" in str(header.get("HDUCLAS3", "")).upper() else "full-enclosure"}
    names = hdu.columns.names
    if "THETA_HI" in names:
        out["fov_radius"] = float(np.max(_row(hdu, "THETA_HI")))
    if "ENERG_LO" in names and "ENERG_HI" in names:
        out["e_min"] = float(f"{np.min(_row(hdu, 'ENERG_LO')):.9g}")
        out["e_max"] = float(f"{np.max(_row(hdu, 'ENERG_HI')):.9g}")
    if header.get("LO_THRES") is not None:
        out["safe_min"] = float(header["LO_THRES"])
    if header.get("HI_THRES") is not None:
        out["safe_max"] = float(header["HI_THRES"])
    if header.get("ZENITH") is not None:
        out["zenith"] = float(header["ZENITH"])
    return out


def _containment(radius: np.ndarray, density: np.ndarray, fraction: float = 0.68) -> float | None:
    """Radius (deg) containing ``fraction`` of a radial density dP/dOmega sampled at ``radius``."""
    weights = density * np.sin(np.radians(radius)) * np.gradient(radius)
    total = np.cumsum(weights)
    if total[-1] <= 0 or not np.isfinite(total[-1]):
        return None
    return float(np.interp(fraction, total / total[-1], radius))


def psf_r68(hdu, offset: float = REFERENCE_OFFSET) -> float | None:
    """PSF 68% containment radius (deg) at 1 TeV, for psf_table, psf_3gauss and psf_king HDUs."""
    names = hdu.columns.names
    kind = str(hdu.header.get("HDUCLAS4", "")).upper()
    e = _index(_row(hdu, "ENERG_LO"), _row(hdu, "ENERG_HI"), REFERENCE_ENERGY)
    t = _index(_row(hdu, "THETA_LO"), _row(hdu, "THETA_HI"), offset)
    if "RPSF" in names:
        lo, hi = _row(hdu, "RAD_LO"), _row(hdu, "RAD_HI")
        rpsf = np.asarray(hdu.data["RPSF"][0], dtype=float)  # (rad, theta, energy)
        return _containment((lo + hi) / 2, rpsf[:, t, e])
    r = np.linspace(0, 3, 3001)
    if "SIGMA_1" in names or kind == "PSF_3GAUSS":
        density = np.zeros_like(r)
        for sig, amp in (("SIGMA_1", None), ("SIGMA_2", "AMPL_2"), ("SIGMA_3", "AMPL_3")):
            if sig not in names:
                continue
            s = np.asarray(hdu.data[sig][0], dtype=float)[t, e]
            a = 1.0 if amp is None else np.asarray(hdu.data[amp][0], dtype=float)[t, e]
            if s > 0:
                density += a * np.exp(-0.5 * (r / s) ** 2)
        return _containment(r, density)
    if "GAMMA" in names and "SIGMA" in names:
        g = np.asarray(hdu.data["GAMMA"][0], dtype=float)[t, e]
        s = np.asarray(hdu.data["SIGMA"][0], dtype=float)[t, e]
        if g <= 1 or s <= 0:
            return None
        return _containment(r, (1 + r**2 / (2 * g * s**2)) ** (-g))
    return None


def edisp_resolving_power(hdu, offset: float = REFERENCE_OFFSET) -> float | None:
    """E/dE at 1 TeV from an EDISP_2D HDU: 1 / (half the 16-84% width of the migration)."""
    names = hdu.columns.names
    if "MATRIX" not in names or "MIGRA_LO" not in names:
        return None
    e = _index(_row(hdu, "ENERG_LO"), _row(hdu, "ENERG_HI"), REFERENCE_ENERGY)
    t = _index(_row(hdu, "THETA_LO"), _row(hdu, "THETA_HI"), offset)
    mlo, mhi = _row(hdu, "MIGRA_LO"), _row(hdu, "MIGRA_HI")
    matrix = np.asarray(hdu.data["MATRIX"][0], dtype=float)  # (theta, migra, energy)
    pdf = matrix[t, :, e] * (mhi - mlo)
    total = np.cumsum(pdf)
    if total[-1] <= 0:
        return None
    cdf = total / total[-1]
    p16, p84 = np.interp([0.16, 0.84], cdf, mhi)
    width = (p84 - p16) / 2
    return float(1 / width) if width > 0 else None


def rad_max(hdu) -> float | None:
    """The point-like theta cut (deg) at 1 TeV from a RAD_MAX HDU."""
    names = hdu.columns.names
    if "RAD_MAX" not in names:
        return None
    values = np.asarray(hdu.data["RAD_MAX"][0], dtype=float)
    e = _index(_row(hdu, "ENERG_LO"), _row(hdu, "ENERG_HI"), REFERENCE_ENERGY)
    if values.ndim == 2:  # (theta, energy)
        t = _index(_row(hdu, "THETA_LO"), _row(hdu, "THETA_HI"), REFERENCE_OFFSET) if "THETA_LO" in names else 0
        return float(values[t, e])
    return float(values.ravel()[e])
