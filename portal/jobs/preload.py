"""Imported by the job service's fork server before any job runs (a definition's ``preload``).

Every 1D and map job reads the source catalogs it excludes from the background; read here, once,
they reach each job process by fork. A failure only costs that time: the job reads them itself.
"""

from __future__ import annotations

import logging

from portal.jobs.exclusion import warm_catalogs

try:
    warm_catalogs()
except Exception as exc:  # noqa: BLE001 - the fork server must start whatever the catalogs hold
    logging.getLogger(__name__).warning("Source catalogs not preloaded for the jobs: %s", exc)
