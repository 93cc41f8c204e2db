"""An IVOA ProvDM record of one job, serialised as W3C PROV (PROV-JSON and PROV-N) with `prov`.

ProvDM (IVOA Provenance Data Model 1.0) maps onto W3C PROV with the ``voprov`` namespace for its
own attributes and types. For a job the record holds:

- the **activity** (``portal:job_<id>``): start, end, the definition it ran (``voprov:name``,
  described by an ``voprov:ActivityDescription`` entity), its final phase and error message;
- what it **decided itself** (``stack=auto``: whether it stacked, and why): activity attributes
  ``portal:<name>``;
- its **parameters**: ``voprov:Parameter`` entities (name, value, unit; defaults included) and the job service
  **configuration**, linked as ProvDM's ``wasConfiguredBy`` (a ``wasInfluencedBy`` typed
  ``voprov:wasConfiguredBy`` with ``voprov:artefactType``);
- what it **used**: each input file as a ``voprov:DatasetEntity`` named by its SHA-256 (the
  same file has the same id in every record), with its path, checksum, role and attributes
  such as the obs id;
- what it **left out**: files of observations the job looked at but that did not enter its
  results (role ``left-out``, with the reason). ProvDM has no "used but rejected" relation, so
  they are not ``used``: the entity carries ``portal:leftOutReason`` and is linked to the
  activity by a plain ``wasInfluencedBy`` typed ``portal:leftOut``;
- what it **generated**: each result (id, relative path, content type, size, SHA-256);
- what it **derived from other jobs**: a result of another job that it used (a joint fit reads its
  spectrum jobs' ``datasets``) is the entity that job's own record names
  (``portal:job_<id>_result_<result>``, same SHA-256), and each result of this job
  ``wasDerivedFrom`` it, so the chain run -> instrument job -> joint fit can be followed;
- what it **reused**: an observation's reduction read from the shared reduction cache
  (:mod:`portal.jobs.reduction_cache`) is used as the entity ``portal:reduction_<key>`` (role
  ``reduction``), and each result ``wasDerivedFrom`` it; the job that made the entry noted its key
  (``portal:reductionsStored``) and its record says it generated that same entity;
- the **agents**: the owner (``prov:Person``) and the software (``prov:SoftwareAgent`` with
  the versions of Python, the portal and the science libraries).

``build(info)`` returns the ``prov.model.ProvDocument``; ``write(info, folder)`` writes
``provenance.json`` and ``provenance.provn`` there and returns their paths.
"""

from __future__ import annotations

import platform
import re
from dataclasses import dataclass, field
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import Any

from prov.model import PROV, PROV_LABEL, PROV_ROLE, PROV_TYPE, PROV_VALUE, ProvDocument

from portal.private import write_private

__all__ = ["ProvenanceInfo", "build", "write", "software_versions", "JSON_FILE", "PROVN_FILE", "LEFT_OUT"]

VOPROV_URI = "http://www.ivoa.net/documents/ProvenanceDM/ns/voprov/"
STORED_REDUCTIONS = "reductionsStored"  # the note naming the reduction-cache entries a job made (comma-separated)
LEFT_OUT = "left-out"  # the role of an input file the job considered but left out of its results
PORTAL_URI = "urn:gamma-portal:"
JSON_FILE = "provenance.json"
PROVN_FILE = "provenance.provn"
SOFTWARE = ("gamma-portal", "gammapy", "astropy", "numpy", "scipy", "iminuit", "regions", "pyvo",
            "dask", "distributed", "prov")


@dataclass
class ProvenanceInfo:
    """What the record is made from (plain values, so any process can build it)."""

    job_id: str
    definition: str
    description: str
    owner: str | None
    phase: str
    start: datetime | None
    end: datetime | None
    parameters: list[tuple[str, str, str | None]]  # name, value, unit
    inputs: list[dict[str, Any]]  # path, role, sha256, attributes
    results: list[dict[str, Any]]  # id, path, mime_type, size, sha256
    error: str | None = None
    config: dict[str, Any] = field(default_factory=dict)
    run: str = ""  # the run function's dotted path
    notes: dict[str, str] = field(default_factory=dict)  # what the job decided itself (stacked: true, why)


def software_versions() -> dict[str, str]:
    versions = {"python": platform.python_version()}
    for name in SOFTWARE:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def _local(text: str) -> str:
    """A QName local part: letters, digits, '_', '-', '.' only."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)[:120]


def _literal(value: Any) -> Any:
    if isinstance(value, (bool, int, float, str, datetime)):
        return value
    return str(value)


def build(info: ProvenanceInfo) -> ProvDocument:
    doc = ProvDocument()
    voprov = doc.add_namespace("voprov", VOPROV_URI)
    portal = doc.add_namespace("portal", PORTAL_URI)
    job = f"job_{_local(info.job_id)}"

    description = doc.entity(portal[f"definition_{_local(info.definition)}"], {
        PROV_TYPE: voprov["ActivityDescription"], voprov["name"]: info.definition,
        voprov["description"]: info.description, voprov["code"]: info.run or info.definition,
    })
    attributes = {PROV_LABEL: f"{info.definition} job {info.job_id}", voprov["name"]: info.definition,
                  portal["jobId"]: info.job_id, portal["phase"]: info.phase}
    if info.error:
        attributes[portal["errorMessage"]] = info.error
    for name, value in info.notes.items():
        attributes[portal[_local(name)]] = _literal(value)
    activity = doc.activity(portal[job], info.start, info.end, attributes)
    doc.influence(activity, description, other_attributes={PROV_TYPE: voprov["isDescribedBy"]})

    owner = info.owner or "anonymous"
    person = doc.agent(portal[f"user_{_local(owner)}"], {PROV_TYPE: PROV["Person"], voprov["name"]: owner})
    doc.association(activity, person, other_attributes={PROV_ROLE: "owner"})
    software = doc.agent(portal["software"], {
        PROV_TYPE: PROV["SoftwareAgent"], voprov["name"]: "gamma-portal job service",
        **{portal[f"version_{_local(k)}"]: v for k, v in software_versions().items()},
    })
    doc.association(activity, software, other_attributes={PROV_ROLE: "executor"})

    for name, value, unit in info.parameters:
        attrs = {PROV_TYPE: voprov["Parameter"], voprov["name"]: name, PROV_VALUE: str(value),
                 PROV_LABEL: f"{name} = {value}"}
        if unit:
            attrs[voprov["unit"]] = unit
        param = doc.entity(portal[f"{job}_parameter_{_local(name)}"], attrs)
        doc.influence(activity, param, other_attributes={
            PROV_TYPE: voprov["wasConfiguredBy"], voprov["artefactType"]: "Parameter"})
    if info.config:
        config = doc.entity(portal[f"{job}_configuration"], {
            PROV_TYPE: voprov["ConfigFile"], voprov["name"]: "job service configuration",
            **{portal[_local(k)]: _literal(v) for k, v in info.config.items()},
        })
        doc.influence(activity, config, other_attributes={
            PROV_TYPE: voprov["wasConfiguredBy"], voprov["artefactType"]: "ConfigFile"})

    for key in filter(None, (info.notes.get(STORED_REDUCTIONS) or "").split(",")):  # kept for later jobs
        stored = doc.entity(portal[f"reduction_{_local(key)}"], {
            PROV_TYPE: voprov["DatasetEntity"], PROV_LABEL: "reduced on/off spectrum in the reduction cache",
            portal["cacheKey"]: key})
        doc.generation(stored, activity, info.end, other_attributes={PROV_ROLE: "reduction"})

    derived_from = []
    for item in info.inputs:
        key = item.get("sha256") or _local(item["path"])
        source = item.get("attributes") or {}
        attrs = {PROV_TYPE: voprov["DatasetEntity"], voprov["location"]: item["path"],
                 PROV_LABEL: Path(item["path"]).name}
        if item.get("sha256"):
            attrs[portal["sha256"]] = item["sha256"]
        for k, v in (item.get("attributes") or {}).items():
            if v is not None:
                attrs[portal[_local(k)]] = _literal(v)
        if item.get("role") == LEFT_OUT:
            reason = attrs.pop(portal["reason"], None)
            if reason is not None:
                attrs[portal["leftOutReason"]] = reason
            entity = doc.entity(portal[f"file_{key[:32]}"], attrs)
            doc.influence(activity, entity, other_attributes={PROV_TYPE: portal["leftOut"]})
            continue
        if source.get("reduction"):  # a reduction an earlier job made and kept in the cache: the id it noted
            entity = doc.entity(portal[f"reduction_{_local(str(source['reduction']))}"], attrs)
            derived_from.append(entity)
        elif source.get("job_id") and source.get("result"):  # another job's result: the id its own record gives it
            entity = doc.entity(portal[f"job_{_local(str(source['job_id']))}_result_{_local(str(source['result']))}"],
                                attrs)
            derived_from.append(entity)
        else:
            entity = doc.entity(portal[f"file_{key[:32]}"], attrs)
        doc.usage(activity, entity, other_attributes={PROV_ROLE: item.get("role") or "input"})

    for result in info.results:
        attrs = {PROV_TYPE: voprov["DatasetEntity"], voprov["name"]: result["id"],
                 voprov["location"]: result["path"], voprov["contentType"]: result["mime_type"]}
        if result.get("size") is not None:
            attrs[portal["size"]] = int(result["size"])
        if result.get("sha256"):
            attrs[portal["sha256"]] = result["sha256"]
        entity = doc.entity(portal[f"{job}_result_{_local(result['id'])}"], attrs)
        doc.generation(entity, activity, info.end, other_attributes={PROV_ROLE: result["id"]})
        doc.attribution(entity, person)
        if result["id"] not in ("log", "provenance", "provn"):
            for used in derived_from:
                doc.derivation(entity, used, activity)
    return doc


def write(info: ProvenanceInfo, folder: Path) -> tuple[Path, Path]:
    doc = build(info)
    folder.mkdir(parents=True, exist_ok=True)
    json_path, provn_path = folder / JSON_FILE, folder / PROVN_FILE
    write_private(json_path, doc.serialize(format="json", indent=2))  # the job's owner's only
    write_private(provn_path, doc.get_provn())
    return json_path, provn_path
