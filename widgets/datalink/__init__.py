"""The DataLink panel: the files of the selected observations (events, each IRF), their sizes, download links,
previews on demand, the other links and the services, and error rows as sentences.

``DataLinkPanel`` is the widget (``widgets.datalink.view``), ``DataLinkState`` its state
(``widgets.datalink.state``). Names are imported on first use.
"""

from __future__ import annotations

import importlib

_EXPORTS = {"DataLinkPanel": "widgets.datalink.view", "DataLinkState": "widgets.datalink.state"}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'widgets.datalink' has no attribute {name!r}")
