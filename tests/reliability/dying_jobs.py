"""Job definitions whose code cannot even be imported, for the job-process tests (run by the real service).

``broken`` runs code that raises at import (a module with a bug): the service must say so and keep running
every other job. ``exits`` runs code that writes to stderr and ends its interpreter at import (as a failed
C extension or a ``sys.exit`` in a module does), before the job could report anything: the job's error
summary must quote what it wrote, with the server's paths shown relative to the data roots. A server started
with ``PORTAL_JOB_DEFINITIONS=tests.reliability.dying_jobs:DEFINITIONS`` offers them.
"""

from __future__ import annotations

from portal.uws.definitions import JobDefinition, ResultSpec


def _dying(name: str, description: str, module: str) -> JobDefinition:
    """A kind whose code, ``tests.reliability.<module>``, never gets to run."""
    return JobDefinition(name=name, description=description, run=f"tests.reliability.{module}:run", parameters=(),
                         results=(ResultSpec("never", "application/json", "Never made."),), execution_duration=120)


BROKEN = _dying("broken", "Runs code that raises at import.", "job_code_raises")
EXITS = _dying("exits", "Runs code that writes to stderr and exits at import.", "job_code_exits")

DEFINITIONS = (BROKEN, EXITS)
