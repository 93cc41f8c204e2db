"""ADQL built from each field of the ObsCore form, quoting, and the form's problems."""

import datetime as dt

import pytest

from widgets.obscore import adql
from widgets.obscore.code import pyvo_code
from widgets.obscore.form import FormError, ObsCoreForm
from widgets.obscore.services import Service, custom

HE_COLUMNS = ["obs_id", "s_region", "t_min", "t_max", "t_exptime", "energy_min", "energy_max", "zenith",
              "target_offset", "n_tels", "irf_type", "livetime", "ev_xel"]


def where(form: ObsCoreForm) -> list[str]:
    """The WHERE conditions of the form's query, one per line, without AND."""
    lines = form.adql().splitlines()[2:]
    return [line.removeprefix("WHERE ").removeprefix("  AND ") for line in lines]


def test_empty_form_selects_everything():
    assert ObsCoreForm().adql() == "SELECT *\nFROM ivoa.obscore"


@pytest.mark.parametrize("mode, condition", [
    ("fov", "1 = INTERSECTS(s_region, CIRCLE('ICRS', 83.633, 22.0145, 0.5))"),
    ("pointing", "1 = CONTAINS(POINT('ICRS', s_ra, s_dec), CIRCLE('ICRS', 83.633, 22.0145, 0.5))"),
])
def test_cone(mode, condition):
    assert where(ObsCoreForm(ra=83.633, dec=22.0145, radius=0.5, cone_mode=mode)) == [condition]


@pytest.mark.parametrize("fields, condition", [
    ({"dataproduct_type": ["event"]}, "dataproduct_type = 'event'"),
    ({"dataproduct_type": ["event", "image"]}, "dataproduct_type IN ('event', 'image')"),
    ({"data_levels": ["DL3"]}, "calib_level = 2"),
    ({"data_levels": ["DL0", "DL1", "DL2", "DL5"]}, "calib_level IN (0, 1, 4)"),
    ({"obs_collection": "hess-dl3-dr1"}, "obs_collection = 'hess-dl3-dr1'"),
    ({"facility_name": "H.E.S.S."}, "facility_name = 'H.E.S.S.'"),
    ({"instrument_name": "H.E.S.S."}, "instrument_name = 'H.E.S.S.'"),
    ({"target_name": "crab"}, "target_name ILIKE '%crab%'"),
    ({"target_name": "PKS*"}, "target_name ILIKE 'PKS%'"),
    ({"obs_ids": "23523, 23526 23559"}, "obs_id IN ('23523', '23526', '23559')"),
    ({"obs_ids": "23523"}, "obs_id = '23523'"),
    ({"proposal_id": "P-12"}, "proposal_id = 'P-12'"),
    ({"exposure_min": 600}, "t_exptime >= 600"),
    ({"exposure_max": 1800.5}, "t_exptime <= 1800.5"),
])
def test_each_field(fields, condition):
    assert where(ObsCoreForm(**fields)) == [condition]


def test_dates_are_an_overlapping_mjd_range():
    form = ObsCoreForm(date_start=dt.date(2004, 12, 4), date_end=dt.date(2004, 12, 4))
    assert where(form) == ["t_max >= 53343", "t_min <= 53344"]  # the whole day 2004-12-04


def test_energy_in_tev_on_high_energy_columns():
    form = ObsCoreForm(columns=HE_COLUMNS, energy_min=1, energy_max=10)
    assert where(form) == ["energy_max >= 1", "energy_min <= 10"]


def test_energy_in_tev_as_wavelengths_on_standard_obscore():
    form = ObsCoreForm(energy_min=1, energy_max=10)
    assert where(form) == [f"em_max >= {adql.HC_TEV_M / 10!r}", f"em_min <= {adql.HC_TEV_M!r}"]


def test_high_energy_fields():
    form = ObsCoreForm(columns=HE_COLUMNS, zenith_max=40, offset_max=1.5, n_tels_min=3,
                       irf_type="full-enclosure", livetime_min=1200, events_min=1000)
    assert where(form) == ["zenith <= 40", "target_offset <= 1.5", "n_tels >= 3", "irf_type = 'full-enclosure'",
                           "livetime >= 1200", "ev_xel >= 1000"]
    assert form.high_energy()


def test_high_energy_fields_need_the_columns():
    form = ObsCoreForm(columns=["obs_id", "s_region"], zenith_max=40)
    assert form.problems() == ["this service's table has no zenith column"]
    assert not form.high_energy()


def test_fields_combine_with_and_and_top():
    form = ObsCoreForm(table="hess_dr.obscore_sdc", ra=10, dec=-20, radius=1, dataproduct_type=["event"], top=5)
    assert form.adql() == ("SELECT TOP 5 *\nFROM hess_dr.obscore_sdc\n"
                           "WHERE 1 = INTERSECTS(s_region, CIRCLE('ICRS', 10, -20, 1))\n"
                           "  AND dataproduct_type = 'event'")


@pytest.mark.parametrize("typed", ["O'Brien", "x' OR 1=1 --", "'; DROP TABLE ivoa.obscore; --"])
def test_text_is_quoted_never_code(typed):
    condition = where(ObsCoreForm(proposal_id=typed))[0]
    assert condition == "proposal_id = '" + typed.replace("'", "''") + "'"
    assert condition.count("'") % 2 == 0


@pytest.mark.parametrize("fields, problem", [
    ({"ra": 10.0}, "the cone needs RA, Dec and a radius (or none of them)"),
    ({"ra": 400.0, "dec": 0.0, "radius": 1.0}, "RA must be between 0 and 360 degrees, not 400"),
    ({"ra": 0.0, "dec": -95.0, "radius": 1.0}, "Dec must be between -90 and +90 degrees, not -95"),
    ({"ra": 0.0, "dec": 0.0, "radius": 0.0}, "the radius must be larger than 0 and at most 180 degrees, not 0"),
    ({"ra": 0.0, "dec": 0.0, "radius": 200.0}, "the radius must be larger than 0 and at most 180 degrees, not 200"),
    ({"energy_min": 10.0, "energy_max": 1.0}, "energy min (10 TeV) is above energy max (1 TeV)"),
    ({"energy_min": -1.0}, "energy min cannot be negative (-1)"),
    ({"exposure_min": 100.0, "exposure_max": 10.0}, "exposure min (100 s) is above exposure max (10 s)"),
    ({"date_start": dt.date(2005, 1, 2), "date_end": dt.date(2005, 1, 1)},
     "the start date (2005-01-02) is after the end date (2005-01-01)"),
    ({"data_levels": ["DL9"]}, "unknown data level(s): DL9 (use DL0 to DL5)"),
    ({"table": "ivoa.obscore; DROP"}, "not a valid table or column name: 'ivoa.obscore; DROP'"),
])
def test_problems(fields, problem):
    form = ObsCoreForm(**fields)
    assert form.problems() == [problem]
    with pytest.raises(FormError) as info:
        form.adql()
    assert info.value.problems == [problem]


@pytest.mark.parametrize("text, ok, message", [
    ("1.5", True, None), ("", True, None), (" 2 ", True, None),
    ("abc", False, "Energy min (TeV): 'abc' is not a number"),
    ("inf", False, "Energy min (TeV): 'inf' is not a number"),
    ("nan", False, "Energy min (TeV): 'nan' is not a number"),
])
def test_typed_numbers(text, ok, message):
    form = ObsCoreForm()
    assert form.set_number("energy_min", text, "Energy min (TeV)") is ok
    assert form.problems() == ([] if ok else [message])


def test_typed_whole_numbers():
    form = ObsCoreForm(columns=HE_COLUMNS)
    assert not form.set_number("n_tels_min", "2.5", "Telescopes min")
    assert form.problems() == ["Telescopes min: '2.5' is not a whole number"]
    assert form.set_number("n_tels_min", "3")
    assert form.n_tels_min == 3 and form.problems() == []


def test_pyvo_code_runs_the_same_query():
    service = Service("x", "http://127.0.0.1:8000/tap")
    code = pyvo_code(service, "SELECT *\nFROM ivoa.obscore", 1000, "async")
    assert "service.run_async(query, maxrec=1000)" in code
    assert "pyvo.dal.TAPService('http://127.0.0.1:8000/tap')" in code
    assert 'query = """\nSELECT *\nFROM ivoa.obscore\n"""' in code  # readable as a block


@pytest.mark.parametrize("query", [
    "SELECT * FROM ivoa.obscore WHERE target_name = 'a\\nb'",  # a backslash in a literal
    'SELECT "quoted""" FROM t WHERE x = \'"""\'',  # triple double quotes
    'SELECT "obs_id"\nFROM ivoa.obscore',  # ends with a double quote (a delimited identifier)
    "SELECT *\nFROM ivoa.obscore\nWHERE target_name = 'Crab'",  # the usual case, a readable block
])
def test_pyvo_code_keeps_the_query_exactly(query):
    code = pyvo_code(Service("x", "http://127.0.0.1:8000/tap"), query, 10)
    assignment = next(i for i, line in enumerate(code.splitlines()) if line.startswith("query = "))
    end = next(i for i, line in enumerate(code.splitlines()) if line.startswith("results = "))
    namespace = {}
    exec("\n".join(code.splitlines()[assignment:end]), namespace)  # noqa: S102 - only the assignment
    assert namespace["query"].strip() == query.strip()


def test_custom_service_urls():
    assert custom("https://example.org/tap/sync").url == "https://example.org/tap"
    assert custom("http://x/tap", "").table == "ivoa.obscore"
    with pytest.raises(ValueError, match="starts with http"):
        custom("ftp://example.org/tap")
