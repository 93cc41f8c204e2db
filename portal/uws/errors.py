"""Errors of the job service, each with the HTTP status the handlers answer it with.

The messages are for people: the handlers send them as the plain-text body.
"""

from __future__ import annotations

__all__ = ["UWSError", "JobNotFound", "InvalidRequest", "InvalidPhase", "QuotaExceeded", "ServiceUnavailable",
           "StoreUnavailable"]


class UWSError(Exception):
    status_code = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class JobNotFound(UWSError):
    """No such job for this user (also what another user's job looks like: never a 403)."""

    status_code = 404


class InvalidRequest(UWSError):
    """A parameter or value the service cannot accept."""

    status_code = 400


class InvalidPhase(UWSError):
    """The request does not fit the job's phase (changing parameters of a running job)."""

    status_code = 409


class QuotaExceeded(UWSError):
    """The user holds as many jobs (or bytes, or queued jobs) as a user may; ``retry_after`` is the
    number of seconds until the quota frees up by itself (a job's destruction), when known."""

    status_code = 429

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class ServiceUnavailable(UWSError):
    status_code = 503


class StoreUnavailable(ServiceUnavailable):
    """The job store could not answer (its database is locked or unreadable): raised by the store in place of
    the database's own errors, so that the layers above never see SQLite; a 503 with a sentence."""

    def __init__(self, message: str = "The job store is busy; try again in a moment") -> None:
        super().__init__(message)
