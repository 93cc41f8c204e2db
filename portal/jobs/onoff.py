"""1D on/off data reduction: one spectrum per observation, reflected-region background.

Shared by the `spectrum` and `lightcurve` jobs.
"""

from __future__ import annotations

import logging
import math

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from gammapy.data import Observations
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.makers import ReflectedRegionsBackgroundMaker, SpectrumDatasetMaker
from gammapy.maps import MapAxis, RegionGeom, WcsNDMap
from regions import CircleSkyRegion

from portal.jobs.observations import describe, pointing, safe_mask_maker
from portal.uws.definitions import UsageError

log = logging.getLogger(__name__)

RECO_RANGE = (0.1, 100.0)  # TeV: reconstructed energies kept around the requested range
MAX_BIN_DEX = 0.1  # reconstructed energy bins are at most 0.1 in log10(E)
TRUE_PER_DECADE = 20


def energy_axes(e_min: float, e_max: float, n_bins: int) -> tuple[MapAxis, MapAxis, u.Quantity]:
    """Reconstructed and true energy axes, and the ``n_bins + 1`` flux-point edges (TeV).

    Reconstructed bins are log-spaced so that the flux-point edges (log-spaced from ``e_min`` to
    ``e_max``) fall exactly on bin edges; they extend with the same step down to 0.1 TeV and up to
    100 TeV (or further if the request goes further), so the fit uses every safe energy.
    """
    if not 0 < e_min < e_max:
        raise UsageError(f"The energy range must have 0 < e_min < e_max (got {e_min} to {e_max} TeV).")
    span = math.log10(e_max / e_min)
    per_point = max(1, math.ceil(span / n_bins / MAX_BIN_DEX - 1e-9))
    step = span / (n_bins * per_point)
    below = math.floor(math.log10(e_min / min(RECO_RANGE[0], e_min)) / step + 1e-9)
    above = math.floor(math.log10(max(RECO_RANGE[1], e_max) / e_max) / step + 1e-9)
    exponents = np.arange(-below, n_bins * per_point + above + 1) * step
    edges = e_min * 10**exponents * u.TeV
    reco = MapAxis.from_energy_edges(edges, name="energy")
    true = MapAxis.from_energy_bounds(edges[0] / 2, edges[-1] * 2, nbin=TRUE_PER_DECADE, per_decade=True,
                                      name="energy_true")
    points = e_min * 10 ** (np.arange(n_bins + 1) * step * per_point) * u.TeV
    return reco, true, points


def reduce_onoff(
    observations: Observations,
    target: SkyCoord,
    on_radius: Angle | u.Quantity,
    energy_axis: MapAxis,
    energy_axis_true: MapAxis,
    exclusion: WcsNDMap,
    log: logging.Logger = log,
) -> Datasets:
    """One on/off spectrum per observation, with its safe energy range.

    Observations where no reflected region fits outside the exclusions are left out (and logged);
    none left, or no event at all in the on region, is a :class:`UsageError`.
    """
    on_region = CircleSkyRegion(target, Angle(on_radius))
    geom = RegionGeom.create(region=on_region, axes=[energy_axis])
    empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)
    maker = SpectrumDatasetMaker(containment_correction=True, selection=["counts", "exposure", "edisp"])
    background = ReflectedRegionsBackgroundMaker(exclusion_mask=exclusion)
    datasets = Datasets()
    skipped = []
    for obs in observations:
        dataset = maker.run(empty.copy(name=str(obs.obs_id)), obs)
        dataset = background.run(dataset, obs)
        if dataset.counts_off is None:
            skipped.append(obs.obs_id)
            log.warning("Observation %s: no reflected off region fits outside the excluded regions "
                        "(offset %.2f deg); left out.", obs.obs_id, pointing(obs).separation(target).deg)
            continue
        dataset = safe_mask_maker(obs).run(dataset, obs)
        _log_dataset(dataset, log)
        datasets.append(dataset)
    if not datasets:
        raise UsageError(
            f"No background could be measured for the target {describe(target)}: in observation(s) "
            f"{', '.join(map(str, skipped))} no reflected region fits outside the excluded sources. The target "
            "may be too close to the pointing position; choose observations with a larger offset."
        )
    on_counts = sum(float(d.counts.data[d.mask_safe.data].sum()) for d in datasets)
    if on_counts == 0:
        raise UsageError(
            f"No event in the on region ({Angle(on_radius).deg:.2f} deg around {describe(target)}) within the safe "
            "energy range of the observations: check the target position and the observations."
        )
    return datasets


def _log_dataset(dataset, log: logging.Logger) -> None:
    info = dataset.info_dict()
    e_lo, e_hi = dataset.energy_range_total
    log.info(
        "Observation %s: livetime %.1f min, safe energies %.2f to %.1f TeV, on %d, off %d, alpha %.3f, "
        "excess %.1f, significance %.1f sigma",
        dataset.name, info["livetime"].to_value("min"), e_lo.to_value("TeV"), e_hi.to_value("TeV"),
        info["counts"], info["counts_off"], info["alpha"], info["excess"], info["sqrt_ts"],
    )
