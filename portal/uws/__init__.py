"""The UWS 1.1 job service: job definitions, a persistent job store, execution on Dask, provenance."""
