"""The SED's legend and counterparts, without a browser or a server: the best match of each catalog family is
switched on, the others are listed and switched off; the legend folds away, counts its layers and keeps each
source in its place whatever its toggles say."""

from __future__ import annotations

import pytest

from tests.conftest import gammapy_data
from widgets.background import Background
from widgets.client import PortalClient
from widgets.sed import SEDPlot
from widgets.sed.catalogs import best_of_families, family

pytestmark = pytest.mark.requires_data

# what /catalogs/cone answers for the Crab within 0.5 deg (nearest first; positions of the catalogs' own)
CRAB_CONE = [
    {"tag": "gamma-cat", "name": "Crab nebula", "separation": 0.0009},
    {"tag": "3fhl", "name": "3FHL J0534.5+2201", "separation": 0.0043},
    {"tag": "3fgl", "name": "3FGL J0534.5+2201i", "separation": 0.0051},
    {"tag": "3fgl", "name": "3FGL J0534.5+2201s", "separation": 0.0051},
    {"tag": "2fhl", "name": "2FHL J0534.5+2201", "separation": 0.0066},
    {"tag": "3fgl", "name": "3FGL J0534.5+2201", "separation": 0.0089},
    {"tag": "2hwc", "name": "2HWC J0534+220", "separation": 0.0125},
    {"tag": "1lhaaso", "name": "1LHAASO J0534+2200u", "separation": 0.0170},
    {"tag": "3hwc", "name": "3HWC J0534+220", "separation": 0.0214},
]


def test_families_group_the_catalogs_of_one_instrument():
    assert family("3hwc") == family("2HWC") == "HAWC"
    assert family("3fgl") == family("4fgl") != family("3fhl") != family("2fhl")
    assert family("gamma-cat") == "gamma-cat" and family("1lhaaso") == "LHAASO" and family("new") == "new"


def test_the_best_of_each_family_nearest_first_newest_catalog_preferred():
    best = best_of_families(CRAB_CONE)
    assert [c["name"] for c in best] == ["Crab nebula", "3FHL J0534.5+2201", "3FGL J0534.5+2201i",
                                        "2FHL J0534.5+2201", "1LHAASO J0534+2200u", "3HWC J0534+220"]
    # within a family: the nearer source of the same catalog wins, whatever the order it came in
    swapped = [CRAB_CONE[5], CRAB_CONE[2]]
    assert best_of_families(swapped) == [CRAB_CONE[2]]
    # a newer catalog of the family wins over a nearer match in the older one
    assert best_of_families([{"tag": "3fgl", "name": "a", "separation": 0.01},
                             {"tag": "4fgl", "name": "b", "separation": 0.05}])[0]["name"] == "b"
    assert best_of_families([]) == []


@pytest.fixture(scope="module")
def crab_points():
    from gammapy.estimators import FluxPoints

    return FluxPoints.read(gammapy_data() / "estimators/crab_hess_fp/crab_hess_fp.fits")


@pytest.fixture
def sed():
    plot = SEDPlot(client=PortalClient("http://127.0.0.1:9", token="x"), background=Background())
    yield plot
    plot.state.background.idle()


def catalog_source(sed, points, name, shown):
    """Layers of a catalog source as Counterparts makes them (points shown, or listed and switched off)."""
    layers = sed.state.points_layers(points, name, key=f"3fgl/{name}", group=name, origin="catalog")
    for layer in layers:
        layer.visible, layer.extra, layer.auto = shown, not shown, True
    sed.state.put(layers)
    return layers


def test_the_legend_counts_and_folds(sed, crab_points):
    legend = sed.legend
    assert legend.title == "Layers (0)" and not legend.collapsed and legend.body.layout.display is None
    sed.add_flux_points(crab_points, label="H.E.S.S.")
    assert legend.title == "Layers (2) · 2 shown"  # the points and their likelihood profiles
    sed.set_visible("file/H.E.S.S./profiles", False)
    assert legend.title == "Layers (2) · 1 shown" and legend.toggles()["file/H.E.S.S./profiles"] is False
    legend.header.click()  # as the page does
    assert legend.collapsed and legend.body.layout.display == "none" and legend.header.description.startswith("▸")
    sed.add_flux_points(crab_points, label="more")  # folded, it keeps counting
    assert legend.header.description == "▸ Layers (4) · 3 shown"
    legend.header.click()
    assert not legend.collapsed and legend.body.layout.display is None
    assert SEDPlot(client=sed.state.client, background=sed.state.background,
                   legend_collapsed=True).legend.body.layout.display == "none"


def test_counterparts_switched_off_are_listed_apart_and_stay_there(sed, crab_points):
    sed.add_flux_points(crab_points, label="H.E.S.S.")
    catalog_source(sed, crab_points, "3FGL J0534.5+2201i", shown=True)
    catalog_source(sed, crab_points, "3FGL J0534.5+2201", shown=False)
    sections = sed.legend.sections()
    assert sections == {"main": ["3FGL J0534.5+2201i", "H.E.S.S."], "other": ["3FGL J0534.5+2201"]}
    assert not any(sed.state.layer(k).visible for k in ("3fgl/3FGL J0534.5+2201/points",
                                                         "3fgl/3FGL J0534.5+2201/profiles"))
    box = sed.legend._boxes["3fgl/3FGL J0534.5+2201/points"]
    box.value = True  # the user switches a listed counterpart on: it is drawn, and keeps its place
    assert sed.state.layer("3fgl/3FGL J0534.5+2201/points").visible
    assert sed.plot.marks_of("3fgl/3FGL J0534.5+2201/points").dots.visible
    assert sed.legend.sections() == sections
    texts = [child.value for child in sed.legend.body.children if hasattr(child, "value")]
    assert any("Other counterparts" in str(text) for text in texts)


def test_the_jobs_points_are_drawn_on_top_larger_than_catalogs(sed, crab_points):
    catalog = catalog_source(sed, crab_points, "3FGL J0534.5+2201i", shown=True)
    job = sed.state.points_layers(crab_points, "flux points", key="job", group="Crab: spectrum job 1", origin="job")
    sed.state.put(job)
    sed.add_flux_points(crab_points, label="H.E.S.S.")
    points = [layer.key for layer in sed.layers if layer.kind == "points"]
    assert points[-1] == "job/points" and points[0] == catalog[-1].key  # catalogs first, the job's last (on top)
    marks = sed.plot.figure.marks
    job_dots, catalog_dots = sed.plot.marks_of("job/points").dots, sed.plot.marks_of(catalog[-1].key).dots
    assert marks.index(job_dots) > marks.index(catalog_dots)
    assert job_dots.default_size > 2 * catalog_dots.default_size and job_dots.stroke == "white"
    assert catalog_dots.opacities[0] < 1 and job_dots.opacities[0] == 1


def test_a_bin_with_a_flat_profile_draws_no_column():
    """A bin with no events has a flat likelihood profile: drawn, it was a full-height ΔTS = 0 column that said
    nothing and hid the points (a joint fit's lowest bin below the instruments' thresholds)."""
    import numpy as np
    from gammapy.estimators import FluxPoints

    from widgets.sed.points import profile_grid

    crab_points = FluxPoints.read(gammapy_data() / "estimators/crab_hess_fp/crab_hess_fp.fits")  # changed below
    before = profile_grid(crab_points, "e2dnde", "TeV")
    drawn = [i for i in range(len(before.dts)) if np.isfinite(before.dts[i]).any()]
    assert len(drawn) >= 3
    flat = drawn[0]
    crab_points.stat_scan.data[flat] = 7.0  # that bin's profile made flat
    after = profile_grid(crab_points, "e2dnde", "TeV")
    assert not np.isfinite(after.dts[flat]).any()
    others = [i for i in range(len(before.dts)) if i != flat]
    assert np.array_equal(np.isfinite(after.dts[others]), np.isfinite(before.dts[others]))
