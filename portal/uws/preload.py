"""Imported by the job processes' fork server: the job modules named in ``PORTAL_JOB_PRELOAD``, each on its own.

Python's fork server imports its preload modules itself and stops at the first one that raises anything but
an ImportError: one broken definition module stopped every job of every definition. Here a module that
cannot be imported is reported on stderr and left out; the job that needs it imports it again in its own
process, where the failure becomes that job's error (:mod:`portal.uws.execute`, :mod:`portal.uws.worker`).
"""

from __future__ import annotations

import importlib
import os
import sys

from portal.uws.child import PRELOAD_VARIABLE


def preload(names: str) -> list[str]:
    """Import each module of the comma-separated ``names``; returns those that could not be imported."""
    failed = []
    for name in filter(None, (n.strip() for n in names.split(","))):
        try:
            importlib.import_module(name)
        except (Exception, SystemExit) as exc:  # noqa: BLE001 - a module's failure is its jobs' error, later
            failed.append(name)
            print(f"portal job server: {name} could not be preloaded ({type(exc).__name__}: {exc}); "
                  "its jobs will say why", file=sys.stderr, flush=True)
    return failed


preload(os.environ.get(PRELOAD_VARIABLE, ""))
