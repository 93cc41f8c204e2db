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
from astropy.table import Table
from gammapy.data import DataStore, HDUIndexTable, Observation, Observations, ObservationTable
from gammapy.makers import SafeMaskMaker

from portal.archive.layout import find_index
from portal.archive.locate import ObservationLocation
from portal.uws.definitions import UsageError

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


def open_release(release: Path) -> DataStore:
    """gammapy's DataStore of a GADF release, whatever its index files: gzip-compressed or plain
    (gammapy alone looks for ``hdu-index.fits.gz``), with an empty or absent ``FILE_DIR``."""
    hdu_path, obs_path = find_index(release, "hdu-index"), find_index(release, "obs-index")
    if hdu_path is None or obs_path is None:
        raise OSError("no hdu-index or obs-index file (gzip-compressed or plain FITS) in it")
    table = Table.read(hdu_path, format="fits")
    if "FILE_DIR" not in table.colnames:
        table["FILE_DIR"] = "."  # the index's own folder, as an empty FILE_DIR means
    hdu_table = HDUIndexTable(table, masked=True)
    hdu_table["FILE_DIR"].fill_value = ""
    hdu_table = hdu_table.filled()
    hdu_table.meta["BASE_DIR"] = str(release)
    return DataStore(hdu_table=hdu_table, obs_table=ObservationTable.read(obs_path, format="fits"))


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
                stores[release] = open_release(release)
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


def _offsets(irf) -> tuple[float, float] | None:
    """The offsets (deg) an IRF covers: the edges of its first and last bins when the file gives
    bins (CTAO prod5, MAGIC), its first and last nodes when it gives nodes (H.E.S.S. DR1)."""
    try:
        axis = irf.axes["offset"]
    except (AttributeError, KeyError, ValueError):
        return None
    nodes = axis.edges if axis.node_type == "edges" else axis.center
    return float(nodes[0].to_value("deg")), float(nodes[-1].to_value("deg"))


def offset_range(obs: Observation) -> tuple[Angle, Angle]:
    """The offsets from the pointing that every instrument response of ``obs`` covers."""
    ranges = [r for r in (_offsets(irf) for irf in _loaded_irfs(obs)) if r is not None]
    if not ranges:
        raise UsageError(f"Observation {obs.obs_id}: its effective area has no offset axis.")
    return Angle(max(lo for lo, _ in ranges), "deg"), Angle(min(hi for _, hi in ranges), "deg")


def _loaded_irfs(obs: Observation) -> list:
    """The effective area, and the energy dispersion and PSF when the observation has them."""
    irfs = [obs.aeff]
    for name in ("edisp", "psf"):
        try:
            irf = getattr(obs, name)
        except (OSError, KeyError, ValueError):
            continue
        if irf is not None:
            irfs.append(irf)
    return irfs


def max_offset(obs: Observation) -> Angle:
    """How far from the pointing the instrument responses go (their real extent: bin edges or last node)."""
    return offset_range(obs)[1]


def is_pointlike(obs: Observation) -> bool:
    return bool(getattr(obs.aeff, "is_pointlike", False))


def check_field_of_view(observations: Observations, target: SkyCoord, radius: Angle | u.Quantity) -> None:
    """Every observation's responses must cover the on region of ``radius`` around the target.

    Full-enclosure responses must cover the whole region. Point-like responses are evaluated at
    the target itself (their directional cut is the on region), so the target must lie within their
    offsets: MAGIC's single bin from 0.39 to 0.41 deg covers its 0.40 deg wobble.
    """
    radius = Angle(radius)
    too_far = []
    for obs in observations:
        offset = pointing(obs).separation(target)
        lo, hi = offset_range(obs)
        reach = Angle(0, "deg") if is_pointlike(obs) else radius
        outer, inner = offset + reach, offset - reach
        extent = f"{lo.deg:.2f} to {hi.deg:.2f} deg" if lo.deg > 0 else f"{hi.deg:.2f} deg"
        what = "the target lies" if is_pointlike(obs) else "the on region reaches"
        if outer > hi:
            too_far.append(f"{obs.obs_id} ({what} {outer.deg:.2f} deg from the pointing, "
                           f"{(outer - hi).deg:.2f} deg beyond its IRFs' {extent})")
        elif lo.deg > 0 and inner < lo:
            too_far.append(f"{obs.obs_id} ({what} {max(inner.deg, 0):.2f} deg from the pointing, "
                           f"{(lo - inner).deg:.2f} deg nearer the pointing than its IRFs' {extent})")
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
