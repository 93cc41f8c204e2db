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
    grid_energy,
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
    assert RECO_PER_DECADE == 20  # the joint-crab paper's and gammapy's tutorials' binning
    edges = binning_of(1, 30, 8).point_edges()
    np.testing.assert_allclose(edges, 10 ** (np.array([0, 4, 7, 11, 15, 18, 22, 26, 30]) / 20))
    edges = binning_of(1, 30, 8, per_decade=10).point_edges()  # the earlier default
    np.testing.assert_allclose(edges, 10 ** (np.array([0, 2, 4, 6, 7, 9, 11, 13, 15]) / 10))


def test_a_coarse_axis_raises_the_safe_thresholds():
    """Bins must lie wholly above a run's threshold: H.E.S.S. DR1's Crab thresholds (0.87, 0.66 TeV) rise by
    15 and 20 % on a 10-per-decade axis, by 2 and 7 % on the default one."""
    for threshold, coarse, default in ((0.871, 1.0, 0.891), (0.661, 0.794, 0.708)):
        assert grid_energy(math.ceil(10 * math.log10(threshold)), 10) == pytest.approx(coarse, rel=1e-3)
        assert grid_energy(math.ceil(RECO_PER_DECADE * math.log10(threshold))) == pytest.approx(default, rel=1e-3)


def test_the_grid_does_not_depend_on_the_request():
    assert grid_index(1.0) == 0 and grid_index(10.0) == 20 and grid_index(0.1) == -20
    assert grid_index(10.0, 10) == 10
    a, b = binning_of(1, 30, 8), binning_of(0.7, 20, 3)
    grid = {round(10 ** (i / 20), 12) for i in range(-60, 80)}
    for edge in a.point_edges() + b.point_edges():
        assert round(edge, 12) in grid


@pytest.mark.parametrize(("e_min", "e_max", "n_bins", "message"), [
    (1, 1.001, 30, "narrower than one energy bin"),
    (1, 1.0001, 1, "narrower than one energy bin"),
    (1, 2, 30, "holds 6 energy bins .* at most 6 flux points"),
    (1, 30, 31, "holds 30 energy bins .* would share bins. Ask for at most 30 flux points"),
    (10, 1, 4, "e_min < e_max"),
])
def test_impossible_flux_point_ranges_are_refused(e_min, e_max, n_bins, message):
    with pytest.raises(BinningError, match=message):
        flux_point_indices(e_min, e_max, n_bins)


def test_the_fit_range_snaps_and_must_hold_a_bin():
    binning = binning_of(1, 30, 8, fit_e_min=0.5, fit_e_max=20)
    low, high = binning.fit_range()
    assert low == pytest.approx(10 ** -0.3) and high == pytest.approx(10 ** 1.3)
    low, _ = binning_of(1, 30, 8, fit_e_min=0.66, fit_e_max=30).fit_range()
    assert low == pytest.approx(10 ** (-4 / 20))  # the joint-crab paper's 0.66 TeV: the edge at 0.631 TeV
    assert binning_of(1, 30, 8, fit_e_min=0.5).fit_range()[1] is None
    with pytest.raises(BinningError, match="fit energy range 2 to 2.1 TeV is narrower than one energy bin"):
        binning_of(1, 30, 8, fit_e_min=2, fit_e_max=2.1)


def test_the_service_checks_raise_parameter_errors():
    base = {"e_min": 1.0, "e_max": 30.0, "n_bins": 8, "fit_e_min": None, "fit_e_max": None}
    check_spectrum(base)
    with pytest.raises(ParameterError, match="narrower than one energy bin"):
        check_spectrum({**base, "e_max": 1.001})
    with pytest.raises(ParameterError, match="at most 3 flux points"):
        check_spectrum({**base, "e_max": 2.0, "n_bins": 4, "reco_bins_per_decade": 10})
    check_spectrum({**base, "e_max": 2.0, "n_bins": 4})  # 6 bins at the default 20 per decade
    with pytest.raises(ParameterError, match="reco_bins_per_decade must be between"):
        check_spectrum({**base, "reco_bins_per_decade": 100})
    check_lightcurve({**base, "e_max": 100.0})
    with pytest.raises(ParameterError, match="fit_e_min < fit_e_max"):
        check_lightcurve({**base, "fit_e_min": 5.0, "fit_e_max": 1.0})


def test_the_axes_span_the_instrument_and_the_request():
    pytest.importorskip("gammapy")
    from portal.jobs.energy import energy_axes

    reco, true, points = energy_axes(binning_of(1, 30, 8), (0.0125, 200.0))  # CTAO prod5's effective area
    assert reco.nbin <= 100 and true.nbin <= 100
    widths = np.diff(np.log10(reco.edges.to_value("TeV")))
    np.testing.assert_allclose(widths, 1 / RECO_PER_DECADE)
    np.testing.assert_allclose(np.diff(np.log10(true.edges.to_value("TeV"))), 1 / 20)
    assert reco.edges[0].to_value("TeV") <= 0.0125 and reco.edges[-1].to_value("TeV") >= 200
    for edge in points:  # flux-point edges are reconstructed edges, exactly
        assert edge in reco.edges
    fine, fine_true, _ = energy_axes(binning_of(1, 30, 8, per_decade=40), (0.0125, 200.0))  # never a coarser true axis
    np.testing.assert_allclose(np.diff(np.log10(fine.edges.to_value("TeV"))), 1 / 40)
    np.testing.assert_allclose(np.diff(np.log10(fine_true.edges.to_value("TeV"))), 1 / 40)
    # a request beyond the instrument widens the axes, never past the grid's limits
    reco, _, _ = energy_axes(binning_of(0.05, 300, 8), (0.5, 50.0))
    assert reco.edges[0].to_value("TeV") == pytest.approx(10 ** -1.3) and reco.edges[-1].to_value("TeV") >= 300
