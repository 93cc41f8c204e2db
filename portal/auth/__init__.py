"""Authentication: who is calling, from an ``Authorization: Bearer <token>`` header.

Tokens are checked against the portal's own token store (`portal token create NAME`), then,
when ``JUPYTERHUB_API_URL`` is set, against JupyterHub. The FastAPI dependencies read the
:class:`Authenticator` the application keeps in ``app.state.authenticator``::

    from portal.auth import require_user, optional_user

    @router.get("/mine")
    async def mine(user: str = Depends(require_user)): ...      # 401 without a valid token
    @router.get("/public")
    async def public(user: str | None = Depends(optional_user)): ...  # None when anonymous

A token that is present but invalid is refused with 401 even where anonymous access is allowed.
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import HTTPException, Request

from portal.auth.hub import HubAuthenticator
from portal.auth.tokens import TokenStore

__all__ = ["Authenticator", "HubAuthenticator", "TokenStore", "optional_user", "require_user", "token_path"]

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="gamma-portal"'}


def token_path(data_dir: Path) -> Path:
    return Path(data_dir) / "auth" / "tokens.sqlite"


class Authenticator:
    """Local tokens first, then JupyterHub if configured."""

    def __init__(self, tokens: TokenStore, hub: HubAuthenticator | None = None) -> None:
        self.tokens = tokens
        self.hub = hub

    @classmethod
    def for_data_dir(cls, data_dir: Path, environ: dict[str, str] | None = None) -> "Authenticator":
        env = os.environ if environ is None else environ
        hub_url = env.get("JUPYTERHUB_API_URL")
        return cls(TokenStore(token_path(data_dir)), HubAuthenticator(hub_url) if hub_url else None)

    async def user_for(self, token: str) -> str | None:
        user = self.tokens.user_for(token)
        if user is None and self.hub is not None:
            user = await self.hub.user_for(token)
        return user


def _token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() not in ("bearer", "token") or not value.strip():
        raise HTTPException(401, "Malformed Authorization header: use 'Bearer <token>'", headers=CHALLENGE)
    return value.strip()


async def optional_user(request: Request) -> str | None:
    token = _token(request)
    if token is None:
        return None
    user = await request.app.state.authenticator.user_for(token)
    if user is None:
        raise HTTPException(401, "Invalid or expired token", headers=CHALLENGE)
    return user


async def require_user(request: Request) -> str:
    user = await optional_user(request)
    if user is None:
        raise HTTPException(401, "Authentication required: send 'Authorization: Bearer <token>' "
                                 "(create a token with `portal token create NAME`)", headers=CHALLENGE)
    return user
