"""Authentication: who is calling, from an ``Authorization: Bearer <token>`` header.

Tokens are checked against the portal's own token store (`portal token create NAME`), then,
when ``JUPYTERHUB_API_URL`` is set, against JupyterHub. The FastAPI dependencies read the
:class:`Authenticator` the application keeps in ``app.state.authenticator``::

    from portal.auth import require_user, optional_user

    @router.get("/mine")
    async def mine(user: str = Depends(require_user)): ...      # 401 without a valid token
    @router.get("/public")
    async def public(user: str | None = Depends(optional_user)): ...  # None when anonymous

A token that is present but invalid is refused with 401 even where anonymous access is allowed; a valid
hub token that does not carry the scope to access this service, with 403 (:mod:`portal.auth.hub`).
"""

from __future__ import annotations

import os
from pathlib import Path

from fastapi import HTTPException, Request

from portal.auth.hub import HubAuthenticator, service_name
from portal.auth.tokens import TokenStore

__all__ = ["Authenticator", "Forbidden", "HubAuthenticator", "TokenStore", "optional_user", "require_operator",
           "require_user", "token_path"]

CHALLENGE = {"WWW-Authenticate": 'Bearer realm="gamma-portal"'}


def token_path(data_dir: Path) -> Path:
    return Path(data_dir) / "auth" / "tokens.sqlite"


class Forbidden(Exception):
    """A valid token that may not use this service (the message says why)."""


class Authenticator:
    """Local tokens first, then JupyterHub if configured."""

    def __init__(self, tokens: TokenStore, hub: HubAuthenticator | None = None) -> None:
        self.tokens = tokens
        self.hub = hub

    @classmethod
    def for_data_dir(cls, data_dir: Path, environ: dict[str, str] | None = None) -> "Authenticator":
        env = os.environ if environ is None else environ
        hub_url = env.get("JUPYTERHUB_API_URL")
        hub = HubAuthenticator(hub_url, service=service_name(env), api_token=env.get("JUPYTERHUB_API_TOKEN")) \
            if hub_url else None
        return cls(TokenStore(token_path(data_dir)), hub)

    async def authenticate(self, token: str) -> str | None:
        """The user ``token`` stands for; None for an unknown token; :class:`Forbidden` for a hub token
        without the scope to access this service."""
        user = self.tokens.user_for(token)
        if user is None and self.hub is not None:
            identity = await self.hub.identify(token)
            if identity is not None and not identity.allowed:
                raise Forbidden(f"This token of {identity.name} may not use the portal: JupyterHub did not grant "
                                f"it the scope {self.hub.scope}. Use a token that has it (a user server's own "
                                "token does when the hub's configuration grants it, see docs/deploy.md).")
            user = identity.name if identity is not None else None
        return user

    async def user_for(self, token: str) -> str | None:
        """The user ``token`` stands for, if it may use this service; else None."""
        try:
            return await self.authenticate(token)
        except Forbidden:
            return None

    def is_operator(self, token: str) -> bool:
        """Whether ``token`` carries the operator role (a local token made with ``--operator``; hub tokens
        never do)."""
        return self.tokens.is_operator(token)

    async def close(self) -> None:
        if self.hub is not None:
            await self.hub.close()


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
    try:
        user = await request.app.state.authenticator.authenticate(token)
    except Forbidden as exc:
        raise HTTPException(403, str(exc)) from None
    if user is None:
        raise HTTPException(401, "Invalid or expired token", headers=CHALLENGE)
    return user


async def require_user(request: Request) -> str:
    user = await optional_user(request)
    if user is None:
        raise HTTPException(401, "Authentication required: send 'Authorization: Bearer <token>' "
                                 "(create a token with `portal token create NAME`)", headers=CHALLENGE)
    return user


async def require_operator(request: Request) -> str:
    """The caller, who must hold an operator token: 401 without a valid token, 403 for everyone else."""
    user = await require_user(request)
    if not request.app.state.authenticator.is_operator(_token(request) or ""):
        raise HTTPException(403, f"Only operators may read or change the job definitions, and {user}'s token does "
                                 "not carry that role (an operator's token is made with `portal token create NAME "
                                 "--operator`)")
    return user
