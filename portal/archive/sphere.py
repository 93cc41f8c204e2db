"""Spherical geometry for ADQL: shapes, STC-S text, containment, intersection, bounding boxes.

Shapes travel through SQLite as STC-S-like text ("POINT ICRS ra dec", "CIRCLE ICRS ra dec r",
"POLYGON ICRS ra1 dec1 ..."); angles are degrees. Polygon edges are great-circle arcs.
Point-in-polygon and edge crossings are computed in the gnomonic projection about the
polygon's centre, where great circles are straight lines (polygons smaller than a hemisphere).
The spatial index stores, for each row, the axis-aligned box in (x, y, z) of a spherical cap
that bounds the shape (:func:`cap_box`).

Why not astropy, regions or mocpy: ADQL's geometry runs inside SQLite, as scalar functions called once
per row (``CONTAINS``, ``INTERSECTS``, ``DISTANCE`` on every candidate of a query), on shapes that
arrive as text. A ``SkyCoord`` or a ``regions`` shape per call costs tens of microseconds before any
arithmetic, which a cone over the archive would pay hundreds of thousands of times; mocpy answers
"is this in the coverage" but not a circle-polygon intersection. This module is plain ``math`` on unit
vectors, tested against astropy's separations in tests/archive.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

D2R = math.pi / 180.0
EPS = 1e-12


class GeometryError(ValueError):
    """A shape that cannot be built or parsed (the message is shown to the user)."""


def vec(ra: float, dec: float) -> tuple[float, float, float]:
    a, d = ra * D2R, dec * D2R
    cd = math.cos(d)
    return (cd * math.cos(a), cd * math.sin(a), math.sin(d))


def radec(v: tuple[float, float, float]) -> tuple[float, float]:
    x, y, z = v
    ra = math.degrees(math.atan2(y, x)) % 360.0
    return ra, math.degrees(math.atan2(z, math.hypot(x, y)))


def _dot(a, b) -> float:
    return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]


def _cross(a, b):
    return (a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0])


def _norm(a):
    n = math.sqrt(_dot(a, a))
    if n < EPS:
        raise GeometryError("degenerate shape")
    return (a[0] / n, a[1] / n, a[2] / n)


def angle(a, b) -> float:
    """Angle between unit vectors, radians (stable for small and large angles)."""
    return math.atan2(math.sqrt(_dot(c := _cross(a, b), c)), _dot(a, b))


def distance(ra1: float, dec1: float, ra2: float, dec2: float) -> float:
    """Great-circle distance in degrees."""
    return math.degrees(angle(vec(ra1, dec1), vec(ra2, dec2)))


@dataclass(frozen=True)
class Point:
    ra: float
    dec: float

    @property
    def v(self):
        return vec(self.ra, self.dec)

    def stcs(self) -> str:
        return f"POINT ICRS {self.ra!r} {self.dec!r}"


@dataclass(frozen=True)
class Circle:
    ra: float
    dec: float
    radius: float

    @property
    def v(self):
        return vec(self.ra, self.dec)

    def stcs(self) -> str:
        return f"CIRCLE ICRS {self.ra!r} {self.dec!r} {self.radius!r}"


class Polygon:
    """A spherical polygon with great-circle edges, smaller than a hemisphere."""

    def __init__(self, vertices: tuple[tuple[float, float], ...]):
        if len(vertices) < 3:
            raise GeometryError("a polygon needs at least 3 vertices")
        self.vertices = vertices
        self.vecs = [vec(ra, dec) for ra, dec in vertices]
        self.center = _norm(tuple(sum(v[i] for v in self.vecs) for i in range(3)))
        self.radius = max(angle(self.center, v) for v in self.vecs)  # radians
        if self.radius >= math.pi / 2:
            raise GeometryError("polygons must be smaller than a hemisphere")
        self._basis = _basis(self.center)
        self.xy = [_project(v, self.center, self._basis) for v in self.vecs]

    def stcs(self) -> str:
        return "POLYGON ICRS " + " ".join(f"{ra!r} {dec!r}" for ra, dec in self.vertices)

    def contains_vec(self, p) -> bool:
        if _dot(p, self.center) <= 0:
            return False
        x, y = _project(p, self.center, self._basis)
        inside = False
        pts = self.xy
        j = len(pts) - 1
        for i in range(len(pts)):
            xi, yi = pts[i]
            xj, yj = pts[j]
            if (yi > y) != (yj > y) and x < (xj - xi) * (y - yi) / (yj - yi) + xi:
                inside = not inside
            j = i
        return inside

    def edges(self):
        n = len(self.vecs)
        return [(self.vecs[i], self.vecs[(i + 1) % n]) for i in range(n)]

    def __eq__(self, other):
        return isinstance(other, Polygon) and self.vertices == other.vertices

    def __hash__(self):
        return hash(self.vertices)


def box(ra: float, dec: float, width: float, height: float) -> Polygon:
    """ADQL BOX as a polygon: corners offset by width/2 and height/2 in the tangent plane."""
    if width <= 0 or height <= 0 or width >= 180 or height >= 180:
        raise GeometryError("BOX width and height must be between 0 and 180 degrees")
    c = vec(ra, dec)
    e1, e2 = _basis(c)
    hw, hh = math.tan(width * D2R / 2), math.tan(height * D2R / 2)
    corners = []
    for sx, sy in ((-1, -1), (1, -1), (1, 1), (-1, 1)):
        v = _norm(tuple(c[i] + sx * hw * e1[i] + sy * hh * e2[i] for i in range(3)))
        corners.append(radec(v))
    return Polygon(tuple(corners))


def _basis(c):
    """East and north unit vectors of the tangent plane at c."""
    east = (-c[1], c[0], 0.0)
    if _dot(east, east) < EPS:  # at a pole
        east = (0.0, 1.0, 0.0)
    east = _norm(east)
    return east, _cross(c, east)


def _project(v, c, basis):
    d = _dot(v, c)
    return (_dot(v, basis[0]) / d, _dot(v, basis[1]) / d)


Shape = Point | Circle | Polygon

_KINDS = {"POINT": 2, "POSITION": 2, "CIRCLE": 3, "POLYGON": -1, "BOX": 4}


@lru_cache(maxsize=65536)
def parse(text: str) -> Shape:
    """Parse STC-S-like text (as stored in s_region or built by POINT/CIRCLE/POLYGON/BOX)."""
    if not isinstance(text, str):
        raise GeometryError(f"not a geometry value: {text!r}")
    words = text.replace("(", " ").replace(")", " ").split()
    if not words or words[0].upper() not in _KINDS:
        raise GeometryError(f"not an STC-S region: {text[:60]!r}")
    kind = words[0].upper()
    numbers = []
    for w in words[1:]:
        try:
            numbers.append(float(w))
        except ValueError:
            if numbers:
                raise GeometryError(f"unexpected {w!r} in region {text[:60]!r}") from None
            if w.upper() in ("GALACTIC", "ECLIPTIC", "FK4", "B1950"):
                raise GeometryError(f"only ICRS regions are supported, not {w}")
    return build(kind, numbers)


def build(kind: str, numbers: list[float]) -> Shape:
    kind = kind.upper()
    need = _KINDS.get(kind)
    if need is None:
        raise GeometryError(f"unknown shape {kind}")
    if any(math.isnan(x) for x in numbers):
        raise GeometryError(f"{kind} with a NULL or NaN coordinate")
    if need > 0 and len(numbers) != need:
        raise GeometryError(f"{kind} needs {need} numbers, got {len(numbers)}")
    if kind in ("POINT", "POSITION"):
        return Point(numbers[0], _dec(numbers[1]))
    if kind == "CIRCLE":
        if not 0 <= numbers[2] <= 180:
            raise GeometryError("CIRCLE radius must be between 0 and 180 degrees")
        return Circle(numbers[0], _dec(numbers[1]), numbers[2])
    if kind == "BOX":
        return box(numbers[0], _dec(numbers[1]), numbers[2], numbers[3])
    if len(numbers) < 6 or len(numbers) % 2:
        raise GeometryError("POLYGON needs at least 3 vertices (an even number of coordinates)")
    pairs = tuple((numbers[i], _dec(numbers[i + 1])) for i in range(0, len(numbers), 2))
    return Polygon(pairs)


def _dec(dec: float) -> float:
    if not -90 <= dec <= 90:
        raise GeometryError(f"declination {dec} outside [-90, 90]")
    return dec


def cap(shape: Shape) -> tuple[tuple[float, float, float], float]:
    """A spherical cap (centre vector, radius in radians) that contains the shape."""
    if isinstance(shape, Point):
        return shape.v, 0.0
    if isinstance(shape, Circle):
        return shape.v, shape.radius * D2R
    return shape.center, shape.radius


def cap_box(center, radius: float) -> tuple[float, float, float, float, float, float]:
    """(xmin, xmax, ymin, ymax, zmin, zmax) of a cap: exact, since x_i = cos(angle to axis i)."""
    out = []
    for ci in center:
        theta = math.acos(max(-1.0, min(1.0, ci)))
        out.append(math.cos(min(theta + radius, math.pi)) - 1e-9)
        out.append(math.cos(max(theta - radius, 0.0)) + 1e-9)
    return tuple(out)


def arc_distance(p, a, b) -> float:
    """Smallest angle (radians) from p to the great-circle arc a-b."""
    n = _cross(a, b)
    if _dot(n, n) < EPS:
        return angle(p, a)
    n = _norm(n)
    q = tuple(p[i] - _dot(p, n) * n[i] for i in range(3))
    if _dot(q, q) > EPS:
        q = _norm(q)
        if _dot(_cross(a, q), n) >= 0 and _dot(_cross(q, b), n) >= 0:
            return abs(math.asin(max(-1.0, min(1.0, _dot(p, n)))))
    return min(angle(p, a), angle(p, b))


def _arcs_cross(a1, a2, b1, b2) -> bool:
    """Whether two great-circle arcs (each shorter than 180 deg) intersect."""
    n1, n2 = _cross(a1, a2), _cross(b1, b2)
    t = _cross(n1, n2)
    if _dot(t, t) < EPS:
        return False
    t = _norm(t)
    for s in (t, (-t[0], -t[1], -t[2])):
        if (_dot(_cross(a1, s), n1) >= 0 and _dot(_cross(s, a2), n1) >= 0
                and _dot(_cross(b1, s), n2) >= 0 and _dot(_cross(s, b2), n2) >= 0):
            return True
    return False


def _edges_cross(p: Polygon, q: Polygon) -> bool:
    return any(_arcs_cross(a1, a2, b1, b2) for a1, a2 in p.edges() for b1, b2 in q.edges())


def _caps_apart(a: Shape, b: Shape) -> bool:
    (ca, ra), (cb, rb) = cap(a), cap(b)
    return angle(ca, cb) > ra + rb + 1e-12


def within(inner: Shape, outer: Shape) -> bool:
    """ADQL CONTAINS(inner, outer): inner lies entirely within outer."""
    if isinstance(outer, Point):
        return isinstance(inner, Point) and angle(inner.v, outer.v) < 1e-12
    if _caps_apart(inner, outer):
        return False
    if isinstance(outer, Circle):
        r = outer.radius * D2R
        if isinstance(inner, Point):
            return angle(inner.v, outer.v) <= r
        if isinstance(inner, Circle):
            return angle(inner.v, outer.v) + inner.radius * D2R <= r
        return all(angle(v, outer.v) <= r for v in inner.vecs)
    if isinstance(inner, Point):
        return outer.contains_vec(inner.v)
    if isinstance(inner, Circle):
        r = inner.radius * D2R
        return outer.contains_vec(inner.v) and all(arc_distance(inner.v, a, b) >= r for a, b in outer.edges())
    return all(outer.contains_vec(v) for v in inner.vecs) and not _edges_cross(inner, outer)


def intersects(a: Shape, b: Shape) -> bool:
    """ADQL INTERSECTS(a, b)."""
    if _caps_apart(a, b):
        return False
    if isinstance(a, Point):
        return within(a, b)
    if isinstance(b, Point):
        return within(b, a)
    if isinstance(a, Circle) and isinstance(b, Circle):
        return angle(a.v, b.v) <= (a.radius + b.radius) * D2R
    if isinstance(a, Polygon) and isinstance(b, Circle):
        a, b = b, a
    if isinstance(a, Circle):
        r = a.radius * D2R
        return (b.contains_vec(a.v) or any(angle(v, a.v) <= r for v in b.vecs)
                or any(arc_distance(a.v, p, q) <= r for p, q in b.edges()))
    return (any(b.contains_vec(v) for v in a.vecs) or any(a.contains_vec(v) for v in b.vecs)
            or _edges_cross(a, b))


def area(shape: Shape) -> float:
    """Area in square degrees."""
    if isinstance(shape, Point):
        return 0.0
    if isinstance(shape, Circle):
        return 2 * math.pi * (1 - math.cos(shape.radius * D2R)) / D2R**2
    # spherical excess from the triangle fan about the centre (polygon smaller than a hemisphere)
    total = 0.0
    for a, b in shape.edges():
        c = shape.center
        num = _dot(c, _cross(a, b))
        den = 1 + _dot(c, a) + _dot(a, b) + _dot(b, c)
        total += 2 * math.atan2(num, den)
    return abs(total) / D2R**2


def centroid(shape: Shape) -> Point:
    if isinstance(shape, (Point, Circle)):
        return Point(shape.ra, shape.dec)
    return Point(*radec(shape.center))
