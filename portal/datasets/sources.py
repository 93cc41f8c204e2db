"""The sources of the simulated dataset: positions, morphologies and published spectra.

Each entry follows a published H.E.S.S. measurement (the same references gamma-cat lists), so that
the simulated sky looks like the real one. The gammapy models are built only when a simulation
runs (:meth:`SimulatedSource.sky_model`), so importing this module is cheap.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal

Site = Literal["north", "south"]


@dataclass(frozen=True)
class SimulatedSource:
    """A source of the simulated sky, as a plain description (no gammapy objects)."""

    name: str  # OBJECT / target_name, as an astronomer writes it
    tag: str  # short id, used in file names
    ra: float  # ICRS degrees
    dec: float
    site: Site  # the CTAO site that observes it best (culminates closest to zenith)
    spectral: dict[str, Any]  # gammapy spectral model: {"type": ..., parameter: value}
    spatial: dict[str, Any] = field(default_factory=lambda: {"type": "PointSpatialModel"})
    wobble: float = 0.5  # degrees between pointing and source
    reference: str = ""

    def sky_model(self):
        """The gammapy SkyModel of this source (imports gammapy)."""
        import astropy.units as u
        from gammapy.modeling.models import Model, SkyModel

        spectral = dict(self.spectral)
        spectral_model = Model.create(spectral.pop("type"), "spectral", **spectral)
        spatial = dict(self.spatial)
        kind = spatial.pop("type")
        spatial_model = Model.create(
            kind, "spatial", lon_0=self.ra * u.deg, lat_0=self.dec * u.deg, frame="icrs", **spatial
        )
        return SkyModel(spectral_model=spectral_model, spatial_model=spatial_model, name=self.tag)


TEV = "cm-2 s-1 TeV-1"

#: The four well-known sources of the default simulated dataset.
SOURCES: tuple[SimulatedSource, ...] = (
    SimulatedSource(
        name="Crab Nebula",
        tag="crab",
        ra=83.63308,
        dec=22.01450,
        site="north",
        spectral={"type": "PowerLawSpectralModel", "index": 2.63, "amplitude": f"3.45e-11 {TEV}",
                  "reference": "1 TeV"},
        reference="H.E.S.S. power law, Aharonian et al. 2006, A&A 457, 899",
    ),
    SimulatedSource(
        name="PKS 2155-304",
        tag="pks2155",
        ra=329.71694,
        dec=-30.22559,
        site="south",
        spectral={"type": "PowerLawSpectralModel", "index": 3.32, "amplitude": f"1.96e-12 {TEV}",
                  "reference": "1 TeV"},
        reference="H.E.S.S. 2002-2003 average, Aharonian et al. 2005, A&A 430, 865",
    ),
    SimulatedSource(
        name="MSH 15-52",
        tag="msh1552",
        ra=228.32080,
        dec=-59.08170,
        site="south",
        spectral={"type": "PowerLawSpectralModel", "index": 2.27, "amplitude": f"5.7e-12 {TEV}",
                  "reference": "1 TeV"},
        # elliptical Gaussian 6.4' x 2.3' (sigma), position angle 41 deg
        spatial={"type": "GaussianSpatialModel", "sigma": "0.1067 deg", "e": 0.935, "phi": "41 deg"},
        reference="Aharonian et al. 2005, A&A 435, L17",
    ),
    SimulatedSource(
        name="RX J1713.7-3946",
        tag="rxj1713",
        ra=258.11249,
        dec=-39.68670,
        site="south",
        spectral={"type": "ExpCutoffPowerLawSpectralModel", "index": 2.06,
                  "amplitude": f"2.3e-11 {TEV}", "reference": "1 TeV", "lambda_": "0.0775 TeV-1"},
        spatial={"type": "ShellSpatialModel", "radius": "0.4 deg", "width": "0.2 deg"},
        wobble=0.7,
        reference="H.E.S.S. 2018, A&A 612, A6 (shell of about 0.6 deg outer radius)",
    ),
)


#: Sources for tests and benchmarks, not in the default dataset.
EXTRA_SOURCES: tuple[SimulatedSource, ...] = (
    # A known log-parabola (the joint-crab paper's joint Crab fit, Nigro et al. 2019: alpha 2.51, beta 0.24 in
    # log10, that is 0.1026 in gammapy's natural-log convention) at a tenth of the Crab's flux, in a field with no
    # catalogued source: with short runs it gives the few counts per run of a small telescope (FACT's Crab runs).
    SimulatedSource(
        name="Faint log-parabola",
        tag="faint-lp",
        ra=120.0,
        dec=22.0,
        site="north",
        spectral={"type": "LogParabolaSpectralModel", "alpha": 2.51, "beta": 0.1026,
                  "amplitude": f"3.85e-12 {TEV}", "reference": "1 TeV"},
        reference="a tenth of the joint Crab fit of Nigro et al. 2019, A&A 625, A10",
    ),
)


def source_by_tag(tag: str) -> SimulatedSource:
    for source in SOURCES + EXTRA_SOURCES:
        if source.tag == tag:
            return source
    raise KeyError(f"no simulated source {tag!r}; known: {', '.join(s.tag for s in SOURCES + EXTRA_SOURCES)}")
