"""What the registry needs to know about one catalog file."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CatalogSpec:
    """One catalog: where its file lives in a gammapy-data folder and how to read it."""

    tag: str  # registry key, as gammapy's ``SourceCatalog.tag`` (lower case)
    title: str
    description: str
    path: str  # relative to a gammapy-data folder
    gammapy_class: str  # class name in gammapy.catalog
    name_column: str
    alias_columns: tuple[str, ...] = ()  # other names (comma-separated lists are split)
    ra_column: str = "RAJ2000"
    dec_column: str = "DEJ2000"
    hdu: int | str | None = 1  # FITS HDU of the source table (None: not FITS)
    components: tuple[str, ...] = ()  # spectral components (1LHAASO: WCDA, KM2A)
    reference: str = ""
    # TeV: where the catalog's spectral models apply, when the source itself does not say
    # (per component where they differ: ``(("WCDA", 1, 25), ("KM2A", 25, 1000))``)
    energy_range: tuple[float, float] = (1.0, 100.0)
    component_ranges: tuple[tuple[str, float, float], ...] = ()
