"""Energy binning of the 1D analyses: flux-point edges fall on reconstructed-energy edges."""

from __future__ import annotations

import numpy as np
import pytest

from portal.jobs.onoff import MAX_BIN_DEX, energy_axes
from portal.uws.definitions import UsageError


@pytest.mark.parametrize(("e_min", "e_max", "n_bins"), [(1, 30, 8), (1, 30, 4), (0.3, 100, 12), (0.05, 300, 1),
                                                         (2, 3, 5)])
def test_flux_point_edges_are_reconstructed_edges(e_min, e_max, n_bins):
    reco, true, points = energy_axes(e_min, e_max, n_bins)
    edges = reco.edges.to_value("TeV")
    assert len(points) == n_bins + 1
    assert points[0].to_value("TeV") == pytest.approx(e_min) and points[-1].to_value("TeV") == pytest.approx(e_max)
    for edge in points.to_value("TeV"):
        assert np.min(np.abs(edges / edge - 1)) < 1e-9
    widths = np.diff(np.log10(edges))
    assert np.allclose(widths, widths[0]) and widths[0] <= MAX_BIN_DEX + 1e-12
    # every safe energy can take part in the fit: 0.1 to 100 TeV at least, and the true axis beyond
    assert edges[0] <= max(0.1, e_min) * 10 ** MAX_BIN_DEX and edges[-1] >= min(100, e_max) / 10 ** MAX_BIN_DEX
    assert true.edges[0] < reco.edges[0] and true.edges[-1] > reco.edges[-1]


def test_flux_points_are_log_spaced():
    _, _, points = energy_axes(1, 30, 8)
    assert np.allclose(points.to_value("TeV"), np.geomspace(1, 30, 9))


@pytest.mark.parametrize(("e_min", "e_max"), [(10, 1), (0, 5), (3, 3)])
def test_an_empty_energy_range_is_a_usage_error(e_min, e_max):
    with pytest.raises(UsageError, match="e_min < e_max"):
        energy_axes(e_min, e_max, 4)
