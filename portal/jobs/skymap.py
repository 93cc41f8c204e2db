"""The `skymap` job: counts, excess and significance maps around a position.

Each observation is reduced to a map dataset (counts, exposure, the IRF background) within its
safe energy range and field of view; the background is renormalised per observation outside the
known sources (FoV background), the datasets are stacked, and gammapy's ExcessMapEstimator gives
the correlated excess and the significance (sqrt(TS), with sign).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from astropy.coordinates import Angle, SkyCoord
from gammapy.data import Observations
from gammapy.datasets import MapDataset
from gammapy.estimators import ExcessMapEstimator
from gammapy.makers import FoVBackgroundMaker, MapDatasetMaker
from gammapy.maps import MapAxis, WcsGeom, WcsNDMap

from portal.jobs import context as job_context
from portal.jobs.definitions import FITS, PNG
from portal.jobs.exclusion import catalog_files, exclusion_regions
from portal.jobs.inputs import check_kept
from portal.jobs.observations import MAP_IRFS, describe, max_offset, pointing, safe_mask_maker, target_coord
from portal.jobs.plots import save_maps_png
from portal.jobs.skymap_size import ENERGY_BINS_PER_DECADE
from portal.uws.definitions import JobContext, UsageError

log = logging.getLogger(__name__)


@dataclass
class SkyMaps:
    dataset: MapDataset
    counts: WcsNDMap
    excess: WcsNDMap
    significance: WcsNDMap
    left_out: dict[int, str] = field(default_factory=dict)  # obs id -> reason

    def images(self) -> dict[str, WcsNDMap]:
        return {"counts": self.counts, "excess": self.excess, "significance": self.significance}


def map_geom(center: SkyCoord, width: float, binsz: float, e_min: float, e_max: float) -> WcsGeom:
    if not 0 < e_min < e_max:
        raise UsageError(f"The energy range must have 0 < e_min < e_max (got {e_min} to {e_max} TeV).")
    nbin = max(1, int(np.ceil(np.log10(e_max / e_min) * ENERGY_BINS_PER_DECADE)))
    axis = MapAxis.from_energy_bounds(e_min, e_max, nbin=nbin, unit="TeV", name="energy")
    return WcsGeom.create(skydir=center, width=width, binsz=binsz, frame="icrs", proj="TAN", axes=[axis])


def overlapping(observations: Observations, center: SkyCoord, width: float) -> tuple[Observations, dict[int, str]]:
    """The observations whose field of view reaches the map, and why the others were left out;
    none is a UsageError."""
    half_diagonal = Angle(width / np.sqrt(2), "deg")
    kept, left_out = Observations(), {}
    for obs in observations:
        offset, reach = pointing(obs).separation(center), max_offset(obs)
        if offset < reach + half_diagonal:
            kept.append(obs)
        else:
            left_out[int(obs.obs_id)] = (f"its field of view ({reach.deg:.2f} deg) does not reach the {width:g} deg "
                                         f"map (pointing {offset.deg:.2f} deg from its centre)")
    if len(kept) == 0:
        raise UsageError(f"No observation's field of view reaches the {width:g} deg map around {describe(center)}: "
                         "choose observations pointed closer to it.")
    return kept, left_out


def make_maps(
    observations: Observations,
    center: SkyCoord,
    width: float = 4.0,
    binsz: float = 0.02,
    e_min: float = 0.5,
    e_max: float = 100.0,
    correlation_radius: float = 0.1,
    catalogs: dict[str, Path] | None = None,
    allow_partial: bool = False,
    on_selected: Callable[[list[int], dict[int, str]], None] | None = None,
    log: logging.Logger = log,
) -> SkyMaps:
    """The maps; ``on_selected(used, left_out)`` is called once the observations that reach the map are known
    (before the rule on losing more than half of them is applied)."""
    geom = map_geom(center, width, binsz, e_min, e_max)
    requested = len(observations)
    observations, left_out = overlapping(observations, center, width)
    for obs_id, reason in left_out.items():
        log.warning("Observation %s left out: %s.", obs_id, reason)
    if on_selected is not None:
        on_selected([int(o.obs_id) for o in observations], left_out)
    check_kept(requested, left_out, allow_partial)
    regions = exclusion_regions(center, Angle(max(correlation_radius, 0.1), "deg"), Angle(width, "deg"),
                                catalog_files() if catalogs is None else catalogs, log=log, merge_counterparts=False)
    exclusion = ~geom.to_image().region_mask(regions)
    stacked = MapDataset.create(geom=geom, name="stacked")
    maker = MapDatasetMaker(selection=["counts", "exposure", "background"])
    for obs in observations:
        offset_max = max_offset(obs)
        cutout = stacked.cutout(pointing(obs), width=2 * offset_max, name=str(obs.obs_id))
        dataset = maker.run(cutout, obs)
        dataset = safe_mask_maker(obs, offset_max=offset_max).run(dataset, obs)
        background = FoVBackgroundMaker(method="scale", exclusion_mask=exclusion.cutout(pointing(obs), 2 * offset_max))
        dataset = background.run(dataset)
        norm = dataset.background_model.spectral_model.norm.value if dataset.background_model else np.nan
        log.info("Observation %s: %d events in the map's safe region, background norm %.3f",
                 obs.obs_id, int(dataset.counts.data[dataset.mask_safe.data].sum()), norm)
        stacked.stack(dataset)
    total = float(stacked.counts.data[stacked.mask_safe.data].sum())
    if total == 0:
        raise UsageError(f"No event in the map around {describe(center)} within the safe energy range.")
    image = stacked.to_image()
    estimator = ExcessMapEstimator(correlation_radius=Angle(correlation_radius, "deg"), selection_optional=[])
    result = estimator.run(image)
    counts = image.counts.sum_over_axes(keepdims=False)
    excess = result["npred_excess"].sum_over_axes(keepdims=False)
    significance = result["sqrt_ts"].sum_over_axes(keepdims=False)
    peak = np.unravel_index(np.nanargmax(significance.data), significance.data.shape)
    lon, lat = significance.geom.pix_to_coord(peak[::-1])
    log.info("Maps: %d counts, peak significance %.1f sigma at RA %.3f, Dec %.3f deg", int(total),
             float(significance.data[peak]), Angle(lon).deg, Angle(lat).deg)
    return SkyMaps(stacked, counts, excess, significance, left_out)


def run(ctx: JobContext, params: dict[str, Any]) -> None:
    """Job service entry point (``portal.jobs.skymap:run``)."""
    center = target_coord(params["ra"], params["dec"])
    with job_context.open_observations(ctx, params["obs_ids"], MAP_IRFS) as inputs:
        catalogs = job_context.record_catalogs(ctx)
        maps = make_maps(inputs.observations, center, width=params["width"], binsz=params["binsz"],
                         e_min=params["e_min"], e_max=params["e_max"], correlation_radius=params["correlation_radius"],
                         catalogs=catalogs, allow_partial=params.get("allow_partial", False),
                         on_selected=inputs.selected, log=ctx.log)
        header = inputs.header(center)
        for name, image in maps.images().items():
            path = ctx.workdir / f"{name}.fits"
            tmp = path.with_name(f".{name}.tmp.fits")
            hdus = image.to_hdulist()
            for key, value in header.items():
                hdus[0].header[key] = value
            hdus.writeto(tmp, overwrite=True)
            tmp.replace(path)
            ctx.publish(name, path, FITS)
        title = (f"{describe(center)}, {params['e_min']:g} to {params['e_max']:g} TeV, "
                 f"correlation radius {params['correlation_radius']:g} deg")
        preview = save_maps_png(maps.images(), ctx.workdir / "preview.png", title=title)
        ctx.publish("preview", preview, PNG)


