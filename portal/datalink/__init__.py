"""DataLink for every archived observation (``/datalink``) and its files (``/data``).

- ``GET /datalink?ID=<obs_publisher_did>``: a DataLink 1.1 VOTable listing the DL3 file (``#this``),
  each of its HDUs (events, GTI, effective area, energy dispersion, PSF, background), a counts-map
  preview (``#preview-image``) and a service descriptor to launch a ``spectrum`` job on it (``#proc``).
- ``GET /data?ID=...[&HDU=events|gti|aeff|edisp|psf|bkg]`` and ``GET /data/preview?ID=...``: the
  files, found by identifier through the archive (never by a path from the request), served only
  from the folders of ingested releases, with their content type, size and Range support.
"""
