"""The job service's rules for one job's values, as plain functions (the service applies them).

- :func:`new_job_id`: an unguessable id;
- :func:`check_complete`: the definition's rules across parameters, once they are complete;
- :func:`execution_duration` and :func:`destruction`: what is asked, within the server's caps;
- :func:`run_request`: what a runner needs to run a queued job, or :class:`~portal.uws.queue.NotRunnable`.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from portal.private import private_folder
from portal.uws.definitions import JobDefinition
from portal.uws.errors import InvalidRequest
from portal.uws.locator import ObservationLocator
from portal.uws.models import Job
from portal.uws.params import MissingParameter, ParameterError, typed
from portal.uws.queue import NotRunnable
from portal.uws.runner import RunRequest

if TYPE_CHECKING:
    from portal.uws.service import ServiceConfig

__all__ = ["MAX_RUN_ID", "MAX_SECONDS", "check_complete", "destruction", "execution_duration", "new_job_id",
           "run_request"]

MAX_RUN_ID = 256
MAX_SECONDS = 2**31 - 1  # an execution duration beyond this means no limit (0)


def new_job_id() -> str:
    return secrets.token_hex(12)


def check_complete(definition: JobDefinition, stored: list[tuple[str, str]], run: bool) -> None:
    """The definition's rules across parameters (a map's size, an energy binning), as soon as the
    parameters are complete; a missing required one is an error only for a job asked to run."""
    try:
        typed(definition, stored)
    except MissingParameter:
        if run:
            raise


def execution_duration(config: "ServiceConfig", definition: JobDefinition, requested: int | None) -> int:
    """Seconds the job may run: what is asked (or the definition's default), within the server's cap."""
    seconds = definition.execution_duration if requested is None else int(requested)
    if seconds < 0:
        raise InvalidRequest("EXECUTIONDURATION must be a number of seconds, 0 or more")
    cap = config.max_execution_duration
    if cap and (seconds == 0 or seconds > cap):
        seconds = cap
    return 0 if seconds > MAX_SECONDS else seconds  # without a cap, "longer than ever" is unlimited


def destruction(config: "ServiceConfig", created: datetime, requested: datetime | None) -> datetime:
    """When the job goes: what is asked (or the default lifetime), at most the longest lifetime."""
    limit = created + config.max_lifetime
    if requested is None:
        return min(created + config.lifetime, limit)
    return min(requested, limit)


def run_request(job: Job, definitions: Mapping[str, JobDefinition], config: "ServiceConfig", workdir: Path,
                jobs_db: Path, locator: ObservationLocator | None = None) -> RunRequest:
    """What the runner needs to run ``job`` (its folder made); :class:`NotRunnable` with a sentence."""
    definition = definitions.get(job.job_list)
    if definition is None:
        raise NotRunnable(f"This server has no job definition {job.job_list!r} any more")
    try:
        params = typed(definition, job.parameters)
    except ParameterError as exc:
        raise NotRunnable(str(exc)) from None
    private_folder(workdir)
    return RunRequest(job=job, definition=definition, params=params, workdir=workdir,
                      locator=locator, jobs_db=jobs_db, jobs_dir=config.jobs_dir,
                      memory_limit=config.memory_limit,
                      config={"max_running": config.max_running, "max_running_per_owner": config.max_running_per_owner,
                              "execution_duration": job.execution_duration, "memory_limit": config.memory_limit})
