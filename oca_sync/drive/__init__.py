"""Google Drive: the v3 client (and, later, the archive: stream, verify, share).

:class:`DriveClient` is the one way the tool talks to Drive; its errors are in
:mod:`oca_sync.drive.errors`. See ``docs/drive.md`` for the set-up.
"""

from .client import (
    CHUNK_MULTIPLE,
    DEFAULT_CHUNK_SIZE,
    DRIVE_SCOPE,
    FILE_FIELDS,
    FOLDER_MIME,
    KEY_PROPERTY,
    MULTIPART_MAX,
    PERMISSION_FIELDS,
    DriveClient,
    DriveStats,
    ReadAt,
    StreamReader,
    app_property_clause,
    check_app_properties,
    escape_q,
    file_reader,
    load_discovery_document,
    quote_q,
    range_end,
)
from .errors import (
    DriveAuthError,
    DriveChecksumMismatch,
    DriveError,
    DriveNotFound,
    DriveRateLimited,
    DriveServerError,
    DriveTransportError,
    DriveUploadExpired,
    parse_error_body,
)

__all__ = [
    "CHUNK_MULTIPLE",
    "DEFAULT_CHUNK_SIZE",
    "DRIVE_SCOPE",
    "FILE_FIELDS",
    "FOLDER_MIME",
    "KEY_PROPERTY",
    "MULTIPART_MAX",
    "PERMISSION_FIELDS",
    "DriveAuthError",
    "DriveChecksumMismatch",
    "DriveClient",
    "DriveError",
    "DriveNotFound",
    "DriveRateLimited",
    "DriveServerError",
    "DriveStats",
    "DriveTransportError",
    "DriveUploadExpired",
    "ReadAt",
    "StreamReader",
    "app_property_clause",
    "check_app_properties",
    "escape_q",
    "file_reader",
    "load_discovery_document",
    "parse_error_body",
    "quote_q",
    "range_end",
]
