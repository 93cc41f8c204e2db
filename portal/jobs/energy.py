"""The energy axes of the 1D analyses, from the binning rules (:mod:`portal.jobs.binning`) and the IRFs.

The reconstructed axis has the binning's bins per decade (20 by default) and the true axis
:func:`~portal.jobs.binning.true_per_decade` of it, on grids anchored at 1 TeV,
over the instrument's energy range (the effective area's true-energy axis of the observations)
widened to every requested edge; the flux-point edges are reconstructed edges.
"""

from __future__ import annotations

import astropy.units as u
from gammapy.data import Observations
from gammapy.datasets import Datasets
from gammapy.maps import MapAxis

from portal.jobs.binning import EnergyBinning, axis_span, true_per_decade

__all__ = ["instrument_range", "energy_axes", "set_fit_range"]


def instrument_range(observations: Observations) -> tuple[float, float]:
    """The true energies (TeV) the effective areas of ``observations`` cover, all together."""
    edges = [obs.aeff.axes["energy_true"].edges.to_value("TeV") for obs in observations]
    return float(min(e[0] for e in edges)), float(max(e[-1] for e in edges))


def _axis(span: tuple[int, int], per_decade: int, name: str) -> MapAxis:
    """Edges 10**(k / per_decade) TeV for k in ``span``, computed as gammapy's ``from_energy_bounds`` computes
    them (geometric spacing between the ends): the same floats as an analysis written with gammapy alone, so
    that a safe threshold at an edge (H.E.S.S. DR1's 0.708 TeV = 10**-0.15) keeps its bin there as well
    (10**(-3/20) is one rounding step below it, and the bin would be dropped)."""
    low, high = 10 ** (span[0] / per_decade), 10 ** (span[1] / per_decade)
    return MapAxis.from_energy_bounds(low, high, nbin=span[1] - span[0], unit="TeV", name=name)


def energy_axes(binning: EnergyBinning, instrument: tuple[float, float]) -> tuple[MapAxis, MapAxis, u.Quantity]:
    """Reconstructed and true energy axes over ``instrument`` (TeV), and the flux-point edges."""
    span = axis_span(instrument, binning)
    reco = _axis(span, binning.per_decade, "energy")
    per_decade_true = true_per_decade(binning.per_decade)
    true = _axis(axis_span(instrument, binning, per_decade_true), per_decade_true, "energy_true")
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
