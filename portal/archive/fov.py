"""The field of view of an observation for ObsCore (``s_fov``, ``s_region``): where its events and its
IRFs are valid together.

The IRFs' offset axes alone mislead: an effective area tabulated at 0 and 10 deg does not make a
10 deg camera. The events say how far from the pointing the camera saw (their largest offset), and
the IRFs say how far an analysis can go (the smallest upper end of the offset axes of the effective
area, PSF, energy dispersion and RAD_MAX). The radius is the smaller of the two. H.E.S.S. DR1 keeps
mis-reconstructed events tens of degrees away, so there the IRFs bound it (2.5 deg); MAGIC's IRFs
cover one ring at 0.4 deg, which bounds it too; the simulated CTAO runs have IRFs to 6 deg and
events to 3 deg, which the events bound.
"""

from __future__ import annotations

import math

import numpy as np

from portal.archive import irf

DEFAULT_RADIUS = 2.5  # deg: neither events with positions nor IRFs with an offset axis
DECIMALS = 2  # the events' largest offset is rounded to a hundredth of a degree (float32 positions)


def _positions(events_hdu) -> tuple[np.ndarray, np.ndarray] | None:
    """The events' RA and DEC (deg), None when the table has no such columns."""
    names = [c.upper() for c in events_hdu.columns.names]
    if "RA" not in names or "DEC" not in names:
        return None
    data = events_hdu.data
    return np.asarray(data.field("RA"), dtype=float), np.asarray(data.field("DEC"), dtype=float)


def events_max_offset(events_hdu, ra: float, dec: float) -> float | None:
    """The largest angular distance (deg) of the events from the pointing ``ra``, ``dec``, rounded
    to a hundredth of a degree; None without events or positions."""
    if not int(events_hdu.header.get("NAXIS2", 0)):
        return None
    positions = _positions(events_hdu)
    if positions is None:
        return None
    ra_e, dec_e = np.radians(positions[0]), np.radians(positions[1])
    ra0, dec0 = math.radians(ra), math.radians(dec)
    # the farthest event has the smallest cosine of its distance
    cosine = math.sin(dec0) * np.sin(dec_e) + math.cos(dec0) * np.cos(dec_e) * np.cos(ra_e - ra0)
    cosine = cosine[np.isfinite(cosine)]
    if cosine.size == 0:
        return None
    largest = math.degrees(math.acos(min(1.0, max(-1.0, float(cosine.min())))))
    return round(largest, DECIMALS)  # 1.75, not 1.7500004 (float32) nor 1.76


def irf_offset_limit(hdus) -> float | None:
    """The largest offset (deg) up to which every IRF HDU given (None skipped) is tabulated: the
    smallest upper end of their offset axes. An axis ending at 0 (one node on axis) bounds nothing."""
    ends = [r[1] for r in (irf.offset_range(h) for h in hdus if h is not None) if r is not None and r[1] > 0]
    return min(ends) if ends else None


def fov_radius(events_hdu, ra: float, dec: float, irf_hdus) -> float:
    """The radius (deg) of the field of view: the events' largest offset from the pointing, bounded by
    the IRFs' offset range; either alone when the other is unknown; else :data:`DEFAULT_RADIUS`."""
    events = events_max_offset(events_hdu, ra, dec)
    known = [v for v in (events, irf_offset_limit(irf_hdus)) if v is not None]
    return min(known) if known else DEFAULT_RADIUS
