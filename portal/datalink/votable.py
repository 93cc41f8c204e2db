"""DataLink 1.1 response documents, built with astropy's VOTable tree (no XML templates)."""

from __future__ import annotations

from dataclasses import dataclass

from astropy.units import Unit
from astropy.io.votable.tree import Field, Group, Info, Param, Resource, TableElement, Values, VOTableFile

from portal.votable import to_xml_bytes

DATALINK = "application/x-votable+xml;content=datalink"
UWS_ASYNC = "ivo://ivoa.net/std/UWS#async-1.1"

# (name, datatype, ucd): the DataLink 1.1 columns, in the order of the standard
COLUMNS = (
    ("ID", "char", "meta.id;meta.main"),
    ("access_url", "char", "meta.ref.url"),
    ("service_def", "char", "meta.ref"),
    ("error_message", "char", "meta.code.error"),
    ("description", "char", "meta.note"),
    ("semantics", "char", "meta.code"),
    ("content_type", "char", "meta.code.mime"),
    ("content_length", "long", "phys.size;meta.file"),
    ("content_qualifier", "char", "meta.code.class"),
    ("local_semantics", "char", "meta.code"),
    ("link_auth", "char", "meta.code"),
    ("link_authorized", "boolean", "meta.code"),
)


@dataclass(frozen=True)
class Link:
    """One row of a DataLink table."""

    id: str
    access_url: str | None = None
    service_def: str | None = None
    error_message: str | None = None
    description: str | None = None
    semantics: str = "#this"
    content_type: str | None = None
    content_length: int | None = None
    content_qualifier: str | None = None
    local_semantics: str | None = None
    link_auth: str = "false"  # anonymous access (TAP reads and files are public)


@dataclass(frozen=True)
class ServiceParam:
    """An input parameter of a service descriptor (a UWS job parameter)."""

    name: str
    datatype: str  # VOTable datatype
    value: object
    description: str
    unit: str | None = None
    minimum: float | None = None
    maximum: float | None = None
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class ServiceDescriptor:
    id: str  # the XML ID that service_def refers to
    access_url: str
    description: str
    params: tuple[ServiceParam, ...]
    standard_id: str = UWS_ASYNC


def datalink_votable(links: list[Link], services: list[ServiceDescriptor], status: str = "OK",
                     message: str | None = None) -> bytes:
    """Serialise a DataLink response (VOTable 1.4, TABLEDATA)."""
    votable = VOTableFile(version="1.4")
    results = Resource(type="results")
    votable.resources.append(results)
    info = Info(name="QUERY_STATUS", value=status)
    if message:
        info.content = message
    results.infos.append(info)
    table = TableElement(votable, name="links")
    results.tables.append(table)
    for name, datatype, ucd in COLUMNS:
        field = Field(votable, name=name, datatype=datatype, ucd=ucd,
                      arraysize="*" if datatype == "char" else None, unit="byte" if name == "content_length" else None)
        table.fields.append(field)
    table.create_arrays(len(links))
    for i, link in enumerate(links):
        values = (link.id, link.access_url, link.service_def, link.error_message, link.description, link.semantics,
                  link.content_type, link.content_length, link.content_qualifier, link.local_semantics,
                  link.link_auth, None)
        types = [datatype for _, datatype, _ in COLUMNS]
        row = [("" if v is None else v) if t == "char" else v for v, t in zip(values, types, strict=True)]
        mask = [v is None for v in values]
        row[7] = 0 if link.content_length is None else int(link.content_length)
        row[11] = False
        table.array[i] = tuple(row)
        table.array.mask[i] = tuple(mask)
    for service in services:
        votable.resources.append(_service_resource(votable, service))
    return to_xml_bytes(votable)


def _service_resource(votable: VOTableFile, service: ServiceDescriptor) -> Resource:
    resource = Resource(type="meta", utype="adhoc:service", ID=service.id)
    resource.description = service.description
    resource.params.append(Param(votable, name="standardID", datatype="char", arraysize="*",
                                 value=service.standard_id))
    resource.params.append(Param(votable, name="accessURL", datatype="char", arraysize="*",
                                 value=service.access_url))
    group = Group(resource, name="inputParams")
    for p in service.params:
        value = p.value
        if p.datatype == "char":
            value = "" if value is None else str(value)
        elif value is None and p.datatype in ("double", "float"):
            value = float("nan")  # an optional parameter without a default (fit_e_min...): a float's null
        param = Param(votable, name=p.name, datatype=p.datatype, arraysize="*" if p.datatype == "char" else None,
                      value=value, unit=_vounit(p.unit))
        param.description = p.description if _vounit(p.unit) == p.unit else f"{p.description} (in {p.unit})"
        if p.minimum is not None or p.maximum is not None or p.options:
            values = Values(votable, param)
            if p.minimum is not None:
                values.min = p.minimum
            if p.maximum is not None:
                values.max = p.maximum
            if p.options:
                values.options.extend((o, o) for o in p.options)
            param.values = values
        group.entries.append(param)
    resource.groups.append(group)
    return resource


def _vounit(unit: str | None) -> str | None:
    """``unit`` when VOUnits 1.0 knows it, else None (a percentage is not a VOUnit: it goes in the description)."""
    if not unit:
        return None
    try:
        Unit(unit, format="vounit")
    except ValueError:
        return None
    return unit


def error_votable(message: str) -> bytes:
    """A DataLink error document (for a request that cannot be answered at all)."""
    return datalink_votable([], [], status="ERROR", message=message)


