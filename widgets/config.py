"""Where the widgets find the services (PORTAL_URL, PORTAL_TOKEN)."""

from __future__ import annotations

import os

DEFAULT_URL = "http://127.0.0.1:8000"


def portal_url() -> str:
    return (os.environ.get("PORTAL_URL") or DEFAULT_URL).rstrip("/")


def portal_token() -> str | None:
    return os.environ.get("PORTAL_TOKEN") or None
