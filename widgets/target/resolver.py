"""Names to positions: what is on this machine at once, and Sesame (CDS) when the network allows.

The chain, first answer in this order wins:

1. :class:`SesameClient` (:mod:`.sesame`): CDS Sesame (Simbad, NED, VizieR) and its mirror, over HTTP,
   asked in a thread of its own and waited for only while it may answer (never once it is known to be
   unreachable, for 5 minutes);
2. :class:`PortalNames`: the portal's ``/resolver``, answering from the local catalogs;
3. :class:`ArchiveTargets`: the target names of the archive's ObsCore table, through TAP.

Each source answers a :class:`Resolution`, None (it does not know the name) or raises
:class:`Unreachable` (it could not be asked). :class:`NameResolver` turns the outcome into one
message that says where it looked.
"""

from __future__ import annotations

import logging
import threading
from dataclasses import dataclass, field, replace

import numpy as np
from astropy.coordinates import SkyCoord

from portal.seam.sizes import SourceSize
from widgets.target.answers import (
    NameNotFound,
    NoAnswerYet,
    Resolution,
    Unreachable,
    normalize,
)
from widgets.target.sesame import SESAME_URLS, SesameClient, parse_sesame

__all__ = ["SESAME_URLS", "ArchiveTargets", "NameNotFound", "NameResolver", "PortalNames", "Resolution",
           "SesameClient", "Unreachable", "normalize", "parse_sesame"]

log = logging.getLogger("widgets.resolver")

SAME_SOURCE_DEG = 0.5  # a local catalog's source this close to another resolver's position is the same source


class PortalNames:
    """The portal's resolver endpoint: local catalogs, their aliases and common aliases."""

    label = "local catalogs"

    def __init__(self, portal_url: str, timeout: float = 30.0, client=None) -> None:
        from widgets.client import PortalClient

        self.url = portal_url.rstrip("/") + "/resolver"
        self.timeout = timeout
        self.client = client or PortalClient(portal_url, token="", timeout=timeout)
        self.candidates: list[str] = []

    def resolve(self, name: str) -> Resolution | None:
        body = self._ask(name)
        if body is None:
            return None
        match = body["matches"][0]
        coord = SkyCoord(match["ra"], match["dec"], unit="deg", frame="icrs")
        return Resolution(name, match["name"], coord, match["catalog"], size=SourceSize.from_json(body.get("size")),
                          size_note=str(body.get("size_note") or ""))

    def size(self, name: str, coord: SkyCoord) -> tuple[SourceSize | None, str] | None:
        """The size the local catalogs give for ``name``, if they know a source of that name near
        ``coord`` (another resolver's answer); None when they do not know it there."""
        body = self._ask(name)
        if body is None:
            return None
        size = SourceSize.from_json(body.get("size"))
        within = max(SAME_SOURCE_DEG, size.radius if size else 0.0)  # a large source's centre is less certain
        for match in body["matches"]:
            there = SkyCoord(match["ra"], match["dec"], unit="deg", frame="icrs")
            if there.separation(coord).deg <= within:
                return size, str(body.get("size_note") or "")
        return None

    def _ask(self, name: str) -> dict | None:
        """The resolver's answer for a known name; None (candidates kept) for an unknown one."""
        from widgets.client import ServiceError

        self.candidates = []
        try:
            response = self.client.get(self.url, params={"name": name}, ok=(200, 404))
        except ServiceError as exc:
            raise Unreachable(f"{self.url}: {exc.message}") from None
        body = _json(response)
        if response.status_code == 404 or not body.get("matches"):
            self.candidates = [c["name"] for c in body.get("candidates", [])]
            return None
        return body

    def names(self) -> list[str]:
        from widgets.client import ServiceError

        try:
            return list(self.client.get_json(self.url + "/names")["names"])
        except (ServiceError, ValueError, KeyError, TypeError):
            return []


def _json(response) -> dict:
    try:
        return response.json()
    except ValueError:
        return {}


@dataclass
class ArchiveTargets:
    """Target names of an ObsCore table, fetched once over TAP; positions averaged over observations.

    Uses the target's own position (``target_ra``/``target_dec``, a high-energy column) when the
    table has it, else the mean pointing (``s_ra``/``s_dec``): wobble pointings surround the target.
    """

    tap_url: str
    table: str = "ivoa.obscore"
    label: str = "archive target names"
    _targets: dict[str, tuple[str, SkyCoord]] | None = field(default=None, repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)
    client: object = field(default=None, repr=False)

    def _load(self) -> dict[str, tuple[str, SkyCoord]]:
        from widgets.client import default_client

        with self._lock:
            if self._targets is not None:
                return self._targets
            service = (self.client or default_client()).tap_service(self.tap_url)
            try:
                table = self._query(service, "target_ra", "target_dec")
            except Exception:  # noqa: BLE001 - the service may not have the high-energy columns
                try:
                    table = self._query(service, "s_ra", "s_dec")
                except Exception as exc:  # noqa: BLE001 - pyvo raises many kinds
                    raise Unreachable(f"{self.tap_url}: {exc}") from None
            targets: dict[str, tuple[str, list]] = {}
            for name, ra, dec in zip(table["target_name"], table["ra"], table["dec"]):
                if np.ma.is_masked(name) or np.ma.is_masked(ra) or np.ma.is_masked(dec) or not str(name).strip():
                    continue
                targets.setdefault(normalize(name), (str(name).strip(), []))[1].append((float(ra), float(dec)))
            self._targets = {k: (n, _mean_position(p)) for k, (n, p) in targets.items()}
            return self._targets

    def _query(self, service, ra: str, dec: str):
        adql = f"SELECT target_name, {ra} AS ra, {dec} AS dec FROM {self.table} WHERE target_name IS NOT NULL"
        return service.run_sync(adql, maxrec=200_000).to_table()

    def resolve(self, name: str) -> Resolution | None:
        found = self._load().get(normalize(name))
        if found is None:
            return None
        return Resolution(name, found[0], found[1], "archive", note="mean position of its observations")

    def names(self) -> list[str]:
        try:
            return sorted({n for n, _c in self._load().values()}, key=str.lower)
        except Unreachable:
            return []


def _mean_position(points: list[tuple[float, float]]) -> SkyCoord:
    """Mean direction of (ra, dec) points, computed on unit vectors (safe across RA = 0)."""
    ra, dec = np.radians(np.array(points).T)
    x, y, z = (np.cos(dec) * np.cos(ra)).mean(), (np.cos(dec) * np.sin(ra)).mean(), np.sin(dec).mean()
    return SkyCoord(np.degrees(np.arctan2(y, x)) % 360, np.degrees(np.arctan2(z, np.hypot(x, y))),
                    unit="deg", frame="icrs")


class NameResolver:
    """Ask the sources; the first in the chain's order that knows the name wins, and the message says
    where it looked when none does.

    Remote sources (with ``start`` and ``wait``: :class:`SesameClient`) are asked first, each in a
    thread of its own; the local sources answer meanwhile, in turn. A remote answer is waited for only
    as long as its source allows: not at all once it is known to be unreachable, briefly while its
    reachability is not known and a local source knows the name.
    """

    def __init__(self, sources: list) -> None:
        self.sources = list(sources)

    def resolve(self, name: str) -> Resolution:
        name = name.strip()
        outcomes: list = [None] * len(self.sources)  # a Resolution, _UNKNOWN, an Unreachable, or None (not asked)
        lookups = {}
        for i, source in enumerate(self.sources):
            if _remote(source):
                try:
                    lookups[i] = source.start(name)
                except Unreachable as exc:
                    outcomes[i] = exc
        candidates, local_hit = [], None
        for i, source in enumerate(self.sources):
            if _remote(source):
                continue
            try:
                found = source.resolve(name)
            except Unreachable as exc:
                outcomes[i] = exc
                continue
            outcomes[i] = _UNKNOWN if found is None else found
            if found is not None:
                local_hit = i
                break
            candidates += getattr(source, "candidates", [])
        for i, lookup in lookups.items():  # in the chain's order
            if local_hit is not None and i > local_hit:
                break  # a source before it knows the name
            try:
                found = self.sources[i].wait(lookup, found_locally=local_hit is not None)
            except Unreachable as exc:
                outcomes[i] = exc
                continue
            outcomes[i] = _UNKNOWN if found is None else found
            if found is not None:
                break
        for i, outcome in enumerate(outcomes):
            if isinstance(outcome, Resolution):
                return self._with_size(self._noted(outcome, outcomes[:i]))
        raise NameNotFound(self._message(name, outcomes, candidates), candidates)

    def _noted(self, found: Resolution, before: list) -> Resolution:
        """A local answer says which remote source was not reachable (not when it is switched off)."""
        missing = [s.label for s, o in zip(self.sources, before) if isinstance(o, Unreachable)
                   and not isinstance(o, NoAnswerYet) and _remote(s) and not getattr(s, "disabled", "")]
        if not missing:
            return found
        notes = ([found.note] if found.note else []) + [f"{', '.join(missing)} not reachable"]
        return replace(found, note="; ".join(notes))

    def _message(self, name: str, outcomes: list, candidates: list[str]) -> str:
        unknown = [s.label for s, o in zip(self.sources, outcomes) if o is _UNKNOWN]
        unreachable = [(s.label, o) for s, o in zip(self.sources, outcomes) if isinstance(o, Unreachable)]
        for label, exc in unreachable:
            log.info("%s unreachable: %s", label, exc)
        parts = [f"no position found for {name!r}"]
        if unknown:
            parts.append("unknown to " + ", ".join(unknown))
        plain = [label for label, exc in unreachable if not exc.phrase]
        if plain:
            parts.append("could not ask " + ", ".join(plain) + " (offline?)")
        parts += [f"{label} {exc.phrase}" for label, exc in unreachable if exc.phrase]
        message = "; ".join(parts)
        if candidates:
            message += ". Did you mean " + ", ".join(candidates[:5]) + "?"
        return message

    def _with_size(self, found: Resolution) -> Resolution:
        """A position from a source that gives no sizes (Sesame, the archive) gets the local
        catalogs' size of the same source, when they know it."""
        if found.size is not None or found.size_note:
            return found
        for source in self.sources:
            if not hasattr(source, "size"):
                continue
            try:
                known = source.size(found.query, found.coord)
            except Unreachable:
                continue
            if known is not None:
                return replace(found, size=known[0], size_note=known[1])
        return found


_UNKNOWN = object()  # a source's outcome: it was asked and does not know the name


def _remote(source) -> bool:
    """A source asked in a thread of its own (Sesame), as opposed to one answering at once."""
    return callable(getattr(source, "start", None)) and callable(getattr(source, "wait", None))
