"""The archive's sky coverage as an IVOA MOC (mocpy), for the sky view.

Served at ``/coverage/moc.json`` (MOC JSON, what Aladin Lite reads) and ``/coverage/moc.fits``
(MOC FITS), rebuilt from the ObsCore ``s_region`` footprints whenever the archive changes.
"""
