"""PORTAL_DASK_SCHEDULER=module:callable: a cluster made by a factory (as dask-jobqueue or
dask-gateway would be), here with daemonic workers, where each job starts as `python -m
portal.uws.child`; abort still kills it."""

from __future__ import annotations

import asyncio
import os

import dask
import pytest

from portal.uws.dask_runner import DaskRunner
from portal.uws.models import ExecutionPhase
from portal.uws.service import JobService, ServiceConfig
from portal.uws.store import JobStore
from tests.uws.conftest import run_async
from tests.uws.jobs import COUNT, ECHO
from tests.uws.test_execution import alive


def daemonic_cluster():
    """A cluster as a site's factory would make it: synchronous, workers left daemonic."""
    from distributed import LocalCluster

    with dask.config.set({"distributed.worker.daemon": True}):
        return LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                            dashboard_address="127.0.0.1:0")


def _daemonic() -> bool:
    import multiprocessing

    return multiprocessing.current_process().daemon


@pytest.mark.slow
def test_factory_cluster_with_daemonic_workers(tmp_path):
    async def scenario():
        runner = DaskRunner(f"{__name__}:daemonic_cluster", preload=["tests.uws.jobs"])
        service = JobService(JobStore(tmp_path / "jobs.sqlite"), ServiceConfig(jobs_dir=tmp_path / "jobs"),
                             definitions={"count": COUNT, "echo": ECHO}, runner=runner)
        await service.start()
        try:
            echo = await service.create("alice", "echo", [("text", "far")], run=True)
            done = await service.get("alice", "echo", echo.job_id)
            while done.phase not in (ExecutionPhase.COMPLETED, ExecutionPhase.ERROR):
                done = await service.get("alice", "echo", echo.job_id, wait=10)
            assert done.phase == ExecutionPhase.COMPLETED, done.error
            daemonic = await runner.client.run(_daemonic)
            assert daemonic and all(daemonic.values())  # so jobs took the `python -m` path
            assert not (service.workdir(echo.job_id) / ".request.pickle").exists()  # read, then removed

            count, pid = await _running_count(service)
            aborted = await service.abort("alice", "count", count.job_id)
            assert aborted.phase == ExecutionPhase.ABORTED
            for _ in range(100):
                if not alive(pid):
                    break
                await asyncio.sleep(0.1)
            assert not alive(pid)
        finally:
            await service.close()
        assert runner._external is not None and runner._external.status.name == "closed"

    run_async(scenario())
    assert os.environ.get("PORTAL_DASK_SCHEDULER") is None


@pytest.mark.slow
def test_a_job_on_an_external_cluster_stops_when_the_service_goes_away(tmp_path):
    """The cluster outlives the server: when the service's client disappears (the server was
    killed), the supervising task notices that nobody waits for it and kills the job's process."""
    from distributed import LocalCluster

    async def scenario():
        async with LocalCluster(n_workers=1, threads_per_worker=2, processes=True, host="127.0.0.1",
                                dashboard_address="127.0.0.1:0", asynchronous=True) as cluster:
            runner = DaskRunner(cluster.scheduler_address, preload=["tests.uws.jobs"])
            service = JobService(JobStore(tmp_path / "jobs.sqlite"), ServiceConfig(jobs_dir=tmp_path / "jobs"),
                                 definitions={"count": COUNT, "echo": ECHO}, runner=runner)
            await service.start()
            try:
                count, pid = await _running_count(service)
                await runner.client.close()  # as if the server died: no abort was ever sent
                for _ in range(300):
                    if not alive(pid):
                        break
                    await asyncio.sleep(0.1)
                assert not alive(pid)
                log = (service.workdir(count.job_id) / "log.txt").read_text()
                for _ in range(100):  # the supervisor writes its line once the process is gone
                    if "the job service went away" in log:
                        break
                    await asyncio.sleep(0.1)
                    log = (service.workdir(count.job_id) / "log.txt").read_text()
                assert "the job service went away" in log
            finally:
                await service.close()

    run_async(scenario())


async def _running_count(service):
    """A long `count` job of alice's, started; returns it and the pid of its (live) process."""
    count = await service.create("alice", "count", [("n", "100000"), ("interval", "0.05")], run=True)
    pid_file = service.workdir(count.job_id) / "pid.txt"
    for _ in range(600):
        if pid_file.exists() and pid_file.read_text():
            break
        await asyncio.sleep(0.1)
    pid = int(pid_file.read_text())
    assert alive(pid)
    return count, pid
