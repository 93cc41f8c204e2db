"""1D on/off data reduction: one spectrum per observation, reflected-region background.

Shared by the `spectrum` and `lightcurve` jobs. Full-enclosure IRFs (H.E.S.S. DR1, CTAO prod5)
take a circular on region of the requested radius, with the PSF containment corrected;
point-like IRFs fix the on region themselves (RAD_MAX): a circle of that radius when it is
fixed, energy-dependent cuts around the target (wobble off regions) otherwise.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from pathlib import Path

import astropy.units as u
import numpy as np
from astropy.coordinates import Angle, SkyCoord
from gammapy.data import Observations
from gammapy.datasets import Datasets, SpectrumDataset
from gammapy.makers import (
    ReflectedRegionsBackgroundMaker,
    ReflectedRegionsFinder,
    SpectrumDatasetMaker,
    WobbleRegionsFinder,
)
from gammapy.maps import MapAxis, RegionGeom, WcsNDMap
from regions import CircleSkyRegion, PointSkyRegion, SkyRegion

from portal.jobs.exclusion import catalog_files, exclusion_mask, exclusion_regions
from portal.jobs.observations import check_field_of_view, describe, pointing, safe_mask_maker
from portal.uws.definitions import UsageError

log = logging.getLogger(__name__)

RECO_RANGE = (0.1, 100.0)  # TeV: reconstructed energies kept around the requested range
MAX_BIN_DEX = 0.1  # reconstructed energy bins are at most 0.1 in log10(E)
TRUE_PER_DECADE = 20
WOBBLE_OFF_REGIONS = 3


@dataclass(frozen=True)
class OnRegion:
    """Where the signal is taken, and how the instrument responses must be applied to it."""

    region: SkyRegion
    radius: Angle  # the largest extent, for field-of-view checks and exclusions
    containment_correction: bool
    pointlike: bool

    def background_maker(self, exclusion: WcsNDMap) -> ReflectedRegionsBackgroundMaker:
        finder = (WobbleRegionsFinder(n_off_regions=WOBBLE_OFF_REGIONS) if isinstance(self.region, PointSkyRegion)
                  else ReflectedRegionsFinder())
        return ReflectedRegionsBackgroundMaker(region_finder=finder, exclusion_mask=exclusion)


def on_region(observations: Observations, target: SkyCoord, on_radius: Angle | u.Quantity,
              containment_correction: bool = True, log: logging.Logger = log) -> OnRegion:
    """The on region for these observations: ``on_radius`` unless point-like IRFs fix it (RAD_MAX).

    With full-enclosure IRFs the exposure is corrected for the PSF's containment in the on region
    (``containment_correction``, as gammapy's spectral tutorial does); without it, the fluxes are
    those of the part of the PSF inside the region. Point-like IRFs already include their cut.
    """
    rad_max = {obs.obs_id: obs.rad_max for obs in observations}
    pointlike = [i for i, r in rad_max.items() if r is not None]
    if not pointlike:
        if not containment_correction:
            log.info("Full-enclosure IRFs, no PSF containment correction (as asked): fluxes are those in the "
                     "on region of %.3f deg", Angle(on_radius).deg)
            return OnRegion(CircleSkyRegion(target, Angle(on_radius)), Angle(on_radius), False, False)
        no_psf = [str(obs.obs_id) for obs in observations if obs.psf is None]
        if no_psf:
            raise UsageError(f"Observation(s) {', '.join(no_psf)} have full-enclosure IRFs but no PSF, which the "
                             "flux in a circular on region needs (containment correction): analyse observations "
                             "whose release includes the PSF, or set containment_correction to false.")
        return OnRegion(CircleSkyRegion(target, Angle(on_radius)), Angle(on_radius), True, False)
    if len(pointlike) != len(rad_max):
        full = [i for i, r in rad_max.items() if r is None]
        raise UsageError(f"Observations {', '.join(map(str, pointlike))} have point-like IRFs and "
                         f"{', '.join(map(str, full))} full-enclosure IRFs: analyse them separately.")
    cuts = list(rad_max.values())
    largest = Angle(max(float(r.quantity.to_value("deg").max()) for r in cuts), "deg")
    fixed = {round(float(r.quantity.to_value("deg").ravel()[0]), 6) for r in cuts if r.is_fixed_rad_max}
    if all(r.is_fixed_rad_max for r in cuts) and len(fixed) == 1:
        log.info("Point-like IRFs: the on region is the IRFs' fixed RAD_MAX cut, %.3f deg (on_radius ignored)",
                 largest.deg)
        return OnRegion(CircleSkyRegion(target, largest), largest, False, True)
    log.info("Point-like IRFs with energy-dependent RAD_MAX (up to %.3f deg): events are selected by the IRFs' cut, "
             "%d wobble off regions per observation (on_radius ignored)", largest.deg, WOBBLE_OFF_REGIONS)
    return OnRegion(PointSkyRegion(target), largest, False, True)


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
    on: OnRegion,
    energy_axis: MapAxis,
    energy_axis_true: MapAxis,
    exclusion: WcsNDMap,
    log: logging.Logger = log,
) -> Datasets:
    """One on/off spectrum per observation, with its safe energy range.

    Observations where no reflected region fits outside the exclusions are left out (and logged);
    none left, or no event at all in the on region, is a :class:`UsageError`.
    """
    geom = RegionGeom.create(region=on.region, axes=[energy_axis])
    empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)
    maker = SpectrumDatasetMaker(containment_correction=on.containment_correction, use_region_center=on.pointlike,
                                 selection=["counts", "exposure", "edisp"])
    background = on.background_maker(exclusion)
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
            f"No event in the on region ({on.radius.deg:.2f} deg around {describe(target)}) within the safe "
            "energy range of the observations: check the target position and the observations."
        )
    return datasets


def reduce_around(
    observations: Observations,
    target: SkyCoord,
    on_radius: Angle | u.Quantity,
    energy_axis: MapAxis,
    energy_axis_true: MapAxis,
    catalogs: dict[str, Path] | None = None,
    containment_correction: bool = True,
    log: logging.Logger = log,
) -> Datasets:
    """The whole 1D reduction around ``target``: on region, field-of-view check, exclusions, spectra.

    ``catalogs`` are the source catalogs to exclude (default: those in ``$GAMMAPY_DATA``);
    ``containment_correction`` as in :func:`on_region`.
    """
    on = on_region(observations, target, on_radius, containment_correction, log=log)
    check_field_of_view(observations, target, on.radius)
    # Reflected regions lie within twice the pointing offset of the target.
    reach = max(pointing(obs).separation(target) for obs in observations) * 2 + on.radius + 0.5 * u.deg
    regions = exclusion_regions(target, on.radius, reach + 1 * u.deg,
                                catalog_files() if catalogs is None else catalogs, log=log)
    mask = exclusion_mask(target, 2 * reach, regions)
    return reduce_onoff(observations, target, on, energy_axis, energy_axis_true, mask, log=log)


def _log_dataset(dataset, log: logging.Logger) -> None:
    info = dataset.info_dict()
    e_lo, e_hi = dataset.energy_range_total
    log.info(
        "Observation %s: livetime %.1f min, safe energies %.2f to %.1f TeV, on %d, off %d, alpha %.3f, "
        "excess %.1f, significance %.1f sigma",
        dataset.name, info["livetime"].to_value("min"), e_lo.to_value("TeV"), e_hi.to_value("TeV"),
        info["counts"], info["counts_off"], info["alpha"], info["excess"], info["sqrt_ts"],
    )
