"""The service and the store without HTTP: run limits, the cleaner, atomic transitions, persistence."""

from __future__ import annotations

import asyncio
import threading
from datetime import timedelta

import pytest

from portal.uws.models import ExecutionPhase, Job, Outcome, utcnow
from portal.uws.service import JobService, ServiceConfig
from portal.uws.store import JobStore
from portal.uws.thread_runner import ThreadRunner
from tests.uws.conftest import run_async
from tests.uws.jobs import COUNT, ECHO


def service(tmp_path, **config) -> JobService:
    cfg = ServiceConfig(jobs_dir=tmp_path / "jobs", **config)
    return JobService(JobStore(tmp_path / "jobs.sqlite"), cfg, definitions={"count": COUNT, "echo": ECHO},
                      runner=ThreadRunner(max_workers=8))


async def wait_final(svc, user, job_list, job_id, timeout=60):
    job = await svc.get(user, job_list, job_id)
    deadline = asyncio.get_running_loop().time() + timeout
    while job.phase not in (ExecutionPhase.COMPLETED, ExecutionPhase.ERROR, ExecutionPhase.ABORTED):
        assert asyncio.get_running_loop().time() < deadline
        job = await svc.get(user, job_list, job_id, wait=5)
    return job


def max_overlap(jobs, key=lambda j: True) -> int:
    """The largest number of ``jobs`` (selected by ``key``) executing at one instant."""
    edges = []
    for j in jobs:
        if key(j):
            edges += [(j.start_time, 1), (j.end_time, -1)]
    running = peak = 0
    for _, step in sorted(edges, key=lambda e: (e[0], e[1])):
        running += step
        peak = max(peak, running)
    return peak


def test_running_limits_in_total_and_per_owner(tmp_path):
    async def scenario():
        svc = service(tmp_path, max_running=3, max_running_per_owner=2)
        await svc.start()
        try:
            params = [("n", "6"), ("interval", "0.05")]
            alice = [await svc.create("alice", "count", params, run=True) for _ in range(5)]
            await asyncio.sleep(0.1)
            bob = [await svc.create("bob", "count", params, run=True) for _ in range(3)]
            # bob's first job starts although alice's queue is longer: no head-of-line blocking
            first_bob = await svc.get("bob", "count", bob[0].job_id, wait=10, wait_phase=ExecutionPhase.QUEUED)
            assert first_bob.phase in (ExecutionPhase.EXECUTING, ExecutionPhase.COMPLETED)
            done = [await wait_final(svc, j.owner, "count", j.job_id) for j in alice + bob]
        finally:
            await svc.close()
        assert all(j.phase == ExecutionPhase.COMPLETED for j in done)
        assert max_overlap(done) <= 3
        assert max_overlap(done, lambda j: j.owner == "alice") <= 2
        assert max_overlap(done, lambda j: j.owner == "bob") <= 2
        assert max_overlap(done) == 3  # the limit is used, not just respected
    run_async(scenario())


def test_queued_jobs_run_in_request_order(tmp_path):
    async def scenario():
        svc = service(tmp_path, max_running=1, max_running_per_owner=1)
        await svc.start()
        try:
            jobs = [await svc.create("alice", "echo", [("text", str(i))], run=True) for i in range(4)]
            done = [await wait_final(svc, "alice", "echo", j.job_id) for j in jobs]
        finally:
            await svc.close()
        starts = [j.start_time for j in done]
        assert starts == sorted(starts)
        assert max_overlap(done) == 1
    run_async(scenario())


def test_cleaner_removes_expired_jobs_and_their_files(tmp_path):
    async def scenario():
        svc = service(tmp_path, cleanup_interval=0.2)
        await svc.start()
        try:
            keep = await svc.create("alice", "echo", [("text", "keep")], run=True)
            gone = await svc.create("alice", "echo", [("text", "gone")], run=True)
            running = await svc.create("alice", "count", [("n", "100000"), ("interval", "0.05")], run=True)
            await wait_final(svc, "alice", "echo", keep.job_id)
            await wait_final(svc, "alice", "echo", gone.job_id)
            await svc.get("alice", "count", running.job_id, wait=30, wait_phase=ExecutionPhase.QUEUED)
            folder = svc.workdir(gone.job_id)
            assert folder.is_dir() and svc.workdir(running.job_id).is_dir()
            past = utcnow() - timedelta(seconds=1)
            for job in (gone, running):  # their destruction time passes now
                await svc.set_destruction("alice", job.job_list, job.job_id, past)
            deadline = asyncio.get_running_loop().time() + 60
            # an expired running job is stopped and removed, with what its process wrote while it was stopped
            while (svc.store.get(gone.job_id) or svc.store.get(running.job_id) or folder.exists()
                   or svc.workdir(running.job_id).exists()):
                assert asyncio.get_running_loop().time() < deadline, "the cleaner did not remove them"
                await asyncio.sleep(0.1)
            assert svc.store.get(keep.job_id) is not None and svc.workdir(keep.job_id).is_dir()
        finally:
            await svc.close()
    run_async(scenario())


def test_abort_of_a_queued_job_means_it_never_runs(tmp_path):
    async def scenario():
        svc = service(tmp_path, max_running=1, max_running_per_owner=1)
        await svc.start()
        try:
            first = await svc.create("alice", "count", [("n", "100000"), ("interval", "0.05")], run=True)
            await svc.get("alice", "count", first.job_id, wait=30, wait_phase=ExecutionPhase.QUEUED)
            queued = await svc.create("alice", "echo", [("text", "never")], run=True)
            assert (await svc.get("alice", "echo", queued.job_id)).phase == ExecutionPhase.QUEUED
            aborted = await svc.abort("alice", "echo", queued.job_id)
            assert aborted.phase == ExecutionPhase.ABORTED
            await svc.abort("alice", "count", first.job_id)  # the slot frees: the queue is looked at again
            later = await svc.create("alice", "echo", [("text", "later")], run=True)
            assert (await wait_final(svc, "alice", "echo", later.job_id)).phase == ExecutionPhase.COMPLETED
            never = await svc.get("alice", "echo", queued.job_id)
            assert never.phase == ExecutionPhase.ABORTED and never.start_time is None and never.results == ()
        finally:
            await svc.close()
    run_async(scenario())


def test_thread_runner_duration_and_abort_are_cooperative(tmp_path):
    async def scenario():
        svc = service(tmp_path)
        await svc.start()
        try:
            slow = await svc.create("alice", "count", [("n", "10000"), ("interval", "0.02")], run=True,
                                    execution_duration=1)
            timed_out = await wait_final(svc, "alice", "count", slow.job_id)
            assert timed_out.phase == ExecutionPhase.ERROR
            assert "execution duration (1 s)" in timed_out.error.message
            other = await svc.create("alice", "count", [("n", "10000"), ("interval", "0.02")], run=True)
            await svc.get("alice", "count", other.job_id, wait=10, wait_phase=ExecutionPhase.QUEUED)
            aborted = await svc.abort("alice", "count", other.job_id)
            assert aborted.phase == ExecutionPhase.ABORTED
            assert "log" in [r.id for r in (await svc.get("alice", "count", other.job_id)).results]
        finally:
            await svc.close()
    run_async(scenario())


def new_job(job_id: str, owner="alice", job_list="echo") -> Job:
    now = utcnow()
    return Job(job_id, job_list, owner, ExecutionPhase.PENDING, (("text", "t"),), now, 60, now + timedelta(days=1))


def test_store_transitions_are_atomic_under_concurrency(tmp_path):
    store = JobStore(tmp_path / "s.sqlite")
    store.add(new_job("race"))
    assert store.mark_queued("race", utcnow())
    assert store.mark_executing("race", utcnow())
    wins = []
    barrier = threading.Barrier(16)

    def finish(phase):
        barrier.wait()
        if store.mark_finished("race", Outcome(phase, utcnow())):
            wins.append(phase)

    threads = [threading.Thread(target=finish, args=(p,))
               for p in [ExecutionPhase.COMPLETED, ExecutionPhase.ABORTED] * 8]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(wins) == 1
    assert store.get("race").phase == wins[0]
    assert not store.mark_executing("race", utcnow())  # a final phase is final


def test_store_under_concurrent_writers_and_reopening(tmp_path):
    path = tmp_path / "s.sqlite"
    store = JobStore(path)

    def writer(n):
        for i in range(50):
            store.add(new_job(f"w{n}-{i}", owner=f"user{n}"))
            store.mark_queued(f"w{n}-{i}", utcnow())

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    store.close()
    again = JobStore(path)
    assert again.count() == 400
    assert len(again.queued()) == 400
    assert len(again.list_refs("echo", "user3")) == 50
    assert again.list_refs("echo", None) == []


def test_store_generation_sees_another_process_write_from_any_thread(tmp_path):
    """The job lists' cache compares generations read in whichever thread is free: a write by another process
    (a store of its own) changes the generation read in a thread that never looked before."""
    path = tmp_path / "s.sqlite"
    store, other = JobStore(path), JobStore(path)
    before = store.generation()
    other.add(new_job("elsewhere"))
    seen = []
    reader = threading.Thread(target=lambda: seen.append(store.generation()))
    reader.start()
    reader.join()
    assert seen[0] != before
    assert store.generation() == seen[0]  # nothing changed since: the same value in this thread
    store.close()
    other.close()


@pytest.mark.parametrize("requested, expected", [(None, 60), (10, 10), (0, 3600), (999_999, 3600)])
def test_execution_duration_is_capped(tmp_path, requested, expected):
    svc = service(tmp_path, max_execution_duration=3600)
    job = run_async(svc.create("alice", "echo", [("text", "t")], execution_duration=requested))
    assert job.execution_duration == expected


def test_without_a_cap_a_huge_execution_duration_means_unlimited(tmp_path):
    svc = service(tmp_path, max_execution_duration=0)
    job = run_async(svc.create("alice", "echo", [("text", "t")], execution_duration=10**30))
    assert job.execution_duration == 0 and svc.store.get(job.job_id).execution_duration == 0


def test_a_locked_store_answers_its_own_error_with_a_sentence(tmp_path):
    """The store never lets SQLite's errors out: a database locked past the busy timeout is StoreUnavailable,
    which the handlers answer with 503 and its sentence."""
    import sqlite3

    from portal.uws.errors import StoreUnavailable

    store = JobStore(tmp_path / "jobs.sqlite", busy_timeout=0.05)
    now = utcnow()
    job = Job(job_id="j1", job_list="echo", owner="alice", phase=ExecutionPhase.PENDING, parameters=(),
              creation_time=now, execution_duration=60, destruction=now + timedelta(days=1))
    other = sqlite3.connect(tmp_path / "jobs.sqlite", isolation_level=None)
    other.execute("BEGIN EXCLUSIVE")
    try:
        with pytest.raises(StoreUnavailable) as raised:
            store.add(job)
        assert raised.value.status_code == 503 and raised.value.message.endswith("try again in a moment")
    finally:
        other.execute("ROLLBACK")
        other.close()
    store.add(job)  # free again: the store works
    assert store.get("j1").owner == "alice"
    store.close()
