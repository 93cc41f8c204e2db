"""Translate a parsed ADQL query into one SQLite SELECT and the metadata of its result columns.

Every name is resolved against the catalogue (unknown tables and columns are reported with their
position); every identifier in the SQL is generated here and quoted, never copied from the query
text, so what reaches SQLite is always a single read-only SELECT.
"""

from __future__ import annotations

import difflib
import itertools
from dataclasses import dataclass, field

from portal.archive.adql import ast
from portal.archive.adql.catalog import Catalog, CatalogTable
from portal.archive.adql.expressions import ExpressionTranslator
from portal.archive.adql.geometry import prefilter_sql
from portal.archive.adql.parser import AdqlError, parse
from portal.archive.adql.types import OutputColumn, Typed, renamed
from portal.archive.schema import ColumnDef, TableDef


@dataclass
class FromItem:
    """A table in a FROM clause: how ADQL names it and how the SQL reaches its columns."""

    names: list[list[str]]  # qualifiers that designate it, e.g. [["o"]] or [["obscore"], ["ivoa", "obscore"]]
    sql_alias: str
    columns: list[tuple[ColumnDef, str]]  # (metadata, SQL)
    table: TableDef | None = None
    label: str = ""

    def designated_by(self, qualifier: list[ast.Ident]) -> bool:
        return any(len(n) >= len(qualifier) and all(q.matches(p) for q, p in zip(qualifier[::-1], n[::-1]))
                   for n in self.names)


@dataclass
class Scope:
    items: list[FromItem] = field(default_factory=list)
    parent: "Scope | None" = None
    ctes: dict[str, tuple[str, list[OutputColumn]]] = field(default_factory=dict)
    merged: set[str] = field(default_factory=set)  # USING / NATURAL join columns

    def find_cte(self, ident: ast.Ident):
        scope = self
        while scope is not None:
            for name, value in scope.ctes.items():
                if ident.matches(name):
                    return value
            scope = scope.parent
        return None

    def resolve(self, node: ast.Column) -> Typed:
        *qualifier, name = node.parts
        scope = self
        while scope is not None:
            matches = []
            for item in scope.items:
                if qualifier and not item.designated_by(qualifier):
                    continue
                for column, sql in item.columns:
                    if name.matches(column.name):
                        matches.append((item, column, sql))
            if len(matches) > 1 and not (name.name.lower() in scope.merged and not qualifier):
                tables = ", ".join(m[0].label for m in matches)
                raise AdqlError(f"column {node} is ambiguous (it is in {tables}); qualify it", node.pos)
            if matches:
                item, column, sql = matches[0]
                return Typed(sql, column, refs=frozenset({id(item)}), column=(item, column.name))
            if qualifier and any(i.designated_by(qualifier) for i in scope.items):
                item = next(i for i in scope.items if i.designated_by(qualifier))
                raise AdqlError(f"unknown column {node}{_suggest(name.name, item)}", node.pos)
            scope = scope.parent
        if qualifier:
            raise AdqlError(f"unknown table or alias {'.'.join(map(str, qualifier))} in {node}", node.pos)
        hint = "".join(_suggest(name.name, i) for i in self.items[:1])
        raise AdqlError(f"unknown column {node}{hint}", node.pos)


def _suggest(name: str, item: FromItem) -> str:
    names = [c.name for c, _ in item.columns]
    close = difflib.get_close_matches(name.lower(), [n.lower() for n in names], n=3)
    if close:
        return f" (did you mean {', '.join(close)}?)"
    return f"; the columns of {item.label} are: {', '.join(names[:60])}"


@dataclass
class Translation:
    sql: str
    columns: list[OutputColumn]
    # tables, derived tables and common table expressions named in FROM, anywhere in the query (subqueries
    # included): with fewer than two, no plan can join two tables (portal.archive.querycost need not look)
    from_items: int = 0


class QueryTranslator:
    def __init__(self, catalog: Catalog):
        self.catalog = catalog
        self.exprs = ExpressionTranslator(self)
        self._ids = itertools.count()
        self.from_items = 0

    def _alias(self, prefix: str) -> str:
        return f'"{prefix}{next(self._ids)}"'

    # --- whole queries
    def translate(self, query: ast.QueryExpr, limit: int | None) -> Translation:
        sql, columns = self.query(query, Scope(), limit)
        return Translation(sql, columns, self.from_items)

    def subquery(self, query: ast.QueryExpr, scope: Scope):
        return self.query(query, Scope(parent=scope), None)

    def query(self, query: ast.QueryExpr, scope: Scope, limit: int | None) -> tuple[str, list[OutputColumn]]:
        with_sql = ""
        if query.with_:
            parts = []
            for cte in query.with_:
                sql, columns = self.query(cte.query, Scope(parent=scope), None)
                if cte.columns:
                    if len(cte.columns) != len(columns):
                        raise AdqlError(f"WITH {cte.name} names {len(cte.columns)} columns but its query "
                                        f"selects {len(columns)}", cte.pos)
                    columns = [OutputColumn(renamed(c.meta, n.name), c.sql_alias, c.geometry_kind)
                               for c, n in zip(columns, cte.columns)]
                name = self._alias("w")
                scope.ctes[cte.name.name] = (name, columns)
                parts.append(f"{name} AS ({sql})")
            with_sql = "WITH " + ", ".join(parts) + " "
        top = None
        if isinstance(query.body, ast.QuerySpec):
            sql, columns, top, spec_scope = self.spec(query.body, scope)
        else:
            sql, columns = self.setop(query.body, scope)
            spec_scope = None
        if query.order_by:
            sql += " ORDER BY " + ", ".join(self._sort(s, columns, spec_scope, query) for s in query.order_by)
        caps = [x for x in (top, limit) if x is not None]
        if caps or query.offset:
            sql += f" LIMIT {min(caps) if caps else -1}"
            if query.offset:
                sql += f" OFFSET {query.offset}"
        return with_sql + sql, columns

    def _sort(self, spec: ast.SortSpec, columns: list[OutputColumn], scope: Scope | None, query) -> str:
        direction = " DESC" if spec.descending else ""
        e = spec.expr
        if isinstance(e, ast.Num) and isinstance(e.value, int):
            if not 1 <= e.value <= len(columns):
                raise AdqlError(f"ORDER BY {e.value}: there are only {len(columns)} columns", e.pos)
            return f"{e.value}{direction}"
        if isinstance(e, ast.Column) and len(e.parts) == 1:
            for c in columns:
                if e.parts[0].matches(c.meta.name) and (scope is None or c.sql_alias.startswith('"a')):
                    return c.sql_alias + direction
        if scope is None:
            raise AdqlError("ORDER BY after UNION, EXCEPT or INTERSECT must name a result column "
                            "or give its number", getattr(e, "pos", None))
        return self.exprs.value(e, scope).sql + direction

    def setop(self, node: ast.SetOp, scope: Scope) -> tuple[str, list[OutputColumn]]:
        parts = []
        shapes = []
        for side in (node.left, node.right):
            if isinstance(side, ast.SetOp):
                sql, columns = self.setop(side, scope)
            else:
                sql, columns, top, _ = self.spec(side, Scope(parent=scope))
                if top is not None:
                    sql = f"SELECT * FROM ({sql} LIMIT {top})"
            parts.append(sql)
            shapes.append(columns)
        if len(shapes[0]) != len(shapes[1]):
            raise AdqlError(f"{node.op} needs both queries to select the same number of columns "
                            f"({len(shapes[0])} and {len(shapes[1])})", node.pos)
        return f"{parts[0]} {node.op}{' ALL' if node.all else ''} {parts[1]}", shapes[0]

    # --- one SELECT
    def spec(self, spec: ast.QuerySpec, scope: Scope):
        """One SELECT; ``scope`` is fresh (no FROM items yet) and receives this SELECT's tables."""
        from_sql = [self._table_ref(ref, scope) for ref in spec.tables]
        conditions = []
        if spec.where is not None:
            where = self.exprs.condition(spec.where, scope, "WHERE")
            if where.aggregate:
                raise AdqlError("aggregate functions are not allowed in WHERE; use HAVING", spec.where.pos
                                if hasattr(spec.where, "pos") else None)
            conditions.append(where.sql)
            conditions.extend(prefilter_sql(h) for h in where.hints)
        items = self._select_items(spec, scope)
        sql = "SELECT " + ("DISTINCT " if spec.distinct else "")
        sql += ", ".join(f"{t.sql} AS {c.sql_alias}" for t, c in items)
        sql += " FROM " + ", ".join(from_sql)
        if conditions:
            sql += " WHERE " + " AND ".join(conditions)
        if spec.group_by:
            sql += " GROUP BY " + ", ".join(self._group(g, items, scope) for g in spec.group_by)
        if spec.having is not None:
            sql += " HAVING " + self.exprs.condition(spec.having, scope, "HAVING").sql
        return sql, [c for _, c in items], spec.top, scope

    def _group(self, g: ast.Expr, items, scope: Scope) -> str:
        if isinstance(g, ast.Column) and len(g.parts) == 1:
            for t, c in items:
                if g.parts[0].matches(c.meta.name) and c.sql_alias.startswith('"a'):
                    try:
                        return scope.resolve(g).sql
                    except AdqlError:
                        return t.sql
        return self.exprs.value(g, scope).sql

    def _select_items(self, spec: ast.QuerySpec, scope: Scope) -> list[tuple[Typed, OutputColumn]]:
        typed: list[tuple[Typed, str, bool]] = []  # (expression, name, explicit alias)
        entries = spec.items if spec.items is not None else [None]
        for entry in entries:
            if entry is None or isinstance(entry, ast.SelectTableStar):
                items = scope.items
                if entry is not None:
                    items = [i for i in scope.items if i.designated_by(entry.qualifier)]
                    if not items:
                        raise AdqlError(f"unknown table or alias {'.'.join(map(str, entry.qualifier))}", entry.pos)
                for item in items:
                    for column, sql in item.columns:
                        typed.append((Typed(sql, column, refs=frozenset({id(item)}), column=(item, column.name)),
                                      column.name, False))
                continue
            t = self.exprs.value(entry.expr, scope)
            if entry.alias is not None:
                typed.append((t, entry.alias.name, True))
            else:
                typed.append((t, _default_name(entry.expr, t, len(typed) + 1), False))
        seen: set[str] = set()
        out = []
        for t, name, explicit in typed:
            unique = name
            k = 2
            while unique.lower() in seen:
                unique, k = f"{name}_{k}", k + 1
            seen.add(unique.lower())
            prefix = "a" if explicit else "c"
            column = OutputColumn(renamed(t.meta, unique), f'"{prefix}{len(out) + 1}"',
                                  _geometry_kind(t))
            out.append((t, column))
        return out

    # --- FROM
    def _table_ref(self, ref: ast.TableRef, scope: Scope) -> str:
        if isinstance(ref, ast.Join):
            left = self._table_ref(ref.left, scope)
            right = self._table_ref(ref.right, scope)
            if ref.kind == "CROSS":
                return f"{left} CROSS JOIN {right}"
            kind = {"INNER": "JOIN", "LEFT": "LEFT JOIN", "RIGHT": "RIGHT JOIN", "FULL": "FULL JOIN"}[ref.kind]
            if ref.natural or ref.using:
                return self._equi_join(ref, left, right, kind, scope)
            on = self.exprs.condition(ref.on, scope, "ON")
            conds = [on.sql] + [prefilter_sql(h) for h in on.hints]
            return f"{left} {kind} {right} ON {' AND '.join(conds)}"
        alias = self._alias("t")
        self.from_items += 1
        if isinstance(ref, ast.DerivedTable):
            sql, columns = self.query(ref.query, Scope(parent=scope), None)
            item = FromItem([[ref.alias.name]], alias,
                            [(c.meta, f"{alias}.{c.sql_alias}") for c in columns], label=ref.alias.name)
            scope.items.append(item)
            return f"({sql}) AS {alias}"
        cte = scope.find_cte(ref.parts[0]) if len(ref.parts) == 1 else None
        if cte is not None:
            name, columns = cte
            label = ref.alias.name if ref.alias else ref.parts[0].name
            item = FromItem([[label]], alias, [(c.meta, f"{alias}.{c.sql_alias}") for c in columns], label=label)
            scope.items.append(item)
            return f"{name} AS {alias}"
        table: CatalogTable = self.catalog.find(ref.parts, ref.pos)
        names = [[ref.alias.name]] if ref.alias else [[table.name], [table.schema, table.name]]
        columns = [(c, sql.replace("{t}", alias)) for c, sql in table.columns]
        item = FromItem(names, alias, columns, table.table, label=ref.alias.name if ref.alias else table.qualified)
        scope.items.append(item)
        return f"{table.sql_name} AS {alias}"

    def _equi_join(self, ref: ast.Join, left: str, right: str, kind: str, scope: Scope) -> str:
        right_item = scope.items[-1]
        left_items = scope.items[:-1]
        if ref.using:
            names = [u.name for u in ref.using]
        else:
            right_names = {c.name.lower() for c, _ in right_item.columns}
            names = [c.name for i in left_items for c, _ in i.columns if c.name.lower() in right_names]
        conds = []
        for name in dict.fromkeys(n.lower() for n in names):
            lsql = next((s for i in left_items for c, s in i.columns if c.name.lower() == name), None)
            rsql = next((s for c, s in right_item.columns if c.name.lower() == name), None)
            if lsql is None or rsql is None:
                raise AdqlError(f"join column {name} is not in both tables", ref.pos)
            conds.append(f"{lsql} = {rsql}")
            scope.merged.add(name)
        on = " AND ".join(conds) if conds else "1"
        return f"{left} {kind} {right} ON {on}"


def _default_name(expr: ast.Expr, t: Typed, index: int) -> str:
    if isinstance(expr, ast.Column):
        return t.meta.name
    if isinstance(expr, ast.Call):
        return expr.name.name.lower()
    return f"col{index}"


def _geometry_kind(t: Typed) -> str | None:
    x = (t.meta.xtype or "").lower()
    return x if x in ("point", "circle", "polygon") else None


def translate(query: str, catalog: Catalog, limit: int | None = None) -> Translation:
    """Parse and translate ADQL text. ``limit`` caps the rows SQLite returns (MAXREC + 1)."""
    tree = parse(query)
    try:
        return QueryTranslator(catalog).translate(tree, limit)
    except AdqlError as exc:
        if exc.pos:
            raise AdqlError(exc.reason, exc.pos, query) from None
        raise
    except RecursionError:
        raise AdqlError("the query is nested too deeply") from None
