"""Under JupyterHub: find the portal's services from the hub, as any other hub-managed service.

An operator runs ``portal serve`` as a hub service named ``portal`` (``c.JupyterHub.services``, see
docs/deploy.md). A user's server knows the hub (``JUPYTERHUB_API_URL``) and carries the user's own
token (``JUPYTERHUB_API_TOKEN``), so the widgets ask the hub for the service's model
(``GET /services/portal``, scope ``read:services!service=portal``) and use its ``url``. The portal
accepts the same token: nothing to set per user. ``PORTAL_URL`` still wins when it is set;
``PORTAL_HUB_SERVICE`` names another service.
"""

from __future__ import annotations

import logging
import os

import httpx

__all__ = ["hub_service_url"]

log = logging.getLogger("widgets.jupyter")
SERVICE_VARIABLE = "PORTAL_HUB_SERVICE"
DEFAULT_SERVICE = "portal"


def hub_service_url(environ=None) -> str | None:
    """The URL of the portal's hub service, or None when not under a hub (or the hub does not say)."""
    env = os.environ if environ is None else environ
    api, token = env.get("JUPYTERHUB_API_URL"), env.get("JUPYTERHUB_API_TOKEN")
    if not api or not token:
        return None
    key = (api.rstrip("/"), token, env.get(SERVICE_VARIABLE) or DEFAULT_SERVICE)
    if key not in _found:  # only an answer is kept: after a failure the next widget asks again
        url = _ask_hub(*key)
        if url is None:
            return None
        _found[key] = url
    return _found[key]


_found: dict[tuple[str, str, str], str] = {}


def _ask_hub(api: str, token: str, name: str) -> str | None:
    try:
        response = httpx.get(f"{api}/services/{name}", headers={"Authorization": f"token {token}"}, timeout=10)
    except httpx.HTTPError as exc:
        log.warning("JupyterHub at %s could not be asked where the %r service is: %s", api, name, exc)
        return None
    if response.status_code != 200:
        log.warning("JupyterHub at %s does not tell this server where the %r service is (HTTP %s): the "
                    "server token needs the scope read:services!service=%s, or set PORTAL_URL",
                    api, name, response.status_code, name)
        return None
    try:
        url = response.json().get("url")
    except ValueError:
        return None
    return url.rstrip("/") if isinstance(url, str) and url.startswith(("http://", "https://")) else None
