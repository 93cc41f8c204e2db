"""Typed SQL fragments: what the translator knows about each expression it has translated."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from portal.archive.schema import ColumnDef

INTEGER_TYPES = ("boolean", "short", "int", "long")
NUMERIC_TYPES = INTEGER_TYPES + ("float", "double")
GEOMETRY_XTYPES = ("point", "circle", "polygon", "adql:region", "adql:point", "shape")


def meta(name: str, datatype: str, arraysize: str | None = None, xtype: str | None = None,
         unit: str | None = None, ucd: str | None = None, description: str = "") -> ColumnDef:
    if datatype in ("char", "unicodeChar") and arraysize is None:
        arraysize = "*"
    return ColumnDef(name, datatype, description, unit=unit, ucd=ucd, arraysize=arraysize, xtype=xtype)


LONG = meta("value", "long")
DOUBLE = meta("value", "double")
TEXT = meta("value", "char")
BOOL = meta("value", "boolean")
POINT = meta("point", "double", "2", "point", "deg")
CIRCLE = meta("circle", "double", "3", "circle", "deg")
POLYGON = meta("polygon", "double", "*", "polygon", "deg")


@dataclass
class Geo:
    """A geometry built by a constructor (POINT, CIRCLE, BOX, POLYGON) with its argument SQL."""

    kind: str  # point circle box polygon
    args: list["Typed"]


@dataclass
class Typed:
    sql: str
    meta: ColumnDef
    condition: bool = False  # a predicate (true/false), not a value
    geo: Geo | None = None
    refs: frozenset = frozenset()  # ids of the FROM items this expression reads
    column: tuple[object, str] | None = None  # (FROM item, column name) for a bare column reference
    aggregate: bool = False
    hints: tuple = ()  # spatial-index hints (kind, FROM item, shape SQL) of a conjunctive condition

    @property
    def is_numeric(self) -> bool:
        return self.meta.datatype in NUMERIC_TYPES and not self.meta.arraysize

    @property
    def is_geometry(self) -> bool:
        return self.geo is not None or (self.meta.xtype or "").lower() in GEOMETRY_XTYPES


def renamed(column: ColumnDef, name: str) -> ColumnDef:
    return replace(column, name=name)


def merge_refs(*items: "Typed") -> frozenset:
    out: set = set()
    for t in items:
        out |= t.refs
    return frozenset(out)


def numeric_result(*items: "Typed") -> ColumnDef:
    if all(t.meta.datatype in INTEGER_TYPES for t in items):
        return LONG
    return DOUBLE


@dataclass
class OutputColumn:
    """A result column: its metadata (name unique within the result) and SQL alias."""

    meta: ColumnDef
    sql_alias: str
    geometry_kind: str | None = field(default=None)  # converted from text to DALI arrays on output
