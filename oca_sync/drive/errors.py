"""Errors of the Drive client, in the one hierarchy of :mod:`oca_sync.errors`.

Every error the client raises is a :class:`DriveError` (a
:class:`~oca_sync.errors.RemoteError`), except
:class:`~oca_sync.errors.WriteOutcomeUnknown`, which the whole tool shares.

Drive answers errors with Google's JSON error body::

    {"error": {"code": 404, "message": "File not found: 1AbC.",
               "errors": [{"domain": "global", "reason": "notFound", "message": "File not found: 1AbC."}]}}

The HTTP status, the first ``reason`` and ``domain`` and the message are kept
on the error (``status``, ``reason``, ``domain``, ``drive_message``) together
with what we asked (``operation``, e.g. ``"drive.files.create"``). Messages
never contain a token, a key or a resumable session URI.
"""

from __future__ import annotations

import json
from typing import Any

from ..errors import RemoteError

__all__ = [
    "DriveAuthError",
    "DriveChecksumMismatch",
    "DriveError",
    "DriveLimitExceeded",
    "DriveNotFound",
    "DriveRateLimited",
    "DriveServerError",
    "DriveTransportError",
    "DriveUploadExpired",
    "parse_error_body",
]


class DriveError(RemoteError):
    """Drive refused or failed a request.

    ``status`` is the HTTP status (None when no answer came), ``reason`` and
    ``domain`` come from the first entry of Drive's ``errors`` list (e.g.
    ``notFound`` / ``global``, ``userRateLimitExceeded`` / ``usageLimits``,
    ``storageQuotaExceeded``), ``drive_message`` is Drive's ``message``.
    """

    service = "drive"

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        domain: str | None = None,
        drive_message: str | None = None,
        operation: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason
        self.domain = domain
        self.drive_message = drive_message
        self.operation = operation


class DriveAuthError(DriveError):
    """The credentials were refused (401), cannot be refreshed, or lack a scope.

    Also raised for 403 answers that are about the app or the token rather than
    the file: ``insufficientPermissions`` (scope), ``accessNotConfigured``
    (Drive API not enabled in the Cloud project).
    """


class DriveLimitExceeded(DriveError, ValueError):
    """A value is over one of Drive's limits: refused before any call by the client, or answered by
    Drive (403 ``propertyLengthLimitExceeded``: an ``appProperties`` key plus value over 124 bytes of
    UTF-8; 403 ``propertyCountLimitExceeded``: over 30 per app). Not retried: the request must change.
    """


class DriveNotFound(DriveError):
    """The file or folder does not exist, or is invisible to these credentials (404 ``notFound``).

    Drive also answers 404 for an item of a shared drive the account is not a
    member of, or when ``supportsAllDrives`` is missing.
    """


class DriveRateLimited(DriveError):
    """Drive kept answering 429, or 403 ``userRateLimitExceeded`` / ``rateLimitExceeded``,
    after every retry the client allows."""


class DriveTransportError(DriveError):
    """Drive could not be reached (connection refused, reset or timed out) after the retries."""


class DriveServerError(DriveTransportError):
    """Drive kept answering 5xx after the retries."""


class DriveUploadExpired(DriveError):
    """The resumable upload session is gone (404 or 410 on the session URI).

    Sessions expire (Drive keeps them about a week) or are abandoned by the
    server; start a new one with :meth:`~oca_sync.drive.DriveClient.start_resumable`
    and upload from byte 0.
    """


class DriveChecksumMismatch(DriveError):
    """An upload completed but Drive's ``md5Checksum`` (or ``size``) differs from what was sent.

    ``file`` is Drive's metadata of the (bad) file, so that the caller can trash
    it and upload again; ``expected`` and ``actual`` are the two MD5 digests (hex).
    """

    def __init__(self, message: str, *, file: dict[str, Any], expected: str, actual: str | None, **kw: Any) -> None:
        super().__init__(message, **kw)
        self.file = file
        self.expected = expected
        self.actual = actual


def parse_error_body(content: bytes | str | None) -> tuple[str | None, str | None, str | None]:
    """``(message, reason, domain)`` from Google's JSON error body; Nones when it is not one.

    Tolerates the variants Google APIs send: ``errors`` missing (then ``status``,
    e.g. ``"PERMISSION_DENIED"``, stands in for the reason), a list of errors
    at the top level, or plain text.
    """
    if not content:
        return None, None, None
    try:
        data = json.loads(content)
    except (ValueError, UnicodeDecodeError):
        return None, None, None
    if isinstance(data, list) and data:
        data = data[0]
    if not isinstance(data, dict) or not isinstance(data.get("error"), dict):
        return None, None, None
    err = data["error"]
    message = err.get("message") if isinstance(err.get("message"), str) else None
    reason = domain = None
    errors = err.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        first = errors[0]
        reason = first.get("reason") if isinstance(first.get("reason"), str) else None
        domain = first.get("domain") if isinstance(first.get("domain"), str) else None
        if message is None and isinstance(first.get("message"), str):
            message = first["message"]
    if reason is None and isinstance(err.get("status"), str):
        reason = err["status"]
    return message, reason, domain
