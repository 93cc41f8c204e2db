"""Observations for an analysis: opened from the archive's GADF releases, checked against the target.

The archive resolves obs ids to release folders (:class:`ObservationLocation`); this module opens
them with gammapy's DataStore, lists the files each observation reads (for provenance), and checks
that the target lies inside every field of view.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import astropy.units as u
from astropy.coordinates import Angle, SkyCoord
from gammapy.data import DataStore, Observation, Observations
from gammapy.makers import SafeMaskMaker

from portal.uws.definitions import ObservationLocation, UsageError

log = logging.getLogger(__name__)

SPECTRUM_IRFS = ("aeff", "edisp")
MAP_IRFS = ("aeff", "edisp", "bkg")
# Fallback safe range when the effective area carries no LO_THRES/HI_THRES of its own:
# energies where the effective area is above this percentage of its maximum.
AEFF_PERCENT = 10


@dataclass(frozen=True)
class InputFile:
    """A file the analysis read, with its role, for the job's provenance."""

    path: Path
    role: str
    attributes: dict[str, Any] = field(default_factory=dict)


def target_coord(ra: float, dec: float) -> SkyCoord:
    return SkyCoord(ra * u.deg, dec * u.deg, frame="icrs")


def describe(coord: SkyCoord) -> str:
    return f"(RA {coord.ra.deg:.3f} deg, Dec {coord.dec.deg:+.3f} deg)"


def _index_files(release_dir: Path) -> list[Path]:
    return sorted(p for p in release_dir.iterdir() if p.name.startswith(("obs-index", "hdu-index")))


def load_observations(
    locations: Sequence[ObservationLocation], required_irf: Iterable[str] = SPECTRUM_IRFS
) -> tuple[Observations, list[InputFile]]:
    """Open the observations the archive located, in the order given, and list the files they read.

    Observations may come from several releases; each release folder is opened once.
    """
    if not locations:
        raise UsageError("No observations were given: choose at least one obs id.")
    required = list(required_irf)
    stores: dict[Path, DataStore] = {}
    inputs: list[InputFile] = []
    observations = Observations()
    for location in locations:
        release = Path(location.release_dir)
        if release not in stores:
            try:
                stores[release] = DataStore.from_dir(release)
            except (OSError, ValueError) as exc:
                raise UsageError(f"The archive's release folder {release.name} cannot be opened: {exc}") from exc
            inputs.extend(InputFile(p, "index", {"release": release.name}) for p in _index_files(release))
        store = stores[release]
        if location.obs_id not in set(store.obs_table["OBS_ID"].tolist()):
            raise UsageError(f"Observation {location.obs_id} is not in its release {release.name}.")
        try:
            obs = store.obs(location.obs_id, required_irf=required)
        except (OSError, KeyError, ValueError) as exc:
            raise UsageError(
                f"Observation {location.obs_id} lacks what this analysis needs ({', '.join(required)}): {exc}"
            ) from exc
        observations.append(obs)
        inputs.extend(_observation_files(store, location.obs_id))
    return observations, inputs


def _observation_files(store: DataStore, obs_id: int) -> list[InputFile]:
    rows = store.hdu_table[store.hdu_table["OBS_ID"] == obs_id]
    paths: dict[Path, list[str]] = {}
    for row in rows:
        location = store.hdu_table.hdu_location(obs_id=obs_id, hdu_type=row["HDU_TYPE"])
        paths.setdefault(Path(location.path(abs_path=True)), []).append(str(row["HDU_TYPE"]))
    return [InputFile(p, "dl3", {"obs_id": int(obs_id), "hdus": ",".join(sorted(h))}) for p, h in paths.items()]


def pointing(obs: Observation) -> SkyCoord:
    return obs.get_pointing_icrs(obs.tmid)


def max_offset(obs: Observation) -> Angle:
    """How far from the pointing the instrument responses go (the last offset of the effective area)."""
    axis = obs.aeff.axes["offset"]
    return Angle(axis.center[-1])


def check_field_of_view(observations: Observations, target: SkyCoord, radius: Angle | u.Quantity) -> None:
    """Every observation must see the whole region of ``radius`` around the target."""
    radius = Angle(radius)
    too_far = []
    for obs in observations:
        offset = pointing(obs).separation(target)
        limit = max_offset(obs)
        if offset + radius > limit:
            too_far.append(f"{obs.obs_id} ({offset.deg:.2f} deg, field of view {limit.deg:.2f} deg)")
    if too_far:
        raise UsageError(
            f"The target {describe(target)} is outside the field of view of observation(s) "
            f"{', '.join(too_far)}. Remove them or choose observations pointed closer to the target."
        )


def safe_mask_maker(obs: Observation, offset_max: Angle | None = None) -> SafeMaskMaker:
    """The safe energy range of one observation.

    The instrument's own recommendation when its effective area carries one (LO_THRES/HI_THRES,
    as in H.E.S.S. DR1), else energies where the effective area is above 10% of its maximum.
    ``offset_max`` also cuts the field of view (map analyses).
    """
    meta = getattr(obs.aeff, "meta", {}) or {}
    methods = ["aeff-default"] if "LO_THRES" in meta else ["aeff-max"]
    kwargs: dict[str, Any] = {"aeff_percent": AEFF_PERCENT}
    if offset_max is not None:
        methods.append("offset-max")
        kwargs["offset_max"] = offset_max
    return SafeMaskMaker(methods=methods, **kwargs)
