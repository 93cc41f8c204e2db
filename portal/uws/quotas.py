"""Per-user quotas of a job service, and acting on many jobs at once (a portal extension).

The quotas (:class:`~portal.uws.service.ServiceConfig` ``max_jobs_per_owner``, ``max_bytes_per_owner``,
``max_queued_per_owner``; a server takes them from :class:`portal.config.JobLimits`) are checked before
a job is created or queued: past one, :class:`~portal.uws.errors.QuotaExceeded` (429) with a sentence
saying which quota, how much is held and how to free it, and, for the jobs and bytes held, the seconds
until the first of the user's jobs is destroyed (``Retry-After``). Anonymous callers are not counted
here (TAP async gives them a shared quota of its own).

UWS 1.1 (and safir) act on one job at a time; :func:`abort_many` and :func:`delete_many` act on many of
the caller's jobs in one store transaction. Ids that are not the caller's jobs in the list are counted
and never touched, exactly as a single request for another user's job finds nothing.
"""

from __future__ import annotations

import asyncio
import logging
import math
import os
import shutil
from typing import TYPE_CHECKING

from portal.config import gib
from portal.uws.errors import InvalidRequest, QuotaExceeded
from portal.uws.models import ACTIVE_PHASES, ExecutionPhase, Job, Outcome, utcnow

if TYPE_CHECKING:
    from portal.uws.service import JobService, ServiceConfig

__all__ = ["MAX_BULK", "abort_many", "check", "delete_many", "published"]

log = logging.getLogger("portal.uws")

MAX_BULK = 1000  # jobs one bulk ABORT or DELETE may name
FREE = ("delete the jobs you no longer need (DELETE on a job, or POST ACTION=DELETE with their JOB ids to the "
        "job list for many at once)")


def _most(n: int, unit: str = "") -> str:
    return "no limit" if not n else f"at most {n:,}{unit}"


def published(config: "ServiceConfig") -> dict:
    """The quotas and the memory limit of a job process, as ``GET /uws`` and the capabilities publish them."""
    memory = f"{gib(config.memory_limit)} of address space" if config.memory_limit else "no limit"
    return {"max_jobs_per_user": config.max_jobs_per_owner, "max_bytes_per_user": config.max_bytes_per_owner,
            "max_queued_per_user": config.max_queued_per_owner, "memory_limit": config.memory_limit,
            "description": (f"Each user's jobs: {_most(config.max_jobs_per_owner)} held, "
                            f"{_most(config.max_bytes_per_owner, ' bytes')} on disk, "
                            f"{_most(config.max_queued_per_owner)} waiting to run; past one of them, 429 with a "
                            "sentence saying which. Delete or abort many jobs at once: POST ACTION=DELETE (or "
                            "PHASE=ABORT) with JOB=<id>... to the job list. Memory of one job process: "
                            f"{memory}.")}


def bytes_held(service: "JobService", owner: str) -> int:
    """What the folders of ``owner``'s jobs hold on disk."""
    total = 0
    for job_id in service.store.owner_job_ids(owner):
        for root, _dirs, names in os.walk(service.workdir(job_id)):
            for name in names:
                try:
                    total += os.lstat(os.path.join(root, name)).st_size
                except OSError:  # removed meanwhile
                    pass
    return total


async def check(service: "JobService", user: str | None, *, create: bool = True, queue: bool = False,
                incoming: int = 0) -> None:
    """Raise :class:`QuotaExceeded` when ``user`` may not create one more job (``create``: the jobs and
    bytes held, with ``incoming`` bytes to come) or have one more waiting to run (``queue``)."""
    config = service.config
    if user is None:
        return
    held, queued, first = await service.db(service.store.usage, user)
    retry = None if first is None else max(1, math.ceil((first - utcnow()).total_seconds()))
    if create and config.max_jobs_per_owner and held >= config.max_jobs_per_owner:
        raise QuotaExceeded(f"You hold {held} jobs here, the most one user may hold ({config.max_jobs_per_owner}): "
                            f"{FREE}, then create this one.", retry)
    if create and config.max_bytes_per_owner:
        size = await asyncio.to_thread(bytes_held, service, user)
        if size + incoming > config.max_bytes_per_owner:
            raise QuotaExceeded(f"Your jobs hold {size:,} bytes here (results, logs, uploads), the most one user "
                                f"may hold is {config.max_bytes_per_owner:,}: {FREE}, then create this one.", retry)
    if queue and config.max_queued_per_owner and queued >= config.max_queued_per_owner:
        raise QuotaExceeded(f"You have {queued} jobs waiting to run (QUEUED), the most one user may have "
                            f"({config.max_queued_per_owner}): wait for some of them to run, or abort those you "
                            "do not need (POST PHASE=ABORT with their JOB ids to the job list), then run this one.")


async def _named(service: "JobService", user: str | None, job_list: str, job_ids: list[str]) -> list[Job]:
    service.definition(job_list)
    if user is None:
        raise InvalidRequest("Acting on many jobs at once needs a token; without one, act on each job by its URL")
    if len(job_ids) > MAX_BULK:
        raise InvalidRequest(f"{len(job_ids)} jobs named: at most {MAX_BULK} at once")
    return await service.db(service.store.owned, job_list, user, job_ids)


async def _abort_active(service: "JobService", jobs: list[Job]) -> list[str]:
    active = [job.job_id for job in jobs if job.phase in ACTIVE_PHASES]
    moved = await service.db(service.store.finish_many, active, Outcome(ExecutionPhase.ABORTED, utcnow()), ACTIVE_PHASES)
    service.notify()
    await asyncio.gather(*(service.queue.cancel(job_id) for job_id in moved))  # running ones stop together
    return moved


async def abort_many(service: "JobService", user: str | None, job_list: str,
                     job_ids: list[str]) -> tuple[int, int]:
    """Abort the caller's active jobs among ``job_ids``; returns (aborted, ids not the caller's in this list)."""
    jobs = await _named(service, user, job_list, job_ids)
    moved = await _abort_active(service, jobs)
    if moved:
        log.info("aborted %d job(s) of %s at once", len(moved), user)
    return len(moved), len(set(job_ids)) - len(jobs)


async def delete_many(service: "JobService", user: str | None, job_list: str,
                      job_ids: list[str]) -> tuple[int, int]:
    """Delete the caller's jobs among ``job_ids`` (aborting the active ones) with their files; returns
    (deleted, ids not the caller's in this list)."""
    jobs = await _named(service, user, job_list, job_ids)
    await _abort_active(service, jobs)
    deleted = await service.db(service.store.delete_many, [job.job_id for job in jobs])
    service.deleted(deleted)

    def remove() -> None:
        for job_id in deleted:
            shutil.rmtree(service.workdir(job_id), True)

    await asyncio.to_thread(remove)
    service.notify()
    if deleted:
        log.info("deleted %d job(s) of %s at once", len(deleted), user)
    return len(deleted), len(set(job_ids)) - len(jobs)
