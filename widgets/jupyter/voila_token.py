"""The token `portal up`'s Voila asks for (:mod:`widgets.jupyter.voila_access` says why and how it is checked).

Standard library only: `portal up` (which stays running as the supervisor) and the tests' server helpers read the
token without importing jupyter_server and Voila (2.5 s and 60 MB).
"""

from __future__ import annotations

import os
import secrets
from urllib.parse import urlencode

__all__ = ["AUTH_VARIABLE", "MIN_TOKEN_LENGTH", "TOKEN_VARIABLE", "voila_token", "with_token"]

TOKEN_VARIABLE = "PORTAL_VOILA_TOKEN"
AUTH_VARIABLE = "PORTAL_VOILA_AUTH"
MIN_TOKEN_LENGTH = 16


def voila_token(environ=None, no_token: bool = False) -> str | None:
    """The token `portal up`'s Voila asks for, or None when the user turned it off explicitly.

    Raises ValueError, with a sentence, for a ``PORTAL_VOILA_AUTH`` other than ``token`` or ``none``, and for
    a ``PORTAL_VOILA_TOKEN`` shorter than 16 characters."""
    env = os.environ if environ is None else environ
    auth = (env.get(AUTH_VARIABLE) or "token").strip().lower()
    if auth not in ("token", "none"):
        raise ValueError(f"{AUTH_VARIABLE} must be 'token' (the default) or 'none' (no token: anyone who reaches "
                         f"the dashboards uses them as PORTAL_TOKEN's owner), not {auth!r}")
    if no_token or auth == "none":
        return None
    chosen = (env.get(TOKEN_VARIABLE) or "").strip()
    if chosen and len(chosen) < MIN_TOKEN_LENGTH:
        raise ValueError(f"{TOKEN_VARIABLE} must be at least {MIN_TOKEN_LENGTH} characters long: a short token "
                         "can be guessed")
    return chosen or secrets.token_hex(24)


def with_token(url: str, token: str | None) -> str:
    """``url`` with ``?token=...`` (or ``&token=``) added, as Jupyter prints its URLs; unchanged without one."""
    if not token:
        return url
    return f"{url}{'&' if '?' in url else '?'}{urlencode({'token': token})}"
