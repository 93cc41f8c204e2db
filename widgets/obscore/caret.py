"""Where a service says a query fails, drawn under the query's own line: a monospace block, escaped.

Services say where ADQL fails in their message: the portal's "(line 2, column 7)", DaCHS's pyparsing
"(at char 15), (line:2, col:7)". :func:`excerpt` takes that line from the query that ran (not from the
service's quote of it, which may be cut, re-indented or absent) and puts a caret under the column;
:func:`status_html` shows the message with it in a ``<pre>`` block whose font is monospace, so the
caret stands under the character it points at. Everything typed by the user is escaped.
"""

from __future__ import annotations

import html
import re
import unicodedata

WIDTH = 100  # characters of the query line shown around the column
COLORS = {"idle": "#555", "running": "#555", "done": "#2e7d32", "error": "#c62828"}
MONOSPACE = "ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, 'Liberation Mono', monospace"
_POSITION = re.compile(r"\bline\s*:?\s*(\d+)\s*,\s*col(?:umn)?\s*:?\s*(\d+)", re.IGNORECASE)


def position(message: str) -> tuple[int, int] | None:
    """(line, column), both counted from 1, where the message says the query fails; None if it does not."""
    found = _POSITION.search(message or "")
    if not found:
        return None
    line, column = int(found.group(1)), int(found.group(2))
    return (line, column) if line >= 1 and column >= 1 else None


def _cells(text: str) -> int:
    """Monospace cells that ``text`` takes: two for a wide (East Asian) character, none for a combining one."""
    return sum(0 if unicodedata.combining(c) else 2 if unicodedata.east_asian_width(c) in "WF" else 1
               for c in text)


def excerpt(query: str, line: int, column: int, width: int = WIDTH) -> tuple[str, str] | None:
    """The query's ``line`` (numbered, cut to ``width`` characters around ``column``) and a line with a caret
    under ``column``; None when the query has no such line or column."""
    lines = query.splitlines()
    if not 1 <= line <= len(lines):
        return None
    text = lines[line - 1].replace("\t", " ")  # a service counts a tab as one column
    if column > len(text) + 1:  # one past the end: "the line ends too early"
        return None
    start = 0
    if len(text) > width:
        start = max(0, min(column - 1 - width // 2, len(text) - width))
    shown = ("\u2026" if start else "") + text[start:start + width] + ("\u2026" if start + width < len(text) else "")
    gutter = f"{line} | "
    lead = gutter + ("\u2026" if start else "") + text[start:column - 1]
    return gutter + shown, " " * _cells(lead) + "^"


def _without_quote(lines: list[str]) -> list[str]:
    """The service's lines less its own quote of the query: a caret-only line and the line above it."""
    out = list(lines)
    for i in range(len(out) - 1, -1, -1):
        if out[i].strip() == "^":
            del out[max(0, i - 1):i + 1]
            break
    return out


def status_html(status: str, message: str, query: str = "") -> str:
    """The message, escaped. When it points at a line and column of ``query`` (the query that ran), that
    line of the query with a caret under the column, in a monospace block; else the message's further
    lines (a service's own quote of the query, say) in the same block, their spaces kept."""
    if not message:
        return ""
    first, _, rest = message.partition("\n")
    lines = rest.splitlines()
    where = position(first) or position(rest)
    quoted = excerpt(query, *where) if where and query else None
    if quoted:
        lines = list(quoted) + [line for line in _without_quote(lines) if line.strip()]
    block = "\n".join(lines)
    pre = (f'<pre class="portal-query-error" style="margin:2px 0;padding:4px 6px;background:#f7f7f7;'
           f'white-space:pre;overflow-x:auto;font-family:{MONOSPACE};font-size:12px;line-height:1.35;'
           f'font-variant-ligatures:none;letter-spacing:0">{html.escape(block)}</pre>') if block.strip() else ""
    return f"<div style='color:{COLORS[status]}'><span>{html.escape(first)}</span>{pre}</div>"
