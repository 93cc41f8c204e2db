"""The SED widget: flux points, likelihood profiles, models with envelopes, catalogs, refits (bqplot).

``SEDPlot`` is the widget (``widgets.sed.view``), ``SEDState`` its state (``widgets.sed.state``);
see docs/sed.md. Names are imported on first use: bqplot and gammapy load only when needed.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"SEDPlot": "widgets.sed.view", "SEDState": "widgets.sed.state"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'widgets.sed' has no attribute {name!r}")
