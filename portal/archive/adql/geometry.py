"""ADQL geometry in the translator: constructors, predicates, DISTANCE, and spatial-index hints.

A hint says "this condition implies that the row's position (or region) lies in the bounding box
of this shape"; the query translator turns each hint of a WHERE/ON conjunct into an R*Tree
lookup (see :func:`prefilter_sql`), so cone searches need no full scan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from portal.archive.adql import ast
from portal.archive.adql.parser import AdqlError
from portal.archive.adql.types import (BOOL, CIRCLE, DOUBLE, LONG, POINT, POLYGON, TEXT, Geo, Typed,
                                       merge_refs, meta)

if TYPE_CHECKING:
    from portal.archive.adql.expressions import ExpressionTranslator

GEOMETRY_FUNCTIONS = ("point", "circle", "box", "polygon", "contains", "intersects", "distance",
                      "coord1", "coord2", "coordsys", "area", "centroid")
_FRAMES = ("", "ICRS", "J2000", "FK5")
_CONSTRUCTORS = {"point": ("adql_point", POINT, 2), "circle": ("adql_circle", CIRCLE, 3),
                 "box": ("adql_box", POLYGON, 4), "polygon": ("adql_polygon", POLYGON, -1)}


def call(tr: "ExpressionTranslator", node: ast.Call, name: str, scope) -> Typed:
    if node.star or node.quantifier:
        raise AdqlError(f"{name.upper()} is not an aggregate function", node.pos)
    if name in _CONSTRUCTORS:
        return _construct(tr, node, name, scope)
    if name in ("contains", "intersects"):
        return _predicate(tr, node, name, scope)
    if name == "distance":
        return _distance(tr, node, scope)[0]
    if name == "coordsys":
        _geometries(tr, node, scope, 1)
        return Typed("'ICRS'", TEXT)
    (g,) = _geometries(tr, node, scope, 1)
    if name in ("coord1", "coord2"):
        if g.geo is None and (g.meta.xtype or "").lower() not in ("point", "adql:point"):
            raise AdqlError(f"{name.upper()} needs a POINT", node.pos)
        if g.geo is not None and g.geo.kind == "point":
            part = g.geo.args[0 if name == "coord1" else 1]
            return Typed(part.sql, meta(name, "double", unit="deg"), refs=part.refs)
        return Typed(f"adql_{name}({g.sql})", meta(name, "double", unit="deg"), refs=g.refs)
    if name == "area":
        return Typed(f"adql_area({g.sql})", meta("area", "double", unit="deg2"), refs=g.refs)
    return Typed(f"adql_centroid({g.sql})", POINT, refs=g.refs)  # centroid


def _construct(tr, node: ast.Call, name: str, scope) -> Typed:
    args = list(node.args)
    if args and isinstance(args[0], (ast.Str, ast.Null)):
        frame = args.pop(0)
        value = "" if isinstance(frame, ast.Null) else frame.value.strip().upper()
        if value.split(" ")[0] not in _FRAMES:
            raise AdqlError(f"only ICRS coordinates are supported, not {frame.value!r}", frame.pos)
    numbers: list[Typed] = []
    for a in args:
        t = tr.value(a, scope)
        if t.geo is not None and t.geo.kind == "point":
            numbers.extend(t.geo.args)  # ADQL 2.1: CIRCLE(POINT(...), r), POLYGON(POINT, POINT, ...)
        elif t.is_numeric or isinstance(a, ast.Null):
            numbers.append(t)
        else:
            raise AdqlError(f"{name.upper()} needs numbers (degrees) or POINTs as arguments", getattr(a, "pos", None))
    sql_name, out, need = _CONSTRUCTORS[name]
    if need > 0 and len(numbers) != need:
        raise AdqlError(f"{name.upper()} needs {need} coordinates, not {len(numbers)}", node.pos)
    if need < 0 and (len(numbers) < 6 or len(numbers) % 2):
        raise AdqlError("POLYGON needs at least 3 vertices (pairs of coordinates)", node.pos)
    sql = f"{sql_name}({', '.join(n.sql for n in numbers)})"
    return Typed(sql, out, geo=Geo(name, numbers), refs=merge_refs(*numbers))


def _geometries(tr, node: ast.Call, scope, n: int) -> list[Typed]:
    if len(node.args) != n:
        raise AdqlError(f"{node.name.name.upper()} takes {n} geometr{'ies' if n > 1 else 'y'}, "
                        f"not {len(node.args)} arguments", node.pos)
    out = []
    for a in node.args:
        t = tr.value(a, scope)
        if not t.is_geometry and not isinstance(a, ast.Null):
            raise AdqlError(f"{node.name.name.upper()} needs geometries (POINT, CIRCLE, BOX, POLYGON or a "
                            "region column) as arguments", getattr(a, "pos", None))
        out.append(t)
    return out


def _predicate(tr, node: ast.Call, name: str, scope) -> Typed:
    a, b = _geometries(tr, node, scope, 2)
    refs = merge_refs(a, b)
    if a.geo is not None and a.geo.kind == "point":
        ra, dec = a.geo.args
        if b.geo is not None and b.geo.kind == "circle":
            c = b.geo.args
            sql = f"adql_in_circle({ra.sql}, {dec.sql}, {c[0].sql}, {c[1].sql}, {c[2].sql})"
        else:
            sql = f"adql_point_in({ra.sql}, {dec.sql}, {b.sql})"
    elif name == "intersects" and b.geo is not None and b.geo.kind == "point":
        ra, dec = b.geo.args
        sql = f"adql_point_in({ra.sql}, {dec.sql}, {a.sql})"
    else:
        sql = f"adql_{name}({a.sql}, {b.sql})"
    hints = []
    pairs = [(a, b)] if name == "contains" else [(a, b), (b, a)]
    for inner, outer in pairs:
        item = _point_item(inner)
        if item is not None and id(item) not in outer.refs:
            hints.append(("pos", item, outer.sql))
    for region, other in ([(b, a), (a, b)]):
        item = _region_item(region)
        if item is not None and id(item) not in other.refs:
            hints.append(("region", item, other.sql))
    return Typed(sql, meta(name, "int"), refs=refs, hints=tuple(hints))


def _point_item(t: Typed):
    """The FROM item whose indexed (ra, dec) columns make this POINT, if any."""
    if t.geo is None or t.geo.kind != "point":
        return None
    ra, dec = t.geo.args
    if ra.column is None or dec.column is None or ra.column[0] is not dec.column[0]:
        return None
    item = ra.column[0]
    index = getattr(getattr(item, "table", None), "point_index", None)
    if index and (ra.column[1], dec.column[1]) == index[:2]:
        return item
    return None


def _region_item(t: Typed):
    if t.column is None:
        return None
    item, name = t.column
    index = getattr(getattr(item, "table", None), "region_index", None)
    return item if index and index[0] == name else None


def _distance(tr, node: ast.Call, scope) -> tuple[Typed, tuple | None]:
    """DISTANCE(p1, p2) or DISTANCE(ra1, dec1, ra2, dec2); also returns (point1, point2) args."""
    if len(node.args) == 4:
        nums = [tr.value(a, scope) for a in node.args]
        if not all(n.is_numeric for n in nums):
            raise AdqlError("DISTANCE with four arguments needs numbers (ra1, dec1, ra2, dec2)", node.pos)
        p1 = Typed(f"adql_point({nums[0].sql}, {nums[1].sql})", POINT, geo=Geo("point", nums[:2]),
                   refs=merge_refs(*nums[:2]))
        p2 = Typed(f"adql_point({nums[2].sql}, {nums[3].sql})", POINT, geo=Geo("point", nums[2:]),
                   refs=merge_refs(*nums[2:]))
    else:
        p1, p2 = _geometries(tr, node, scope, 2)
    out = meta("distance", "double", unit="deg", ucd="pos.angDistance")
    if p1.geo is not None and p2.geo is not None and p1.geo.kind == p2.geo.kind == "point":
        args = ", ".join(x.sql for x in p1.geo.args + p2.geo.args)
        return Typed(f"adql_dist({args})", out, refs=merge_refs(p1, p2)), (p1, p2)
    for p in (p1, p2):
        if p.geo is not None and p.geo.kind != "point":
            raise AdqlError("DISTANCE needs two POINTs", node.pos)
    return Typed(f"adql_distance({p1.sql}, {p2.sql})", out, refs=merge_refs(p1, p2)), None


def compare(tr: "ExpressionTranslator", node: ast.Compare, scope) -> Typed | None:
    """Comparisons with a geometric meaning: 1 = CONTAINS(...), DISTANCE(...) < r."""
    for fn, other, flipped in ((node.left, node.right, False), (node.right, node.left, True)):
        if not isinstance(fn, ast.Call) or fn.name.quoted:
            continue
        name = fn.name.name.lower()
        if name in ("contains", "intersects") and isinstance(other, ast.Num) and other.value in (0, 1):
            if node.op not in ("=", "<>"):
                return None
            pred = _predicate(tr, fn, name, scope)
            truth = (other.value == 1) == (node.op == "=")
            sql = f"({pred.sql} = 1)" if truth else f"({pred.sql} = 0)"
            return Typed(sql, BOOL, True, refs=pred.refs, hints=pred.hints if truth else ())
        if name == "distance":
            below = {False: ("<", "<="), True: (">", ">=")}[flipped]
            if node.op not in below:
                return None
            dist, points = _distance(tr, fn, scope)
            radius = tr.value(other, scope)
            hints = []
            if points is not None:
                for here, there in (points, points[::-1]):
                    item = _point_item(here)
                    if item is not None and id(item) not in merge_refs(there, radius):
                        c = there.geo.args
                        hints.append(("pos", item, f"adql_cone({c[0].sql}, {c[1].sql}, {radius.sql})"))
            sql = f"({radius.sql} {node.op} {dist.sql})" if flipped else f"({dist.sql} {node.op} {radius.sql})"
            return Typed(sql, BOOL, True, refs=merge_refs(dist, radius), hints=tuple(hints))
    return None


def prefilter_sql(hint: tuple) -> str:
    """The R*Tree lookup that a spatial hint allows: a superset of the rows the condition keeps."""
    kind, item, shape = hint
    table = item.table
    rtree = table.point_index[2] if kind == "pos" else table.region_index[1]
    bounds = " AND ".join(
        f"{axis}1 >= adql_bbox({2 * i}, {shape}) AND {axis}0 <= adql_bbox({2 * i + 1}, {shape})"
        for i, axis in enumerate("xyz"))
    return f'{item.sql_alias}."_id" IN (SELECT id FROM "{rtree}" WHERE {bounds})'


__all__ = ["GEOMETRY_FUNCTIONS", "call", "compare", "prefilter_sql", "BOOL", "DOUBLE", "LONG"]
