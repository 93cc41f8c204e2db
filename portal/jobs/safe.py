"""The safe energy range of each observation, as the user chose it (gammapy's SafeMaskMaker methods).

- ``auto`` (default): the instrument's own thresholds when its effective area carries them
  (LO_THRES/HI_THRES, as in H.E.S.S. DR1), else where the effective area exceeds ``aeff_percent``
  of its maximum (:func:`portal.jobs.observations.safe_mask_maker`);
- ``thresholds``: the instrument's thresholds (``aeff-default``); IRFs without them are refused;
- ``aeff-max``, ``edisp-bias`` (above the energy where the bias is below ``bias_percent``), or both;
- ``fixed``: every reconstructed bin wholly above ``e_threshold`` (TeV), the same for every
  observation, for instruments whose IRFs carry no thresholds (the joint-crab paper: FACT from 0.4 TeV);
- ``offset_max`` adds ``offset-max``: an observation pointed farther from the target gets no safe
  energy at all (and is left out, saying so).
"""

from __future__ import annotations

from dataclasses import dataclass

from astropy.coordinates import Angle
import astropy.units as u
from gammapy.data import Observation
from gammapy.makers import SafeMaskMaker

from portal.jobs.observations import safe_mask_maker
from portal.uws.definitions import UsageError

METHODS = {
    "thresholds": ["aeff-default"],
    "aeff-max": ["aeff-max"],
    "edisp-bias": ["edisp-bias"],
    "aeff-max+edisp-bias": ["aeff-max", "edisp-bias"],
}


@dataclass(frozen=True)
class SafeRange:
    method: str = "auto"
    aeff_percent: float = 10.0
    bias_percent: float = 10.0
    offset_max: float | None = None  # deg
    e_threshold: float | None = None  # TeV, for "fixed"

    @classmethod
    def from_params(cls, params: dict) -> SafeRange:
        return cls(params.get("safe_range", "auto"), params.get("aeff_percent", 10.0),
                   params.get("bias_percent", 10.0), params.get("offset_max"), params.get("e_threshold"))

    def methods(self, obs: Observation) -> list[str]:
        if self.method == "fixed":
            if self.e_threshold is None:
                raise UsageError("safe_range=fixed needs e_threshold (TeV).")
            methods = []
        elif self.method == "auto":
            methods = list(safe_mask_maker(obs).methods)
        elif self.method in METHODS:
            methods = list(METHODS[self.method])
        else:
            raise UsageError(f"Unknown safe_range {self.method!r}: choose auto, {', '.join(METHODS)} or fixed.")
        if "aeff-default" in methods and self.method == "thresholds":
            meta = getattr(obs.aeff, "meta", {}) or {}
            if "LO_THRES" not in meta:
                raise UsageError(f"Observation {obs.obs_id}: its effective area carries no safe-range thresholds "
                                 "(LO_THRES/HI_THRES), so safe_range=thresholds cannot apply; choose aeff-max or "
                                 "edisp-bias.")
        if self.offset_max is not None:
            methods.append("offset-max")
        return methods

    def maker(self, obs: Observation) -> SafeMaskMaker:
        kwargs = {"aeff_percent": self.aeff_percent, "bias_percent": self.bias_percent}
        if self.offset_max is not None:
            kwargs["offset_max"] = Angle(self.offset_max, "deg")
        return SafeMaskMaker(methods=self.methods(obs), **kwargs)

    def apply(self, dataset, obs: Observation):
        """``dataset`` with its safe mask for ``obs`` (gammapy's SafeMaskMaker, then the fixed threshold)."""
        dataset = self.maker(obs).run(dataset, obs)
        if self.method == "fixed":
            # an edge at the threshold itself counts as above it (edges are computed: 1 TeV may be 0.999999999999999)
            above = dataset.counts.geom.energy_mask(energy_min=self.e_threshold * (1 - 1e-9) * u.TeV)
            dataset.mask_safe = dataset.mask_safe & above
        return dataset

    def describe(self) -> str:
        text = {"auto": "the instrument's thresholds, else aeff-max", "thresholds": "the instrument's thresholds",
                "fixed": f"fixed, above {self.e_threshold:g} TeV" if self.e_threshold else "fixed"}.get(
            self.method, self.method)
        if "aeff-max" in self.method or self.method == "auto":
            text += f" ({self.aeff_percent:g}% of the effective area's maximum)"
        if "edisp-bias" in self.method:
            text += f" (energy bias below {self.bias_percent:g}%)"
        if self.offset_max is not None:
            text += f", pointing within {self.offset_max:g} deg of the target"
        return text
