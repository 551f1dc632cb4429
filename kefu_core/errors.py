"""Domain errors raised by services; crm_bridge.errors translates them at the edge into one shape."""

from __future__ import annotations

from typing import Any


class DomainError(Exception):
    """Base of the errors a service raises; the edge maps each to one HTTP status."""

    status_code = 400
    code = "bad_request"

    def __init__(self, message: str, *, details: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.details = details


class Invalid(DomainError):
    """The request is well-formed but its content is not acceptable."""

    status_code = 422
    code = "invalid_request"


class NotFound(DomainError):
    """The thing asked for does not exist."""

    status_code = 404
    code = "not_found"


class Conflict(DomainError):
    """The request clashes with the current state."""

    status_code = 409
    code = "conflict"


class TooManyRequests(DomainError):
    """The caller is over a rate limit; details.retry_after_s says when to try again."""

    status_code = 429
    code = "rate_limited"


class Unavailable(DomainError):
    """A part kefu depends on is down."""

    status_code = 503
    code = "unavailable"
