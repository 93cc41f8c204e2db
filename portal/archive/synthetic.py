"""Synthetic ObsCore rows for scale tests: random sky positions, IACT-like runs (no files).

Generated column by column with numpy (a million rows take seconds to build), with the R*Tree
boxes computed the same way, vectorised.
"""

from __future__ import annotations

from urllib.parse import quote

import numpy as np

from portal.archive.gadf import AUTHORITY, DATALINK_FORMAT, HC_EV_M

TARGETS = ("Crab Nebula", "PKS 2155-304", "MSH 15-52", "RX J1713.7-3946", "Vela X", "HESS J1825-137",
           "Galactic Centre", "M 87", "Mrk 421", "Mrk 501", "1ES 0229+200", "PKS 1510-089", "Cas A",
           "W 28", "Westerlund 1", "Empty field")


def _boxes(xyz: np.ndarray, radius: np.ndarray) -> list[tuple]:
    """(x0, x1, y0, y1, z0, z1) of caps of ``radius`` (rad) about unit vectors ``xyz`` (n, 3)."""
    theta = np.arccos(np.clip(xyz, -1, 1))
    r = radius[:, None]
    lo = np.cos(np.minimum(theta + r, np.pi)) - 1e-9
    hi = np.cos(np.maximum(theta - r, 0)) + 1e-9
    out = np.empty((len(xyz), 6))
    out[:, 0::2], out[:, 1::2] = lo, hi
    return [tuple(row) for row in out.tolist()]


def synthetic_columns(first: int, n: int, seed: int | None = None):
    """Columns (name -> list) of ``n`` rows numbered from ``first``, and their position and region boxes."""
    rng = np.random.default_rng(None if seed is None else [seed, first])
    ra = rng.uniform(0, 360, n)
    dec = np.degrees(np.arcsin(rng.uniform(-1, 1, n)))
    t_min = rng.uniform(53000, 60600, n)
    duration = rng.uniform(1200, 1800, n)
    live = duration * rng.uniform(0.85, 0.95, n)
    zenith = np.degrees(np.arccos(rng.uniform(np.cos(np.radians(65)), 1, n)))
    e_min = 0.1 * np.cos(np.radians(zenith)) ** -2.7 * rng.uniform(0.8, 1.2, n)
    fov = np.where(rng.uniform(0, 1, n) < 0.7, 2.5, 3.0)
    events = rng.integers(500, 30000, n)
    numbers = list(range(first, first + n))
    dids = [f"{AUTHORITY}?synthetic/{k}" for k in numbers]
    ra_l, dec_l, fov_l = ra.tolist(), dec.tolist(), fov.tolist()
    const = {
        "dataproduct_type": "event", "dataproduct_subtype": "gadf-dl3", "calib_level": 2,
        "obs_collection": "synthetic", "publisher_id": AUTHORITY, "access_format": DATALINK_FORMAT,
        "s_resolution": 360.0, "s_xel1": -1, "s_xel2": -1, "t_xel": -1, "em_xel": -1, "pol_xel": -1,
        "energy_max": 100.0, "em_min": HC_EV_M / 100e12, "em_res_power": 8.0, "em_ucd": "em.energy",
        "o_ucd": "phot.count", "facility_name": "SYNTH", "instrument_name": "synthetic IACT array",
        "irf_type": "full-enclosure", "obs_mode": "WOBBLE", "tracking_mode": "sidereal", "messenger": "photon",
    }
    columns = {name: [value] * n for name, value in const.items()}
    columns.update({
        "obs_id": [str(k) for k in numbers], "obs_publisher_did": dids, "obs_number": numbers,
        "obs_title": [f"synthetic run {k}" for k in numbers],
        "access_path": ["/datalink?ID=" + quote(d, safe="") for d in dids],
        "access_estsize": (events * 28 // 1024 + 900).tolist(),
        "target_name": [TARGETS[i] for i in rng.integers(0, len(TARGETS), n)],
        "s_ra": ra_l, "s_dec": dec_l, "s_fov": (2 * fov).tolist(),
        "s_region": [f"CIRCLE ICRS {r!r} {d!r} {f!r}" for r, d, f in zip(ra_l, dec_l, fov_l)],
        "t_min": t_min.tolist(), "t_max": (t_min + duration / 86400).tolist(),
        "t_exptime": live.tolist(), "livetime": live.tolist(), "ontime": duration.tolist(),
        "energy_min": e_min.tolist(), "em_max": (HC_EV_M / (e_min * 1e12)).tolist(),
        "zenith": zenith.tolist(), "target_offset": rng.choice([0.5, 0.7, 1.0, 1.5], n).tolist(),
        "ev_xel": events.tolist(), "n_tels": rng.integers(3, 5, n).tolist(),
    })
    a, d = np.radians(ra), np.radians(dec)
    xyz = np.stack([np.cos(d) * np.cos(a), np.cos(d) * np.sin(a), np.sin(d)], axis=1)
    return columns, _boxes(xyz, np.zeros(n)), _boxes(xyz, np.radians(fov))
