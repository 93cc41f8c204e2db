"""Services of the gamma-ray science portal: archive (TAP/ObsCore), jobs (UWS), data access."""

__version__ = "0.1.0"
