"""Fermi-LAT catalogs: 3FGL (0.1-300 GeV), 2FHL (50 GeV-2 TeV), 3FHL (10 GeV-2 TeV)."""

from portal.catalogs.spec import CatalogSpec

SPECS = (
    CatalogSpec(
        tag="3fgl", title="Fermi-LAT 3FGL", description="Third Fermi-LAT source catalog, 0.1-300 GeV",
        path="catalogs/fermi/gll_psc_v16.fit.gz", gammapy_class="SourceCatalog3FGL",
        name_column="Source_Name",
        alias_columns=("Extended_Source_Name", "ASSOC_TEV", "ASSOC1", "ASSOC2", "0FGL_Name", "1FGL_Name",
                       "2FGL_Name", "1FHL_Name"),
        reference="Acero et al. 2015, ApJS 218, 23", energy_range=(1e-4, 0.3),
    ),
    CatalogSpec(
        tag="2fhl", title="Fermi-LAT 2FHL", description="Second Fermi-LAT catalog of high-energy sources, 50 GeV-2 TeV",
        path="catalogs/fermi/gll_psch_v08.fit.gz", gammapy_class="SourceCatalog2FHL",
        name_column="Source_Name", alias_columns=("ASSOC", "3FGL_Name", "1FHL_Name", "TeVCat_Name"),
        reference="Ackermann et al. 2016, ApJS 222, 5", energy_range=(0.05, 2.0),
    ),
    CatalogSpec(
        tag="3fhl", title="Fermi-LAT 3FHL", description="Third Fermi-LAT catalog of high-energy sources, 10 GeV-2 TeV",
        path="catalogs/fermi/gll_psch_v13.fit.gz", gammapy_class="SourceCatalog3FHL",
        name_column="Source_Name", alias_columns=("ASSOC1", "ASSOC2", "ASSOC_TEV", "ASSOC_GAM"),
        reference="Ajello et al. 2017, ApJS 232, 18", energy_range=(0.01, 2.0),
    ),
)
