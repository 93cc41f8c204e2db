"""VOSI documents of the DataLink service (capabilities, availability), built with vo-models."""

from __future__ import annotations

from vo_models.vodataservice.models import ParamHTTP
from vo_models.voresource.models import AccessURL, Capability
from vo_models.vosi.availability import Availability
from vo_models.vosi.capabilities.models import VOSICapabilities

from portal.datalink.votable import DATALINK

LINKS = "ivo://ivoa.net/std/DataLink#links-1.1"


def _http(url: str, **kwargs) -> ParamHTTP:
    return ParamHTTP(access_url=[AccessURL(value=url, use="full")], **kwargs)


def capabilities(base: str) -> str:
    """``base`` is the server's base URL; the links endpoint is ``base/datalink``."""
    links = Capability(standard_id=LINKS, interface=[
        _http(base + "/datalink", role="std", version="1.1", query_type=["GET", "POST"], result_type=DATALINK)])
    vosi = [
        Capability(standard_id="ivo://ivoa.net/std/VOSI#capabilities",
                   interface=[_http(base + "/datalink/capabilities")]),
        Capability(standard_id="ivo://ivoa.net/std/VOSI#availability",
                   interface=[_http(base + "/datalink/availability")]),
    ]
    return VOSICapabilities(capability=[links, *vosi]).to_xml(encoding=str, skip_empty=True)


def availability(archive_ready: bool) -> str:
    note = "DataLink for the observations of the embedded archive" + ("" if archive_ready else
                                                                       " (the archive is still empty)")
    return Availability(available=True, note=[note]).to_xml(encoding=str)
