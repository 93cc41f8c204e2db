"""The angular size of a catalog source, where its catalog gives one (astropy only, no gammapy).

One reader per catalog family, keyed by tag (as the registry is):

- HGPS: ``Spatial_Model`` with ``Size`` (Gaussian sigma, or a shell's outer radius) and ``RSpec``,
  the radius of the region the H.E.S.S. collaboration extracted the source's spectrum from. A
  ``Point-Like`` source, or one with only an upper limit on its size (``Size_UL``), is point-like.
- gamma-cat: ``morph_type`` with ``morph_sigma`` (Gaussian sigma, the larger of ``morph_sigma`` and
  ``morph_sigma2`` when elongated; a shell's outer radius, as gammapy reads it). ``point`` is
  point-like; ``none`` says nothing.
- 1LHAASO: ``r39`` / ``r39_b`` (the 39 % containment radius of a 2D Gaussian, i.e. its sigma) of
  either component; only upper limits (``r39_ul``) mean point-like.
- 3FGL, 2FHL, 3FHL: the ``ExtendedSources`` table (``Model_Form``, ``Model_SemiMajor``, read as
  gammapy reads it: the sigma of a Gaussian, the radius of a disk or ring, the extent of a map);
  every other source of these catalogs is modelled as a point source.

HAWC's catalogs give no measured extension (``search_radius`` is the hypothesis of the search),
so they say nothing here.
"""

from __future__ import annotations

import threading
from typing import Callable

import numpy as np

from portal.seam.names import normalize_name
from portal.seam.sizes import SourceSize

__all__ = ["POINT", "SIZE_PRIORITY", "SizeReader", "SourceSize"]

POINT = "point"  # the catalog models the source as point-like
#: Which catalog's size is preferred when several know the source: the H.E.S.S. survey (same
#: instrument as the DR1 data, and it gives its own spectrum region), then the TeV literature,
#: then LHAASO, then Fermi-LAT (GeV extensions).
SIZE_PRIORITY = ("hgps", "gamma-cat", "1lhaaso", "3fhl", "2fhl", "3fgl")
LABELS = {"hgps": "HGPS", "gamma-cat": "gamma-cat", "1lhaaso": "1LHAASO", "3fhl": "3FHL", "2fhl": "2FHL",
          "3fgl": "3FGL"}
FERMI_EXTENDED_HDU = {"3fgl": "ExtendedSources", "2fhl": "Extended Sources", "3fhl": "ExtendedSources"}


def _value(table, column: str, row: int) -> float | None:
    """A finite, unmasked, positive number of the table, else None."""
    if column not in table.colnames:
        return None
    value = table[column][row]
    if np.ma.is_masked(value):
        return None
    value = float(getattr(value, "value", value))
    return value if np.isfinite(value) and value > 0 else None


def _text(table, column: str, row: int) -> str:
    if column not in table.colnames or np.ma.is_masked(table[column][row]):
        return ""
    value = table[column][row]
    return (value.decode() if isinstance(value, bytes) else str(value)).strip()


def _hgps(table, row: int, name: str, _extra):
    model = _text(table, "Spatial_Model", row).lower()
    size = _value(table, "Size", row)
    if model == "point-like" or size is None:
        return POINT
    kind = "shell" if model == "shell" else "gaussian"
    return SourceSize(size, kind, "hgps", LABELS["hgps"], name, "Size", _value(table, "RSpec", row))


def _gammacat(table, row: int, name: str, _extra):
    model = _text(table, "morph_type", row).lower()
    if model == "point":
        return POINT
    sigma = [s for s in (_value(table, "morph_sigma", row), _value(table, "morph_sigma2", row)) if s]
    if model not in ("gauss", "shell") or not sigma:
        return None  # "none": the literature gives no morphology
    kind = "gaussian" if model == "gauss" else "shell"
    return SourceSize(max(sigma), kind, "gamma-cat", LABELS["gamma-cat"], name, "morph_sigma")


def _lhaaso(table, row: int, name: str, _extra):
    sizes = {c: _value(table, c, row) for c in ("r39", "r39_b")}
    given = {c: v for c, v in sizes.items() if v}
    if not given:
        return POINT if any(_value(table, c, row) for c in ("r39_ul", "r39_ul_b")) else None
    column = max(given, key=given.get)
    return SourceSize(given[column], "gaussian", "1lhaaso", LABELS["1lhaaso"], name, column)


FERMI_MODELS = {"2d gaussian": "gaussian", "elliptical 2d gaussian": "gaussian", "2d gaussian x2": "gaussian",
                "disk": "disk", "elliptical disk": "disk", "ring": "ring", "map": "map"}


def _fermi(tag: str):
    def read(table, row: int, name: str, extended) -> SourceSize | str:
        keys = {normalize_name(_text(table, "Source_Name", row)), normalize_name(_text(table, "Extended_Source_Name", row))} - {""}
        found = next((r for k in keys for r in extended.get(k, [])), None)
        if found is None:
            return POINT  # the LAT catalogs model every other source as point-like
        form, semi_major = found
        return SourceSize(semi_major, FERMI_MODELS.get(form.lower(), "map"), tag, LABELS[tag], name,
                          "Model_SemiMajor")
    return read


READERS: dict[str, Callable] = {"hgps": _hgps, "gamma-cat": _gammacat, "1lhaaso": _lhaaso,
                                **{tag: _fermi(tag) for tag in FERMI_EXTENDED_HDU}}


class SizeReader:
    """Sizes of the sources of a :class:`~portal.catalogs.CatalogRegistry`'s catalogs (tables cached)."""

    def __init__(self, registry) -> None:
        self.registry = registry
        self._tables: dict[str, tuple] = {}
        self._lock = threading.Lock()

    def size(self, tag: str, row: int, name: str) -> SourceSize | str | None:
        """The source's size, :data:`POINT` when the catalog models it as point-like, None when the
        catalog says nothing (or is not here)."""
        reader = READERS.get(tag)
        if reader is None or self.registry.path(tag) is None:
            return None
        table, extended = self._table(tag)
        return reader(table, int(row), name, extended)

    def _table(self, tag: str) -> tuple:
        with self._lock:
            if tag not in self._tables:
                self._tables[tag] = self._read(tag)
            return self._tables[tag]

    def _read(self, tag: str) -> tuple:
        from astropy.table import Table

        spec, path = self.registry.specs[tag], self.registry.path(tag)
        table = Table.read(path, format="ascii.ecsv") if spec.hdu is None else Table.read(path, hdu=spec.hdu)
        extended: dict[str, list[tuple[str, float]]] = {}
        if tag in FERMI_EXTENDED_HDU:
            ext = Table.read(path, hdu=FERMI_EXTENDED_HDU[tag])
            for row in range(len(ext)):
                semi_major = _value(ext, "Model_SemiMajor", row)
                if semi_major is not None:
                    extended.setdefault(normalize_name(_text(ext, "Source_Name", row)), []).append(
                        (_text(ext, "Model_Form", row), semi_major))
        return table, extended

    def best(self, found: list[tuple[str, int, str]]) -> tuple[SourceSize | None, str]:
        """The preferred size among catalog rows ``(tag, row, name)`` of one source, and a sentence.

        The first catalog of :data:`SIZE_PRIORITY` that says something decides: its size, or None
        when it models the source as point-like.
        """
        ranked = sorted(found, key=lambda f: SIZE_PRIORITY.index(f[0]) if f[0] in SIZE_PRIORITY else 99)
        for tag, row, name in ranked:
            size = self.size(tag, row, name)
            if isinstance(size, SourceSize):
                return size, size.describe()
            if size == POINT:
                return None, f"point-like in {LABELS.get(tag, tag)} ({name})"
        return None, "no local catalog gives its size"
