"""LHAASO: the first LHAASO catalog (1LHAASO), WCDA (1-25 TeV) and KM2A (above 25 TeV) components."""

from portal.catalogs.spec import CatalogSpec

SPECS = (
    CatalogSpec(
        tag="1lhaaso", title="1LHAASO", description="First LHAASO catalog, 90 sources above 1 TeV",
        path="catalogs/1LHAASO_catalog.fits", gammapy_class="SourceCatalog1LHAASO",
        name_column="Source_Name", alias_columns=("ASSO_Name",), dec_column="DECJ2000",
        components=("WCDA", "KM2A"), reference="Cao et al. 2024, ApJS 271, 25",
        energy_range=(1.0, 1000.0), component_ranges=(("WCDA", 1.0, 25.0), ("KM2A", 25.0, 1000.0)),
    ),
)
