"""The energy-dependent RAD_MAX cut within the energies an analysis uses.

The target's exclusion keeps the off regions clear of the on region. With point-like IRFs and an
energy-dependent cut (RAD_MAX_2D, as MAGIC's) the on region is the cut around the target, and the
cut is widest at the lowest energies, usually below the safe threshold: MAGIC's is 0.387 deg at
10 GeV but 0.17 deg from 100 GeV, where its safe range starts. Sized on the widest cut anywhere,
the exclusion (cut plus margin, 0.69 deg) swallowed two of the three wobble off regions at MAGIC's
0.4 deg wobble (0.57 deg from the target), although at every energy analysed they lie well clear
of the on region. The cut that matters is the widest within the safe energies of each
observation: the reconstructed-energy bins its spectrum keeps, with the cut evaluated as gammapy's
event selection evaluates it (``RadMax2D.evaluate(method="nearest")`` at the target's offset).
For the same reason the reconstructed axis of such an analysis stops at the safe energies
(:func:`trimmed_axis`), as gammapy's MAGIC tutorial (spectral_analysis_rad_max) starts its
reconstructed axis at 50 GeV, above the widest cuts: gammapy drops wobble regions that would
overlap at any energy of the axis. The tutorial uses no exclusion and three wobble regions; this
keeps the exclusion (other sources, the margin) and gets the three regions.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from gammapy.data import Observation, Observations
from gammapy.datasets import SpectrumDataset
from gammapy.makers import SpectrumDatasetMaker
from gammapy.maps import MapAxis

from portal.jobs.inputs import in_memory
from portal.jobs.observations import pointing
from portal.jobs.safe import SafeRange

log = logging.getLogger(__name__)

__all__ = ["SafeCuts", "cut_in_range", "safe_cuts", "trimmed_axis"]


def cut_in_range(obs: Observation, target: SkyCoord, edges_min: u.Quantity, edges_max: u.Quantity) -> Angle:
    """The widest RAD_MAX of ``obs`` at the target's offset over reconstructed-energy bins
    ``edges_min[i]``..``edges_max[i]`` (the nodes inside them and the bins' own ends)."""
    rad_max = obs.rad_max
    offset = pointing(obs).separation(target)
    nodes = rad_max.axes["energy"].center
    inside = np.zeros(nodes.shape, dtype=bool)
    for lo, hi in zip(edges_min, edges_max, strict=True):
        inside |= (nodes >= lo) & (nodes < hi)
    energies = u.Quantity([*(edges_min * (1 + 1e-6)), *(edges_max * (1 - 1e-6)), *nodes[inside]])
    values = rad_max.evaluate(method="nearest", energy=energies, offset=offset)
    return Angle(np.max(u.Quantity(values).to_value("deg")), "deg")


@dataclass(frozen=True)
class SafeCuts:
    """What the safe energies of point-like observations with an energy-dependent cut imply."""

    cut: Angle | None  # the widest cut within every observation's safe energies (None: none has any)
    first: int | None = None  # the first and last reconstructed bins that are safe in some observation
    last: int | None = None


def _within(axis: MapAxis, energy_range: tuple[float | None, float | None]) -> np.ndarray:
    """The bins of ``axis`` inside ``energy_range`` (TeV; None: no limit on that side)."""
    low, high = energy_range
    inside = np.ones(axis.nbin, dtype=bool)
    if low is not None:
        inside &= axis.edges_min.to_value("TeV") >= low * (1 - 1e-6)
    if high is not None:
        inside &= axis.edges_max.to_value("TeV") <= high * (1 + 1e-6)
    return inside


def safe_cuts(observations: Observations, target: SkyCoord, empty: SpectrumDataset, safe: SafeRange,
              energy_range: tuple[float | None, float | None] = (None, None), log: logging.Logger = log) -> SafeCuts:
    """Each observation's safe energies on ``empty``'s axes (as the reduction will find them) within
    ``energy_range``, the energies the analysis uses (TeV: the fit range and the flux points'
    together; None on a side where the fit takes every safe energy); the widest cut within them
    and the bins they span together."""
    maker = SpectrumDatasetMaker(containment_correction=False, use_region_center=True,
                                 selection=["counts", "exposure", "edisp"])
    axis = empty.counts.geom.axes["energy"]
    used = _within(axis, energy_range)
    cuts, safe_bins = [], np.zeros(axis.nbin, dtype=bool)
    for obs in observations:
        obs = in_memory(obs)
        dataset = safe.apply(maker.run(empty.copy(name=str(obs.obs_id)), obs), obs)
        mask = np.asarray(dataset.mask_safe.data).ravel() & used
        if mask.any():
            cuts.append(cut_in_range(obs, target, axis.edges_min[mask], axis.edges_max[mask]))
            safe_bins |= mask
    if not cuts:
        return SafeCuts(None)
    widest = max(cuts)
    log.info("Energy-dependent RAD_MAX within the safe energies: up to %.3f deg; the target's exclusion is sized "
             "on it", widest.deg)
    bins = np.flatnonzero(safe_bins)
    return SafeCuts(widest, int(bins[0]), int(bins[-1]))


def trimmed_axis(axis: MapAxis, cuts: SafeCuts, keep: u.Quantity | None = None) -> MapAxis:
    """``axis`` without the bins below and above every safe energy used, keeping the edges ``keep``.

    Those bins are outside every spectrum's safe range, or outside both the fit range and the flux
    points, so the fit and the flux points do not change; but
    gammapy refuses wobble off regions that would overlap at *any* energy of the axis
    (``are_regions_overlapping_rad_max`` over its bounds), so unused low energies with a wide cut
    would cost off regions (MAGIC: 2 x 0.387 deg at 10 GeV against 0.57 deg between regions).
    """
    if cuts.first is None:
        return axis
    first, last = cuts.first, cuts.last + 1  # edge indices
    if keep is not None and len(keep):
        edges = axis.edges.to_value("TeV")
        wanted = np.searchsorted(edges, u.Quantity(keep).to_value("TeV") * (1 + 1e-9)) - 1
        first, last = min(first, int(wanted.min())), max(last, int(wanted.max()))
    first, last = max(first, 0), min(last, axis.nbin)
    return axis if (first, last) == (0, axis.nbin) else axis.slice(slice(first, last))
