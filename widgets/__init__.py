"""Widget library of the gamma-ray portal: usable in plain notebooks and in the Voila dashboards.

Each widget is a state model (traitlets, testable without a browser) with a thin ipywidgets view.
"""

from widgets.status import ServiceStatus

__all__ = ["ServiceStatus"]
