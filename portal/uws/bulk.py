"""Acting on many jobs in one request: ``POST {list}`` with ``ACTION=DELETE`` or ``PHASE=ABORT`` and ``JOB=<id>``.

A portal extension (UWS 1.1 and safir act on one job at a time). ``JOB`` may repeat, or hold ids
separated by commas or spaces; at most :data:`portal.uws.quotas.MAX_BULK`. The answer is 200 with a
sentence ("Deleted 200 jobs."); ids that are not the caller's jobs in that list are counted in it and
never touched. ``PHASE=ABORT`` without ``JOB`` stays a creation request (refused: only RUN). Used by
:func:`portal.uws.handlers.job_routes` and by TAP async's own creation handler.
"""

from __future__ import annotations

from fastapi import Response
from fastapi.responses import PlainTextResponse

from portal.uws.errors import InvalidRequest
from portal.uws.service import JobService

__all__ = ["bulk_action", "bulk_request"]


def _control(items: list[tuple[str, str]], name: str) -> str | None:
    values = [v for k, v in items if k.upper() == name]
    return values[-1] if values else None


def bulk_request(items: list[tuple[str, str]]) -> str | None:
    """``"DELETE"`` or ``"ABORT"`` when a POST to a job list asks to act on many jobs, else None (a new job)."""
    action = (_control(items, "ACTION") or "").strip().upper()
    phase = (_control(items, "PHASE") or "").strip().upper()
    if action == "DELETE":
        return "DELETE"
    if action:
        raise InvalidRequest(f"ACTION={action} is not offered on a job list; ACTION=DELETE with JOB=<id> deletes jobs")
    named = any(k.upper() == "JOB" for k, _ in items)
    return "ABORT" if phase == "ABORT" and named else None  # without JOB: a creation, refused as such


async def bulk_action(service: JobService, user: str | None, job_list: str, what: str,
                      items: list[tuple[str, str]]) -> Response:
    """Delete or abort the caller's jobs named by the JOB parameters, in one request (see the module docstring)."""
    ids = [i.strip() for k, v in items if k.upper() == "JOB" for i in v.replace(" ", ",").split(",") if i.strip()]
    if not ids:
        raise InvalidRequest(f"name the jobs to {what.lower()} with JOB=<id> (repeat it, or separate ids with "
                             "commas)")
    if what == "DELETE":
        done, unknown = await service.delete_many(user, job_list, ids)
        sentence = f"Deleted {done} job{'s' if done != 1 else ''}"
    else:
        done, unknown = await service.abort_many(user, job_list, ids)
        sentence = f"Aborted {done} job{'s' if done != 1 else ''}"
    named = len(set(ids))
    if unknown:
        sentence += f"; {unknown} of the {named} ids named are not jobs of yours in this list (nothing was done to them)"
    elif what == "ABORT" and done < named:
        sentence += f"; the other {named - done} had ended already"
    return PlainTextResponse(sentence + ".\n")
