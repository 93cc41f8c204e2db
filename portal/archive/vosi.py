"""VOSI documents of the TAP service: capabilities (TAPRegExt) and tables, built with vo-models."""

from __future__ import annotations

from vo_models.tapregext.models import (DataLimit, DataLimits, DataModelType, Language, LanguageFeature,
                                        LanguageFeatureList, OutputFormat, TableAccess, TimeLimits,
                                        UploadMethod, Version)
from vo_models.vodataservice.models import (DataType, FKColumn, ForeignKey, ParamHTTP, Table, TableParam,
                                           TableSchema)
from vo_models.voresource.models import AccessURL, Capability, Interface
from vo_models.vosi.capabilities.models import VOSICapabilities
from vo_models.vosi.tables.models import VOSITable, VOSITableSet

from portal.archive import output, service
from portal.archive.limits import Limits
from portal.archive.schema import PUBLISHED_TABLES, SCHEMAS, ColumnDef, TableDef, column_name
from portal.config import JobLimits

TAPREGEXT = "ivo://ivoa.net/std/TAPRegExt#"
FEATURES = {
    "features-adqlgeo": ["POINT", "CIRCLE", "BOX", "POLYGON", "CONTAINS", "INTERSECTS", "DISTANCE", "COORD1",
                         "COORD2", "COORDSYS", "AREA", "CENTROID"],
    "features-adql-string": ["LOWER", "UPPER", "ILIKE"],
    "features-adql-offset": ["OFFSET"],
    "features-adql-sets": ["UNION", "EXCEPT", "INTERSECT"],
    "features-adql-common-table": ["WITH"],
}
OUTPUT_IVOIDS = {"votable": TAPREGEXT + "output-votable-binary2", "votable/td": TAPREGEXT + "output-votable-td"}
RETENTION = (7 * 86400, 30 * 86400)  # async jobs: default and hard destruction delay, seconds
EXECUTION = (600, 3600)  # async jobs: default and hard executionDuration, seconds


def _http(url: str, use: str = "full", role: str | None = None, version: str | None = None) -> ParamHTTP:
    return ParamHTTP(role=role, version=version, access_url=[AccessURL(value=url, use=use)])


def capabilities(base: str, limits: Limits | None = None) -> str:
    """The VOSI capabilities document; ``base`` is the TAP base URL (…/tap).

    The limits of :mod:`portal.archive.limits` are in TAPRegExt's elements (output in rows,
    uploads in bytes, async execution and retention) and, all of them, in the description, with the
    per-user quotas of async jobs (:class:`portal.config.JobLimits`; TAPRegExt has no element for them).
    """
    limits = limits or Limits.from_env()
    tap = TableAccess(
        description=limits.summary(JobLimits.from_env()),
        interface=[_http(base, "base", "std", "1.1")],
        data_model=[DataModelType(value="ObsCore-1.1", ivo_id="ivo://ivoa.net/std/ObsCore#core-1.1")],
        language=[Language(
            name="ADQL",
            version=[Version(value="2.0", ivo_id="ivo://ivoa.net/std/ADQL#v2.0"),
                     Version(value="2.1", ivo_id="ivo://ivoa.net/std/ADQL#v2.1")],
            description="ADQL 2.1 translated to SQLite; geometry on the sphere with an R*Tree index",
            language_features=[LanguageFeatureList(type=TAPREGEXT + kind,
                                                   feature=[LanguageFeature(form=f) for f in forms])
                               for kind, forms in FEATURES.items()],
        )],
        output_format=[OutputFormat(mime=f.mime, alias=[f.name], ivo_id=OUTPUT_IVOIDS.get(f.name))
                       for f in output.FORMATS],
        upload_method=[UploadMethod(ivo_id=TAPREGEXT + "upload-inline"),
                       UploadMethod(ivo_id=TAPREGEXT + "upload-http"),
                       UploadMethod(ivo_id=TAPREGEXT + "upload-https")],
        retention_period=TimeLimits(default=RETENTION[0], hard=RETENTION[1]),
        execution_duration=TimeLimits(default=EXECUTION[0], hard=EXECUTION[1]),
        output_limit=DataLimits(default=DataLimit(value=service.DEFAULT_MAXREC, unit="row"),
                                hard=DataLimit(value=service.HARD_MAXREC, unit="row")),
        upload_limit=DataLimits(default=DataLimit(value=limits.max_upload_bytes, unit="byte"),
                                hard=DataLimit(value=limits.max_request_bytes, unit="byte")),
    )
    vosi = [
        Capability(standard_id="ivo://ivoa.net/std/VOSI#capabilities", interface=[_http(base + "/capabilities")]),
        Capability(standard_id="ivo://ivoa.net/std/VOSI#availability", interface=[_http(base + "/availability")]),
        Capability(standard_id="ivo://ivoa.net/std/VOSI#tables-1.1",
                   interface=[_http(base + "/tables", "base", None, "1.1")]),
        Capability(standard_id="ivo://ivoa.net/std/DALI#examples",
                   interface=[Interface(type="vr:WebBrowser", access_url=[AccessURL(value=base + "/examples",
                                                                                   use="full")])]),
    ]
    doc = VOSICapabilities(capability=[tap, *vosi])
    return doc.to_xml(encoding=str, skip_empty=True)


def _column(c: ColumnDef) -> TableParam:
    flags = [f for f, on in (("indexed", c.indexed), ("principal", c.principal), ("std", c.std)) if on]
    # VODataService 1.1 (what VOSI tables validates against) has no place for the xtype
    return TableParam(column_name=column_name(c.name), description=c.description or None, unit=c.unit,
                      ucd=c.ucd, utype=c.utype,
                      datatype=DataType(type="vs:VOTableType", arraysize=c.arraysize, value=c.datatype),
                      flag=flags)


def _table(t: TableDef, rows: int | None, detail: bool = True, cls=VOSITable):
    return cls(
        table_type=t.table_type, table_name=t.qualified, description=t.description, utype=t.utype, nrows=rows,
        column=[_column(c) for c in t.columns] if detail else [],
        foreign_key=[ForeignKey(target_table=fk.target_table,
                                fk_column=[FKColumn(from_column=a, target_column=b) for a, b in fk.columns],
                                description=fk.description or None)
                     for fk in t.foreign_keys] if detail else [],
    )


def tableset(nrows: dict[str, int], detail: bool = True) -> str:
    """VOSI /tables; ``detail=False`` lists tables without their columns (VOSI 1.1 detail=min)."""
    schemas = []
    for name, description, utype in SCHEMAS:
        tables = [_table(t, nrows.get(t.qualified), detail, cls=Table)
                  for t in PUBLISHED_TABLES if t.schema == name]
        schemas.append(TableSchema(schema_name=name, description=description, utype=utype, table=tables))
    return VOSITableSet(tableset_schema=schemas).to_xml(encoding=str, skip_empty=True)


def table(qualified: str, nrows: int | None) -> str | None:
    for t in PUBLISHED_TABLES:
        if t.qualified.lower() == qualified.lower():
            return _table(t, nrows).to_xml(encoding=str, skip_empty=True)
    return None
