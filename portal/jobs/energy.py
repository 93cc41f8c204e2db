"""The energy axes of the 1D analyses, from the binning rules (:mod:`portal.jobs.binning`) and the IRFs.

The reconstructed axis has 10 bins per decade and the true axis 20, on grids anchored at 1 TeV,
over the instrument's energy range (the effective area's true-energy axis of the observations)
widened to every requested edge; the flux-point edges are reconstructed edges.
"""

from __future__ import annotations

import astropy.units as u
import numpy as np
from gammapy.data import Observations
from gammapy.datasets import Datasets
from gammapy.maps import MapAxis

from portal.jobs.binning import RECO_PER_DECADE, TRUE_PER_DECADE, EnergyBinning, axis_span

__all__ = ["instrument_range", "energy_axes", "set_fit_range"]


def instrument_range(observations: Observations) -> tuple[float, float]:
    """The true energies (TeV) the effective areas of ``observations`` cover, all together."""
    edges = [obs.aeff.axes["energy_true"].edges.to_value("TeV") for obs in observations]
    return float(min(e[0] for e in edges)), float(max(e[-1] for e in edges))


def _axis(span: tuple[int, int], per_decade: int, name: str) -> MapAxis:
    exponents = np.arange(span[0], span[1] + 1) / per_decade
    return MapAxis.from_energy_edges(10**exponents * u.TeV, name=name)


def energy_axes(binning: EnergyBinning, instrument: tuple[float, float]) -> tuple[MapAxis, MapAxis, u.Quantity]:
    """Reconstructed and true energy axes over ``instrument`` (TeV), and the flux-point edges."""
    span = axis_span(instrument, binning, RECO_PER_DECADE)
    reco = _axis(span, RECO_PER_DECADE, "energy")
    true = _axis(axis_span(instrument, binning, TRUE_PER_DECADE), TRUE_PER_DECADE, "energy_true")
    # the very same floats as the reconstructed edges, so that a flux point groups whole bins
    edges = reco.edges[[i - span[0] for i in binning.points]]
    return reco, true, edges


def set_fit_range(datasets: Datasets, binning: EnergyBinning) -> None:
    """Restrict the fit to ``binning``'s fit range (``mask_fit``); no range clears the mask."""
    low, high = binning.fit_range()
    for dataset in datasets:
        if low is None and high is None:
            dataset.mask_fit = None
            continue
        geom = dataset.counts.geom
        dataset.mask_fit = geom.energy_mask(energy_min=None if low is None else low * u.TeV,
                                            energy_max=None if high is None else high * u.TeV, round_to_edge=True)
