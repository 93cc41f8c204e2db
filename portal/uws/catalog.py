"""``GET /uws``: the job definitions, so that clients can build forms (XML or JSON).

UWS 1.1 has no document for this, so the XML uses a small vocabulary of the portal's own
(namespace :data:`NAMESPACE`), built with pydantic-xml models like vo-models' documents. The
JSON form is the same content as plain objects::

    {"definitions": [{"name": "spectrum", "description": ..., "url": ".../uws/spectrum",
      "execution_duration": 3600,
      "parameters": [{"name": "ra", "type": "float", "unit": "deg", "required": true,
                      "default": null, "minimum": 0, "maximum": 360, "choices": null, "doc": ...,
                      "ucd": "pos.eq.ra;meta.main", "column": null, "label": "Right ascension",
                      "choice_labels": null}],
      "results": [{"id": "flux_points", "mime_type": "application/fits", "doc": ...}]}]}

With the service's quotas, the document starts with them (JSON ``"limits": {"max_jobs_per_user": 250,
"max_bytes_per_user": ..., "max_queued_per_user": ..., "memory_limit": <bytes>, "description": <a
sentence>}``; XML ``<limits maxJobsPerUser=... maxBytesPerUser=... maxQueuedPerUser=... memoryLimitBytes=...>``
with the sentence as its text); 0 means no limit.

``label`` is what a form calls the parameter (without its unit; null when the definition gives none:
show the name), ``choice_labels`` the display name of each choice (``{"pl": "power law", ...}``; the
value sent stays the choice). In the XML they are the ``label`` attributes of ``parameter`` and ``choice``.

``ucd`` and ``column`` say what a client may fill a parameter from (the target's position, the
selected observations' ``obs_id``...), so that a form can be pre-filled for any definition.
Every definition also lists the results the service adds to every job (``log``,
``provenance``, ``provn``) if the definition does not declare them itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Optional

from pydantic_xml import BaseXmlModel, attr, element

from portal.uws.definitions import REQUIRED, JobDefinition, Parameter, ResultSpec

__all__ = ["NAMESPACE", "STANDARD_RESULTS", "definitions_json", "definitions_xml", "all_results"]

NAMESPACE = "urn:gamma-portal:uws-definitions:v1"
NSMAP = {"": NAMESPACE}

STANDARD_RESULTS = (
    ResultSpec("log", "text/plain", "What the job printed and logged, readable while it runs"),
    ResultSpec("provenance", "application/json", "IVOA ProvDM record of the job, as PROV-JSON"),
    ResultSpec("provn", "text/provenance-notation", "The same provenance record, as PROV-N"),
)


def all_results(definition: JobDefinition) -> tuple[ResultSpec, ...]:
    declared = {r.id for r in definition.results}
    return tuple(definition.results) + tuple(r for r in STANDARD_RESULTS if r.id not in declared)


def _default_text(p: Parameter) -> str | None:
    if p.default is REQUIRED or p.default is None:
        return None
    if isinstance(p.default, bool):
        return "true" if p.default else "false"
    if isinstance(p.default, (list, tuple)):
        return ",".join(str(v) for v in p.default)
    return str(p.default)


def _default_json(p: Parameter) -> Any:
    if p.default is REQUIRED:
        return None
    if isinstance(p.default, tuple):
        return list(p.default)
    return p.default


class XmlChoice(BaseXmlModel, tag="choice", ns="", nsmap=NSMAP, skip_empty=True):
    value: str
    label: Optional[str] = attr(default=None)


class XmlParameter(BaseXmlModel, tag="parameter", ns="", nsmap=NSMAP, skip_empty=True):
    name: str = attr()
    type: str = attr()
    required: bool = attr()
    unit: Optional[str] = attr(default=None)
    default: Optional[str] = attr(default=None)
    minimum: Optional[float] = attr(default=None)
    maximum: Optional[float] = attr(default=None)
    ucd: Optional[str] = attr(default=None)
    column: Optional[str] = attr(default=None)
    label: Optional[str] = attr(default=None)
    doc: str = element(tag="doc")
    choices: list[XmlChoice] = element(tag="choice", default_factory=list)


class XmlResult(BaseXmlModel, tag="result", ns="", nsmap=NSMAP):
    id: str = attr()
    mime_type: str = attr(name="mimeType")
    doc: str = element(tag="doc")


class XmlDefinition(BaseXmlModel, tag="definition", ns="", nsmap=NSMAP, skip_empty=True):
    name: str = attr()
    href: str = attr()
    execution_duration: int = attr(name="executionDuration")
    description: str = element(tag="description")
    parameters: list[XmlParameter] = element(tag="parameter", default_factory=list)
    results: list[XmlResult] = element(tag="result", default_factory=list)


class XmlLimits(BaseXmlModel, tag="limits", ns="", nsmap=NSMAP):
    """The service's per-user quotas and the memory limit of a job process (0: none), with a sentence."""

    max_jobs_per_user: int = attr(name="maxJobsPerUser")
    max_bytes_per_user: int = attr(name="maxBytesPerUser")
    max_queued_per_user: int = attr(name="maxQueuedPerUser")
    memory_limit: int = attr(name="memoryLimitBytes")
    description: str


class XmlDefinitions(BaseXmlModel, tag="definitions", ns="", nsmap=NSMAP, skip_empty=True):
    limits: Optional[XmlLimits] = element(default=None)
    definitions: list[XmlDefinition] = element(tag="definition", default_factory=list)


def definitions_xml(definitions: Iterable[JobDefinition], base_url: str, limits: dict | None = None) -> bytes:
    """``limits``: the service's quotas (:meth:`portal.uws.service.JobService.limits`), published first."""
    doc = XmlDefinitions(limits=XmlLimits(**limits) if limits else None, definitions=[
        XmlDefinition(
            name=d.name, href=f"{base_url}/{d.name}", execution_duration=d.execution_duration,
            description=d.description,
            parameters=[
                XmlParameter(name=p.name, type=p.type, required=p.required, unit=p.unit,
                             default=_default_text(p), minimum=p.minimum, maximum=p.maximum, doc=p.doc,
                             ucd=p.ucd, column=p.column, label=p.label,
                             choices=[XmlChoice(value=value, label=name if p.choice_labels else None)
                                      for value, name in p.choice_names().items()])
                for p in d.parameters
            ],
            results=[XmlResult(id=r.id, mime_type=r.mime_type, doc=r.doc) for r in all_results(d)],
        )
        for d in definitions
    ])
    return doc.to_xml(encoding="UTF-8", xml_declaration=True)


def definitions_json(definitions: Iterable[JobDefinition], base_url: str,
                     limits: dict | None = None) -> dict[str, Any]:
    return {**({"limits": limits} if limits else {}), "definitions": [
        {
            "name": d.name,
            "description": d.description,
            "url": f"{base_url}/{d.name}",
            "execution_duration": d.execution_duration,
            "parameters": [
                {"name": p.name, "type": p.type, "unit": p.unit, "required": p.required,
                 "default": _default_json(p), "minimum": p.minimum, "maximum": p.maximum,
                 "choices": list(p.choices) if p.choices else None, "doc": p.doc,
                 "ucd": p.ucd, "column": p.column, "label": p.label,
                 "choice_labels": p.choice_names() if p.choice_labels else None}
                for p in d.parameters
            ],
            "results": [{"id": r.id, "mime_type": r.mime_type, "doc": r.doc} for r in all_results(d)],
        }
        for d in definitions
    ]}
