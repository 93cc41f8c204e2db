"""What the job adapters share: resolving obs ids, recording inputs, describing results.

These helpers talk to the :class:`JobContext` the job service gives each job; the science
functions never see it.

Observation files enter the provenance only once the analysis knows which observations it used:
:class:`Inputs` records the files of those as used, those of the left-out ones with the role
``left-out`` and their reason (the provenance shows them as considered, not used), publishes
the ``inputs`` result and gives the FITS keywords. If the job fails before that, every file it
opened is recorded as used (a failed activity read them all).

Observations are named by obs id or ``<collection>/<obs_id>`` (``obs-list`` parameters); a job
takes each obs id once, so the obs id (an integer) names the observation everywhere in the job. The
archive collection each came from is recorded with its files (attribute ``collection``), in the
``inputs`` result (``observations``: obs id, collection, used) and in the FITS keyword ``OBS_COLL``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from astropy.coordinates import SkyCoord
from gammapy.data import Observations

from portal.archive.locate import ObservationLocation
from portal.jobs.definitions import JSON
from portal.jobs.exclusion import catalog_files
from portal.jobs.inputs import inputs_document
from portal.jobs.observations import InputFile, load_observations
from portal.jobs.reduction_cache import DATASET
from portal.provenance.record import LEFT_OUT
from portal.uws.definitions import JobContext, UsageError
from portal.uws.params import obs_item, repeated_observation


class Inputs:
    """The observations a job opened, and what it says about them once it knows which it used."""

    def __init__(self, ctx: JobContext, observations: Observations, files: list[InputFile],
                 collections: Mapping[int, str | None] | None = None) -> None:
        self.ctx = ctx
        self.observations = observations
        self.requested = [int(o.obs_id) for o in observations]
        self.collections = {int(k): v for k, v in (collections or {}).items() if v is not None}
        self.files: dict[int, list[InputFile]] = {}
        for item in files:
            if "obs_id" in item.attributes:
                self.files.setdefault(int(item.attributes["obs_id"]), []).append(item)
        self.used: list[int] | None = None
        self.left_out: dict[int, str] = {}
        self.decisions: dict[str, dict[str, Any]] = {}  # what the analysis chose itself, and why

    def selected(self, used: Iterable[int], left_out: Mapping[int, str]) -> None:
        """Record which observations entered the result (and why the others did not); publish ``inputs``."""
        self.used, self.left_out = [int(i) for i in used], {int(k): v for k, v in left_out.items()}
        for obs_id in self.used:
            record(self.ctx, self.files.get(obs_id, []))
        for obs_id, reason in self.left_out.items():
            for item in self.files.get(obs_id, []):
                self.ctx.used(item.path, LEFT_OUT, **{**item.attributes, "reason": reason})
        self.publish()
        summary = f"Observations used: {', '.join(map(str, self.used)) or 'none'} ({len(self.used)} of " \
                  f"{len(self.requested)})"
        if self.left_out:
            summary += "; left out: " + ", ".join(map(str, self.left_out))
        self.ctx.log.info("%s", summary)

    def publish(self) -> None:
        """Publish (again) the ``inputs`` result."""
        path = self.ctx.workdir / "inputs.json"
        path.write_text(json.dumps(self.document(), indent=2))
        self.ctx.publish("inputs", path, JSON)

    def decided(self, name: str, value: Any, reason: str) -> None:
        """Record a choice the analysis made itself (stacking under ``stack=auto``) in ``inputs``."""
        self.decisions[name] = {"value": value, "reason": reason}
        self.publish()
        note = getattr(self.ctx, "note", None)  # the provenance record (job services that offer it)
        if note is not None:
            note(name, value)
            note(f"{name}Reason", reason)

    def reductions(self, cache, used: Iterable[int]) -> None:
        """Say which observations' reductions came from the reduction cache (:mod:`portal.jobs.reduction_cache`):
        in ``inputs`` (decision ``reduction``), and in the provenance, where each entry read is used (role
        ``reduction``, an entity named by its key, from which the results are derived) and each entry stored
        is noted (``reductionsStored``: the keys, the entities a later job will name)."""
        used = [int(i) for i in used]
        reused = [i for i in used if i in cache.reused]
        for obs_id in reused:
            key = cache.reused[obs_id]
            path = cache.path(key) or cache.folder / f"{key}{DATASET}"  # evicted since: named all the same
            self.ctx.used(path, "reduction", reduction=key, obs_id=obs_id, cache="reused")
        reduced = [i for i in used if i not in cache.reused]
        reason = (f"{len(reused)} of {len(used)} observation(s) reduced earlier with the same files and choices "
                  "were read from the shared reduction cache; the others were reduced")
        self.decisions["reduction"] = {"value": {"reused": reused, "reduced": reduced}, "reason": reason}
        self.publish()
        note = getattr(self.ctx, "note", None)
        if note is not None:
            note("reductionReused", ",".join(map(str, reused)) or "none")
            stored = [cache.stored[i] for i in used if i in cache.stored]
            if stored:
                note("reductionsStored", ",".join(stored))

    def document(self) -> dict[str, Any]:
        document = inputs_document(self.requested, self.used or [], self.left_out)
        if self.collections:  # the archive collection of each observation (obs ids stay integers)
            used = set(document["used"])
            for item in document["left_out"]:
                item["collection"] = self.collections.get(item["obs_id"])
            document["observations"] = [{"obs_id": i, "collection": self.collections.get(i), "used": i in used}
                                        for i in self.requested]
        if self.decisions:
            document["decisions"] = self.decisions
        return document

    def header(self, target: SkyCoord) -> dict[str, Any]:
        """FITS keywords naming the target and the observations that entered the result: ``{key: (value,
        comment)}``, comments short enough to share a card with a short value. A list of many obs ids
        outgrows a card: :func:`portal.jobs.fluxpoints.fits_card` writes it whole (``CONTINUE`` cards)."""
        used = self.requested if self.used is None else self.used
        header = {
            "RA_OBJ": (round(float(target.ra.deg), 6), "[deg] target right ascension (ICRS)"),
            "DEC_OBJ": (round(float(target.dec.deg), 6), "[deg] target declination (ICRS)"),
            "OBS_IDS": (",".join(map(str, used)), "obs ids that entered the result"),
            "N_OBS": (len(used), "number of observations analysed"),
            "CREATOR": ("gamma-portal", "software that made this file"),
        }
        if self.left_out:
            header["OBS_OUT"] = (",".join(map(str, self.left_out)), "obs ids left out (see the inputs result)")
        collections = list(dict.fromkeys(self.collections[i] for i in used if i in self.collections))
        if collections:
            header["OBS_COLL"] = (",".join(collections), "archive collections of OBS_IDS")
        return header

    def model_section(self) -> dict[str, Any]:
        """The ``observations`` section of a model result."""
        document = self.document()
        return {"observations": {"used": document["used"], "left_out": document["left_out"]}}

    def __enter__(self) -> Inputs:
        return self

    def __exit__(self, kind, value, traceback) -> None:
        if kind is not None and self.used is None:  # failed before knowing: it read them all
            for files in self.files.values():
                record(self.ctx, files)


def open_observations(ctx: JobContext, obs_ids: Iterable[int | str], required_irf: Iterable[str]) -> Inputs:
    """Resolve ``obs_ids`` (obs ids or ``"<collection>/<obs_id>"``) through the archive and open them; the
    index files are recorded at once, every file with the collection its observation came from."""
    try:
        refs = list(dict.fromkeys(obs_item(i) for i in obs_ids))
    except ValueError as exc:
        raise UsageError(f"Not an observation: {exc}.") from None
    if not refs:
        raise UsageError("No observations were given: choose at least one obs id.")
    items = [number if collection is None else f"{collection}/{number}" for collection, number in refs]
    repeated = repeated_observation(items)
    if repeated:
        raise UsageError(repeated[0].upper() + repeated[1:] + ".")
    locations = ctx.locate(items)
    ids = [number for _, number in refs]
    missing = sorted(set(ids) - {loc.obs_id for loc in locations})
    if missing:
        raise UsageError(f"Unknown observation id(s): {', '.join(map(str, missing))}.")
    by_id = {loc.obs_id: loc for loc in locations}
    observations, files = load_observations([by_id[i] for i in ids], required_irf)
    files = with_collections(files, [by_id[i] for i in ids])
    record(ctx, [f for f in files if "obs_id" not in f.attributes])
    ctx.log.info("Observations requested: %s (%d)", ", ".join(map(str, items)), len(ids))
    return Inputs(ctx, observations, files, {i: getattr(by_id[i], "collection", None) for i in ids})


def with_collections(files: Iterable[InputFile], locations: Iterable[ObservationLocation]) -> list[InputFile]:
    """``files`` with the archive collection of their observation (index files: of their release folder)."""
    by_id: dict[int, str] = {}
    by_release: dict[Path, list[str]] = {}
    for loc in locations:
        collection = getattr(loc, "collection", None)
        if collection:
            by_id[loc.obs_id] = collection
            names = by_release.setdefault(Path(loc.release_dir), [])
            if collection not in names:
                names.append(collection)
    out = []
    for item in files:
        if "obs_id" in item.attributes:
            collection = by_id.get(int(item.attributes["obs_id"]))
        else:
            collection = ",".join(by_release.get(Path(item.path).parent, [])) or None
        out.append(replace(item, attributes={**item.attributes, "collection": collection}) if collection else item)
    return out


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
