"""Build the coverage MOC from the archive's footprints (ObsCore ``s_region``, STC-S)."""

from __future__ import annotations

import io
import json
import logging
import sqlite3
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from portal.archive import reads
from portal.archive.sphere import Circle, GeometryError, Polygon, parse

log = logging.getLogger("portal.coverage")


@dataclass(frozen=True)
class Coverage:
    moc: object  # mocpy.MOC
    order: int  # HEALPix order of the finest cells
    n_regions: int
    seconds: float  # build time

    _encoded: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def sky_fraction(self) -> float:
        return float(self.moc.sky_fraction) if self.n_regions else 0.0

    def encoded(self, kind: str) -> bytes:
        """The MOC as JSON (``{"order": [cells]}``, ``{}`` when empty) or FITS bytes, made once."""
        if kind not in self._encoded:
            if kind == "json":
                body = json.dumps(self.moc.serialize("json") if self.n_regions else {}).encode()
            else:
                buffer = io.BytesIO()
                self.moc.serialize("fits").writeto(buffer)
                body = buffer.getvalue()
            self._encoded[kind] = body
        return self._encoded[kind]


def order_for(n: int) -> int:
    """Finest HEALPix order worth computing for ``n`` footprints (3.4' cells for a small archive).

    The cost grows as n x 4^order; a large archive covers the sky in coarser cells anyway.
    """
    for limit, order in ((2_000, 10), (20_000, 8), (200_000, 6)):
        if n <= limit:
            return order
    return 5


def footprint(region: str) -> Circle | Polygon | None:
    """The footprint an s_region describes, read by the archive's own STC-S parser (BOX comes
    back as a polygon); None for anything else (a point, another frame, a malformed region)."""
    try:
        shape = parse(region)
    except GeometryError:
        return None
    return shape if isinstance(shape, Circle | Polygon) else None


def build_coverage(regions: list[str], order: int | None = None) -> Coverage:
    """The union of the footprints as a MOC."""
    import astropy.units as u
    from mocpy import MOC

    started = time.perf_counter()
    order = order if order is not None else order_for(len(regions))
    circles, polygons, skipped = [], [], 0
    for region in regions:
        shape = footprint(region)
        if shape is None:
            skipped += 1
        elif isinstance(shape, Circle):
            circles.append((shape.ra, shape.dec, shape.radius))
        else:
            polygons.append(shape.vertices)
    if skipped:
        log.warning("coverage: %d footprints are neither ICRS CIRCLE, POLYGON nor BOX and are left out", skipped)
    moc = MOC.new_empty(order)
    if circles:
        c = np.array(circles, dtype=float)
        moc = moc.union(MOC.from_cones(lon=c[:, 0] * u.deg, lat=c[:, 1] * u.deg, radius=c[:, 2] * u.deg,
                                       max_depth=order, union_strategy="small_cones", delta_depth=2))
    for vertices in polygons:
        v = np.array(vertices, dtype=float)
        from astropy.coordinates import SkyCoord

        moc = moc.union(MOC.from_polygon_skycoord(SkyCoord(v[:, 0], v[:, 1], unit="deg"), max_depth=order))
    return Coverage(moc, order, len(circles) + len(polygons), time.perf_counter() - started)


class CoverageService:
    """The archive's coverage, rebuilt when the archive's content changes (cached otherwise)."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self._lock = threading.Lock()
        self._cached: tuple[tuple, Coverage] | None = None

    def _read(self, read, empty):
        try:
            return read(self.db_path)
        except sqlite3.OperationalError:
            return empty  # no archive table yet

    def coverage(self) -> Coverage:
        fingerprint = self._read(reads.content_version, (0, None))
        with self._lock:  # one build at a time; concurrent callers wait for it
            if self._cached and self._cached[0] == fingerprint:
                return self._cached[1]
            coverage = build_coverage(self._read(reads.footprints, []))
            log.info("coverage MOC of %d footprints at order %d: %.4f of the sky, built in %.2f s",
                     coverage.n_regions, coverage.order, coverage.sky_fraction, coverage.seconds)
            self._cached = (fingerprint, coverage)
            return coverage
