"""FITS keywords of the job products are written whole: no card too long, nothing cut off (issue 21).

A list of obs ids with its comment once overflowed its 80-character card: astropy cut the comment off
with ``VerifyWarning: Card is too long``, at every flux point written. Warnings are errors here."""

from __future__ import annotations

import io
import warnings

import pytest
from astropy.coordinates import SkyCoord
from astropy.io import fits

from portal.jobs.fluxpoints import fits_card, write_flux_points
from tests.jobs.conftest import CRAB, CRAB_RUNS


def _read_back(cards: list[fits.Card]) -> fits.Header:
    buffer = io.BytesIO()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        fits.PrimaryHDU(header=fits.Header(cards)).writeto(buffer)
    buffer.seek(0)
    return fits.getheader(buffer)


@pytest.mark.parametrize("n", [1, 4, 6, 8, 11, 12, 40])
def test_a_list_and_its_comment_are_written_whole_whatever_its_length(n):
    """One card while both fit; else CONTINUE cards, also for a list that fits a card only without its comment
    (6 to 11 obs ids here, where astropy would cut the comment off)."""
    ids = ",".join(f"hess-dl3-dr1/{23500 + i}" if i % 3 == 1 else str(23500 + i) for i in range(n))
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        card = fits_card("OBS_IDS", ids, "obs ids that entered the result")
        image = card.image
    assert len(image) % 80 == 0 and (len(image) == 80) == (len(ids) + 2 + 10 + 3 + 31 <= 80)
    header = _read_back([card])
    assert header["OBS_IDS"] == ids and header.comments["OBS_IDS"] == "obs ids that entered the result"


def test_quotes_long_comments_and_values_that_cannot_continue():
    value, comment = "it's " * 9 + "done", "a comment that goes on " * 4 + "and ends"
    header = _read_back([fits_card("NOTE", value, comment), fits_card("QUOTES", "'" * 30, "only quotes"),
                         fits_card("N_OBS", 4, "x" * 47), fits_card("PLAIN", "no comment " * 9)])
    assert header["NOTE"] == value and header.comments["NOTE"] == comment
    assert header["QUOTES"] == "'" * 30 and header.comments["QUOTES"] == "only quotes"
    assert header["N_OBS"] == 4 and header.comments["N_OBS"] == "x" * 47
    assert header["PLAIN"] == ("no comment " * 9).rstrip()  # FITS: trailing blanks are not significant
    with pytest.raises(ValueError, match="N_OBS"):  # a number has no long form: the comment must be short
        fits_card("N_OBS", 4, "x" * 48)


@pytest.mark.requires_data
@pytest.mark.slow
def test_spectrum_flux_points_are_written_without_a_warning_and_read_back(crab_spectrum, data_store, dr1, tmp_path):
    """The spectrum job's writing path (spectrum.run's on_flux_point): every version of the SED of the Crab's four
    runs, requested qualified by collection, with its keywords; the file reads back with gammapy, and the
    portal's FITS preview shows the obs ids."""
    from gammapy.estimators import FluxPoints

    from portal.jobs.context import Inputs
    from tests.jobs.local_context import LocalContext
    from widgets.jobs.previews import fits_summary

    _result, seen = crab_spectrum
    ctx = LocalContext(dr1, tmp_path / "job")
    collections = {23523: "hess-dl3-dr1", 23526: "hess-dl3-dr1", 23559: "joint-crab-hess", 23592: "joint-crab-hess"}
    inputs = Inputs(ctx, data_store.get_observations(CRAB_RUNS, required_irf=["aeff"]), [], collections)
    inputs.selected(CRAB_RUNS, {})
    path = tmp_path / "flux_points.fits"
    assert len(seen) >= 4
    for points, done, total in seen:
        header = inputs.header(SkyCoord(*CRAB, unit="deg"))
        header["NPOINTS"] = (done, f"flux points computed so far, of {total}")
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            write_flux_points(points, path, header)
    points = FluxPoints.read(path)
    assert points.sed_type_init == "likelihood" and points.energy_axis.nbin == 4
    written = fits.getheader(path, "FLUXPOINTS")
    for key, (value, comment) in header.items():
        assert written[key] == value and written.comments[key] == comment, key
    assert written["OBS_IDS"] == "23523,23526,23559,23592" and written["OBS_COLL"] == "hess-dl3-dr1,joint-crab-hess"
    assert "OBS_IDS = 23523,23526,23559,23592" in fits_summary(path.read_bytes())


@pytest.mark.requires_data
@pytest.mark.slow
@pytest.mark.parametrize("n_used", [9, 20])
def test_many_observations_and_a_light_curve(crab_spectrum, data_store, dr1, tmp_path, n_used):
    """Enough observations for the list to need CONTINUE cards (9: it fits only without its comment), some
    left out; the light-curve keyword too."""
    from gammapy.estimators import FluxPoints

    from portal.jobs.context import Inputs
    from tests.jobs.local_context import LocalContext
    from widgets.jobs.previews import fits_summary

    ids = [int(i) for i in data_store.obs_table["OBS_ID"][: n_used + 3]]
    ctx = LocalContext(dr1, tmp_path / "job")
    inputs = Inputs(ctx, data_store.get_observations(ids, required_irf=["aeff"]), [],
                    {i: "hess-dl3-dr1" if k % 2 else "another-release-of-hess" for k, i in enumerate(ids)})
    inputs.selected(ids[:n_used], {i: "no room for reflected regions" for i in ids[n_used:]})
    header = inputs.header(SkyCoord(*CRAB, unit="deg"))
    header["TIMEBIN"] = ("night", "one flux per observation (run) or per night")
    points = crab_spectrum[1][-1][0]
    path = tmp_path / "many.fits"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        write_flux_points(points, path, header)
    written = fits.getheader(path, "FLUXPOINTS")
    assert written["OBS_IDS"] == ",".join(map(str, ids[:n_used])) and written["N_OBS"] == n_used
    assert written["OBS_OUT"] == ",".join(map(str, ids[n_used:]))
    assert written.comments["OBS_IDS"] == "obs ids that entered the result"
    assert written["TIMEBIN"] == "night"
    assert FluxPoints.read(path).energy_axis.nbin == 4
    assert f"OBS_IDS = {written['OBS_IDS']}" in fits_summary(path.read_bytes())
