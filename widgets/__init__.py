"""Widget library of the gamma-ray portal: usable in plain notebooks and in the Voila dashboards.

Each widget is a state model (traitlets, testable without a browser) with a thin ipywidgets view.
Names are imported on first use, so ``import widgets`` stays cheap (the Jupyter server extension
and the Voila launcher import this package too).
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "ServiceStatus": "widgets.status",
    "TargetSearch": "widgets.target.view",
    "TargetState": "widgets.target.state",
    "SkyView": "widgets.sky.view",
    "SkyState": "widgets.sky.state",
    "ObsCoreSearch": "widgets.obscore.view",
    "SearchState": "widgets.obscore.state",
    "SEDPlot": "widgets.sed.view",
    "SEDState": "widgets.sed.state",
    "DataLinkPanel": "widgets.datalink.view",
    "DataLinkState": "widgets.datalink.state",
    "Portal": "widgets.app",
    "ArchiveExplorer": "widgets.app",
    "JobsDashboard": "widgets.app",
    "connect": "widgets.links",
    "Session": "widgets.session",
    "JobLauncher": "widgets.jobs.launcher",
    "JobMonitor": "widgets.jobs.monitor",
    "JobHandle": "widgets.jobs.handle",
    "PortalClient": "widgets.client",
    "ServiceError": "widgets.client",
    "Background": "widgets.background",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'widgets' has no attribute {name!r}")


def __dir__() -> list[str]:
    return __all__
