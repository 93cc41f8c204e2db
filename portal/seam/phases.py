"""The UWS 1.1 execution phases in two groups, as both the job service and the dashboard's client use them.

The names are UWS's (vo-models' ``ExecutionPhase`` is a ``str`` enum, so its members are found in these sets).
"""

from __future__ import annotations

__all__ = ["ACTIVE_PHASES", "FINAL_PHASES"]

#: Phases in which a job may still change by itself or by a request to run.
ACTIVE_PHASES = frozenset({"PENDING", "QUEUED", "EXECUTING", "HELD", "SUSPENDED"})
#: Phases a job never leaves (except by deletion).
FINAL_PHASES = frozenset({"COMPLETED", "ERROR", "ABORTED", "ARCHIVED"})
