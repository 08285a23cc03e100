"""Errors of the Zoom client, in the one hierarchy of :mod:`oca_sync.errors`.

Every error the client raises is a :class:`ZoomError` (a
:class:`~oca_sync.errors.RemoteError`), except
:class:`~oca_sync.errors.WriteOutcomeUnknown`, which the whole tool shares.
Zoom answers errors with ``{"code": N, "message": "..."}``; both are kept on the
error (``code``, ``zoom_message``) together with the HTTP status. Messages never
contain the client secret or an access token (the client redacts them).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ..errors import RemoteError

__all__ = [
    "ZoomAuthError",
    "ZoomDailyLimitReached",
    "ZoomError",
    "ZoomNotFound",
    "ZoomRateLimited",
    "ZoomServerError",
    "ZoomTransportError",
]


class ZoomError(RemoteError):
    """Zoom refused or failed a request.

    ``status`` is the HTTP status (None when no answer came), ``code`` and
    ``zoom_message`` are Zoom's error body, ``errors`` its per-field list
    (code 300 "Validation Failed."), ``operation`` what we asked
    (``"POST /users/{userId}/meetings"``).
    """

    service = "zoom"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        code: int | None = None,
        zoom_message: str | None = None,
        errors: list[dict[str, Any]] | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.zoom_message = zoom_message
        self.errors = errors or []
        self.operation = operation


class ZoomAuthError(ZoomError):
    """The credentials or the token were refused, or a scope is missing.

    Raised when the OAuth server refuses the app's credentials, when a request
    is still refused (401) with a fresh token, and for Zoom's scope errors
    (code 4700/4711 "Invalid access token, does not contain scopes").
    """


class ZoomNotFound(ZoomError):
    """The user, meeting or recording does not exist (HTTP 404, e.g. code 3001 or 3301)."""


class ZoomRateLimited(ZoomError):
    """Zoom's per-second rate limit (HTTP 429) persisted through every retry.

    ``retry_after`` is the wait Zoom asked for, in seconds, when it said.
    """

    def __init__(self, message: str, *, retry_after: float | None = None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.retry_after = retry_after


class ZoomDailyLimitReached(ZoomError):
    """A daily limit is used up, e.g. 100 meeting creates/updates per host per day.

    It is not retried: nothing will succeed before ``resets_at`` (UTC; Zoom's
    daily limits reset at 00:00 UTC).
    """

    def __init__(self, message: str, *, resets_at: datetime, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.resets_at = resets_at


class ZoomTransportError(ZoomError):
    """Zoom could not be reached, or answered something that is not its API."""


class ZoomServerError(ZoomTransportError):
    """Zoom kept answering 5xx to a request that was retried as far as allowed."""
