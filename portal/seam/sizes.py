"""How large a source is on the sky, as a catalog says: what the resolver answers and the widgets read
(:mod:`portal.catalogs.extent` reads it from the catalogs)."""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

__all__ = ["SourceSize"]


@dataclass(frozen=True)
class SourceSize:
    """How large a source is on the sky, as one catalog says."""

    radius: float  # degrees: a Gaussian's sigma, else the outer radius of the disk, shell, ring or map
    model: str  # "gaussian", "disk", "shell", "ring" or "map"
    catalog: str  # tag
    label: str  # short catalog name for people ("HGPS")
    source: str  # the catalog's name for the source
    column: str  # where the radius was read ("Size", "morph_sigma", ...)
    region: float | None = None  # degrees: the catalog's own spectrum region, when it gives one (HGPS RSpec)

    def to_json(self) -> dict:
        return asdict(self)

    @classmethod
    def from_json(cls, data) -> "SourceSize | None":
        """The size a resolver answered, or None when there is none or it is not understood."""
        if not isinstance(data, dict):
            return None
        try:
            radius = float(data["radius"])
            region = data.get("region")
            region = float(region) if region is not None else None
        except (KeyError, TypeError, ValueError):
            return None
        if not math.isfinite(radius) or radius <= 0:
            return None
        return cls(radius, str(data.get("model", "gaussian")), str(data.get("catalog", "")),
                   str(data.get("label", data.get("catalog", ""))), str(data.get("source", "")),
                   str(data.get("column", "")), region)

    def describe(self) -> str:
        """``HGPS: Gaussian sigma 0.145 deg (Size of HESS J1514-591)``."""
        what = "Gaussian sigma" if self.model == "gaussian" else f"{self.model} radius"
        text = f"{self.label}: {what} {self.radius:.3g} deg ({self.column} of {self.source})"
        if self.region is not None:
            text += f", spectrum region {self.region:.3g} deg"
        return text
