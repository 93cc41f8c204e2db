"""gamma-cat: the open TeV source catalog (compiled from the literature)."""

from portal.catalogs.spec import CatalogSpec

SPECS = (
    CatalogSpec(
        tag="gamma-cat", title="gamma-cat", description="Open TeV gamma-ray source catalog (literature compilation)",
        path="catalogs/gammacat/gammacat.fits.gz", gammapy_class="SourceCatalogGammaCat",
        name_column="common_name", alias_columns=("gamma_names", "fermi_names", "other_names", "tevcat_name"),
        ra_column="ra", dec_column="dec",
        reference="https://github.com/gammapy/gamma-cat",
    ),
)
