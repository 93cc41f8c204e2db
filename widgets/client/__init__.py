"""The widget library's one client for the services: :class:`PortalClient` (HTTP, token, readable
errors) and its UWS part (``client.uws``). TAP goes through pyvo with the same base URL."""

from widgets.client.http import PortalClient, ServiceError, default_client, discover_token
from widgets.client.uws import ACTIVE, FINAL, Definition, JobInfo, JobRef, UWSClient

__all__ = ["ACTIVE", "FINAL", "Definition", "JobInfo", "JobRef", "PortalClient", "ServiceError", "UWSClient",
           "default_client", "discover_token"]
