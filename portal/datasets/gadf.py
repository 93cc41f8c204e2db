"""Writing a GADF DL3 release: one FITS file per observation, then ``obs-index`` and ``hdu-index``.

Follows the gamma-astro-data-formats specification (v0.2/0.3), with the same HDU and column names
as H.E.S.S. DL3 DR1, so that every GADF reader (gammapy's DataStore, the portal's ingest) reads
it. The hdu-index is built from the HDUCLASn keywords of the files actually written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from astropy.io import fits
from astropy.table import Table

GADF = {
    "HDUCLASS": "GADF",
    "HDUDOC": "https://github.com/open-gamma-ray-astro/gamma-astro-data-formats",
    "HDUVERS": "0.3",
}

# (HDUCLAS1, HDUCLAS2) -> (HDU_TYPE, default EXTNAME)
_TYPES = {
    ("EVENTS", None): ("events", "EVENTS"),
    ("GTI", None): ("gti", "GTI"),
    ("RESPONSE", "EFF_AREA"): ("aeff", "AEFF"),
    ("RESPONSE", "EDISP"): ("edisp", "EDISP"),
    ("RESPONSE", "RPSF"): ("psf", "PSF"),
    ("RESPONSE", "BKG"): ("bkg", "BKG"),
    ("RESPONSE", "RAD_MAX"): ("rad_max", "RAD_MAX"),
}

# gammapy IRF tag -> HDUCLAS2 / HDUCLAS4 (for IRFs whose writer leaves the classes out)
_IRF_CLASSES = {
    "aeff_2d": ("EFF_AREA", "AEFF_2D"),
    "edisp_2d": ("EDISP", "EDISP_2D"),
    "psf_table": ("RPSF", "PSF_TABLE"),
    "psf_3gauss": ("RPSF", "PSF_3GAUSS"),
    "psf_king": ("RPSF", "PSF_KING"),
    "bkg_2d": ("BKG", "BKG_2D"),
    "bkg_3d": ("BKG", "BKG_3D"),
}


def irf_hdu(irf, extname: str, point_like: bool = False) -> fits.BinTableHDU:
    """A gammapy IRF as a GADF table HDU with complete HDUCLASn keywords."""
    hdu = irf.to_table_hdu(format="gadf-dl3")
    hdu.name = extname
    clas2, clas4 = _IRF_CLASSES[irf.tag]
    header = hdu.header
    header.update(GADF)
    header["HDUCLAS1"] = "RESPONSE"
    header["HDUCLAS2"] = clas2
    header["HDUCLAS3"] = "POINT-LIKE" if point_like else "FULL-ENCLOSURE"
    header["HDUCLAS4"] = clas4
    return hdu


def events_hdu(columns: dict[str, Any], header: dict[str, Any]) -> fits.BinTableHDU:
    """The EVENTS HDU from column arrays (with units) and header keywords."""
    hdu = fits.BinTableHDU(Table(columns), name="EVENTS")
    hdu.header.update(GADF)
    hdu.header["HDUCLAS1"] = "EVENTS"
    for key, value in header.items():
        hdu.header[key] = value
    return hdu


def gti_hdu(tstart: float, tstop: float, time_header: dict[str, Any]) -> fits.BinTableHDU:
    """A one-interval GTI HDU (times in seconds since the reference time)."""
    table = Table({"START": np.array([tstart]), "STOP": np.array([tstop])})
    table["START"].unit = table["STOP"].unit = "s"
    hdu = fits.BinTableHDU(table, name="GTI")
    hdu.header.update(GADF)
    hdu.header["HDUCLAS1"] = "GTI"
    for key, value in time_header.items():
        hdu.header[key] = value
    return hdu


def hdu_index_rows(release_dir: Path, path: Path, obs_id: int) -> list[dict[str, Any]]:
    """hdu-index rows for every DL3 HDU of ``path`` (classes read from the file's headers)."""
    rows = []
    rel_dir = path.parent.relative_to(release_dir).as_posix() or "."
    with fits.open(path, memmap=False) as hdus:
        for hdu in hdus[1:]:
            head = hdu.header
            key = (head.get("HDUCLAS1"), head.get("HDUCLAS2") if head.get("HDUCLAS1") == "RESPONSE" else None)
            if key not in _TYPES:
                continue
            hdu_type = _TYPES[key][0]
            hdu_class = str(head.get("HDUCLAS4", hdu_type)).lower()
            rows.append({
                "OBS_ID": obs_id, "HDU_TYPE": hdu_type, "HDU_CLASS": hdu_class,
                "FILE_DIR": rel_dir, "FILE_NAME": path.name, "HDU_NAME": hdu.name,
                "SIZE": hdu.filebytes(),  # header and data, as stored (uncompressed)
            })
    return rows


def write_index(release_dir: Path, obs_rows: list[dict[str, Any]], hdu_rows: list[dict[str, Any]],
                units: dict[str, str], meta: dict[str, Any]) -> None:
    """Write ``obs-index.fits.gz`` and ``hdu-index.fits.gz`` into ``release_dir``."""
    obs = Table(rows=obs_rows, names=list(obs_rows[0]))
    for name, unit in units.items():
        if name in obs.colnames:
            obs[name].unit = unit
    obs.meta.update(GADF)
    obs.meta.update({"HDUCLAS1": "INDEX", "HDUCLAS2": "OBS", "EXTNAME": "OBS_INDEX", **meta})
    obs.write(release_dir / "obs-index.fits.gz", overwrite=True)

    hdu = Table(rows=hdu_rows, names=list(hdu_rows[0]))
    hdu["SIZE"].unit = "byte"
    hdu.meta.update(GADF)
    hdu.meta.update({"HDUCLAS1": "INDEX", "HDUCLAS2": "HDU", "EXTNAME": "HDU_INDEX"})
    hdu.write(release_dir / "hdu-index.fits.gz", overwrite=True)
