"""Can the portal's services be reached? One watcher per client, in the background, that the
dashboard's banner and the Services panel follow.

:class:`ServiceHealth` learns it two ways:

- from every request the client sends (its own and pyvo's: ``PortalClient.watchers``): any answer,
  whatever its status, means reachable; a refused or failed connection means not;
- from a probe (``GET /tap/availability``) in a background thread, sent only when nothing has
  answered for ``interval`` seconds while the services are up, and while they are down after
  ``backoff`` seconds, then twice that... at most ``interval`` seconds apart.

It goes back to reachable by itself at the first answer; nothing has to be reloaded. The thread
changes no trait: every change goes through :class:`~widgets.background.Background` onto the
kernel's loop. ``ServiceHealth.of(client)`` is the one watcher of that client.
"""

from __future__ import annotations

import threading
import time

import traitlets as t

from widgets.background import Background
from widgets.client import PortalClient, ServiceError

__all__ = ["ServiceHealth"]

INTERVAL = 10.0  # seconds: the longest the services may be down before the dashboard says so
BACKOFF = 1.0  # seconds before the first probe once they are down; doubles up to INTERVAL
PROBE_PATH = "/tap/availability"
PROBE_TIMEOUT = 5.0

_registry_lock = threading.Lock()  # the one watcher of a client lives on it (``client.health``), and goes with it


class ServiceHealth(t.HasTraits):
    """Whether the services behind ``client`` answer (``reachable``), and the last failure's sentence."""

    reachable = t.Bool(True)
    message = t.Unicode("")  # why not, when not
    since = t.Float(0.0)  # time.time() of the last change

    def __init__(self, client: PortalClient, background: Background | None = None, interval: float = INTERVAL,
                 backoff: float = BACKOFF, start: bool = True, **kwargs) -> None:
        super().__init__(**kwargs)
        self.client = client
        self.bg = background or Background.shared()
        self.interval, self.backoff = interval, backoff
        self._lock = threading.Lock()
        self._up = True  # what the requests say (any thread); the traits follow on the loop
        self._failures = 0  # failures seen since the last answer
        self._told = 0  # outcomes told by requests, all in all (the probe sees whether its own was told)
        self._last_answer = time.monotonic()
        self._seq = 0  # changes told to the loop, in order; a stale one is dropped
        self._applied = 0
        self._wake = threading.Event()
        self._probe_now = False
        self._closed = False
        self.probes = 0  # probes sent (a plain count, not a trait: the probe thread changes it)
        self.thread: threading.Thread | None = None
        client.watchers.append(self.seen)
        if start:
            self.thread = self.bg.thread(self._watch, name="widgets-health")

    @classmethod
    def of(cls, client: PortalClient, background: Background | None = None) -> "ServiceHealth":
        """The one watcher of ``client`` (made on first use)."""
        with _registry_lock:
            health = getattr(client, "health", None)
            if health is None or health._closed:
                health = client.health = cls(client, background)
            return health

    # -- what the requests say (any thread) ---------------------------------------------------------
    def seen(self, reached: bool, message: str = "") -> None:
        """A request got an answer (``reached``) or none; called by the client after each request."""
        with self._lock:
            self._told += 1
            if reached:
                self._last_answer = time.monotonic()
                self._failures = 0
            else:
                self._failures += 1
            changed = reached != self._up
            self._up = reached
            if changed:
                self._seq += 1
                seq = self._seq
        if changed:
            self._wake.set()  # the probe's timing follows the new state
            self._tell_loop(seq, reached, message)

    def _tell_loop(self, seq: int, reached: bool, message: str) -> None:
        try:
            self.bg.call(self._apply, seq, reached, message)
        except RuntimeError:  # the loop is closed: nobody is watching any more
            self.close()

    def _apply(self, seq: int, reached: bool, message: str) -> None:
        """On the loop: the traits follow the latest change."""
        if seq <= self._applied:
            return
        self._applied = seq
        with self.hold_trait_notifications():
            self.message = "" if reached else message
            self.since = time.time()
            self.reachable = reached

    # -- the probe (its own thread) ----------------------------------------------------------------
    def retry(self) -> None:
        """Probe now (the banner's button)."""
        self._probe_now = True
        self._wake.set()

    def next_wait(self) -> float:
        """Seconds until the next probe: the back-off while down, else until ``interval`` of silence."""
        with self._lock:
            if not self._up:
                return min(self.interval, self.backoff * 2 ** max(0, self._failures - 1))
            return max(0.05, self._last_answer + self.interval - time.monotonic())

    def probe(self) -> bool:
        """One ``GET /tap/availability`` (I/O only, any thread): whether it answered. The client tells
        :meth:`seen` the outcome, like any request's."""
        with self._lock:
            self.probes += 1
            told = self._told
        try:
            self.client.get(PROBE_PATH, timeout=PROBE_TIMEOUT, ok=range(100, 600))
            return True
        except ServiceError as exc:
            with self._lock:
                silent = self._told == told
            if silent:  # connected but no answer in time (a hung server): for a probe, that is down too
                self.seen(False, exc.message)
            return False
        except RuntimeError:  # the client was closed meanwhile: nobody is watching any more
            if not self.client.closed:
                raise
            return False

    def _watch(self) -> None:
        while not self._closed and not self.client.closed:
            woken = self._wake.wait(self.next_wait())
            self._wake.clear()
            if self._closed or self.client.closed:
                break
            if woken and not self._probe_now:
                continue  # the state changed: count the wait again
            self._probe_now = False
            with self._lock:
                quiet = self._up and time.monotonic() - self._last_answer < self.interval
            if not quiet:
                self.probe()

    def close(self) -> None:
        """Stop probing and stop listening to the client."""
        self._closed = True
        self._wake.set()
        try:
            self.client.watchers.remove(self.seen)
        except ValueError:
            pass
