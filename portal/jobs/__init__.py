"""Analysis jobs run by the job service: `spectrum`, `lightcurve`, `skymap` (gammapy).

Importing this package is cheap: it only exports the job definitions. Each definition names the
function that runs it (``portal.jobs.spectrum:run`` ...), and only that module imports gammapy,
when a worker starts the job.
"""

from portal.jobs.definitions import DEFINITIONS, LIGHTCURVE, SKYMAP, SPECTRUM

__all__ = ["DEFINITIONS", "LIGHTCURVE", "SKYMAP", "SPECTRUM"]
