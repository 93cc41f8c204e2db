"""Background work that is safe for widgets: blocking I/O in threads, trait changes on the kernel's loop.

ipywidgets send their messages through the kernel, which is not thread-safe; a trait changed
from a worker thread may interleave with the kernel's own messages. So every piece of the
library that waits on the network does it through :class:`Background`:

    bg = Background.shared()
    bg.run(fetch, url, on_done=lambda table: setattr(state, "results", table),
           on_error=lambda exc: setattr(state, "message", str(exc)))

``fetch`` runs in a worker thread and touches no trait; ``on_done`` / ``on_error`` run on the
loop of the thread that made the :class:`Background` (in a kernel: the kernel's own asyncio loop,
the one that executes cells). ``bg.call(fn, ...)`` runs ``fn`` on that loop from any thread, and
``bg.thread(fn)`` starts a long-lived worker (a job follower) with the same rule.

Outside a kernel (a plain script) there is no running loop: the :class:`Background` then owns one
and runs it in a thread of its own ("widgets-loop"), so a script sees what a notebook sees: the job
handle's phase follows the job, the SED fills as the job publishes, a form fills from a selection.
The library's effects still happen in one thread, that loop's. What a script reads that depends on
background work waits for it (``launcher.values``, ``sed.flux_points``: :meth:`Background.settle`),
and blocking forms that change traits (``job.wait()``) apply them on that loop (:meth:`Background.apply`).

The test suite instead sets ``Background.autorun = False``: the owned loop then runs only when asked,
``bg.wait_until(condition, timeout)`` (or ``bg.pump()``), in the caller's thread, so that a test decides
when effects happen.
"""

from __future__ import annotations

import asyncio
import logging
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

log = logging.getLogger("widgets.background")

__all__ = ["FAILED", "Background", "UsesBackground"]

# The messages of the failures this helper catches and logs (an effect that raised, a thread that died): the
# loop goes on, but a widget missed an update. The test suite fails a test that leaves one in its log.
FAILED = ("a widget update failed", "background thread")

WORKERS = 8


def _start_held(pool: ThreadPoolExecutor, outer: Future, fn: Callable, args: tuple, kwargs: dict) -> None:
    """Start work held for ``outer`` (unless ``outer`` was cancelled meanwhile: then nothing runs); ``outer`` ends
    as the work does."""
    if not outer.set_running_or_notify_cancel():
        return

    def copy(done: Future) -> None:
        exc = done.exception()
        if exc is None:
            outer.set_result(done.result())
        else:
            outer.set_exception(exc)

    pool.submit(fn, *args, **kwargs).add_done_callback(copy)


def _kernel_loop() -> asyncio.AbstractEventLoop | None:
    """The running loop of this thread (a kernel executing a cell), else the kernel's io loop."""
    try:
        return asyncio.get_running_loop()
    except RuntimeError:
        pass
    try:
        from IPython import get_ipython

        kernel = getattr(get_ipython(), "kernel", None)
        io_loop = getattr(kernel, "io_loop", None)
        loop = getattr(io_loop, "asyncio_loop", None)
        return loop if loop is not None and not loop.is_closed() else None
    except Exception:  # noqa: BLE001 - no IPython, or not a kernel
        return None


class Background:
    """Threads for blocking work, one loop for its effects; see the module docstring."""

    _instances: dict[int, "Background"] = {}
    _instances_lock = threading.Lock()
    _driven: dict[int, "Background"] = {}  # loop thread -> the helper whose loop it runs (scripts)
    _script: "Background | None" = None  # a script's shared helper: the one for every thread of the script
    #: Outside a kernel, run the owned loop in a thread of its own (a script); False: only when pumped (tests).
    autorun = True

    def __init__(self, loop: asyncio.AbstractEventLoop | None = None, workers: int = WORKERS,
                 autorun: bool | None = None) -> None:
        found = loop or _kernel_loop()
        self.owns_loop = found is None
        self.loop = found or asyncio.new_event_loop()
        self.loop_thread = threading.get_ident()  # the thread whose loop applies the effects
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="widgets-io")
        self.pending = 0  # submitted and not yet applied (tests wait for 0)
        self._lock = threading.Lock()
        self._seq = 0  # numbers the work submitted by run(), in order
        self._open: set[int] = set()  # the numbers of the work not yet applied
        self._holding = 0  # held() blocks open: work asked for waits for the last one to end
        self._held: list[Callable[[], None]] = []
        self.runs_itself = self.owns_loop and (type(self).autorun if autorun is None else autorun)
        if self.runs_itself:
            started = threading.Event()

            def drive() -> None:
                asyncio.set_event_loop(self.loop)
                self.loop_thread = threading.get_ident()
                Background._driven[self.loop_thread] = self  # one atomic store: shared() may hold its lock now
                self.loop.call_soon(started.set)
                self.loop.run_forever()

            threading.Thread(target=drive, daemon=True, name="widgets-loop").start()
            started.wait()

    @classmethod
    def shared(cls) -> "Background":
        """The one helper of this kernel (per thread that runs widgets: normally only the main one)."""
        key = threading.get_ident()
        with cls._instances_lock:
            driving = cls._driven.get(key)  # asked from a script's loop thread, by an effect: that helper
            if driving is not None and not driving.loop.is_closed():
                return driving
            script = cls._script  # asked from any other thread of a script (no kernel): the same one
            if script is not None and not script.loop.is_closed() and _kernel_loop() is None:
                return script
            bg = cls._instances.get(key)
            if bg is None or bg.loop.is_closed():
                bg = cls._instances[key] = cls()
                if bg.runs_itself:
                    cls._script = bg
            return bg

    # -- on the loop ------------------------------------------------------------------------------
    def call(self, fn: Callable, *args: Any) -> None:
        """Run ``fn(*args)`` on the loop: at once when already there, else soon (thread-safe)."""
        if self.on_loop():
            self._safely(fn, *args)
        else:
            self.loop.call_soon_threadsafe(self._safely, fn, *args)

    def on_loop(self) -> bool:
        if self.owns_loop:
            return threading.get_ident() == self.loop_thread
        try:
            return asyncio.get_running_loop() is self.loop
        except RuntimeError:
            return False

    @staticmethod
    def _safely(fn: Callable, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - an effect that fails must not kill the loop's other work
            log.exception("a widget update failed")

    # -- in threads -------------------------------------------------------------------------------
    def run(self, fn: Callable, *args: Any, on_done: Callable | None = None,
            on_error: Callable[[Exception], Any] | None = None, **kwargs: Any) -> Future:
        """``fn(*args, **kwargs)`` in a worker thread; then ``on_done(result)`` or ``on_error(exc)`` on the loop."""
        with self._lock:
            self.pending += 1
            self._seq += 1
            seq = self._seq
            self._open.add(seq)
            held = self._holding > 0
            if held:
                future: Future = Future()
                self._held.append(lambda: _start_held(self.pool, future, fn, args, kwargs))
        if not held:
            future = self.pool.submit(fn, *args, **kwargs)
        # always through the loop, even when the work ended before this line: effects come after run() returns
        future.add_done_callback(lambda f: self.loop.call_soon_threadsafe(self._safely, self._settle, f, on_done,
                                                                          on_error, seq))
        return future

    @contextmanager
    def held(self):
        """Work asked for with :meth:`run` inside this block starts in its threads when the block ends: a
        dashboard being built (on the kernel's thread) does not share the interpreter with its first requests."""
        with self._lock:
            self._holding += 1
        try:
            yield self
        finally:
            with self._lock:
                self._holding -= 1
                start, self._held = (self._held, []) if not self._holding else ([], self._held)
            for submit in start:
                submit()

    def _settle(self, future: Future, on_done, on_error, seq: int = 0) -> None:
        try:
            if future.cancelled():  # cancelled before it started: nothing ran, nothing to apply
                return
            exc = future.exception()
            if exc is None:
                if on_done is not None:
                    on_done(future.result())
            elif on_error is not None:
                on_error(exc)
            else:
                log.warning("background work failed: %s", exc, exc_info=exc)
        finally:
            with self._lock:
                self.pending -= 1
                self._open.discard(seq)

    def thread(self, fn: Callable, *args: Any, name: str = "widgets-follow") -> threading.Thread:
        """A long-lived daemon thread for ``fn`` (which must change traits only through :meth:`call`)."""
        worker = threading.Thread(target=self._guard, args=(fn, *args), daemon=True, name=name)
        worker.start()
        return worker

    @staticmethod
    def _guard(fn: Callable, *args: Any) -> None:
        try:
            fn(*args)
        except Exception:  # noqa: BLE001 - a follower that dies logs why; the widget says it stopped
            log.exception("background thread %s failed", threading.current_thread().name)  # FAILED[1]

    # -- without a kernel -------------------------------------------------------------------------
    def pump(self, seconds: float = 0.01) -> None:
        """Apply what the threads handed back (only for a loop this helper owns and runs when asked)."""
        if not self.owns_loop or self.runs_itself:
            return
        self.loop.run_until_complete(asyncio.sleep(seconds))

    def apply(self, fn: Callable, *args: Any, timeout: float = 60.0) -> Any:
        """Run ``fn(*args)`` where trait changes belong and return what it returns (or raise what it raised): at
        once when on the loop (a kernel's cell) or when the loop runs only when pumped (a test); else on the loop,
        the caller waiting for it (a script's thread; a thread of the user's in a kernel). TimeoutError when the
        loop does not get to it within ``timeout`` seconds."""
        if self.on_loop() or (self.owns_loop and not self.runs_itself):
            return fn(*args)
        done, box = threading.Event(), {}

        def run() -> None:
            try:
                box["value"] = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                box["error"] = exc
            finally:
                done.set()

        self.loop.call_soon_threadsafe(run)
        if not done.wait(timeout):
            raise TimeoutError(f"the widgets' loop did not get to a change within {timeout:g} s")
        if "error" in box:
            raise box["error"]
        return box.get("value")

    def settle(self, timeout: float = 120.0) -> bool:
        """In a script, wait until the background work started before this call has been applied, and what its
        effects under way started in turn (what a notebook's next cell would see); elsewhere return at once: a
        kernel's loop must not be blocked, a test pumps itself. False (and a warning) after ``timeout`` s."""
        if not self.runs_itself or self.on_loop():
            return True
        deadline = time.monotonic() + timeout
        for _ in range(2):  # the work started so far; then what its effects, running meanwhile, started
            with self._lock:
                mark = self._seq
            done = self.wait_until(lambda: not any(seq <= mark for seq in list(self._open)),
                                   max(0.0, deadline - time.monotonic()))
            try:
                done = done and self.apply(lambda: True, timeout=max(0.01, deadline - time.monotonic()))
            except TimeoutError:
                done = False
            if not done:
                log.warning("still waiting for background work after %g s: answering with what has arrived", timeout)
                return False
        return True

    def close(self) -> None:
        """Stop the loop this helper runs itself (a script's) and its worker threads."""
        if self.runs_itself and not self.loop.is_closed():
            self.loop.call_soon_threadsafe(self.loop.stop)
        self.pool.shutdown(wait=False, cancel_futures=True)

    def wait_until(self, condition: Callable[[], bool], timeout: float = 30.0, step: float = 0.02) -> bool:
        """Pump the loop until ``condition()`` holds; False after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            if condition():
                return True
            if time.monotonic() > deadline:
                return False
            if self.owns_loop and not self.runs_itself:
                self.pump(step)
            else:
                time.sleep(step)

    def idle(self, timeout: float = 30.0) -> bool:
        """Pump until every :meth:`run` has been applied."""
        return self.wait_until(lambda: self.pending == 0, timeout)


class UsesBackground:
    """For a state whose waits run on a helper: ``self.background`` when it was given one, else the shared one
    (taken at first use, so that a state made in a script or a test can be given its own first)."""

    background: Background | None = None

    @property
    def bg(self) -> Background:
        if self.background is None:
            self.background = Background.shared()
        return self.background
