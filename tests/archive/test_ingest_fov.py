"""ObsCore values that must not mislead a search: the field of view where the events and the IRFs are
valid together, and the target's offset wherever the release gives the object's position."""


import pytest

from portal.archive import store
from portal.archive.ingest import ingest_release
from tests.archive.conftest import query
from tests.archive.releases import WIDE_OBJECT, WIDE_POINTING, wide_irf_release


def ingested(tmp_path, **options) -> dict:
    release = wide_irf_release(tmp_path / "wide", **options)
    db = tmp_path / store.DB_NAME
    assert ingest_release(db, release) == 1
    names, rows = query(db, "SELECT * FROM ivoa.obscore")
    return dict(zip(names, rows[0]))


def found_by(db, ra: float, dec: float, radius: float) -> bool:
    _, rows = query(db, f"SELECT obs_id FROM ivoa.obscore WHERE 1 = INTERSECTS(s_region, CIRCLE('ICRS', {ra}, {dec}, "
                        f"{radius}))")
    return bool(rows)


def test_effective_area_to_10_deg_with_events_to_1_75_deg(tmp_path):
    row = ingested(tmp_path)
    assert row["s_fov"] == pytest.approx(3.5, abs=0.02)  # not 20: the events reach 1.75 deg
    assert row["s_region"] == f"CIRCLE ICRS {WIDE_POINTING[0]} {WIDE_POINTING[1]} 1.75"
    db = tmp_path / store.DB_NAME
    ra, dec = WIDE_POINTING
    assert found_by(db, ra, dec + 2.0, 0.3)  # the field of view's edge at 1.75 deg is within the cone
    assert not found_by(db, ra, dec + 5.0, 0.5)  # 5 deg away: outside the camera
    assert not found_by(db, ra, dec - 8.0, 1.0)


def test_the_irfs_bound_the_field_of_view(tmp_path):
    """Events beyond the IRFs' offset range are not a field of view an analysis can use."""
    assert ingested(tmp_path / "aeff", irf_offsets=(0.0, 1.2))["s_fov"] == pytest.approx(2.4)
    # every IRF counts: an energy dispersion tabulated to 1 deg bounds it although the effective area goes on
    row = ingested(tmp_path / "edisp", edisp_offsets=(0.0, 0.5, 1.0))
    assert row["s_fov"] == pytest.approx(2.0) and row["s_region"].endswith(" 1.0")


@pytest.mark.parametrize("object_in", ["index", "header"])
def test_target_offset_from_the_object_position_in_the_index_or_the_header(tmp_path, object_in):
    row = ingested(tmp_path, object_in=object_in)
    assert row["target_offset"] == pytest.approx(0.5, abs=1e-6)
    assert (row["target_ra"], row["target_dec"]) == pytest.approx(WIDE_OBJECT)


def test_no_object_position_no_target_offset(tmp_path):
    row = ingested(tmp_path, object_in=None)
    assert row["target_offset"] is None and row["target_ra"] is None
