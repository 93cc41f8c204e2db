"""Resolve a name from the local catalogs: exact names and aliases, then common aliases, then word prefixes."""

from __future__ import annotations

import re
import threading
from dataclasses import asdict, dataclass

from portal.catalogs import CatalogRegistry, SourceMatch, normalize_name
from portal.catalogs.extent import SizeReader, SourceSize
from portal.resolver.aliases import COMMON_ALIASES

# Catalogs whose names are offered as suggestions and searched by word prefix (TeV catalogs).
SUGGESTION_CATALOGS = ("gamma-cat", "hgps", "3hwc", "2hwc", "1lhaaso")
MAX_CANDIDATES = 10


@dataclass(frozen=True)
class Match:
    name: str
    ra: float
    dec: float
    catalog: str
    matched: str  # the name or alias that matched
    via: str  # "name", "alias" or "prefix"
    row: int = -1  # row of the catalog table (for the size)


@dataclass
class Answer:
    query: str
    matches: list[Match]  # what the name means (first is best); empty when unknown
    candidates: list[Match]  # names that start with the query when it is not known exactly
    message: str
    size: SourceSize | None = None  # the source's angular size, from the preferred catalog that gives it
    size_note: str = ""  # where the size came from, or why there is none ("point-like in gamma-cat (...)")

    def to_json(self) -> dict:
        return {"query": self.query, "matches": [_public(m) for m in self.matches],
                "candidates": [_public(m) for m in self.candidates], "message": self.message,
                "size": self.size.to_json() if self.size else None, "size_note": self.size_note}


def _public(m: Match) -> dict:
    out = asdict(m)
    out.pop("row")
    return out


def _match(m: SourceMatch, via: str) -> Match:
    return Match(m.name, m.ra, m.dec, m.catalog, m.matched, via, m.index)


def _words(name: str) -> list[str]:
    return [w for w in re.split(r"[\s_]+", name.lower()) if w]


class NameService:
    """Names known on this machine, from a :class:`~portal.catalogs.CatalogRegistry`."""

    def __init__(self, registry: CatalogRegistry) -> None:
        self.registry = registry
        self._aliases = {normalize_name(k): v for k, v in COMMON_ALIASES.items()}
        self._names: list[tuple[str, str]] | None = None  # (catalog, name) of the suggestion catalogs
        self._lock = threading.Lock()
        self.sizes = SizeReader(registry)

    def _catalog_names(self) -> list[tuple[str, str]]:
        with self._lock:
            if self._names is None:
                available = set(self.registry.available())
                self._names = [(tag, n) for tag in SUGGESTION_CATALOGS if tag in available
                               for n in self.registry.names(tag)]
            return self._names

    def names(self) -> list[str]:
        """Names worth suggesting: the TeV catalogs' names and the common aliases, sorted, unique."""
        seen = {n for _tag, n in self._catalog_names()} | set(COMMON_ALIASES)
        return sorted(seen, key=str.lower)

    def resolve(self, name: str) -> Answer:
        name = name.strip()
        available = self.registry.available()
        if not available:
            where = ", ".join(str(r) for r in self.registry.roots) or "no folder (GAMMAPY_DATA is not set)"
            return Answer(name, [], [], f"no local catalog is available (looked in {where})")
        matches = self._exact(name, available)
        if matches:
            return self._found(name, matches)
        candidates = self._prefix(name)
        if len({(round(c.ra, 2), round(c.dec, 2)) for c in candidates}) == 1:
            return self._found(name, candidates)
        message = f"{name!r} is not in the local catalogs ({', '.join(available)})"
        if candidates:
            message += "; did you mean " + ", ".join(c.name for c in candidates[:5]) + "?"
        return Answer(name, [], candidates, message)

    def _found(self, name: str, matches: list[Match]) -> Answer:
        """The answer for a known source, with its size from the matches' catalogs."""
        size, note = self.sizes.best([(m.catalog, m.row, m.name) for m in matches])
        message = f"{name!r} is {matches[0].name} in {matches[0].catalog}"
        return Answer(name, matches, [], message, size, note)

    def _exact(self, name: str, available: list[str]) -> list[Match]:
        """Exact names and aliases: TeV catalogs first (the Fermi catalogs are only read if needed).

        A common alias (``"Crab"`` -> ``"Crab nebula"``) is tried before the name itself, so that the
        answer carries the source's usual name rather than a catalog designation.
        """
        alias = self._aliases.get(normalize_name(name))
        tries = [(alias, "alias"), (name, "name")] if alias else [(name, "name")]
        tev = [t for t in available if t in SUGGESTION_CATALOGS]
        others = [t for t in available if t not in SUGGESTION_CATALOGS]
        for group in (tev, others):
            for query, via in tries:
                found = self.registry.resolve(query, catalogs=group) if group else []
                if found:
                    return [_match(m, via) for m in found]
        return []

    def _prefix(self, name: str) -> list[Match]:
        """Sources whose name starts with the query's words (``"Westerlund"`` -> Westerlund 1, 2)."""
        words = _words(name)
        if not words:
            return []
        found: dict[str, Match] = {}
        for tag, catalog_name in self._catalog_names():
            cwords = _words(catalog_name)
            if len(cwords) >= len(words) and all(c.startswith(w) for c, w in zip(cwords, words)):
                if catalog_name not in found:
                    m = self.registry.resolve(catalog_name, catalogs=[tag])
                    if m:
                        found[catalog_name] = _match(m[0], "prefix")
            if len(found) >= MAX_CANDIDATES:
                break
        return list(found.values())
