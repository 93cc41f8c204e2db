"""Provenance of the portal's products: IVOA ProvDM records as W3C PROV (PROV-JSON, PROV-N).

See :mod:`portal.provenance.record`. The job service writes one record per job and serves it
as the job's ``provenance`` (PROV-JSON) and ``provn`` (PROV-N) results.
"""

from portal.provenance.record import ProvenanceInfo, build, software_versions, write

__all__ = ["ProvenanceInfo", "build", "software_versions", "write"]
