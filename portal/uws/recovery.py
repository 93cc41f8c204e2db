"""Jobs that a restart found EXECUTING: their record is completed as a finished run's would be.

The service marks them ERROR at start (their work was lost with the process). Their folders may
hold partial results (flux points published bin by bin, a log); :func:`record_interrupted` lists
those results with their checksums and writes the provenance record (ProvDM, like any finished
job's: parameters, what was generated, the error), so that what a restart ended still says how
its products were made. What the run had used is not known any more and is not invented.
"""

from __future__ import annotations

import logging

from portal.uws.execute import finish
from portal.uws.models import ExecutionPhase
from portal.uws.runner import RunRequest

__all__ = ["record_interrupted"]

log = logging.getLogger("portal.uws")
WRITTEN_BY_SERVICE = ("log", "provenance", "provn")


def record_interrupted(service, job_ids: list[str]) -> int:
    """Results and provenance for jobs the service ended at start-up; returns how many were recorded."""
    done = 0
    for job_id in job_ids:
        try:
            job = service.store.get(job_id)
            definition = service.definitions.get(job.job_list) if job is not None else None
            workdir = service.workdir(job_id)
            if definition is None or not workdir.is_dir() or any(r.id == "provenance" for r in job.results):
                continue  # nothing to record, or the runner recorded it already
            request = RunRequest(job=job, definition=definition, params={}, workdir=workdir,
                                 locator=service.locator,
                                 config={"execution_duration": job.execution_duration,
                                         "ended_by": "restart of the job service"})
            published = {r.id: r for r in job.results if r.id not in WRITTEN_BY_SERVICE}
            results = finish(request, published, [], ExecutionPhase.ERROR, job.error, job.start_time, job.end_time)
            service.store.set_results(job_id, results)
            done += 1
        except Exception:  # noqa: BLE001 - one broken folder must not stop the service from starting
            log.exception("could not record the results and provenance of interrupted job %s", job_id)
    return done
