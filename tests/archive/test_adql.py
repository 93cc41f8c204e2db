"""ADQL 2.1 features, run on a small archive in-process (parser, translator, SQLite functions)."""

import io
import math
import sqlite3

import numpy as np
import pytest
from astropy.coordinates import SkyCoord
from astropy.io.votable import from_table, writeto
from astropy.table import Table

from portal.archive.adql.catalog import Catalog
from portal.archive.adql.translate import translate
from portal.archive.errors import TapError
from tests.archive.conftest import query


@pytest.fixture(scope="module")
def everything(small_db):
    names, rows = query(small_db, "SELECT obs_id, s_ra, s_dec, s_region, target_name, zenith, energy_min, "
                                  "t_min, t_max, livetime, proposal_id FROM ivoa.obscore")
    return Table(rows=rows, names=names)


def ids(rows, i=0):
    return sorted(r[i] for r in rows)


def test_select_star_lists_published_columns_only(small_db):
    names, rows = query(small_db, "SELECT TOP 1 * FROM ivoa.obscore")
    assert "s_region" in names and "access_url" in names and "energy_min" in names
    assert not {"_id", "access_path", "release_id", "obs_number"} & set(names)
    assert len(rows) == 1


def test_access_url_is_absolute_datalink(small_db):
    _, rows = query(small_db, "SELECT access_url, obs_publisher_did FROM ivoa.obscore WHERE obs_id = '900001'",
                    base_url="http://example.org:1234/portal")
    assert rows[0][0] == "http://example.org:1234/portal/datalink?ID=900001"


def test_distinct_top_order_offset(small_db, everything):
    _, rows = query(small_db, "SELECT DISTINCT target_name FROM ivoa.obscore ORDER BY target_name")
    assert [r[0] for r in rows] == sorted(set(everything["target_name"]))
    _, top = query(small_db, "SELECT TOP 5 obs_id, zenith FROM ivoa.obscore ORDER BY zenith DESC, obs_id")
    expected = sorted(zip(everything["zenith"], everything["obs_id"]), key=lambda t: (-t[0], t[1]))[:5]
    assert [r[0] for r in top] == [e[1] for e in expected]
    _, page = query(small_db, "SELECT TOP 3 obs_id FROM ivoa.obscore ORDER BY zenith DESC, obs_id OFFSET 2")
    assert [r[0] for r in page] == [e[1] for e in expected[2:5]]
    _, ordinal = query(small_db, "SELECT TOP 3 obs_id, zenith FROM ivoa.obscore ORDER BY 2 DESC, 1")
    assert [r[0] for r in ordinal] == [e[1] for e in expected[:3]]


def test_expressions_and_aliases(small_db):
    names, rows = query(small_db, "SELECT obs_id AS id, (t_max - t_min) * 86400 AS seconds, "
                                  "livetime / 60.0 minutes, -zenith, 'x' || target_name AS tag "
                                  "FROM ivoa.obscore WHERE obs_id = '900001'")
    assert names == ["id", "seconds", "minutes", "col4", "tag"]
    assert rows[0][1] == pytest.approx(0.02 * 86400)
    assert rows[0][2] == pytest.approx(25.0) and rows[0][3] == -30.0 and rows[0][4] == "xSpecial 900001"


def test_where_logic_comparisons_between_in_like_null(small_db, everything):
    t = everything
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE (zenith < 20 OR zenith >= 60) "
                              "AND NOT energy_min > 0.3 AND livetime BETWEEN 1100 AND 1500")
    mask = ((t["zenith"] < 20) | (t["zenith"] >= 60)) & ~(t["energy_min"] > 0.3) & \
           (t["livetime"] >= 1100) & (t["livetime"] <= 1500)
    assert ids(rows) == sorted(t["obs_id"][mask])
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE obs_id IN ('1', '2', '900003') "
                              "AND zenith NOT BETWEEN 89 AND 90")
    assert ids(rows) == ["1", "2", "900003"]
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE target_name LIKE 'Special%'")
    assert len(rows) == 4
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE target_name LIKE 'special%'")
    assert rows == []  # LIKE is case-sensitive
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE target_name ILIKE 'special 90000_'")
    assert len(rows) == 4
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE target_name NOT ILIKE '%e%'")
    assert all("e" not in n.lower() for n in t["target_name"][np.isin(t["obs_id"], ids(rows))])
    _, rows = query(small_db, "SELECT COUNT(*) FROM ivoa.obscore WHERE proposal_id IS NULL AND obs_id IS NOT NULL")
    assert rows[0][0] == len(t)


def test_in_subquery_exists_and_scalar_subquery(small_db):
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE obs_id IN "
                              "(SELECT obs_id FROM ivoa.obscore WHERE obs_collection = 'special')")
    assert ids(rows) == ["900001", "900002", "900003", "900004"]
    _, rows = query(small_db, "SELECT o.obs_id FROM ivoa.obscore AS o WHERE EXISTS (SELECT 1 FROM ivoa.obscore "
                              "AS p WHERE p.obs_id = o.obs_id AND p.obs_collection = 'special') ORDER BY o.obs_id")
    assert ids(rows) == ["900001", "900002", "900003", "900004"]
    _, rows = query(small_db, "SELECT (SELECT MAX(zenith) FROM ivoa.obscore) AS zmax FROM TAP_SCHEMA.schemas")
    assert rows[0][0] <= 65


def test_math_functions(small_db):
    _, rows = query(small_db, "SELECT ABS(-2.5), CEILING(1.2), FLOOR(-1.2), DEGREES(PI()), RADIANS(180), "
                              "EXP(1), LOG(EXP(2)), LOG10(1000), MOD(7, 3), POWER(2, 10), SQRT(16), "
                              "ROUND(2.567, 2), ROUND(2.5), TRUNCATE(2.567, 1), SIN(0), COS(0), TAN(0), "
                              "COT(PI() / 4), ASIN(1), ACOS(1), ATAN(1), ATAN2(1, 1), RAND(), RAND(7) "
                              "FROM TAP_SCHEMA.schemas WHERE schema_name = 'ivoa'")
    r = rows[0]
    expected = [2.5, 2, -2, 180, math.pi, math.e, 2, 3, 1, 1024, 4, 2.57, 3, 2.5, 0, 1, 0, 1,
                math.pi / 2, 0, math.pi / 4, math.pi / 4]
    assert list(r[:22]) == pytest.approx(expected)
    assert 0 <= r[22] < 1 and 0 <= r[23] < 1


def test_group_by_having_aggregates(small_db, everything):
    names, rows = query(small_db, "SELECT target_name, COUNT(*) AS n, COUNT(DISTINCT obs_collection) AS c, "
                                  "AVG(zenith) AS za, MIN(livetime), MAX(livetime), SUM(livetime) AS total "
                                  "FROM ivoa.obscore GROUP BY target_name HAVING COUNT(*) > 100 ORDER BY n DESC")
    assert names[:4] == ["target_name", "n", "c", "za"]
    t = everything
    for name, n, c, za, lo, hi, total in rows:
        sel = t["target_name"] == name
        assert n == sel.sum() > 100 and c == 1
        assert za == pytest.approx(np.mean(t["zenith"][sel]))
        assert (lo, hi) == (min(t["livetime"][sel]), max(t["livetime"][sel]))
        assert total == pytest.approx(np.sum(t["livetime"][sel]))
    assert [r[1] for r in rows] == sorted([r[1] for r in rows], reverse=True)


def test_joins(small_db):
    _, rows = query(small_db, "SELECT a.obs_id, b.target_name FROM ivoa.obscore AS a JOIN ivoa.obscore AS b "
                              "ON a.obs_id = b.obs_id WHERE a.obs_collection = 'special'")
    assert len(rows) == 4
    _, rows = query(small_db, "SELECT t.table_name, COUNT(*) FROM TAP_SCHEMA.tables AS t "
                              "LEFT OUTER JOIN TAP_SCHEMA.columns AS c ON c.table_name = t.table_name "
                              "GROUP BY t.table_name ORDER BY t.table_name")
    assert dict(rows)["TAP_SCHEMA.keys"] == 5
    _, rows = query(small_db, "SELECT table_name, column_name FROM TAP_SCHEMA.tables "
                              "JOIN TAP_SCHEMA.columns USING (table_name) WHERE table_name = 'TAP_SCHEMA.schemas'")
    assert sorted(r[1] for r in rows) == ["description", "schema_index", "schema_name", "utype"]
    _, rows = query(small_db, "SELECT k.key_id, kc.from_column FROM TAP_SCHEMA.keys AS k "
                              "NATURAL JOIN TAP_SCHEMA.key_columns AS kc ORDER BY k.key_id")
    assert ("columns_table", "table_name") in rows
    _, rows = query(small_db, "SELECT COUNT(*) FROM TAP_SCHEMA.schemas CROSS JOIN TAP_SCHEMA.keys")
    assert rows[0][0] == 3 * 5  # schemas TAP_SCHEMA, ivoa, provenance; five foreign keys
    _, rows = query(small_db, "SELECT s.schema_name, t.table_name FROM TAP_SCHEMA.schemas s, TAP_SCHEMA.tables t "
                              "WHERE s.schema_name = t.schema_name AND s.schema_name = 'ivoa'")
    assert rows == [("ivoa", "ivoa.obscore")]


def test_set_operations_and_common_tables(small_db):
    special = ["900001", "900002", "900003", "900004"]
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE obs_id IN ('900001', '900002') UNION "
                              "SELECT obs_id FROM ivoa.obscore WHERE obs_id IN ('900002', '900003') ORDER BY obs_id")
    assert [r[0] for r in rows] == special[:3]
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE obs_collection = 'special' EXCEPT "
                              "SELECT obs_id FROM ivoa.obscore WHERE obs_id = '900001'")
    assert ids(rows) == special[1:]
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE obs_collection = 'special' INTERSECT "
                              "SELECT obs_id FROM ivoa.obscore WHERE s_dec > 5")
    assert ids(rows) == ["900001", "900004"]
    _, rows = query(small_db, "WITH sp (id, ra) AS (SELECT obs_id, s_ra FROM ivoa.obscore WHERE "
                              "obs_collection = 'special') SELECT id FROM sp WHERE ra > 100 ORDER BY id")
    assert [r[0] for r in rows] == ["900002", "900004"]


def brute_cone(t, ra, dec, radius):
    sep = SkyCoord(t["s_ra"], t["s_dec"], unit="deg").separation(SkyCoord(ra, dec, unit="deg")).deg
    return sorted(t["obs_id"][sep <= radius])


@pytest.mark.parametrize("ra,dec,radius", [(120.0, -30.0, 3.0), (0.0, 0.0, 5.0), (45.0, 89.0, 4.0),
                                           (300.0, -88.0, 10.0), (180.0, 0.0, 0.5)])
def test_cone_matches_brute_force(small_db, everything, ra, dec, radius):
    expected = brute_cone(everything, ra, dec, radius)
    forms = [
        f"1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', {ra}, {dec}, {radius}))",
        f"CONTAINS(POINT(s_ra, s_dec), CIRCLE({ra}, {dec}, {radius})) = 1",
        f"DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', {ra}, {dec})) <= {radius}",
        f"{radius} >= DISTANCE(s_ra, s_dec, {ra}, {dec})",
        f"INTERSECTS(CIRCLE('ICRS', {ra}, {dec}, {radius}), POINT('ICRS', s_ra, s_dec)) = 1",
        f"CONTAINS(POINT('ICRS', s_ra + 0, s_dec), CIRCLE('ICRS', {ra}, {dec}, {radius})) = 1",  # no index
    ]
    for where in forms:
        _, rows = query(small_db, f"SELECT obs_id FROM ivoa.obscore WHERE {where}")
        assert ids(rows) == expected, where


def test_region_queries_match_brute_force(small_db, everything):
    from portal.archive import sphere

    shapes = {"point": sphere.Point(0.0, 0.0), "circle": sphere.Circle(10.5, 10.5, 1.0),
              "box": sphere.box(359.9, 0.1, 1.0, 1.0)}
    adql = {"point": "POINT('ICRS', 0.0, 0.0)", "circle": "CIRCLE('ICRS', 10.5, 10.5, 1.0)",
            "box": "BOX('ICRS', 359.9, 0.1, 1.0, 1.0)"}
    for kind, shape in shapes.items():
        regions = [sphere.parse(r) for r in everything["s_region"]]
        covering = sorted(o for o, r in zip(everything["obs_id"], regions) if sphere.within(shape, r))
        _, rows = query(small_db, f"SELECT obs_id FROM ivoa.obscore WHERE CONTAINS({adql[kind]}, s_region) = 1")
        assert ids(rows) == covering, kind
        if kind == "point":
            assert {"900002", "900003"} <= set(covering)
        touching = sorted(o for o, r in zip(everything["obs_id"], regions) if sphere.intersects(shape, r))
        _, rows = query(small_db, f"SELECT obs_id FROM ivoa.obscore WHERE INTERSECTS(s_region, {adql[kind]}) = 1")
        assert ids(rows) == touching, kind
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE "
                              "CONTAINS(POINT('ICRS', 10.2, 9.1), s_region) = 1 AND obs_collection = 'special'")
    assert ids(rows) == ["900001"]  # inside the special polygon
    _, rows = query(small_db, "SELECT obs_id FROM ivoa.obscore WHERE obs_collection = 'special' AND "
                              "CONTAINS(s_region, POLYGON('ICRS', 8, 8, 12, 8, 12, 12, 8, 12)) = 1")
    assert ids(rows) == ["900001"]


def test_geometry_values_and_accessors(small_db):
    names, rows = query(small_db, "SELECT POINT('ICRS', s_ra, s_dec) AS p, CIRCLE(s_ra, s_dec, 1) AS c, "
                                  "BOX('ICRS', 10, 10, 2, 2) AS b, POLYGON('ICRS', 1, 1, 2, 1, 2, 2) AS g, "
                                  "COORD1(POINT('ICRS', s_ra, s_dec)), COORD2(CENTROID(s_region)), "
                                  "AREA(CIRCLE('ICRS', 0, 0, 1)), COORDSYS(POINT(1, 2)), "
                                  "DISTANCE(POINT('ICRS', 0, 0), POINT('ICRS', 0, 1)) AS d "
                                  "FROM ivoa.obscore WHERE obs_id = '900001'")
    p, c, b, g, ra, dec, area, frame, d = rows[0]
    assert p == "POINT ICRS 10.0 10.0" and c.startswith("CIRCLE ICRS 10.0 10.0 1")
    assert b.startswith("POLYGON ICRS") and g == "POLYGON ICRS 1.0 1.0 2.0 1.0 2.0 2.0"
    assert ra == 10.0 and dec == pytest.approx(10.0, abs=0.01)
    assert area == pytest.approx(math.pi, rel=1e-3) and frame == "ICRS" and d == pytest.approx(1.0)


def test_upload_join(small_db):
    t = Table({"name": ["a", "b", "c"], "ra": [10.0, 0.0, 150.0], "dec": [10.0, 0.1, -50.0]})
    buf = io.BytesIO()
    writeto(from_table(t), buf)
    names, rows = query(small_db, "SELECT u.name, o.obs_id, DISTANCE(POINT(u.ra, u.dec), POINT(o.s_ra, o.s_dec)) "
                                  "AS sep FROM TAP_UPLOAD.targets AS u JOIN ivoa.obscore AS o "
                                  "ON 1 = CONTAINS(POINT(o.s_ra, o.s_dec), CIRCLE(u.ra, u.dec, 0.5)) "
                                  "WHERE o.obs_collection = 'special' ORDER BY u.name",
                        uploads=[("targets", buf.getvalue())])
    assert [(r[0], r[1]) for r in rows] == [("a", "900001"), ("b", "900002"), ("b", "900003")]
    _, rows = query(small_db, "SELECT COUNT(*) FROM TAP_UPLOAD.targets", uploads=[("targets", buf.getvalue())])
    assert rows[0][0] == 3


def plan(db, adql):
    sql = translate(adql, Catalog.published()).sql
    conn = sqlite3.connect(db)
    from portal.archive.sqlfuncs import register
    register(conn)
    text = " | ".join(r[-1] for r in conn.execute("EXPLAIN QUERY PLAN " + sql))
    conn.close()
    return text


def test_cone_and_fov_searches_use_the_spatial_index(small_db):
    cone = plan(small_db, "SELECT * FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
                          "CIRCLE('ICRS', 83.6, 22.0, 1)) AND zenith < 40 AND energy_min < 1")
    assert "obscore_pos VIRTUAL TABLE INDEX" in cone and "SCAN t0" not in cone.replace("SCAN t0 USING", "")
    fov = plan(small_db, "SELECT * FROM ivoa.obscore WHERE CONTAINS(POINT('ICRS', 83.6, 22.0), s_region) = 1")
    assert "obscore_region VIRTUAL TABLE INDEX" in fov
    scan = plan(small_db, "SELECT * FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra + 0, s_dec), "
                          "CIRCLE('ICRS', 83.6, 22.0, 1))")
    assert "obscore_pos" not in scan and "SCAN t0" in scan
    ored = plan(small_db, "SELECT * FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
                          "CIRCLE('ICRS', 83.6, 22.0, 1)) OR zenith < 1")
    assert "obscore_pos" not in ored  # under OR the index would lose rows: not used


@pytest.mark.parametrize("adql,expected", [
    ("SELECT s_ra FROM ivoa.obscore WHERE", "ends too early"),
    ("SELECT s_ra FROM ivoa.obscore WHERE s_ra >> 2", "syntax error: unexpected '>'"),
    ("SELECT s_ra FROM ivoa.obscor", "unknown table ivoa.obscor"),
    ("SELECT s_raa FROM ivoa.obscore", "unknown column s_raa (did you mean s_ra"),
    ("SELECT obs_id FROM ivoa.obscore a, ivoa.obscore b", "column obs_id is ambiguous"),
    ("SELECT FOO(s_ra) FROM ivoa.obscore", "unknown function FOO"),
    ("SELECT SQRT(s_ra, 2) FROM ivoa.obscore", "SQRT takes 1 argument, not 2"),
    ("SELECT SQRT(target_name) FROM ivoa.obscore", "SQRT needs numbers, and target_name is not a number"),
    ("SELECT s_ra FROM ivoa.obscore WHERE s_ra", "WHERE needs a condition"),
    ("SELECT POINT('GALACTIC', 1, 2) FROM ivoa.obscore", "only ICRS coordinates"),
    ("SELECT s_ra FROM ivoa.obscore WHERE CONTAINS(s_ra, s_region) = 1", "CONTAINS needs geometries"),
    ("SELECT s_ra FROM ivoa.obscore WHERE CONTAINS(POINT(0, 95), s_region) = 1", "declination 95"),
    ("SELECT obs_id FROM ivoa.obscore UNION SELECT obs_id, s_ra FROM ivoa.obscore", "same number of columns"),
    ("SELECT s_ra FROM ivoa.obscore ORDER BY 3", "there are only 1 columns"),
    ("SELECT x.s_ra FROM ivoa.obscore AS o", "unknown table or alias x"),
])
def test_errors_are_readable(small_db, adql, expected):
    with pytest.raises(TapError) as exc:
        query(small_db, adql)
    assert expected in exc.value.message


def test_error_positions_point_into_the_query(small_db):
    with pytest.raises(TapError) as exc:
        query(small_db, "SELECT obs_id,\n       s_raa\nFROM ivoa.obscore")
    assert "(line 2, column 8)" in exc.value.message and "^" in exc.value.message


def test_maxrec_truncates_and_flags_overflow(small_db):
    from portal.archive import service
    from portal.archive.service import TapQuery

    result = service.execute(small_db, TapQuery("SELECT obs_id FROM ivoa.obscore", maxrec=7), "")
    assert len(result.rows) == 7 and result.overflow
    result = service.execute(small_db, TapQuery("SELECT TOP 7 obs_id FROM ivoa.obscore", maxrec=7), "")
    assert len(result.rows) == 7 and not result.overflow
    result = service.execute(small_db, TapQuery("SELECT obs_id FROM ivoa.obscore", maxrec=0), "")
    assert result.rows == [] and result.overflow


def test_distance_condition_with_any_radius(small_db, everything):
    where = "DISTANCE(POINT('ICRS', s_ra, s_dec), POINT('ICRS', 12, 34)) < {}"
    assert query(small_db, "SELECT COUNT(*) FROM ivoa.obscore WHERE " + where.format(200))[1][0][0] == len(everything)
    assert query(small_db, "SELECT COUNT(*) FROM ivoa.obscore WHERE " + where.format(-1))[1][0][0] == 0


def test_maxrec_hard_limit_and_default():
    from portal.archive.service import DEFAULT_MAXREC, HARD_MAXREC, parse_params

    base = {"lang": "ADQL", "query": "SELECT 1 FROM ivoa.obscore"}
    assert parse_params(base).maxrec == DEFAULT_MAXREC
    assert parse_params({**base, "maxrec": str(10**12)}).maxrec == HARD_MAXREC
    assert parse_params({**base, "maxrec": "0"}).maxrec == 0
