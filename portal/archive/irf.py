"""Summaries of GADF IRF HDUs for ObsCore: field of view, energy range, PSF, energy resolution, RAD_MAX.

Only astropy.io.fits and numpy: ingest stays fast and never imports gammapy (reading the IRFs of
H.E.S.S. DR1 with gammapy took 4 times as long, plus 2.7 s to import it). Every summary is tested
against gammapy's own reading of the same files, for each release the tests use
(``tests/archive/test_irf_summaries.py``).

What GADF allows and this reader accepts:
- axes stored as vectors or as scalars (a single bin: MAGIC's ``THETA_LO``/``THETA_HI`` are ``1E``);
- axes given as bins (``LO < HI``, CTAO prod5) or as nodes (``LO == HI``, H.E.S.S. DR1);
- data arrays with or without ``TDIMn`` (reshaped from the axis lengths, in GADF's axis order);
- point-like IRFs with a ``RAD_MAX_2D`` HDU or a fixed ``RAD_MAX`` header keyword.
"""

from __future__ import annotations

import numpy as np

REFERENCE_ENERGY = 1.0  # TeV: where s_resolution and em_res_power are given
REFERENCE_OFFSET = 0.5  # deg: typical wobble offset


def _column(hdu, name) -> np.ndarray:
    """The first row of a column as a float array of at least one dimension (scalar columns included)."""
    return np.atleast_1d(np.asarray(hdu.data[name][0], dtype=float))


def _stored(hdu, name, value: float) -> float:
    """``value`` taken from column ``name`` as written: 0.41 rather than 0.4099999964 for 32-bit floats."""
    if hdu.data[name].dtype.itemsize == 4:
        return float(str(np.float32(value)))
    return float(value)


def _array(hdu, name, shape: tuple[int, ...]) -> np.ndarray:
    """A data column reshaped to ``shape`` (numpy order: the last FITS axis first)."""
    values = np.asarray(hdu.data[name][0], dtype=float)
    if values.size != int(np.prod(shape)):
        raise ValueError(f"column {name} has {values.size} values, its axes call for {shape}")
    return values.reshape(shape)


def _axis(hdu, prefix: str) -> tuple[np.ndarray, np.ndarray]:
    return _column(hdu, f"{prefix}_LO"), _column(hdu, f"{prefix}_HI")


def _index(lo: np.ndarray, hi: np.ndarray, value: float) -> int:
    """The bin holding ``value`` (nodes: the nearest node; outside the axis: the nearest bin)."""
    inside = np.flatnonzero((lo <= value) & (value < hi))
    if inside.size:
        return int(inside[0])
    centres = np.sqrt(lo * hi) if np.all(lo > 0) else (lo + hi) / 2
    return int(np.argmin(np.abs(centres - value)))


def offset_range(hdu) -> tuple[float, float] | None:
    """The offsets (deg) an IRF covers: from the first bin's lower edge (or first node) to the last
    bin's upper edge (or last node)."""
    if "THETA_LO" not in hdu.columns.names or "THETA_HI" not in hdu.columns.names:
        return None
    lo, hi = _axis(hdu, "THETA")
    return _stored(hdu, "THETA_LO", np.min(lo)), _stored(hdu, "THETA_HI", np.max(hi))


def rad_max_keyword(header) -> float | None:
    """A fixed point-like cut (deg) given as the ``RAD_MAX`` header keyword, if any."""
    value = header.get("RAD_MAX")
    try:
        return float(value) if value is not None else None
    except (TypeError, ValueError):
        return None


def aeff_summary(hdu) -> dict:
    """Field of view, energy range, safe thresholds, IRF type and a fixed RAD_MAX from an AEFF_2D HDU."""
    header = hdu.header
    out = {"irf_type": "point-like" if "POINT" in str(header.get("HDUCLAS3", "")).upper() else "full-enclosure"}
    names = hdu.columns.names
    offsets = offset_range(hdu)
    if offsets is not None:
        out["fov_min"], out["fov_radius"] = offsets
    if "ENERG_LO" in names and "ENERG_HI" in names:
        lo, hi = _axis(hdu, "ENERG")
        out["e_min"] = _stored(hdu, "ENERG_LO", np.min(lo))
        out["e_max"] = _stored(hdu, "ENERG_HI", np.max(hi))
    for key, name in (("safe_min", "LO_THRES"), ("safe_max", "HI_THRES"), ("zenith", "ZENITH")):
        if header.get(name) is not None:
            out[key] = float(header[name])
    fixed = rad_max_keyword(header)
    if fixed is not None:
        out["rad_max"] = fixed
    return out


def _containment(radius: np.ndarray, density: np.ndarray, fraction: float = 0.68) -> float | None:
    """Radius (deg) containing ``fraction`` of a radial density dP/dOmega sampled at ``radius``."""
    weights = density * np.sin(np.radians(radius)) * np.gradient(radius)
    total = np.cumsum(weights)
    if total[-1] <= 0 or not np.isfinite(total[-1]):
        return None
    return float(np.interp(fraction, total / total[-1], radius))


def _table_containment(lo: np.ndarray, hi: np.ndarray, density: np.ndarray, fraction: float = 0.68) -> float | None:
    """Radius (deg) containing ``fraction`` of a density dP/dOmega tabulated in rings ``lo``-``hi``."""
    rings = density * 2 * np.pi * (np.cos(np.radians(lo)) - np.cos(np.radians(hi)))
    total = np.concatenate([[0], np.cumsum(rings)])
    if total[-1] <= 0 or not np.isfinite(total[-1]):
        return None
    return float(np.interp(fraction, total / total[-1], np.concatenate([[lo[0]], hi])))


def _energy_offset_bins(hdu, offset: float) -> tuple[int, int, int, int]:
    """(energy bin at 1 TeV, offset bin at ``offset``, number of energy bins, number of offset bins)."""
    e_lo, e_hi = _axis(hdu, "ENERG")
    t_lo, t_hi = _axis(hdu, "THETA")
    return _index(e_lo, e_hi, REFERENCE_ENERGY), _index(t_lo, t_hi, offset), e_lo.size, t_lo.size


def psf_r68(hdu, offset: float = REFERENCE_OFFSET) -> float | None:
    """PSF 68% containment radius (deg) at 1 TeV, for psf_table, psf_3gauss and psf_king HDUs."""
    names = hdu.columns.names
    kind = str(hdu.header.get("HDUCLAS4", "")).upper()
    e, t, n_e, n_t = _energy_offset_bins(hdu, offset)
    if "RPSF" in names:
        lo, hi = _axis(hdu, "RAD")
        rpsf = _array(hdu, "RPSF", (lo.size, n_t, n_e))
        return _table_containment(lo, hi, rpsf[:, t, e])

    def parameter(name: str) -> float:
        return float(_array(hdu, name, (n_t, n_e))[t, e])

    r = np.linspace(0, 3, 3001)
    if "SIGMA_1" in names or kind == "PSF_3GAUSS":
        density = np.zeros_like(r)
        for sig, amp in (("SIGMA_1", None), ("SIGMA_2", "AMPL_2"), ("SIGMA_3", "AMPL_3")):
            if sig not in names:
                continue
            s = parameter(sig)
            a = 1.0 if amp is None else parameter(amp)
            if s > 0:
                density += a * np.exp(-0.5 * (r / s) ** 2)
        return _containment(r, density)
    if "GAMMA" in names and "SIGMA" in names:
        g, s = parameter("GAMMA"), parameter("SIGMA")
        if g <= 1 or s <= 0:
            return None
        return _containment(r, (1 + r**2 / (2 * g * s**2)) ** (-g))
    return None


def migration_quantiles(hdu, offset: float = REFERENCE_OFFSET, q=(0.16, 0.84)) -> np.ndarray | None:
    """Quantiles of the migration E_reco / E_true at 1 TeV true energy from an EDISP_2D HDU."""
    names = hdu.columns.names
    if "MATRIX" not in names or "MIGRA_LO" not in names:
        return None
    e, t, n_e, n_t = _energy_offset_bins(hdu, offset)
    mlo, mhi = _axis(hdu, "MIGRA")
    matrix = _array(hdu, "MATRIX", (n_t, mlo.size, n_e))  # dP/dmigra
    total = np.cumsum(matrix[t, :, e] * (mhi - mlo))
    if total[-1] <= 0 or not np.isfinite(total[-1]):
        return None
    return np.interp(q, np.concatenate([[0], total / total[-1]]), np.concatenate([[mlo[0]], mhi]))


def edisp_resolving_power(hdu, offset: float = REFERENCE_OFFSET) -> float | None:
    """E/dE at 1 TeV from an EDISP_2D HDU: 1 / (half the 16-84% width of the migration)."""
    quantiles = migration_quantiles(hdu, offset)
    if quantiles is None:
        return None
    width = (quantiles[1] - quantiles[0]) / 2
    return float(1 / width) if width > 0 else None


def rad_max(hdu, offset: float = REFERENCE_OFFSET) -> float | None:
    """The point-like directional cut (deg) at 1 TeV from a RAD_MAX_2D HDU (any number of bins)."""
    names = hdu.columns.names
    if "RAD_MAX" not in names:
        return rad_max_keyword(hdu.header)
    e_lo, e_hi = _axis(hdu, "ENERG")
    n_t = _column(hdu, "THETA_LO").size if "THETA_LO" in names else 1
    t = _index(*_axis(hdu, "THETA"), offset) if "THETA_LO" in names else 0
    values = _array(hdu, "RAD_MAX", (n_t, e_lo.size))
    return _stored(hdu, "RAD_MAX", values[t, _index(e_lo, e_hi, REFERENCE_ENERGY)])
