"""Spherical geometry behind ADQL: distances, containment, intersection, index boxes."""

import math

import astropy.units as u
import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from portal.archive import sphere
from portal.archive.sphere import Circle, GeometryError, Point, Polygon


def test_distance_matches_astropy():
    rng = np.random.default_rng(3)
    for _ in range(200):
        ra1, ra2 = rng.uniform(0, 360, 2)
        dec1, dec2 = np.degrees(np.arcsin(rng.uniform(-1, 1, 2)))
        expected = SkyCoord(ra1, dec1, unit="deg").separation(SkyCoord(ra2, dec2, unit="deg")).deg
        assert sphere.distance(ra1, dec1, ra2, dec2) == pytest.approx(expected, abs=1e-9)


def test_point_in_circle_across_ra_zero_and_pole():
    assert sphere.within(Point(359.5, 0), Circle(0.2, 0, 1))
    assert not sphere.within(Point(358.5, 0), Circle(0.2, 0, 1))
    assert sphere.within(Point(180, 89.5), Circle(0, 89.5, 1.01))  # 1 degree apart over the pole


def test_polygon_contains_and_orientation():
    square = Polygon(((10, -1), (12, -1), (12, 1), (10, 1)))
    reverse = Polygon(tuple(reversed(square.vertices)))
    for poly in (square, reverse):
        assert sphere.within(Point(11, 0), poly)
        assert not sphere.within(Point(13, 0), poly)
        assert not sphere.within(Point(191, 0), poly)  # antipode


def test_polygon_across_ra_zero():
    poly = Polygon(((359, -1), (1, -1), (1, 1), (359, 1)))
    assert sphere.within(Point(0, 0), poly)
    assert sphere.within(Point(359.5, 0.5), poly)
    assert not sphere.within(Point(180, 0), poly)


def test_circle_and_polygon_relations():
    big = Circle(0, 0, 5)
    small = Circle(1, 0, 1)
    far = Circle(20, 0, 1)
    square = sphere.box(0, 0, 2, 2)
    assert sphere.within(small, big) and not sphere.within(big, small)
    assert sphere.intersects(big, small) and not sphere.intersects(big, far)
    assert sphere.within(square, big)
    assert sphere.within(Circle(0, 0, 0.5), square)
    assert not sphere.within(Circle(0, 0, 1.5), square)
    assert sphere.intersects(Circle(1.5, 0, 0.6), square)  # crosses an edge, no vertex inside
    assert not sphere.intersects(Circle(3, 0, 0.5), square)
    other = sphere.box(1.5, 0, 2, 0.5)
    assert sphere.intersects(square, other) and not sphere.within(other, square)
    cross = Polygon(((-3, -0.2), (3, -0.2), (3, 0.2), (-3, 0.2)))  # edges cross, no vertex inside
    assert sphere.intersects(square, cross)


def test_box_is_centred_with_the_right_size():
    b = sphere.box(83.6, 22.0, 2, 1)
    ras = [v[0] for v in b.vertices]
    decs = [v[1] for v in b.vertices]
    assert min(decs) == pytest.approx(21.5, abs=0.01) and max(decs) == pytest.approx(22.5, abs=0.01)
    assert sphere.distance(83.6, 22.0, *sphere.centroid(b).__dict__.values()) < 1e-6
    assert max(ras) - min(ras) == pytest.approx(2 / math.cos(math.radians(22)), rel=0.02)


def test_area():
    assert sphere.area(Circle(0, 0, 1)) == pytest.approx(math.pi, rel=1e-3)
    assert sphere.area(sphere.box(0, 0, 1, 1)) == pytest.approx(1.0, rel=1e-3)
    assert sphere.area(Circle(0, 0, 90)) == pytest.approx(4 * math.pi / 2 * (180 / math.pi) ** 2, rel=1e-9)


@pytest.mark.parametrize("text", [
    "POINT ICRS 10 95", "CIRCLE ICRS 10 10 -1", "POLYGON ICRS 1 2 3 4", "BOX 1 2 0 1", "TRIANGLE 1 2 3",
    "CIRCLE GALACTIC 1 2 3", "POLYGON ICRS 0 0 120 0 240 0", "",
])
def test_bad_shapes_are_refused(text):
    with pytest.raises(GeometryError):
        sphere.parse(text)


def test_stcs_round_trip():
    for shape in (Point(1.5, -2.25), Circle(350, 80, 2.5), sphere.box(10, 10, 1, 2)):
        assert sphere.parse(shape.stcs()) == shape
    assert sphere.parse("Circle ICRS TOPOCENTER 83.6 22.0 2.5") == Circle(83.6, 22.0, 2.5)
    assert sphere.parse("POLYGON ICRS (1 1) (2 1) (2 2)").vertices == ((1, 1), (2, 1), (2, 2))


def test_index_box_contains_every_point_of_the_cap():
    """The R*Tree prefilter is only correct if each cap's box holds all of the cap."""
    rng = np.random.default_rng(7)
    n = 300
    ra, dec, r = rng.uniform(0, 360, n), np.degrees(np.arcsin(rng.uniform(-1, 1, n))), rng.uniform(0.01, 30, n)
    k = 40  # points per cap, on its edge (the worst case) and inside
    bearing = rng.uniform(0, 2 * np.pi, (n, k))
    dist = r[:, None] * np.where(np.arange(k) < k // 2, 1.0, np.sqrt(rng.uniform(0, 1, (n, k))))
    centres = SkyCoord(np.repeat(ra, k), np.repeat(dec, k), unit="deg")
    points = centres.directional_offset_by(bearing.ravel() * u.rad, dist.ravel() * u.deg)
    xyz = points.cartesian.xyz.value.T.reshape(n, k, 3)
    for i in range(n):
        box = np.array(sphere.cap_box(*sphere.cap(Circle(ra[i], dec[i], r[i])))).reshape(3, 2)
        assert np.all(xyz[i] >= box[:, 0] - 1e-12) and np.all(xyz[i] <= box[:, 1] + 1e-12)


def test_polygon_cap_contains_vertices():
    poly = Polygon(((10, 10), (14, 10), (14, 13), (12, 15), (10, 13)))
    center, radius = sphere.cap(poly)
    for v in poly.vecs:
        assert sphere.angle(center, v) <= radius + 1e-12
