"""Name resolution offline (issue 21, point 8): how long the target search takes for a name the local
catalogs know ("Crab") and for an unknown name, with Sesame unreachable.

The resolver is the dashboard's (:func:`widgets.target.state.default_resolver`: Sesame, the portal's
``/resolver`` on the local catalogs, the archive's target names) against ``portal serve`` on
``$GAMMAPY_DATA``'s catalogs (empty archive), with Sesame's mirrors unreachable as offline machines show it:

- ``refused``: nothing listens (closed loopback ports);
- ``silent``: a loopback socket accepts and never answers (a proxy or a firewall that holds connections);
- ``CDS hosts``: the real Sesame URLs (on this machine their DNS names do not resolve).

(An unroutable address such as 10.255.255.1 fails at once here, as ``refused`` does.)

Each scenario takes a fresh resolver (a new kernel): REPEATS lookups of "Crab", then REPEATS of an unknown
name, p50 and max of each (the first "Crab" is the kernel's first lookup, before it knows Sesame is
unreachable). The same with Sesame asked again at every lookup (``retry_after=0``: what one lookup in 5
minutes meets). Then, with another fresh resolver, an unknown name as the kernel's very first lookup (no
goal: a silent Sesame costs its deadline once per kernel). The server's cold first answers come first.
"""

from __future__ import annotations

import os
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks import report
from benchmarks.measure import median

REPEATS = 7
UNKNOWN = "No Such Object 123"
CRAB_GOAL, UNKNOWN_GOAL = 0.5, 1.0


def _build(sesame_urls: list[str], portal: str, retry_due: bool = False):
    """The dashboard's resolver, with Sesame at ``sesame_urls`` (``retry_due``: an unreachable Sesame is
    asked again at every lookup, as one lookup every 5 minutes is)."""
    from widgets.target.resolver import (
        ArchiveTargets,
        NameResolver,
        PortalNames,
        SesameClient,
    )

    sesame = SesameClient(sesame_urls, **({"retry_after": 0} if retry_due else {}))
    return NameResolver([sesame, PortalNames(portal), ArchiveTargets(portal + "/tap")])


def _timed(resolver, name: str) -> tuple[float, object]:
    t0 = time.perf_counter()
    try:
        outcome = resolver.resolve(name)
    except LookupError as exc:  # NameNotFound
        outcome = exc
    return time.perf_counter() - t0, outcome


def _check(name: str, outcome) -> None:
    """A figure counts only for the right answer."""
    if name == UNKNOWN:
        if not isinstance(outcome, LookupError):
            raise RuntimeError(f"{name!r} should not resolve, got {outcome!r}")
    elif isinstance(outcome, Exception) or outcome.source != "gamma-cat" or outcome.name != "Crab nebula":
        raise RuntimeError(f"{name!r} should resolve to gamma-cat's Crab nebula, got {outcome!r}")


def measure(scenarios: dict[str, list[str]], portal: str, build: Callable = _build) -> dict:
    """Per scenario: REPEATS "Crab" and REPEATS unknown names with one resolver, the same with Sesame asked
    again at every lookup, and an unknown name as a fresh resolver's first lookup; each answer checked."""
    import pyvo  # noqa: F401 - imported in a dashboard's kernel already (the archive search)

    out = {}
    for label, urls in scenarios.items():
        out[label] = _session(build(urls, portal))
        retrying = build(urls, portal, retry_due=True)
        _timed(retrying, UNKNOWN)  # learns that Sesame is down
        out[f"{label}, asked again at each lookup"] = _session(retrying)
        seconds, outcome = _timed(build(urls, portal), UNKNOWN)
        _check(UNKNOWN, outcome)
        out[label]["first_unknown"] = seconds
    return out


def _session(resolver) -> dict:
    """REPEATS lookups of "Crab", then REPEATS of an unknown name, each answer checked."""
    times: dict = {"crab": [], "unknown": []}
    for key, name in (("crab", "Crab"), ("unknown", UNKNOWN)):
        for _ in range(REPEATS):
            seconds, outcome = _timed(resolver, name)
            _check(name, outcome)
            times[key].append(seconds)
    return times


def report_all(results: dict) -> None:
    for label, r in results.items():
        for key, what, goal in (("crab", "'Crab' (local catalogs)", CRAB_GOAL),
                                ("unknown", "unknown name", UNKNOWN_GOAL)):
            p50, worst = median(r[key]), max(r[key])
            report(f"{what}, Sesame {label}: p50 of {REPEATS}", p50, "s", goal=f"<= {goal:g} s", met=p50 <= goal)
            report(f"{what}, Sesame {label}: max of {REPEATS}", worst, "s", goal=f"<= {goal:g} s",
                   met=worst <= goal)
        if "first_unknown" in r:
            report(f"unknown name as a new kernel's first lookup, Sesame {label}", r["first_unknown"], "s")


def unreachable_sesames(stack) -> dict[str, list[str]]:
    """The scenarios' Sesame URLs (two mirrors each, as the default); servers entered on ``stack``."""
    from tests.support.servers import free_port
    from tests.widgets.silent_server import SilentServer
    from widgets.target.sesame import SESAME_URLS

    silent = stack.enter_context(SilentServer(hold=120))
    refused = [f"http://127.0.0.1:{free_port()}/cgi-bin/nph-sesame" for _ in SESAME_URLS]
    return {"refused": refused, "silent": [silent.url] * len(SESAME_URLS), "CDS hosts": list(SESAME_URLS)}


def cold_server(portal: str) -> None:
    """The server's first answers (catalogs read on first use), without Sesame."""
    from widgets.target.resolver import NameResolver, PortalNames

    local = NameResolver([PortalNames(portal)])
    for name, what in (("Crab", "'Crab'"), (UNKNOWN, "an unknown name")):
        seconds, outcome = _timed(local, name)
        _check(name, outcome)
        report(f"local catalogs only, {what}, first request to a new server", seconds, "s")


def run(build: Callable = _build) -> None:
    from contextlib import ExitStack

    from tests.conftest import gammapy_data
    from tests.support.servers import start_portal

    data = gammapy_data()
    if data is None:
        raise RuntimeError("GAMMAPY_DATA is not set: the local catalogs are needed")
    with tempfile.TemporaryDirectory(prefix="bench-resolution-") as tmp, ExitStack() as stack:
        server = start_portal(Path(tmp), env={"GAMMAPY_DATA": str(data), "PORTAL_DEFAULT_DATASET": "none"})
        stack.callback(server.stop)
        cold_server(server.url)
        report_all(measure(unreachable_sesames(stack), server.url, build))
        report("machine load average (1 min), 2 cores shared: noise", os.getloadavg()[0], "")
