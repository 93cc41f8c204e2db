"""What the job adapters share: resolving obs ids, recording inputs, describing results.

These helpers talk to the :class:`JobContext` the job service gives each job; the science
functions never see it.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from astropy.coordinates import SkyCoord
from gammapy.data import Observations

from portal.jobs.exclusion import catalog_files
from portal.jobs.observations import InputFile, load_observations
from portal.uws.definitions import JobContext, UsageError


def open_observations(ctx: JobContext, obs_ids: Iterable[int], required_irf: Iterable[str]) -> Observations:
    """Resolve ``obs_ids`` through the archive, open them, and record their files as inputs."""
    ids = list(dict.fromkeys(int(i) for i in obs_ids))
    if not ids:
        raise UsageError("No observations were given: choose at least one obs id.")
    locations = ctx.locate(ids)
    missing = sorted(set(ids) - {loc.obs_id for loc in locations})
    if missing:
        raise UsageError(f"Unknown observation id(s): {', '.join(map(str, missing))}.")
    by_id = {loc.obs_id: loc for loc in locations}
    observations, inputs = load_observations([by_id[i] for i in ids], required_irf)
    record(ctx, inputs)
    ctx.log.info("Observations: %s (%d)", ", ".join(map(str, ids)), len(ids))
    return observations


def record(ctx: JobContext, inputs: Iterable[InputFile]) -> None:
    seen: set[Path] = set()
    for item in inputs:
        if item.path not in seen:
            seen.add(item.path)
            ctx.used(item.path, item.role, **item.attributes)


def record_catalogs(ctx: JobContext) -> dict[str, Path]:
    """The source catalogs the background exclusions come from, recorded as inputs."""
    catalogs = catalog_files()
    record(ctx, [InputFile(path, "catalog", {"catalog": tag}) for tag, path in catalogs.items()])
    return catalogs


def fits_header(target: SkyCoord, params: dict[str, Any]) -> dict[str, Any]:
    """Keywords that say what a result FITS table is about."""
    return {
        "RA_OBJ": (round(float(target.ra.deg), 6), "[deg] target right ascension (ICRS)"),
        "DEC_OBJ": (round(float(target.dec.deg), 6), "[deg] target declination (ICRS)"),
        "OBS_IDS": (",".join(str(i) for i in params["obs_ids"]), "observations analysed"),
        "CREATOR": ("gamma-portal", "software that made this file"),
    }
