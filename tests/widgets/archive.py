"""Wait until `portal serve` has ingested its default dataset (it does so in the background)."""

from __future__ import annotations

import time

import httpx

HESS_DR1_ROWS = 105


def wait_for_archive(url: str, rows: int = HESS_DR1_ROWS, timeout: float = 600) -> int:
    """Poll the TAP service until ivoa.obscore has at least ``rows`` rows; return the count."""
    deadline = time.monotonic() + timeout
    count = -1
    while time.monotonic() < deadline:
        try:
            response = httpx.get(url + "/tap/sync", timeout=30, params={
                "LANG": "ADQL", "RESPONSEFORMAT": "csv", "QUERY": "SELECT COUNT(*) AS n FROM ivoa.obscore"})
            if response.status_code == 200:
                count = int(response.text.split()[-1])
                if count >= rows:
                    return count
        except (httpx.HTTPError, ValueError):
            pass
        time.sleep(1)
    raise RuntimeError(f"the archive at {url} has {count} rows after {timeout} s, expected {rows}")
