"""The SED's axis ticks, without a browser: at decades, readable labels, as many as fit the plot's size."""

from __future__ import annotations

import math

import numpy as np
import pytest

from widgets.sed.ticks import GAP_PX, LINE_PX, axis_ticks, js_number, label_px


def spacing_ok(ticks, lo, hi, length, vertical):
    """Neighbouring labels are apart by their half widths (or a line) and a gap, at the axis' scale."""
    per_decade = length / math.log10(hi / lo)
    pairs = list(zip(zip(ticks.values, ticks.labels), zip(ticks.values[1:], ticks.labels[1:])))
    for (a, la), (b, lb) in pairs:
        apart = per_decade * math.log10(b / a)
        need = LINE_PX if vertical else (label_px(la) + label_px(lb)) / 2 + GAP_PX / 2
        if apart < need:
            return False
    return True


def test_tev_decades_are_labelled_plainly():
    ticks = axis_ticks(0.05, 50.0, 540)
    assert ticks.values == [0.1, 1.0, 10.0] and ticks.labels == ["0.1", "1", "10"]
    assert axis_ticks(2e-3, 2e3, 540).labels == ["0.01", "0.1", "1", "10", "100", "1000"]


def test_wide_spans_are_powers_of_ten_never_1e_plus_0():
    ticks = axis_ticks(7e-5, 1.4e3, 540)
    assert ticks.labels == ["10⁻⁴", "10⁻³", "10⁻²", "10⁻¹", "10⁰", "10¹", "10²", "10³"]
    fluxes = axis_ticks(5e-14, 6e-10, 330, vertical=True)
    assert fluxes.labels == ["10⁻¹³", "10⁻¹²", "10⁻¹¹", "10⁻¹⁰"]
    assert not any("e" in label for label in ticks.labels + fluxes.labels)


def test_fewer_ticks_on_a_narrow_plot_aligned_to_decades():
    wide, narrow = axis_ticks(1e-4, 1e3, 700), axis_ticks(1e-4, 1e3, 150)
    assert len(wide.values) == 8
    assert narrow.labels == ["10⁻⁴", "10⁻²", "10⁰", "10²"]  # every 2nd decade
    assert len(axis_ticks(1e-4, 1e3, 60).values) < len(narrow.values)


def test_a_span_within_a_decade_gets_1_2_5_steps():
    assert axis_ticks(0.3, 2.0, 540).labels == ["0.5", "1", "2"]
    assert axis_ticks(3e-12, 2.5e-11, 320, vertical=True).labels == ["5×10⁻¹²", "10⁻¹¹", "2×10⁻¹¹"]
    assert len(axis_ticks(0.5, 0.9, 540).values) >= 2


@pytest.mark.parametrize("vertical", [False, True])
def test_labels_never_overlap_whatever_the_span_and_size(vertical):
    rng = np.random.default_rng(1)
    for _ in range(400):
        lo = 10 ** rng.uniform(-16, 25)
        hi = lo * 10 ** rng.uniform(0.3, 14)
        length = rng.uniform(120, 1600)
        ticks = axis_ticks(lo, hi, length, vertical)
        assert ticks.values, (lo, hi, length)
        assert all(lo * 0.999 <= v <= hi * 1.001 for v in ticks.values)
        if len(ticks.values) > 2:  # two ticks are the least an axis has, however short
            assert spacing_ok(ticks, lo, hi, length, vertical), (lo, hi, length, ticks.labels)


def test_labels_are_keyed_as_the_browser_writes_numbers():
    cases = {1e-11: "1e-11", 2e-11: "2e-11", 1e-7: "1e-7", 5e-7: "5e-7", 1e-6: "0.000001", 1e-5: "0.00001",
             0.1: "0.1", 1.0: "1", 10.0: "10", 123.0: "123", 1e20: "100000000000000000000", 1e21: "1e+21",
             2.5e21: "2.5e+21", 0.00012: "0.00012"}
    for value, text in cases.items():
        assert js_number(value) == text
    ticks = axis_ticks(1e-13, 1e-9, 320, vertical=True)
    assert ticks.bqplot_labels() == {"1e-13": "10⁻¹³", "1e-12": "10⁻¹²", "1e-11": "10⁻¹¹", "1e-10": "10⁻¹⁰",
                                     "1e-9": "10⁻⁹"}


def test_the_figure_chooses_its_ticks_from_its_width():
    from widgets.background import Background
    from widgets.client import PortalClient
    from widgets.sed import SEDPlot

    sed = SEDPlot(client=PortalClient("http://127.0.0.1:9", token="x"), background=Background(), height="392px")
    plot = sed.plot
    with plot.scales["x"].hold_sync():
        plot.scales["x"].min, plot.scales["x"].max = 1e-4, 1e3
    plot.resized(1000)
    assert plot.plot_size[1] >= 320
    wide = list(plot.x_axis.tick_values)
    assert len(wide) == 8 and plot.x_axis.tick_labels[js_number(1e-4)] == "10⁻⁴"
    sed.probe.width = 220  # as the page reports a narrow figure
    narrow = list(plot.x_axis.tick_values)
    assert 2 <= len(narrow) < len(wide)
    assert set(plot.x_axis.tick_labels) == {js_number(float(v)) for v in narrow}
    sed.state.background.idle()
