"""Job definitions whose code cannot even be imported, for the job-process tests (run by the real service).

``broken`` runs code that raises at import (a module with a bug): the service must say so and keep running
every other job. ``exits`` runs code that writes to stderr and ends its interpreter at import (as a failed
C extension or a ``sys.exit`` in a module does), before the job could report anything: the job's error
summary must quote what it wrote, with the server's paths shown relative to the data roots. A server started
with ``PORTAL_JOB_DEFINITIONS=tests.reliability.dying_jobs:DEFINITIONS`` offers them.
"""

from __future__ import annotations

from portal.uws.definitions import JobDefinition, ResultSpec

BROKEN = JobDefinition(
    name="broken",
    description="Runs code that raises at import.",
    run="tests.reliability.job_code_raises:run",
    parameters=(),
    results=(ResultSpec("never", "application/json", "Never made."),),
    execution_duration=120,
)

EXITS = JobDefinition(
    name="exits",
    description="Runs code that writes to stderr and exits at import.",
    run="tests.reliability.job_code_exits:run",
    parameters=(),
    results=(ResultSpec("never", "application/json", "Never made."),),
    execution_duration=120,
)

DEFINITIONS = (BROKEN, EXITS)
