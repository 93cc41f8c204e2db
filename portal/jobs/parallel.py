"""Independent pieces of an analysis computed at once, in processes forked from the job's process.

:func:`run_unordered` runs ``func(shared, item)`` for every item and yields ``(index, result)`` as
each ends. The ``shared`` state (observations, datasets with their fitted models) reaches the
workers by ``fork``, not by pickling: only the items and the results travel.

Why processes forked here, and not Dask tasks: a job already runs in its own process (started by
the job service's fork server, :mod:`portal.uws.child`), the leader of its own process group. The
workers forked from it are in that group, so ABORT, a timeout or the supervisor going away (which
kill the group) stop them with the job; each worker also dies with its parent (``PR_SET_PDEATHSIG``).

``processes=1`` (the default of the library functions, safe in a notebook kernel) runs the same
function in this process, in order: the serial run that the parallel one must equal.
"""

from __future__ import annotations

import ctypes
import multiprocessing
import os
import signal
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import Any, TypeVar

__all__ = ["available_processes", "run_unordered"]

Item = TypeVar("Item")
Result = TypeVar("Result")

_PR_SET_PDEATHSIG = 1
_shared: Any = None
_func: Callable[[Any, Any], Any] | None = None


def available_processes() -> int:
    """The cores this process may run on (its CPU affinity)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def _die_with_parent(parent: int) -> None:
    """Pool initializer: end this worker when the job process ends, however it ends."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):  # not Linux: watch the parent instead
        def watch() -> None:
            while os.getppid() == parent:
                threading.Event().wait(1.0)
            os.kill(os.getpid(), signal.SIGKILL)

        threading.Thread(target=watch, daemon=True).start()
    if os.getppid() != parent:  # the parent ended before the signal was armed
        os.kill(os.getpid(), signal.SIGKILL)


def _call(item: Any) -> Any:
    return _func(_shared, item)


def run_unordered(func: Callable[[Any, Item], Result], shared: Any, items: Sequence[Item],
                  processes: int = 1) -> Iterator[tuple[int, Result]]:
    """``(index, func(shared, items[index]))`` for every item, as each ends.

    ``func`` must be a module-level function (it is found by name in the workers). An exception
    in one item is raised here (a worker that dies: ``BrokenProcessPool``), and the items not yet
    started are dropped. With ``processes <= 1`` or a single item, everything runs here, in order.
    """
    global _shared, _func
    processes = min(processes, len(items))
    if processes <= 1:
        for index, item in enumerate(items):
            yield index, func(shared, item)
        return
    executor = ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context("fork"),
                                   initializer=_die_with_parent, initargs=(os.getpid(),))
    _shared, _func = shared, func
    try:
        # with fork, every worker starts at the first submit, inheriting the shared state
        futures = {executor.submit(_call, item): index for index, item in enumerate(items)}
    finally:
        _shared, _func = None, None
    try:
        for future in as_completed(futures):
            yield futures[future], future.result()
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
