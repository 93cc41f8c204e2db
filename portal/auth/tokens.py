"""Bearer tokens of a standalone portal: `portal token create NAME` prints one, the store keeps its hash.

A token is 256 random bits (``gp_`` + URL-safe base64). Only its SHA-256 is stored, so the
token file reveals no usable token; a plain hash is enough because the secret has full entropy
(nothing to brute-force, unlike a password). A token made with ``--operator`` carries the operator role
(stored with its hash): its user may also edit the job definitions.
"""

from __future__ import annotations

import hashlib
import re
import secrets
import sqlite3
import time
from pathlib import Path

from portal.private import private_file, private_folder

__all__ = ["TokenStore", "USER_NAME", "InvalidUserName", "hash_token"]

USER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._@+-]{0,63}")
PREFIX = "gp_"


class InvalidUserName(ValueError):
    pass


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "surrogatepass")).hexdigest()


class TokenStore:
    """Token hashes and the user each one stands for, in a small SQLite file."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        private_folder(self.path.parent)  # hashes only, but whose they are is the portal's to know
        private_file(self.path, sqlite=True)
        with self._connect() as conn:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS tokens (hash TEXT PRIMARY KEY, user TEXT NOT NULL, "
                "created REAL NOT NULL, note TEXT, operator INTEGER NOT NULL DEFAULT 0)"
            )
            columns = {row[1] for row in conn.execute("PRAGMA table_info(tokens)")}
            if "operator" not in columns:  # a token file from before roles: every token is a user's
                try:
                    conn.execute("ALTER TABLE tokens ADD COLUMN operator INTEGER NOT NULL DEFAULT 0")
                except sqlite3.OperationalError:  # another process added it meanwhile
                    pass
        conn.close()

    def _connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.path, timeout=30)
        conn.execute("PRAGMA journal_mode=WAL")
        return conn

    def create(self, user: str, note: str | None = None, operator: bool = False) -> str:
        """A new token for ``user``; it is shown once and never stored in clear. An ``operator`` token may
        also edit the job definitions (the role is the token's, stored with its hash)."""
        if not USER_NAME.fullmatch(user):
            raise InvalidUserName(
                f"invalid user name {user!r}: use 1 to 64 letters, digits and . _ @ + - "
                "(starting with a letter or digit)")
        token = PREFIX + secrets.token_urlsafe(32)
        with self._connect() as conn:
            conn.execute("INSERT INTO tokens (hash, user, created, note, operator) VALUES (?, ?, ?, ?, ?)",
                         (hash_token(token), user, time.time(), note, int(operator)))
        conn.close()
        return token

    def user_for(self, token: str) -> str | None:
        """The user ``token`` belongs to, or None."""
        if not token or len(token) > 512:
            return None
        conn = self._connect()
        try:
            row = conn.execute("SELECT user FROM tokens WHERE hash = ?", (hash_token(token),)).fetchone()
        finally:
            conn.close()
        return row[0] if row else None

    def is_operator(self, token: str) -> bool:
        """Whether ``token`` is a valid operator token (`portal token create NAME --operator`)."""
        if not token or len(token) > 512:
            return False
        conn = self._connect()
        try:
            row = conn.execute("SELECT operator FROM tokens WHERE hash = ?", (hash_token(token),)).fetchone()
        finally:
            conn.close()
        return bool(row and row[0])

    def revoke_user(self, user: str) -> int:
        """Remove every token of ``user``; returns how many there were."""
        with self._connect() as conn:
            count = conn.execute("DELETE FROM tokens WHERE user = ?", (user,)).rowcount
        conn.close()
        return count

    def users(self) -> list[tuple[str, int]]:
        conn = self._connect()
        try:
            return conn.execute("SELECT user, count(*) FROM tokens GROUP BY user ORDER BY user").fetchall()
        finally:
            conn.close()
