"""Execution on dask.distributed: a LocalCluster of worker processes, or any external cluster.

:class:`DaskRunner` submits one :func:`portal.uws.worker.supervise` task per job. Where the
cluster comes from (``PORTAL_DASK_SCHEDULER``):

- unset: a ``LocalCluster`` of ``n_workers`` worker processes on 127.0.0.1 (no dashboard);
- an address (``tcp://host:8786``, ``tls://...``): an existing scheduler, e.g. one whose
  workers dask-jobqueue submitted to a batch system;
- ``package.module:callable``: the callable is called with no argument and returns a
  ``distributed.Client``, a cluster object (dask-gateway's ``GatewayCluster``, dask-jobqueue's
  ``SLURMCluster``...) or a scheduler address.

Workers must see ``$PORTAL_DATA_DIR`` at the same path (a shared file system) and have the
portal installed: jobs write their results into the job folders and read the archive there.

The cluster starts in the background at the first request to the job service (``prepare``), or
at the first job, so the server answers at once and a server nobody asks for jobs starts none. Live
reports (``started``, ``published``, ``progress``) arrive as worker events; the final Outcome is the
task's result. ABORT sets the job's ``distributed.Event``, which the supervising task watches before
killing the job's process.
"""

from __future__ import annotations

import asyncio
import importlib
import logging
from datetime import datetime, timezone

from portal.uws.models import ErrorType, ExecutionPhase, JobFailure, JobResult, Outcome, ProgressReport, utcnow
from portal.uws.runner import RunRequest, RunnerEvents

__all__ = ["DaskRunner", "RunnerClosed"]

log = logging.getLogger("portal.uws")
RETRY_CONNECT = 10.0  # seconds between attempts to reach an external scheduler


class RunnerClosed(RuntimeError):
    pass


class DaskRunner:
    def __init__(self, scheduler: str | None = None, *, n_workers: int = 1,
                 threads_per_worker: int | None = None, preload: list[str] | tuple[str, ...] = (),
                 eager: bool = False) -> None:
        self.scheduler = scheduler
        self.eager = eager  # connect when the service starts, not at the first /uws request
        self.n_workers = max(1, n_workers)
        self.threads_per_worker = threads_per_worker
        self.preload = sorted(set(preload))
        self.client = None
        self.cluster = None
        self._events: RunnerEvents | None = None
        self._connecting: asyncio.Task | None = None
        self._watchers: dict[str, asyncio.Task] = {}
        self._external = None  # a client or cluster a factory made (PORTAL_DASK_SCHEDULER=module:callable)
        self._closing = False

    @property
    def ready(self) -> bool:
        return not self._closing  # submit() connects first if needed

    async def start(self, events: RunnerEvents) -> None:
        self._events = events
        if self.eager:
            self._connection()

    def prepare(self) -> None:
        """Start connecting (and warming the workers) in the background, ahead of the first job.

        The service calls it at the first request to the job service (a form asking for the job
        definitions, a job list): the cluster is ready by the time a job is submitted, while a
        server nobody asks for jobs starts no cluster at all.
        """
        if self._events is not None and not self._closing:
            self._connection()

    def _connection(self) -> asyncio.Task:
        if self._connecting is None:
            self._connecting = asyncio.create_task(self._connect(), name="dask-connect")
        return self._connecting

    async def _client_for(self, target):
        """A client of our own for what a factory returned: a Client, a cluster or an address."""
        from distributed import Client

        if isinstance(target, str):
            return await Client(target, asynchronous=True)
        if isinstance(target, Client):
            address, security = target.scheduler.address, target.security
        elif getattr(target, "scheduler_address", None):
            address, security = target.scheduler_address, getattr(target, "security", None)
        else:
            raise TypeError(f"{self.scheduler} returned {type(target).__name__}; "
                            "expected a distributed.Client, a cluster or a scheduler address")
        self._external = target  # kept alive while we run, closed with us
        return await Client(address, security=security, asynchronous=True)

    async def _connect(self) -> None:
        import dask
        from distributed import Client, LocalCluster

        # Job processes are children of worker processes: multiprocessing forbids that in daemons.
        dask.config.set({"distributed.worker.daemon": False, "distributed.scheduler.allowed-failures": 0})
        while not self._closing:
            try:
                if self.scheduler is None:
                    threads = self.threads_per_worker or 4
                    self.cluster = await LocalCluster(
                        n_workers=self.n_workers, threads_per_worker=threads, processes=True,
                        host="127.0.0.1", dashboard_address="127.0.0.1:0", asynchronous=True)
                    client = await Client(self.cluster, asynchronous=True)
                elif "://" not in self.scheduler and ":" in self.scheduler:
                    module, _, name = self.scheduler.partition(":")
                    factory = getattr(importlib.import_module(module), name)
                    target = await asyncio.to_thread(factory)  # may build a cluster synchronously
                    client = await self._client_for(target)
                else:
                    client = await Client(self.scheduler, asynchronous=True)
                break
            except Exception:  # noqa: BLE001 - keep trying: jobs wait QUEUED meanwhile
                log.exception("cannot reach the Dask cluster (%s); retrying in %.0f s",
                              self.scheduler or "local", RETRY_CONNECT)
                await asyncio.sleep(RETRY_CONNECT)
        else:
            return
        client.subscribe_topic(_topic(), self._on_event)
        self.client = client
        log.info("job service executes on Dask: %s", self.scheduler or "local cluster")
        if self.preload:
            asyncio.create_task(self._warm())

    async def _warm(self) -> None:
        """Start each worker's job-process server with the job modules imported, ahead of jobs."""
        try:
            await self.client.run(_warm_worker, self.preload)
        except Exception:  # noqa: BLE001 - warming is an optimisation only
            log.debug("could not warm the workers", exc_info=True)

    def _on_event(self, event) -> None:
        _, msg = event
        job_id, kind = msg.get("job"), msg.get("kind")
        if kind == "started":
            self._events.started(job_id, datetime.fromtimestamp(msg["time"], timezone.utc))
        elif kind == "published":
            self._events.published(job_id, JobResult(msg["id"], msg["path"], msg["mime_type"], msg.get("size")))
        elif kind == "progress":
            self._events.progressed(job_id, ProgressReport(msg["stage"], msg.get("done"), msg.get("total"),
                                                           msg["time"]))

    async def submit(self, request: RunRequest) -> None:
        from portal.uws.worker import supervise

        job_id = request.job.job_id
        if self.client is None:
            await asyncio.shield(self._connection())
        if self.client is None or self._closing:
            raise RunnerClosed("the job service is stopping")
        future = self.client.submit(supervise, request, self.preload, key=f"portal-job-{job_id}",
                                    pure=False, retries=0)
        self._watchers[job_id] = asyncio.create_task(self._watch(job_id, future))

    async def _watch(self, job_id: str, future) -> None:
        try:
            outcome = await future
        except asyncio.CancelledError:
            outcome = Outcome(ExecutionPhase.ERROR, utcnow(),
                              JobFailure("The job service stopped while this job was running", ErrorType.TRANSIENT))
        except Exception as exc:  # noqa: BLE001 - a dead worker ends the job with a message
            log.warning("job %s: its Dask task failed: %r", job_id, exc)
            outcome = Outcome(ExecutionPhase.ERROR, utcnow(), JobFailure(
                f"The worker running this job failed ({type(exc).__name__}: {exc})", ErrorType.TRANSIENT))
        finally:
            self._watchers.pop(job_id, None)
        try:
            await self._clear_abort(job_id)
        except Exception:  # noqa: BLE001
            pass
        self._events.finished(job_id, outcome)

    async def _clear_abort(self, job_id: str) -> None:
        from distributed import Event

        from portal.uws.worker import abort_event_name

        if self.client is not None:
            await Event(abort_event_name(job_id), client=self.client).clear()

    async def abort(self, job_id: str, timeout: float = 10.0) -> None:
        from distributed import Event

        from portal.uws.worker import abort_event_name

        watcher = self._watchers.get(job_id)
        if watcher is None or self.client is None:
            return
        await Event(abort_event_name(job_id), client=self.client).set()
        try:
            await asyncio.wait_for(asyncio.shield(watcher), timeout)
        except asyncio.TimeoutError:
            log.warning("job %s did not stop within %s s of its abort", job_id, timeout)

    async def close(self) -> None:
        self._closing = True
        if self._connecting is not None and not self._connecting.done():
            self._connecting.cancel()
        await asyncio.gather(*(self.abort(job_id, timeout=10.0) for job_id in list(self._watchers)),
                             return_exceptions=True)
        for watcher in list(self._watchers.values()):
            watcher.cancel()
        if self.client is not None:
            try:
                await self.client.close()
            except Exception:  # noqa: BLE001
                pass
        if self.cluster is not None:
            try:
                await self.cluster.close()
            except Exception:  # noqa: BLE001
                pass
        if self._external is not None:
            try:
                await asyncio.to_thread(self._external.close)
            except Exception:  # noqa: BLE001
                log.warning("could not close the Dask cluster made by %s", self.scheduler, exc_info=True)


def _topic() -> str:
    from portal.uws.worker import TOPIC

    return TOPIC


def _warm_worker(preload: list[str]) -> bool:
    """Run on each worker: start its forkserver so that the job modules are imported once."""
    from portal.uws.child import _forkserver, ensure_forkserver

    if _forkserver(preload) is None:
        return False
    ensure_forkserver()
    return True
