"""Translate ADQL value expressions and conditions into SQLite SQL."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from portal.archive.adql import ast
from portal.archive.adql import geometry as geo
from portal.archive.adql.parser import FLOAT_RANGE, LARGEST, AdqlError, shown
from portal.archive.adql.types import BOOL, DOUBLE, LONG, TEXT, Typed, merge_refs, meta, numeric_result
from portal.parsing import NOT_XML

if TYPE_CHECKING:
    from portal.archive.adql.translate import QueryTranslator, Scope

# name -> (min args, max args, SQL function, result: "arg" | "double" | "long" | "text")
MATH = {
    "abs": (1, 1, "abs", "arg"), "ceiling": (1, 1, "ceil", "double"), "floor": (1, 1, "floor", "double"),
    "degrees": (1, 1, "degrees", "double"), "radians": (1, 1, "radians", "double"),
    "exp": (1, 1, "exp", "double"), "log": (1, 1, "ln", "double"), "log10": (1, 1, "log10", "double"),
    "mod": (2, 2, "mod", "arg"), "pi": (0, 0, "pi", "double"), "power": (2, 2, "power", "double"),
    "sqrt": (1, 1, "sqrt", "double"), "rand": (0, 1, "adql_rand", "double"),
    "round": (1, 2, "adql_round", "arg"), "truncate": (1, 2, "adql_truncate", "arg"),
    "sin": (1, 1, "sin", "double"), "cos": (1, 1, "cos", "double"), "tan": (1, 1, "tan", "double"),
    "cot": (1, 1, "adql_cot", "double"), "asin": (1, 1, "asin", "double"),
    "acos": (1, 1, "acos", "double"), "atan": (1, 1, "atan", "double"),
    "atan2": (2, 2, "atan2", "double"),
}
STRING = {"lower": "lower", "upper": "upper"}
AGGREGATES = ("count", "min", "max", "avg", "sum")
FUNCTION_NAMES = sorted(set(MATH) | set(STRING) | set(AGGREGATES) | set(geo.GEOMETRY_FUNCTIONS) | {"coalesce"})


class ExpressionTranslator:
    def __init__(self, query: "QueryTranslator"):
        self.q = query

    # --- entry points
    def value(self, node: ast.Expr, scope: "Scope") -> Typed:
        t = self.expr(node, scope)
        if t.condition:
            raise AdqlError("a condition cannot be used as a value here", _pos(node))
        return t

    def condition(self, node: ast.Expr, scope: "Scope", clause: str) -> Typed:
        t = self.expr(node, scope)
        if t.condition:
            return t
        if isinstance(node, ast.Call) and node.name.name.lower() in ("contains", "intersects"):
            return Typed(f"({t.sql} = 1)", BOOL, True, refs=t.refs, hints=t.hints)
        raise AdqlError(f"{clause} needs a condition (for example x = 1 or "
                        "1 = CONTAINS(POINT(...), CIRCLE(...))), not a value", _pos(node))

    # --- dispatch
    def expr(self, node: ast.Expr, scope: "Scope") -> Typed:
        method = getattr(self, "_" + type(node).__name__.lower())
        return method(node, scope)

    def _num(self, node: ast.Num, scope) -> Typed:
        v = node.value
        if isinstance(v, float):
            if not math.isfinite(v):
                raise AdqlError(f"the number {shown(node.text)} is out of range: numbers here lie within "
                                f"{FLOAT_RANGE} (a double)", node.pos)
            return Typed(repr(v), DOUBLE)
        if not -(2**63) <= v < 2**63:
            raise AdqlError(f"the integer {shown(node.text)} is out of range: integers here lie between "
                            f"{-LARGEST - 1} and {LARGEST}; write a larger value as a floating-point number "
                            "(for example 1e30)", node.pos)
        return Typed(str(v), LONG)

    def _str(self, node: ast.Str, scope) -> Typed:
        if "\x00" in node.value:
            raise AdqlError("strings may not contain NUL characters", node.pos)
        bad = NOT_XML.search(node.value)
        if bad is not None:
            raise AdqlError(f"strings may not contain the control character U+{ord(bad.group()):04X} "
                            "(a VOTable cannot carry it)", node.pos)
        return Typed("'" + node.value.replace("'", "''") + "'", TEXT)

    def _null(self, node, scope) -> Typed:
        return Typed("NULL", TEXT)

    def _column(self, node: ast.Column, scope: "Scope") -> Typed:
        return scope.resolve(node)

    def _subquery(self, node: ast.Subquery, scope) -> Typed:
        sql, columns = self.q.subquery(node.query, scope)
        if len(columns) != 1:
            raise AdqlError("a subquery used as a value must select exactly one column", node.pos)
        return Typed(f"({sql})", columns[0].meta)

    def _unary(self, node: ast.Unary, scope) -> Typed:
        t = self._numeric(node.operand, scope, "'-'")
        return Typed(f"(-{t.sql})", t.meta, refs=t.refs, aggregate=t.aggregate)

    def _binary(self, node: ast.Binary, scope) -> Typed:
        if node.op == "||":
            left, right = self.value(node.left, scope), self.value(node.right, scope)
            return Typed(f"({left.sql} || {right.sql})", TEXT, refs=merge_refs(left, right),
                         aggregate=left.aggregate or right.aggregate)
        left = self._numeric(node.left, scope, f"'{node.op}'")
        right = self._numeric(node.right, scope, f"'{node.op}'")
        result = numeric_result(left, right)
        unit = left.meta.unit if node.op in "+-" and left.meta.unit == right.meta.unit else None
        if unit:
            result = meta("value", result.datatype, unit=unit)
        return Typed(f"({left.sql} {node.op} {right.sql})", result, refs=merge_refs(left, right),
                     aggregate=left.aggregate or right.aggregate)

    def _numeric(self, node, scope, what: str) -> Typed:
        t = self.value(node, scope)
        if not t.is_numeric and not (isinstance(node, ast.Null)):
            if t.meta.datatype in ("char", "unicodeChar") or t.is_geometry:
                raise AdqlError(f"{what} needs numbers, and {_describe(node)} is not a number", _pos(node))
        return t

    # --- conditions
    def _compare(self, node: ast.Compare, scope) -> Typed:
        special = geo.compare(self, node, scope)
        if special is not None:
            return special
        left, right = self.value(node.left, scope), self.value(node.right, scope)
        return Typed(f"({left.sql} {node.op} {right.sql})", BOOL, True, refs=merge_refs(left, right),
                     aggregate=left.aggregate or right.aggregate)

    def _between(self, node: ast.Between, scope) -> Typed:
        e, lo, hi = (self.value(n, scope) for n in (node.expr, node.low, node.high))
        neg = "NOT " if node.negated else ""
        return Typed(f"({e.sql} {neg}BETWEEN {lo.sql} AND {hi.sql})", BOOL, True, refs=merge_refs(e, lo, hi),
                     aggregate=e.aggregate)

    def _inlist(self, node: ast.InList, scope) -> Typed:
        e = self.value(node.expr, scope)
        items = [self.value(i, scope) for i in node.items]
        neg = "NOT " if node.negated else ""
        return Typed(f"({e.sql} {neg}IN ({', '.join(i.sql for i in items)}))", BOOL, True,
                     refs=merge_refs(e, *items), aggregate=e.aggregate)

    def _inquery(self, node: ast.InQuery, scope) -> Typed:
        e = self.value(node.expr, scope)
        sql, columns = self.q.subquery(node.query, scope)
        if len(columns) != 1:
            raise AdqlError("the subquery after IN must select exactly one column", node.pos)
        neg = "NOT " if node.negated else ""
        return Typed(f"({e.sql} {neg}IN ({sql}))", BOOL, True, refs=e.refs, aggregate=e.aggregate)

    def _like(self, node: ast.Like, scope) -> Typed:
        e, p = self.value(node.expr, scope), self.value(node.pattern, scope)
        neg = "NOT " if node.negated else ""
        if node.case_insensitive:
            return Typed(f"(lower({e.sql}) {neg}LIKE lower({p.sql}))", BOOL, True, refs=merge_refs(e, p))
        return Typed(f"({e.sql} {neg}LIKE {p.sql})", BOOL, True, refs=merge_refs(e, p))

    def _isnull(self, node: ast.IsNull, scope) -> Typed:
        e = self.value(node.expr, scope)
        return Typed(f"({e.sql} IS {'NOT ' if node.negated else ''}NULL)", BOOL, True, refs=e.refs,
                     aggregate=e.aggregate)

    def _exists(self, node: ast.Exists, scope) -> Typed:
        sql, _ = self.q.subquery(node.query, scope)
        return Typed(f"(EXISTS ({sql}))", BOOL, True)

    def _boolop(self, node: ast.BoolOp, scope) -> Typed:
        left = self.condition(node.left, scope, node.op)
        right = self.condition(node.right, scope, node.op)
        hints = left.hints + right.hints if node.op == "AND" else ()
        return Typed(f"({left.sql} {node.op} {right.sql})", BOOL, True, refs=merge_refs(left, right),
                     aggregate=left.aggregate or right.aggregate, hints=hints)

    def _not(self, node: ast.Not, scope) -> Typed:
        t = self.condition(node.operand, scope, "NOT")
        return Typed(f"(NOT {t.sql})", BOOL, True, refs=t.refs, aggregate=t.aggregate)

    # --- functions
    def _call(self, node: ast.Call, scope) -> Typed:
        name = node.name.name.lower() if not node.name.quoted else node.name.name
        if name in geo.GEOMETRY_FUNCTIONS:
            return geo.call(self, node, name, scope)
        if name in AGGREGATES:
            return self._aggregate(node, name, scope)
        if node.star or node.quantifier:
            raise AdqlError(f"{node.name.name}(...) is not an aggregate function", node.pos)
        args = [self.value(a, scope) for a in node.args]
        refs = merge_refs(*args)
        agg = any(a.aggregate for a in args)
        if name in MATH:
            lo, hi, sql_name, result = MATH[name]
            _arity(node, lo, hi)
            for a, n in zip(args, node.args):
                if not a.is_numeric and not isinstance(n, ast.Null):
                    raise AdqlError(f"{name.upper()} needs numbers, and {_describe(n)} is not a number", _pos(n))
            out = {"double": DOUBLE, "long": LONG}.get(result) or (numeric_result(*args) if args else DOUBLE)
            if name == "abs" and args:
                out = args[0].meta
            return Typed(f"{sql_name}({', '.join(a.sql for a in args)})", meta("value", out.datatype, unit=out.unit),
                         refs=refs, aggregate=agg)
        if name in STRING:
            _arity(node, 1, 1)
            return Typed(f"{STRING[name]}({args[0].sql})", TEXT, refs=refs, aggregate=agg)
        if name == "coalesce":
            _arity(node, 1, 64)
            return Typed(f"coalesce({', '.join(a.sql for a in args)})", args[0].meta, refs=refs, aggregate=agg)
        raise AdqlError(f"unknown function {node.name.name}; the functions are: "
                        + ", ".join(n.upper() for n in FUNCTION_NAMES), node.pos)

    def _aggregate(self, node: ast.Call, name: str, scope) -> Typed:
        if node.star:
            if name != "count":
                raise AdqlError(f"{name.upper()}(*) is not allowed; only COUNT(*)", node.pos)
            return Typed("count(*)", LONG, aggregate=True)
        _arity(node, 1, 1)
        arg = self.value(node.args[0], scope)
        if arg.aggregate:
            raise AdqlError("aggregate functions cannot be nested", node.pos)
        distinct = "DISTINCT " if node.quantifier == "DISTINCT" else ""
        sql = f"{name}({distinct}{arg.sql})"
        if name == "count":
            out = LONG
        elif name == "avg":
            out = meta("value", "double", unit=arg.meta.unit)
        elif name == "sum":
            out = meta("value", numeric_result(arg).datatype, unit=arg.meta.unit)
        else:
            out = arg.meta
        if name in ("avg", "sum") and not arg.is_numeric:
            raise AdqlError(f"{name.upper()} needs numbers, and {_describe(node.args[0])} is not a number",
                            node.pos)
        return Typed(sql, out, refs=arg.refs, aggregate=True)


def _arity(node: ast.Call, lo: int, hi: int) -> None:
    n = len(node.args)
    if not lo <= n <= hi:
        want = str(lo) if lo == hi else f"{lo} to {hi}"
        raise AdqlError(f"{node.name.name.upper()} takes {want} argument{'s' if hi != 1 else ''}, not {n}",
                        node.pos)


def _pos(node) -> ast.Pos | None:
    return getattr(node, "pos", None)


def _describe(node) -> str:
    if isinstance(node, ast.Column):
        return str(node)
    if isinstance(node, ast.Str):
        return f"'{node.value}'"
    if isinstance(node, ast.Call):
        return f"{node.name.name.upper()}(...)"
    return "this expression"
