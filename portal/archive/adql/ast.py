"""The ADQL syntax tree the parser builds and the translator walks."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Union

Pos = tuple[int, int]  # (line, column), 1-based


@dataclass(frozen=True)
class Ident:
    name: str
    quoted: bool = False
    pos: Pos = field(default=(0, 0), compare=False)  # where it is written (not part of its identity)

    def matches(self, other: str) -> bool:
        return self.name == other if self.quoted else self.name.lower() == other.lower()

    def __str__(self) -> str:
        if self.quoted:
            return '"' + self.name.replace('"', '""') + '"'
        return self.name


# --- expressions -------------------------------------------------------------------------

@dataclass
class Num:
    value: int | float
    text: str
    pos: Pos


@dataclass
class Str:
    value: str
    pos: Pos


@dataclass
class Null:
    pos: Pos


@dataclass
class Column:
    parts: list[Ident]
    pos: Pos

    def __str__(self) -> str:
        return ".".join(str(p) for p in self.parts)


@dataclass
class Call:
    name: Ident
    args: list["Expr"]
    pos: Pos
    quantifier: str | None = None  # DISTINCT / ALL inside an aggregate
    star: bool = False  # COUNT(*)


@dataclass
class Unary:
    op: str
    operand: "Expr"
    pos: Pos


@dataclass
class Binary:
    op: str  # + - * / ||
    left: "Expr"
    right: "Expr"
    pos: Pos


@dataclass
class Compare:
    op: str
    left: "Expr"
    right: "Expr"
    pos: Pos


@dataclass
class Between:
    negated: bool
    expr: "Expr"
    low: "Expr"
    high: "Expr"
    pos: Pos


@dataclass
class InList:
    negated: bool
    expr: "Expr"
    items: list["Expr"]
    pos: Pos


@dataclass
class InQuery:
    negated: bool
    expr: "Expr"
    query: "QueryExpr"
    pos: Pos


@dataclass
class Like:
    negated: bool
    expr: "Expr"
    pattern: "Expr"
    case_insensitive: bool
    pos: Pos


@dataclass
class IsNull:
    negated: bool
    expr: "Expr"
    pos: Pos


@dataclass
class Exists:
    query: "QueryExpr"
    pos: Pos


@dataclass
class BoolOp:
    op: str  # AND / OR
    left: "Expr"
    right: "Expr"
    pos: Pos


@dataclass
class Not:
    operand: "Expr"
    pos: Pos


@dataclass
class Subquery:
    query: "QueryExpr"
    pos: Pos


Expr = Union[Num, Str, Null, Column, Call, Unary, Binary, Compare, Between, InList, InQuery, Like,
             IsNull, Exists, BoolOp, Not, Subquery]


# --- queries -----------------------------------------------------------------------------

@dataclass
class SelectExpr:
    expr: Expr
    alias: Ident | None


@dataclass
class SelectTableStar:
    qualifier: list[Ident]
    pos: Pos


@dataclass
class NamedTable:
    parts: list[Ident]
    alias: Ident | None
    pos: Pos


@dataclass
class DerivedTable:
    query: "QueryExpr"
    alias: Ident
    pos: Pos


@dataclass
class Join:
    kind: str  # INNER LEFT RIGHT FULL CROSS
    left: "TableRef"
    right: "TableRef"
    on: Expr | None = None
    using: list[Ident] | None = None
    natural: bool = False
    pos: Pos = (0, 0)


TableRef = Union[NamedTable, DerivedTable, Join]


@dataclass
class QuerySpec:
    distinct: bool
    top: int | None
    items: list[SelectExpr | SelectTableStar] | None  # None: SELECT *
    tables: list[TableRef]
    where: Expr | None
    group_by: list[Expr]
    having: Expr | None
    pos: Pos


@dataclass
class SetOp:
    op: str  # UNION EXCEPT INTERSECT
    all: bool
    left: "QueryBody"
    right: "QueryBody"
    pos: Pos


QueryBody = Union[QuerySpec, SetOp]


@dataclass
class SortSpec:
    expr: Expr
    descending: bool


@dataclass
class CommonTable:
    name: Ident
    columns: list[Ident] | None
    query: "QueryExpr"
    pos: Pos


@dataclass
class QueryExpr:
    body: QueryBody
    with_: list[CommonTable] = field(default_factory=list)
    order_by: list[SortSpec] = field(default_factory=list)
    offset: int | None = None
