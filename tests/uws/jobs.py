"""Job definitions for the job-service tests: real functions, run by the real service.

``count`` counts slowly (so it can be aborted or run out of time), publishes its counter as it
goes, reports its progress (stage ``counting``, the count of ``n``) and can fail on purpose; ``echo`` writes back its typed parameters and records an input;
``observations`` opens archive observations as the analyses do (no analysis) and publishes ``inputs``.
A server started with ``PORTAL_JOB_DEFINITIONS=tests.uws.jobs:DEFINITIONS`` offers them all.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from pathlib import Path

from portal.uws.definitions import (
    FatalError,
    JobDefinition,
    Parameter,
    ResultSpec,
    TransientError,
    UsageError,
)

COUNT = JobDefinition(
    name="count",
    description="Counts to n, one step every `interval` seconds (a long-running test job).",
    run="tests.uws.jobs:count",
    parameters=(
        Parameter("n", "int", "How far to count.", default=20, minimum=0, maximum=1_000_000),
        Parameter("interval", "float", "Pause between steps.", default=0.05, unit="s", minimum=0.0, maximum=60.0),
        Parameter("fail", "choice", "Fail on purpose at the end (linger: end well, leaving a thread that never "
                  "stops, which an interpreter's exit waits for).", default="none",
                  choices=("none", "usage", "fatal", "transient", "crash", "exit", "linger")),
    ),
    results=(
        ResultSpec("counter", "application/json", "The count so far, published at every step."),
        ResultSpec("total", "application/json", "The final count."),
    ),
    execution_duration=600,
)

ECHO = JobDefinition(
    name="echo",
    description="Writes its typed parameters back as JSON and records its own source as an input.",
    run="tests.uws.jobs:echo",
    parameters=(
        Parameter("text", "string", "Any text."),
        Parameter("number", "float", "A bounded number.", default=1.5, unit="m", minimum=0.0, maximum=10.0),
        Parameter("flag", "bool", "A boolean.", default=False),
        Parameter("ids", "int-list", "Some integers.", default=(1, 2)),
    ),
    results=(ResultSpec("echo", "application/json", "The parameters as the job received them."),),
    execution_duration=60,
)

OBSERVATIONS = JobDefinition(
    name="observations",
    description="Opens the observations of the archive as the analyses do, records their files and publishes "
                "which were used (every one): no analysis.",
    run="tests.uws.jobs:observations",
    parameters=(
        Parameter("obs_ids", "obs-list", "Observations: obs ids or <collection>/<obs_id>.", ucd="meta.id;obs",
                  column="obs_id"),
    ),
    results=(ResultSpec("inputs", "application/json", "The observations opened, with their collections."),),
    execution_duration=300,
)

DEFINITIONS = (COUNT, ECHO, OBSERVATIONS)


def count(ctx, params: dict) -> None:
    (ctx.workdir / "pid.txt").write_text(str(os.getpid()))
    counter = ctx.workdir / "counter.json"
    for i in range(1, params["n"] + 1):
        abort = getattr(ctx, "abort_requested", None)
        if abort is not None and abort.is_set():
            return
        (ctx.workdir / "count.txt").write_text(str(i))
        counter.write_text(json.dumps({"count": i}))
        ctx.publish("counter", counter, "application/json")
        ctx.progress("counting", i, params["n"])
        ctx.log.info("step %d", i)
        print(f"printed {i}", flush=True)
        time.sleep(params["interval"])
    fail = params["fail"]
    if fail == "usage":
        raise UsageError("Observation 42 is not in the archive")
    if fail == "fatal":
        raise FatalError("The fit did not converge")
    if fail == "transient":
        raise TransientError("The archive is down")
    if fail == "crash":
        raise ZeroDivisionError("division by zero in step n")
    if fail == "exit":
        sys.stdout.flush()
        os._exit(3)
    if fail == "linger":
        threading.Thread(target=threading.Event().wait, name="never ends").start()
    total = ctx.workdir / "total.json"
    total.write_text(json.dumps({"count": params["n"]}))
    ctx.publish("total", total, "application/json")


def echo(ctx, params: dict) -> None:
    ctx.used(Path(__file__), "code", language="python")
    out = ctx.workdir / "echo.json"
    out.write_text(json.dumps({k: v for k, v in params.items()}))
    ctx.publish("echo", out, "application/json")
    ctx.log.info("echoed %s", sorted(params))


def observations(ctx, params: dict) -> None:
    from portal.jobs.context import open_observations

    with open_observations(ctx, params["obs_ids"], ("aeff",)) as inputs:
        inputs.selected(inputs.requested, {})
