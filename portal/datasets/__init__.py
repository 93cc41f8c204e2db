"""The default dataset: a local H.E.S.S. DL3 DR1, a download of it, or a release simulated with gammapy.

- :mod:`portal.datasets.default` runs the chain on first ``portal serve`` (local -> download -> simulated).
- :mod:`portal.datasets.download` fetches a release file by file, with checksums and resume.
- :mod:`portal.datasets.simulate` writes a GADF DL3 release of simulated CTAO observations.

Only :mod:`portal.datasets.simulate` (and the IRF/source helpers it calls) imports gammapy, and only
when a simulation actually runs.
"""
