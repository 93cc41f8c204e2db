"""1D on/off data reduction: one spectrum per observation, reflected-region background.

Shared by the `spectrum` and `lightcurve` jobs. Full-enclosure IRFs (H.E.S.S. DR1, CTAO prod5)
take a circular on region of the requested radius, with the PSF containment corrected;
point-like IRFs fix the on region themselves (RAD_MAX): a circle of that radius when it is
fixed, energy-dependent cuts around the target (wobble off regions) otherwise.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from gammapy.data import Observations
from gammapy.datasets import Datasets, SpectrumDataset, SpectrumDatasetOnOff
from gammapy.makers import (
    ReflectedRegionsBackgroundMaker,
    ReflectedRegionsFinder,
    SpectrumDatasetMaker,
    WobbleRegionsFinder,
)
from gammapy.maps import MapAxis, RegionGeom, WcsNDMap
from regions import CircleSkyRegion, PointSkyRegion, SkyRegion

from portal.jobs.binning import EnergyBinning
from portal.jobs.cuts import safe_cuts, trimmed_axis
from portal.jobs.energy import energy_axes, instrument_range, set_fit_range
from portal.jobs.choices import ExclusionChoice, parse_exclusion
from portal.jobs.exclusion import catalog_files, chosen_regions, exclusion_mask
from portal.jobs.inputs import check_kept, hold_responses, in_memory
from portal.jobs.observations import check_field_of_view, describe, pointing
from portal.jobs.parallel import run_unordered
from portal.jobs.reduction_cache import ReductionCache, reduction_choices
from portal.jobs.safe import SafeRange
from portal.uws.definitions import UsageError

log = logging.getLogger(__name__)

WOBBLE_OFF_REGIONS = 3
# A job's progress reports (JobContext.progress): progress(stage, done=None, total=None), done counting finished items.
Progress = Callable[..., None]
REDUCING = "reducing"  # the stage: observations reduced, of those requested


@dataclass(frozen=True)
class OnRegion:
    """Where the signal is taken, and how the instrument responses must be applied to it."""

    region: SkyRegion
    radius: Angle  # the largest extent, for field-of-view checks and exclusions (a point region: within the
    # safe energies, see portal.jobs.cuts)
    containment_correction: bool
    pointlike: bool
    n_off_regions: int = WOBBLE_OFF_REGIONS  # wobble regions, for an energy-dependent cut (point region)

    def background_maker(self, exclusion: WcsNDMap | None) -> ReflectedRegionsBackgroundMaker:
        finder = (WobbleRegionsFinder(n_off_regions=self.n_off_regions) if isinstance(self.region, PointSkyRegion)
                  else ReflectedRegionsFinder())
        return ReflectedRegionsBackgroundMaker(region_finder=finder, exclusion_mask=exclusion)


def on_region(observations: Observations, target: SkyCoord, on_radius: Angle | u.Quantity,
              containment_correction: bool = True, n_off_regions: int = WOBBLE_OFF_REGIONS,
              log: logging.Logger = log) -> OnRegion:
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
             "%d wobble off regions per observation (on_radius ignored)", largest.deg, n_off_regions)
    return OnRegion(PointSkyRegion(target), largest, False, True, n_off_regions)


@dataclass(frozen=True)
class OnOffOptions:
    """The analysis choices of a 1D reduction (the `spectrum` and `lightcurve` parameters)."""

    on_radius: float = 0.11  # deg
    containment_correction: bool = True
    safe: SafeRange = SafeRange()
    n_off_regions: int = WOBBLE_OFF_REGIONS
    allow_partial: bool = False
    exclusion: ExclusionChoice = ExclusionChoice("auto")

    @classmethod
    def from_params(cls, params: dict) -> OnOffOptions:
        return cls(params["on_radius"], params.get("containment_correction", True), SafeRange.from_params(params),
                   params.get("n_off_regions", WOBBLE_OFF_REGIONS), params.get("allow_partial", False),
                   parse_exclusion(params.get("exclusion")))


@dataclass
class Reduction:
    """The on/off spectra of the observations that can be used, and why the others were left out."""

    datasets: Datasets
    left_out: dict[int, str] = field(default_factory=dict)  # obs id -> reason

    @property
    def used(self) -> list[int]:
        return [int(d.name) for d in self.datasets]


@dataclass(frozen=True)
class _Reduce:
    """What every worker of the reduction needs (shared by fork)."""

    observations: Observations
    target: SkyCoord
    on: OnRegion
    empty: SpectrumDataset
    exclusion: WcsNDMap | None
    safe: SafeRange


def _reduce_one(shared: _Reduce, index: int) -> tuple[SpectrumDatasetOnOff | None, str | None]:
    """One observation's on/off spectrum within its safe range, or why it cannot be used."""
    obs = in_memory(shared.observations[index])
    offset = pointing(obs).separation(shared.target).deg
    maker = SpectrumDatasetMaker(containment_correction=shared.on.containment_correction,
                                 use_region_center=shared.on.pointlike, selection=["counts", "exposure", "edisp"])
    dataset = maker.run(shared.empty.copy(name=str(obs.obs_id)), obs)
    dataset = shared.on.background_maker(shared.exclusion).run(dataset, obs)
    if dataset.counts_off is None:
        return None, (f"no reflected off region fits outside the excluded regions (pointing {offset:.2f} deg from "
                      "the target)")
    dataset = shared.safe.apply(dataset, obs)
    if not dataset.mask_safe.data.any():
        if shared.safe.offset_max is not None and offset > shared.safe.offset_max:
            return None, f"pointing {offset:.2f} deg from the target, beyond offset_max {shared.safe.offset_max:g} deg"
        return None, f"no safe energy range ({shared.safe.describe()})"
    return dataset, None


def reduce_onoff(
    observations: Observations,
    target: SkyCoord,
    on: OnRegion,
    energy_axis: MapAxis,
    energy_axis_true: MapAxis,
    exclusion: WcsNDMap | None,
    safe: SafeRange | None = None,
    processes: int = 1,
    log: logging.Logger = log,
    progress: Progress | None = None,
    cache: ReductionCache | None = None,
) -> Reduction:
    """One on/off spectrum per observation, with its safe energy range, in ``processes`` at once
    (``progress(REDUCING, done, total)`` as each ends).

    Observations where no reflected region fits outside the exclusions, or with no safe energy,
    are left out (each with its reason, logged); the datasets keep the order of ``observations``.
    With a ``cache`` (:mod:`portal.jobs.reduction_cache`) an observation already reduced with the same
    files and choices is read back (the log says "reduction reused (cache)"), the others are reduced
    ("reduced") and kept there.
    """
    geom = RegionGeom.create(region=on.region, axes=[energy_axis])
    empty = SpectrumDataset.create(geom=geom, energy_axis_true=energy_axis_true)
    shared = _Reduce(observations, target, on, empty, exclusion, safe or SafeRange())
    found: dict[int, SpectrumDatasetOnOff] = {}
    left_out: dict[int, str] = {}
    keys: dict[int, str] = {}
    if cache is not None:
        choices = reduction_choices(target, on, energy_axis, energy_axis_true, exclusion, shared.safe)
        for index, obs in enumerate(observations):
            key = cache.key(int(obs.obs_id), choices)
            hit = None if key is None else cache.load(key, int(obs.obs_id))
            if key is not None:
                keys[index] = key
            if hit is None:
                continue
            dataset, reason = hit
            if dataset is None:
                left_out[int(obs.obs_id)] = reason
            else:
                found[index] = dataset
            log.info("Observation %s: reduction reused (cache)", obs.obs_id)
            if progress is not None:
                progress(REDUCING, len(found) + len(left_out), len(observations))
    todo = [i for i in range(len(observations)) if i not in found and int(observations[i].obs_id) not in left_out]
    for position, (dataset, reason) in run_unordered(_reduce_one, shared, todo, processes):
        index = todo[position]
        if dataset is None:
            left_out[int(observations[index].obs_id)] = reason
        else:
            found[index] = dataset
        if cache is not None:
            log.info("Observation %s: reduced", observations[index].obs_id)
            if index in keys:
                cache.store(keys[index], int(observations[index].obs_id), dataset, reason)
        if progress is not None:
            progress(REDUCING, len(found) + len(left_out), len(observations))
    if cache is not None and cache.stored:
        cache.evict()
    datasets = Datasets([found[i] for i in sorted(found)])
    for obs_id, reason in left_out.items():
        log.warning("Observation %s left out: %s.", obs_id, reason)
    for dataset in datasets:
        _log_dataset(dataset, log)
    return Reduction(datasets, {i: left_out[i] for i in sorted(left_out)})


def check_reduction(reduction: Reduction, observations: Observations, target: SkyCoord, on: OnRegion,
                    allow_partial: bool = False) -> None:
    """Refuse a reduction that lost every observation, more than half without ``allow_partial``, or
    that has no event in the on region (:class:`UsageError` saying why)."""
    check_kept(len(observations), reduction.left_out, allow_partial)
    on_counts = sum(float(d.counts.data[d.mask_safe.data].sum()) for d in reduction.datasets)
    if on_counts == 0:
        raise UsageError(
            f"No event in the on region ({on.radius.deg:.2f} deg around {describe(target)}) within the safe "
            "energy range of the observations: check the target position and the observations."
        )


def reduce_around(
    observations: Observations,
    target: SkyCoord,
    on_radius: Angle | u.Quantity,
    energy_axis: MapAxis,
    energy_axis_true: MapAxis,
    catalogs: dict[str, Path] | None = None,
    containment_correction: bool = True,
    safe: SafeRange | None = None,
    n_off_regions: int = WOBBLE_OFF_REGIONS,
    allow_partial: bool = False,
    processes: int = 1,
    on_reduced: Callable[[Reduction], None] | None = None,
    keep_edges: u.Quantity | None = None,
    energy_range: tuple[float | None, float | None] = (None, None),
    exclusion: ExclusionChoice = ExclusionChoice("auto"),
    log: logging.Logger = log,
    progress: Progress | None = None,
    cache: ReductionCache | None = None,
) -> Reduction:
    """The whole 1D reduction around ``target``: on region, field-of-view check, exclusions, spectra.

    ``exclusion`` is the user's choice of what to keep out of the background (:mod:`portal.jobs.choices`);
    under ``auto``, ``catalogs`` are the source catalogs to exclude (default: those in ``$GAMMAPY_DATA``);
    ``containment_correction`` and ``n_off_regions`` as in :func:`on_region`; ``safe`` the safe
    range (default: auto). With an energy-dependent cut the reconstructed axis is trimmed to the
    safe energies within ``energy_range`` (TeV, the energies the analysis uses), keeping the
    energies ``keep_edges`` (:mod:`portal.jobs.cuts`).
    ``on_reduced(reduction)`` is called before the reduction is checked
    (:func:`check_reduction`), so that what was left out is known even when the job then fails.
    ``cache``: see :func:`reduce_onoff`.
    """
    hold_responses(observations, processes)
    on = on_region(observations, target, on_radius, containment_correction, n_off_regions, log=log)
    check_field_of_view(observations, target, on.radius)
    if isinstance(on.region, PointSkyRegion):  # energy-dependent cut: the exclusion from the energies used
        empty = SpectrumDataset.create(geom=RegionGeom.create(region=on.region, axes=[energy_axis]),
                                       energy_axis_true=energy_axis_true)
        cuts = safe_cuts(observations, target, empty, safe or SafeRange(), energy_range, log=log)
        on = replace(on, radius=on.radius if cuts.cut is None else cuts.cut)
        energy_axis = trimmed_axis(energy_axis, cuts, keep=keep_edges)
    # Reflected regions lie within twice the pointing offset of the target.
    reach = max(pointing(obs).separation(target) for obs in observations) * 2 + on.radius + 0.5 * u.deg
    regions = chosen_regions(exclusion, target, on.radius, reach + 1 * u.deg,
                             catalog_files() if catalogs is None else catalogs, log=log)
    mask = None if regions is None else exclusion_mask(target, 2 * reach, regions)
    reduction = reduce_onoff(observations, target, on, energy_axis, energy_axis_true, mask, safe=safe,
                             processes=processes, log=log, progress=progress, cache=cache)
    if on_reduced is not None:
        on_reduced(reduction)
    check_reduction(reduction, observations, target, on, allow_partial)
    return reduction


def reduce_1d(observations: Observations, target: SkyCoord, binning: EnergyBinning, options: OnOffOptions,
              catalogs: dict[str, Path] | None, processes: int, on_reduced: Callable[[Reduction], None] | None,
              log: logging.Logger, progress: Progress | None = None,
              cache: ReductionCache | None = None) -> tuple[Reduction, u.Quantity]:
    """The reduction of a 1D analysis on the axes of ``binning``, with its fit range set; and the
    flux-point edges. Shared by the spectrum and the light curve; ``progress`` hears of the stage
    :data:`REDUCING` from its start (0 observations done) to its end."""
    if progress is not None:
        progress(REDUCING, 0, len(observations))
    hold_responses(observations, processes)
    energy_axis, energy_axis_true, edges = energy_axes(binning, instrument_range(observations))
    reduction = reduce_around(
        observations, target, Angle(options.on_radius, "deg"), energy_axis, energy_axis_true, catalogs=catalogs,
        containment_correction=options.containment_correction, safe=options.safe,
        n_off_regions=options.n_off_regions, allow_partial=options.allow_partial, processes=processes,
        on_reduced=on_reduced, keep_edges=edges, energy_range=used_range(binning), exclusion=options.exclusion,
        log=log, progress=progress, cache=cache)
    set_fit_range(reduction.datasets, binning)
    low, high = binning.fit_range()
    if low is not None or high is not None:
        log.info("Fit energy range: %s to %s (reconstructed energy)", "-" if low is None else f"{low:.3g} TeV",
                 "-" if high is None else f"{high:.3g} TeV")
    return reduction, edges


def used_range(binning: EnergyBinning) -> tuple[float | None, float | None]:
    """The energies (TeV) a 1D analysis uses: the flux points' and the fit range together; None on a side
    where the fit range is open (the fit then takes every safe energy)."""
    points = binning.point_edges()
    low, high = binning.fit_range()
    return (None if low is None else min(low, points[0]), None if high is None else max(high, points[-1]))


def _log_dataset(dataset, log: logging.Logger) -> None:
    info = dataset.info_dict()
    e_lo, e_hi = dataset.energy_range_total
    log.info(
        "Observation %s: livetime %.1f min, safe energies %.2f to %.1f TeV, on %d, off %d, alpha %.3f, "
        "excess %.1f, significance %.1f sigma",
        dataset.name, info["livetime"].to_value("min"), e_lo.to_value("TeV"), e_hi.to_value("TeV"),
        info["counts"], info["counts_off"], info["alpha"], info["excess"], info["sqrt_ts"],
    )
