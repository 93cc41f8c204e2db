"""The one error the client raises: a request that did not work, said in one sentence."""

from __future__ import annotations

__all__ = ["ServiceError"]


class ServiceError(Exception):
    """A request that did not work, said in one sentence (``status`` is the HTTP status, if any)."""

    def __init__(self, message: str, status: int | None = None, url: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.url = url
