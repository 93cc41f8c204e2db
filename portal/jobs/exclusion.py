"""Regions to keep out of background estimates: the target and the known gamma-ray sources around it.

Known sources come from the H.E.S.S. Galactic Plane Survey and gamma-cat catalogs in
``$GAMMAPY_DATA/catalogs`` (read with gammapy's catalog classes). Without them only the target is
excluded, and the log says so.

In a spectral analysis the target's own catalog counterparts (the sources inside the on region,
or whose extent covers the target) are the target: they are merged into its exclusion, one circle
around the target out to the on region or to the counterparts' own extent (separation plus
sigma), whichever reaches farther, plus the margin; not excluded again with larger circles of
their own (the margin plus twice their extent), which left no room for reflected regions around
a target such as MSH 15-52. Other sources keep theirs.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from gammapy.maps import WcsGeom, WcsNDMap
from regions import CircleSkyRegion

from portal.jobs.choices import ExclusionChoice

log = logging.getLogger(__name__)

# A source is excluded out to this margin (about three PSF widths of a Cherenkov telescope array)
# beyond its own extent (Gaussian sigma or shell radius, counted twice).
MARGIN = Angle(0.3, "deg")
CATALOG_FILES = {
    "hgps": "catalogs/hgps_catalog_v1.fits.gz",
    "gamma-cat": "catalogs/gammacat/gammacat.fits.gz",
}


@dataclass(frozen=True)
class ExcludedSource:
    name: str
    region: CircleSkyRegion
    catalog: str
    extent: Angle = Angle(0, "deg")  # Gaussian sigma or shell radius (0: point-like)

    def is_counterpart(self, target: SkyCoord, on_radius: Angle) -> bool:
        """Whether the source is the target itself: inside the on region, or its extent covers the target."""
        separation = self.region.center.separation(target)
        return bool(separation < Angle(on_radius) or separation < self.extent)


def catalog_files(gammapy_data: str | os.PathLike | None = None) -> dict[str, Path]:
    """The source catalogs present in ``gammapy_data`` (default ``$GAMMAPY_DATA``), by tag."""
    root = gammapy_data or os.environ.get("GAMMAPY_DATA")
    if not root:
        return {}
    found = {tag: Path(root) / rel for tag, rel in CATALOG_FILES.items()}
    return {tag: path for tag, path in found.items() if path.is_file()}


def _catalog_sources(tag: str, path: Path) -> tuple[list[str], SkyCoord, np.ndarray]:
    """Names, positions and extents (deg, 0 for point-like) of a catalog's sources (read once per
    version of the file: see :func:`warm_catalogs`). The caller must not change them."""
    stat = Path(path).stat()
    return _read_catalog(tag, str(path), stat.st_mtime_ns, stat.st_size)


def warm_catalogs(catalogs: dict[str, Path] | None = None) -> None:
    """Read the catalogs (default: those in ``$GAMMAPY_DATA``) into this process's cache.

    The job service's fork server does it before any job (:mod:`portal.jobs.preload`), so every
    job process starts with them instead of reading them again (about a second for HGPS and gamma-cat).
    """
    for tag, path in (catalog_files() if catalogs is None else catalogs).items():
        _catalog_sources(tag, path)


@functools.lru_cache(maxsize=8)
def _read_catalog(tag: str, path: str, _mtime_ns: int, _size: int) -> tuple[list[str], SkyCoord, np.ndarray]:
    from gammapy.catalog import SourceCatalogGammaCat, SourceCatalogHGPS

    if tag == "hgps":
        catalog = SourceCatalogHGPS(path)
        names = [str(n) for n in catalog.table["Source_Name"]]
        size = catalog.table["Size"]
    else:
        catalog = SourceCatalogGammaCat(path)
        names = [str(n) for n in catalog.table["common_name"]]
        size = catalog.table["morph_sigma"]
    extent = np.ma.filled(np.ma.masked_invalid(u.Quantity(size).to_value("deg")), 0.0)
    return names, catalog.positions.icrs, np.asarray(extent, dtype=float)


def known_sources(center: SkyCoord, radius: Angle, catalogs: dict[str, Path]) -> list[ExcludedSource]:
    """Catalog sources within ``radius`` of ``center``, each with its exclusion circle."""
    sources = []
    for tag, path in catalogs.items():
        names, positions, extent = _catalog_sources(tag, path)
        near = np.flatnonzero(positions.separation(center) < Angle(radius))
        for i in near:
            circle = CircleSkyRegion(positions[i], MARGIN + 2 * extent[i] * u.deg)
            sources.append(ExcludedSource(names[i], circle, tag, Angle(extent[i], "deg")))
    return sources


def _names(sources: list[ExcludedSource]) -> str:
    return ", ".join(sorted({f"{s.name} ({s.catalog})" for s in sources})) or "none"


def exclusion_regions(
    target: SkyCoord, on_radius: Angle | u.Quantity, search_radius: Angle | u.Quantity, catalogs: dict[str, Path],
    log: logging.Logger = log, merge_counterparts: bool = True,
) -> list[CircleSkyRegion]:
    """The target's circle (on region plus margin) and the known sources within ``search_radius``.

    With ``merge_counterparts`` (spectra) the target's own counterparts get no circle of their own
    (see the module docstring); without (maps) every source keeps its circle.
    """
    target_radius = Angle(on_radius)
    if not catalogs:
        log.warning("No source catalog found ($GAMMAPY_DATA/catalogs): only the target is excluded "
                    "from the background estimate.")
        return [CircleSkyRegion(target, target_radius + MARGIN)]
    sources = known_sources(target, Angle(search_radius), catalogs)
    merged = [s for s in sources if merge_counterparts and s.is_counterpart(target, Angle(on_radius))]
    others = [s for s in sources if s not in merged]
    for source in merged:
        target_radius = max(target_radius, source.region.center.separation(target) + source.extent)
    regions = [CircleSkyRegion(target, target_radius + MARGIN)]
    counterparts = f" (the target's own counterparts, merged into it: {_names(merged)})" if merged else ""
    log.info("Excluded from the background: the target within %.2f deg%s, and %d other catalog source(s) within "
             "%.1f deg: %s", regions[0].radius.to_value("deg"), counterparts, len(others), Angle(search_radius).deg,
             _names(others))
    return regions + [s.region for s in others]


def chosen_regions(choice: ExclusionChoice, target: SkyCoord, on_radius: Angle | u.Quantity,
                   search_radius: Angle | u.Quantity, catalogs: dict[str, Path], log: logging.Logger = log,
                   ) -> list[CircleSkyRegion] | None:
    """The regions the user's ``exclusion`` choice keeps out of the background (None: nothing)."""
    if choice.kind == "none":
        log.info("Excluded from the background: nothing (exclusion=none; the reflected regions never overlap the "
                 "on region)")
        return None
    if choice.kind == "circles":
        log.info("Excluded from the background: the %d circle(s) given (exclusion): %s", len(choice.circles),
                 choice.describe())
        return [CircleSkyRegion(SkyCoord(c.ra, c.dec, unit="deg", frame="icrs"), Angle(c.radius, "deg"))
                for c in choice.circles]
    return exclusion_regions(target, on_radius, search_radius, catalogs, log=log)


def exclusion_mask(center: SkyCoord, width: Angle | u.Quantity, regions: list[CircleSkyRegion],
                   binsz: float = 0.02) -> WcsNDMap:
    """A boolean map around ``center``: True where the background may be measured."""
    geom = WcsGeom.create(skydir=center, width=Angle(width).deg, binsz=binsz, frame="icrs", proj="TAN")
    return ~geom.region_mask(regions)
