"""A width probe: an empty, full-width line whose width in pixels the browser reports (an anywidget).

bqplot does not tell the kernel how wide a figure is drawn, and the SED's ticks are chosen from that width
(so that their labels never overlap). The probe sits just above the figure, in the same box, so it is as wide;
a ResizeObserver reports its width when it changes by a few pixels (0 while it is hidden, which is ignored).
"""

from __future__ import annotations

import anywidget
import traitlets as t

_ESM = """
export default {
  render({ model, el }) {
    el.classList.add("portal-width-probe");
    el.style.width = "100%";
    el.style.height = "0";
    let timer = null;
    const report = () => {
      timer = null;
      const width = Math.round(el.getBoundingClientRect().width);
      if (width > 0 && Math.abs(width - model.get("width")) >= 4) {
        model.set("width", width);
        model.save_changes();
      }
      el.dataset.width = String(width);
    };
    const observer = new ResizeObserver(() => { if (timer === null) timer = setTimeout(report, 120); });
    observer.observe(el);
    return () => { observer.disconnect(); if (timer !== null) clearTimeout(timer); };
  },
};
"""


class WidthProbe(anywidget.AnyWidget):
    """``width``: the width in pixels the page gives the probe's box (0 until it is first drawn)."""

    _esm = _ESM
    width = t.Int(0).tag(sync=True)
