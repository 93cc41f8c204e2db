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


def _copy_index(source: Path, name: str) -> Table:
    from portal.archive.layout import find_index

    table = Table.read(find_index(source, name), hdu=1)
    table.convert_bytestring_to_unicode()
    return table


def _select(source: Path, obs_ids: list[int] | None, renumber: int) -> tuple[Table, Table]:
    """The indices of ``source`` for these observations (all by default), obs ids shifted by ``renumber``
    (releases made from the same files can then share an archive: jobs name observations by obs id)."""
    obs, hdu = _copy_index(source, "obs-index"), _copy_index(source, "hdu-index")
    if obs_ids is not None:
        obs, hdu = obs[np.isin(obs["OBS_ID"], obs_ids)], hdu[np.isin(hdu["OBS_ID"], obs_ids)]
    obs["OBS_ID"] += renumber
    hdu["OBS_ID"] += renumber
    return obs, hdu


def _renumbered(hdul: fits.HDUList, renumber: int) -> fits.HDUList:
    for h in hdul:
        if "OBS_ID" in h.header:
            h.header["OBS_ID"] = int(h.header["OBS_ID"]) + renumber
    return hdul


def _write_release(folder: Path, obs: Table, hdu: Table, gzip_index: bool) -> Path:
    suffix = ".fits.gz" if gzip_index else ".fits"
    obs.write(folder / f"obs-index{suffix}", overwrite=True)
    hdu.write(folder / f"hdu-index{suffix}", overwrite=True)
    return folder


def veritas_like(source: Path, folder: Path, obs_ids: list[int] | None = None, gzip_index: bool = False,
                 renumber: int = 0) -> Path:
    """A release with the traits of the VERITAS point-like Crab release, made from another one's files:
    an empty FILE_DIR (astropy reads it masked) with every file next to the index, and LO_THRES/HI_THRES
    spanning the whole energy grid of the effective area. Data files keep their compression."""
    folder.mkdir(parents=True, exist_ok=True)
    obs, hdu = _select(source, obs_ids, renumber)
    for name, file_dir in sorted({(r["FILE_NAME"].strip(), r["FILE_DIR"].strip()) for r in hdu}):
        with fits.open(source / file_dir / name) as hdul:
            for row in hdu[(hdu["FILE_NAME"] == name) & (hdu["HDU_TYPE"] == "aeff")]:
                aeff = hdul[row["HDU_NAME"].strip()]
                aeff.header["LO_THRES"] = float(np.min(aeff.data["ENERG_LO"]))
                aeff.header["HI_THRES"] = float(np.max(aeff.data["ENERG_HI"]))
            _renumbered(hdul, renumber).writeto(folder / name, overwrite=True)
    hdu["FILE_DIR"] = [""] * len(hdu)
    obs.remove_columns([c for c in ("SAFE_ENERGY_LO", "SAFE_ENERGY_HI") if c in obs.colnames])  # as VERITAS
    return _write_release(folder, obs, hdu, gzip_index)


def fixed_rad_max(dr1: Path, folder: Path, obs_ids: list[int], cut: float = 0.11, renumber: int = 0) -> Path:
    """Point-like IRFs with a fixed cut given by the RAD_MAX header keyword (no RAD_MAX HDU), made from
    H.E.S.S. DR1 runs: the effective area times the PSF's containment within ``cut`` at each node, as a
    point-like effective area is; the events, GTI and energy dispersion unchanged; no PSF nor background."""
    import astropy.units as u
    from gammapy.irf import PSF3D

    (folder / "data").mkdir(parents=True, exist_ok=True)
    obs, hdu = _select(dr1, obs_ids, renumber)
    for name in sorted(set(hdu["FILE_NAME"])):
        with fits.open(dr1 / "data" / name) as hdul:
            psf = PSF3D.from_hdulist(hdul, hdu="PSF")
            aeff = hdul["AEFF"]
            energy = np.sqrt(aeff.data["ENERG_LO"][0] * aeff.data["ENERG_HI"][0]) * u.TeV
            offset = aeff.data["THETA_LO"][0] * u.deg  # nodes (THETA_LO == THETA_HI)
            fraction = psf.containment(rad=cut * u.deg, energy_true=energy[None, :], offset=offset[:, None])
            aeff.data["EFFAREA"][0] *= np.nan_to_num(fraction.to_value(""))
            for irf in (aeff, hdul["EDISP"]):
                irf.header["HDUCLAS3"] = "POINT-LIKE"
                irf.header["RAD_MAX"] = (cut, "[deg] fixed directional cut")
            kept = fits.HDUList([h for h in hdul if h.name not in ("PSF", "BKG")])
            _renumbered(kept, renumber).writeto(folder / "data" / name, overwrite=True)
    hdu = hdu[~np.isin(hdu["HDU_TYPE"], ["psf", "bkg"])]
    return _write_release(folder, obs, hdu, gzip_index=True)


WIDE_POINTING, WIDE_OBJECT = (83.633, 22.514), (83.633, 22.014)  # the object 0.5 deg from the pointing


def _irf_hdu(name: str, hduclas4: str, axes: dict[str, tuple], data: dict[str, np.ndarray]) -> fits.BinTableHDU:
    """A GADF IRF HDU of one row: axes given as (LO, HI) arrays by prefix, data arrays in numpy order."""
    columns = {f"{prefix}_{end}": [np.asarray(v, dtype=np.float32)] for prefix, (lo, hi) in axes.items()
               for end, v in (("LO", lo), ("HI", hi))}
    columns.update({k: [np.asarray(v, dtype=np.float32)] for k, v in data.items()})
    hdu = fits.table_to_hdu(Table(columns))
    hdu.name = name
    hdu.header.update({"HDUCLASS": "GADF", "HDUCLAS1": "RESPONSE", "HDUCLAS2": hduclas4.split("_")[0],
                       "HDUCLAS3": "FULL-ENCLOSURE", "HDUCLAS4": hduclas4})
    return hdu


def wide_irf_release(folder: Path, object_in: str = "index", irf_offsets=(0.0, 10.0), edisp_offsets=None,
                     events_reach: float = 1.75, obs_id: int = 3001) -> Path:
    """One observation whose effective area is tabulated at offset nodes ``irf_offsets`` (0 and 10 deg:
    far beyond what the camera sees) while its events reach ``events_reach`` deg from the pointing
    (one event exactly there, the others inside). The object's position (RA_OBJ, DEC_OBJ) is given
    only in the obs-index (``object_in="index"``), only in the EVENTS header (``"header"``) or nowhere
    (``None``); no OFFSET_OBJ anywhere. An energy dispersion tabulated at ``edisp_offsets`` is added
    when given."""
    from astropy.coordinates import SkyCoord
    import astropy.units as u

    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(5)
    n, tstart = 300, 6.0e8
    offsets = np.concatenate([[events_reach], events_reach * np.sqrt(rng.uniform(0, 0.98, n - 1))])
    pointing = SkyCoord(*WIDE_POINTING, unit="deg")
    where = pointing.directional_offset_by(rng.uniform(0, 360, n) * u.deg, offsets * u.deg)
    events = Table({"EVENT_ID": np.arange(n), "TIME": tstart + np.sort(rng.uniform(0, 1800, n)),
                    "MULTIP": rng.integers(2, 5, n).astype(np.int16), "TELESCOPES": ["CT1,CT2"] * n,
                    "RA": where.ra.deg, "DEC": where.dec.deg.astype(np.float32), "ENERGY": rng.uniform(0.2, 20, n)})
    header = {"HDUCLASS": "GADF", "HDUCLAS1": "EVENTS", "OBS_ID": obs_id, "TSTART": tstart, "TSTOP": tstart + 1800,
              "MJDREFI": 51910, "MJDREFF": 0.00074287037, "TIMESYS": "TT", "TELESCOP": "WIDEARRAY",
              "OBJECT": "Crab Nebula", "RA_PNT": WIDE_POINTING[0], "DEC_PNT": WIDE_POINTING[1], "LIVETIME": 1700.0}
    if object_in == "header":
        header.update({"RA_OBJ": WIDE_OBJECT[0], "DEC_OBJ": WIDE_OBJECT[1]})
    hdus = [fits.PrimaryHDU(), fits.table_to_hdu(events)]
    hdus[1].name = "EVENTS"
    hdus[1].header.update(header)
    energy = np.geomspace(0.05, 100, 13)
    theta = np.asarray(irf_offsets, dtype=float)
    hdus.append(_irf_hdu("EFFECTIVE AREA", "AEFF_2D", {"ENERG": (energy[:-1], energy[1:]), "THETA": (theta, theta)},
                         {"EFFAREA": np.full((theta.size, 12), 3e5)}))
    kinds = [("events", "events", "EVENTS"), ("aeff", "aeff_2d", "EFFECTIVE AREA")]
    if edisp_offsets is not None:
        migra, e_theta = np.linspace(0.2, 5, 49), np.asarray(edisp_offsets, dtype=float)
        centres = (migra[:-1] + migra[1:]) / 2
        density = np.exp(-0.5 * ((centres - 1) / 0.12) ** 2) / (0.12 * np.sqrt(2 * np.pi))
        matrix = np.broadcast_to(density[None, :, None], (e_theta.size, 48, 12))
        hdus.append(_irf_hdu("ENERGY DISPERSION", "EDISP_2D", {"ENERG": (energy[:-1], energy[1:]),
                             "MIGRA": (migra[:-1], migra[1:]), "THETA": (e_theta, e_theta)}, {"MATRIX": matrix}))
        kinds.append(("edisp", "edisp_2d", "ENERGY DISPERSION"))
    name = f"obs_{obs_id}.fits.gz"
    fits.HDUList(hdus).writeto(folder / name, overwrite=True)
    obs = Table({"OBS_ID": [obs_id], "RA_PNT": [WIDE_POINTING[0]], "DEC_PNT": [WIDE_POINTING[1]],
                 "OBJECT": ["Crab Nebula"], "TSTART": [tstart], "TSTOP": [tstart + 1800], "LIVETIME": [1700.0]},
                meta={"EXTNAME": "OBS_INDEX", "HDUCLASS": "GADF", "HDUCLAS1": "INDEX", "HDUCLAS2": "OBS",
                      "MJDREFI": 51910, "MJDREFF": 0.00074287037, "TIMESYS": "TT", "TELESCOP": "WIDEARRAY"})
    if object_in == "index":
        obs["RA_OBJ"], obs["DEC_OBJ"] = [WIDE_OBJECT[0]], [WIDE_OBJECT[1]]
    hdu_index = Table(rows=[(obs_id, kind, cls, ".", name, hdu_name) for kind, cls, hdu_name in kinds],
                      names=["OBS_ID", "HDU_TYPE", "HDU_CLASS", "FILE_DIR", "FILE_NAME", "HDU_NAME"],
                      meta={"EXTNAME": "HDU_INDEX", "HDUCLASS": "GADF", "HDUCLAS1": "INDEX", "HDUCLAS2": "HDU"})
    return _write_release(folder, obs, hdu_index, gzip_index=True)
