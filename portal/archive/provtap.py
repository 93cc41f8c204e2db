"""A job's ProvDM record (PROV-JSON, :mod:`portal.provenance.record`) as rows of the ProvTAP tables.

:func:`rows` reads the PROV-JSON document a job wrote and returns ``{table: [row dicts]}`` for the
tables of :mod:`portal.archive.schema_prov`. Entities that stand for observation files keep their
``obs_id`` and collection and get the observation's ``obs_publisher_did``, so that they join
``ivoa.obscore``; a result that is published as a product gets the product's ``obs_publisher_did``.
Qualified names stay in their PROV-JSON form (``portal:job_<id>``), the same in every record.
"""

from __future__ import annotations

import json
from typing import Any

from portal.archive.gadf import did as observation_did

__all__ = ["rows"]

LEFT_OUT = "portal:leftOut"


def _value(value: Any) -> Any:
    """A PROV-JSON attribute value: typed values are ``{"$": v, "type": t}``, several values a list."""
    if isinstance(value, list):
        value = value[0] if value else None
    if isinstance(value, dict):
        value = value.get("$")
    return value


def _text(value: Any) -> str | None:
    value = _value(value)
    return None if value is None else str(value)


def _type(attrs: dict) -> str | None:
    return _text(attrs.get("prov:type"))


def rows(document: str | bytes, products: dict[str, str] | None = None) -> dict[str, list[dict]]:
    """The ProvTAP rows of one PROV-JSON document. ``products`` maps result ids (``flux_points``) to the
    ``obs_publisher_did`` of the product that result is published as."""
    doc = json.loads(document)
    products = products or {}
    out: dict[str, list[dict]] = {name: [] for name in (
        "activity", "activitydescription", "entity", "used", "wasgeneratedby", "wasderivedfrom", "agent",
        "wasassociatedwith", "parameter")}
    entities = doc.get("entity") or {}
    influences = list((doc.get("wasInfluencedBy") or {}).values())
    roles: dict[str, str] = {}
    generated: dict[str, str | None] = {}

    for rel in (doc.get("used") or {}).values():
        out["used"].append({"activity_id": _text(rel.get("prov:activity")), "entity_id": _text(rel.get("prov:entity")),
                            "role": _text(rel.get("prov:role")), "used_time": _text(rel.get("prov:time"))})
        roles.setdefault(_text(rel.get("prov:entity")), _text(rel.get("prov:role")))
    for rel in (doc.get("wasGeneratedBy") or {}).values():
        entity = _text(rel.get("prov:entity"))
        out["wasgeneratedby"].append({"entity_id": entity, "activity_id": _text(rel.get("prov:activity")),
                                      "role": _text(rel.get("prov:role")), "generated_time": _text(rel.get("prov:time"))})
        generated[entity] = _text(rel.get("prov:time"))
    for rel in (doc.get("wasDerivedFrom") or {}).values():
        out["wasderivedfrom"].append({"generated_entity_id": _text(rel.get("prov:generatedEntity")),
                                      "used_entity_id": _text(rel.get("prov:usedEntity")),
                                      "activity_id": _text(rel.get("prov:activity"))})
    for rel in (doc.get("wasAssociatedWith") or {}).values():
        out["wasassociatedwith"].append({"activity_id": _text(rel.get("prov:activity")),
                                         "agent_id": _text(rel.get("prov:agent")), "role": _text(rel.get("prov:role"))})

    described: dict[str, str] = {}
    configured: dict[str, str] = {}
    for rel in influences:
        kind, source, target = _text(rel.get("prov:type")), _text(rel.get("prov:influencer")), \
            _text(rel.get("prov:influencee"))
        if kind == "voprov:isDescribedBy":
            described[target] = source
        elif kind == "voprov:wasConfiguredBy":
            configured[source] = target
        elif kind == LEFT_OUT:
            roles.setdefault(source, "left-out")

    for ident, attrs in (doc.get("activity") or {}).items():
        out["activity"].append({
            "id": ident, "name": _text(attrs.get("voprov:name")), "start_time": _text(attrs.get("prov:startTime")),
            "end_time": _text(attrs.get("prov:endTime")), "comment": _text(attrs.get("prov:label")),
            "activitydescription_id": described.get(ident), "job_id": _text(attrs.get("portal:jobId")),
            "phase": _text(attrs.get("portal:phase"))})
    for ident, attrs in (doc.get("agent") or {}).items():
        versions = [f"{k.split('version_', 1)[1]} {_text(v)}" for k, v in attrs.items() if "version_" in k]
        out["agent"].append({"id": ident, "name": _text(attrs.get("voprov:name")), "type": _type(attrs),
                             "comment": ", ".join(versions) or None})

    for ident, attrs in entities.items():
        kind = _type(attrs)
        if kind == "voprov:ActivityDescription":
            out["activitydescription"].append({
                "id": ident, "name": _text(attrs.get("voprov:name")),
                "description": _text(attrs.get("voprov:description")), "code": _text(attrs.get("voprov:code"))})
            continue
        if kind == "voprov:Parameter":
            out["parameter"].append({
                "id": ident, "activity_id": configured.get(ident), "name": _text(attrs.get("voprov:name")),
                "param_value": _text(attrs.get("prov:value")), "unit": _text(attrs.get("voprov:unit"))})
            continue
        out["entity"].append(_entity(ident, attrs, roles.get(ident), generated.get(ident), products))
    return out


def _entity(ident: str, attrs: dict, role: str | None, generated_at: str | None, products: dict[str, str]) -> dict:
    obs_id = _text(attrs.get("portal:obs_id"))
    collection = _text(attrs.get("portal:collection"))
    name = _text(attrs.get("voprov:name")) or _text(attrs.get("prov:label"))
    did = None
    if obs_id is not None and collection and "," not in collection:
        try:
            did = observation_did(collection, int(obs_id))
        except ValueError:
            did = None
    elif generated_at is not None and name in products:
        did = products[name]
    size = _value(attrs.get("portal:size"))
    return {
        "id": ident, "name": name, "location": _text(attrs.get("voprov:location")),
        "content_type": _text(attrs.get("voprov:contentType")), "content_size": int(size) if size is not None else None,
        "sha256": _text(attrs.get("portal:sha256")), "generated_at_time": generated_at,
        "comment": _text(attrs.get("prov:label")) or _text(attrs.get("portal:leftOutReason")), "role": role,
        "obs_id": obs_id, "obs_collection": collection if obs_id is not None else None, "obs_publisher_did": did,
    }
