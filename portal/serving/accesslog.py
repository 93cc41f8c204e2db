"""uvicorn's access log without the values of query strings.

A query string carries what the caller asked: ADQL text, positions, parameter values, sometimes a
secret someone put in a URL. The access log keeps the path and the parameters' names, and replaces
every value with ``*``: ``GET /tap/sync?LANG=*&QUERY=*``.
"""

from __future__ import annotations

import logging

__all__ = ["RedactQuery", "install", "redact"]

MAX_NAMES = 16
MAX_NAME = 40


def redact(target: str) -> str:
    """``path?a=1&b=2`` as ``path?a=*&b=*`` (names kept as sent, percent-encoded; long lists cut)."""
    path, mark, query = target.partition("?")
    if not mark:
        return target
    names = []
    for part in query.split("&")[:MAX_NAMES]:
        name, equals, _ = part.partition("=")
        name = name[:MAX_NAME] + ("..." if len(name) > MAX_NAME else "")
        names.append(name + ("=*" if equals else ""))
    more = "&..." if query.count("&") >= MAX_NAMES else ""
    return f"{path}?{'&'.join(names)}{more}"


class RedactQuery(logging.Filter):
    """For the ``uvicorn.access`` logger, whose records hold (client, method, target, version, status)."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], redact(args[2]), *args[3:])
        return True


def install() -> None:
    """Redact the access log (call after uvicorn has configured its loggers)."""
    logger = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, RedactQuery) for f in logger.filters):
        logger.addFilter(RedactQuery())
