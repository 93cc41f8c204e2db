"""PNG previews of job results, drawn with matplotlib's Agg canvas (no display, no pyplot state)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from gammapy.estimators import FluxPoints
from gammapy.maps import WcsNDMap
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def _save(fig: Figure, path: Path) -> Path:
    FigureCanvasAgg(fig)
    tmp = path.with_name(f".{path.stem}.tmp{path.suffix}")
    fig.savefig(tmp, dpi=100, bbox_inches="tight")
    tmp.replace(path)
    return path


def save_lightcurve_png(lightcurve: FluxPoints, path: Path, title: str = "") -> Path:
    fig = Figure(figsize=(8, 4.5))
    ax = fig.add_subplot()
    lightcurve.plot(ax=ax, sed_type="flux", axis_name="time", marker="o")
    ax.set_yscale("linear")
    ax.set_title(title, fontsize=10)
    return _save(fig, path)


def save_maps_png(maps: dict[str, WcsNDMap], path: Path, title: str = "") -> Path:
    """The maps side by side, each with its colour bar, in the sky projection of the first."""
    fig = Figure(figsize=(5 * len(maps), 4.6))
    for i, (name, image) in enumerate(maps.items(), start=1):
        ax = fig.add_subplot(1, len(maps), i, projection=image.geom.wcs)
        finite = image.data[np.isfinite(image.data)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 1.0)
        image.plot(ax=ax, stretch="linear", cmap="viridis" if name == "counts" else "inferno", vmin=low, vmax=high)
        fig.colorbar(ax.images[-1], ax=ax, shrink=0.85)
        ax.set_title(name)
    if title:
        fig.suptitle(title, fontsize=10)
    return _save(fig, path)
