"""SQLite functions behind the translated ADQL: geometry, index bounds and a few math helpers.

Errors raised inside a function (a malformed region, a declination out of range) are kept on
the :class:`FunctionErrors` of the connection so that the user sees the real reason, not
SQLite's "user-defined function raised exception".
"""

from __future__ import annotations

import math
import random
import sqlite3

from portal.archive import sphere
from portal.archive.sphere import GeometryError


class FunctionErrors:
    def __init__(self):
        self.message: str | None = None


# every function a translated query may call (the authorizer refuses all others)
SQLITE_BUILTINS = {
    "abs", "ceil", "floor", "degrees", "radians", "exp", "ln", "log10", "mod", "pi", "power", "sqrt",
    "sin", "cos", "tan", "asin", "acos", "atan", "atan2", "lower", "upper", "coalesce", "count", "min",
    "max", "avg", "sum", "like",
}


def _nullsafe(errors: FunctionErrors, fn):
    def wrapper(*args):
        if any(a is None for a in args):
            return None
        try:
            return fn(*args)
        except (GeometryError, ValueError, TypeError, ZeroDivisionError, OverflowError) as exc:
            errors.message = str(exc) or type(exc).__name__
            raise
    return wrapper


def _shape(text):
    return sphere.parse(text)


def _point(ra, dec):
    return sphere.Point(float(ra), sphere._dec(float(dec))).stcs()


def _circle(ra, dec, r):
    return sphere.build("CIRCLE", [float(ra), float(dec), float(r)]).stcs()


def _cone(ra, dec, r):
    """The circle a DISTANCE(...) < r condition selects: any r is valid there (clamped to [0, 180])."""
    return sphere.Circle(float(ra), sphere._dec(float(dec)), min(max(float(r), 0.0), 180.0)).stcs()


def _box(ra, dec, w, h):
    return sphere.build("BOX", [float(ra), float(dec), float(w), float(h)]).stcs()


def _polygon(*coords):
    return sphere.build("POLYGON", [float(c) for c in coords]).stcs()


def _contains(a, b):
    return int(sphere.within(_shape(a), _shape(b)))


def _intersects(a, b):
    return int(sphere.intersects(_shape(a), _shape(b)))


def _point_in(ra, dec, shape):
    p = sphere.Point(float(ra), sphere._dec(float(dec)))
    return int(sphere.within(p, _shape(shape)))


_RAD = math.pi / 180


def _in_circle(ra, dec, cra, cdec, r):
    """Point in cone, called once per row in scans: plain haversine, no allocation."""
    s1 = math.sin((dec - cdec) * _RAD / 2)
    s2 = math.sin((ra - cra) * _RAD / 2)
    h = s1 * s1 + math.cos(dec * _RAD) * math.cos(cdec * _RAD) * s2 * s2
    return int(2 * math.asin(math.sqrt(min(1.0, h))) <= r * _RAD)


def _distance(a, b):
    p, q = _shape(a), _shape(b)
    if not isinstance(p, sphere.Point) or not isinstance(q, sphere.Point):
        raise GeometryError("DISTANCE needs two POINTs")
    return sphere.distance(p.ra, p.dec, q.ra, q.dec)


def _coord(i):
    def fn(p):
        s = _shape(p)
        if not isinstance(s, sphere.Point):
            raise GeometryError(f"COORD{i + 1} needs a POINT")
        return (s.ra, s.dec)[i]
    return fn


def _bbox(i, shape):
    center, radius = sphere.cap(_shape(shape))
    return sphere.cap_box(center, radius)[int(i)]


def _round(x, n=0):
    n = int(n)
    if isinstance(x, int) and n >= 0:
        return x
    factor = 10.0 ** n
    value = math.floor(abs(x) * factor + 0.5) / factor
    return math.copysign(value, x)


def _truncate(x, n=0):
    n = int(n)
    if isinstance(x, int) and n >= 0:
        return x
    factor = 10.0 ** n
    return math.trunc(x * factor) / factor


def _rand(seed=None):
    return random.Random(seed).random() if seed is not None else random.random()


def register(conn: sqlite3.Connection, base_url=lambda: "") -> FunctionErrors:
    """Register the ADQL support functions on ``conn``; returns its error holder.

    ``base_url()`` gives the server's public URL for the request being answered (access_url).
    """
    errors = FunctionErrors()
    functions = {
        "adql_point": (2, _point), "adql_circle": (3, _circle), "adql_cone": (3, _cone), "adql_box": (4, _box),
        "adql_polygon": (-1, _polygon), "adql_contains": (2, _contains),
        "adql_intersects": (2, _intersects), "adql_point_in": (3, _point_in),
        "adql_in_circle": (5, _in_circle), "adql_distance": (2, _distance),
        "adql_dist": (4, sphere.distance), "adql_coord1": (1, _coord(0)), "adql_coord2": (1, _coord(1)),
        "adql_area": (1, lambda s: sphere.area(_shape(s))),
        "adql_centroid": (1, lambda s: sphere.centroid(_shape(s)).stcs()),
        "adql_bbox": (2, _bbox), "adql_round": (-1, _round), "adql_truncate": (-1, _truncate),
        "adql_cot": (1, lambda x: 1.0 / math.tan(x)),
    }
    for name, (nargs, fn) in functions.items():
        conn.create_function(name, nargs, _nullsafe(errors, fn), deterministic=True)
    conn.create_function("adql_rand", -1, _rand)
    conn.create_function("adql_base_url", 0, base_url)
    return errors


ALLOWED_FUNCTIONS = SQLITE_BUILTINS | {
    "adql_point", "adql_circle", "adql_cone", "adql_box", "adql_polygon", "adql_contains", "adql_intersects",
    "adql_point_in", "adql_in_circle", "adql_distance", "adql_dist", "adql_coord1", "adql_coord2",
    "adql_area", "adql_centroid", "adql_bbox", "adql_round", "adql_truncate", "adql_cot", "adql_rand",
    "adql_base_url",
}
