"""Source catalogs for name resolution and SEDs, one module per catalog family, behind a registry.

Like ``gammapy.catalog``: each catalog is known by a tag (``3fgl``, ``2fhl``, ``3fhl``, ``hgps``,
``gamma-cat``, ``2hwc``, ``3hwc``, ``1lhaaso``) and found in ``$GAMMAPY_DATA/catalogs`` or in the
download of the default dataset (``$PORTAL_DATA_DIR/gammapy-data/catalogs``). A missing catalog is
reported in plain words, never as a crash. Names and positions are read with astropy (fast, no
gammapy import); spectral models and flux points come from gammapy's SourceCatalog classes,
imported only when asked for. Usage::

    from portal.catalogs import CatalogRegistry
    reg = CatalogRegistry.from_env()
    reg.status()                      # every catalog: available or why not
    reg.resolve("Crab")               # [SourceMatch(catalog='3fgl', name='3FGL J0534.5+2201', ra=..., ...)]
    reg.cone(83.63, 22.01, 0.5)       # sources within 0.5 deg, nearest first
    src = reg.source("hgps", "HESS J1514-591")
    src.spectral_model(); src.flux_points()   # gammapy objects (None when the catalog has none)
"""

from portal.catalogs.registry import (
    CATALOGS,
    CatalogRegistry,
    CatalogSource,
    CatalogSpec,
    CatalogStatus,
    CatalogUnavailable,
    SourceMatch,
    normalize_name,
)

__all__ = [
    "CATALOGS",
    "CatalogRegistry",
    "CatalogSource",
    "CatalogSpec",
    "CatalogStatus",
    "CatalogUnavailable",
    "SourceMatch",
    "normalize_name",
]
