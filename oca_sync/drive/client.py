"""Thin client of the Google Drive API v3: metadata through google-api-python-client,
resumable uploads on the wire, retries and error mapping in one place.

It owns everything about talking to Drive; callers never loop on errors.

**Building.** The service is built with ``googleapiclient.discovery.build_from_document``
from the Drive v3 discovery document that ships inside google-api-python-client
(``googleapiclient/discovery_cache/documents/drive.v3.json``), so nothing is
fetched at start-up. To target the emulator, ``rootUrl`` and ``mtlsRootUrl``
of that document are replaced: media uploads are built from ``rootUrl``
(``{rootUrl}upload/drive/v3/files``), so the ``api_endpoint`` client option
alone would leave them pointing at Google.

**One transport.** Every request, the discovery client's included, goes through
one ``google.auth.transport.requests.AuthorizedSession`` (requests + token
refresh): :class:`_RequestsHttp` is the small ``httplib2``-shaped adapter the
discovery client calls. Why not httplib2: it silently sends a request a second
time when a kept-alive connection drops before the answer (``_conn_request``
retries on ``BadStatusLine``), which for a ``files.create`` means a duplicate
folder that no caller can see coming.

**Retries** (:meth:`DriveClient._call`, :meth:`DriveClient._raw`), after
Drive's "Resolve errors" guide and googleapiclient's own ``_should_retry_response``:

* 429, and 403 with reason ``userRateLimitExceeded`` or ``rateLimitExceeded``:
  the request was refused, so any method may be repeated. Truncated exponential
  backoff with jitter (``Retry-After`` honoured when given), at most
  :attr:`DriveClient.max_attempts` tries, then :class:`DriveRateLimited`.
* 5xx, dropped connections, timeouts, answers that are not JSON: reads, updates (PATCH) and permission
  creates (one permission per grantee: a repeat returns the same one) are
  repeated. A ``files.create`` may have happened although the answer was lost,
  so before sending it again the client looks for the object by its
  ``appProperties`` key (``recheck``); without a key it raises
  :class:`~oca_sync.errors.WriteOutcomeUnknown` instead of risking a duplicate.
* Everything else maps to a typed error carrying Drive's ``reason``
  (:mod:`oca_sync.drive.errors`).

**Resumable uploads.** :meth:`DriveClient.start_resumable` returns the session
URI (the caller persists it to resume in another process);
:meth:`DriveClient.upload_status` asks the session how far it got;
:meth:`DriveClient.upload_chunks` sends the rest. The data come from a
``read_at(offset, length) -> bytes`` callable rather than an iterator, because
after a failure (or a 308 whose ``Range`` shows the server kept fewer bytes
than were sent) the upload continues from the *server's* offset, which the
client cannot know in advance. The offsets asked for never decrease, so a
forward-only source only has to keep the current chunk (:class:`StreamReader`);
a file uses :func:`file_reader`. At most one chunk is in memory; with a
:class:`~oca_sync.drive.readahead.ReadAhead` (a download read ahead in a
thread), none: its chunks stream as they arrive.

Credentials, access tokens and session URIs never appear in logs, exceptions or
``repr`` (a session URI is a capability: whoever has it can write to the upload).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import random
import re
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache, partial
from importlib import resources
from typing import Any
from urllib.parse import urlencode

import google.auth.exceptions
import httplib2
import requests
from google.auth.credentials import Credentials
from google.auth.transport.requests import AuthorizedSession
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError
from googleapiclient.http import HttpRequest
from googleapiclient.model import JsonModel

from .. import __version__, logsafe
from ..callstats import CallStats
from ..errors import ConfigError, WriteOutcomeUnknown
from ..netcause import specific
from .readahead import Chunk
from .errors import (
    DriveAuthError,
    DriveChecksumMismatch,
    DriveError,
    DriveLimitExceeded,
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
    "DriveClient",
    "DriveStats",
    "ReadAt",
    "StreamReader",
    "app_property_clause",
    "check_app_properties",
    "escape_q",
    "file_reader",
    "load_discovery_document",
    "quote_q",
    "range_end",
]

log = logging.getLogger("oca_sync.drive")

#: Full Drive access: needed to write into a shared drive and to share.
DRIVE_SCOPE = "https://www.googleapis.com/auth/drive"
FOLDER_MIME = "application/vnd.google-apps.folder"
#: Every chunk of a resumable upload but the last is a multiple of this (256 KiB).
CHUNK_MULTIPLE = 256 * 1024
DEFAULT_CHUNK_SIZE = 32 * CHUNK_MULTIPLE  # 8 MiB
#: :meth:`DriveClient.create_file` (multipart, whole body in memory) takes at most this.
MULTIPART_MAX = 5 * 1024 * 1024
#: The file fields the client asks for by default (Drive returns only id, name, mimeType, kind otherwise).
FILE_FIELDS = "id, name, mimeType, parents, size, md5Checksum, webViewLink, appProperties, trashed, driveId, createdTime"
PERMISSION_FIELDS = "id, type, role, emailAddress, domain"
#: The ``appProperties`` key that :meth:`DriveClient.ensure_folder` looks folders up by, when present.
KEY_PROPERTY = "ocaKey"

_RATE_LIMIT_REASONS = frozenset({"userRateLimitExceeded", "rateLimitExceeded"})
# 403 answers about the token or the project rather than the file.
_AUTH_403_REASONS = frozenset({"insufficientPermissions", "accessNotConfigured", "authError", "forbiddenScope"})
_PROPERTY_MAX_BYTES = 124
# 403 answers about a value over a limit (the request must change; never retried).
_LIMIT_REASONS = frozenset({"propertyLengthLimitExceeded", "propertyCountLimitExceeded"})

#: ``read_at(offset, length)``: bytes-like, or a :class:`~oca_sync.drive.readahead.Chunk` streamed as it comes.
_JSON = JsonModel(data_wrapper=False)  # parses answers (and raises HttpError) for hand-built requests
ReadAt = Callable[[int, int], "bytes | memoryview | Chunk"]
Progress = Callable[[int, int], None]


# --------------------------------------------------------------------------- #
# Small pure helpers (unit-tested on their own)
# --------------------------------------------------------------------------- #


def escape_q(value: str) -> str:
    """``value`` escaped for a single-quoted string in a Drive ``q``: ``\\`` → ``\\\\``, ``'`` → ``\\'``."""
    return value.replace("\\", "\\\\").replace("'", "\\'")


def quote_q(value: str) -> str:
    """``value`` as a quoted Drive query string: ``Valentine's Day`` → ``'Valentine\\'s Day'``."""
    return "'" + escape_q(value) + "'"


def app_property_clause(key: str, value: str) -> str:
    """``appProperties has { key='…' and value='…' }`` with both parts escaped."""
    return f"appProperties has {{ key={quote_q(key)} and value={quote_q(value)} }}"


def check_app_properties(props: Mapping[str, Any] | None) -> dict[str, Any]:
    """Validate ``appProperties`` before any call: string keys, string values (or None
    to delete one in an update), key + value at most 124 bytes of UTF-8, at most 30."""
    out: dict[str, Any] = {}
    for key, value in (props or {}).items():
        if not isinstance(key, str) or not key:
            raise ValueError(f"appProperties keys are non-empty strings, not {key!r}")
        if value is not None and not isinstance(value, str):
            raise ValueError(f"appProperties[{key!r}] must be a string (or None to delete it), not {type(value).__name__}")
        size = len(key.encode()) + len((value or "").encode())
        if size > _PROPERTY_MAX_BYTES:
            raise DriveLimitExceeded(f"appProperties[{key!r}]: key + value are {size} bytes of UTF-8; Drive allows "
                                     "124", reason="propertyLengthLimitExceeded")
        out[key] = value
    if len(out) > 30:
        raise DriveLimitExceeded(f"{len(out)} appProperties; Drive allows 30 private properties per app and file",
                                 reason="propertyCountLimitExceeded")
    return out


def range_end(header: str | None) -> int:
    """The next offset from a 308's ``Range: bytes=0-N`` (N + 1), 0 when absent."""
    if not header:
        return 0
    unit, _, spec = header.strip().partition("=")
    first, _, last = spec.partition("-")
    if unit.strip().lower() != "bytes" or first.strip() != "0" or not last.strip().isdigit():
        raise ValueError(f"unexpected Range header in a resumable upload answer: {header!r}")
    return int(last) + 1


@lru_cache(maxsize=1)
def _discovery_text() -> str:
    doc = resources.files("googleapiclient.discovery_cache").joinpath("documents", "drive.v3.json")
    return doc.read_text(encoding="utf-8")


def load_discovery_document(root_url: str | None = None) -> dict[str, Any]:
    """Drive v3's discovery document from google-api-python-client, ``rootUrl`` replaced if given.

    ``root_url`` is the server's base (``http://127.0.0.1:8765/``); ``mtlsRootUrl``
    and ``baseUrl`` follow it, so that API calls *and* media uploads go there.
    """
    doc: dict[str, Any] = json.loads(_discovery_text())
    if root_url:
        root = root_url.rstrip("/") + "/"
        doc["rootUrl"] = root
        doc["mtlsRootUrl"] = root
        doc["baseUrl"] = root + doc["servicePath"]
    return doc


class StreamReader:
    """A ``read_at`` over a forward-only stream of byte chunks (e.g. a download).

    :meth:`DriveClient.upload_chunks` asks for offsets that never decrease, so
    only the bytes from the last offset asked for onwards are kept. ``start``
    is the stream's first offset (when resuming from the middle).
    """

    def __init__(self, chunks: Iterable[bytes], start: int = 0) -> None:
        self._it: Iterator[bytes] = iter(chunks)
        self._buf = bytearray()
        self._base = start  # the offset of _buf[0]

    def __call__(self, offset: int, length: int) -> bytes:
        if offset < self._base:
            raise ValueError(f"offset {offset} was already dropped from the stream (now at {self._base})")
        while self._base + len(self._buf) < offset + length:
            try:
                self._buf += next(self._it)
            except StopIteration:
                break
        drop = min(offset - self._base, len(self._buf))
        del self._buf[:drop]
        self._base += drop
        if self._base < offset:  # the stream ended before offset
            return b""
        return bytes(self._buf[:length])


@contextmanager
def file_reader(path: str | os.PathLike[str]) -> Iterator[ReadAt]:
    """``with file_reader(path) as read_at:`` a ``read_at`` on a local file (``os.pread``)."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_BINARY", 0))
    try:
        yield lambda offset, length: os.pread(fd, length, offset)
    finally:
        os.close(fd)


def _short(e: BaseException) -> str:
    """An exception for a log line: short, and without a session URI's ``upload_id`` (a credential)."""
    cause = specific(e)  # "connection refused", "host name not resolved", a TLS problem …
    if cause:
        return cause
    text = re.sub(r"upload_id=[^&\s'\")]+", "upload_id=***", f"{type(e).__name__}: {e}")
    return text if len(text) < 200 else text[:200] + "…"


def _never_sent(e: BaseException) -> bool:
    """True when the TCP connection was never established (refused, DNS, connect timeout)."""
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return True
    text = repr(e)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError"))


class _NotJson(Exception):
    """Internal: a 2xx answer that is not a JSON object."""


def _json(content: bytes) -> Any:
    try:
        return json.loads(content) if content else {}
    except (ValueError, UnicodeDecodeError):
        return None


# --------------------------------------------------------------------------- #
# The transport the discovery client calls
# --------------------------------------------------------------------------- #


class _RequestsHttp:
    """The ``http`` object googleapiclient calls (``request(uri, method, body, headers)``
    → ``(httplib2.Response, bytes)``), on an ``AuthorizedSession``."""

    def __init__(self, session: requests.Session, timeout: float) -> None:
        self.session = session
        self.timeout = timeout

    def request(self, uri: str, method: str = "GET", body: bytes | str | None = None,
                headers: Mapping[str, str] | None = None, redirections: int = 5,
                connection_type: Any = None) -> tuple[httplib2.Response, bytes]:
        data = body.encode("utf-8") if isinstance(body, str) else body
        resp = self.session.request(method, uri, data=data, headers=dict(headers or {}), timeout=self.timeout)
        info = {k.lower(): v for k, v in resp.headers.items()}
        info["status"] = str(resp.status_code)
        return httplib2.Response(info), resp.content


# --------------------------------------------------------------------------- #
# The client
# --------------------------------------------------------------------------- #


@dataclass
class DriveStats(CallStats):
    """Counts of calls made, and of the bytes of resumable uploads."""

    #: bytes PUT in resumable chunks (including any re-sent)
    bytes_sent: int = 0
    #: bytes the server confirmed (308 ``Range`` growth or completion)
    bytes_confirmed: int = 0

    def sent(self, n: int) -> None:
        self._add("bytes_sent", n)

    def confirmed(self, n: int) -> None:
        self._add("bytes_confirmed", n)

    @property
    def bytes_resent(self) -> int:
        return max(0, self.bytes_sent - self.bytes_confirmed)


class DriveClient:
    """Google Drive v3 as one account sees it (a service account, or a user).

    >>> drive = DriveClient.from_service_account_file("key.json", shared_drive_id="0AbC")  # doctest: +SKIP
    >>> folder = drive.ensure_folder("Training", "0AbC", {"ocaKey": "oca2022/training"})  # doctest: +SKIP

    ``shared_drive_id`` restricts listings to that shared drive (``corpora=drive``).
    ``sleep`` and ``jitter`` are injectable for tests; not thread-safe across
    uploads to the same session.
    """

    def __init__(
        self,
        credentials: Credentials,
        *,
        root_url: str | None = None,
        shared_drive_id: str | None = None,
        timeout: float = 60.0,
        max_attempts: int = 6,
        backoff: float = 1.0,
        max_backoff: float = 32.0,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        jitter: Callable[[], float] = random.random,
        session: requests.Session | None = None,
    ) -> None:
        _check_chunk_size(chunk_size)
        if max_attempts < 1:
            raise ValueError("max_attempts must be at least 1")
        self.shared_drive_id = shared_drive_id
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.chunk_size = chunk_size
        self._sleep = sleep
        self._jitter = jitter
        self._credentials = credentials
        self.session: requests.Session = session or AuthorizedSession(credentials)  # type: ignore[no-untyped-call]
        self.session.headers["User-Agent"] = f"oca-sync/{__version__}"
        doc = load_discovery_document(root_url)
        self.root_url: str = doc["rootUrl"]
        self._upload_url = f"{doc['rootUrl']}upload/{doc['servicePath']}files"
        self.service = build_from_document(doc, http=_RequestsHttp(self.session, timeout))
        # Built once: each ``service.files()`` builds a new Resource with every method and its docs
        # (1.6 ms of CPU, about as much as the call itself on a near server).
        self._files = self.service.files()
        self._permissions = self.service.permissions()
        self.stats = DriveStats()

    # -- constructors ------------------------------------------------------------

    @classmethod
    def from_service_account_file(
        cls, path: str | os.PathLike[str], *, subject: str | None = None, root_url: str | None = None,
        **kw: Any,
    ) -> DriveClient:
        """A service account's JSON key; ``subject`` = the user to impersonate (domain-wide delegation)."""
        from google.oauth2 import service_account

        try:
            creds = service_account.Credentials.from_service_account_file(  # type: ignore[no-untyped-call]
                os.fspath(path), scopes=[DRIVE_SCOPE])
        except (OSError, ValueError, KeyError) as e:
            # The message names the file, never its contents.
            raise ConfigError(f"cannot read the service account key {os.fspath(path)!r} "
                              f"(OCA_DRIVE_CREDENTIALS): {type(e).__name__}") from None
        if subject:
            creds = creds.with_subject(subject)
        return cls(creds, root_url=root_url, **kw)

    @classmethod
    def from_authorized_user_file(
        cls, path: str | os.PathLike[str], *, root_url: str | None = None, **kw: Any,
    ) -> DriveClient:
        """An OAuth user's ``authorized_user`` JSON (client id, secret, refresh token)."""
        from google.oauth2.credentials import Credentials as UserCredentials

        try:
            creds = UserCredentials.from_authorized_user_file(  # type: ignore[no-untyped-call]
                os.fspath(path), scopes=[DRIVE_SCOPE])
        except (OSError, ValueError, KeyError) as e:
            raise ConfigError(f"cannot read the authorized user file {os.fspath(path)!r}: {type(e).__name__}") from None
        logsafe.register(creds.refresh_token, creds.client_secret)
        return cls(creds, root_url=root_url, **kw)

    @classmethod
    def for_sandbox(cls, root_url: str, token: str, **kw: Any) -> DriveClient:
        """The emulator (:class:`oca_sync.sandbox.drive.DriveSandbox`): a fixed bearer token, no refresh."""
        from google.oauth2.credentials import Credentials as UserCredentials

        logsafe.register(token)
        return cls(UserCredentials(token=token), root_url=root_url, **kw)  # type: ignore[no-untyped-call]

    def __repr__(self) -> str:  # never shows credentials or a token
        return f"DriveClient(root_url={self.root_url!r}, shared_drive_id={self.shared_drive_id!r})"

    # -- waiting and errors ------------------------------------------------------------

    def _wait(self, attempt: int, operation: str, cause: str, retry_after: str | None = None) -> None:
        base = min(self.backoff * (2 ** (attempt - 1)), self.max_backoff)
        delay = base / 2 + self._jitter() * base / 2
        if retry_after and retry_after.strip().isdigit():
            delay = max(delay, min(float(retry_after), self.max_backoff))
        self.stats.retried()
        log.warning("Drive %s: %s; retrying in %.1fs (attempt %d of %d)", operation, cause, delay,
                    attempt + 1, self.max_attempts)
        self._sleep(delay)

    @staticmethod
    def _error(status: int, content: bytes, operation: str) -> DriveError:
        """The typed error for a final (not retried) HTTP error answer."""
        message, reason, domain = parse_error_body(content)
        text = f"Drive {operation}: HTTP {status}"
        if reason:
            text += f" {reason}"
        if message:
            text += f": {message}"
        if reason == "storageQuotaExceeded":
            text += (" (a service account has no storage of its own: archive into a shared drive "
                     "where it is a Content manager, or use domain-wide delegation; see docs/drive.md)")
        kw: dict[str, Any] = {"status": status, "reason": reason, "domain": domain, "drive_message": message,
                              "operation": operation}
        if status == 401 or (status == 403 and reason in _AUTH_403_REASONS):
            return DriveAuthError(text, **kw)
        if status == 404:
            return DriveNotFound(text, **kw)
        if reason in _LIMIT_REASONS:
            return DriveLimitExceeded(text, **kw)
        if status == 429 or (status == 403 and reason in _RATE_LIMIT_REASONS):
            return DriveRateLimited(text, **kw)
        if status >= 500:
            return DriveServerError(text, **kw)
        return DriveError(text, **kw)

    @staticmethod
    def _retryable(status: int, content: bytes) -> bool:
        if status >= 500 or status == 429:
            return True
        return status == 403 and parse_error_body(content)[1] in _RATE_LIMIT_REASONS

    def _call(
        self,
        operation: str,
        build: Callable[[], HttpRequest],
        *,
        create: bool = False,
        recheck: Callable[[], dict[str, Any] | None] | None = None,
    ) -> dict[str, Any]:
        """Execute a discovery-client request with the retry policy of the module docstring.

        ``create``: the request creates something, so a lost answer is ambiguous;
        ``recheck`` then looks for what it would have created (None: not there).
        """
        attempt = 0
        while True:
            attempt += 1
            self.stats.count(operation)
            try:
                result = build().execute(num_retries=0)
                if not isinstance(result, dict):
                    raise _NotJson(operation)
            except HttpError as e:
                status, content = int(e.resp.status), bytes(e.content or b"")
                if not self._retryable(status, content) or attempt >= self.max_attempts:
                    raise self._error(status, content, operation) from None
                cause = f"HTTP {status} {parse_error_body(content)[1] or ''}".strip()
                ambiguous = create and status >= 500
                if ambiguous and recheck is None:
                    raise WriteOutcomeUnknown(operation, cause) from None
                self._wait(attempt, operation, cause, e.resp.get("retry-after"))
                if ambiguous and recheck is not None:
                    found = self._recheck(operation, recheck)
                    if found is not None:
                        return found
                continue
            except google.auth.exceptions.RefreshError as e:
                raise DriveAuthError(f"Drive {operation}: the credentials were refused and cannot be refreshed "
                                     f"({type(e).__name__})", status=401, operation=operation) from None
            except (requests.exceptions.RequestException, google.auth.exceptions.TransportError,
                    json.JSONDecodeError, UnicodeDecodeError, _NotJson) as e:
                # A 2xx answer that is not a JSON object: garbled, cut off, or a proxy's page.
                garbled = isinstance(e, (json.JSONDecodeError, UnicodeDecodeError, _NotJson))
                cause = "the answer is not JSON" if garbled else _short(e)
                if attempt >= self.max_attempts:
                    raise DriveTransportError(
                        f"Drive {operation}: {cause} after {attempt} attempts" if garbled
                        else f"Drive {operation}: cannot reach {self.root_url} ({cause})", operation=operation) from None
                ambiguous = create and (garbled or not _never_sent(e))
                if ambiguous and recheck is None:
                    raise WriteOutcomeUnknown(operation, cause) from None
                self._wait(attempt, operation, cause)
                if ambiguous and recheck is not None:
                    found = self._recheck(operation, recheck)
                    if found is not None:
                        return found
                continue
            return result

    def _recheck(self, operation: str, recheck: Callable[[], dict[str, Any] | None]) -> dict[str, Any] | None:
        found = recheck()
        if found is not None:
            log.info("Drive %s: the answer was lost but the object exists; not sending it again", operation)
        return found

    def _raw(self, method: str, url: str, operation: str, *, data: bytes = b"",
             headers: Mapping[str, str] | None = None, expired_on_404: bool = False) -> requests.Response:
        """A request outside the discovery client (upload sessions), always safe to repeat.

        Answers 2xx and 308 are returned; 404/410 become :class:`DriveUploadExpired`
        when ``expired_on_404``; rate limits, 5xx and transport errors are retried.
        """
        attempt = 0
        while True:
            attempt += 1
            self.stats.count(operation)
            try:
                resp = self.session.request(method, url, data=data, headers=dict(headers or {}), timeout=self.timeout)
            except google.auth.exceptions.RefreshError as e:
                raise DriveAuthError(f"Drive {operation}: the credentials were refused and cannot be refreshed "
                                     f"({type(e).__name__})", status=401, operation=operation) from None
            except (requests.exceptions.RequestException, google.auth.exceptions.TransportError) as e:
                if attempt >= self.max_attempts:
                    raise DriveTransportError(f"Drive {operation}: cannot reach {self.root_url} ({_short(e)})",
                                              operation=operation) from None
                self._wait(attempt, operation, _short(e))
                continue
            status = resp.status_code
            if status < 300 or status == 308:
                return resp
            if expired_on_404 and status in (404, 410):
                _, reason, _ = parse_error_body(resp.content)
                raise DriveUploadExpired(
                    f"Drive {operation}: the resumable upload session is gone (HTTP {status}); start a new one",
                    status=status, reason=reason, operation=operation)
            if self._retryable(status, resp.content) and attempt < self.max_attempts:
                self._wait(attempt, operation, f"HTTP {status}", resp.headers.get("Retry-After"))
                continue
            raise self._error(status, resp.content, operation)

    # -- listings ----------------------------------------------------------------------

    def _list_params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"supportsAllDrives": True, "includeItemsFromAllDrives": True}
        if self.shared_drive_id:
            params.update(corpora="drive", driveId=self.shared_drive_id)
        return params

    def find_files(self, q: str, fields: str = FILE_FIELDS, *, order_by: str | None = "createdTime",
                   page_size: int = 1000) -> list[dict[str, Any]]:
        """Every file matching the Drive query ``q`` (all pages), with ``fields`` of each file.

        Build ``q`` with :func:`quote_q` / :func:`app_property_clause`. Trashed files
        match too unless ``q`` says ``trashed = false``.
        """
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params = self._list_params()
            params.update(q=q, fields=f"nextPageToken, files({fields})", pageSize=page_size)
            if order_by:
                params["orderBy"] = order_by
            if token:
                params["pageToken"] = token
            page = self._call("drive.files.list", partial(self._files.list, **params))
            out.extend(page.get("files", []))
            token = page.get("nextPageToken")
            if not token:
                return out

    def find_by_app_property(self, key: str, value: str, parent_id: str | None = None,
                             mime_type: str | None = None, *, fields: str = FILE_FIELDS) -> list[dict[str, Any]]:
        """Untrashed files whose ``appProperties[key] == value`` (in ``parent_id``, of ``mime_type``)."""
        clauses = [app_property_clause(key, value), "trashed = false"]
        if parent_id:
            clauses.append(f"{quote_q(parent_id)} in parents")
        if mime_type:
            clauses.append(f"mimeType = {quote_q(mime_type)}")
        return self.find_files(" and ".join(clauses), fields)

    def find_by_app_property_values(self, key: str, values: Sequence[str], mime_type: str | None = None, *,
                                    batch: int = 20, fields: str = FILE_FIELDS) -> dict[str, list[dict[str, Any]]]:
        """Untrashed files by ``appProperties[key]`` for many values: one query per ``batch`` values (an
        ``or`` of clauses; Drive's query language allows it) instead of one per value. Every value asked
        for is in the answer, with ``[]`` when no file carries it."""
        out: dict[str, list[dict[str, Any]]] = {v: [] for v in values}
        unique = list(out)
        for i in range(0, len(unique), batch):
            part = unique[i:i + batch]
            clauses = ["(" + " or ".join(app_property_clause(key, v) for v in part) + ")", "trashed = false"]
            if mime_type:
                clauses.append(f"mimeType = {quote_q(mime_type)}")
            for f in self.find_files(" and ".join(clauses), fields):
                value = (f.get("appProperties") or {}).get(key)
                if value in out:
                    out[value].append(f)
        return out

    # -- files -------------------------------------------------------------------------

    def get_file(self, file_id: str, fields: str = FILE_FIELDS) -> dict[str, Any]:
        return self._call("drive.files.get", lambda: self._files.get(
            fileId=file_id, fields=fields, supportsAllDrives=True))

    def update_file(self, file_id: str, body: Mapping[str, Any], *, fields: str = FILE_FIELDS) -> dict[str, Any]:
        """PATCH metadata, e.g. ``{"appProperties": {"k": "v", "old": None}}`` (None deletes a key)."""
        if "appProperties" in body:
            check_app_properties(body["appProperties"])
        return self._call("drive.files.update", lambda: self._files.update(
            fileId=file_id, body=dict(body), fields=fields, supportsAllDrives=True))

    def trash_file(self, file_id: str) -> dict[str, Any]:
        """Move to the trash (recoverable for 30 days); repeating it is harmless."""
        return self.update_file(file_id, {"trashed": True})

    def ensure_folder(self, name: str, parent_id: str, app_properties: Mapping[str, str] | None = None,
                      *, key: str = KEY_PROPERTY) -> dict[str, Any]:
        """The folder carrying our key, created under ``parent_id`` if there is none.

        The lookup uses ``app_properties[key]`` when present (anywhere in the
        drive, so a folder moved by hand is still found; one in ``parent_id`` is
        preferred), else every entry of ``app_properties``, else the name in
        ``parent_id``. Returns the folder's metadata (id, name, webViewLink, ...).
        """
        props = check_app_properties(app_properties)

        def lookup() -> dict[str, Any] | None:
            if key in props:
                found = self.find_by_app_property(key, props[key], mime_type=FOLDER_MIME)
            elif props:
                clauses = [app_property_clause(k, v) for k, v in props.items()]
                clauses += ["trashed = false", f"mimeType = {quote_q(FOLDER_MIME)}"]
                found = self.find_files(" and ".join(clauses))
            else:
                found = self.find_files(f"name = {quote_q(name)} and {quote_q(parent_id)} in parents and "
                                        f"mimeType = {quote_q(FOLDER_MIME)} and trashed = false")
            if not found:
                return None
            here = [f for f in found if parent_id in (f.get("parents") or [])]
            if len(found) > 1:
                log.warning("Drive: %d folders carry the same key; using %s", len(found), (here or found)[0]["id"])
            return (here or found)[0]

        existing = lookup()
        if existing is not None:
            return existing
        return self._create_folder(name, parent_id, props, lookup if props else None)

    def create_folder(self, name: str, parent_id: str, app_properties: Mapping[str, str], *,
                      key: str = KEY_PROPERTY) -> dict[str, Any]:
        """A new folder carrying ``app_properties``, for a caller that has just looked for it by
        ``app_properties[key]`` (:meth:`ensure_folder` would look again). A lost answer is resolved
        by that lookup, so the folder is never made twice."""
        props = check_app_properties(app_properties)
        if key not in props:
            raise ValueError(f"create_folder needs app_properties[{key!r}] to find the folder after a lost answer")

        def lookup() -> dict[str, Any] | None:
            found = self.find_by_app_property(key, props[key], mime_type=FOLDER_MIME)
            here = [f for f in found if parent_id in (f.get("parents") or [])]
            return (here or found)[0] if found else None

        return self._create_folder(name, parent_id, props, lookup)

    def _create_folder(self, name: str, parent_id: str, props: dict[str, Any],
                       recheck: Callable[[], dict[str, Any] | None] | None) -> dict[str, Any]:
        body = {"name": name, "mimeType": FOLDER_MIME, "parents": [parent_id], "appProperties": props}
        return self._call(
            "drive.files.create",
            lambda: self._files.create(body=body, fields=FILE_FIELDS, supportsAllDrives=True),
            create=True, recheck=recheck,
        )

    def create_file(self, name: str, parent_id: str, mime_type: str, data: bytes,
                    app_properties: Mapping[str, str] | None = None) -> dict[str, Any]:
        """A small file in one multipart request (at most :data:`MULTIPART_MAX` bytes).

        With ``app_properties``, a lost answer is resolved by looking the file up
        (same properties, same MD5) before sending it again. The result's size and
        ``md5Checksum`` are checked (:class:`DriveChecksumMismatch`).
        """
        if len(data) > MULTIPART_MAX:
            raise ValueError(f"{len(data)} bytes is too large for a multipart upload; use the resumable upload")
        props = check_app_properties(app_properties)
        body = {"name": name, "parents": [parent_id], "mimeType": mime_type, "appProperties": props}
        md5 = hashlib.md5(data).hexdigest()

        def lookup() -> dict[str, Any] | None:
            clauses = [app_property_clause(k, v) for k, v in props.items()]
            clauses += ["trashed = false", f"{quote_q(parent_id)} in parents"]
            return next((f for f in self.find_files(" and ".join(clauses)) if f.get("md5Checksum") == md5), None)

        # The multipart body as Drive's guide shows it ("Perform a multipart upload": metadata part,
        # media part, multipart/related), built here: googleapiclient's own goes through the email
        # package, about 2 ms of CPU per file, which archives of many small files felt.
        boundary = "oca-sync-" + secrets.token_hex(16)
        while boundary.encode() in data:
            boundary = "oca-sync-" + secrets.token_hex(16)
        payload = b"".join([
            f"--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n".encode(),
            json.dumps(body, ensure_ascii=False).encode("utf-8"),
            f"\r\n--{boundary}\r\nContent-Type: {mime_type}\r\n\r\n".encode(), data,
            f"\r\n--{boundary}--\r\n".encode()])
        uri = f"{self._upload_url}?" + urlencode({"uploadType": "multipart", "supportsAllDrives": "true",
                                                   "fields": FILE_FIELDS, "alt": "json"})

        def build() -> HttpRequest:
            return HttpRequest(self.service._http, _JSON.response, uri, method="POST", body=payload,
                               headers={"Content-Type": f"multipart/related; boundary={boundary}",
                                        "Accept": "application/json"}, methodId="drive.files.create")

        created = self._call("drive.files.create", build, create=True, recheck=lookup if props else None)
        return self._verified(created, len(data), md5)

    # -- resumable uploads ---------------------------------------------------------

    def start_resumable(self, name: str, parent_id: str, mime_type: str, size: int,
                        app_properties: Mapping[str, str] | None = None, *, fields: str = FILE_FIELDS) -> str:
        """Open a resumable upload session; returns its URI (persist it to resume later).

        Opening a session creates no file (the file appears when the last byte
        arrives), so this request is always safe to repeat. ``fields`` is what
        the final answer of the upload will contain.
        """
        if size < 0:
            raise ValueError("size must be >= 0")
        props = check_app_properties(app_properties)
        query = urlencode({"uploadType": "resumable", "supportsAllDrives": "true", "fields": fields})
        meta = {"name": name, "parents": [parent_id], "mimeType": mime_type, "appProperties": props}
        resp = self._raw(
            "POST", f"{self._upload_url}?{query}", "drive.files.create (resumable)",
            data=json.dumps(meta, ensure_ascii=False).encode("utf-8"),
            headers={"Content-Type": "application/json; charset=UTF-8", "X-Upload-Content-Type": mime_type,
                     "X-Upload-Content-Length": str(size)},
        )
        location = resp.headers.get("Location")
        if not location:
            raise DriveError(f"Drive opened no resumable session (HTTP {resp.status_code} without Location)",
                             status=resp.status_code, operation="drive.files.create (resumable)")
        log.info("Drive: resumable upload of %r (%d bytes) started", name, size)
        return location

    def upload_status(self, session_uri: str, size: int | None) -> int | dict[str, Any]:
        """How far a session got: the next offset to send (308), or the finished file (200/201).

        ``PUT`` with an empty body and ``Content-Range: bytes */{size}``; a 308
        without ``Range`` means nothing was kept (0). Raises
        :class:`DriveUploadExpired` when the session is gone (404/410).
        """
        total = "*" if size is None else str(size)
        attempt = 0
        while True:
            attempt += 1
            resp = self._raw("PUT", session_uri, "drive.upload.status", data=b"",
                             headers={"Content-Range": f"bytes */{total}"}, expired_on_404=True)
            if resp.status_code == 308:
                return range_end(resp.headers.get("Range"))
            body = _json(resp.content)
            if isinstance(body, dict) and "id" in body:
                return body
            if attempt >= self.max_attempts:
                raise DriveError(f"Drive upload status: HTTP {resp.status_code} without file metadata",
                                 status=resp.status_code, operation="drive.upload.status")
            # A status query changes nothing: ask again (the answer was garbled or cut off).
            self._wait(attempt, "drive.upload.status", f"HTTP {resp.status_code} without file metadata")

    def upload_chunks(
        self,
        session_uri: str,
        read_at: ReadAt,
        *,
        size: int,
        offset: int = 0,
        chunk_size: int | None = None,
        on_progress: Progress | None = None,
        md5: str | None = None,
        hash_sent: bool = True,
    ) -> dict[str, Any]:
        """Send bytes ``[offset, size)`` to a resumable session; returns the file's metadata.

        ``read_at(offset, length)`` returns exactly ``length`` bytes at ``offset``
        (offsets asked for never decrease). Chunks are ``chunk_size`` bytes (a
        multiple of 256 KiB; the last may be shorter), each PUT with
        ``Content-Range: bytes a-b/size``. A 308 answer's ``Range`` is the truth:
        the next chunk starts where the server says, even if it kept less than
        was sent. After a 5xx, 429 or a broken connection the client waits,
        asks the session's status and continues from there, so only bytes the
        server does not have are sent again. ``on_progress(confirmed, size)``
        follows the server's confirmations.

        The result is checked: ``size`` must match, and ``md5Checksum`` must equal
        ``md5`` (hex) or, when the upload ran from byte 0 in this call, the MD5
        of the bytes sent; otherwise :class:`DriveChecksumMismatch` (carrying the
        file, so that it can be trashed). ``hash_sent=False`` skips that MD5, for a
        caller that hashes its source itself and checks the result (such as
        :class:`~oca_sync.drive.readahead.ReadAhead`, which hashes in its own thread).

        ``read_at`` may return bytes-like data or a
        :class:`~oca_sync.drive.readahead.Chunk`, which is streamed as it comes
        (and not hashed here: pass ``hash_sent=False`` and check the reader's
        :meth:`~oca_sync.drive.readahead.ReadAhead.finish`).
        """
        chunk = chunk_size or self.chunk_size
        _check_chunk_size(chunk)
        if size < 0 or not 0 <= offset <= size:
            raise ValueError(f"offset {offset} is outside [0, {size}]")
        operation = "drive.upload.chunk"
        uri = session_uri
        pos = offset
        hasher = hashlib.md5() if offset == 0 and hash_sent else None
        last: tuple[int, Any] = (pos, b"")
        failures = 0
        result: dict[str, Any] | None = None

        def confirm(new: int) -> None:
            nonlocal pos, hasher, failures
            start, sent = last
            if hasher is not None:
                if not isinstance(sent, (bytes, bytearray, memoryview)):
                    hasher = None  # a streamed Chunk cannot be read twice for free: its reader hashes
                elif pos == start and pos <= new <= start + len(sent):
                    hasher.update(sent[: new - start])
                elif new != pos:
                    hasher = None  # the server moved in a way these bytes cannot account for
            if new > pos:
                self.stats.confirmed(new - pos)
                failures = 0
            elif new < pos:
                log.warning("Drive: the upload session went back from byte %d to %d", pos, new)
            pos = new
            if on_progress is not None:
                on_progress(pos, size)

        def recover(cause: str) -> None:
            nonlocal failures, result
            failures += 1
            if failures >= self.max_attempts:
                raise DriveTransportError(f"Drive upload: no progress after {failures} attempts ({cause})",
                                          operation=operation)
            self._wait(failures, operation, cause)
            state = self.upload_status(uri, size)
            if isinstance(state, dict):
                confirm(size)
                result = state
            else:
                confirm(state)

        while result is None:
            if pos >= size:
                # Everything is there but the answer that finishes the upload was lost
                # (or the file is empty: then this status query completes it).
                state = self.upload_status(uri, size)
                if isinstance(state, dict):
                    confirm(size)
                    result = state
                    break
                if state >= size:
                    raise DriveError("Drive upload: the session holds every byte but made no file",
                                     operation=operation)
                confirm(state)
                continue
            n = min(chunk, size - pos)
            data = read_at(pos, n)
            if len(data) != n:
                raise ValueError(f"read_at({pos}, {n}) returned {len(data)} bytes: the source is shorter than {size}")
            last = (pos, data)
            self.stats.count(operation)
            try:
                body: Any = data  # a Chunk is an iterable of buffers with a length: streamed as it comes
                resp = self.session.request("PUT", uri, data=body, timeout=self.timeout,
                                            headers={"Content-Range": f"bytes {pos}-{pos + n - 1}/{size}"})
            except google.auth.exceptions.RefreshError as e:
                raise DriveAuthError(f"Drive upload: the credentials were refused and cannot be refreshed "
                                     f"({type(e).__name__})", status=401, operation=operation) from None
            except (requests.exceptions.RequestException, google.auth.exceptions.TransportError) as e:
                self.stats.sent(n)
                recover(_short(e))
                continue
            self.stats.sent(n)
            status = resp.status_code
            if status in (200, 201):
                body = _json(resp.content)
                if not isinstance(body, dict) or "id" not in body:
                    # The last chunk was taken but its answer is garbled: the session's status has the file.
                    recover(f"HTTP {status} without file metadata")
                    continue
                confirm(size)
                result = body
            elif status == 308:
                if resp.headers.get("Location"):
                    uri = resp.headers["Location"]
                before = pos
                confirm(range_end(resp.headers.get("Range")))
                if pos <= before:  # the server kept none of the chunk: count it as a failure
                    failures += 1
                    if failures >= self.max_attempts:
                        raise DriveTransportError(f"Drive upload: no progress after {failures} attempts "
                                                  "(the server keeps none of the chunks)", operation=operation)
                    self._wait(failures, operation, "308 without progress")
            elif status in (404, 410):
                raise DriveUploadExpired(f"Drive upload: the resumable session is gone (HTTP {status}); "
                                         "start a new one", status=status, operation=operation)
            elif self._retryable(status, resp.content):
                recover(f"HTTP {status}")
            else:
                raise self._error(status, resp.content, operation)

        expected = md5 or (hasher.hexdigest() if hasher is not None else None)
        return self._verified(result, size, expected)

    def _verified(self, file: dict[str, Any], size: int, expected: str | None) -> dict[str, Any]:
        if not {"size", "md5Checksum", "webViewLink"} <= set(file):
            file = {**file, **self.get_file(file["id"])}
        got_size = int(file.get("size", -1))
        actual = file.get("md5Checksum")
        if got_size != size or (expected and actual != expected):
            raise DriveChecksumMismatch(
                f"Drive file {file.get('id')} ({file.get('name')!r}) differs from what was sent: "
                f"{got_size} bytes, MD5 {actual}; expected {size} bytes, MD5 {expected or 'unknown'}",
                file=file, expected=expected or "", actual=actual, operation="drive.files.create",
            )
        log.info("Drive: uploaded %r (%d bytes, MD5 %s)", file.get("name"), size, actual)
        return file

    def upload(
        self,
        read_at: ReadAt,
        size: int,
        name: str,
        parent_id: str,
        mime_type: str,
        app_properties: Mapping[str, str] | None = None,
        *,
        session_uri: str | None = None,
        on_session: Callable[[str], None] | None = None,
        chunk_size: int | None = None,
        on_progress: Progress | None = None,
        md5: str | None = None,
    ) -> dict[str, Any]:
        """Start (or resume ``session_uri``) and finish a resumable upload.

        ``on_session(uri)`` is called with every new session URI before any byte
        is sent, for the caller to persist. A resumed session that expired is
        started again from byte 0.
        """
        offset = 0
        if session_uri:
            try:
                state = self.upload_status(session_uri, size)
            except DriveUploadExpired:
                log.info("Drive: the saved upload session expired; starting again")
                session_uri = None
            else:
                if isinstance(state, dict):
                    return self._verified(state, size, md5)
                offset = state
        if not session_uri:
            session_uri = self.start_resumable(name, parent_id, mime_type, size, app_properties)
            if on_session is not None:
                on_session(session_uri)
        return self.upload_chunks(session_uri, read_at, size=size, offset=offset, chunk_size=chunk_size,
                                  on_progress=on_progress, md5=md5)

    # -- permissions -----------------------------------------------------------------

    def create_permission(self, file_id: str, type: str, role: str, email_address: str | None = None,
                          domain: str | None = None, send_notification: bool = False) -> dict[str, Any]:
        """Share ``file_id`` (a folder's children inherit it). Repeating it is harmless:
        Drive keeps one permission per grantee."""
        if type in ("user", "group") and not email_address:
            raise ValueError(f"a {type} permission needs an email_address")
        if type == "domain" and not domain:
            raise ValueError("a domain permission needs a domain")
        body: dict[str, Any] = {"type": type, "role": role}
        if email_address:
            body["emailAddress"] = email_address
        if domain:
            body["domain"] = domain
        params: dict[str, Any] = {"fileId": file_id, "body": body, "fields": PERMISSION_FIELDS,
                                  "supportsAllDrives": True}
        # Drive allows sendNotificationEmail only for users and groups.
        if type in ("user", "group"):
            params["sendNotificationEmail"] = send_notification
        elif send_notification:
            raise ValueError("Drive sends notifications only for user and group permissions")
        return self._call("drive.permissions.create", lambda: self._permissions.create(**params))

    def list_permissions(self, file_id: str) -> list[dict[str, Any]]:
        out: list[dict[str, Any]] = []
        token: str | None = None
        while True:
            params: dict[str, Any] = {"fileId": file_id, "supportsAllDrives": True, "pageSize": 100,
                                      "fields": f"nextPageToken, permissions({PERMISSION_FIELDS})"}
            if token:
                params["pageToken"] = token
            page = self._call("drive.permissions.list", partial(self._permissions.list, **params))
            out.extend(page.get("permissions", []))
            token = page.get("nextPageToken")
            if not token:
                return out


def _check_chunk_size(chunk_size: int) -> None:
    if chunk_size <= 0 or chunk_size % CHUNK_MULTIPLE:
        raise ValueError(f"chunk_size {chunk_size} is not a positive multiple of 256 KiB ({CHUNK_MULTIPLE})")

