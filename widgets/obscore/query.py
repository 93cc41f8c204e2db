"""Run an ADQL query on a TAP service with pyvo (sync or async), as an outcome with a readable message."""

from __future__ import annotations

import time
import warnings
from dataclasses import dataclass

from widgets.obscore.services import Service

MAX_MAXREC = 1_000_000


@dataclass
class Outcome:
    ok: bool
    message: str
    table: object = None  # astropy Table
    overflow: bool = False
    seconds: float = 0.0
    adql: str = ""  # the query that ran, when it is not the one asked for (a fallback)


def _reason(exc: Exception) -> str:
    """The service's message, its lines kept: an ADQL syntax error's caret points at a column of
    the line above it."""
    text = str(getattr(exc, "reason", "") or exc)
    lines = [line.rstrip() for line in text.strip("\n").splitlines() if line.strip()][:12]
    if lines:
        lines[0] = " ".join(lines[0].split())
    return "\n".join(lines)[:1200] or type(exc).__name__


def has_footprints(service: Service, client=None) -> bool:
    """Does the service give any observation's field of view (``s_region``)? True when unsure."""
    from widgets.obscore.adql import identifier

    probe = run(service, f"SELECT TOP 1 s_region FROM {identifier(service.table)} WHERE s_region IS NOT NULL", 1,
                client=client)
    return not probe.ok or len(probe.table) > 0


def _network_failure(exc: BaseException) -> str | None:
    """'connection refused', 'timed out'... when the error is the network's, else None."""
    import requests

    seen = set()
    while exc is not None and id(exc) not in seen:
        seen.add(id(exc))
        if isinstance(exc, requests.exceptions.Timeout):
            return "timed out"
        if isinstance(exc, requests.exceptions.ConnectionError):
            text = str(exc).lower()
            if "refused" in text:
                return "connection refused"
            if "name or service not known" in text or "resolve" in text or "nodename" in text:
                return "host name not found"
            return "connection failed"
        exc = getattr(exc, "cause", None) or exc.__cause__ or exc.__context__
    return None


def run(service: Service, query: str, maxrec: int, mode: str = "sync", timeout: float = 600.0,
        client=None) -> Outcome:
    """Run ``query``; never raises: errors come back as an Outcome with ok=False and a message."""
    from pyvo.dal import DALFormatError, DALOverflowWarning, DALQueryError, DALServiceError

    if not query.strip():
        return Outcome(False, "the query is empty")
    if not 0 < maxrec <= MAX_MAXREC:
        return Outcome(False, f"MAXREC must be between 1 and {MAX_MAXREC:,}, not {maxrec:,}")
    started = time.perf_counter()
    try:
        from widgets.client import default_client

        tap = (client or default_client()).tap_service(service.url)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            if mode == "async":
                results = tap.run_async(query, maxrec=maxrec, timeout=timeout)
            else:
                results = tap.run_sync(query, maxrec=maxrec)
            table = results.to_table()
    except DALQueryError as exc:
        return Outcome(False, f"the service refused the query: {_reason(exc)}")
    except (DALFormatError, DALServiceError) as exc:
        network = _network_failure(exc)
        if network:
            return Outcome(False, f"the service at {service.url} cannot be reached ({network})")
        if isinstance(exc, DALFormatError):
            return Outcome(False, f"the service at {service.url} did not answer with a VOTable: {_reason(exc)}")
        return Outcome(False, f"the service at {service.url} cannot be used now: {_reason(exc)}")
    except Exception as exc:  # noqa: BLE001 - any other failure is reported, never raised into the page
        return Outcome(False, f"the query failed: {_reason(exc)}")
    seconds = time.perf_counter() - started
    overflow = (results.query_status or "").upper() == "OVERFLOW" or any(
        issubclass(w.category, DALOverflowWarning) for w in caught)
    n = len(table)
    message = f"{n:,} row{'s' if n != 1 else ''} in {seconds:.2f} s ({mode})"
    if overflow:
        message += (f". The result was truncated at MAXREC = {maxrec:,} rows: raise MAXREC, narrow the "
                    "search, or run it as an async job for more")
    return Outcome(True, message, table, overflow, seconds)
