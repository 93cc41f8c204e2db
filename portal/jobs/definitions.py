"""The built-in analysis job definitions: `spectrum`, `lightcurve`, `skymap` and `joint_spectrum`.

Each is a definition file in ``portal/jobs/kinds/`` (TOML, see :mod:`portal.uws.definition_files` and
docs/jobs.md), read like the operators' own files; the job service reads that folder itself (and watches
it, with ``PORTAL_JOB_DEFINITIONS_DIR``). This module gives them as Python objects too, for code and tests
that want them (``from portal.jobs import SPECTRUM``), and the media types the analyses publish with.

It is imported by the job service, so it must stay light: it only describes the jobs. The science lives in
the modules named by each definition's ``run`` path, imported by the worker when a job starts; the rules
across parameters (``validate``) are in :mod:`portal.jobs.checks`.
"""

from __future__ import annotations

from pathlib import Path

from portal.uws.definition_files import read_definition
from portal.uws.definitions import JobDefinition

FITS = "application/fits"
YAML = "application/x-yaml"
PNG = "image/png"
JSON = "application/json"
TAR = "application/x-tar"

#: the folder of the built-in definition files (shipped with the package)
BUILTIN_DIR = Path(__file__).resolve().parent / "kinds"
NAMES = ("spectrum", "lightcurve", "skymap", "joint_spectrum")  # in the order /uws lists them


def builtin_definitions() -> tuple[JobDefinition, ...]:
    """The built-in definitions, read from their files (a broken built-in file raises its problem)."""
    return tuple(read_definition(BUILTIN_DIR / f"{name}.toml") for name in NAMES)


DEFINITIONS: tuple[JobDefinition, ...] = builtin_definitions()
SPECTRUM, LIGHTCURVE, SKYMAP, JOINT_SPECTRUM = DEFINITIONS
