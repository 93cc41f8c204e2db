"""Tokens checked against JupyterHub: under a hub, a user's own hub API token identifies them.

``GET {JUPYTERHUB_API_URL}/user`` with ``Authorization: token <token>`` answers the model of the
token's owner (any valid token may identify its owner). Answers are cached for a minute so that
a busy widget does not call the hub on every request; a hub that cannot be reached means the
token cannot be checked, which is answered as "not authenticated" and logged.
"""

from __future__ import annotations

import hashlib
import logging
import time

import httpx

__all__ = ["HubAuthenticator"]

log = logging.getLogger("portal.auth")


class HubAuthenticator:
    def __init__(self, api_url: str, *, ttl: float = 60.0, timeout: float = 5.0,
                 transport: httpx.AsyncBaseTransport | None = None) -> None:
        self.api_url = api_url.rstrip("/")
        self.ttl = ttl
        self._timeout = timeout
        self._transport = transport
        self._cache: dict[str, tuple[str, float]] = {}

    async def user_for(self, token: str) -> str | None:
        if not token or len(token) > 512:
            return None
        key = hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()
        hit = self._cache.get(key)
        now = time.monotonic()
        if hit is not None and hit[1] > now:
            return hit[0]
        try:
            async with httpx.AsyncClient(timeout=self._timeout, transport=self._transport) as client:
                response = await client.get(f"{self.api_url}/user", headers={"Authorization": f"token {token}"})
        except httpx.HTTPError as exc:
            log.warning("JupyterHub at %s could not check a token: %s", self.api_url, exc)
            return None
        if response.status_code != 200:
            return None
        try:
            name = response.json().get("name")
        except ValueError:
            return None
        if not isinstance(name, str) or not name:
            return None
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (name, now + self.ttl)
        return name
