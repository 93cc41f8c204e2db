"""The current search as a pyvo script, to copy into a notebook or a program."""

from __future__ import annotations

from widgets.obscore.services import Service


def _query_literal(query: str) -> str:
    """The query as a Python literal: a readable triple-quoted block when that is exact, else repr()."""
    body = query.strip()
    if "\\" in body or '"""' in body or body.endswith('"') or "\r" in body:
        return repr(body)
    return f'"""\n{body}\n"""'


def pyvo_code(service: Service, query: str, maxrec: int, mode: str = "sync") -> str:
    runner = "run_async" if mode == "async" else "run_sync"
    return "\n".join([
        "import pyvo",
        "",
        f"service = pyvo.dal.TAPService({service.url!r})",
        f"query = {_query_literal(query)}",
        f"results = service.{runner}(query, maxrec={int(maxrec)})",
        "table = results.to_table()  # an astropy Table",
        "",
    ])
