"""Wiring of the job service into the portal application: `/uws`, its lifespan, its settings.

``create_app`` calls :func:`install` with the job definitions it was given (by default
:func:`default_definitions`: ``portal.jobs.DEFINITIONS`` plus any named in
``PORTAL_JOB_DEFINITIONS``), then enters :func:`lifespan` while the server runs. The Dask
cluster starts in the background at the first request to `/uws`, so the server answers at once;
jobs asked to run before the cluster is up wait in QUEUED.

Settings (environment):

=================================== ==========================================================
``PORTAL_DASK_SCHEDULER``           external scheduler address, or ``module:callable``
                                    returning a cluster/client/address; unset: a LocalCluster
``PORTAL_DASK_WORKERS``             worker processes of the LocalCluster (default 1: each job
                                    runs in a process of its own anyway)
``PORTAL_UWS_MAX_RUNNING``          jobs running at once in total (default: CPU count, min 2)
``PORTAL_UWS_MAX_RUNNING_PER_USER`` jobs running at once per user (default: half the total)
``PORTAL_UWS_LIFETIME_DAYS``        default time from creation to destruction (default 7)
``PORTAL_UWS_MAX_DURATION``         cap on a job's execution duration, seconds (default 86400)
``PORTAL_UWS_CLEANUP_INTERVAL``     seconds between sweeps for expired jobs (default 60)
``PORTAL_JOB_DEFINITIONS``          extra definitions: ``pkg.module:NAME,...`` (tuples of
                                    JobDefinition), added to portal.jobs.DEFINITIONS
=================================== ==========================================================

The per-user quotas (jobs held, bytes held, jobs queued) and the memory limit of a job process
are :class:`portal.config.JobLimits` (``PORTAL_UWS_MAX_JOBS_PER_USER``,
``PORTAL_UWS_MAX_BYTES_PER_USER``, ``PORTAL_UWS_MAX_QUEUED_PER_USER``, ``PORTAL_JOB_MEMORY_LIMIT``).
"""

from __future__ import annotations

import importlib
import logging
import os
from collections.abc import Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from portal.auth import Authenticator, require_user
from portal.config import JobLimits, Settings
from portal.uws.catalog import definitions_json, definitions_xml
from portal.uws.definitions import JobDefinition
from portal.uws.handlers import job_routes
from portal.uws.runner import Runner
from portal.uws.service import JobService, ServiceConfig
from portal.uws.store import JobStore
from portal.uws.vosi import capabilities_xml

__all__ = ["default_definitions", "install", "lifespan", "service_config", "start_executor_early", "uws_dir"]

log = logging.getLogger("portal.uws")


def uws_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "uws"


def _import(path: str):
    module, _, attr = path.strip().partition(":")
    if not module or not attr:
        raise ValueError(f"{path!r} is not of the form package.module:NAME")
    return getattr(importlib.import_module(module), attr)


def default_definitions(environ: Mapping[str, str] | None = None) -> tuple[JobDefinition, ...]:
    """``portal.jobs.DEFINITIONS`` (when the package exists) and those of ``PORTAL_JOB_DEFINITIONS``."""
    env = os.environ if environ is None else environ
    found: list[JobDefinition] = []
    try:
        from portal.jobs import DEFINITIONS
    except ImportError:
        DEFINITIONS = ()
    found.extend(DEFINITIONS)
    for path in filter(None, (env.get("PORTAL_JOB_DEFINITIONS") or "").split(",")):
        found.extend(_import(path))
    return tuple(found)


def _number(env: Mapping[str, str], name: str, default: float) -> float:
    value = env.get(name)
    if not value:
        return default
    try:
        return float(value)
    except ValueError:
        raise ValueError(f"{name}={value!r} is not a number") from None


def _archive_db(data_dir: Path) -> Path:
    try:
        from portal.archive.store import db_path
    except ImportError:
        return Path(data_dir) / "archive.sqlite"
    return db_path(data_dir)


def service_config(settings: Settings, environ: Mapping[str, str] | None = None) -> ServiceConfig:
    env = os.environ if environ is None else environ
    total = int(_number(env, "PORTAL_UWS_MAX_RUNNING", max(2, os.cpu_count() or 2)))
    per_user = int(_number(env, "PORTAL_UWS_MAX_RUNNING_PER_USER", max(1, total // 2)))
    quotas = JobLimits.from_env(dict(env))
    return ServiceConfig(
        jobs_dir=uws_dir(settings.data_dir) / "jobs",
        lifetime=timedelta(days=_number(env, "PORTAL_UWS_LIFETIME_DAYS", 7)),
        max_execution_duration=int(_number(env, "PORTAL_UWS_MAX_DURATION", 86400)),
        max_running=max(1, total),
        max_running_per_owner=max(1, per_user),
        cleanup_interval=_number(env, "PORTAL_UWS_CLEANUP_INTERVAL", 60),
        archive_db=_archive_db(settings.data_dir),
        max_jobs_per_owner=quotas.max_jobs_per_user,
        max_bytes_per_owner=quotas.max_bytes_per_user,
        max_queued_per_owner=quotas.max_queued_per_user,
        memory_limit=quotas.memory_limit,
    )


def default_runner(settings: Settings, definitions: Iterable[JobDefinition], config: ServiceConfig,
                   environ: Mapping[str, str] | None = None) -> Runner:
    """A Dask runner; a local cluster gets enough threads for ``config.max_running`` supervisors."""
    from portal.uws.dask_runner import DaskRunner

    env = os.environ if environ is None else environ
    workers = max(1, int(_number(env, "PORTAL_DASK_WORKERS", 1)))
    return DaskRunner(settings.dask_scheduler, n_workers=workers,
                      threads_per_worker=max(1, -(-config.max_running // workers)),
                      preload=[m for d in definitions for m in (d.run.split(":")[0], *d.preload)])


def _router() -> APIRouter:
    router = APIRouter()

    def service(request: Request) -> JobService:
        return request.app.state.uws

    @router.get("", name="uws_definitions")
    async def definitions(request: Request, user: str = Depends(require_user)) -> Response:
        svc = service(request)
        svc.prepare_runner()  # a form is being built: a job may follow
        base = str(request.url_for("uws_definitions"))
        wants_json = (request.query_params.get("format", "").lower() == "json"
                      or "application/json" in request.headers.get("accept", ""))
        if wants_json:
            return JSONResponse(definitions_json(svc.definitions.values(), base, svc.limits()))
        return Response(definitions_xml(svc.definitions.values(), base, svc.limits()), media_type="application/xml")

    @router.get("/capabilities", name="uws_capabilities")
    async def capabilities(request: Request) -> Response:
        """VOSI capabilities of the job service: its quotas and memory limit in the description."""
        base = str(request.url_for("uws_definitions"))
        return Response(capabilities_xml(base, service(request).limits()["description"]),
                        media_type="application/xml")

    router.include_router(job_routes(service, require_user))
    return router


def install(app: FastAPI, settings: Settings, definitions: Iterable[JobDefinition] | None = None, *,
            runner: Runner | None = None, config: ServiceConfig | None = None) -> JobService:
    """Mount `/uws` on ``app`` and build its service (started by :func:`lifespan`)."""
    definitions = tuple(default_definitions() if definitions is None else definitions)
    names = [d.name for d in definitions]
    if len(set(names)) != len(names):
        raise ValueError(f"two job definitions share a name: {names}")
    if "capabilities" in names:
        raise ValueError("a job definition may not be named 'capabilities' (/uws/capabilities is the VOSI resource)")
    config = config or service_config(settings)
    store = JobStore(uws_dir(settings.data_dir) / "jobs.sqlite")
    if runner is None:
        runner = default_runner(settings, definitions, config)
    service = JobService(store, config, definitions={d.name: d for d in definitions}, runner=runner)
    app.state.uws = service
    if not hasattr(app.state, "authenticator"):
        app.state.authenticator = Authenticator.for_data_dir(settings.data_dir)
    app.include_router(_router(), prefix="/uws", tags=["UWS"])
    return service


def start_executor_early(app: FastAPI) -> None:
    """Have the executor (Dask cluster) start with the server.

    By default it starts at the first request to `/uws` (a form asking for the definitions, a
    job list) or at the first job, so that a server nobody asks for jobs runs no cluster.
    """
    runner = app.state.uws.runner
    if hasattr(runner, "eager"):
        runner.eager = True


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Start the job service (recovery, runner, cleaner) and stop it with the server."""
    service: JobService = app.state.uws
    await service.start()
    try:
        yield
    finally:
        await service.close()
        service.store.close()
