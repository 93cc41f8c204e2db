"""Settings read from the environment (the variables listed in docs/configuration.md and the README).

:class:`JobLimits` holds what one user's jobs may hold and what one job process may use; each job
service (`/uws`, and `/tap/async` for token holders) applies the quotas to each user separately, and
publishes them (``GET /uws``, the TAP capabilities):

=================================== ========================================================= ===========
variable                            meaning                                                   default
=================================== ========================================================= ===========
``PORTAL_UWS_MAX_JOBS_PER_USER``    jobs a user may hold (in every phase, until deleted or      250
                                    destroyed); past it, creating a job answers 429
``PORTAL_UWS_MAX_BYTES_PER_USER``   bytes a user's jobs may hold on disk (results, logs,        2000000000
                                    uploads); past it, creating a job answers 429
``PORTAL_UWS_MAX_QUEUED_PER_USER``  jobs of a user waiting to run (QUEUED); past it, running    50
                                    one more answers 429
``PORTAL_JOB_MEMORY_LIMIT``         GiB of address space a job process may use (RLIMIT_AS);     4
                                    past it the job ends in ERROR saying so; 0: no limit
=================================== ========================================================= ===========
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

GIB = 1 << 30


def _default_data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or Path.home() / ".local" / "share"
    return Path(base) / "gamma-portal"


@dataclass(frozen=True)
class Settings:
    """Everything the services need to know about their surroundings."""

    data_dir: Path = field(default_factory=_default_data_dir)
    gammapy_data: Path | None = None
    dask_scheduler: str | None = None

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "Settings":
        env = os.environ if environ is None else environ
        data_dir = env.get("PORTAL_DATA_DIR")
        gammapy_data = env.get("GAMMAPY_DATA")
        return cls(
            # absolute: job processes and the archive's recorded paths must not depend on a working directory
            data_dir=Path(data_dir).expanduser().absolute() if data_dir else _default_data_dir(),
            gammapy_data=Path(gammapy_data).expanduser() if gammapy_data else None,
            dask_scheduler=env.get("PORTAL_DASK_SCHEDULER") or None,
        )

    def ensure_dirs(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)


def env_number(env, name: str, default: float, positive: bool = False) -> float:
    """The finite number in the variable ``name`` of ``env`` (``default`` when unset or blank): 0 or more, or
    more than 0 when ``positive``; otherwise a ValueError naming the variable (the TAP limits use it too)."""
    value = (env.get(name) or "").strip()
    if not value:
        return default
    try:
        number = float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None
    if not number >= 0 or number == float("inf") or (positive and number == 0):
        raise ValueError(f"{name}={value!r} must be {'more than 0' if positive else '0 or more'}")
    return number


@dataclass(frozen=True)
class JobLimits:
    """Per-user quotas of a job service and the memory limit of a job process (0: no limit)."""

    max_jobs_per_user: int = 250
    max_bytes_per_user: int = 2_000_000_000
    max_queued_per_user: int = 50
    memory_limit: int = 4 * GIB  # bytes of address space of one job process

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "JobLimits":
        env = os.environ if environ is None else environ
        return cls(
            max_jobs_per_user=int(env_number(env, "PORTAL_UWS_MAX_JOBS_PER_USER", cls.max_jobs_per_user)),
            max_bytes_per_user=int(env_number(env, "PORTAL_UWS_MAX_BYTES_PER_USER", cls.max_bytes_per_user)),
            max_queued_per_user=int(env_number(env, "PORTAL_UWS_MAX_QUEUED_PER_USER", cls.max_queued_per_user)),
            memory_limit=int(env_number(env, "PORTAL_JOB_MEMORY_LIMIT", cls.memory_limit / GIB) * GIB),
        )


REDUCTION_CACHE_BYTES = 2_000_000_000  # PORTAL_REDUCTION_CACHE_BYTES: default bound of the reduction cache


def reduction_cache_dir(data_dir: Path) -> Path:
    """Where the 1D reductions shared by every user's jobs are kept (:mod:`portal.jobs.reduction_cache`)."""
    return Path(data_dir) / "cache" / "reductions"


def reduction_cache_bytes(environ: dict[str, str] | None = None) -> int:
    """``PORTAL_REDUCTION_CACHE_BYTES``: bytes the reduction cache may hold (least recently used entries go
    first past it); 0 turns the cache off. Default 2 GB."""
    env = os.environ if environ is None else environ
    return int(env_number(env, "PORTAL_REDUCTION_CACHE_BYTES", REDUCTION_CACHE_BYTES))


def gib(n_bytes: int) -> str:
    """A memory size as a person reads it: ``4 GiB``, ``0.5 GiB``."""
    return f"{n_bytes / GIB:.3g} GiB"
