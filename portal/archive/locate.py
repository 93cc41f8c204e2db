"""Where the archive keeps observations: obs ids -> GADF release folders (for the analysis jobs).

An observation is named by its obs id (``23523``) or, since releases may share obs ids (H.E.S.S.
DR1 and a later release of the same runs), by ``<collection>/<obs_id>`` (``hess-dl3-dr1/23523``),
the collection being the release's ``obs_collection``. An unqualified obs id that several
collections hold is refused with the qualified forms to write: there is never a silent choice.

:class:`ArchiveLocator` is the archive's :class:`~portal.uws.locator.ObservationLocator`: the application
gives it to the generic job core, which checks ``obs-list`` parameters with it and hands it to the jobs
(``JobContext.locate``). It holds the database path only, so it travels to the job processes.

Fast and light on imports: the archive store's reads (:func:`portal.archive.reads.observation_places`)
and the job-definition modules only.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from portal.archive import reads
from portal.seam.params import obs_item
from portal.uws.definitions import FatalError, UsageError

__all__ = ["ArchiveLocator", "ObservationLocation", "locate_observations", "naming_problems"]


@dataclass(frozen=True)
class ObservationLocation:
    """Where the archive keeps one observation: the GADF release folder and the obs id in it."""

    obs_id: int
    release_dir: Path  # folder with obs-index and hdu-index, openable with gammapy's DataStore
    target_name: str | None = None
    ra: float | None = None  # pointing, ICRS degrees
    dec: float | None = None
    collection: str | None = None  # the release's obs_collection in the archive


@dataclass
class _Held:
    """What the archive holds of some obs ids: per obs id, per collection, the location (None: no files)."""

    by_id: dict[int, dict[str, ObservationLocation | None]] = field(default_factory=dict)
    collections: set[str] = field(default_factory=set)


@dataclass
class _Problems:
    naming: list[str] = field(default_factory=list)  # ambiguous, unknown collection, not in its collection
    unknown: list[int] = field(default_factory=list)
    no_files: list[int] = field(default_factory=list)

    def message(self) -> str | None:
        parts = list(self.naming)
        unknown, no_files = list(dict.fromkeys(self.unknown)), list(dict.fromkeys(self.no_files))
        if unknown:
            parts.append(f"unknown obs id{'s' if len(unknown) > 1 else ''}: {', '.join(map(str, unknown))}")
        if no_files:
            parts.append(f"obs id{'s' if len(no_files) > 1 else ''} {', '.join(map(str, no_files))} "
                         "have no data files (synthetic rows)")
        if not parts:
            return None
        hint = " (search the archive for valid ids)" if self.unknown or self.no_files else ""
        return "; ".join(parts) + hint


def _read(db_path: Path, numbers: list[int]) -> _Held:
    held = _Held()
    if not numbers:
        return held
    try:
        collections, rows = reads.observation_places(db_path, numbers)
    except sqlite3.Error as exc:
        raise UsageError(f"the archive cannot be read ({exc})") from None
    held.collections.update(collections)
    for number, collection, path, target, ra, dec in rows:
        held.collections.add(collection)
        places = held.by_id.setdefault(number, {})
        if collection not in places:
            places[collection] = None if path is None else ObservationLocation(
                number, Path(path), target, ra, dec, collection)
    return held


def _and(items: list[str], word: str = "and") -> str:
    return items[0] if len(items) == 1 else f"{', '.join(items[:-1])} {word} {items[-1]}"


def _ambiguous(collections: tuple[str, ...], numbers: list[int]) -> str:
    forms = _and([f"{c}/{numbers[0]}" for c in collections], "or")
    if len(numbers) == 1:
        return f"obs id {numbers[0]} is in collections {_and(list(collections))}: write {forms}"
    return (f"obs ids {', '.join(map(str, numbers))} are in collections {_and(list(collections))}: write {forms}, "
            "and likewise for the others")


def _resolve(held: _Held, refs: list[tuple[str | None, int]]) -> tuple[list[ObservationLocation], _Problems]:
    found: list[ObservationLocation] = []
    problems = _Problems()
    ambiguous: dict[tuple[str, ...], list[int]] = {}
    strangers: dict[str, list[int]] = {}
    for collection, number in refs:
        places = held.by_id.get(number, {})
        with_files = {c: loc for c, loc in places.items() if loc is not None}
        if collection is None:
            if len(with_files) == 1:
                found.append(next(iter(with_files.values())))
            elif with_files:
                ambiguous.setdefault(tuple(sorted(with_files)), []).append(number)
            elif places:
                problems.no_files.append(number)
            else:
                problems.unknown.append(number)
        elif places.get(collection) is not None:
            found.append(places[collection])
        elif collection in places:
            problems.no_files.append(number)
        elif collection not in held.collections:
            strangers.setdefault(collection, []).append(number)
        else:
            elsewhere = f" (it is in {_and(sorted(with_files))})" if with_files else ""
            problems.naming.append(f"obs id {number} is not in collection {collection}{elsewhere}")
    for collections, numbers in ambiguous.items():
        problems.naming.append(_ambiguous(collections, numbers))
    known = ", ".join(sorted(held.collections)) or "none yet"
    for collection, numbers in strangers.items():
        problems.naming.append(f"the archive has no collection {collection!r} (asked for "
                               f"{', '.join(f'{collection}/{n}' for n in numbers)}; its collections: {known})")
    return found, problems


def _refs(obs_ids: Iterable[int | str]) -> list[tuple[str | None, int]]:
    try:
        return [obs_item(i) for i in obs_ids]
    except ValueError as exc:
        raise UsageError(f"not an observation: {exc}") from None


def naming_problems(db_path: Path, obs_ids: Iterable[int | str]) -> str | None:
    """What is wrong with how ``obs_ids`` name the archive's observations: an unqualified id that several
    collections hold, an unknown collection, an id its named collection does not hold (a sentence, or None).
    Ids the archive does not hold at all are not counted here (the job names them when it runs)."""
    refs = _refs(obs_ids)
    held = _read(db_path, sorted({n for _, n in refs}))
    return _Problems(naming=_resolve(held, refs)[1].naming).message()


def locate_observations(db_path: Path, obs_ids: Iterable[int | str]) -> list[ObservationLocation]:
    """The release folder of each observation, in the order asked (items: obs ids or ``"<collection>/<obs_id>"``).

    Raises :class:`UsageError` naming the obs ids the archive does not know (or holds without files,
    such as synthetic rows), the unqualified ids that several collections hold (with the qualified forms
    to write), unknown collections and ids their collection does not hold.
    """
    refs = _refs(obs_ids)
    held = _read(db_path, sorted({n for _, n in refs}))
    found, problems = _resolve(held, refs)
    message = problems.message()
    if message:
        raise UsageError(message)
    return found


@dataclass(frozen=True)
class ArchiveLocator:
    """The archive at ``db_path`` as the job core sees it (see the module docstring); picklable."""

    db_path: Path

    def check(self, items) -> str | None:
        """What is wrong with how ``items`` name observations (:func:`naming_problems`); nothing to say
        without an archive database yet."""
        if not Path(self.db_path).is_file():
            return None
        return naming_problems(self.db_path, items)

    def locate(self, items) -> list[ObservationLocation]:
        if not Path(self.db_path).exists():
            raise FatalError("The archive database is not available, so observations cannot be resolved")
        return locate_observations(self.db_path, list(items))  # one per item, or a UsageError

    def data_roots(self) -> list[Path]:
        """The archive's folder and the parents of its release folders (a file reads ``<release>/...``)."""
        roots = [Path(self.db_path).parent]
        try:
            roots.extend(Path(folder).parent for folder in reads.release_folders(Path(self.db_path)))
        except sqlite3.Error:
            pass  # an archive that cannot be read: its files are shown by name
        return roots
