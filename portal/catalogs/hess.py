"""H.E.S.S. Galactic Plane Survey catalog (HGPS), above about 1 TeV."""

from portal.catalogs.spec import CatalogSpec

SPECS = (
    CatalogSpec(
        tag="hgps", title="H.E.S.S. HGPS", description="H.E.S.S. Galactic plane survey, 78 sources",
        path="catalogs/hgps_catalog_v1.fits.gz", gammapy_class="SourceCatalogHGPS",
        name_column="Source_Name", alias_columns=("Identified_Object",), hdu="HGPS_SOURCES",
        reference="H.E.S.S. Collaboration 2018, A&A 612, A1",
    ),
)
