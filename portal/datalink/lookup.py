"""From an observation identifier to its files, through the archive (read-only).

The identifier is the ObsCore ``obs_publisher_did``. Its files are those the release's hdu-index
lists for it, and only if they resolve (symlinks followed) inside that release's folder: a
hostile or broken hdu-index cannot make the service read anything else.
"""

from __future__ import annotations

import sqlite3
import threading
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

from portal.archive import reads
from portal.archive.layout import find_index
from portal.paths import shown_paths

HDU_TYPES = ("events", "gti", "aeff", "edisp", "psf", "bkg", "rad_max")


class NotFound(LookupError):
    """No such observation, or no such file for it (the message is for the user)."""


class Unreadable(LookupError):
    """The observation is in the archive but its release cannot be read any more: index files or
    data files removed, truncated or corrupt since the ingest (the message is for the user)."""


def reason(exc: BaseException) -> str:
    """What ``exc`` says, for an anonymous caller: every file path in it cut to the file's name (the
    server's folders are not theirs to know; :mod:`portal.paths`)."""
    return shown_paths(str(exc) or type(exc).__name__)


@dataclass(frozen=True)
class HDUFile:
    hdu_type: str  # events, gti, aeff, edisp, psf, bkg, rad_max
    hdu_class: str  # aeff_2d, psf_table, ...
    path: Path  # resolved, inside the release folder
    hdu_name: str


@dataclass(frozen=True)
class Observation:
    did: str
    obs_id: int
    collection: str
    target_name: str | None
    ra: float  # pointing
    dec: float
    target_ra: float | None
    target_dec: float | None
    fov_radius: float | None
    release: Path
    hdus: tuple[HDUFile, ...]
    missing: tuple[tuple[str, str], ...] = ()  # (hdu type, folder/file) listed by the hdu-index, not there

    @property
    def events(self) -> HDUFile:
        for hdu in self.hdus:
            if hdu.hdu_type == "events":
                return hdu
        if self.missing:
            raise Unreadable(f"the release of observation {self.did} lists files that are missing: "
                             f"{', '.join(f'{kind} ({where})' for kind, where in self.missing)}")
        raise NotFound(f"observation {self.did} has no events file")

    def hdu(self, hdu_type: str) -> HDUFile:
        for hdu in self.hdus:
            if hdu.hdu_type == hdu_type:
                return hdu
        raise NotFound(f"observation {self.did} has no {hdu_type} HDU "
                       f"(it has {', '.join(h.hdu_type for h in self.hdus)})")

    @property
    def quoted_id(self) -> str:
        return quote(self.did, safe="")


class ArchiveLookup:
    """Observations by identifier, with their hdu-index entries (index files cached by mtime)."""

    def __init__(self, db_path: Path):
        self.db_path = Path(db_path)
        self._lock = threading.Lock()
        self._hdu_index: dict[Path, tuple[float, dict[int, list[tuple[str, str, str, str, str]]]]] = {}

    def find(self, did: str) -> Observation:
        row = self._row(did)
        if row is None:
            raise NotFound(f"no observation with ID {did!r} in this archive")
        number, obs_id, collection, target, ra, dec, t_ra, t_dec, s_fov, release = row
        if release is None:
            raise NotFound(f"observation {did} has no data files (a synthetic row)")
        release_dir = Path(release).resolve()
        number = int(number if number is not None else obs_id)
        hdus, missing = [], []
        for hdu_type, hdu_class, file_dir, file_name, hdu_name in self._index(release_dir).get(number, []):
            path = (release_dir / file_dir / file_name).resolve()
            if not path.is_relative_to(release_dir):
                continue  # outside the release folder: never served
            if not path.is_file():
                missing.append((hdu_type, f"{file_dir}/{file_name}"))
                continue
            hdus.append(HDUFile(hdu_type, hdu_class, path, hdu_name))
        return Observation(did, number, collection, target, ra, dec, t_ra, t_dec, s_fov / 2 if s_fov else None,
                           release_dir, tuple(hdus), tuple(missing))

    def _row(self, did: str) -> reads.ObservationRow | None:
        try:
            return reads.observation(self.db_path, did)
        except sqlite3.OperationalError:
            return None  # archive not created yet

    def _index(self, release: Path) -> dict[int, list[tuple[str, str, str, str, str]]]:
        if not release.is_dir():
            raise Unreadable(f"the release folder {release.name} is no longer there")
        path = find_index(release, "hdu-index")
        if path is None:
            raise Unreadable(f"the release {release.name} has no hdu-index file any more")
        mtime = path.stat().st_mtime_ns
        with self._lock:
            cached = self._hdu_index.get(path)
            if cached and cached[0] == mtime:
                return cached[1]
        try:
            by_obs = _read_hdu_index(path)
        except Exception as exc:  # noqa: BLE001 - whatever astropy raises for a corrupt file
            raise Unreadable(f"the hdu-index of the release {release.name} cannot be read ({reason(exc)})") from None
        with self._lock:
            self._hdu_index[path] = (mtime, by_obs)
        return by_obs


def _read_hdu_index(path: Path) -> dict[int, list[tuple[str, str, str, str, str]]]:
    """(hdu type, class, folder, file, HDU name) of each observation's HDUs; an empty, masked or
    absent FILE_DIR is the index's own folder."""
    from astropy.table import Table  # only when a release's index is first read

    table = Table.read(path, hdu=1)
    by_obs: dict[int, list[tuple[str, str, str, str, str]]] = {}
    for row in table:
        hdu_type = _text(row, "HDU_TYPE").lower()
        if hdu_type not in HDU_TYPES:
            continue
        by_obs.setdefault(int(row["OBS_ID"]), []).append(
            (hdu_type, _text(row, "HDU_CLASS", hdu_type).lower(), _text(row, "FILE_DIR") or ".",
             _text(row, "FILE_NAME"), _text(row, "HDU_NAME", hdu_type.upper())))
    return by_obs


def _text(row, name: str, default: str = "") -> str:
    """A text cell of the index: ``default`` when the column is absent or the value masked or blank."""
    import numpy as np

    if name not in row.colnames:
        return default
    value = row[name]
    if value is None or np.ma.is_masked(value):
        return default
    if isinstance(value, bytes):
        value = value.decode()
    return str(value).strip() or default
