"""The embedded VO archive: ObsCore 1.1 over TAP 1.1, VOSI and TAP_SCHEMA, ingest of GADF DL3 releases."""
