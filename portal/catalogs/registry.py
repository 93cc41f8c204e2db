"""The catalog registry: which catalogs are here, names and positions, sources with their spectra."""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from portal.catalogs import fermi, gammacat, hawc, hess, lhaaso
from portal.catalogs.source import CatalogSource
from portal.catalogs.spec import CatalogSpec
from portal.seam.names import normalize_name

#: Every catalog the portal knows, in resolution priority (TeV catalogs first).
CATALOGS: dict[str, CatalogSpec] = {
    s.tag: s for s in (*gammacat.SPECS, *hess.SPECS, *hawc.SPECS[::-1], *lhaaso.SPECS, *fermi.SPECS[::-1])
}


class CatalogUnavailable(LookupError):
    """The catalog (or source) is not on this machine; the message says where it was looked for."""


@dataclass(frozen=True)
class CatalogStatus:
    tag: str
    title: str
    available: bool
    path: Path | None  # the file found, or None
    message: str  # one sentence for a person


@dataclass(frozen=True)
class SourceMatch:
    """A catalog source found by name or position."""

    catalog: str  # tag
    name: str  # the catalog's own name for it
    ra: float  # ICRS (J2000) degrees
    dec: float
    matched: str  # the name or alias that matched (the name itself for cone searches)
    index: int  # row in the catalog table
    separation: float | None = None  # degrees, for cone searches


@dataclass
class _Index:
    names: list[str]
    ra: np.ndarray
    dec: np.ndarray
    lookup: dict[str, list[tuple[int, str]]]  # normalized name or alias -> [(row, as written)]


class CatalogRegistry:
    """The catalogs found in a list of gammapy-data-like folders (the first that has a file wins)."""

    def __init__(self, roots: list[Path | None], specs: dict[str, CatalogSpec] | None = None):
        self.roots = [Path(r) for r in roots if r is not None]
        self.specs = dict(specs or CATALOGS)
        self._lock = threading.Lock()
        self._indexes: dict[str, _Index] = {}
        self._gammapy: dict[str, object] = {}
        self._loading: dict[str, threading.Lock] = {}

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None) -> "CatalogRegistry":
        """Look in ``$GAMMAPY_DATA`` then in the default dataset's download (``$PORTAL_DATA_DIR/gammapy-data``)."""
        from portal.config import Settings

        return cls.from_settings(Settings.from_env(environ if environ is not None else dict(os.environ)))

    @classmethod
    def from_settings(cls, settings) -> "CatalogRegistry":
        return cls([settings.gammapy_data, settings.data_dir / "gammapy-data"])

    # -- what is here ----------------------------------------------------------------------------
    def path(self, tag: str) -> Path | None:
        spec = self._spec(tag)
        for root in self.roots:
            if (root / spec.path).is_file():
                return root / spec.path
        return None

    def status(self) -> list[CatalogStatus]:
        """Every known catalog, available or not, with a message saying where it is or was looked for."""
        out = []
        for tag, spec in self.specs.items():
            path = self.path(tag)
            if path is not None:
                out.append(CatalogStatus(tag, spec.title, True, path, f"{spec.title}: {path}"))
            else:
                out.append(CatalogStatus(tag, spec.title, False, None, self._missing(spec)))
        return out

    def available(self) -> list[str]:
        return [tag for tag in self.specs if self.path(tag) is not None]

    def _missing(self, spec: CatalogSpec) -> str:
        where = ", ".join(str(r) for r in self.roots) or "no folder (GAMMAPY_DATA is not set)"
        return (f"{spec.title} is not available: {spec.path} was not found in {where}. Set GAMMAPY_DATA to a "
                f"gammapy-data folder, or let `portal serve` download the default dataset with its catalogs.")

    def _spec(self, tag: str) -> CatalogSpec:
        key = tag.lower()
        if key not in self.specs:
            raise CatalogUnavailable(f"unknown catalog {tag!r}; known catalogs: {', '.join(self.specs)}")
        return self.specs[key]

    # -- names and positions (astropy only) ----------------------------------------------------------
    def _index(self, tag: str) -> _Index:
        with self._lock:
            if tag not in self._indexes:
                self._indexes[tag] = self._build_index(tag)
            return self._indexes[tag]

    def _build_index(self, tag: str) -> _Index:
        from astropy.table import Table

        spec, path = self._spec(tag), self.path(tag)
        if path is None:
            raise CatalogUnavailable(self._missing(spec))
        table = Table.read(path, format="ascii.ecsv") if spec.hdu is None else Table.read(path, hdu=spec.hdu)
        names = [str(n).strip() for n in table[spec.name_column]]
        lookup: dict[str, list[tuple[int, str]]] = {}
        for row in range(len(table)):
            written = [names[row]]
            for column in spec.alias_columns:
                value = table[column][row]
                if np.ma.is_masked(value):
                    continue
                written += [v.strip() for v in str(value).split(",")]
            for alias in dict.fromkeys(w for w in written if w and w != "--"):
                lookup.setdefault(normalize_name(alias), []).append((row, alias))
        ra = np.asarray(table[spec.ra_column], dtype=float)
        dec = np.asarray(table[spec.dec_column], dtype=float)
        return _Index(names, ra, dec, lookup)

    def names(self, tag: str) -> list[str]:
        """The catalog's source names, in table order."""
        return list(self._index(tag).names)

    def resolve(self, name: str, catalogs: list[str] | None = None) -> list[SourceMatch]:
        """Sources whose name or an alias equals ``name`` (case and spaces ignored), TeV catalogs first.

        Unavailable catalogs are skipped; an empty list means no available catalog knows the name.
        """
        key = normalize_name(name)
        matches = []
        for tag in catalogs or self.available():
            if self.path(tag) is None:
                continue
            index = self._index(tag)
            for row, alias in index.lookup.get(key, []):
                matches.append(SourceMatch(tag, index.names[row], float(index.ra[row]), float(index.dec[row]),
                                           alias, row))
        return matches

    def cone(self, ra: float, dec: float, radius: float, catalogs: list[str] | None = None) -> list[SourceMatch]:
        """Sources within ``radius`` degrees of (ra, dec) ICRS, nearest first."""
        if not (0 < radius <= 180):
            raise ValueError(f"radius must be in (0, 180] degrees, not {radius}")
        found = []
        for tag in catalogs or self.available():
            if self.path(tag) is None:
                continue
            index = self._index(tag)
            sep = _separation(ra, dec, index.ra, index.dec)
            for row in np.flatnonzero(sep <= radius):
                found.append(SourceMatch(tag, index.names[row], float(index.ra[row]), float(index.dec[row]),
                                         index.names[row], int(row), float(sep[row])))
        return sorted(found, key=lambda m: m.separation)

    # -- sources with spectra (gammapy) ----------------------------------------------------------------
    def catalog(self, tag: str):
        """The gammapy ``SourceCatalog`` object (imports gammapy; cached)."""
        spec, path = self._spec(tag), self.path(tag)
        if path is None:
            raise CatalogUnavailable(self._missing(spec))
        with self._lock:
            lock = self._loading.setdefault(tag, threading.Lock())
        with lock:  # one reader per catalog; different catalogs load side by side
            if tag not in self._gammapy:
                import gammapy.catalog

                self._gammapy[tag] = getattr(gammapy.catalog, spec.gammapy_class)(filename=str(path))
            return self._gammapy[tag]

    def source(self, tag: str, name: str | int) -> CatalogSource:
        """One source by its name, an alias or its row index."""
        spec = self._spec(tag)
        index = self._index(spec.tag)
        if isinstance(name, (int, np.integer)):
            row = int(name)
        else:
            rows = index.lookup.get(normalize_name(name))
            if not rows:
                raise CatalogUnavailable(f"{spec.title} has no source named {name!r}")
            row = rows[0][0]
        return CatalogSource(spec, index.names[row], float(index.ra[row]), float(index.dec[row]), row,
                             lambda: self.catalog(spec.tag))


def _separation(ra: float, dec: float, ras: np.ndarray, decs: np.ndarray) -> np.ndarray:
    """Great-circle distances in degrees (Vincenty formula, stable at all separations)."""
    lon1, lat1, lon2, lat2 = map(np.radians, (ra, dec, ras, decs))
    dlon = lon2 - lon1
    num = np.hypot(np.cos(lat2) * np.sin(dlon),
                   np.cos(lat1) * np.sin(lat2) - np.sin(lat1) * np.cos(lat2) * np.cos(dlon))
    den = np.sin(lat1) * np.sin(lat2) + np.cos(lat1) * np.cos(lat2) * np.cos(dlon)
    return np.degrees(np.arctan2(num, den))
