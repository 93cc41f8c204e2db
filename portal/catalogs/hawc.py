"""HAWC catalogs: 2HWC and 3HWC (power laws at 7 TeV; HAWC is sensitive from about 1 to 100 TeV)."""

from portal.catalogs.spec import CatalogSpec

SPECS = (
    CatalogSpec(
        tag="2hwc", title="HAWC 2HWC", description="Second HAWC catalog, 507 days",
        path="catalogs/2HWC.ecsv", gammapy_class="SourceCatalog2HWC", name_column="source_name",
        ra_column="ra", dec_column="dec", hdu=None, reference="Abeysekara et al. 2017, ApJ 843, 40",
        energy_range=(1.0, 100.0),
    ),
    CatalogSpec(
        tag="3hwc", title="HAWC 3HWC", description="Third HAWC catalog, 1523 days",
        path="catalogs/3HWC.ecsv", gammapy_class="SourceCatalog3HWC", name_column="source_name",
        ra_column="ra", dec_column="dec", hdu=None, reference="Albert et al. 2020, ApJ 905, 76",
        energy_range=(1.0, 100.0),
    ),
)
