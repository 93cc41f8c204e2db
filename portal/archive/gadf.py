"""Read a GADF DL3 release (obs-index + hdu-index + files) into ObsCore rows, one per observation.

Every problem is an :class:`IngestError` naming the file and what is wrong with it.
"""

from __future__ import annotations

import gzip
import io
import math
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

import numpy as np
from astropy.io import fits
from astropy.table import Table

from portal.archive import irf, sphere
from portal.archive.fov import fov_radius
from portal.archive.layout import find_index, release_name

HC_EV_M = 1.239841984332e-6  # h c in eV m (CODATA 2022)
AUTHORITY = "ivo://gamma-portal/archive"
DATALINK_FORMAT = "application/x-votable+xml;content=datalink"


class IngestError(Exception):
    """A release that cannot be ingested; the message names the file and the problem."""


def index_file(release: Path, name: str) -> Path:
    found = find_index(release, name)
    if found is not None:
        return found
    raise IngestError(f"{release}: no {name}.fits.gz or {name}.fits here (not a GADF DL3 release)")


def _read_table(path: Path) -> Table:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return Table.read(path, hdu=1)
    except Exception as exc:  # noqa: BLE001 - any reading failure is reported with the file
        raise IngestError(f"{path}: cannot be read as a FITS table ({exc})") from None


def _value(row, name, default=None):
    if name not in row.colnames:
        return default
    v = row[name]
    if np.ma.is_masked(v):
        return default
    if isinstance(v, bytes):
        v = v.decode()
    if isinstance(v, str):
        return v.strip() or default
    if isinstance(v, np.floating) and v.dtype == np.float32:
        v = float(str(v))  # 83.63333 rather than 83.63333129882812
    v = v.item() if hasattr(v, "item") else v
    if isinstance(v, float) and not math.isfinite(v):
        return default
    return v


def did(collection: str, obs_id: int) -> str:
    return f"{AUTHORITY}?{collection}/{obs_id}"


class Release:
    """A GADF DL3 release whose index files have been read and checked."""

    def __init__(self, release_dir: Path, collection: str | None = None):
        release = Path(release_dir).resolve()
        if not release.is_dir():
            raise IngestError(f"{release_dir}: no such folder")
        self.path = release
        self.obs_path, self.hdu_path = index_file(release, "obs-index"), index_file(release, "hdu-index")
        self.obs_index, hdu_index = _read_table(self.obs_path), _read_table(self.hdu_path)
        for path, table, needed in ((self.obs_path, self.obs_index, ("OBS_ID", "RA_PNT", "DEC_PNT")),
                                    (self.hdu_path, hdu_index, ("OBS_ID", "HDU_TYPE", "FILE_NAME"))):
            missing = [c for c in needed if c not in table.colnames]
            if missing:
                raise IngestError(f"{path}: required column{'s' if len(missing) > 1 else ''} "
                                  f"{', '.join(missing)} missing")
        if len(self.obs_index) == 0:
            raise IngestError(f"{self.obs_path}: no observations listed")
        self.hdus = _hdus_by_obs(hdu_index, release, self.hdu_path)
        self.collection = collection or release_name(release)
        self.meta = {k.upper(): v for k, v in self.obs_index.meta.items() if not isinstance(v, list)}
        self.obs_ids: list[int] = []
        for row in self.obs_index:
            obs_id = int(row["OBS_ID"])
            if obs_id in self.obs_ids:
                raise IngestError(f"{self.obs_path}: OBS_ID {obs_id} is listed twice")
            self.obs_ids.append(obs_id)
            if "events" not in self.hdus.get(obs_id, {}):
                raise IngestError(f"{self.hdu_path}: no events HDU listed for OBS_ID {obs_id}")
            if "aeff" not in self.hdus[obs_id]:
                raise IngestError(f"{self.hdu_path}: no effective area (aeff) HDU listed for OBS_ID {obs_id}")

    def dids(self) -> dict[int, str]:
        return {obs_id: did(self.collection, obs_id) for obs_id in self.obs_ids}

    def rows(self, obs_ids: set[int] | None = None) -> list[dict]:
        """ObsCore rows (with the hidden columns, release_id excepted) of these observations (all by default)."""
        selected = [r for r in self.obs_index if obs_ids is None or int(r["OBS_ID"]) in obs_ids]
        with ThreadPoolExecutor(max_workers=2) as pool:  # zlib and file reads release the GIL
            return list(pool.map(lambda r: _observation(r, self.meta, self.hdus[int(r["OBS_ID"])],
                                                        self.collection, self.obs_path), selected))


def _hdus_by_obs(hdu_index: Table, release: Path, hdu_path: Path) -> dict[int, dict[str, tuple[Path, str]]]:
    out: dict[int, dict[str, tuple[Path, str]]] = {}
    for row in hdu_index:
        obs_id = int(row["OBS_ID"])
        kind = str(_value(row, "HDU_TYPE", "")).lower()
        # FILE_DIR may be absent, empty (astropy masks it) or "./": the index's own folder
        path = (release / str(_value(row, "FILE_DIR", ".")) / str(_value(row, "FILE_NAME", ""))).resolve()
        if not path.is_file():
            raise IngestError(f"{hdu_path}: OBS_ID {obs_id} {kind}: file {path} does not exist")
        if release not in path.parents:
            raise IngestError(f"{hdu_path}: OBS_ID {obs_id} {kind}: file {path} is outside the release folder")
        out.setdefault(obs_id, {})[kind] = (path, str(_value(row, "HDU_NAME", kind.upper())))
    return out


def _open_hdu(files: dict, kind: str, cache: dict, obs_id: int):
    if kind not in files:
        return None
    path, name = files[kind]
    where = f"{path}: OBS_ID {obs_id} {kind}"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if path not in cache:
            try:
                raw = path.read_bytes()
                if raw[:2] == b"\x1f\x8b":  # astropy seeks slowly in gzip files: inflate once in memory
                    raw = gzip.decompress(raw)
                cache[path] = fits.open(io.BytesIO(raw), memmap=False)
            except Exception as exc:  # noqa: BLE001
                raise IngestError(f"{where}: cannot be opened as FITS ({exc})") from None
        try:
            return cache[path][name]
        except (KeyError, IndexError):
            raise IngestError(f"{where}: the file has no HDU named {name}") from None
        except Exception as exc:  # noqa: BLE001 - a truncated or corrupt file
            raise IngestError(f"{where}: HDU {name} cannot be read ({exc})") from None


def _observation(row, meta: dict, files: dict, collection: str, obs_path: Path) -> dict:
    obs_id = int(row["OBS_ID"])
    cache: dict = {}
    try:
        return _summarise(row, meta, files, collection, obs_path, obs_id, cache)
    except IngestError:
        raise
    except Exception as exc:  # noqa: BLE001 - malformed content: say which observation
        raise IngestError(f"{files['events'][0]}: OBS_ID {obs_id} cannot be summarised ({exc})") from None
    finally:
        for hdul in cache.values():
            hdul.close()


def _summarise(row, meta, files, collection, obs_path, obs_id, cache) -> dict:
    events = _open_hdu(files, "events", cache, obs_id)
    head = events.header
    aeff_hdu = _open_hdu(files, "aeff", cache, obs_id)
    aeff = irf.aeff_summary(aeff_hdu)
    ra, dec = _value(row, "RA_PNT"), _value(row, "DEC_PNT")
    if ra is None or dec is None:
        raise IngestError(f"{obs_path}: OBS_ID {obs_id} has no pointing (RA_PNT, DEC_PNT)")
    if not (0 <= ra <= 360 and -90 <= dec <= 90):
        raise IngestError(f"{obs_path}: OBS_ID {obs_id} has pointing RA={ra}, Dec={dec} out of range")
    mjdref = _mjdref(meta, head)
    tstart = _value(row, "TSTART", head.get("TSTART"))
    tstop = _value(row, "TSTOP", head.get("TSTOP"))
    if tstart is None or tstop is None or mjdref is None:
        raise IngestError(f"{obs_path}: OBS_ID {obs_id} has no TSTART/TSTOP or MJDREF (obs-index nor events)")
    livetime = _value(row, "LIVETIME", head.get("LIVETIME"))
    ontime = _value(row, "ONTIME", head.get("ONTIME"))
    e_min, e_max = _energy_range(row, aeff)
    psf_hdu, rad_hdu, edisp_hdu = (_open_hdu(files, k, cache, obs_id) for k in ("psf", "rad_max", "edisp"))
    fov = fov_radius(events, ra, dec, (aeff_hdu, psf_hdu, rad_hdu, edisp_hdu))
    ra_obj, dec_obj = _object_position(row, head)
    offset = _value(row, "OFFSET_OBJ")
    if offset is None and ra_obj is not None:
        offset = sphere.distance(ra, dec, ra_obj, dec_obj)
    resolution, irf_type = _resolution(aeff, psf_hdu, rad_hdu, edisp_hdu, offset or irf.REFERENCE_OFFSET)
    target = _target(row, head)
    facility = str(head.get("TELESCOP") or meta.get("TELESCOP") or collection)
    did_ = did(collection, obs_id)
    size = sum(p.stat().st_size for p in {p for p, _ in files.values()})
    zenith = _value(row, "ZEN_PNT")
    if zenith is None:
        alt = _value(row, "ALT_PNT", head.get("ALT_PNT"))
        zenith = 90 - alt if alt is not None else aeff.get("zenith")
    return {
        "dataproduct_type": "event", "dataproduct_subtype": "gadf-dl3", "calib_level": 2,
        "obs_collection": collection, "obs_id": str(obs_id), "obs_publisher_did": did_,
        "publisher_id": AUTHORITY, "obs_title": f"{facility} observation {obs_id} of {target}",
        "access_format": DATALINK_FORMAT, "access_estsize": max(1, size // 1024),
        "target_name": target, "s_ra": ra, "s_dec": dec, "s_fov": 2 * fov,
        "s_region": sphere.Circle(ra, dec, fov).stcs(),
        "s_resolution": resolution * 3600 if resolution else None,
        "s_xel1": -1, "s_xel2": -1, "t_xel": -1, "em_xel": -1, "pol_xel": -1,
        "t_min": mjdref + float(tstart) / 86400, "t_max": mjdref + float(tstop) / 86400,
        "t_exptime": livetime, "livetime": livetime, "ontime": ontime,
        "em_min": HC_EV_M / (e_max * 1e12) if e_max else None,
        "em_max": HC_EV_M / (e_min * 1e12) if e_min else None,
        "energy_min": e_min, "energy_max": e_max,
        "em_res_power": irf.edisp_resolving_power(edisp_hdu) if edisp_hdu is not None else None,
        "em_ucd": "em.energy", "o_ucd": "phot.count",
        "facility_name": facility, "instrument_name": str(head.get("INSTRUME") or facility),
        "zenith": zenith, "target_offset": offset,
        "ev_xel": _value(row, "EVENT_COUNT", head.get("NAXIS2")), "n_tels": _value(row, "N_TELS", head.get("N_TELS")),
        "irf_type": irf_type, "obs_mode": head.get("OBS_MODE"), "tracking_mode": "sidereal",
        "messenger": "photon", "target_ra": ra_obj, "target_dec": dec_obj,
        "access_path": "/datalink?ID=" + quote(did_, safe=""), "obs_number": obs_id,
    }


def _energy_range(row, aeff: dict) -> tuple[float | None, float | None]:
    """The safe energy range (obs-index, else the effective area's LO/HI_THRES), within the IRFs' own
    energy range: thresholds that span the whole grid (VERITAS) give the grid's range."""
    e_min = _value(row, "SAFE_ENERGY_LO", aeff.get("safe_min"))
    e_max = _value(row, "SAFE_ENERGY_HI", aeff.get("safe_max"))
    lo, hi = aeff.get("e_min"), aeff.get("e_max")
    e_min = lo if e_min is None or (lo is not None and e_min < lo) else e_min
    e_max = hi if e_max is None or (hi is not None and e_max > hi) else e_max
    return e_min, e_max


def _resolution(aeff: dict, psf_hdu, rad_hdu, edisp_hdu, offset: float) -> tuple[float | None, str]:
    """(angular resolution in deg, IRF type): the point-like cut at 1 TeV (RAD_MAX_2D, else a fixed
    RAD_MAX keyword), or the PSF's 68% containment radius at 1 TeV for full-enclosure IRFs."""
    fixed = aeff.get("rad_max")
    if fixed is None and edisp_hdu is not None:
        fixed = irf.rad_max_keyword(edisp_hdu.header)
    if rad_hdu is not None:
        return irf.rad_max(rad_hdu, offset), "point-like"
    if aeff["irf_type"] == "point-like" or fixed is not None:
        return fixed, "point-like"
    return (irf.psf_r68(psf_hdu, offset) if psf_hdu is not None else None), "full-enclosure"


def _mjdref(meta: dict, head) -> float | None:
    for source in (meta, head):
        if source.get("MJDREFI") is not None:
            return float(source["MJDREFI"]) + float(source.get("MJDREFF") or 0)
        if source.get("MJDREF") is not None:
            return float(source["MJDREF"])
    return None


def _number(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):  # absent, undefined or not a number
        return None
    return value if math.isfinite(value) else None


def _object_position(row, head) -> tuple[float | None, float | None]:
    """The object's (RA, Dec): the obs-index's RA_OBJ/DEC_OBJ columns, else the EVENTS header's
    keywords; both coordinates from the same place, (None, None) when neither gives them."""
    for ra, dec in ((_value(row, "RA_OBJ"), _value(row, "DEC_OBJ")), (head.get("RA_OBJ"), head.get("DEC_OBJ"))):
        ra, dec = _number(ra), _number(dec)
        if ra is not None and dec is not None and -90 <= dec <= 90:
            return ra, dec
    return None, None


def _target(row, head) -> str:
    name = _value(row, "TARGET_NAME")
    if name and name.lower() not in ("off data", "off", "none"):
        return name
    return str(_value(row, "OBJECT", head.get("OBJECT") or "unknown"))
