"""The size of a `skymap` job's maps, bounded when its parameters are checked (no science stack here).

A map dataset holds several arrays of pixels x energy bins (counts, exposure, background, the safe
mask, the stacked copy and each observation's cut-out): a 10 deg map of 0.005 deg pixels from 0.05
to 300 TeV (2,000 x 2,000 pixels in 19 bins, 76 million cells) took a job process to 2.3 GB. The
map is refused before the job exists when it would have more than :data:`MAX_PIXELS_PER_AXIS`
pixels across or more than :data:`MAX_CELLS` cells, with a sentence saying how to get under the
limit; the job process's own memory limit (``PORTAL_JOB_MEMORY_LIMIT``) is the last resort.

Measured with the four Crab runs of H.E.S.S. DR1 (peak RSS of the process making the maps; 191 MiB before):
at the bound, 325 x 325 pixels in 19 bins took 761 MiB and 1,000 x 1,000 in 2 bins 460 MiB; the defaults
(200 x 200 in 12 bins) 324 MiB. Fine pixels cost more per cell than coarse ones (each observation's
cut-out covers the whole map), so the bound is set by the worst case.
"""

from __future__ import annotations

import math
from typing import Any

from portal.uws.params import ParameterError

ENERGY_BINS_PER_DECADE = 5  # the maps' energy axis (portal.jobs.skymap.map_geom uses the same)
MAX_PIXELS_PER_AXIS = 1000  # 10 deg of 0.01 deg pixels
MAX_CELLS = 2_000_000  # pixels x energy bins: 1,000 x 1,000 pixels in 2 bins, 316 x 316 in 20

__all__ = ["ENERGY_BINS_PER_DECADE", "MAX_CELLS", "MAX_PIXELS_PER_AXIS", "check_skymap", "energy_bins",
           "pixels_across"]


def energy_bins(e_min: float, e_max: float) -> int:
    """How many energy bins the maps have between ``e_min`` and ``e_max`` (TeV)."""
    if not 0 < e_min < e_max:
        return 1
    return max(1, math.ceil(math.log10(e_max / e_min) * ENERGY_BINS_PER_DECADE))


def pixels_across(width: float, binsz: float) -> int:
    """Pixels along each axis of a ``width`` deg map of ``binsz`` deg pixels (as gammapy's WcsGeom rounds)."""
    return max(1, round(width / binsz))


def check_skymap(params: dict[str, Any]) -> None:
    """Raise :class:`ParameterError` (a 400 with this sentence) for a map beyond the size limits."""
    width, binsz, e_min, e_max = (float(params[k]) for k in ("width", "binsz", "e_min", "e_max"))
    if not 0 < e_min < e_max:
        raise ParameterError(f"The energy range must have e_min < e_max (got {e_min:g} to {e_max:g} TeV).")
    across, bins = pixels_across(width, binsz), energy_bins(e_min, e_max)
    cells = across * across * bins
    if across <= MAX_PIXELS_PER_AXIS and cells <= MAX_CELLS:
        return
    fits_across = min(MAX_PIXELS_PER_AXIS, math.isqrt(MAX_CELLS // bins))
    min_binsz = math.ceil(width / fits_across * 1e4) / 1e4
    max_width = math.floor(fits_across * binsz * 100) / 100
    size = (f"The map would have {across:,} x {across:,} pixels ({width:g} deg of {binsz:g} deg pixels) in "
            f"{bins} energy bins ({e_min:g} to {e_max:g} TeV), {cells:,} cells in all")
    limit = (f"the limit is {MAX_PIXELS_PER_AXIS:,} pixels across and {MAX_CELLS:,} cells "
             f"(pixels x energy bins), so that the job fits in memory")
    ways = [f"larger pixels (binsz {min_binsz:g} deg or more at this width)"]
    if max_width >= 0.2:
        ways.append(f"a narrower map (width {max_width:g} deg or less with these pixels)")
    if bins > 1:
        ways.append("a narrower energy range (fewer bins: 5 per decade)")
    raise ParameterError(f"{size}: {limit}. Choose {', or '.join(ways)}.")
