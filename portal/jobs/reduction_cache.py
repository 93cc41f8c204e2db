"""The reduction cache: each observation's on/off spectrum, kept once for every user's jobs.

The same public observation reduced with the same choices gives the same dataset whoever asks, so a
re-run (another spectral model, another flux-point binning, another stacking choice) reads the
reductions back instead of redoing them. The cache lives in the portal's data dir
(:func:`portal.config.reduction_cache_dir`), shared by all jobs, and holds at most
``PORTAL_REDUCTION_CACHE_BYTES`` (:func:`portal.config.reduction_cache_bytes`; 0 turns it off).

**The key** of an observation's entry is the SHA-256 of everything its reduction depends on, taken
from what the reduction is actually given rather than from the job's parameters, so that no
parameter can change the result without changing the key:

- the observation's input files, by their SHA-256 (the checksum the provenance records) with the
  HDUs each provides, and its obs id (the dataset's name);
- the target, the on region as built (circle and radius, or the point region of an energy-dependent
  cut), whether the PSF containment is corrected, whether the IRFs are point-like, ``n_off_regions``;
- the reconstructed and true energy axes, edge by edge: they follow from ``reco_bins_per_decade``,
  the instruments' energy range and, where a requested edge lies outside it, from the flux-point and
  fit ranges (a cut trimmed to the safe energies too);
- the exclusion mask, pixel by pixel with its WCS: it follows from the ``exclusion`` choice, the source
  catalogs (under ``auto``), the on region and how far the job's runs point from the target;
- the safe range (method, ``aeff_percent``, ``bias_percent``, ``offset_max``, ``e_threshold``);
- the versions of gammapy, regions, astropy and numpy, and :data:`FORMAT` (raise it when the reduction's
  code changes).

Not in the key, because they act after the reduction: the spectral model, the fit range's mask
(``mask_fit``), the number of flux points, the sensitivity, ``stack`` and ``allow_partial``.

**An entry** is ``<key>.pickle``, the reduced ``SpectrumDatasetOnOff`` exactly as the reduction made it (maps,
metadata, data types; written and read in tens of milliseconds, where gammapy's FITS took 0.3 and 0.25 s per
run and lost the maps' metadata), or, for an observation the reduction leaves out, ``<key>.json`` with the reason.
Only the portal's job processes write the folder (0700, the portal's user's), so its pickles are the portal's
own; an entry is read only when it is that user's file, writable by nobody else and not a link. The versions in
the key mean an entry is only read by the software that wrote it. An entry is written to a temporary file and
renamed, so a reader never sees half an entry. Reading touches it (least recently used go
first); past the size bound, :meth:`ReductionCache.evict` unlinks the oldest. A job that read an entry keeps its
copy in memory; an entry that vanishes before it is read is reduced again.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import pickle
import tempfile
import time
from collections.abc import Iterable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any

import astropy.units as u
import numpy as np

from portal.private import private_folder

__all__ = ["FORMAT", "ReductionCache", "observation_sources", "reduction_choices", "for_job"]

log = logging.getLogger(__name__)

FORMAT = 2  # 2: entries are pickles (1: FITS)
DATASET, LEFT_OUT = ".pickle", ".json"
STALE_TEMPORARY = 3600.0  # s: a temporary file older than this was left by a writer that died
_MAPS = ("counts", "counts_off", "acceptance", "acceptance_off", "exposure", "mask_safe")


def _digest(document: Any) -> str:
    return hashlib.sha256(json.dumps(document, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def observation_sources(files: Mapping[int, Iterable[Any]], checksum=None) -> dict[int, str]:
    """For each obs id, one digest of its input files (:class:`~portal.jobs.observations.InputFile`): their
    SHA-256 (``checksum(path)``, default the provenance's own :func:`portal.uws.context.sha256_file`) and
    the HDUs each provides."""
    if checksum is None:
        from portal.uws.context import sha256_file as checksum
    sources = {}
    for obs_id, items in files.items():
        parts = sorted((checksum(Path(item.path)), str(item.attributes.get("hdus", ""))) for item in items)
        if parts:
            sources[int(obs_id)] = _digest(parts)
    return sources


def _edges(axis) -> list[str]:
    return [repr(float(e)) for e in axis.edges.to_value("TeV")]


def _region(region) -> dict[str, Any]:
    center = region.center.icrs
    described = {"kind": type(region).__name__, "ra": repr(float(center.ra.deg)), "dec": repr(float(center.dec.deg))}
    if hasattr(region, "radius"):
        described["radius"] = repr(float(u.Quantity(region.radius).to_value("deg")))
    return described


def _mask(mask) -> str | None:
    if mask is None:
        return None
    digest = hashlib.sha256(mask.geom.to_header().tostring(sep="\n").encode())
    digest.update(repr(mask.data.shape).encode())
    digest.update(np.ascontiguousarray(mask.data, dtype=bool).tobytes())
    return digest.hexdigest()


def reduction_choices(target, on, energy_axis, energy_axis_true, exclusion, safe) -> dict[str, Any]:
    """What every observation's reduction in a job shares, as it enters the key (see the module docstring)."""
    import astropy
    import gammapy
    import regions

    return {
        "format": FORMAT,
        "software": {"gammapy": gammapy.__version__, "regions": regions.__version__, "astropy": astropy.__version__,
                     "numpy": np.__version__},
        "target": [repr(float(target.icrs.ra.deg)), repr(float(target.icrs.dec.deg))],
        "on_region": _region(on.region),
        "containment_correction": bool(on.containment_correction),
        "pointlike": bool(on.pointlike),
        "n_off_regions": int(on.n_off_regions),
        "energy": _edges(energy_axis),
        "energy_true": _edges(energy_axis_true),
        "exclusion": _mask(exclusion),
        "safe": {k: v for k, v in asdict(safe).items()},
    }


def _to_bytes(dataset) -> bytes:
    """The dataset as a pickle: every map, its metadata and data types exactly as the reduction made them, written
    and read in tens of milliseconds (gammapy's FITS took 0.3 s to write and 0.25 s to read per H.E.S.S. run, and
    drops the maps' metadata)."""
    return pickle.dumps(dataset, protocol=pickle.HIGHEST_PROTOCOL)


def _from_bytes(raw: bytes, name: str):
    """The dataset of an entry. Only the portal's job processes write the cache's folder (0700, its user's), so
    its pickles are the portal's own; anything else in an entry is refused (ValueError)."""
    from gammapy.datasets import SpectrumDatasetOnOff

    dataset = pickle.loads(raw)
    if not isinstance(dataset, SpectrumDatasetOnOff):
        raise ValueError(f"a {type(dataset).__name__}, not an on/off spectrum")
    if dataset.name != name:
        dataset = dataset.copy(name=name)
    missing = [attr for attr in (*_MAPS, "edisp") if getattr(dataset, attr) is None]
    if missing:
        raise ValueError(f"no {', '.join(missing)}")
    return dataset


class ReductionCache:
    """The cache in ``folder`` for the observations of one job (``sources``: obs id -> digest of its files,
    :func:`observation_sources`), bounded to ``max_bytes``.

    After the reduction, :attr:`reused` names the observations read from the cache (obs id -> key) and
    :attr:`stored` those this job reduced and stored.
    """

    def __init__(self, folder: Path, max_bytes: int, sources: Mapping[int, str], log: logging.Logger = log) -> None:
        self.folder = Path(folder)
        self.max_bytes = int(max_bytes)
        self.sources = dict(sources)
        self.log = log
        self.reused: dict[int, str] = {}
        self.stored: dict[int, str] = {}

    def key(self, obs_id: int, choices: Mapping[str, Any]) -> str | None:
        """The entry's key, or None for an observation whose files are unknown (never cached)."""
        source = self.sources.get(int(obs_id))
        return None if source is None else _digest({"obs_id": int(obs_id), "inputs": source, "choices": choices})

    def path(self, key: str) -> Path | None:
        """The entry of ``key`` as it is now (None: there is none)."""
        for suffix in (DATASET, LEFT_OUT):
            path = self.folder / f"{key}{suffix}"
            if path.is_file():
                return path
        return None

    def load(self, key: str, obs_id: int):
        """``(dataset, None)`` or ``(None, reason)`` from the entry of ``key``; None when there is no entry
        (or it vanished, or cannot be read: then it is removed and the observation reduced again)."""
        for suffix in (DATASET, LEFT_OUT):
            path = self.folder / f"{key}{suffix}"
            try:
                raw = _read_own(path)  # whole, at once: an eviction after this does not matter
            except (FileNotFoundError, NotADirectoryError):
                continue
            except OSError as exc:
                self.log.warning("Reduction cache entry %s cannot be read (%s): reducing again", path.name, exc)
                return None
            try:
                found = ((None, json.loads(raw)["reason"]) if suffix == LEFT_OUT
                         else (_from_bytes(raw, str(obs_id)), None))
            except Exception as exc:  # noqa: BLE001 - a damaged entry is a miss, whatever the damage
                self.log.warning("Reduction cache entry %s is damaged (%s): reducing again", path.name, exc)
                _unlink(path)
                return None
            try:
                os.utime(path)  # recently used
            except OSError:
                pass
            self.reused[int(obs_id)] = key
            return found
        return None

    def store(self, key: str, obs_id: int, dataset, reason: str | None) -> Path | None:
        """Keep one observation's reduction (or the reason it was left out), atomically; a failure (a full
        disk) is logged, never raised: the job goes on with its own copy."""
        suffix = LEFT_OUT if dataset is None else DATASET
        target = self.folder / f"{key}{suffix}"
        try:
            private_folder(self.folder)  # entries are 0600 (mkstemp)
            raw = json.dumps({"reason": reason}).encode() if dataset is None else _to_bytes(dataset)
            if len(raw) > self.max_bytes:
                return None
            handle, tmp = tempfile.mkstemp(dir=self.folder, prefix=f".{key}.", suffix=".tmp")
            try:
                with os.fdopen(handle, "wb") as out:
                    out.write(raw)
                os.replace(tmp, target)
            except BaseException:
                _unlink(Path(tmp))
                raise
        except OSError as exc:
            self.log.warning("Observation %s: its reduction could not be kept in the cache (%s)", obs_id, exc)
            return None
        self.stored[int(obs_id)] = key
        return target

    def entries(self) -> list[tuple[float, int, Path]]:
        """(last use, size, path) of every entry, oldest first; temporary files left by dead writers are removed."""
        found = []
        try:
            listing = list(os.scandir(self.folder))
        except FileNotFoundError:
            return []
        now = time.time()
        for entry in listing:
            try:
                stat = entry.stat()
            except FileNotFoundError:
                continue
            if entry.name.startswith("."):
                if entry.name.endswith(".tmp") and now - stat.st_mtime > STALE_TEMPORARY:
                    _unlink(Path(entry.path))
                continue
            if entry.name.endswith((DATASET, LEFT_OUT)):
                found.append((stat.st_mtime, stat.st_size, Path(entry.path)))
        return sorted(found)

    def size(self) -> int:
        return sum(size for _, size, _ in self.entries())

    def evict(self) -> int:
        """Unlink the least recently used entries until the cache holds at most ``max_bytes``; the bytes freed.
        Safe while other jobs read: a reader holds what it read, and one that finds the entry gone reduces."""
        entries = self.entries()
        total = sum(size for _, size, _ in entries)
        freed = 0
        for _, size, path in entries:
            if total - freed <= self.max_bytes:
                break
            if _unlink(path):
                freed += size
        if freed:
            self.log.info("Reduction cache: %.1f MB of least recently used entries removed (bound %.1f MB)",
                          freed / 1e6, self.max_bytes / 1e6)
        return freed


def _read_own(path: Path) -> bytes:
    """An entry's bytes, if this process's user wrote it and nobody else may change it: a pickle runs code when
    read, so a file of another user's, writable by others, or reached through a symbolic link is refused
    (PermissionError: the observation is reduced again, and the file is left as it is)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    with os.fdopen(fd, "rb") as entry:
        stat = os.fstat(entry.fileno())
        if stat.st_uid != os.geteuid() or stat.st_mode & 0o022:
            raise PermissionError(f"not this portal's own (owner {stat.st_uid}, mode {stat.st_mode & 0o777:o})")
        return entry.read()


def _unlink(path: Path) -> bool:
    try:
        path.unlink()
        return True
    except FileNotFoundError:
        return False


def for_job(ctx: Any, files: Mapping[int, Iterable[Any]], environ: Mapping[str, str] | None = None,
            ) -> ReductionCache | None:
    """The cache for a job whose observations read ``files`` (obs id -> InputFiles), in the portal's data dir.

    None (no cache) when ``PORTAL_REDUCTION_CACHE_BYTES`` is 0, or when the job is not run by one of the
    portal's own job services: its context names no jobs folder inside the data dir (a job function called
    in a notebook or a test, a service kept elsewhere), so that nothing is written where it was not asked for.
    """
    from portal.config import Settings, reduction_cache_bytes, reduction_cache_dir

    env = dict(os.environ if environ is None else environ)
    limit = reduction_cache_bytes(env)
    jobs_dir = getattr(ctx, "jobs_dir", None)
    data_dir = Settings.from_env(env).data_dir
    if limit <= 0 or jobs_dir is None or not Path(jobs_dir).resolve().is_relative_to(data_dir.resolve()):
        return None
    return ReductionCache(reduction_cache_dir(data_dir), limit, observation_sources(files), log=ctx.log)
