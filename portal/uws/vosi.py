"""VOSI capabilities of the job service (`/uws/capabilities`), built with vo-models.

The job lists are one capability (``ivo://ivoa.net/std/UWS#rest-1.1``, as OPUS publishes its own),
whose description states the service's per-user quotas and the memory limit of a job process, as
the TAP capabilities state the TAP limits. The same values, machine-readable, head
``GET /uws`` (see :mod:`portal.uws.catalog`).
"""

from __future__ import annotations

from vo_models.vodataservice.models import ParamHTTP
from vo_models.voresource.models import AccessURL, Capability
from vo_models.vosi.capabilities.models import VOSICapabilities

__all__ = ["UWS", "capabilities_xml"]

UWS = "ivo://ivoa.net/std/UWS#rest-1.1"


def _http(url: str, use: str = "full") -> ParamHTTP:
    return ParamHTTP(access_url=[AccessURL(value=url, use=use)])


def capabilities_xml(base: str, description: str) -> str:
    """``base`` is the job service's URL (…/uws); ``description`` its limits in sentences."""
    jobs = Capability(standard_id=UWS, description="UWS 1.1 job lists, one per job definition (GET " + base + " lists them). "
                      + description, interface=[_http(base, "base")])
    vosi = Capability(standard_id="ivo://ivoa.net/std/VOSI#capabilities", interface=[_http(base + "/capabilities")])
    return VOSICapabilities(capability=[jobs, vosi]).to_xml(encoding=str, skip_empty=True)
