"""ObsCore rows for a job's products: what publishing puts into ``ivoa.obscore``.

A product is a result of a completed job that stands on its own in an archive:

=================== ================= ==============================================
result              dataproduct_type  made by
=================== ================= ==============================================
``flux_points``     ``sed``           spectrum, joint_spectrum (gadf SED)
``lightcurve``      ``timeseries``    lightcurve (gadf light curve)
``significance``,   ``image``         skymap (WCS maps)
``excess``,
``counts``
=================== ================= ==============================================

Each row has ``calib_level`` 4, the target (name and class from the observations, position from the
job's ``ra``/``dec``), an ``s_region`` (the on region, or the map's square), the energy range of the job
(``e_min``/``e_max``), ``t_min``/``t_max`` and the exposure of the observations it used, and an
``access_url`` to its DataLink document (``/datalink/products``: files, provenance, progenitors).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from urllib.parse import quote

from portal.archive.gadf import AUTHORITY

__all__ = ["KINDS", "COLLECTION", "Job", "product_did", "product_rows"]

COLLECTION = "portal-products"
DATALINK = "application/x-votable+xml;content=datalink"
HC_TEV_M = 1.23984198e-18  # h c in TeV m: a photon of E TeV has the wavelength HC_TEV_M / E metres
# result id -> (dataproduct_type, dataproduct_subtype, what it is)
KINDS = {
    "flux_points": ("sed", "gadf-sed", "flux points"),
    "lightcurve": ("timeseries", "gadf-lightcurve", "light curve"),
    "significance": ("image", "significance-map", "significance map"),
    "excess": ("image", "excess-map", "excess map"),
    "counts": ("image", "counts-map", "counts map"),
}


@dataclass(frozen=True)
class Job:
    """What a product row is made of: the job and the observations its provenance says it used."""

    job_id: str
    job_list: str
    parameters: dict[str, str]
    results: tuple[dict, ...]  # {"id", "path", "mime_type", "size"}
    observations: tuple[dict, ...]  # ObsCore rows (dicts) of the observations used


def product_did(job_id: str, result_id: str) -> str:
    return f"{AUTHORITY}?{COLLECTION}/{job_id}/{result_id}"


def _float(params: dict[str, str], name: str) -> float | None:
    try:
        return float(params[name])
    except (KeyError, TypeError, ValueError):
        return None


def _region(job: Job, ra: float, dec: float) -> tuple[str, float]:
    """(STC-S region, diameter in degrees): the map's square, else the on region."""
    width = _float(job.parameters, "width")
    if width is not None:
        half = width / 2
        dx = half / max(math.cos(math.radians(dec)), 1e-6)
        lo, hi = max(dec - half, -90.0), min(dec + half, 90.0)
        corners = [((ra - dx) % 360, lo), ((ra + dx) % 360, lo), ((ra + dx) % 360, hi), ((ra - dx) % 360, hi)]
        return "POLYGON ICRS " + " ".join(f"{a:.6f} {b:.6f}" for a, b in corners), width
    radius = _float(job.parameters, "on_radius") or 0.11
    return f"CIRCLE ICRS {ra:.6f} {dec:.6f} {radius:g}", 2 * radius


def _common(values) -> str | None:
    values = [v for v in values if v]
    return max(set(values), key=values.count) if values else None


def product_rows(job: Job, position: tuple[float, float] | None) -> list[dict]:
    """The ObsCore rows of ``job``'s products (empty when it made none). ``position``: (ra, dec) of the
    target, when the job's parameters do not give it (a joint fit: its spectrum jobs' target)."""
    ra, dec = _float(job.parameters, "ra"), _float(job.parameters, "dec")
    if ra is None or dec is None:
        if position is None:
            return []
        ra, dec = position
    obs = job.observations
    region, fov = _region(job, ra, dec)
    e_min, e_max = _float(job.parameters, "e_min"), _float(job.parameters, "e_max")
    target = _common(o.get("target_name") for o in obs) or f"({ra:.3f}, {dec:.3f})"
    t_min = min((o["t_min"] for o in obs if o.get("t_min") is not None), default=None)
    t_max = max((o["t_max"] for o in obs if o.get("t_max") is not None), default=None)
    livetime = sum(o.get("livetime") or 0.0 for o in obs) or None
    runs = ", ".join(sorted({f"{o['obs_collection']}/{o['obs_id']}" for o in obs})) or "no archive observation"
    rows = []
    for result in job.results:
        kind = KINDS.get(result["id"])
        if kind is None:
            continue
        dptype, subtype, what = kind
        did = product_did(job.job_id, result["id"])
        rows.append({
            "dataproduct_type": dptype, "dataproduct_subtype": subtype, "calib_level": 4,
            "obs_collection": COLLECTION, "obs_id": f"{job.job_id}/{result['id']}", "obs_publisher_did": did,
            "publisher_id": AUTHORITY,
            "obs_title": f"{what.capitalize()} of {target} ({job.job_list} job {job.job_id}; {runs})"[:500],
            "access_path": "/datalink/products?ID=" + quote(did, safe=""), "access_format": DATALINK,
            "access_estsize": max(1, int(result.get("size") or 0) // 1024),
            "target_name": target, "target_class": _common(o.get("target_class") for o in obs),
            "s_ra": ra, "s_dec": dec, "s_fov": fov, "s_region": region, "target_ra": ra, "target_dec": dec,
            "t_min": t_min, "t_max": t_max, "t_exptime": livetime, "livetime": livetime,
            "energy_min": e_min, "energy_max": e_max,
            "em_min": HC_TEV_M / e_max if e_max else None, "em_max": HC_TEV_M / e_min if e_min else None,
            "em_ucd": "em.energy", "o_ucd": "phot.flux.density" if dptype != "image" else "phot.count",
            "facility_name": _common(o.get("facility_name") for o in obs),
            "instrument_name": _common(o.get("instrument_name") for o in obs),
            "messenger": _common(o.get("messenger") for o in obs) or "photon",
        })
    return rows
