"""Sky maps of the Crab field (H.E.S.S. DR1): the source where it should be, noise elsewhere."""

from __future__ import annotations

import logging

import numpy as np
import pytest
from astropy.coordinates import SkyCoord

from tests.jobs.conftest import CRAB, CRAB_RUNS

pytestmark = pytest.mark.requires_data


@pytest.fixture(scope="module")
def crab_maps(crab_observations):
    from portal.jobs.observations import target_coord
    from portal.jobs.skymap import make_maps

    return make_maps(crab_observations, target_coord(*CRAB), width=4.0, binsz=0.02, e_min=0.5, e_max=100.0,
                     correlation_radius=0.1, log=logging.getLogger("tests.jobs.skymap"))


def test_the_crab_is_the_peak_of_the_significance_map(crab_maps):
    significance = crab_maps.significance
    peak = np.unravel_index(np.nanargmax(significance.data), significance.data.shape)
    lon, lat = significance.geom.pix_to_coord(peak[::-1])
    position = SkyCoord(lon, lat, frame="icrs")
    assert position.separation(SkyCoord(*CRAB, unit="deg")).deg < 0.05
    assert significance.data[peak] > 20
    assert crab_maps.excess.data[peak] > 100


def test_away_from_sources_the_significance_is_noise(crab_maps):
    significance = crab_maps.significance
    separation = significance.geom.get_coord().skycoord.separation(SkyCoord(*CRAB, unit="deg")).deg
    background = significance.data[(separation > 0.5) & (separation < 1.8) & np.isfinite(significance.data)]
    assert background.size > 10_000
    assert abs(np.mean(background)) < 0.3  # the field-of-view background is normalised
    assert 0.7 < np.std(background) < 1.3


def test_maps_are_images_on_the_requested_grid(crab_maps):
    for image in crab_maps.images().values():
        assert image.geom.data_shape == (200, 200)
        assert image.geom.center_skydir.separation(SkyCoord(*CRAB, unit="deg")).deg < 0.02
    assert crab_maps.counts.data.sum() == crab_maps.dataset.counts.data[crab_maps.dataset.mask_safe.data].sum()
    assert crab_maps.counts.data.sum() > 5000


def test_skymap_job_publishes_fits_and_a_preview(tmp_path, dr1):
    from gammapy.maps import Map

    from portal.jobs import skymap
    from tests.jobs.local_context import LocalContext

    ctx = LocalContext(dr1, tmp_path / "job")
    skymap.run(ctx, {"obs_ids": CRAB_RUNS[:2], "ra": CRAB[0], "dec": CRAB[1], "width": 2.0, "binsz": 0.05,
                     "e_min": 1.0, "e_max": 100.0, "correlation_radius": 0.1})
    assert set(ctx.published) == {"counts", "excess", "significance", "preview", "inputs"}
    significance = Map.read(ctx.published["significance"][-1])
    assert significance.geom.data_shape == (40, 40) and np.nanmax(significance.data) > 10
    assert ctx.published["preview"][-1].read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert {attrs.get("obs_id") for _, role, attrs in ctx.inputs if role == "dl3"} == set(CRAB_RUNS[:2])
