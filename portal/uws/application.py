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
``PORTAL_JOB_DEFINITIONS``          extra definitions in Python: ``pkg.module:NAME,...`` (tuples
                                    of JobDefinition), besides the definition files
``PORTAL_JOB_DEFINITIONS_DIR``      the operators' folder of definition files (TOML or YAML;
                                    default ``$PORTAL_DATA_DIR/job-definitions``), read at
                                    start and when a file changes, besides the built-in files
                                    (``portal/jobs/kinds``); see :mod:`portal.uws.definition_registry`
``PORTAL_JOB_DEFINITIONS_POLL``     seconds between looks at the definition files (default 2)
=================================== ==========================================================

The per-user quotas (jobs held, bytes held, jobs queued) and the memory limit of a job process
are :class:`portal.config.JobLimits` (``PORTAL_UWS_MAX_JOBS_PER_USER``,
``PORTAL_UWS_MAX_BYTES_PER_USER``, ``PORTAL_UWS_MAX_QUEUED_PER_USER``, ``PORTAL_JOB_MEMORY_LIMIT``).
"""

from __future__ import annotations

import asyncio
import importlib
import logging
import os
from collections.abc import Iterable, Mapping
from contextlib import asynccontextmanager
from datetime import timedelta
from pathlib import Path

from fastapi import APIRouter, Depends, FastAPI, Request, Response
from fastapi.responses import JSONResponse

from portal.archive.locate import ArchiveLocator
from portal.archive.store import db_path
from portal.auth import Authenticator, require_user
from portal.config import JobLimits, Settings, env_number
from portal.uws.catalog import definitions_json, definitions_xml
from portal.uws.definition_files import RESERVED_NAMES
from portal.uws.definition_registry import DefinitionRegistry, folder_from_env
from portal.uws.definitions import JobDefinition
from portal.uws.definitions_api import router as definitions_router
from portal.uws.handlers import job_routes
from portal.uws.publish import publish_when_complete, with_publish
from portal.uws.publish import router as publish_router
from portal.uws.runner import Runner
from portal.uws.service import JobService, ServiceConfig
from portal.uws.store import JobStore
from portal.uws.vosi import capabilities_xml

__all__ = ["builtin_dir", "default_definitions", "install", "lifespan", "python_definitions", "service_config",
           "start_executor_early", "uws_dir"]

log = logging.getLogger("portal.uws")


def uws_dir(data_dir: Path) -> Path:
    return Path(data_dir) / "uws"


def _import(path: str):
    module, _, attr = path.strip().partition(":")
    if not module or not attr:
        raise ValueError(f"{path!r} is not of the form package.module:NAME")
    return getattr(importlib.import_module(module), attr)


def python_definitions(environ: Mapping[str, str] | None = None) -> tuple[JobDefinition, ...]:
    """The definitions named in ``PORTAL_JOB_DEFINITIONS`` (Python modules)."""
    env = os.environ if environ is None else environ
    return tuple(d for path in filter(None, (env.get("PORTAL_JOB_DEFINITIONS") or "").split(","))
                 for d in _import(path))


def builtin_dir() -> tuple[Path | None, tuple[str, ...]]:
    """The folder of the built-in definition files and the order of their kinds (None without the analyses)."""
    try:
        from portal.jobs.definitions import BUILTIN_DIR, NAMES
    except ImportError:
        return None, ()
    return BUILTIN_DIR, NAMES


def default_definitions(environ: Mapping[str, str] | None = None) -> tuple[JobDefinition, ...]:
    """``portal.jobs.DEFINITIONS`` (when the package exists) and those of ``PORTAL_JOB_DEFINITIONS``."""
    try:
        from portal.jobs import DEFINITIONS
    except ImportError:
        DEFINITIONS = ()
    return (*DEFINITIONS, *python_definitions(environ))


def service_config(settings: Settings, environ: Mapping[str, str] | None = None) -> ServiceConfig:
    env = os.environ if environ is None else environ
    total = int(env_number(env, "PORTAL_UWS_MAX_RUNNING", max(2, os.cpu_count() or 2), positive=True))
    per_user = int(env_number(env, "PORTAL_UWS_MAX_RUNNING_PER_USER", max(1, total // 2), positive=True))
    quotas = JobLimits.from_env(dict(env))
    return ServiceConfig(
        jobs_dir=uws_dir(settings.data_dir) / "jobs",
        lifetime=timedelta(days=env_number(env, "PORTAL_UWS_LIFETIME_DAYS", 7, positive=True)),
        max_execution_duration=int(env_number(env, "PORTAL_UWS_MAX_DURATION", 86400)),
        max_running=max(1, total),
        max_running_per_owner=max(1, per_user),
        cleanup_interval=env_number(env, "PORTAL_UWS_CLEANUP_INTERVAL", 60, positive=True),
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
    workers = max(1, int(env_number(env, "PORTAL_DASK_WORKERS", 1, positive=True)))
    return DaskRunner(settings.dask_scheduler, n_workers=workers,
                      threads_per_worker=max(1, -(-config.max_running // workers)),
                      preload=[m for d in definitions for m in (d.run.split(":")[0], *d.preload)])


def _router(archive_db: Path) -> APIRouter:
    router = APIRouter()

    def service(request: Request) -> JobService:
        return request.app.state.uws

    @router.get("", name="uws_definitions")
    async def definitions(request: Request, user: str = Depends(require_user)) -> Response:
        svc = service(request)
        offered, limits = svc.forms()  # a form is being built: a job may follow, the runner gets ready
        base = str(request.url_for("uws_definitions"))
        wants_json = (request.query_params.get("format", "").lower() == "json"
                      or "application/json" in request.headers.get("accept", ""))
        if wants_json:
            return JSONResponse(definitions_json(offered, base, limits))
        return Response(definitions_xml(offered, base, limits), media_type="application/xml")

    @router.get("/capabilities", name="uws_capabilities")
    async def capabilities(request: Request) -> Response:
        """VOSI capabilities of the job service: its quotas and memory limit in the description."""
        base = str(request.url_for("uws_definitions"))
        return Response(capabilities_xml(base, service(request).limits()["description"]),
                        media_type="application/xml")

    router.include_router(definitions_router())  # /definitions: the operators' editor, before the job lists
    router.include_router(publish_router(service, require_user, archive_db))  # {job}/publish (portal.uws.publish)
    router.include_router(job_routes(service, require_user))
    return router


def install(app: FastAPI, settings: Settings, definitions: Iterable[JobDefinition] | None = None, *,
            runner: Runner | None = None, config: ServiceConfig | None = None) -> JobService:
    """Mount `/uws` on ``app`` and build its service (started by :func:`lifespan`).

    Without ``definitions``: the built-in definition files, those of the operators' folder and the Python
    definitions of ``PORTAL_JOB_DEFINITIONS``; with them: those, and the operators' folder."""
    python = tuple(python_definitions() if definitions is None else definitions)
    names = [d.name for d in python]
    if len(set(names)) != len(names):
        raise ValueError(f"two job definitions share a name: {names}")
    for reserved in sorted(RESERVED_NAMES):
        if reserved in names:
            raise ValueError(f"a job definition may not be named {reserved!r} (/uws/{reserved} is another resource)")
    builtin, order = builtin_dir() if definitions is None else (None, ())
    registry = DefinitionRegistry(python, builtin, folder_from_env(settings.data_dir), builtin_order=order)
    registry.refresh()  # problems are logged; the other kinds are served
    definitions = tuple(registry.definitions.values())
    config = config or service_config(settings)
    store = JobStore(uws_dir(settings.data_dir) / "jobs.sqlite")
    if runner is None:
        runner = default_runner(settings, definitions, config)
    # the archive, injected into the generic core: obs-list checks and JobContext.locate go through its locator
    archive_db = db_path(settings.data_dir)
    # every definition accepts ``publish`` (publish the products when the job completes)
    service = JobService(store, config, definitions={d.name: with_publish(d) for d in definitions}, runner=runner,
                         locator=ArchiveLocator(archive_db))
    service.on_completed(lambda job_id: publish_when_complete(service, archive_db, job_id))
    # definition files read again (added, changed, removed, saved by the editor): the service offers them now
    registry.on_change = lambda found: setattr(service, "definitions",
                                               {name: with_publish(d) for name, d in found.items()})
    app.state.uws = service
    app.state.uws_definitions = registry
    if not hasattr(app.state, "authenticator"):
        app.state.authenticator = Authenticator.for_data_dir(settings.data_dir)
    app.include_router(_router(archive_db), prefix="/uws", tags=["UWS"])
    return service


def start_executor_early(app: FastAPI) -> None:
    """Have the executor (Dask cluster) start with the server.

    By default it starts at the first request to `/uws` (a form asking for the definitions, a
    job list) or at the first job, so that a server nobody asks for jobs runs no cluster.
    """
    runner = app.state.uws.runner
    if hasattr(runner, "eager"):
        runner.eager = True


async def _watch_definitions(registry: DefinitionRegistry) -> None:
    """Read the definition files again whenever one changes (a look at their sizes and times every few seconds)."""
    interval = env_number(os.environ, "PORTAL_JOB_DEFINITIONS_POLL", 2.0, positive=True)
    while True:
        await asyncio.sleep(interval)
        try:
            await asyncio.to_thread(registry.refresh)
        except Exception:  # noqa: BLE001 - the watcher must survive one bad look (a folder gone)
            log.exception("reading the job definition files failed")


@asynccontextmanager
async def lifespan(app: FastAPI):
    """Start the job service (recovery, runner, cleaner) and stop it with the server."""
    service: JobService = app.state.uws
    await service.start()
    watcher = asyncio.create_task(_watch_definitions(app.state.uws_definitions), name="uws-definitions")
    try:
        yield
    finally:
        watcher.cancel()
        await service.close()
        service.store.close()
        authenticator = getattr(app.state, "authenticator", None)
        if authenticator is not None and hasattr(authenticator, "close"):
            await authenticator.close()  # the hub's HTTP session, if any
