"""The dashboard's own token for `portal up` (`make run`): the local user, one token kept on disk.

`portal up` serves one person on their own machine. Its Voila kernels need a bearer token to
launch jobs; rather than ask for one, `portal up` keeps a token for the local user in
``$PORTAL_DATA_DIR/auth/dashboard.token`` (readable by that user only) and hands it to Voila as
``PORTAL_TOKEN``. A token that no longer works (revoked) is replaced.
"""

from __future__ import annotations

import getpass
import os
import re
from pathlib import Path

from portal.auth.tokens import USER_NAME, TokenStore

__all__ = ["dashboard_token", "local_user"]

FILE = "dashboard.token"


def local_user() -> str:
    try:
        name = getpass.getuser()
    except (KeyError, OSError):
        name = "portal"
    name = re.sub(r"[^A-Za-z0-9._@+-]", "_", name).lstrip("._@+-") or "portal"
    return name[:64] if USER_NAME.fullmatch(name[:64]) else "portal"


def dashboard_token(data_dir: Path, user: str | None = None) -> str:
    """The local user's dashboard token, created on first use and reused afterwards."""
    from portal.auth import token_path

    store = TokenStore(token_path(data_dir))
    path = Path(data_dir) / "auth" / FILE
    try:
        token = path.read_text().strip()
        if token and store.user_for(token):
            return token
    except OSError:
        pass
    token = store.create(user or local_user(), note="portal up dashboard")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(token + "\n")
    return token
