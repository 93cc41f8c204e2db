"""A job definition that takes memory on purpose, for the memory-limit tests (run by the real service).

``hog`` takes ``mib`` MiB: as one Python ``bytearray`` (``python``), as a numpy array (``numpy``), or in
64 MiB blocks from C's ``malloc`` until it fails, then aborts the process as C code does when it cannot
allocate (``c``). A server started with ``PORTAL_JOB_DEFINITIONS=tests.reliability.memory_jobs:DEFINITIONS``
offers it.
"""

from __future__ import annotations

import ctypes
import json
import os

from portal.uws.definitions import JobDefinition, Parameter, ResultSpec

HOG = JobDefinition(
    name="hog",
    description="Takes the memory it is asked for, then reports how much it took.",
    run="tests.reliability.memory_jobs:hog",
    parameters=(
        Parameter("mib", "int", "Memory to take.", default=100, unit="MiB", minimum=1, maximum=1_000_000),
        Parameter("how", "choice", "How to take it.", default="python", choices=("python", "numpy", "c")),
    ),
    results=(ResultSpec("taken", "application/json", "The memory taken, in MiB."),),
    execution_duration=300,
)

DEFINITIONS = (HOG,)
BLOCK = 64 << 20


def hog(ctx, params: dict) -> None:
    size = params["mib"] << 20
    if params["how"] == "python":
        held = bytearray(size)
    elif params["how"] == "numpy":
        import numpy as np

        held = np.ones(size // 8)
    else:
        libc = ctypes.CDLL(None)
        libc.malloc.restype = ctypes.c_void_p
        libc.malloc.argtypes = [ctypes.c_size_t]
        held = []
        while len(held) * BLOCK < size:
            block = libc.malloc(BLOCK)
            if not block:  # what C code does when it gets no memory: it dies
                ctx.log.error("malloc failed after %d MiB", len(held) * 64)
                os.abort()
            held.append(block)
    out = ctx.workdir / "taken.json"
    out.write_text(json.dumps({"mib": params["mib"], "held": len(held) > 0}))
    ctx.publish("taken", out, "application/json")
