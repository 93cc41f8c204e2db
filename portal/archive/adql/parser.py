"""Parse ADQL text into the syntax tree of :mod:`portal.archive.adql.ast` (lark, LALR)."""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

import lark
from lark import Transformer, v_args

from portal.archive.adql import ast

log = logging.getLogger("portal.archive")

MAX_QUERY_LENGTH = 100_000
MAX_NESTING = 100  # levels of parentheses (subqueries, functions, boolean groups)
TOO_DEEP = "the query is nested too deeply"
_EXPECT_NAMES = {
    "RPAR": "')'", "LPAR": "'('", "COMMA": "','", "DOT": "'.'", "STAR": "'*'", "SEMICOLON": "';'",
    "NUMBER": "a number", "STRING": "a string", "REGULAR_ID": "a name", "DELIMITED_ID": "a quoted name",
    "COMP_OP": "a comparison", "ADD_OP": "'+' or '-'", "MUL_OP": "'*' or '/'", "CONCAT": "'||'",
    "$END": "the end of the query",
}


class AdqlError(ValueError):
    """A query that cannot be run, with a message for a person and, when known, a position."""

    def __init__(self, message: str, pos: ast.Pos | None = None, query: str | None = None):
        self.pos = pos
        self.reason = message  # without the position and the context
        if pos and query:
            message = f"{message} (line {pos[0]}, column {pos[1]})\n{_context(query, pos)}"
        elif pos:
            message = f"{message} (line {pos[0]}, column {pos[1]})"
        super().__init__(message)


def _context(query: str, pos: ast.Pos) -> str:
    lines = query.splitlines() or [""]
    line = lines[min(pos[0], len(lines)) - 1]
    start = max(0, pos[1] - 60)
    return "  " + line[start:start + 120] + "\n  " + " " * (pos[1] - 1 - start) + "^"


@lru_cache(maxsize=1)
def _parser() -> lark.Lark:
    grammar = (Path(__file__).with_name("adql.lark")).read_text()
    # no propagate_positions: it made parsing three times slower; nodes take the position of
    # their first token instead (see _pos)
    return lark.Lark(grammar, parser="lalr", maybe_placeholders=False)


def parse(query: str) -> ast.QueryExpr:
    """Parse one ADQL query. Raises :class:`AdqlError` with the position of a syntax error."""
    if len(query) > MAX_QUERY_LENGTH:
        raise AdqlError(f"the query is too long ({len(query)} characters; the limit is {MAX_QUERY_LENGTH})")
    if not query.strip():
        raise AdqlError("the query is empty")
    if _nesting(query) > MAX_NESTING:
        raise AdqlError(f"{TOO_DEEP} (more than {MAX_NESTING} levels of parentheses)")
    try:
        tree = _parser().parse(query)
    except lark.exceptions.UnexpectedToken as exc:
        tok = exc.token
        if tok.type == "$END":
            raise AdqlError("the query ends too early; " + _expected(exc.expected)) from None
        raise AdqlError(f"syntax error: unexpected {str(tok)!r}; {_expected(exc.expected)}",
                        (tok.line, tok.column), query) from None
    except lark.exceptions.UnexpectedCharacters as exc:
        char = query[exc.pos_in_stream] if exc.pos_in_stream < len(query) else ""
        raise AdqlError(f"syntax error: unexpected character {char!r}", (exc.line, exc.column), query) from None
    except lark.exceptions.UnexpectedEOF as exc:
        raise AdqlError("the query ends too early; " + _expected(exc.expected)) from None
    try:
        return _ToAst().transform(tree)
    except lark.exceptions.VisitError as exc:
        if isinstance(exc.orig_exc, AdqlError):
            raise AdqlError(exc.orig_exc.reason, exc.orig_exc.pos, query) from None
        if isinstance(exc.orig_exc, RecursionError):  # lark wraps what a transformer method raised
            raise AdqlError(TOO_DEEP) from None
        # never the name of an internal exception: a sentence, with where the part begins
        log.warning("ADQL transform failed in rule %s: %r", exc.rule, exc.orig_exc)
        children = getattr(exc.obj, "children", None) or ([exc.obj] if isinstance(exc.obj, lark.Token) else [])
        pos = _first_pos(children)
        raise AdqlError("this part of the query cannot be read; check its syntax", pos if pos != (0, 0) else None,
                        query) from None
    except RecursionError:
        raise AdqlError(TOO_DEEP) from None


def _nesting(query: str) -> int:
    """The deepest nesting of parentheses outside string literals and quoted names."""
    depth = deepest = 0
    quote = None
    for ch in query:
        if quote is not None:
            if ch == quote:
                quote = None  # a doubled quote closes and reopens: the count is unchanged
        elif ch in "'\"":
            quote = ch
        elif ch == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif ch == ")":
            depth -= 1
    return deepest


def _expected(names) -> str:
    shown = sorted({_EXPECT_NAMES.get(n, n if n.isupper() else repr(n)) for n in names})
    if len(shown) > 12:
        return "expected something else here"
    return "expected " + ", ".join(shown)


def _pos(meta, children=()) -> ast.Pos:
    """Where a rule's text starts: the position of its first token (or of its first node)."""
    line = getattr(meta, "line", None)
    if line:
        return (line, getattr(meta, "column", 0) or 0)
    return _first_pos(children)


def _first_pos(items) -> ast.Pos:
    for item in items:
        if isinstance(item, lark.Token):
            return (item.line or 0, item.column or 0)
        if isinstance(item, (list, tuple)):
            found = _first_pos(item)
        else:
            found = getattr(item, "pos", None) or (0, 0)
        if found != (0, 0):
            return found
    return (0, 0)


def _tokens(children, *types):
    return [c for c in children if isinstance(c, lark.Token) and c.type in types]


def _nodes(children):
    return [c for c in children if not isinstance(c, lark.Token)]


LARGEST = 2**63 - 1  # SQLite's integers are 64-bit
FLOAT_RANGE = "±1.8e308"
SHOWN_DIGITS = 24  # a long literal is shown by its ends and its length, never whole


def shown(text: str) -> str:
    """A literal as a message shows it: whole when short, else its ends and how long it is."""
    if len(text) <= SHOWN_DIGITS + 8:
        return text
    return f"{text[:SHOWN_DIGITS // 2]}…{text[-SHOWN_DIGITS // 2:]} ({len(text):,} characters)"


def _int_literal(text: str, pos: ast.Pos) -> int:
    """The value of a decimal or hexadecimal integer literal, without ever converting thousands of
    digits (Python refuses more than 4,300 for a decimal): past 64 bits it is refused."""
    hexadecimal = text.lower().startswith("0x")
    digits = (text[2:] if hexadecimal else text).lstrip("0")
    if len(digits) > (16 if hexadecimal else 19):
        raise AdqlError(f"the integer {shown(text)} is out of range: integers here lie between "
                        f"{-LARGEST - 1} and {LARGEST}; write a larger value as a floating-point number "
                        "(for example 1e30)", pos)
    return int(digits or "0", 16 if hexadecimal else 10)


def _float_literal(text: str, pos: ast.Pos) -> float:
    value = float(text)  # any length: Python's float() has no digit limit
    if value in (float("inf"), float("-inf")):
        raise AdqlError(f"the number {shown(text)} is out of range: numbers here lie within {FLOAT_RANGE} "
                        "(a double)", pos)
    return value


def _integer(token: lark.Token, what: str) -> int:
    text = str(token)
    pos = (token.line, token.column)
    if any(ch in text for ch in ".eE") and not text.lower().startswith("0x"):
        raise AdqlError(f"{what} needs a whole number, not {shown(text)}", pos)
    value = _int_literal(text, pos)
    if value > LARGEST:
        raise AdqlError(f"{what} {shown(text)} is too large; the largest is {LARGEST}", pos)
    return value


@v_args(meta=True)
class _ToAst(Transformer):
    # --- names
    def identifier(self, meta, children):
        tok = children[0]
        if tok.type == "DELIMITED_ID":
            return ast.Ident(str(tok)[1:-1].replace('""', '"'), quoted=True, pos=(tok.line, tok.column))
        return ast.Ident(str(tok), pos=(tok.line, tok.column))

    def name_chain(self, meta, children):
        parts = []
        for c in children:
            parts.extend(c if isinstance(c, list) else [c])
        return parts

    # --- literals and references
    def number(self, meta, children):
        text = str(children[0])
        pos = _pos(meta, children)
        if not text.lower().startswith("0x") and any(ch in text for ch in ".eE"):
            return ast.Num(_float_literal(text, pos), text, pos)
        return ast.Num(_int_literal(text, pos), text, pos)

    def string(self, meta, children):
        return ast.Str(str(children[0])[1:-1].replace("''", "'"), _pos(meta, children))

    def null(self, meta, children):
        return ast.Null(_pos(meta, children))

    def column_ref(self, meta, children):
        return ast.Column(children[0], _pos(meta, children))

    def call(self, meta, children):
        return ast.Call(children[0], _nodes(children[1:]), _pos(meta, children))

    def call_quantified(self, meta, children):
        name, quant, arg = children
        return ast.Call(name, [arg], _pos(meta, children), quantifier=quant)

    def call_star(self, meta, children):
        return ast.Call(children[0], [], _pos(meta, children), star=True)

    def quantifier(self, meta, children):
        return str(children[0]).upper()

    def scalar_subquery(self, meta, children):
        return ast.Subquery(children[0], _pos(meta, children))

    # --- operators
    def sign(self, meta, children):
        op, operand = children
        if str(op) == "+":
            return operand
        if isinstance(operand, ast.Num):
            return ast.Num(-operand.value, "-" + operand.text, _pos(meta, children))
        return ast.Unary("-", operand, _pos(meta, children))

    def arith(self, meta, children):
        left, op, right = children
        return ast.Binary(str(op), left, right, _pos(meta, children))

    def concat(self, meta, children):
        return ast.Binary("||", children[0], children[2], _pos(meta, children))

    def comparison(self, meta, children):
        left, op, right = children
        op = "<>" if str(op) == "!=" else str(op)
        return ast.Compare(op, left, right, _pos(meta, children))

    def between(self, meta, children):
        exprs = _nodes(children)
        return ast.Between(bool(_tokens(children, "NOT")), exprs[0], exprs[1], exprs[2], _pos(meta, children))

    def in_list(self, meta, children):
        exprs = _nodes(children)
        return ast.InList(bool(_tokens(children, "NOT")), exprs[0], exprs[1:], _pos(meta, children))

    def in_subquery(self, meta, children):
        exprs = _nodes(children)
        return ast.InQuery(bool(_tokens(children, "NOT")), exprs[0], exprs[1], _pos(meta, children))

    def like(self, meta, children):
        exprs = _nodes(children)
        return ast.Like(bool(_tokens(children, "NOT")), exprs[0], exprs[1], False, _pos(meta, children))

    def ilike(self, meta, children):
        exprs = _nodes(children)
        return ast.Like(bool(_tokens(children, "NOT")), exprs[0], exprs[1], True, _pos(meta, children))

    def is_null(self, meta, children):
        return ast.IsNull(bool(_tokens(children, "NOT")), _nodes(children)[0], _pos(meta, children))

    def exists(self, meta, children):
        return ast.Exists(_nodes(children)[0], _pos(meta, children))

    def and_(self, meta, children):
        return ast.BoolOp("AND", children[0], children[2], _pos(meta, children))

    def or_(self, meta, children):
        return ast.BoolOp("OR", children[0], children[2], _pos(meta, children))

    def not_(self, meta, children):
        return ast.Not(children[1], _pos(meta, children))

    # --- query structure
    def start(self, meta, children):
        return children[0]

    def query_expression(self, meta, children):
        q = ast.QueryExpr(body=None)
        for c in children:
            if isinstance(c, tuple) and c[0] == "with":
                q.with_ = c[1]
            elif isinstance(c, tuple) and c[0] == "order":
                q.order_by = c[1]
            elif isinstance(c, tuple) and c[0] == "offset":
                q.offset = c[1]
            else:
                q.body = c
        return q

    def with_clause(self, meta, children):
        return ("with", _nodes(children))

    def cte(self, meta, children):
        nodes = _nodes(children)
        name, rest = nodes[0], nodes[1:]
        columns = rest[0] if len(rest) == 2 else None
        return ast.CommonTable(name, columns, rest[-1], _pos(meta, children))

    def column_names(self, meta, children):
        return list(children)

    def _setop(self, op, meta, children):
        nodes = _nodes(children)
        return ast.SetOp(op, bool(_tokens(children, "ALL")), nodes[0], nodes[1], _pos(meta, children))

    def union(self, meta, children):
        return self._setop("UNION", meta, children)

    def except_(self, meta, children):
        return self._setop("EXCEPT", meta, children)

    def intersect(self, meta, children):
        return self._setop("INTERSECT", meta, children)

    def query_spec(self, meta, children):
        spec = ast.QuerySpec(False, None, None, [], None, [], None, _pos(meta, children))
        for c in children:
            if isinstance(c, lark.Token):
                continue
            if c == "DISTINCT":
                spec.distinct = True
            elif c == "ALL":
                pass
            elif isinstance(c, tuple):
                kind, value = c
                setattr(spec, kind, value)
        return spec

    def top(self, meta, children):
        return ("top", _integer(children[1], "TOP"))

    def select_star(self, meta, children):
        return ("items", None)

    def select_list(self, meta, children):
        return ("items", list(children))

    def select_expr(self, meta, children):
        nodes = _nodes(children)
        return ast.SelectExpr(nodes[0], nodes[1] if len(nodes) > 1 else None)

    def select_table_star(self, meta, children):
        return ast.SelectTableStar(children[0], _pos(meta, children))

    def from_clause(self, meta, children):
        return ("tables", _nodes(children))

    def table_name(self, meta, children):
        nodes = _nodes(children)
        return ast.NamedTable(nodes[0], nodes[1] if len(nodes) > 1 else None, _pos(meta, children))

    def derived_table(self, meta, children):
        nodes = _nodes(children)
        return ast.DerivedTable(nodes[0], nodes[1], _pos(meta, children))

    def table_primary(self, meta, children):
        return children[0]  # a parenthesised join

    def join_type(self, meta, children):
        return str(children[0]).upper()

    def qualified_join(self, meta, children):
        nodes = _nodes(children)
        kind = next((n for n in nodes if isinstance(n, str)), "INNER")
        left, right, spec = [n for n in nodes if not isinstance(n, str)]
        on, using = spec
        return ast.Join(kind, left, right, on=on, using=using, pos=_pos(meta, children))

    def natural_join(self, meta, children):
        nodes = _nodes(children)
        kind = next((n for n in nodes if isinstance(n, str)), "INNER")
        left, right = [n for n in nodes if not isinstance(n, str)]
        return ast.Join(kind, left, right, natural=True, pos=_pos(meta, children))

    def cross_join(self, meta, children):
        left, right = _nodes(children)
        return ast.Join("CROSS", left, right, pos=_pos(meta, children))

    def join_on(self, meta, children):
        return (_nodes(children)[0], None)

    def join_using(self, meta, children):
        return (None, _nodes(children))

    def where(self, meta, children):
        return ("where", children[1])

    def group_by(self, meta, children):
        return ("group_by", _nodes(children))

    def having(self, meta, children):
        return ("having", children[1])

    def order_by(self, meta, children):
        return ("order", _nodes(children))

    def sort_spec(self, meta, children):
        return ast.SortSpec(children[0], bool(_tokens(children, "DESC")))

    def offset(self, meta, children):
        return ("offset", _integer(children[1], "OFFSET"))
