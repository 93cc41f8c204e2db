"""Small GADF DL3 releases for tests: point-like IRFs built with gammapy, DR1 subsets, broken ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np
from astropy.io import fits
from astropy.table import Table

POINTLIKE_OBS = [(1001, 83.633, 22.514, "Crab Nebula"), (1002, 83.633, 21.514, "Crab Nebula"),
                 (1003, 329.717, -30.226, "PKS 2155-304")]


def make_pointlike_release(folder: Path) -> Path:
    """Three observations with point-like IRFs (AEFF, EDISP, RAD_MAX) and a few events each."""
    import astropy.units as u
    from gammapy.irf import EffectiveAreaTable2D, EnergyDispersion2D, RadMax2D
    from gammapy.maps import MapAxis

    folder.mkdir(parents=True, exist_ok=True)
    e_true = MapAxis.from_energy_bounds(0.05, 100, 12, unit="TeV", name="energy_true")
    e_reco = MapAxis.from_energy_bounds(0.05, 100, 12, unit="TeV", name="energy")
    offset = MapAxis.from_bounds(0, 3.0, 6, unit="deg", name="offset")
    migra = MapAxis.from_bounds(0.2, 5, 48, unit="", name="migra")
    aeff = EffectiveAreaTable2D(axes=[e_true, offset], data=np.full((12, 6), 3e5), unit="m2", is_pointlike=True)
    gauss = EnergyDispersion2D.from_gauss(energy_axis_true=e_true, migra_axis=migra, offset_axis=offset,
                                          bias=0, sigma=0.12)
    edisp = EnergyDispersion2D(axes=gauss.axes, data=gauss.data, is_pointlike=True)
    rad_max = RadMax2D(axes=[e_reco, offset], data=np.full((12, 6), 0.12), unit="deg", is_pointlike=True)
    obs_rows, hdu_rows = [], []
    rng = np.random.default_rng(1)
    for obs_id, ra, dec, target in POINTLIKE_OBS:
        tstart = 6.0e8 + obs_id * 3600.0
        events = Table({"EVENT_ID": np.arange(50), "TIME": tstart + np.sort(rng.uniform(0, 1800, 50)),
                        "RA": ra + rng.normal(0, 0.5, 50), "DEC": dec + rng.normal(0, 0.5, 50),
                        "ENERGY": rng.uniform(0.2, 20, 50)}, meta={"EXTNAME": "EVENTS"})
        events["TIME"].unit, events["RA"].unit, events["DEC"].unit, events["ENERGY"].unit = "s", "deg", "deg", "TeV"
        header = {"HDUCLASS": "GADF", "HDUCLAS1": "EVENTS", "OBS_ID": obs_id, "TSTART": tstart,
                  "TSTOP": tstart + 1800, "MJDREFI": 51910, "MJDREFF": 0.00074287037, "TIMESYS": "TT",
                  "TELESCOP": "TESTARRAY", "INSTRUME": "point-like test", "OBJECT": target,
                  "RA_PNT": ra, "DEC_PNT": dec, "LIVETIME": 1700.0, "ONTIME": 1800.0, "OBS_MODE": "POINTING"}
        hdus = [fits.PrimaryHDU(), fits.table_to_hdu(events)]
        hdus[1].header.update(header)
        gti = fits.table_to_hdu(Table({"START": [tstart], "STOP": [tstart + 1800]}, meta={"EXTNAME": "GTI"}))
        hdus.append(gti)
        for irf, name in ((aeff, "EFFECTIVE AREA"), (edisp, "ENERGY DISPERSION"), (rad_max, "RAD_MAX")):
            hdu = irf.to_table_hdu()
            hdu.name = name
            hdus.append(hdu)
        name = f"obs_{obs_id}.fits.gz"
        fits.HDUList(hdus).writeto(folder / name, overwrite=True)
        obs_rows.append((obs_id, ra, dec, target, tstart, tstart + 1800, 1800.0, 1700.0, 25.0, 4))
        for kind, cls, hdu_name in (("events", "events", "EVENTS"), ("gti", "gti", "GTI"),
                                    ("aeff", "aeff_2d", "EFFECTIVE AREA"), ("edisp", "edisp_2d", "ENERGY DISPERSION"),
                                    ("rad_max", "rad_max_2d", "RAD_MAX")):
            hdu_rows.append((obs_id, kind, cls, ".", name, hdu_name))
    obs = Table(rows=obs_rows, names=["OBS_ID", "RA_PNT", "DEC_PNT", "OBJECT", "TSTART", "TSTOP", "ONTIME",
                                      "LIVETIME", "ZEN_PNT", "N_TELS"],
                meta={"EXTNAME": "OBS_INDEX", "HDUCLASS": "GADF", "HDUCLAS1": "INDEX", "HDUCLAS2": "OBS",
                      "MJDREFI": 51910, "MJDREFF": 0.00074287037, "TIMESYS": "TT", "TELESCOP": "TESTARRAY"})
    hdu_index = Table(rows=hdu_rows, names=["OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME"],
                      meta={"EXTNAME": "HDU_INDEX", "HDUCLASS": "GADF", "HDUCLAS1": "INDEX", "HDUCLAS2": "HDU"})
    obs.write(folder / "obs-index.fits.gz", overwrite=True)
    hdu_index.write(folder / "hdu-index.fits.gz", overwrite=True)
    return folder


def dr1_subset(dr1: Path, folder: Path, obs_ids: list[int]) -> Path:
    """A release with some DR1 observations (their files copied), for tests that break it."""
    (folder / "data").mkdir(parents=True, exist_ok=True)
    obs = Table.read(dr1 / "obs-index.fits.gz")
    hdu = Table.read(dr1 / "hdu-index.fits.gz")
    obs = obs[np.isin(obs["OBS_ID"], obs_ids)]
    hdu = hdu[np.isin(hdu["OBS_ID"], obs_ids)]
    for name in set(hdu["FILE_NAME"]):
        shutil.copy(dr1 / "data" / name, folder / "data" / name)
    obs.write(folder / "obs-index.fits.gz", overwrite=True)
    hdu.write(folder / "hdu-index.fits.gz", overwrite=True)
    return folder
