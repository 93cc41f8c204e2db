"""Energy binning: fixed grids per decade, requested ranges snapped to them, refusals that say why."""

from __future__ import annotations

import math

import numpy as np
import pytest

from portal.jobs.binning import (
    RECO_PER_DECADE,
    BinningError,
    binning_of,
    check_lightcurve,
    check_spectrum,
    flux_point_indices,
    grid_index,
)
from portal.uws.params import ParameterError


@pytest.mark.parametrize(("e_min", "e_max", "n_bins"), [(1, 30, 8), (1, 30, 4), (0.3, 100, 12), (0.05, 300, 1),
                                                         (2, 3.2, 2), (1, 30, 15)])
def test_flux_point_edges_fall_on_the_grid_and_cover_the_range(e_min, e_max, n_bins):
    points = flux_point_indices(e_min, e_max, n_bins)
    assert len(points) == n_bins + 1
    assert all(b > a for a, b in zip(points, points[1:], strict=False))  # each point holds at least one bin
    edges = binning_of(e_min, e_max, n_bins).point_edges()
    # the ends are the grid edges nearest to the request: within half a bin (a factor 10**0.05)
    assert abs(math.log10(edges[0] / e_min)) <= 0.5 / RECO_PER_DECADE + 1e-12
    assert abs(math.log10(edges[-1] / e_max)) <= 0.5 / RECO_PER_DECADE + 1e-12
    # each edge is the grid edge nearest to the log-spaced request, as gammapy's estimators snap them
    requested = np.geomspace(e_min, e_max, n_bins + 1)
    np.testing.assert_array_equal(points, np.round(RECO_PER_DECADE * np.log10(requested)).astype(int))


def test_the_default_spectrum_binning():
    edges = binning_of(1, 30, 8).point_edges()
    np.testing.assert_allclose(edges, 10 ** (np.array([0, 2, 4, 6, 7, 9, 11, 13, 15]) / 10))


def test_the_grid_does_not_depend_on_the_request():
    assert grid_index(1.0) == 0 and grid_index(10.0) == 10 and grid_index(0.1) == -10
    a, b = binning_of(1, 30, 8), binning_of(0.7, 20, 3)
    grid = {round(10 ** (i / 10), 12) for i in range(-30, 40)}
    for edge in a.point_edges() + b.point_edges():
        assert round(edge, 12) in grid


@pytest.mark.parametrize(("e_min", "e_max", "n_bins", "message"), [
    (1, 1.001, 30, "narrower than one energy bin"),
    (1, 1.0001, 1, "narrower than one energy bin"),
    (1, 2, 30, "holds 3 energy bins .* at most 3 flux points"),
    (1, 30, 16, "holds 15 energy bins .* would share bins. Ask for at most 15 flux points"),
    (10, 1, 4, "e_min < e_max"),
])
def test_impossible_flux_point_ranges_are_refused(e_min, e_max, n_bins, message):
    with pytest.raises(BinningError, match=message):
        flux_point_indices(e_min, e_max, n_bins)


def test_the_fit_range_snaps_and_must_hold_a_bin():
    binning = binning_of(1, 30, 8, fit_e_min=0.5, fit_e_max=20)
    low, high = binning.fit_range()
    assert low == pytest.approx(10 ** -0.3) and high == pytest.approx(10 ** 1.3)
    assert binning_of(1, 30, 8, fit_e_min=0.5).fit_range()[1] is None
    with pytest.raises(BinningError, match="fit energy range 2 to 2.1 TeV is narrower than one energy bin"):
        binning_of(1, 30, 8, fit_e_min=2, fit_e_max=2.1)


def test_the_service_checks_raise_parameter_errors():
    base = {"e_min": 1.0, "e_max": 30.0, "n_bins": 8, "fit_e_min": None, "fit_e_max": None}
    check_spectrum(base)
    with pytest.raises(ParameterError, match="narrower than one energy bin"):
        check_spectrum({**base, "e_max": 1.001})
    with pytest.raises(ParameterError, match="at most 3 flux points"):
        check_spectrum({**base, "e_max": 2.0, "n_bins": 4})
    check_lightcurve({**base, "e_max": 100.0})
    with pytest.raises(ParameterError, match="fit_e_min < fit_e_max"):
        check_lightcurve({**base, "fit_e_min": 5.0, "fit_e_max": 1.0})


def test_the_axes_span_the_instrument_and_the_request():
    pytest.importorskip("gammapy")
    from portal.jobs.energy import energy_axes

    reco, true, points = energy_axes(binning_of(1, 30, 8), (0.0125, 200.0))  # CTAO prod5's effective area
    assert reco.nbin <= 50 and true.nbin <= 100
    widths = np.diff(np.log10(reco.edges.to_value("TeV")))
    np.testing.assert_allclose(widths, 1 / RECO_PER_DECADE)
    np.testing.assert_allclose(np.diff(np.log10(true.edges.to_value("TeV"))), 1 / 20)
    assert reco.edges[0].to_value("TeV") <= 0.0125 and reco.edges[-1].to_value("TeV") >= 200
    for edge in points:  # flux-point edges are reconstructed edges, exactly
        assert edge in reco.edges
    # a request beyond the instrument widens the axes, never past the grid's limits
    reco, _, _ = energy_axes(binning_of(0.05, 300, 8), (0.5, 50.0))
    assert reco.edges[0].to_value("TeV") == pytest.approx(10 ** -1.3) and reco.edges[-1].to_value("TeV") > 300
