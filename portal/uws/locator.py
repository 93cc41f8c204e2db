"""The seam between the generic job core and the archive it serves: an observation locator.

The core knows nothing of any archive. The application that mounts it (:mod:`portal.uws.application`)
injects an :class:`ObservationLocator`, which the core uses for three things:

- ``check(items)``: when a job is created or changed, whether its ``obs-list`` values name the archive's
  observations well (a sentence saying what is wrong, or None); the service answers HTTP 400 with it;
- ``locate(items)``: a running job's ``JobContext.locate``, one location per item, in order;
- ``data_roots()``: the folders a job's paths are shown relative to (:mod:`portal.paths`), so that an
  error message or a provenance record never shows the server's own folders.

A locator travels with each :class:`~portal.uws.runner.RunRequest` into the job's process, so it must
pickle (hold a path, not a connection). Without a locator (``None``) nothing is checked, and a job that
asks to locate observations fails with a sentence saying why.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any, Protocol

__all__ = ["ObservationLocator"]


class ObservationLocator(Protocol):
    def check(self, items: Sequence[int | str]) -> str | None:
        """What is wrong with how ``items`` (obs ids or ``<collection>/<obs_id>``) name observations (a
        sentence), or None. Ids the archive does not hold at all may be left to the job."""

    def locate(self, items: Sequence[int | str]) -> list[Any]:
        """The location of each item, in order; raises :class:`~portal.uws.definitions.UsageError` (or
        :class:`~portal.uws.definitions.FatalError` when the archive cannot be read) with a sentence."""

    def data_roots(self) -> list[Path]:
        """Folders whose contents a job's messages show by relative path."""
