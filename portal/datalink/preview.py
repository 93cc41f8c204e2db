"""Counts-map previews (PNG) of observations: events binned around the pointing, target marked.

matplotlib (a bare Figure: no pyplot, no backend switch) and astropy only, imported when a preview is first
drawn; PNGs are cached.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
from pathlib import Path

from portal.datalink.lookup import Observation

PNG = "image/png"


class PreviewMaker:
    def __init__(self, cache_dir: Path):
        self.cache_dir = Path(cache_dir)
        self._lock = threading.Lock()

    def cached(self, obs: Observation) -> Path:
        stat = obs.events.path.stat()
        key = hashlib.sha256(f"{obs.events.path}\0{obs.obs_id}\0{stat.st_mtime_ns}".encode()).hexdigest()[:24]
        return self.cache_dir / f"{key}.png"

    def path(self, obs: Observation) -> Path:
        """The PNG preview of ``obs`` (drawn on first use)."""
        out = self.cached(obs)
        if out.is_file():
            return out
        with self._lock:  # one drawing of a preview at a time
            if not out.is_file():
                png = counts_map_png(obs)
                out.parent.mkdir(parents=True, exist_ok=True)
                tmp = out.with_name(f".{out.name}.{os.getpid()}")
                tmp.write_bytes(png)
                tmp.replace(out)
        return out


def counts_map_png(obs: Observation, binsz: float = 0.04) -> bytes:
    """A counts map of the observation's events in a tangent projection centred on the pointing."""
    import numpy as np
    from astropy.io import fits
    from astropy.wcs import WCS
    from matplotlib.figure import Figure

    events = obs.events
    with fits.open(events.path, memmap=False) as hdul:
        data = hdul[events.hdu_name].data
        ra, dec, energy = (np.asarray(data[c], dtype=float) for c in ("RA", "DEC", "ENERGY"))
    # the field the events really cover (a few stray events far out do not count), with the target in it:
    # the IRFs' extent may be much smaller (MAGIC's point-like IRFs cover 0.39 to 0.41 deg only)
    radius = float(np.percentile(_offset(obs.ra, obs.dec, ra, dec), 99.5)) + 0.1 if ra.size else 2.0
    if obs.target_ra is not None and obs.target_dec is not None:
        radius = max(radius, float(_offset(obs.ra, obs.dec, obs.target_ra, obs.target_dec)) + 0.2)
    radius = min(radius, 6.0)
    npix = int(np.ceil(2 * radius / binsz))
    wcs = WCS(naxis=2)
    wcs.wcs.ctype = ["RA---TAN", "DEC--TAN"]
    wcs.wcs.crval = [obs.ra, obs.dec]
    wcs.wcs.cdelt = [-binsz, binsz]
    wcs.wcs.crpix = [npix / 2 + 0.5, npix / 2 + 0.5]
    x, y = wcs.world_to_pixel_values(ra, dec)
    counts, _, _ = np.histogram2d(y, x, bins=npix, range=[[-0.5, npix - 0.5], [-0.5, npix - 0.5]])

    fig = Figure(figsize=(5.2, 4.6), dpi=100)
    ax = fig.add_subplot(projection=wcs)
    image = ax.imshow(np.sqrt(counts), origin="lower", cmap="inferno", interpolation="nearest")
    fig.colorbar(image, ax=ax, label="sqrt(counts)", fraction=0.046, pad=0.04)
    if obs.fov_radius and obs.fov_radius < radius:
        from matplotlib.patches import Circle

        centre = (npix - 1) / 2
        ax.add_patch(Circle((centre, centre), obs.fov_radius / binsz, fill=False, ls="--", lw=0.8, color="white",
                            label=f"field of view, s_fov/2 ({obs.fov_radius:.2f} deg)"))
    if obs.target_ra is not None and obs.target_dec is not None:
        tx, ty = wcs.world_to_pixel_values(obs.target_ra, obs.target_dec)
        ax.plot(tx, ty, marker="o", fillstyle="none", color="cyan", markersize=16, mew=1.2,
                label=obs.target_name or "target")
    if ax.get_legend_handles_labels()[0]:
        ax.legend(loc="upper right", fontsize=8)
    ax.coords[0].set_format_unit("deg", decimal=True)
    ax.coords[1].set_format_unit("deg", decimal=True)
    ax.coords[0].set_axislabel("RA (ICRS)")
    ax.coords[1].set_axislabel("Dec (ICRS)")
    e_lo = float(np.nanmin(energy)) if energy.size else float("nan")
    ax.set_title(f"{obs.collection} obs {obs.obs_id}: {obs.target_name or ''}\n"
                 f"{ra.size} events above {e_lo:.2g} TeV, {binsz} deg pixels", fontsize=9)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png")
    return buffer.getvalue()


def _offset(ra0, dec0, ra, dec):
    import numpy as np

    r0, d0, r, d = map(np.radians, (ra0, dec0, ra, dec))
    cos = np.sin(d0) * np.sin(d) + np.cos(d0) * np.cos(d) * np.cos(r - r0)
    return np.degrees(np.arccos(np.clip(cos, -1, 1)))
