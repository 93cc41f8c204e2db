"""Names to positions: Sesame (CDS) when the network allows, else what is on this machine.

The chain, first answer wins:

1. :class:`SesameClient`: CDS Sesame (Simbad, NED, VizieR) and its mirror, over HTTP;
2. :class:`PortalNames`: the portal's ``/resolver``, answering from the local catalogs;
3. :class:`ArchiveTargets`: the target names of the archive's ObsCore table, through TAP.

Each source answers a :class:`Resolution`, None (it does not know the name) or raises
:class:`Unreachable` (it could not be asked). :class:`NameResolver` turns the outcome into one
message that says where it looked.
"""

from __future__ import annotations

import logging
import threading
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field, replace
from urllib.parse import quote

import httpx
import numpy as np
from astropy.coordinates import SkyCoord

from portal.catalogs.extent import SourceSize

log = logging.getLogger("widgets.resolver")

SAME_SOURCE_DEG = 0.5  # a local catalog's source this close to another resolver's position is the same source
SESAME_URLS = ("https://cds.unistra.fr/cgi-bin/nph-sesame", "https://vizier.cfa.harvard.edu/viz-bin/nph-sesame")


@dataclass(frozen=True)
class Resolution:
    query: str
    name: str  # the name the source gave (canonical name, catalog name or archive target name)
    coord: SkyCoord
    source: str  # where the answer came from, for the message
    note: str = ""
    size: SourceSize | None = None  # the source's angular size, when a local catalog gives one
    size_note: str = ""  # where the size came from, or why there is none


class Unreachable(ConnectionError):
    """A name service could not be asked (network down, server error)."""


class NameNotFound(LookupError):
    """No source knows the name; the message says where it looked."""

    def __init__(self, message: str, candidates: list[str] | None = None) -> None:
        super().__init__(message)
        self.candidates = candidates or []


def normalize(name: str) -> str:
    """Case, spaces and underscores do not matter (as in portal.catalogs)."""
    return "".join(str(name).split()).replace("_", "").lower()


class SesameClient:
    """CDS Sesame's XML interface (``-oxp``), trying each mirror until one answers."""

    label = "Sesame (CDS)"
    retry_after = 60.0  # seconds during which an unreachable Sesame is not asked again

    def __init__(self, urls: tuple[str, ...] | list[str] = SESAME_URLS, timeout: float = 5.0) -> None:
        self.urls = [u.rstrip("/") for u in urls]
        self.timeout = httpx.Timeout(timeout, connect=min(timeout, 2.0))
        self._down_until = 0.0

    def resolve(self, name: str) -> Resolution | None:
        if time.monotonic() < self._down_until:
            raise Unreachable("not reachable a moment ago")
        try:
            return self._ask(name)
        except Unreachable:
            self._down_until = time.monotonic() + self.retry_after
            raise

    def _ask(self, name: str) -> Resolution | None:
        failures = []
        for base in self.urls:
            url = f"{base}/-oxp/SNV?{quote(name)}"
            try:
                response = httpx.get(url, timeout=self.timeout, follow_redirects=True)
                response.raise_for_status()
                return parse_sesame(name, response.text)
            except (httpx.HTTPError, ET.ParseError) as exc:
                failures.append(f"{base}: {type(exc).__name__}")
        raise Unreachable("; ".join(failures))


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
    """Ask each source in turn; say where it looked when none knows the name."""

    def __init__(self, sources: list) -> None:
        self.sources = list(sources)

    def resolve(self, name: str) -> Resolution:
        name = name.strip()
        unreachable, unknown, candidates = [], [], []
        for source in self.sources:
            try:
                found = source.resolve(name)
            except Unreachable as exc:
                log.info("%s unreachable: %s", source.label, exc)
                unreachable.append(source.label)
                continue
            if found is not None:
                return self._with_size(found)
            unknown.append(source.label)
            candidates += getattr(source, "candidates", [])
        parts = [f"no position found for {name!r}"]
        if unknown:
            parts.append("unknown to " + ", ".join(unknown))
        if unreachable:
            parts.append("could not ask " + ", ".join(unreachable) + " (offline?)")
        message = "; ".join(parts)
        if candidates:
            message += ". Did you mean " + ", ".join(candidates[:5]) + "?"
        raise NameNotFound(message, candidates)

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
