"""Hypothesis strategies for ADQL as users and attackers write it: mostly well formed, often wrong.

:func:`queries` mixes four kinds of text: queries built from the ADQL grammar over the archive's
own tables and columns (with extreme numbers, hostile strings, geometry out of range, deep
expressions, joins, subqueries, set operations, TOP/OFFSET/ORDER BY/GROUP BY); the same with a
few characters inserted, deleted or swapped; arbitrary text; and queries holding one huge or long
number (:func:`huge_number_queries`: integers of thousands of digits, 1e999999, long hexadecimals and
decimals, in every place a number stands). The test and the benchmark both
send them to `/tap/sync` and require an answer that is a result or a readable error, never a
server error, with the database unchanged.
"""

from __future__ import annotations

import re

import httpx
from hypothesis import strategies as st

from portal.archive.schema import OBSCORE

# the name of an exception class (VisitError, ValueError...): never in a message to a user
INTERNAL_NAME = re.compile(r"\b[A-Z]\w*(Error|Exception)\b|Traceback|set_int_max_str_digits")
NUMERIC = [c.name for c in OBSCORE.columns if c.datatype in ("int", "long", "double")]
TEXT = [c.name for c in OBSCORE.columns if c.datatype == "char"]
TABLES = ["ivoa.obscore", "TAP_SCHEMA.schemas", "TAP_SCHEMA.tables", "TAP_SCHEMA.columns", "TAP_SCHEMA.keys",
          "ivoa.nothing", "obscore", "sqlite_master", "TAP_UPLOAD.t", '"ivoa"."obscore"', "provenance.entity",
          "provenance.used", "product_publication"]
NUMERIC_FUNCTIONS = ["ABS", "CEILING", "FLOOR", "DEGREES", "RADIANS", "EXP", "LOG", "LOG10", "SQRT", "SIN",
                     "COS", "TAN", "ASIN", "ACOS", "ATAN", "ROUND", "TRUNCATE", "SIGN", "NOPE"]
BINARY_FUNCTIONS = ["MOD", "POWER", "ATAN2", "ROUND", "TRUNCATE"]
AGGREGATES = ["COUNT", "MIN", "MAX", "AVG", "SUM"]
HOSTILE_STRINGS = ["'", "''", "%", "_", "\\", "\x00", "é", "∞", "'; DROP TABLE x; --", "<script>", "a" * 300,
                   "Crab", "CRAB", "%crab%", "\u202e", "\ud7ff"]

# numbers no 64-bit integer or double holds (Python's int() refuses more than 4,300 digits), and long
# decimals that a double does hold: each gives a result or a 400 that says the number is out of range
huge_number = st.one_of(
    st.integers(4_301, 30_000).map(lambda n: "9" * n),
    st.integers(20, 4_300).map(lambda n: "1" + "0" * n),
    st.integers(309, 999_999).map(lambda e: f"1e{e}"),
    st.integers(309, 99_999).map(lambda e: f"1.5E+{e}"),
    st.integers(17, 20_000).map(lambda n: "0x" + "f" * n),
    st.integers(310, 20_000).map(lambda n: "7" * n + ".5"),
    st.integers(20, 60_000).map(lambda n: "0." + "3" * n),
    st.integers(20, 20_000).map(lambda n: "1." + "0" * n + "e-5"),
)
_plain_number = st.one_of(
    st.integers(-10, 400).map(str),
    st.sampled_from(["0", "-0", "1e308", "1e-308", "1e999", "-1e999", "9223372036854775807", "9223372036854775808",
                     "99999999999999999999", "0.5", ".5", "5.", "0x10", "1E3", "-90", "90.0001", "360", "-360"]),
    st.floats(allow_nan=False, allow_infinity=False, width=64).map(repr),
)
number = _plain_number
string = st.one_of(st.sampled_from(HOSTILE_STRINGS), st.text(max_size=12)).map(
    lambda s: "'" + s.replace("'", "''") + "'")
_valid_column = st.sampled_from(NUMERIC + TEXT)
column = st.one_of(_valid_column, _valid_column, _valid_column,
                   st.sampled_from(["a.s_ra", "b.s_dec", "o.obs_id", "nope", '"s_ra"', '"S_RA"', "ivoa.obscore.s_ra"]))
numeric_column = st.sampled_from(NUMERIC)


def _expressions(children):
    return st.one_of(
        st.tuples(children, st.sampled_from(["+", "-", "*", "/", "||"]), children).map(" ".join),
        st.tuples(st.sampled_from(NUMERIC_FUNCTIONS), children).map(lambda t: f"{t[0]}({t[1]})"),
        st.tuples(st.sampled_from(BINARY_FUNCTIONS), children, children).map(lambda t: f"{t[0]}({t[1]}, {t[2]})"),
        st.tuples(st.sampled_from(["LOWER", "UPPER"]), children).map(lambda t: f"{t[0]}({t[1]})"),
        children.map(lambda e: f"({e})"),
        children.map(lambda e: f"-{e}"),
        st.tuples(children, st.sampled_from(["INTEGER", "DOUBLE", "VARCHAR(3)", "BIGINT", "NOPE"])).map(
            lambda t: f"CAST({t[0]} AS {t[1]})"),
    )


expression = st.recursive(st.one_of(number, string, column, st.just("NULL")), _expressions, max_leaves=8)
point = st.tuples(expression, expression).map(lambda t: f"POINT('ICRS', {t[0]}, {t[1]})")
shape = st.one_of(
    st.tuples(number, number, number).map(lambda t: f"CIRCLE('ICRS', {t[0]}, {t[1]}, {t[2]})"),
    st.tuples(number, number, number, number).map(lambda t: f"BOX('ICRS', {t[0]}, {t[1]}, {t[2]}, {t[3]})"),
    st.lists(number, min_size=0, max_size=9).map(lambda xs: f"POLYGON('ICRS', {', '.join(xs)})"),
    st.just("s_region"),
)
predicate_leaf = st.one_of(
    st.tuples(expression, st.sampled_from(["=", "<>", "!=", "<", ">", "<=", ">="]), expression).map(" ".join),
    st.tuples(expression, number, number).map(lambda t: f"{t[0]} BETWEEN {t[1]} AND {t[2]}"),
    st.tuples(column, st.lists(st.one_of(number, string), min_size=1, max_size=5)).map(
        lambda t: f"{t[0]} IN ({', '.join(t[1])})"),
    st.tuples(column, st.sampled_from(["LIKE", "NOT LIKE", "ILIKE"]), string).map(" ".join),
    column.map(lambda c: f"{c} IS NULL"),
    column.map(lambda c: f"{c} IS NOT NULL"),
    st.tuples(point, shape).map(lambda t: f"1 = CONTAINS({t[0]}, {t[1]})"),
    st.tuples(shape, shape).map(lambda t: f"INTERSECTS({t[0]}, {t[1]}) = 1"),
    st.tuples(point, point, number).map(lambda t: f"DISTANCE({t[0]}, {t[1]}) < {t[2]}"),
    st.just("EXISTS (SELECT 1 FROM TAP_SCHEMA.schemas)"),
    st.just("obs_id IN (SELECT obs_id FROM ivoa.obscore WHERE s_dec > 0)"),
)
predicate = st.recursive(predicate_leaf, lambda p: st.one_of(
    st.tuples(p, st.sampled_from(["AND", "OR"]), p).map(" ".join),
    p.map(lambda x: f"NOT {x}"),
    p.map(lambda x: f"({x})"),
), max_leaves=6)
select_item = st.one_of(
    expression, st.tuples(expression, st.sampled_from(["x", "n", '"weird name"', "select"])).map(
        lambda t: f"{t[0]} AS {t[1]}"),
    st.tuples(st.sampled_from(AGGREGATES), st.one_of(numeric_column, st.just("*"))).map(lambda t: f"{t[0]}({t[1]})"),
    point, st.just("*"), st.just("a.*"),
)
from_clause = st.one_of(
    st.just("ivoa.obscore"), st.just("ivoa.obscore"), st.just("ivoa.obscore"),
    st.sampled_from(TABLES),
    st.sampled_from(["ivoa.obscore AS a", "ivoa.obscore AS o"]),
    st.just("ivoa.obscore AS a JOIN ivoa.obscore AS b ON a.obs_id = b.obs_id"),
    st.just("ivoa.obscore AS a NATURAL JOIN TAP_SCHEMA.schemas AS b"),
    st.just("ivoa.obscore AS a, TAP_SCHEMA.tables AS b"),
    st.just("(SELECT TOP 5 * FROM ivoa.obscore) AS a"),
)


@st.composite
def structured(draw) -> str:
    parts = ["SELECT"]
    if draw(st.booleans()):
        parts.append("DISTINCT")
    if draw(st.integers(0, 3)) == 0:
        parts.append(f"TOP {draw(st.one_of(st.integers(0, 50).map(str), number))}")
    parts.append(", ".join(draw(st.lists(select_item, min_size=1, max_size=4))))
    parts.append("FROM " + draw(from_clause))
    if draw(st.booleans()):
        parts.append("WHERE " + draw(predicate))
    if draw(st.integers(0, 4)) == 0:
        parts.append("GROUP BY " + draw(column))
    if draw(st.integers(0, 3)) == 0:
        parts.append("ORDER BY " + draw(st.one_of(column, st.integers(-1, 5).map(str))) + " "
                     + draw(st.sampled_from(["", "ASC", "DESC"])))
    if draw(st.integers(0, 6)) == 0:
        parts.append(f"OFFSET {draw(number)}")
    text = " ".join(parts)
    if draw(st.integers(0, 8)) == 0:
        text = f"{text} {draw(st.sampled_from(['UNION', 'UNION ALL', 'EXCEPT', 'INTERSECT']))} {text}"
    if draw(st.integers(0, 10)) == 0:
        text = f"WITH t AS ({text}) SELECT * FROM t"
    return text


@st.composite
def mutated(draw) -> str:
    text = draw(structured())
    for _ in range(draw(st.integers(1, 3))):
        i = draw(st.integers(0, len(text)))
        op = draw(st.sampled_from(["insert", "delete", "swap"]))
        if op == "insert":
            text = text[:i] + draw(st.sampled_from(list("()',;\"*%-+/|\\\x00") + ["--", "/*", "SELECT", " "])) + text[i:]
        elif op == "delete" and text:
            text = text[:i] + text[i + 1:]
        elif i + 1 < len(text):
            text = text[:i] + text[i + 1] + text[i] + text[i + 2:]
    return text


def queries():
    return st.one_of(structured(), structured(), structured(), mutated(), st.text(max_size=200),
                     st.deferred(lambda: huge_number_queries().map(lambda case: case[0])))


def representable(literal: str) -> bool:
    """Whether the service can hold ``literal``: a 64-bit integer or a finite double."""
    text = literal.lstrip("-")
    if text.lower().startswith("0x"):
        return len(text[2:].lstrip("0")) <= 16 and int(text, 16) < 2**63
    if any(ch in text for ch in ".eE"):
        return float(text) not in (float("inf"), float("-inf"))
    digits = text.lstrip("0")
    return len(digits) <= 19 and int(digits or "0") < 2**63


# where a huge number can stand in a query: {} is the number
HUGE_PLACES = (
    "SELECT {} FROM ivoa.obscore",
    "SELECT TOP 1 obs_id FROM ivoa.obscore WHERE t_min > {}",
    "SELECT TOP 1 obs_id FROM ivoa.obscore WHERE s_ra BETWEEN -{} AND {}",
    "SELECT TOP 1 obs_id FROM ivoa.obscore WHERE obs_id IN (1, {})",
    "SELECT TOP 1 obs_id FROM ivoa.obscore WHERE 1 = CONTAINS(POINT('ICRS', s_ra, s_dec), "
    "CIRCLE('ICRS', 83.6, 22.0, {}))",
    "SELECT TOP 1 ABS({}) + 1 FROM ivoa.obscore",
    "SELECT TOP {} obs_id FROM ivoa.obscore",
    "SELECT obs_id FROM ivoa.obscore ORDER BY obs_id OFFSET {}",
    "SELECT obs_id FROM ivoa.obscore ORDER BY {}",
)


@st.composite
def huge_number_queries(draw) -> tuple[str, str]:
    """(query, the number in it): one huge or long number in one of :data:`HUGE_PLACES`."""
    literal = draw(huge_number)
    return draw(st.sampled_from(HUGE_PLACES)).replace("{}", literal), literal


request_extras = st.fixed_dictionaries({}, optional={
    "MAXREC": st.one_of(st.integers(-1, 200).map(str), st.sampled_from(["", "x", "1e3", "99999999999999999999"])),
    "RESPONSEFORMAT": st.sampled_from(["votable", "votable/td", "csv", "tsv", "xls", "", "application/json"]),
})


def fuzz(url: str, n: int, *, derandomize: bool = True, timeout: float = 60) -> dict:
    """Send ``n`` generated queries to ``url``/tap/sync; returns the counts by outcome.

    ``server_errors`` lists (status, query) for every answer that is not 200 or a 400 VOTable
    error with a message (one that names no exception class); the caller asserts it is empty.
    """
    from hypothesis import HealthCheck, given, settings

    from tests.reliability.votables import error_message

    tally = {"cases": 0, "ok": 0, "refused": 0, "server_errors": []}
    client = httpx.Client(base_url=url, timeout=timeout)

    @settings(max_examples=n, deadline=None, database=None, derandomize=derandomize,
              suppress_health_check=list(HealthCheck), phases=("generate",))
    @given(query=queries(), extras=request_extras)
    def one(query, extras):
        tally["cases"] += 1
        data = {"LANG": "ADQL", "MAXREC": "100", "QUERY": query, **extras}
        response = client.post("/tap/sync", data=data)
        message = error_message(response.content) if response.status_code == 400 else None
        if response.status_code == 200:
            tally["ok"] += 1
        elif message and not INTERNAL_NAME.search(message):
            tally["refused"] += 1
        else:
            tally["server_errors"].append((response.status_code, query[:300], response.text[-300:]))

    try:
        one()
    finally:
        client.close()
    return tally
