"""The current search as a pyvo script, to copy into a notebook or a program."""

from __future__ import annotations

from widgets.obscore.services import Service


def pyvo_code(service: Service, query: str, maxrec: int, mode: str = "sync") -> str:
    runner = "run_async" if mode == "async" else "run_sync"
    body = query.strip().replace('"""', '\\"\\"\\"')
    return "\n".join([
        "import pyvo",
        "",
        f"service = pyvo.dal.TAPService({service.url!r})",
        'query = """',
        body,
        '"""',
        f"results = service.{runner}(query, maxrec={int(maxrec)})",
        "table = results.to_table()  # an astropy Table",
        "",
    ])
