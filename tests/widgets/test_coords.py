"""Positions and radii typed by a person: accepted forms and the messages for bad values."""

import pytest

from widgets.target.coords import (
    InputError,
    galactic_name_position,
    looks_like_position,
    parse_position,
    parse_radius,
)

CRAB = (83.6331, 22.0145)


@pytest.mark.parametrize("text", [
    "83.6331 22.0145", "83.6331, +22.0145", "83.6331d 22.0145d", "83.6331° +22.0145°", "icrs 83.6331 22.0145",
    "05:34:31.94 +22:00:52.2", "05h34m31.94s +22d00m52.2s", "05 34 31.94 +22 00 52.2",
])
def test_equatorial_forms(text):
    assert looks_like_position(text)
    coord = parse_position(text)
    assert coord.ra.deg == pytest.approx(CRAB[0], abs=2e-4)
    assert coord.dec.deg == pytest.approx(CRAB[1], abs=2e-4)


@pytest.mark.parametrize("text", ["gal 184.5575 -5.7843", "l=184.5575 b=-5.7843", "184.5575 -5.7843 galactic"])
def test_galactic_forms_become_icrs(text):
    assert looks_like_position(text)
    coord = parse_position(text)
    assert coord.ra.deg == pytest.approx(CRAB[0], abs=2e-3)
    assert coord.dec.deg == pytest.approx(CRAB[1], abs=2e-3)


@pytest.mark.parametrize("name", ["Crab", "Crab Nebula", "PKS 2155-304", "MSH 15-52", "RX J1713.7-3946",
                                  "M 1", "3C 273", "1ES 0414+009", "47 Tuc NW", "G346.1+0.0", "Sgr A*"])
def test_names_are_not_positions(name):
    assert not looks_like_position(name)


def test_galactic_name_gives_position():
    coord = galactic_name_position("G346.1+0.0")
    gal = coord.galactic
    assert gal.l.deg == pytest.approx(346.1, abs=1e-6) and gal.b.deg == pytest.approx(0.0, abs=1e-6)
    assert galactic_name_position("Crab") is None


@pytest.mark.parametrize("text, words", [
    ("400 22", "RA must be between 0 and 360"),
    ("83 95", "Dec must be between -90 and .90"),
    ("83 -91.5", "Dec must be between -90 and .90"),
    ("gal 370 5", "Galactic longitude l must be between 0 and 360"),
    ("gal 10 -95", "Galactic latitude b must be between -90 and .90"),
    ("25:00:00 +10:00:00", "cannot read '25:00:00'"),
    ("83", "give two coordinates"),
    ("", "type a target name or a position"),
])
def test_position_errors(text, words):
    with pytest.raises(InputError, match=words):
        parse_position(text)


@pytest.mark.parametrize("text, deg", [
    ("0.5 deg", 0.5), ("30 arcmin", 0.5), ("30'", 0.5), ("2°", 2.0), ("1.5", 1.5), ("90 arcsec", 0.025),
    ('36"', 0.01), ("180 deg", 180.0), (0.25, 0.25),
])
def test_radius_units(text, deg):
    assert parse_radius(text).deg == pytest.approx(deg)


@pytest.mark.parametrize("text, words", [
    ("0", "larger than zero"), ("0 deg", "larger than zero"), ("-1 deg", "larger than zero"),
    ("181 deg", "at most 180 degrees"), ("4 rad", "at most 180 degrees"), ("3 m", "not an angle"),
    ("xx", "cannot read the radius"), ("", "give a search radius"),
])
def test_radius_errors(text, words):
    with pytest.raises(InputError, match=words):
        parse_radius(text)
