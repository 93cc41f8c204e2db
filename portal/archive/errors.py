"""The error a TAP request ends with when it cannot be served: a message for the user."""

from __future__ import annotations


class TapError(Exception):
    """Shown to the user in a VOTable error document (QUERY_STATUS=ERROR) with HTTP ``status``."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.message = message
        self.status = status
