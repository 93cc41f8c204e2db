"""TargetState: what the user typed, and the position and radius it means (or why it cannot be used)."""

from __future__ import annotations

import os
import threading
from concurrent.futures import Future

import traitlets as t
from astropy.coordinates import Angle, SkyCoord

from portal.seam.sizes import SourceSize
from widgets.background import Background
from widgets.config import portal_url
from widgets.session import SessionState
from widgets.target.coords import (
    InputError,
    format_position,
    galactic_name_position,
    looks_like_position,
    parse_position,
    parse_radius,
)
from widgets.target.resolver import (
    ArchiveTargets,
    NameNotFound,
    NameResolver,
    PortalNames,
    SesameClient,
)

DEFAULT_RADIUS = "0.5 deg"


def default_resolver(tap_url: str | None = None, portal: str | None = None) -> NameResolver:
    """Sesame, then the portal's local catalogs, then the archive's target names (Sesame is asked beside
    the others and not waited on when unreachable; never asked under ``PORTAL_OFFLINE=1``)."""
    base = portal or portal_url()
    forced = os.environ.get("PORTAL_OFFLINE", "").lower() in {"1", "true", "yes"}
    sesame = SesameClient(disabled="PORTAL_OFFLINE is set" if forced else "")
    return NameResolver([sesame, PortalNames(base), ArchiveTargets(tap_url or base + "/tap")])


class TargetState(SessionState):
    """The target of a search. ``search()`` resolves ``text`` and checks ``radius_text``.

    ``status`` is ``idle``, ``resolving``, ``ok`` or ``error``; ``message`` says what happened, in
    plain text (views escape it). The target found is the session's (it publishes it there):
    ``target`` (an ICRS SkyCoord, None until a search succeeds), ``name``, ``radius`` (degrees) and
    ``size`` (when a local catalog gives one) read the session. A search that succeeds says so first (``status``
    "ok" and its ``message``, the page's answer to Enter), then publishes the target; ``found`` counts the
    targets published (what ``TargetSearch.on_target`` follows).
    """

    observes: tuple[str, ...] = ()
    publishes = ("target",)

    text = t.Unicode("")
    radius_text = t.Unicode(DEFAULT_RADIUS)
    source = t.Unicode("")
    size_note = t.Unicode("")  # where the size came from, or why there is none
    status = t.Enum(["idle", "resolving", "ok", "error"], "idle")
    message = t.Unicode("")
    found = t.Int(0)  # counts successful searches: a new radius for the same target is news too

    def __init__(self, resolver: NameResolver | None = None, background: Background | None = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.resolver = resolver or default_resolver()
        self.background = background
        self._lock = threading.Lock()
        self._last: tuple[str, str] | None = None

    # -- the target found: the session's ---------------------------------------------------------
    @property
    def target(self) -> SkyCoord | None:
        return self.session.target

    @property
    def name(self) -> str:
        return self.session.target_name

    @property
    def radius(self) -> float:
        """Degrees."""
        return self.session.radius

    @property
    def size(self) -> SourceSize | None:
        return self.session.target_size

    def search(self, text: str | None = None, radius: str | None = None) -> bool:
        """Resolve ``text`` (a name or a position) with ``radius``; True when the target is set."""
        self._take(text, radius)
        with self._lock:
            plan = self._plan(self.text.strip(), self.radius_text.strip())
            if not isinstance(plan, tuple):
                return plan
            return self._resolved(*plan, self._resolve(plan[0]))

    def search_in_background(self, text: str | None = None, radius: str | None = None) -> Future | None:
        """The same as :meth:`search`, with the name resolved in a worker thread (the page stays
        responsive); the outcome is applied on the kernel's loop."""
        self._take(text, radius)
        plan = self._plan(self.text.strip(), self.radius_text.strip())
        if not isinstance(plan, tuple):
            return None
        bg = self.background or Background.shared()
        return bg.run(self._resolve, plan[0], on_done=lambda found: self._resolved(*plan, found))

    def _take(self, text: str | None, radius: str | None) -> None:
        if text is not None:
            self.text = text
        if radius is not None:
            self.radius_text = str(radius)

    def _plan(self, text: str, radius_text: str):
        """Everything but the name look-up: True/False when done, else (name, radius) to resolve."""
        if self._last == (text, radius_text) and self.status == "ok":
            return True
        try:
            radius = parse_radius(radius_text)
        except InputError as exc:
            return self._fail(str(exc))
        if looks_like_position(text) or not text:
            try:
                coord = parse_position(text)
            except InputError as exc:
                return self._fail(str(exc))
            return self._set(text, coord, radius, "", "position as typed", None, "")
        self.status, self.message = "resolving", f"Resolving {text!r}..."
        return text, radius

    def _resolve(self, text: str):
        """I/O only (any thread): the resolution, or the exception that says why there is none."""
        try:
            return self.resolver.resolve(text)
        except Exception as exc:  # noqa: BLE001 - any failure of a service becomes a message
            return exc

    def _resolved(self, text: str, radius: Angle, found) -> bool:
        if isinstance(found, NameNotFound):
            coord = galactic_name_position(text)
            if coord is not None:
                return self._set(text, coord, radius, text, "Galactic coordinates read from the name", None, "")
            return self._fail(str(found))
        if isinstance(found, Exception):
            return self._fail(f"could not resolve {text!r}: {found}")
        source = found.source + (f", {found.note}" if found.note else "")
        return self._set(text, found.coord, radius, found.name, source, found.size, found.size_note)

    def _set(self, text: str, coord: SkyCoord, radius: Angle, name: str, source: str,
             size: SourceSize | None, size_note: str) -> bool:
        label = f"{name}: " if name else ""
        message = f"{label}{format_position(coord)}, radius {radius.deg:g} deg ({source})"
        if size is not None:
            message += f"; size {size.describe()}"
        with self.hold_trait_notifications():
            self.source, self.size_note = source, size_note
            self.status, self.message = "ok", message
        # the person reads the answer first; then the views that follow the session's target move (the sky, the
        # search's cone and its ADQL: their updates would go to the page before it)
        self.session.set_target(coord, float(radius.deg), name, size)
        self.found += 1
        self._last = (text, self.radius_text.strip())
        return True

    def _fail(self, message: str) -> bool:
        self.status, self.message = "error", message[:1].upper() + message[1:]
        return False
