"""DriveSandbox: an HTTP server that answers like the Google Drive API v3, on 127.0.0.1.

It serves what :class:`oca_sync.drive.DriveClient` uses, shaped as the Drive v3
discovery document (shipped in google-api-python-client) and Drive's guides
describe it:

* ``GET /drive/v3/files`` — ``q`` (``name``, ``mimeType``, ``trashed``,
  ``'<id>' in parents``, ``appProperties has { key='…' and value='…' }``,
  joined with ``and`` / ``or`` / ``not`` and parentheses), ``corpora``,
  ``driveId``, ``includeItemsFromAllDrives``, ``orderBy``, ``pageSize``
  (≤ 1000) / ``pageToken``, ``fields`` partial responses;
* ``POST /drive/v3/files`` (metadata only: folders), ``GET`` (``alt=media``
  streams the bytes) and ``PATCH /drive/v3/files/{fileId}``;
* ``POST /upload/drive/v3/files?uploadType=multipart`` (``multipart/related``)
  and ``uploadType=resumable`` (200 + ``Location`` with ``upload_id``; ``PUT``
  chunks with ``Content-Range`` → 308 + ``Range: bytes=0-N`` → 200 with the
  file; ``Content-Range: bytes */N`` asks for the status);
* ``POST`` / ``GET /drive/v3/files/{fileId}/permissions``.

Files live in one shared drive (``shared_drive_id``; its id is also its root
folder's id) or in the account's My Drive (``root``). Bytes are stored on disk
in a temporary directory, never in memory, and ``md5Checksum`` is computed over
the stored bytes. Requests need ``Authorization: Bearer <token>`` (401
``authError`` otherwise); the resumable session URI itself is the credential
for its PUTs, as with Google. Errors use Google's JSON error body.

Testing aids: the shared fault injector and call log of
:class:`~oca_sync.sandbox.httpserver.SandboxServer`, plus Drive faults —
:meth:`DriveSandbox.rate_limit_403`, :meth:`~DriveSandbox.server_error`,
:meth:`~DriveSandbox.drop`, :meth:`~DriveSandbox.corrupt_byte` (the next stored
chunk gets one byte flipped, so ``md5Checksum`` differs from what was sent),
:meth:`~DriveSandbox.partial_chunk` (the server keeps fewer bytes than were
sent), :meth:`~DriveSandbox.expire_upload` — each also under ``/__sandbox/drive/…``.
See ``docs/drive.md`` for the differences from the real service.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import re
import secrets
import shutil
import tempfile
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlencode

from .httpserver import Request, Response, SandboxServer, _DropConnection
from .httpstream import StreamResponse, enable_streaming

__all__ = ["OP_CHUNK", "OP_STATUS", "DriveSandbox", "QueryError", "apply_fields", "compile_query", "error_body",
           "parse_fields"]

FOLDER_MIME = "application/vnd.google-apps.folder"
CHUNK_MULTIPLE = 256 * 1024
API = "/drive/v3"
UPLOAD = "/upload/drive/v3/files"
#: Operation names of a resumable session's PUTs, for faults (``match=OP_CHUNK``) and the call log.
OP_CHUNK = f"PUT {UPLOAD} (chunk)"
OP_STATUS = f"PUT {UPLOAD} (get status)"
_ROLES = ("owner", "organizer", "fileOrganizer", "writer", "commenter", "reader")
_TYPES = ("user", "group", "domain", "anyone")
_ID_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
_QUOTA_MESSAGE = ("Service Accounts do not have storage quota. Leverage shared drives "
                  "(https://developers.google.com/workspace/drive/api/guides/about-shareddrives), "
                  "or use OAuth delegation (http://support.google.com/a/answer/7281227) instead.")


# --------------------------------------------------------------------------- #
# Errors in Google's shape
# --------------------------------------------------------------------------- #


class _DriveReply(Exception):
    """Internal: stop handling and answer Google's JSON error body."""

    def __init__(self, status: int, reason: str, message: str, *, domain: str = "global",
                 location: str | None = None, location_type: str | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        self.response = Response(status, error_body(status, reason, message, domain=domain, location=location,
                                                    location_type=location_type),
                                 {"Content-Type": "application/json; charset=UTF-8", **(headers or {})})


def error_body(status: int, reason: str, message: str, *, domain: str = "global", location: str | None = None,
               location_type: str | None = None) -> bytes:
    """``{"error": {"code", "message", "errors": [{"domain", "reason", "message", ...}]}}`` as bytes."""
    item: dict[str, Any] = {"domain": domain, "reason": reason, "message": message}
    if location:
        item["location"] = location
        item["locationType"] = location_type or "parameter"
    return json.dumps({"error": {"code": status, "message": message, "errors": [item]}}).encode()


def _not_found(file_id: str, location: str = "fileId") -> _DriveReply:
    return _DriveReply(404, "notFound", f"File not found: {file_id}.", location=location)


def _bad(message: str, *, reason: str = "badRequest", location: str | None = None) -> _DriveReply:
    return _DriveReply(400, reason, message, location=location)


def _invalid(location: str, message: str = "Invalid Value") -> _DriveReply:
    return _DriveReply(400, "invalid", message, location=location)


# --------------------------------------------------------------------------- #
# Discovery document (for field names)
# --------------------------------------------------------------------------- #


@lru_cache(maxsize=1)
def _schema_fields() -> dict[str, frozenset[str]]:
    text = resources.files("googleapiclient.discovery_cache").joinpath("documents", "drive.v3.json").read_text("utf-8")
    schemas = json.loads(text)["schemas"]
    return {name: frozenset(schemas[name]["properties"]) for name in ("File", "FileList", "Permission",
                                                                       "PermissionList")}


# --------------------------------------------------------------------------- #
# fields= partial responses
# --------------------------------------------------------------------------- #

FieldTree = dict[str, "FieldTree | None"]


def parse_fields(text: str) -> FieldTree:
    """``"nextPageToken, files(id, name, parents)"`` → ``{"nextPageToken": None, "files": {...}}``.

    Supports Google's selector syntax: comma lists, ``a/b`` paths, ``a(b,c)``
    sub-selections and ``*``. ``None`` means "the whole value".
    """
    pos = 0
    s = text.strip()

    def names() -> FieldTree:
        nonlocal pos
        tree: FieldTree = {}
        while True:
            while pos < len(s) and s[pos].isspace():
                pos += 1
            m = re.compile(r"[A-Za-z0-9_*]+(?:/[A-Za-z0-9_*]+)*").match(s, pos)
            if not m:
                raise ValueError(f"Invalid field selection {s[pos:] or s}")
            path = m.group(0).split("/")
            pos = m.end()
            while pos < len(s) and s[pos].isspace():
                pos += 1
            sub: FieldTree | None = None
            if pos < len(s) and s[pos] == "(":
                pos += 1
                sub = names()
                if pos >= len(s) or s[pos] != ")":
                    raise ValueError(f"Invalid field selection {s}")
                pos += 1
            node = tree
            for part in path[:-1]:
                nxt = node.get(part)
                if nxt is None:
                    nxt = node[part] = {}
                node = nxt
            last = path[-1]
            if sub is None:
                node[last] = None  # the whole value wins over any sub-selection
            elif last not in node:
                node[last] = sub
            elif node[last] is not None:
                node[last].update(sub)  # type: ignore[union-attr]
            while pos < len(s) and s[pos].isspace():
                pos += 1
            if pos < len(s) and s[pos] == ",":
                pos += 1
                continue
            return tree

    if not s:
        return {}
    tree = names()
    if pos != len(s):
        raise ValueError(f"Invalid field selection {s}")
    return tree


def apply_fields(value: Any, tree: FieldTree | None) -> Any:
    """``value`` reduced to the selection ``tree`` (lists are reduced element by element)."""
    if tree is None:
        return value
    if isinstance(value, list):
        return [apply_fields(v, tree) for v in value]
    if not isinstance(value, dict):
        return value
    if "*" in tree:
        return dict(value)
    return {k: apply_fields(value[k], sub) for k, sub in tree.items() if k in value}


def _check_tree(tree: FieldTree, schema: str, nested: Mapping[str, str]) -> None:
    allowed = _schema_fields()[schema]
    for name, sub in tree.items():
        if name != "*" and name not in allowed:
            raise _DriveReply(400, "invalidParameter", f"Invalid field selection {name}", location="fields")
        if sub is not None and name in nested:
            _check_tree(sub, nested[name], {})


# --------------------------------------------------------------------------- #
# q: Drive's search language (the part oca-sync uses, and a little more)
# --------------------------------------------------------------------------- #


class QueryError(ValueError):
    """``q`` is not a query the emulator understands (Drive: 400 ``invalid`` on ``q``)."""


_TOKEN = re.compile(r"\s*(?:(?P<str>'(?:[^'\\]|\\.)*')|(?P<op>!=|<=|>=|=|<|>)|(?P<punct>[(){}])"
                    r"|(?P<word>[A-Za-z_][A-Za-z0-9_]*))")


def _tokens(q: str) -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    pos = 0
    q = q.rstrip()
    while pos < len(q):
        m = _TOKEN.match(q, pos)
        if not m:
            raise QueryError(f"cannot read the query at {q[pos:pos + 20]!r}")
        pos = m.end()
        kind = m.lastgroup or ""
        text = m.group(kind)
        if kind == "str":
            text = re.sub(r"\\(.)", r"\1", text[1:-1])
        out.append((kind, text))
    return out


Predicate = Callable[["_File"], bool]


def compile_query(q: str) -> Predicate:
    """A predicate on stored files for a Drive ``q``; raises :class:`QueryError`."""
    toks = _tokens(q)
    i = 0

    def peek(kind: str | None = None, text: str | None = None) -> bool:
        if i >= len(toks):
            return False
        k, t = toks[i]
        return (kind is None or k == kind) and (text is None or t.lower() == text.lower())

    def take(kind: str | None = None, text: str | None = None) -> str:
        nonlocal i
        if not peek(kind, text):
            got = toks[i][1] if i < len(toks) else "the end"
            raise QueryError(f"expected {text or kind} at {got!r}")
        i += 1
        return toks[i - 1][1]

    def expr() -> Predicate:
        left = conj()
        while peek("word", "or"):
            take()
            right = conj()
            left = _either(left, right)
        return left

    def conj() -> Predicate:
        left = unary()
        while peek("word", "and"):
            take()
            right = unary()
            left = _both(left, right)
        return left

    def unary() -> Predicate:
        if peek("word", "not"):
            take()
            inner = unary()
            return lambda f: not inner(f)
        if peek("punct", "("):
            take()
            inner = expr()
            take("punct", ")")
            return inner
        return predicate()

    def predicate() -> Predicate:
        if peek("str"):
            value = take("str")
            take("word", "in")
            coll = take("word")
            if coll != "parents":
                raise QueryError(f"'…' in {coll} is not emulated")
            return lambda f: value in f.parents
        name = take("word")
        if name in ("appProperties", "properties"):
            take("word", "has")
            take("punct", "{")
            take("word", "key")
            take("op", "=")
            key = take("str")
            take("word", "and")
            take("word", "value")
            take("op", "=")
            val = take("str")
            take("punct", "}")
            if name == "properties":
                return lambda f: False  # public properties are not emulated (oca-sync writes appProperties)
            return lambda f: f.app_properties.get(key) == val
        if name in ("name", "mimeType"):
            if peek("word", "contains"):
                take()
                needle = take("str")
                if name == "name":
                    return lambda f: _name_contains(f.name, needle)
                return lambda f: needle in f.mime_type
            op = take("op")
            value = take("str")
            attr = "name" if name == "name" else "mime_type"
            if op == "=":
                return lambda f: getattr(f, attr) == value
            if op == "!=":
                return lambda f: getattr(f, attr) != value
            raise QueryError(f"{name} {op} is not allowed")
        if name == "trashed":
            op = take("op")
            word = take("word").lower()
            if word not in ("true", "false") or op not in ("=", "!="):
                raise QueryError("trashed takes = or != and true or false")
            want = (word == "true") == (op == "=")
            return lambda f: f.trashed == want
        raise QueryError(f"the query term {name!r} is not emulated")

    if not toks:
        return lambda f: True
    pred = expr()
    if i != len(toks):
        raise QueryError(f"unexpected {toks[i][1]!r}")
    return pred


def _either(a: Predicate, b: Predicate) -> Predicate:
    return lambda f: a(f) or b(f)


def _both(a: Predicate, b: Predicate) -> Predicate:
    return lambda f: a(f) and b(f)


def _name_contains(name: str, needle: str) -> bool:
    # Drive: "contains" on name is prefix matching on the name's words (case-insensitive).
    words = [w for w in re.split(r"[^0-9a-z]+", name.lower()) if w]
    wanted = [w for w in re.split(r"[^0-9a-z]+", needle.lower()) if w]
    return bool(wanted) and all(any(w.startswith(x) for w in words) for x in wanted)


# --------------------------------------------------------------------------- #
# State
# --------------------------------------------------------------------------- #


def _rfc3339(t: float) -> str:
    return datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{int(t * 1000) % 1000:03d}Z"


@dataclass
class _File:
    id: str
    name: str
    mime_type: str
    parents: list[str]
    drive_id: str | None
    app_properties: dict[str, str]
    created: float
    seq: int
    trashed: bool = False
    modified: float = 0.0
    size: int | None = None
    md5: str | None = None
    path: Path | None = None
    permissions: list[dict[str, Any]] = field(default_factory=list)

    @property
    def is_folder(self) -> bool:
        return self.mime_type == FOLDER_MIME


@dataclass
class _Session:
    upload_id: str
    meta: dict[str, Any]
    mime_type: str
    total: int | None
    path: Path
    query: dict[str, str]
    drive_id: str | None
    received: int = 0
    md5: Any = field(default_factory=hashlib.md5)
    file_id: str | None = None
    expired: bool = False
    #: one chunk at a time per session; the emulator's own lock is not held while a chunk is hashed and
    #: stored, so other requests (other uploads, listings) go on meanwhile, as on Drive
    lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)


class DriveSandbox(SandboxServer):
    """A Google Drive account with one shared drive, on 127.0.0.1.

    ``token`` is the bearer token requests must carry (random when None);
    ``shared_drive_id`` the shared drive the account is an organizer of
    (``shared_drive_name`` its name). ``service_account`` makes My Drive behave
    as a service account's: no storage quota, so files with content there are
    refused (403 ``storageQuotaExceeded``); folders are allowed.
    ``storage_dir`` keeps the bytes (a temporary directory, removed on
    :meth:`stop`, when None).
    """

    def __init__(
        self,
        token: str | None = None,
        *,
        shared_drive_id: str = "sandbox-drive",
        shared_drive_name: str = "OCA archive (sandbox)",
        account_email: str = "oca-sync@sandbox.iam.gserviceaccount.com",
        service_account: bool = True,
        storage_dir: str | os.PathLike[str] | None = None,
        seed: int | str = 2022,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.token = token or "ya29.sandbox-" + secrets.token_urlsafe(32)
        self.shared_drive_id = shared_drive_id
        self.shared_drive_name = shared_drive_name
        self.account_email = account_email
        self.service_account = service_account
        self.my_drive_id = "0AsandboxMyDriveRoot"
        self._own_dir = storage_dir is None
        self.storage = Path(storage_dir) if storage_dir else Path(tempfile.mkdtemp(prefix="oca-drive-sandbox-"))
        (self.storage / "files").mkdir(parents=True, exist_ok=True)
        (self.storage / "uploads").mkdir(parents=True, exist_ok=True)
        self.lock = threading.RLock()
        self._rng = random.Random(f"{seed}:drive")
        self._seq = 0
        self.files: dict[str, _File] = {}
        self.sessions: dict[str, _Session] = {}
        self._pages: dict[str, tuple[str, int]] = {}
        self._corrupt: list[list[int]] = []  # [count, position or -1]
        self._partial: list[list[int]] = []  # [count, keep, drop]
        #: (file_id, email) of every notification e-mail Drive would have sent
        self.notifications: list[tuple[str, str]] = []
        self._drive_root = _File(id=shared_drive_id, name=shared_drive_name, mime_type=FOLDER_MIME, parents=[],
                                 drive_id=shared_drive_id, app_properties={}, created=time.time(), seq=0)
        self._drive_root.modified = self._drive_root.created
        self._drive_member = {"kind": "drive#permission", "id": _permission_id("user", account_email),
                              "type": "user", "role": "organizer", "emailAddress": account_email,
                              "displayName": account_email.split("@")[0]}

    # -- lifecycle and URLs --------------------------------------------------------

    def start(self) -> DriveSandbox:
        super().start()
        enable_streaming(self)
        return self

    def stop(self) -> None:
        super().stop()
        if self._own_dir:
            shutil.rmtree(self.storage, ignore_errors=True)

    def wait(self) -> None:
        """Block until the server is stopped."""
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(0.5)

    @property
    def root_url(self) -> str:
        """What a client uses as ``root_url`` (``https://www.googleapis.com/`` for the real one)."""
        return self.url + "/"

    def credentials(self) -> dict[str, str]:
        """Keyword arguments for ``DriveClient.for_sandbox(**sandbox.credentials())`` (+ ``shared_drive_id``)."""
        return {"root_url": self.root_url, "token": self.token, "shared_drive_id": self.shared_drive_id}

    # -- helpers for tests and the demo -----------------------------------------------

    def rate_limit_403(self, match: str = "*", count: int = 1, reason: str = "userRateLimitExceeded") -> None:
        """The next ``count`` matching requests get 403 ``reason`` (Drive's per-user quota answer)."""
        message = {"userRateLimitExceeded": "User Rate Limit Exceeded",
                   "rateLimitExceeded": "Rate Limit Exceeded"}.get(reason, reason)
        self.faults.add(match, "status", count, status=403, content_type="application/json; charset=UTF-8",
                        body=error_body(403, reason, message, domain="usageLimits").decode())

    def rate_limit_429(self, match: str = "*", count: int = 1) -> None:
        """The next ``count`` matching requests get 429 ``rateLimitExceeded``."""
        self.faults.add(match, "status", count, status=429, content_type="application/json; charset=UTF-8",
                        body=error_body(429, "rateLimitExceeded", "Rate Limit Exceeded",
                                        domain="usageLimits").decode())

    def server_error(self, match: str = "*", count: int = 1, status: int = 503) -> None:
        """The next ``count`` matching requests get a 5xx ``backendError`` (nothing is processed)."""
        self.faults.add(match, "status", count, status=status, content_type="application/json; charset=UTF-8",
                        body=error_body(status, "backendError", "Backend Error").decode())

    def drop(self, match: str = "*", count: int = 1, *, after: bool = False) -> None:
        """Break the connection of the next ``count`` matching requests, before processing
        them or (``after``) once processed, so that the client never sees the answer."""
        self.faults.add(match, "drop_after" if after else "drop", count)

    def corrupt_byte(self, count: int = 1, position: int | None = None) -> None:
        """Flip one byte (at ``position`` within the chunk, default its middle) of the next
        ``count`` stored chunks (resumable PUTs or multipart bodies; 0 = every one)."""
        with self.lock:
            self._corrupt.append([count, -1 if position is None else position])

    def partial_chunk(self, keep: int, *, drop: bool = False, count: int = 1) -> None:
        """Keep only the first ``keep`` bytes of the next ``count`` chunks (0 = every one); answer
        308 with the shorter ``Range`` or, with ``drop``, break the connection (a transfer cut mid-body)."""
        if keep < 0:
            raise ValueError("keep must be >= 0")
        with self.lock:
            self._partial.append([count, keep, int(drop)])

    def expire_upload(self, session: str) -> None:
        """Make a resumable session (its URI or upload_id) answer 404, as an expired one does."""
        upload_id = _upload_id_of(session)
        with self.lock:
            if upload_id not in self.sessions:
                raise KeyError(f"no upload session {upload_id[:8]}…")
            self.sessions[upload_id].expired = True

    def expire_token(self) -> str:
        """Refuse the current token from now on; returns the new one."""
        with self.lock:
            self.token = "ya29.sandbox-" + secrets.token_urlsafe(32)
            return self.token

    def file(self, file_id: str) -> dict[str, Any]:
        """A file's full metadata, as ``fields=*`` would give it."""
        with self.lock:
            return self._json(self.files[file_id])

    def all_files(self) -> list[dict[str, Any]]:
        with self.lock:
            return [self._json(f) for f in sorted(self.files.values(), key=lambda f: f.seq)]

    def find(self, **app_properties: str) -> list[dict[str, Any]]:
        """Untrashed files carrying every given appProperty."""
        with self.lock:
            return [self._json(f) for f in sorted(self.files.values(), key=lambda f: f.seq)
                    if not f.trashed and all(f.app_properties.get(k) == v for k, v in app_properties.items())]

    def content_path(self, file_id: str) -> Path:
        with self.lock:
            f = self.files[file_id]
            if f.path is None:
                raise ValueError(f"{file_id} has no content (a folder?)")
            return f.path

    def content(self, file_id: str) -> bytes:
        """A stored file's bytes (for small files; use :meth:`content_path` for big ones)."""
        return self.content_path(file_id).read_bytes()

    def session_state(self, session: str) -> dict[str, Any]:
        """``{"received", "total", "file_id", "expired"}`` of a resumable session."""
        with self.lock:
            s = self.sessions[_upload_id_of(session)]
            return {"received": s.received, "total": s.total, "file_id": s.file_id, "expired": s.expired}

    def chunk_bytes(self) -> int:
        """Bytes received in resumable chunk PUTs so far (including re-sent ones)."""
        return sum(int(p.get("bytes", 0)) for name, p in self.calls.snapshot() if name == OP_CHUNK)

    # -- routing ---------------------------------------------------------------------------

    @staticmethod
    def _method(request: Request) -> tuple[str, str]:
        """(method, query): googleapiclient turns long GETs into POST + X-HTTP-Method-Override."""
        override = _h(request, "X-HTTP-Method-Override")
        if override and request.method == "POST":
            return override.upper(), request.body.decode("utf-8", "replace")
        return request.method, request.query

    def operation_name(self, request: Request) -> str | None:
        method, query = self._method(request)
        path = request.path
        if path == UPLOAD:
            params = parse_qs(query)
            if method == "PUT":
                crange = _h(request, "Content-Range", "")
                return OP_STATUS if crange.startswith("bytes */") else OP_CHUNK
            return f"{method} {UPLOAD} ({(params.get('uploadType') or ['media'])[-1]})"
        if path == f"{API}/files":
            return f"{method} {API}/files"
        parts = path.split("/")
        if path.startswith(f"{API}/files/") and len(parts) == 5:
            return f"{method} {API}/files/{{fileId}}"
        if path.startswith(f"{API}/files/") and len(parts) == 6 and parts[5] == "permissions":
            return f"{method} {API}/files/{{fileId}}/permissions"
        return None

    def handle_request(self, request: Request) -> Response:
        try:
            path = request.path
            if path.startswith(("/file/d/", "/drive/folders/")):
                return self._view_page(path)
            method, query = self._method(request)
            params = {k: v[-1] for k, v in parse_qs(query, keep_blank_values=True).items()}
            op = self.operation_name(request)
            if path == UPLOAD and method == "PUT":
                return self._put_chunk(request, params, op or OP_CHUNK)
            if op is None:
                raise _DriveReply(404, "notFound", f"Not Found: {path}")
            self._authorize(request)
            parts = path.split("/")
            if path == UPLOAD and method == "POST":
                return self._upload(request, params, op)
            if op == f"GET {API}/files":
                return self._list(params, op)
            if op == f"POST {API}/files":
                return self._create_metadata(request, params, op)
            if op == f"GET {API}/files/{{fileId}}":
                return self._get(unquote(parts[4]), params, op, request)
            if op == f"PATCH {API}/files/{{fileId}}":
                return self._patch(unquote(parts[4]), request, params, op)
            if op == f"POST {API}/files/{{fileId}}/permissions":
                return self._create_permission(unquote(parts[4]), request, params, op)
            if op == f"GET {API}/files/{{fileId}}/permissions":
                return self._list_permissions(unquote(parts[4]), params, op)
            raise _DriveReply(405, "methodNotAllowed", f"{method} is not allowed on {path}")
        except _DriveReply as reply:
            return reply.response

    def _authorize(self, request: Request, *, optional: bool = False) -> None:
        auth = _h(request, "Authorization", "")
        if optional and not auth:
            return
        token = auth[7:].strip() if auth[:7].lower() == "bearer " else ""
        ok = bool(token) and secrets.compare_digest(token, self.token)  # one str attribute: read atomically
        if not ok:
            raise _DriveReply(
                401, "authError", "Invalid Credentials", location="Authorization", location_type="header",
                headers={"WWW-Authenticate": 'Bearer realm="https://accounts.google.com/", error="invalid_token"'},
            )

    # -- files: helpers -----------------------------------------------------------------

    def _new_id(self) -> str:
        return "1" + "".join(self._rng.choice(_ID_ALPHABET) for _ in range(32))

    def _json(self, f: _File) -> dict[str, Any]:
        out: dict[str, Any] = {
            "kind": "drive#file", "id": f.id, "name": f.name, "mimeType": f.mime_type, "parents": list(f.parents),
            "trashed": f.trashed, "createdTime": _rfc3339(f.created), "modifiedTime": _rfc3339(f.modified),
            "webViewLink": (f"{self.url}/drive/folders/{f.id}" if f.is_folder
                            else f"{self.url}/file/d/{f.id}/view?usp=drivesdk"),
        }
        if f.app_properties:
            out["appProperties"] = dict(f.app_properties)
        if f.drive_id:
            out["driveId"] = f.drive_id
            out["teamDriveId"] = f.drive_id
        if not f.is_folder:
            out["size"] = str(f.size or 0)  # int64 travels as a string
            out["md5Checksum"] = f.md5 or hashlib.md5(b"").hexdigest()
        return out

    def _fields(self, params: Mapping[str, str], schema: str, nested: Mapping[str, str],
                default: str) -> FieldTree:
        text = params.get("fields") or default
        try:
            tree = parse_fields(text)
        except ValueError as e:
            raise _DriveReply(400, "invalidParameter", str(e), location="fields") from None
        _check_tree(tree, schema, nested)
        return tree

    def _file_response(self, f: _File, params: Mapping[str, str], status: int = 200) -> Response:
        tree = self._fields(params, "File", {}, "kind, id, name, mimeType")
        return Response.json(apply_fields(self._json(f), tree), status)

    def _visible(self, file_id: str, params: Mapping[str, str], location: str = "fileId") -> _File:
        """The file, or 404 — also for shared-drive items asked for without supportsAllDrives."""
        f = self.files.get(file_id)
        if f is None and file_id == self.shared_drive_id:
            f = self._drive_root  # the shared drive's root folder (not listed by files.list)
        if f is None or (f.drive_id and not _true(params.get("supportsAllDrives"))):
            raise _not_found(file_id, location)
        return f

    def _parent(self, parents: Any, params: Mapping[str, str]) -> tuple[list[str], str | None]:
        """Validate ``parents``; returns them and the drive they are in (None: My Drive)."""
        if parents is None or parents == []:
            return [self.my_drive_id], None
        if not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
            raise _bad("parents must be a list of ids", location="parents")
        if len(parents) > 1:
            raise _DriveReply(403, "cannotAddParent", "Increasing the number of parents is not allowed.")
        pid = parents[0]
        if pid == "root":
            pid = self.my_drive_id
        if pid == self.my_drive_id:
            return [pid], None
        if pid == self.shared_drive_id:
            if not _true(params.get("supportsAllDrives")):
                raise _not_found(pid, "parents")
            return [pid], pid
        parent = self._visible(pid, params, "parents")
        if not parent.is_folder:
            raise _bad(f"The parent {pid} is not a folder.", reason="invalidParent")
        return [pid], parent.drive_id

    def _check_quota(self, drive_id: str | None, mime_type: str) -> None:
        if self.service_account and drive_id is None and mime_type != FOLDER_MIME:
            raise _DriveReply(403, "storageQuotaExceeded", _QUOTA_MESSAGE, domain="usageLimits")

    def _new_file(self, meta: Mapping[str, Any], params: Mapping[str, str], *, mime_default: str) -> _File:
        name = meta.get("name")
        if name is not None and not isinstance(name, str):
            raise _bad("name must be a string", location="name")
        mime = meta.get("mimeType") or mime_default
        if not isinstance(mime, str):
            raise _bad("mimeType must be a string", location="mimeType")
        parents, drive_id = self._parent(meta.get("parents"), params)
        props = _app_properties(meta.get("appProperties"), {})
        self._check_quota(drive_id, mime)
        self._seq += 1
        now = time.time()
        f = _File(id=self._new_id(), name=name or "Untitled", mime_type=mime, parents=parents, drive_id=drive_id,
                  app_properties=props, created=now, modified=now, seq=self._seq)
        return f

    def _store(self, f: _File, data: bytes) -> None:
        data = bytes(self._maybe_corrupt(data))
        path = self.storage / "files" / f.id
        path.write_bytes(data)
        f.path, f.size, f.md5 = path, len(data), hashlib.md5(data).hexdigest()

    def _maybe_corrupt(self, data: bytes | memoryview) -> bytes | memoryview:
        if not self._corrupt or not data:
            return data
        rule = _consume(self._corrupt)
        at = rule[1] if 0 <= rule[1] < len(data) else len(data) // 2
        buf = bytearray(data)
        buf[at] ^= 0xFF
        return bytes(buf)

    # -- files: endpoints ------------------------------------------------------------------

    def _list(self, params: Mapping[str, str], op: str) -> Response:
        self.log_call(op, {k: params[k] for k in ("q", "pageToken", "corpora", "driveId", "orderBy") if k in params})
        corpora = params.get("corpora", "user")
        drive_id = params.get("driveId")
        all_drives = _true(params.get("includeItemsFromAllDrives"))
        if corpora not in ("user", "drive", "allDrives", "domain"):
            raise _invalid("corpora")
        if (corpora == "drive") != bool(drive_id):
            raise _bad("The driveId parameter must be specified if and only if corpora is set to drive.",
                       reason="invalid", location="driveId")
        if corpora in ("drive", "allDrives") and not (all_drives and _true(params.get("supportsAllDrives"))):
            raise _bad("includeItemsFromAllDrives and supportsAllDrives must be true when searching shared drives.",
                       reason="invalid", location="includeItemsFromAllDrives")
        if drive_id and drive_id != self.shared_drive_id:
            raise _DriveReply(404, "notFound", f"Shared drive not found: {drive_id}", location="driveId")
        try:
            size = int(params.get("pageSize", "100"))
        except ValueError:
            raise _invalid("pageSize") from None
        if size < 1:
            raise _invalid("pageSize")
        size = min(size, 1000)
        tree = self._fields(params, "FileList", {"files": "File"},
                            "kind, incompleteSearch, nextPageToken, files(kind, id, name, mimeType)")
        try:
            pred = compile_query(params.get("q", ""))
        except QueryError:
            raise _invalid("q") from None
        order = params.get("orderBy", "")
        key = json.dumps([params.get("q", ""), corpora, drive_id, all_drives, order, size])
        start = 0
        if params.get("pageToken"):
            with self.lock:
                saved = self._pages.get(params["pageToken"])
            if saved is None or saved[0] != key:
                raise _invalid("pageToken")
            start = saved[1]
        with self.lock:
            def in_corpus(f: _File) -> bool:
                if corpora == "drive":
                    return f.drive_id == drive_id
                if f.drive_id is None:
                    return True
                return all_drives and _true(params.get("supportsAllDrives"))

            found = [f for f in self.files.values() if in_corpus(f) and pred(f)]
            found.sort(key=_order_key(order))
            page = found[start:start + size]
            body: dict[str, Any] = {"kind": "drive#fileList", "incompleteSearch": False,
                                    "files": [self._json(f) for f in page]}
            if start + size < len(found):
                token = secrets.token_urlsafe(16)
                self._pages[token] = (key, start + size)
                body["nextPageToken"] = token
        return Response.json(apply_fields(body, tree))

    def _create_metadata(self, request: Request, params: Mapping[str, str], op: str) -> Response:
        meta = _json_body(request.body)
        self.log_call(op, {k: meta.get(k) for k in ("name", "mimeType", "parents", "appProperties") if k in meta})
        with self.lock:
            f = self._new_file(meta, params, mime_default="application/octet-stream")
            if not f.is_folder:
                self._store(f, b"")
            self.files[f.id] = f
            return self._file_response(f, params)

    def _get(self, file_id: str, params: Mapping[str, str], op: str, request: Request) -> Response:
        self.log_call(op, {"fileId": file_id, "alt": params.get("alt", "json")})
        with self.lock:
            f = self._visible(file_id, params)
            if params.get("alt") != "media":
                return self._file_response(f, params)
            if f.path is None:
                raise _DriveReply(403, "fileNotDownloadable",
                                  "Only files with binary content can be downloaded. Use Export with Docs Editors files.",
                                  location="alt")
            path, size = f.path, f.size or 0
        first, last, status = 0, size - 1, 200
        headers = {"Content-Type": f.mime_type, "Accept-Ranges": "bytes"}
        wanted = _h(request, "Range", "")
        if wanted and size:
            m = re.fullmatch(r"bytes=(\d+)-(\d*)", wanted.strip())
            if not m or int(m.group(1)) >= size:
                return Response(416, b"", {"Content-Range": f"bytes */{size}"})
            first = int(m.group(1))
            last = min(int(m.group(2)), size - 1) if m.group(2) else size - 1
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{size}"
        return StreamResponse(status=status, headers=headers, chunks=_read(path, first, last + 1),
                              length=max(0, last + 1 - first))

    def _patch(self, file_id: str, request: Request, params: Mapping[str, str], op: str) -> Response:
        meta = _json_body(request.body)
        self.log_call(op, {"fileId": file_id, **{k: meta.get(k) for k in ("name", "appProperties", "trashed")
                                                 if k in meta}})
        with self.lock:
            f = self._visible(file_id, params)
            if "name" in meta:
                if not isinstance(meta["name"], str) or not meta["name"]:
                    raise _bad("name must be a non-empty string", location="name")
                f.name = meta["name"]
            if "appProperties" in meta:
                f.app_properties = _app_properties(meta["appProperties"], f.app_properties)
            if "trashed" in meta:
                if not isinstance(meta["trashed"], bool):
                    raise _bad("trashed must be a boolean", location="trashed")
                f.trashed = meta["trashed"]
            for key in ("parents", "id", "size", "md5Checksum", "driveId"):
                if key in meta:
                    raise _DriveReply(403, "fieldNotWritable", f"The resource body includes fields which are "
                                      f"not directly writable: {key}.")
            f.modified = time.time()
            return self._file_response(f, params)

    # -- uploads ---------------------------------------------------------------------------

    def _upload(self, request: Request, params: Mapping[str, str], op: str) -> Response:
        kind = params.get("uploadType", "")
        if kind == "multipart":
            return self._multipart(request, params, op)
        if kind == "resumable":
            return self._start_session(request, params, op)
        if kind == "media":
            raise _bad("uploadType=media is not emulated; use multipart or resumable", location="uploadType")
        raise _invalid("uploadType")

    def _multipart(self, request: Request, params: Mapping[str, str], op: str) -> Response:
        ctype = _h(request, "Content-Type", "")
        m = re.search(r'boundary="?([^";]+)"?', ctype)
        if not ctype.lower().startswith("multipart/related") or not m:
            raise _bad("A multipart upload needs Content-Type multipart/related with a boundary.")
        try:
            parts = _multipart_parts(request.body, m.group(1).encode())
        except ValueError as e:
            raise _bad(f"Malformed multipart body: {e}") from None
        if len(parts) != 2:
            raise _bad(f"A multipart upload has 2 parts (metadata, media), not {len(parts)}.")
        (_, b1), (h2, data) = parts
        meta = _json_body(b1)
        self.log_call(op, {"name": meta.get("name"), "parents": meta.get("parents"),
                           "appProperties": meta.get("appProperties"), "bytes": len(data)})
        media_type = h2.get("content-type", "application/octet-stream")
        with self.lock:
            f = self._new_file(meta, params, mime_default=media_type)
            self._store(f, data)
            self.files[f.id] = f
            return self._file_response(f, params)

    def _start_session(self, request: Request, params: Mapping[str, str], op: str) -> Response:
        meta = _json_body(request.body) if request.body else {}
        declared = _h(request, "X-Upload-Content-Length")
        total: int | None = None
        if declared is not None:
            if not declared.strip().isdigit():
                raise _invalid("X-Upload-Content-Length")
            total = int(declared)
        mime = meta.get("mimeType") or _h(request, "X-Upload-Content-Type") or "application/octet-stream"
        self.log_call(op, {"name": meta.get("name"), "parents": meta.get("parents"),
                           "appProperties": meta.get("appProperties"), "size": total})
        with self.lock:
            # Validate the metadata now, as Drive does, although the file appears only at the end.
            _, drive_id = self._parent(meta.get("parents"), params)
            _app_properties(meta.get("appProperties"), {})
            self._check_quota(drive_id, mime)
            upload_id = "sbx-" + secrets.token_urlsafe(24)
            keep = {k: v for k, v in params.items() if k in ("fields", "supportsAllDrives")}
            self.sessions[upload_id] = _Session(
                upload_id=upload_id, meta=dict(meta), mime_type=mime, total=total,
                path=self.storage / "uploads" / upload_id, query=keep, drive_id=drive_id,
            )
            self.sessions[upload_id].path.write_bytes(b"")
        location = f"{self.url}{UPLOAD}?{urlencode({'uploadType': 'resumable', **keep, 'upload_id': upload_id})}"
        return Response(200, b"", {"Location": location, "X-GUploader-UploadID": upload_id})

    def _put_chunk(self, request: Request, params: Mapping[str, str], op: str) -> Response:
        upload_id = params.get("upload_id", "")
        crange = _h(request, "Content-Range", "").strip()
        log: dict[str, Any] = {"upload_id": upload_id[:10], "range": crange, "bytes": len(request.body)}
        self.log_call(op, log)
        self._authorize(request, optional=True)
        with self.lock:
            s = self.sessions.get(upload_id)
        if s is None:
            raise _DriveReply(404, "notFound", "The upload session was not found or has expired.")
        with s.lock:
            with self.lock:
                if s.expired:
                    raise _DriveReply(404, "notFound", "The upload session was not found or has expired.")
                if s.file_id is not None:
                    return self._file_response(self.files[s.file_id], s.query)
            status_query = re.fullmatch(r"bytes \*/(\d+|\*)", crange)
            chunk = re.fullmatch(r"bytes (\d+)-(\d+)/(\d+|\*)", crange)
            if status_query:
                if request.body:
                    raise _bad("A status query (Content-Range: bytes */N) has an empty body.")
                self._set_total(s, status_query.group(1))
                with self.lock:
                    return self._after(s)
            if not chunk:
                if not crange and s.total is not None and s.received == 0:
                    chunk_first, chunk_last = 0, len(request.body) - 1  # the whole file in one PUT
                else:
                    raise _bad(f"Invalid Content-Range header: {crange!r}")
            else:
                chunk_first, chunk_last = int(chunk.group(1)), int(chunk.group(2))
                self._set_total(s, chunk.group(3))
            data = request.body
            if chunk_last < chunk_first or len(data) != chunk_last - chunk_first + 1:
                raise _bad(f"The Content-Range ({crange}) does not match the {len(data)} bytes of the body.")
            end = chunk_last + 1
            if s.total is not None and end > s.total:
                raise _bad(f"The chunk ends at byte {end}, past the declared size {s.total}.")
            final = s.total is not None and end == s.total
            if not final and len(data) % CHUNK_MULTIPLE:
                raise _bad(
                    "Invalid request. The number of bytes uploaded is required to be equal or greater than "
                    f"{CHUNK_MULTIPLE}, except for the final request (it's recommended to be the exact multiple "
                    f"of {CHUNK_MULTIPLE}). The received request contained {len(data)} bytes, which does not "
                    "meet this requirement.")
            if chunk_first > s.received:
                raise _bad(f"Invalid request. According to the Content-Range header, the upload offset is "
                           f"{chunk_first} byte(s), which exceeds already uploaded size of {s.received} byte(s).")
            new: bytes | memoryview = memoryview(data)[s.received - chunk_first:]  # bytes already had are skipped
            drop = False
            with self.lock:  # the injected faults are shared by every request
                if new and self._partial:
                    rule = _consume(self._partial)
                    new, drop = new[: rule[1]], bool(rule[2])
                new = self._maybe_corrupt(new)
            if new:
                with open(s.path, "ab") as fh:
                    fh.write(new)
                s.md5.update(new)
                s.received += len(new)
            log["kept"] = len(new)
            if drop:
                raise _DropConnection()
            with self.lock:
                return self._after(s)

    @staticmethod
    def _set_total(s: _Session, text: str) -> None:
        if text == "*":
            return
        total = int(text)
        if s.total is not None and total != s.total:
            raise _bad(f"The total size {total} differs from the declared {s.total}.")
        if total < s.received:
            raise _bad(f"The total size {total} is smaller than the {s.received} bytes received.")
        s.total = total

    def _after(self, s: _Session) -> Response:
        """308 with the received range, or the finished file once every byte arrived."""
        if s.total is None or s.received < s.total:
            headers = {"Range": f"bytes=0-{s.received - 1}"} if s.received else {}
            headers["X-GUploader-UploadID"] = s.upload_id
            return Response(308, b"", headers)
        f = self._new_file(s.meta, s.query, mime_default=s.mime_type)
        path = self.storage / "files" / f.id
        os.replace(s.path, path)
        f.path, f.size, f.md5 = path, s.received, s.md5.hexdigest()
        self.files[f.id] = f
        s.file_id = f.id
        return self._file_response(f, s.query)

    # -- permissions -----------------------------------------------------------------------

    def _permissions_of(self, f: _File) -> list[dict[str, Any]]:
        """Direct and inherited permissions (one per grantee, the highest role)."""
        best: dict[str, dict[str, Any]] = {}
        chain: list[_File] = []
        cur: _File | None = f
        while cur is not None and len(chain) < 100:
            chain.append(cur)
            pid = cur.parents[0] if cur.parents else None
            cur = self._drive_root if pid == self.shared_drive_id else self.files.get(pid or "")
        grants = [p for node in chain for p in node.permissions]
        if f.drive_id:
            grants.append(self._drive_member)
        for p in grants:
            old = best.get(p["id"])
            if old is None or _ROLES.index(p["role"]) < _ROLES.index(old["role"]):
                best[p["id"]] = p
        return list(best.values())

    def _create_permission(self, file_id: str, request: Request, params: Mapping[str, str], op: str) -> Response:
        body = _json_body(request.body)
        self.log_call(op, {"fileId": file_id, **{k: body.get(k) for k in ("type", "role", "emailAddress", "domain")
                                                 if k in body},
                           "sendNotificationEmail": params.get("sendNotificationEmail")})
        ptype, role = body.get("type"), body.get("role")
        if ptype not in _TYPES:
            raise _bad("The permission type field is required and must be one of user, group, domain, anyone.",
                       reason="invalid" if ptype else "required", location="permission.type")
        if role not in _ROLES:
            raise _bad("The permission role field is required and must be a valid role.",
                       reason="invalid" if role else "required", location="permission.role")
        email, domain = body.get("emailAddress"), body.get("domain")
        if ptype in ("user", "group") and not email:
            raise _bad("The permission emailAddress field is required for type user or group.",
                       reason="required", location="permission.emailAddress")
        if ptype == "domain" and not domain:
            raise _bad("The permission domain field is required for type domain.", reason="required",
                       location="permission.domain")
        notify = params.get("sendNotificationEmail")
        if notify is not None and ptype not in ("user", "group"):
            raise _bad("sendNotificationEmail is only allowed for user and group permissions.",
                       reason="invalidSharingRequest")
        with self.lock:
            f = self._visible(file_id, params)
            if f.drive_id and role == "owner":
                raise _DriveReply(403, "teamDriveOwnerNotAllowed", "Shared drive items cannot have an owner.")
            pid = _permission_id(ptype, email or domain or "")
            perm: dict[str, Any] = {"kind": "drive#permission", "id": pid, "type": ptype, "role": role}
            if email:
                perm["emailAddress"] = email
                perm["displayName"] = email.split("@")[0]
            if domain:
                perm["domain"] = domain
            f.permissions = [p for p in f.permissions if p["id"] != pid] + [perm]
            if ptype in ("user", "group") and notify != "false":
                self.notifications.append((file_id, str(email)))
            tree = self._fields(params, "Permission", {}, "kind, id, type, role")
            return Response.json(apply_fields(perm, tree))

    def _list_permissions(self, file_id: str, params: Mapping[str, str], op: str) -> Response:
        self.log_call(op, {"fileId": file_id, "pageToken": params.get("pageToken")})
        try:
            size = min(max(int(params.get("pageSize", "100")), 1), 100)
        except ValueError:
            raise _invalid("pageSize") from None
        tree = self._fields(params, "PermissionList", {"permissions": "Permission"},
                            "kind, nextPageToken, permissions(kind, id, type, role)")
        with self.lock:
            f = self._visible(file_id, params)
            perms = self._permissions_of(f)
            key = f"perm:{file_id}:{size}"
            start = 0
            if params.get("pageToken"):
                saved = self._pages.get(params["pageToken"])
                if saved is None or saved[0] != key:
                    raise _invalid("pageToken")
                start = saved[1]
            body: dict[str, Any] = {"kind": "drive#permissionList", "permissions": perms[start:start + size]}
            if start + size < len(perms):
                token = secrets.token_urlsafe(16)
                self._pages[token] = (key, start + size)
                body["nextPageToken"] = token
        return Response.json(apply_fields(body, tree))

    # -- web pages (webViewLink) -------------------------------------------------------------

    def _view_page(self, path: str) -> Response:
        parts = [p for p in path.split("/") if p]
        file_id = parts[2] if parts[0] == "file" else parts[-1]
        with self.lock:
            f = self.files.get(unquote(file_id))
            name = f.name if f is not None else None
        if name is None:
            return Response(404, b"<!doctype html><title>Not found</title><p>No such file.</p>",
                            {"Content-Type": "text/html; charset=utf-8"})
        safe = name.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
        return Response(200, f"<!doctype html><title>{safe}</title><p>Drive sandbox: {safe}</p>".encode(),
                        {"Content-Type": "text/html; charset=utf-8"})

    # -- control API (for a sandbox in another process) -------------------------------------

    def control(self, action: str, request: Request) -> Response | None:
        if not action.startswith("drive/"):
            return None
        action = action[len("drive/"):]
        data = json.loads(request.body or b"{}") if request.method == "POST" else {}
        if action == "credentials" and request.method == "GET":
            return Response.json(self.credentials())
        if action == "rate-limit" and request.method == "POST":
            if int(data.get("status", 403)) == 429:
                self.rate_limit_429(str(data.get("match", "*")), int(data.get("count", 1)))
            else:
                self.rate_limit_403(str(data.get("match", "*")), int(data.get("count", 1)),
                                    str(data.get("reason", "userRateLimitExceeded")))
            return Response.json({"ok": True})
        if action == "server-error" and request.method == "POST":
            self.server_error(str(data.get("match", "*")), int(data.get("count", 1)), int(data.get("status", 503)))
            return Response.json({"ok": True})
        if action == "drop" and request.method == "POST":
            self.drop(str(data.get("match", "*")), int(data.get("count", 1)), after=bool(data.get("after", False)))
            return Response.json({"ok": True})
        if action == "corrupt-byte" and request.method == "POST":
            pos = data.get("position")
            self.corrupt_byte(int(data.get("count", 1)), None if pos is None else int(pos))
            return Response.json({"ok": True})
        if action == "partial-chunk" and request.method == "POST":
            self.partial_chunk(int(data["keep"]), drop=bool(data.get("drop", False)), count=int(data.get("count", 1)))
            return Response.json({"ok": True})
        if action == "expire-upload" and request.method == "POST":
            try:
                self.expire_upload(str(data["session"]))
            except KeyError as e:
                return Response.json({"error": str(e)}, 404)
            return Response.json({"ok": True})
        if action == "expire-token" and request.method == "POST":
            return Response.json({"token": self.expire_token()})
        if action == "files" and request.method == "GET":
            return Response.json(self.all_files())
        m = re.fullmatch(r"file/([^/]+)/content", action)
        if m and request.method == "GET":
            with self.lock:
                f = self.files.get(unquote(m.group(1)))
                if f is None or f.path is None:
                    return Response.json({"error": "no such file with content"}, 404)
                path, size = f.path, f.size or 0
            return StreamResponse(status=200, headers={"Content-Type": "application/octet-stream"},
                                  chunks=_read(path, 0, size), length=size)
        return None


# --------------------------------------------------------------------------- #
# Module helpers
# --------------------------------------------------------------------------- #

def _consume(rules: list[list[int]]) -> list[int]:
    """The first rule, one use of it consumed (its count 0 = unlimited)."""
    rule = rules[0]
    if rule[0] > 0:
        rule[0] -= 1
        if rule[0] == 0:
            rules.pop(0)
    return rule


def _h(request: Request, name: str, default: str = "") -> str:
    """A request header, whatever its case (google-auth sends ``authorization``)."""
    want = name.lower()
    return next((v for k, v in request.headers.items() if k.lower() == want), default)


def _true(value: str | None) -> bool:
    return (value or "").lower() == "true"


def _upload_id_of(session: str) -> str:
    if "upload_id=" in session:
        return parse_qs(session.split("?", 1)[1])["upload_id"][-1]
    return session


def _json_body(raw: bytes) -> dict[str, Any]:
    if not raw:
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise _bad("Invalid JSON payload received.", reason="parseError") from None
    if not isinstance(body, dict):
        raise _bad("Invalid JSON payload received: the body must be an object.", reason="parseError")
    return body


def _app_properties(value: Any, current: Mapping[str, str]) -> dict[str, str]:
    """Merge ``value`` into ``current`` (None deletes a key), checking Drive's limits."""
    if value is None:
        return dict(current)
    if not isinstance(value, dict):
        raise _bad("appProperties must be an object", location="appProperties")
    out = dict(current)
    for key, val in value.items():
        if val is None:
            out.pop(key, None)
            continue
        if not isinstance(val, str):
            raise _bad(f"appProperties.{key} must be a string", location="appProperties")
        if len(key.encode()) + len(val.encode()) > 124:
            # Drive's answer as reported by its users (e.g. github.com/RichardX366/Obsidian-Google-Drive
            # issue 34, for long Cyrillic file names): HTTP 403, domain global, reason
            # propertyLengthLimitExceeded, this message. Nothing is created or changed.
            raise _DriveReply(403, "propertyLengthLimitExceeded", "Properties and app properties are limited to "
                              "124 bytes in UTF-8 encoding, counting both the key and the value.")
        out[key] = val
    if len(out) > 30:
        # 403 propertyCountLimitExceeded is what Drive answers (reported with rclone metadata); the
        # message here is ours.
        raise _DriveReply(403, "propertyCountLimitExceeded",
                          "The limit of 30 private properties per app has been exceeded.")
    return out


def _permission_id(ptype: str, who: str) -> str:
    if ptype == "anyone":
        return "anyoneWithLink"
    digits = str(int(hashlib.sha256(f"{ptype}:{who.lower()}".encode()).hexdigest()[:16], 16)).zfill(20)[:20]
    return digits + ("k" if ptype == "domain" else "")


def _order_key(order: str) -> Callable[[_File], Any]:
    """``orderBy`` (createdTime, modifiedTime, name, folder; ``desc`` allowed) as a sort key."""
    keys: list[tuple[str, bool]] = []
    for part in [p.strip() for p in order.split(",") if p.strip()]:
        name, _, direction = part.partition(" ")
        if name not in ("createdTime", "modifiedTime", "name", "folder", "name_natural"):
            raise _invalid("orderBy", f"Invalid orderBy field: {name}")
        keys.append((name, direction.strip().lower() == "desc"))

    def key(f: _File) -> Any:
        out: list[Any] = []
        for name, desc in keys:
            value: Any = {"createdTime": f.created, "modifiedTime": f.modified, "folder": 0 if f.is_folder else 1,
                          "name": f.name.lower(), "name_natural": f.name.lower()}[name]
            if desc:
                value = _Desc(value)
            out.append(value)
        out.append(f.seq)
        return out

    return key


class _Desc:
    __slots__ = ("v",)

    def __init__(self, v: Any) -> None:
        self.v = v

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.v < self.v)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and other.v == self.v


def _read(path: Path, start: int, end: int, block: int = 1024 * 1024) -> Iterator[bytes]:
    with open(path, "rb") as fh:
        fh.seek(start)
        left = end - start
        while left > 0:
            data = fh.read(min(block, left))
            if not data:
                return
            left -= len(data)
            yield data


def _multipart_parts(body: bytes, boundary: bytes) -> list[tuple[dict[str, str], bytes]]:
    """Split a ``multipart/related`` body into (headers, content) parts (RFC 2046).

    The line ending is taken from the first delimiter line (googleapiclient's
    generator writes ``\\n``, other clients ``\\r\\n``), so that exactly the
    line break before each delimiter is removed and binary content stays intact.
    """
    delim = b"--" + boundary
    first = body.find(delim)
    if first < 0:
        raise ValueError("no boundary")
    after = first + len(delim)
    eol = b"\r\n" if body[after:after + 2] == b"\r\n" else b"\n"
    parts: list[tuple[dict[str, str], bytes]] = []
    pos = after + len(eol)
    sep = eol + delim
    while True:
        nxt = body.find(sep, pos)
        if nxt < 0:
            raise ValueError("unterminated part")
        raw = body[pos:nxt]
        head, split, content = raw.partition(eol + eol)
        if not split:
            if raw.startswith(eol):  # no headers at all
                head, content = b"", raw[len(eol):]
            else:
                raise ValueError("part without a blank line after its headers")
        headers: dict[str, str] = {}
        for line in head.split(eol):
            if b":" in line:
                k, _, v = line.partition(b":")
                headers[k.decode("latin-1").strip().lower()] = v.decode("latin-1").strip()
        if headers.get("content-transfer-encoding", "").lower() == "base64":
            import base64

            content = base64.b64decode(content)
        parts.append((headers, content))
        pos = nxt + len(sep)
        if body[pos:pos + 2] == b"--":
            return parts
        pos += len(eol)

