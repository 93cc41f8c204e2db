"""The archive's coverage MOC: built from the footprints, served as JSON and FITS, rebuilt on change."""

from __future__ import annotations

import io

import astropy.units as u
import numpy as np
import pytest
from astropy.io import fits
from mocpy import MOC

from portal.coverage.moc import build_coverage, footprint, order_for


def test_footprints_are_read_by_the_archives_stcs_parser():
    circle = footprint("CIRCLE ICRS 83.6 22.0 2.5")
    assert (circle.ra, circle.dec, circle.radius) == (83.6, 22.0, 2.5)
    assert footprint("Polygon ICRS 1 2 3 4 5 6").vertices == ((1.0, 2.0), (3.0, 4.0), (5.0, 6.0))
    assert len(footprint("BOX ICRS 10 20 2 2").vertices) == 4
    for bad in ("CIRCLE ICRS nan", "CIRCLE ICRS NaN 1 2", "POINT ICRS 1 2", "CIRCLE GALACTIC 1 2 3", "", "junk"):
        assert footprint(bad) is None, bad


def test_order_decreases_with_archive_size():
    assert order_for(105) == 10
    assert order_for(1_000_000) < order_for(10_000) < order_for(1_000)


def test_circles_and_polygons():
    cov = build_coverage(["CIRCLE ICRS 83.633 22.014 2.5", "POLYGON ICRS 10 10 12 10 12 12 10 12", "junk"])
    assert cov.n_regions == 2 and cov.order == 10
    inside = cov.moc.contains_lonlat([83.633, 85.0, 11.0, 200.0] * u.deg, [22.014, 22.0, 11.0, -40.0] * u.deg)
    assert list(inside) == [True, True, True, False]
    # area of the 2.5 deg cap plus the 2x2 deg square, within the resolution of the cells
    cap = 2 * np.pi * (1 - np.cos(np.radians(2.5))) / (4 * np.pi)
    assert cov.sky_fraction == pytest.approx(cap + 4 * np.cos(np.radians(11)) / 41253, rel=0.05)


def test_empty_archive_has_empty_coverage(tmp_path):
    from tests.data.conftest import make_client

    with make_client(tmp_path) as client:
        response = client.get("/coverage/moc.json")
        assert response.status_code == 200 and response.json() == {}
        response = client.get("/coverage/moc.fits")
        assert response.status_code == 200
        fits.open(io.BytesIO(response.content)).verify("exception")


@pytest.mark.requires_data
def test_served_coverage_matches_the_archive(client):
    response = client.get("/coverage/moc.json")
    assert response.status_code == 200 and response.headers["content-type"] == "application/json"
    assert response.headers["access-control-allow-origin"] == "*"  # Aladin Lite in the Voila page fetches it
    moc = MOC.from_json(response.json())
    fits_body = client.get("/coverage/moc.fits")
    assert fits_body.headers["content-type"] == "application/fits"
    path = client.app.state.settings.data_dir / "coverage.fits"
    path.write_bytes(fits_body.content)
    assert MOC.from_fits(path) == moc
    # the DR1 targets and pointings are covered; the sky far from them is not
    lon = [83.633, 329.717, 228.53, 258.36, 0.0, 150.0] * u.deg
    lat = [22.014, -30.226, -59.16, -39.77, 80.0, 10.0] * u.deg
    assert list(moc.contains_lonlat(lon, lat)) == [True, True, True, True, False, False]
    assert 0.001 < float(response.headers["x-sky-fraction"]) < 0.05


@pytest.mark.requires_data
def test_coverage_follows_the_archive(tmp_path, tiny_release):
    from portal.archive.ingest import ingest_release
    from portal.archive.store import db_path
    from tests.data.conftest import make_client

    with make_client(tmp_path) as client:
        assert client.get("/coverage/moc.json").json() == {}
        ingest_release(db_path(tmp_path), tiny_release.path)
        moc = MOC.from_json(client.get("/coverage/moc.json").json())
        assert moc.contains_lonlat(83.633 * u.deg, 22.014 * u.deg)[0]
