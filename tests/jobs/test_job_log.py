"""Python warnings in a job's log: each distinct warning once, with how often it came (issue 21).

The job runs in a real job process (:func:`portal.uws.child.start`, as the Dask worker starts it), whose
stdout, stderr and logging go to its ``log.txt``."""

from __future__ import annotations

import logging
from datetime import timedelta

from portal.uws import child
from portal.uws.definitions import JobDefinition
from portal.uws.models import ExecutionPhase, Job, utcnow
from portal.uws.runner import RunRequest
from portal.uws.warnlog import RepeatedWarnings
from tests.jobs.warning_job import REPEATS


def _run_job(run: str, workdir, monkeypatch) -> tuple[tuple, str]:
    workdir.mkdir()
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")  # as in a Dask worker, where jobs start
    now = utcnow()
    job = Job("warnings1", "warnings", "tester", ExecutionPhase.EXECUTING, (), now, 60, now + timedelta(days=1))
    definition = JobDefinition("warnings", "Warns as libraries do.", run, (), ())
    # the job's module preloaded by the job processes' fork server, as the Dask runner preloads every definition's
    proc = child.start(RunRequest(job, definition, {}, workdir), preload=[run.partition(":")[0]])
    outcome = None
    try:
        while outcome is None and proc.conn.poll(60):
            try:
                kind, value = proc.conn.recv()
            except EOFError:  # the process ended without saying how
                break
            if kind == "outcome":
                outcome = value
    finally:
        proc.join(timeout=30)
        proc.kill()
    return outcome, (workdir / child.LOG_FILE).read_text()


def test_a_warning_repeated_16_times_shows_once_with_its_count(tmp_path, monkeypatch):
    outcome, log = _run_job("tests.jobs.warning_job:run", tmp_path / "job", monkeypatch)
    assert outcome == (ExecutionPhase.COMPLETED, None), log
    lines = log.splitlines()
    card = [line for line in lines if "Card is too long" in line]
    assert len(card) == 2, log  # the warning, then how often it came
    assert "VerifyWarning: Card is too long, comment will be truncated." in card[0]
    assert "warning_job.py" in card[0] and "times" not in card[0]
    assert card[1].endswith(f"VerifyWarning: Card is too long, comment will be truncated. ({REPEATS} times in all, "
                            "shown once)")
    assert " WARNING py.warnings: " in card[1]
    assert lines.index(card[1]) > max(i for i, line in enumerate(lines) if "written flux point file" in line)
    # a warning that came once is shown once, without a count; ordinary log lines are never merged
    checksum = [line for line in lines if "Checksum verification failed" in line]
    assert len(checksum) == 1 and "times" not in checksum[0]
    assert sum("written flux point file" in line for line in lines) == 3


def test_a_long_run_of_copies_is_counted_as_it_goes():
    """At every power of ten from ``first_note`` on, the log says the warning still comes."""
    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    logger = logging.getLogger("tests.jobs.warnlog")
    logger.propagate, logger.level = False, logging.INFO
    repeats, keep = RepeatedWarnings(first_note=10), Keep()
    logger.addFilter(repeats)
    logger.addHandler(keep)
    try:
        for i in range(25):
            logger.warning("%s", "/lib/card.py:1036: VerifyWarning: Card is too long.\n  warnings.warn(\n")
            if i == 3:
                logger.warning("%s", "/lib/scripts.py:71: UserWarning: Checksum verification failed.\n")
        repeats.report(logger)
    finally:
        logger.removeFilter(repeats)
        logger.removeHandler(keep)
    assert seen == [
        "/lib/card.py:1036: VerifyWarning: Card is too long.\n  warnings.warn(\n",
        "/lib/scripts.py:71: UserWarning: Checksum verification failed.\n",
        "/lib/card.py:1036: VerifyWarning: Card is too long. (10 times so far, shown once)",
        "/lib/card.py:1036: VerifyWarning: Card is too long. (25 times in all, shown once)",
    ]
