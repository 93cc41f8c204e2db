"""Tokens checked by JupyterHub's own service authentication (``jupyterhub.services.auth.HubAuth``).

Under a hub, a caller sends a hub token. HubAuth asks the hub whose token it is (``GET /hub/api/user``,
asynchronously: the event loop is never blocked) and gets the owner's model with the token's *scopes*.
Only a token that carries the scope to access this service, ``access:services!service=<name>`` (or a
broader one that covers it, such as an admin's ``access:services``), is accepted: a valid token of a user
that was not granted this service is *forbidden* (403), whatever else it may do on the hub.

The service's name is the hub's ``JUPYTERHUB_SERVICE_NAME`` (the hub sets it for the services it
manages), else ``PORTAL_HUB_SERVICE``, else ``portal``. Answers are cached (HubAuth's cache, a minute by
default) so that a busy widget does not call the hub on every request; a hub that cannot be reached (or
answers with an error, or too slowly) means the token cannot be checked, which is answered as "not
authenticated" and logged.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass

__all__ = ["HubAuthenticator", "HubIdentity", "service_name"]

log = logging.getLogger("portal.auth")
DEFAULT_SERVICE = "portal"


def service_name(environ: Mapping[str, str] | None = None) -> str:
    env = os.environ if environ is None else environ
    return (env.get("JUPYTERHUB_SERVICE_NAME") or env.get("PORTAL_HUB_SERVICE") or DEFAULT_SERVICE).strip()


@dataclass(frozen=True)
class HubIdentity:
    """Whose token it is, and whether it may use this service."""

    name: str
    allowed: bool


class HubAuthenticator:
    def __init__(self, api_url: str, *, service: str | None = None, api_token: str | None = None,
                 ttl: float = 60.0, timeout: float = 5.0) -> None:
        from jupyterhub.services.auth import HubAuth

        self.api_url = api_url.rstrip("/")
        self.service = service or service_name()
        self.scope = f"access:services!service={self.service}"
        self._timeout = timeout
        # a HubAuth of our own (not the process-wide singleton): its url, scope and cache are this service's
        self._auth = HubAuth(api_url=self.api_url, api_token=api_token or os.environ.get("JUPYTERHUB_API_TOKEN", ""),
                             access_scopes={self.scope}, cache_max_age=int(ttl))

    async def identify(self, token: str) -> HubIdentity | None:
        """The owner of ``token`` and whether the token may use this service; None for a token the hub does
        not know, or when the hub cannot say (logged)."""
        if not token or len(token) > 512:
            return None
        try:
            model = await asyncio.wait_for(self._auth.user_for_token(token, sync=False), self._timeout)
        except Exception as exc:  # noqa: BLE001 - unreachable, an error, too slow: the token is not checked
            log.warning("JupyterHub at %s could not check a token: %s", self.api_url,
                        getattr(exc, "log_message", None) or exc or type(exc).__name__)
            return None
        if not isinstance(model, dict) or not isinstance(model.get("name"), str) or not model["name"]:
            return None
        allowed = bool(self._auth.check_scopes(self._auth.access_scopes, {"scopes": model.get("scopes") or []}))
        return HubIdentity(model["name"], allowed)

    async def user_for(self, token: str) -> str | None:
        """The owner of ``token`` if it may use this service, else None."""
        identity = await self.identify(token)
        return identity.name if identity is not None and identity.allowed else None

    async def close(self) -> None:
        """Close the HTTP session HubAuth keeps for this event loop."""
        try:
            from jupyterhub.httpclient import JupyterHubHTTPClient

            await JupyterHubHTTPClient.loop_instance().close()
        except Exception:  # noqa: BLE001 - nothing to close
            pass
