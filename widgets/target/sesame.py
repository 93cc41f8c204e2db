"""CDS Sesame (Simbad, NED, VizieR), asked beside the local catalogs and never waited on once it is known
to be unreachable.

Offline machines fail in several ways: DNS fails at once, a connection is refused at once, an
unroutable host swallows the connection (connect timeout), a proxy or firewall accepts and never
answers (read timeout), and a name server that does not answer holds DNS longer than any HTTP timeout.
So:

- each lookup runs in a daemon thread (:meth:`SesameClient.start`), and the caller waits on it
  (:meth:`SesameClient.wait`) until a deadline counted from the start, DNS included;
- a failure, or a lookup still unanswered at its deadline, marks Sesame *down* for ``retry_after``
  seconds (5 min): meanwhile it is not asked, and nothing waits on it; then one lookup asks it again,
  waiting no more than ``grace`` (so a Sesame still down costs a lookup at most that, every 5 min);
- an answer marks it *up*: a lookup then waits for Sesame up to ``timeout``, and Sesame's answer wins
  over the local catalogs' (:class:`~widgets.target.resolver.NameResolver`);
- while neither is known, an answer of the local catalogs waits only ``grace`` seconds for Sesame's.

Why not astropy's ``name_resolve`` (``SkyCoord.from_name``): it blocks its caller with one socket timeout
that does not bound DNS, and it keeps no memory that Sesame is down, so an offline dashboard would wait
on every lookup; it also gives only the position, where the dashboard says which name Sesame matched and
which database answered. The request is the same (Sesame's ``-oxp`` XML, the position read from
``jradeg``/``jdedeg``).
"""

from __future__ import annotations

import logging
import math
import threading
import time
import xml.etree.ElementTree as ET
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import quote

from astropy.coordinates import SkyCoord

from widgets.target.answers import NoAnswerYet, Resolution, Unreachable

if TYPE_CHECKING:
    import httpx

log = logging.getLogger("widgets.resolver")

SESAME_URLS = ("https://cds.unistra.fr/cgi-bin/nph-sesame", "https://vizier.cfa.harvard.edu/viz-bin/nph-sesame")
TIMEOUT = 4.0  # seconds for a whole lookup, every mirror and DNS included
CONNECT_TIMEOUT = 1.0  # seconds to open a connection to one mirror
GRACE = 0.3  # seconds a local answer waits for Sesame's while its reachability is not known
RETRY_AFTER = 300.0  # seconds during which an unreachable Sesame is not asked again
MAX_PENDING = 2  # lookups under way at once; beyond, Sesame is "not answering"


@dataclass
class Lookup:
    """One Sesame request under way (its outcome in ``future``)."""

    name: str
    started: float  # time.monotonic() at the start
    patient: bool  # Sesame answered before: a local answer waits for it up to the timeout
    retry: bool = False  # Sesame was down: it is asked again, and waited for no longer than the grace
    future: Future = field(default_factory=Future, repr=False)


class SesameClient:
    """Sesame's XML interface (``-oxp``), trying each mirror in turn; see the module docstring.

    ``disabled`` (e.g. "PORTAL_OFFLINE is set") means Sesame is never asked.
    """

    label = "Sesame (CDS)"

    def __init__(self, urls: tuple[str, ...] | list[str] = SESAME_URLS, timeout: float = TIMEOUT,
                 connect: float = CONNECT_TIMEOUT, grace: float = GRACE, retry_after: float = RETRY_AFTER,
                 disabled: str = "") -> None:
        self.urls = [u.rstrip("/") for u in urls]
        self.timeout = float(timeout)
        self.connect = min(float(connect), self.timeout)
        self.grace = float(grace)
        self.retry_after = float(retry_after)
        self.disabled = disabled
        self._lock = threading.Lock()
        self._up = False  # the latest outcome was an answer
        self._down_until = 0.0  # monotonic time until which Sesame is not asked
        self._settled = -math.inf  # start time of the lookup whose outcome set the state
        self._pending = 0
        self._http: httpx.Client | None = None

    # -- what is known -------------------------------------------------------------------------------
    @property
    def state(self) -> str:
        """``up`` (it answered last time), ``down`` (not asked until the retry) or ``unknown``."""
        with self._lock:
            return self._state()

    @property
    def pending(self) -> int:
        """Lookups under way (threads still waiting on Sesame)."""
        with self._lock:
            return self._pending

    def _state(self) -> str:
        if self.disabled or time.monotonic() < self._down_until:
            return "down"
        return "up" if self._up else "unknown"

    def _down_phrase(self) -> str:
        left = max(0.0, self._down_until - time.monotonic())
        when = f"{math.ceil(left / 60)} min" if left >= 60 else f"{math.ceil(left)} s"
        return f"not reachable (offline?), asked again in {when}"

    def _settle(self, started: float, up: bool, why: str = "") -> None:
        """Record an outcome (the lock held); an older lookup's outcome does not undo a newer one's."""
        if started < self._settled:
            return
        self._settled, self._up = started, up
        if up:
            self._down_until = 0.0
        else:
            self._down_until = time.monotonic() + self.retry_after
            log.info("Sesame unreachable (%s); not asked for %g s", why, self.retry_after)

    # -- asking ------------------------------------------------------------------------------------
    def resolve(self, name: str) -> Resolution | None:
        """Sesame's answer (None: it does not know the name), within ``timeout``; else Unreachable."""
        return self._await(self.start(name), patient=True)

    def start(self, name: str) -> Lookup:
        """Ask Sesame in a daemon thread; Unreachable at once when it is known to be down."""
        with self._lock:
            if self.disabled:
                raise Unreachable(self.disabled, phrase=f"not asked ({self.disabled})")
            state = self._state()
            if state == "down":
                raise Unreachable("not reachable a moment ago", phrase=self._down_phrase())
            if self._pending >= MAX_PENDING:
                raise Unreachable(f"{self._pending} lookups unanswered", phrase="not answering (offline?)")
            self._pending += 1
            retry = self._down_until > 0  # it was down: this lookup asks it again, and waits no more than grace
            if retry:  # one retry per period: the lookups meanwhile do not wait on it
                self._down_until = time.monotonic() + self.retry_after
        lookup = Lookup(name, time.monotonic(), patient=state == "up", retry=retry)
        threading.Thread(target=self._run, args=(lookup,), name="sesame-lookup", daemon=True).start()
        return lookup

    def wait(self, lookup: Lookup, found_locally: bool) -> Resolution | None:
        """The lookup's answer. Waits until ``timeout`` after its start when Sesame answered before or
        nothing else knows the name (then no answer marks Sesame down), else ``grace`` from now: a local
        answer is there, or Sesame was down and is being asked again."""
        return self._await(lookup, patient=lookup.patient or not (found_locally or lookup.retry))

    def _await(self, lookup: Lookup, patient: bool) -> Resolution | None:
        budget = self.timeout if patient else self.grace
        deadline = lookup.started + budget if patient else time.monotonic() + budget
        try:
            return lookup.future.result(timeout=max(0.0, deadline - time.monotonic()))
        except FutureTimeout:
            if lookup.retry and not patient:
                raise Unreachable(f"asked again, no answer within {budget:g} s",
                                  phrase="not reachable (offline?), being asked again") from None
            if not patient:
                raise NoAnswerYet(f"no answer within {budget:g} s", phrase="did not answer yet") from None
            with self._lock:
                self._settle(lookup.started, False, f"no answer within {budget:g} s")
                phrase = self._down_phrase()
            raise Unreachable(f"no answer within {budget:g} s", phrase=phrase) from None

    def _run(self, lookup: Lookup) -> None:
        try:
            found, error = self._ask(lookup.name, lookup.started + self.timeout), None
        except Unreachable as exc:
            found, error = None, exc
        except Exception as exc:  # noqa: BLE001 - whatever happens, the waiter gets an outcome
            found, error = None, Unreachable(f"{type(exc).__name__}: {exc}")
        with self._lock:
            self._pending -= 1
            self._settle(lookup.started, error is None, str(error))
            phrase = self._down_phrase() if self._state() == "down" else "not reachable (offline?)"
        if error is None:
            lookup.future.set_result(found)
        else:
            lookup.future.set_exception(Unreachable(str(error), phrase=phrase))

    def _client(self) -> httpx.Client:
        import httpx  # in the worker asking Sesame, not while the dashboard starts

        with self._lock:
            if self._http is None:
                self._http = httpx.Client(follow_redirects=True, headers={"User-Agent": "gamma-portal-widgets"})
            return self._http

    def _ask(self, name: str, deadline: float) -> Resolution | None:
        """One request per mirror until one answers, all before ``deadline``."""
        import httpx

        failures = []
        for base in self.urls:
            left = deadline - time.monotonic()
            if left <= 0:
                failures.append(f"{base}: no time left")
                break
            try:
                response = self._client().get(f"{base}/-oxp/SNV?{quote(name)}",
                                              timeout=httpx.Timeout(left, connect=min(self.connect, left)))
                response.raise_for_status()
                return parse_sesame(name, response.text)
            except (httpx.HTTPError, ET.ParseError) as exc:
                failures.append(f"{base}: {type(exc).__name__}")
        raise Unreachable("; ".join(failures))

    def close(self) -> None:
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()


def parse_sesame(query: str, text: str) -> Resolution | None:
    """The first resolver of a Sesame XML answer that gives a position, or None."""
    root = ET.fromstring(text)
    for resolver in root.iter("Resolver"):
        ra, dec = resolver.findtext("jradeg"), resolver.findtext("jdedeg")
        if ra is None or dec is None:
            continue
        database = (resolver.get("name") or "").split("=")[-1].split("(")[0].split(":")[0].strip()
        name = (resolver.findtext("oname") or query).strip()
        coord = SkyCoord(float(ra), float(dec), unit="deg", frame="icrs")
        return Resolution(query, name, coord, f"Sesame ({database})" if database else "Sesame")
    return None
