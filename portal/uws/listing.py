"""Job lists as UWS documents, beside the handlers: rendered from cached fragments, whole lists cached.

The service answers which jobs a list holds (:meth:`JobService.list_jobs`); this module makes the
document. A list asked for again while no job changed (a monitor polling) comes from a small cache
of whole documents, checked against the store's version (:meth:`JobService.version`); each job's
``<uws:jobref>`` is rendered once while it does not change (:class:`~portal.uws.render.JobListRenderer`),
and forgotten when the job is deleted. One :class:`JobLists` per service: :func:`lists_of`.

Use::

    body, etag = await lists_of(service).document(user, "spectrum", list_url, phases=None, after=None, last=None)
"""

from __future__ import annotations

import zlib
from collections import OrderedDict
from datetime import datetime
from typing import TYPE_CHECKING
from weakref import WeakKeyDictionary

from portal.uws.models import ExecutionPhase
from portal.uws.render import JobListRenderer, list_name_of

if TYPE_CHECKING:
    from portal.uws.service import JobService

__all__ = ["JobLists", "lists_of"]

LIST_CACHE_ENTRIES = 16  # rendered job lists kept while no job changes
LIST_CACHE_MAX_BYTES = 8 << 20

_LISTS: "WeakKeyDictionary[JobService, JobLists]" = WeakKeyDictionary()


class JobLists:
    """The job lists of one service as documents; see the module docstring."""

    def __init__(self, service: "JobService") -> None:
        self.service = service
        self.renderer = JobListRenderer()
        self._lists: OrderedDict[tuple, tuple[tuple, bytes, str]] = OrderedDict()
        service.on_delete(self.renderer.forget)

    async def document(self, user: str | None, job_list: str, list_url: str, *,
                       phases: list[ExecutionPhase] | None = None, after: datetime | None = None,
                       last: int | None = None) -> tuple[bytes, str]:
        """The job list as a UWS document, and its ETag (a hash of the content)."""
        key = (user, job_list, tuple(phases or ()), after, last, list_name_of(list_url))
        version = await self.service.version()
        hit = self._lists.get(key)
        if hit is not None and hit[0] == version:
            self._lists.move_to_end(key)
            return hit[1], hit[2]
        refs = await self.service.list_jobs(user, job_list, phases=phases, after=after, last=last)
        body = self.renderer.render(refs, list_url)
        etag = f'W/"{zlib.crc32(body):08x}-{len(body):x}"'
        if len(body) <= LIST_CACHE_MAX_BYTES:
            self._lists[key] = (version, body, etag)
            self._lists.move_to_end(key)
            while len(self._lists) > LIST_CACHE_ENTRIES:
                self._lists.popitem(last=False)
        return body, etag


def lists_of(service: "JobService") -> JobLists:
    """The one :class:`JobLists` of ``service`` (made at its first list)."""
    lists = _LISTS.get(service)
    if lists is None:
        lists = _LISTS[service] = JobLists(service)
    return lists
