"""ZoomSandbox: an HTTP server that answers like Zoom's OAuth server and REST API v2.

It serves what oca-sync uses, shaped as Zoom's OpenAPI document
(Zoom Meeting API v2, 2023-10; the operations used are committed as
``tests/contracts/zoom-meeting-api.json``) defines it:

* ``POST /oauth/token`` (Server-to-Server OAuth, ``grant_type=account_credentials``);
* under ``/v2``: ``GET/POST /users/{userId}/meetings``, ``GET/PATCH/DELETE
  /meetings/{meetingId}``, ``GET /past_meetings/{meetingId}/instances``,
  ``GET /meetings/{meetingId}/recordings``, ``GET /users/{userId}/recordings``,
  ``DELETE /meetings/{meetingId}/recordings/{recordingId}``,
  ``GET /report/meetings/{meetingId}/participants``, ``GET /users/{userId}``;
* recording downloads: ``GET /rec/download/{fileId}`` (Bearer token or
  ``access_token``) redirects to a signed ``/rec/cdn/{fileId}`` URL that
  streams the file's bytes, with ``Range`` support.

Zoom's limits are emulated: per-second rate limits per rate-limit label
(``rate_per_second``), 100 meeting creates/updates per host and UTC day
(``daily_limit``), access tokens that expire (``token_ttl``), UUIDs that must
be double-encoded. Time is the sandbox clock (``clock`` + :meth:`ZoomSandbox.advance`),
so meetings "end" and get past instances, recordings and participant reports
(:mod:`.zoom_data`). Fault injection and the call log come from
:class:`~oca_sync.sandbox.httpserver.SandboxServer`.

Request validation follows :mod:`.zoom_rules`; given the OpenAPI document
(``openapi=`` or ``$OCA_ZOOM_OPENAPI``), every request and every answer is
also checked against it (:mod:`.zoom_openapi`).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import math
import os
import random
import secrets
import threading
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import parse_qs, quote, unquote

from dateutil.relativedelta import relativedelta

from .httpserver import Request, Response, SandboxServer
from .httpstream import StreamResponse, enable_streaming
from .zoom_data import (
    UUID_STYLES,
    Instance,
    Person,
    RecordingFile,
    make_instances,
    make_participant_rows,
    make_recording_files,
    make_uuid,
    people_from,
)
from .zoom_openapi import ENV_VAR as OPENAPI_ENV_VAR
from .zoom_openapi import OpenApi, load_openapi
from .zoom_rules import (
    MEETING_CREATE,
    MEETING_UPDATE,
    Rule,
    check,
    check_query,
    format_time,
    parse_start_time,
)

__all__ = ["ALL_SCOPES", "ZoomSandbox"]

API_PREFIX = "/v2"
OAUTH_PATH = "/oauth/token"

#: Classic scopes a Server-to-Server app of oca-sync is given (see docs/zoom.md).
ALL_SCOPES = (
    "meeting:read:admin", "meeting:write:admin", "recording:read:admin", "recording:write:admin",
    "report:read:admin", "user:read:admin",
)

_MSG_QPS = "You have reached the maximum per-second rate limit for this API. Try again later."
# As quoted by Zoom staff on devforum.zoom.us ("Create Meeting API Rate Limit - Sample error").
_MSG_DAILY = ("You have exceeded the daily rate limit ({limit}) of Meeting Create/Update API requests "
              "permitted for this particular user. You may resume these requests at GMT 00:00:00.")

_CONTENT_TYPES = {"MP4": "video/mp4", "M4A": "audio/mp4", "VTT": "text/vtt", "TXT": "text/plain"}


class _ZoomReply(Exception):
    """Internal: stop handling and answer Zoom's error body."""

    def __init__(self, status: int, code: int, message: str, errors: list[dict[str, str]] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        super().__init__(message)
        body: dict[str, Any] = {"code": code, "message": message}
        if errors:
            body["errors"] = errors
        self.response = Response.json(body, status)
        self.response.headers.update(headers or {})


def _validation_failed(errors: list[dict[str, str]]) -> _ZoomReply:
    return _ZoomReply(400, 300, "Validation Failed.", errors)


@dataclass
class _User:
    id: str
    email: str
    first_name: str
    last_name: str
    pmi: int
    timezone: str
    created: datetime

    @property
    def display_name(self) -> str:
        return f"{self.first_name} {self.last_name}".strip()


@dataclass
class _Meeting:
    id: int
    uuid: str
    style_index: int
    host_id: str
    topic: str
    type: int
    start: datetime
    duration: int
    timezone: str
    agenda: str
    password: str
    settings: dict[str, Any]
    created: datetime
    recurrence: dict[str, Any] | None = None
    tracking_fields: list[dict[str, Any]] = field(default_factory=list)
    deleted: bool = False

    @property
    def end(self) -> datetime:
        return self.start + timedelta(minutes=self.duration)


@dataclass(frozen=True)
class _Route:
    method: str
    template: str
    handler: Callable[..., Response]
    label: str  # Zoom's rate-limit label: light, medium, heavy
    scopes: tuple[str, ...]
    body: Rule | None = None  # the request body's rule (zoom_rules), if it takes one

    @property
    def name(self) -> str:
        return f"{self.method} {self.template}"

    @property
    def parts(self) -> list[str]:
        return self.template.strip("/").split("/")


def _settings_defaults() -> dict[str, Any]:
    # GET /meetings/{meetingId} response "settings": Zoom's defaults for a new meeting.
    return {
        "host_video": False, "participant_video": False, "cn_meeting": False, "in_meeting": False,
        "join_before_host": False, "jbh_time": 0, "mute_upon_entry": False, "watermark": False,
        "use_pmi": False, "approval_type": 2, "audio": "both", "auto_recording": "none",
        "enforce_login": False, "enforce_login_domains": "", "alternative_hosts": "",
        "alternative_hosts_email_notification": True, "close_registration": False, "show_share_button": False,
        "allow_multiple_devices": False, "registrants_confirmation_email": True, "waiting_room": False,
        "registrants_email_notification": True, "meeting_authentication": False,
        "encryption_type": "enhanced_encryption",
        "approved_or_denied_countries_or_regions": {"enable": False},
        "breakout_room": {"enable": False}, "internal_meeting": False,
        "continuous_meeting_chat": {"enable": False, "auto_add_invited_external_users": False},
        "participant_focused_meeting": False, "push_change_to_calendar": False, "resources": [],
        "alternative_host_update_polls": False, "host_save_video_order": False, "email_notification": True,
        "focus_mode": False, "private_meeting": False,
    }


def _merge(base: dict[str, Any], changes: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for k, v in changes.items():
        out[k] = _merge(out[k], v) if isinstance(v, Mapping) and isinstance(out.get(k), dict) else v
    return out


class ZoomSandbox(SandboxServer):
    """A Zoom account with a Server-to-Server OAuth app, in memory, on 127.0.0.1.

    ``users`` are the account's users (e-mails), ``rate_per_second`` an int
    (every rate-limit label) or ``{"light": 30, "medium": 20, "heavy": 10}``
    (None: no per-second limit), ``daily_limit`` the meeting creates/updates
    per host and UTC day. ``clock`` gives the sandbox's epoch seconds
    (default: real time; :meth:`advance` and :meth:`set_time` shift it).
    ``big_ids`` makes new meeting ids larger than 2**53. Meetings with
    ``settings.auto_recording = "cloud"`` (or every meeting with ``record_all``)
    get cloud recordings once they ended; ``recording_sizes`` sets
    ``MP4_per_minute``/``M4A_per_minute`` bytes or fixed ``MP4_bytes``/``M4A_bytes``.
    """

    def __init__(
        self,
        account_id: str = "sandbox",
        client_id: str = "sandbox-client-id",
        client_secret: str | None = None,
        *,
        users: Sequence[str] = ("host1@example.org", "host2@example.org"),
        rate_per_second: int | Mapping[str, int] | None = None,
        retry_after_header: bool = True,
        daily_limit: int = 100,
        daily_limit_headers: bool = True,
        clock: Callable[[], float] | None = None,
        seed: int | str = 2022,
        big_ids: bool = False,
        record_all: bool = False,
        recording_sizes: Mapping[str, int] | None = None,
        token_ttl: int = 3599,
        scopes: Iterable[str] = ALL_SCOPES,
        timezone: str = "Asia/Bishkek",
        strict: bool = True,
        openapi: str | os.PathLike[str] | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
    ) -> None:
        super().__init__(host, port)
        self.account_id = account_id
        self.client_id = client_id
        self.client_secret = client_secret or secrets.token_urlsafe(24)
        self.rate_per_second = rate_per_second
        self.retry_after_header = retry_after_header
        self.daily_limit = daily_limit
        self.daily_limit_headers = daily_limit_headers
        self.seed = seed
        self.big_ids = big_ids
        self.record_all = record_all
        self.recording_sizes = {"MP4_per_minute": 60_000, "M4A_per_minute": 8_000, **(recording_sizes or {})}
        self.token_ttl = token_ttl
        self.scopes = tuple(scopes)
        self.timezone = timezone
        self.strict = strict
        path = openapi or os.environ.get(OPENAPI_ENV_VAR)
        self.openapi: OpenApi | None = load_openapi(path) if path else None
        self.lock = threading.RLock()
        self._clock = clock or time.time
        self._offset = 0.0
        self._rng = random.Random(f"{seed}:ids")
        self._sign_key = secrets.token_bytes(32)
        self.users: dict[str, _User] = {}
        self.meetings: dict[int, _Meeting] = {}
        self._tokens: dict[str, tuple[float, tuple[str, ...]]] = {}
        self._download_tokens: dict[str, float] = {}
        self._daily: Counter[tuple[str, date]] = Counter()
        self._qps: dict[str, deque[float]] = {}
        self._pages: dict[str, tuple[str, int, float]] = {}
        self._people: dict[tuple[int, int | None], tuple[Person, ...]] = {}
        self._sizes: dict[int, dict[str, int]] = {}
        self._instances: dict[int, tuple[tuple[datetime, int], list[Instance]]] = {}
        self._uuids: dict[str, tuple[int, int]] = {}
        self._recordings: dict[tuple[int, str], list[RecordingFile]] = {}
        self.files: dict[str, RecordingFile] = {}
        self._cuts: list[list[int]] = []
        self._routes = self._make_routes()
        for email in users:
            self.add_user(email)

    # -- lifecycle and URLs ----------------------------------------------------------

    def start(self) -> ZoomSandbox:
        super().start()
        enable_streaming(self)
        return self

    def wait(self) -> None:
        """Block until the server is stopped."""
        thread = self._thread
        while thread is not None and thread.is_alive():
            thread.join(0.5)

    @property
    def api_base(self) -> str:
        """What a client uses as ``api_base`` (``https://api.zoom.us/v2`` for the real one)."""
        return self.url + API_PREFIX

    @property
    def oauth_url(self) -> str:
        """What a client uses as ``oauth_url`` (``https://zoom.us/oauth/token`` for the real one)."""
        return self.url + OAUTH_PATH

    def credentials(self) -> dict[str, str]:
        """Keyword arguments for :class:`oca_sync.zoom.ZoomClient` pointing at this sandbox."""
        return {
            "account_id": self.account_id, "client_id": self.client_id, "client_secret": self.client_secret,
            "api_base": self.api_base, "oauth_url": self.oauth_url,
        }

    # -- the clock ---------------------------------------------------------------------

    def now(self) -> datetime:
        """The sandbox's current time (aware, UTC)."""
        return datetime.fromtimestamp(self._now(), UTC)

    def timestamp(self) -> float:
        """The sandbox clock in epoch seconds: give it to a client as ``clock`` (and
        ``advance`` as ``sleep``) so that both live on the same time."""
        return self._now()

    def _now(self) -> float:
        return self._clock() + self._offset

    def advance(self, seconds: float) -> None:
        """Move the sandbox clock forward (meetings end, tokens expire, daily limits reset)."""
        with self.lock:
            self._offset += seconds

    def set_time(self, moment: datetime) -> None:
        """Make the sandbox clock read ``moment`` now (and run on from there)."""
        if moment.tzinfo is None:
            raise ValueError("give an aware datetime")
        with self.lock:
            self._offset = moment.timestamp() - self._clock()

    # -- helpers for tests and the demo ------------------------------------------------

    def add_user(self, email: str, first_name: str | None = None, last_name: str | None = None,
                 timezone: str | None = None) -> str:
        """Add a licensed user to the account; returns the user id."""
        with self.lock:
            digest = hashlib.sha256(f"{self.seed}:user:{email.lower()}".encode()).digest()
            uid = base64.urlsafe_b64encode(digest[:16]).decode().rstrip("=")
            local = email.split("@")[0]
            words = local.replace(".", " ").replace("_", " ").split() or [local]
            self.users[uid] = _User(
                id=uid, email=email, first_name=first_name or words[0].title(),
                last_name=last_name if last_name is not None else " ".join(w.title() for w in words[1:]),
                pmi=int.from_bytes(digest[16:24], "big") % 9_000_000_000 + 1_000_000_000,
                timezone=timezone or self.timezone, created=self.now() - timedelta(days=400),
            )
            return uid

    def user(self, user_id_or_email: str) -> _User | None:
        with self.lock:
            if user_id_or_email in self.users:
                return self.users[user_id_or_email]
            want = user_id_or_email.lower()
            return next((u for u in self.users.values() if u.email.lower() == want), None)

    def set_participants(self, meeting_id: int, people: Sequence[Person | Mapping[str, Any] | tuple[str, str] | str],
                         instance: int | None = None) -> None:
        """Who attended a meeting (all its instances, or the ``instance``-th one).

        ``people`` are :class:`~oca_sync.sandbox.zoom_data.Person`, mappings
        ``{"name", "email", "segments": [(join_min, leave_min), ...]}``,
        ``(name, email)`` pairs or e-mails. The host is not added for you.
        """
        with self.lock:
            self._people[(meeting_id, instance)] = people_from(people)
            for key in [k for k in self._recordings if k[0] == meeting_id]:
                del self._recordings[key]  # the transcript names the speakers

    def set_recording_sizes(self, meeting_id: int, sizes: Mapping[str, int]) -> None:
        """Fix a meeting's file sizes, e.g. ``{"MP4_bytes": 5_000_000}``, before they are first listed."""
        with self.lock:
            self._sizes[meeting_id] = dict(sizes)
            for key in [k for k in self._recordings if k[0] == meeting_id]:
                del self._recordings[key]

    def expire_tokens(self) -> None:
        """Make every access token issued so far expired (the next API call gets 401, code 124)."""
        with self.lock:
            past = self._now() - 1
            self._tokens = {t: (past, s) for t, (_, s) in self._tokens.items()}

    def issued_tokens(self) -> list[str]:
        """Every access token issued so far (to check that none leaks into logs)."""
        with self.lock:
            return list(self._tokens) + list(self._download_tokens)

    def cut_downloads(self, after_bytes: int, count: int = 1) -> None:
        """Break the next ``count`` file transfers after ``after_bytes`` bytes of body."""
        with self.lock:
            self._cuts.append([after_bytes, count])

    def daily_count(self, user: str, day: date | None = None) -> int:
        """Meeting creates/updates counted for a host (id or e-mail) on a UTC day (default today)."""
        u = self.user(user)
        with self.lock:
            return self._daily[(u.id if u else user, day or self.now().date())]

    def instances(self, meeting_id: int) -> list[Instance]:
        """The ended instances of a meeting (empty while it has not ended)."""
        with self.lock:
            m = self.meetings[meeting_id]
            return list(self._ended_instances(m))

    def recording_files(self, meeting_id: int) -> list[RecordingFile]:
        """Every recording file of a meeting's ended instances (including trashed ones)."""
        with self.lock:
            m = self.meetings[meeting_id]
            return [f for inst in self._ended_instances(m) for f in self._files_of(m, inst)]

    # -- routing -----------------------------------------------------------------------

    def _make_routes(self) -> list[_Route]:
        # Rate-limit labels and scopes as the OpenAPI description of each operation states them.
        r = _Route
        return [
            r("GET", "/users/{userId}/meetings", self._list_meetings, "medium",
              ("meeting:read:admin", "meeting:read", "meeting:read:list_meetings:admin")),
            r("POST", "/users/{userId}/meetings", self._create_meeting, "medium",
              ("meeting:write:admin", "meeting:write", "meeting:write:meeting:admin"), MEETING_CREATE),
            r("GET", "/meetings/{meetingId}", self._get_meeting, "light",
              ("meeting:read:admin", "meeting:read", "meeting:read:meeting:admin")),
            r("PATCH", "/meetings/{meetingId}", self._update_meeting, "light",
              ("meeting:write:admin", "meeting:write", "meeting:update:meeting:admin"), MEETING_UPDATE),
            r("DELETE", "/meetings/{meetingId}", self._delete_meeting, "light",
              ("meeting:write:admin", "meeting:write", "meeting:delete:meeting:admin")),
            r("GET", "/past_meetings/{meetingId}/instances", self._past_instances, "medium",
              ("meeting:read:admin", "meeting:read", "meeting:read:list_past_instances:admin")),
            r("GET", "/meetings/{meetingId}/recordings", self._get_recordings, "light",
              ("recording:read:admin", "recording:read", "cloud_recording:read:list_recording_files:admin")),
            r("DELETE", "/meetings/{meetingId}/recordings/{recordingId}", self._delete_recording, "light",
              ("recording:write:admin", "recording:write", "cloud_recording:delete:recording_file:admin")),
            r("GET", "/users/{userId}/recordings", self._user_recordings, "medium",
              ("recording:read:admin", "recording:read", "cloud_recording:read:list_user_recordings:admin")),
            r("GET", "/report/meetings/{meetingId}/participants", self._report_participants, "heavy",
              ("report:read:admin", "report:read:list_meeting_participants:admin")),
            r("GET", "/users/{userId}", self._get_user, "light",
              ("user:read:admin", "user:read", "user:read:user:admin")),
        ]

    def _route(self, method: str, path: str) -> tuple[_Route, dict[str, str]] | None:
        segs = path.strip("/").split("/")
        best: tuple[int, _Route, dict[str, str]] | None = None
        for route in self._routes:
            parts = route.parts
            if route.method != method or len(parts) != len(segs):
                continue
            params: dict[str, str] = {}
            literal = 0
            for want, got in zip(parts, segs, strict=True):
                if want.startswith("{"):
                    params[want[1:-1]] = got
                elif want == got:
                    literal += 1
                else:
                    break
            else:
                if best is None or literal > best[0]:
                    best = (literal, route, params)
        return None if best is None else (best[1], best[2])

    def operation_name(self, request: Request) -> str | None:
        if request.path == OAUTH_PATH:
            return "POST /oauth/token"
        if request.path.startswith("/rec/"):
            return "GET /rec/download/{fileId}"
        if request.path.startswith(API_PREFIX + "/"):
            found = self._route(request.method, request.path[len(API_PREFIX):])
            return found[0].name if found else None
        return None

    def handle_request(self, request: Request) -> Response:
        try:
            if request.path == OAUTH_PATH:
                return self._oauth(request)
            if request.path.startswith("/rec/download/"):
                return self._download_redirect(request)
            if request.path.startswith("/rec/cdn/"):
                return self._download(request)
            if request.path.startswith("/j/"):
                return Response(200, b"<!doctype html><title>Zoom sandbox</title><p>Zoom sandbox meeting "
                                + request.path[3:].encode() + b"</p>", {"Content-Type": "text/html; charset=utf-8"})
            if request.path.startswith(API_PREFIX + "/"):
                return self._api(request)
            return Response.json({"code": 404, "message": "Not Found"}, 404)
        except _ZoomReply as reply:
            return reply.response

    # -- OAuth -----------------------------------------------------------------------

    def _oauth(self, request: Request) -> Response:
        """``POST https://zoom.us/oauth/token``: Server-to-Server OAuth (account credentials).

        Errors as Zoom's OAuth server gives them, ``{"reason": ..., "error": ...}``
        with HTTP 400 (seen for bad credentials and unsupported grant types).
        """
        params = {k: v[-1] for k, v in parse_qs(request.query, keep_blank_values=True).items()}
        ctype = request.headers.get("Content-Type", "")
        if request.body and "application/x-www-form-urlencoded" in ctype:
            params.update({k: v[-1] for k, v in parse_qs(request.body.decode("utf-8", "replace")).items()})
        self.log_call("POST /oauth/token", {k: params[k] for k in ("grant_type", "account_id") if k in params})

        def refuse(reason: str, error: str, status: int = 400) -> Response:
            return Response.json({"reason": reason, "error": error}, status)

        if request.method != "POST":
            return refuse("Method not allowed", "invalid_request", 405)
        grant = params.get("grant_type")
        if not grant:
            return refuse("Missing grant type", "invalid_request")
        if grant != "account_credentials":
            return refuse("unsupported grant type", "unsupported_grant_type")
        auth = request.headers.get("Authorization", "")
        if not auth.startswith("Basic "):
            return refuse("Client ID or client secret is missing", "invalid_request")
        try:
            cid, _, secret = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8").partition(":")
        except (ValueError, UnicodeDecodeError):
            return refuse("Invalid client_id or client_secret", "invalid_client")
        if not (hmac.compare_digest(cid, self.client_id) and hmac.compare_digest(secret, self.client_secret)):
            return refuse("Invalid client_id or client_secret", "invalid_client")
        account = params.get("account_id")
        if not account:
            return refuse("Missing account_id", "invalid_request")
        if account != self.account_id:
            return refuse("Invalid account_id", "invalid_request")
        token = "sbx." + secrets.token_urlsafe(40)
        with self.lock:
            self._tokens[token] = (self._now() + self.token_ttl, self.scopes)
        return Response.json({
            "access_token": token, "token_type": "bearer", "expires_in": self.token_ttl,
            "scope": " ".join(self.scopes), "api_url": self.url,
        })

    def _token_of(self, request: Request, *, query_ok: bool = False) -> tuple[str, ...]:
        """The scopes of the request's valid token; raises Zoom's 401 (code 124) otherwise."""
        auth = request.headers.get("Authorization", "")
        token = auth[7:].strip() if auth.lower().startswith("bearer ") else ""
        if not token and query_ok:
            token = (parse_qs(request.query).get("access_token") or [""])[-1]
        with self.lock:
            entry = self._tokens.get(token)
            if entry is None and query_ok and token in self._download_tokens:
                if self._download_tokens[token] > self._now():
                    return ("recording:read:admin",)
                raise _ZoomReply(401, 124, "Access token is expired.")
        if entry is None:
            raise _ZoomReply(401, 124, "Invalid access token.")
        expires, scopes = entry
        if expires <= self._now():
            raise _ZoomReply(401, 124, "Access token is expired.")
        return scopes

    # -- the API -----------------------------------------------------------------------

    def _api(self, request: Request) -> Response:
        path = request.path[len(API_PREFIX):]
        found = self._route(request.method, path)
        if found is None:
            self.log_call(f"{request.method} {path}", {"error": "no such route"})
            return Response.json({"code": 404, "message": "Not Found"}, 404)
        route, raw = found
        query = parse_qs(request.query, keep_blank_values=True)
        body: Any = None
        if request.body:
            try:
                body = json.loads(request.body)
            except (ValueError, UnicodeDecodeError):
                body = _INVALID
        self.log_call(route.name, {
            "path": {k: unquote(v) for k, v in raw.items()},
            "query": {k: v[-1] for k, v in query.items()},
            "body": None if body is _INVALID else body,
        })
        scopes = self._token_of(request)
        if not set(route.scopes) & set(scopes):
            raise _ZoomReply(400, 4700, f"Invalid access token, does not contain scopes:[{', '.join(route.scopes[:2])}].")
        self._check_qps(route)
        values, errors = check_query(route.name, query)
        if not self.strict:
            errors = [e for e in errors if e["message"] != "Unknown query parameter."]
        if errors:
            raise _validation_failed(errors)
        if body is _INVALID or (body is not None and not isinstance(body, dict)):
            raise _ZoomReply(400, 300, "Request Body should be a valid JSON object.")
        if route.body is not None:
            self._validate_body(body or {}, route.body)
        elif body is not None and self.strict:
            raise _ZoomReply(400, 300, f"{route.name} takes no request body.")
        if self.openapi is not None:
            self._openapi_request(route, raw, query, body)
        try:
            response = route.handler(raw, values, body)
        except _ZoomReply as reply:
            response = reply.response
        if self.openapi is not None:
            self._openapi_response(route, response)
        return response

    def _openapi_request(self, route: _Route, raw: Mapping[str, str], query: Mapping[str, list[str]], body: Any) -> None:
        assert self.openapi is not None
        op = self.openapi.operation(route.method, route.template)
        decoded = {k: unquote(unquote(v)) for k, v in raw.items()}
        errors = self.openapi.request_errors(op, path_params=decoded, query=query, body=body, strict=self.strict)
        if errors:
            found = [e.partition(": ") for e in errors]
            raise _validation_failed([{"field": f.replace("/", "."), "message": f"{m} (OpenAPI)"} for f, _, m in found])

    def _openapi_response(self, route: _Route, response: Response) -> None:
        assert self.openapi is not None
        op = self.openapi.operation(route.method, route.template)
        if response.status >= 400 and str(response.status) not in op.spec.get("responses", {}):
            return  # an error the document does not list for this operation (e.g. a month-range 400)
        body = json.loads(response.body) if response.body else None
        errors = self.openapi.response_errors(op, response.status, body)
        if errors:
            # An emulator bug: fail loudly rather than teach the client a wrong shape.
            raise _ZoomReply(500, 500, "sandbox answer does not fit the OpenAPI document: " + "; ".join(errors[:5]))

    def _check_qps(self, route: _Route) -> None:
        limit = self.rate_per_second
        if isinstance(limit, Mapping):
            limit = limit.get(route.label)
        if not limit:
            return
        now = self._now()
        with self.lock:
            window = self._qps.setdefault(route.label, deque())
            while window and window[0] <= now - 1.0:
                window.popleft()
            if len(window) >= limit:
                headers = {
                    "X-RateLimit-Category": route.label.title(), "X-RateLimit-Type": "QPS",
                    "X-RateLimit-Limit": str(limit), "X-RateLimit-Remaining": "0",
                }
                if self.retry_after_header:
                    headers["Retry-After"] = str(max(1, math.ceil(window[0] + 1.0 - now)))
                raise _ZoomReply(429, 429, _MSG_QPS, headers=headers)
            window.append(now)

    def _count_daily(self, host: _User) -> dict[str, str]:
        """Count one create/update against the host's daily limit; 429 when it is used up."""
        with self.lock:
            key = (host.id, self.now().date())
            if self._daily[key] >= self.daily_limit:
                headers: dict[str, str] = {}
                if self.daily_limit_headers:
                    reset = datetime.combine(key[1] + timedelta(days=1), datetime.min.time(), UTC)
                    headers = {
                        "X-RateLimit-Type": "Daily-limit", "X-RateLimit-Limit": str(self.daily_limit),
                        "X-RateLimit-Remaining": "0", "Retry-After": format_time(reset),
                    }
                raise _ZoomReply(429, 429, _MSG_DAILY.format(limit=self.daily_limit), headers=headers)
            self._daily[key] += 1
            return {"X-RateLimit-Limit": str(self.daily_limit),
                    "X-RateLimit-Remaining": str(self.daily_limit - self._daily[key])}

    # -- lookups -----------------------------------------------------------------------

    def _user_or_404(self, raw: str) -> _User:
        name = unquote(raw)
        u = self.user(name)
        if u is None:
            raise _ZoomReply(404, 1001, f"User does not exist: {name}.")
        return u

    def _meeting_ref(self, raw: str) -> str | None:
        """A ``{meetingId}`` path segment as Zoom reads it (None: mangled by the gateway).

        Zoom decodes the path once; a UUID that starts with ``/`` or contains
        ``//`` does not survive that (the slashes are taken as path separators),
        which is why Zoom wants it encoded twice: then it decodes it again.
        """
        once = unquote(raw)
        if "%" in once:
            return unquote(once)
        if once.startswith("/") or "//" in once:
            return None
        return once

    def _meeting_or_404(self, raw: str) -> _Meeting:
        ref = self._meeting_ref(raw)
        m = self.meetings.get(int(ref)) if ref and ref.isdigit() else None
        if m is None or m.deleted:
            raise _ZoomReply(404, 3001, f"Meeting does not exist: {ref or unquote(raw)}.")
        return m

    def _instance_of(self, raw: str) -> tuple[_Meeting, Instance] | None:
        """The instance a ``{meetingId}`` names: the UUID's, or the latest ended one of an id."""
        ref = self._meeting_ref(raw)
        if not ref:
            return None
        if ref.isdigit():
            m = self.meetings.get(int(ref))
            if m is None:
                return None
            ended = self._ended_instances(m)
            return (m, ended[-1]) if ended else None
        for m in self.meetings.values():
            self._ended_instances(m)  # make sure its instances are known
        hit = self._uuids.get(ref)
        if hit is None:
            return None
        m = self.meetings[hit[0]]
        for inst in self._ended_instances(m):
            if inst.uuid == ref:
                return m, inst
        return None

    def _ended_instances(self, m: _Meeting) -> list[Instance]:
        if m.type != 2 or m.end > self.now():
            return []
        key = (m.start, m.duration)
        cached = self._instances.get(m.id)
        if cached is None or cached[0] != key:
            made = make_instances(self.seed, m.id, m.uuid, m.style_index, m.start, m.duration)
            self._instances[m.id] = (key, made)
            for inst in made:
                self._uuids[inst.uuid] = (m.id, inst.index)
            return made
        return cached[1]

    def _host_person(self, m: _Meeting) -> Person:
        host = self.users[m.host_id]
        return Person(host.display_name or host.email, host.email)

    def _rows(self, m: _Meeting, inst: Instance) -> list[dict[str, Any]]:
        people = self._people.get((m.id, inst.index), self._people.get((m.id, None)))
        return make_participant_rows(self.seed, m.id, inst, self._host_person(m), people)

    def _files_of(self, m: _Meeting, inst: Instance) -> list[RecordingFile]:
        if not (self.record_all or m.settings.get("auto_recording") == "cloud"):
            return []
        key = (m.id, inst.uuid)
        files = self._recordings.get(key)
        if files is None:
            sizes = {**self.recording_sizes, **self._sizes.get(m.id, {})}
            files = make_recording_files(self.seed, m.id, inst, self._rows(m, inst), m.topic, sizes)
            for old in [f for f in self.files.values() if f.meeting_uuid == inst.uuid]:
                del self.files[old.id]
            self._recordings[key] = files
            for f in files:
                self.files[f.id] = f
        return files

    # -- meetings ----------------------------------------------------------------------

    def _new_meeting_id(self) -> int:
        while True:
            if self.big_ids:
                # Above 2**53 and odd: a float cannot hold it, so a lossy client shows.
                mid = self._rng.randrange(2**53 + 1, 10**17) | 1
            else:
                mid = self._rng.randrange(10**10, 10**11)
            if mid not in self.meetings:
                return mid

    def _meeting_json(self, m: _Meeting, *, listing: bool = False) -> dict[str, Any]:
        host = self.users[m.host_id]
        digest = hashlib.sha256(f"{m.id}:{m.password}".encode()).hexdigest()
        pwd, digits = digest[:32], str(int(digest[32:44], 16) % 10**6).zfill(6)
        if listing:
            # GET /users/{userId}/meetings "meetings" items. The OpenAPI document (meetings[].agenda):
            # "The length of agenda gets truncated to 250 characters when you list all meetings for a
            # user"; GET /meetings/{meetingId} has the whole text.
            return {
                "uuid": m.uuid, "id": m.id, "host_id": m.host_id, "topic": m.topic, "type": m.type,
                "start_time": format_time(m.start), "duration": m.duration, "timezone": m.timezone,
                "agenda": m.agenda[:250], "created_at": format_time(m.created),
                "join_url": f"{self.url}/j/{m.id}?pwd={pwd}",
            }
        out: dict[str, Any] = {
            "uuid": m.uuid, "id": m.id, "host_id": m.host_id, "host_email": host.email, "assistant_id": "",
            "topic": m.topic, "type": m.type, "status": "waiting",
            "start_time": format_time(m.start), "duration": m.duration, "timezone": m.timezone,
            "agenda": m.agenda, "created_at": format_time(m.created),
            "start_url": f"{self.url}/s/{m.id}?zak=sandbox", "join_url": f"{self.url}/j/{m.id}?pwd={pwd}",
            "password": m.password, "h323_password": digits, "pstn_password": digits, "encrypted_password": pwd,
            "settings": m.settings, "pre_schedule": False,
        }
        if m.recurrence is not None:
            out["recurrence"] = m.recurrence
        if m.tracking_fields:
            out["tracking_fields"] = m.tracking_fields
        return out

    def _list_meetings(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        # GET /users/{userId}/meetings (meetings): scheduled meetings only, never instant ones.
        with self.lock:
            host = self._user_or_404(raw["userId"])
            now = self.now()
            kind = query.get("type", "scheduled")
            mine = [m for m in self.meetings.values() if m.host_id == host.id and not m.deleted and m.type != 1]

            def wanted(m: _Meeting) -> bool:
                live = m.start <= now < m.end
                return {
                    "scheduled": True, "live": live, "upcoming": live or m.start > now,
                    "upcoming_meetings": live or m.start > now, "previous_meetings": m.end <= now,
                }[kind]

            items = [self._meeting_json(m, listing=True) for m in sorted(mine, key=lambda m: (m.start, m.id))
                     if wanted(m)]
            return Response.json(self._page(f"meetings:{host.id}:{kind}", query, "meetings", items))

    def _create_meeting(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        # POST /users/{userId}/meetings (meetingCreate): 201 with the meeting.
        body = body or {}
        with self.lock:
            host = self._user_or_404(raw["userId"])
            headers = self._count_daily(host)
            now = self.now()
            tz = body.get("timezone") or host.timezone
            start = parse_start_time(body["start_time"], body.get("timezone"), host.timezone) \
                if body.get("start_time") else now.replace(microsecond=0)
            mid = self._new_meeting_id()
            n = len(self.meetings)
            style = n % len(UUID_STYLES)
            rng = random.Random(f"{self.seed}:meeting:{mid}")
            password = body.get("password")
            if password is None:
                password = "".join(rng.choice("abcdefghjkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
                                   for _ in range(6))
            m = _Meeting(
                id=mid, uuid=make_uuid(rng, UUID_STYLES[style]), style_index=style, host_id=host.id,
                topic=body.get("topic") or f"{host.display_name}'s Zoom Meeting", type=body.get("type", 2),
                start=start, duration=body.get("duration", 60), timezone=tz, agenda=body.get("agenda", ""),
                password=password, settings=_merge(_settings_defaults(), body.get("settings") or {}),
                created=now.replace(microsecond=0), recurrence=body.get("recurrence"),
                tracking_fields=list(body.get("tracking_fields") or []),
            )
            self.meetings[mid] = m
            self._uuids[m.uuid] = (mid, 0)
            response = Response.json(self._meeting_json(m), 201)
            response.headers.update(headers)
            return response

    def _get_meeting(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        with self.lock:
            return Response.json(self._meeting_json(self._meeting_or_404(raw["meetingId"])))

    def _update_meeting(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        # PATCH /meetings/{meetingId} (meetingUpdate): 204; counts against the host's daily limit.
        body = body or {}
        with self.lock:
            m = self._meeting_or_404(raw["meetingId"])
            host = self.users[m.host_id]
            headers = self._count_daily(host)
            if "timezone" in body:
                m.timezone = body["timezone"]
            if "start_time" in body:
                m.start = parse_start_time(body["start_time"], m.timezone, host.timezone)
            for name in ("topic", "agenda", "duration", "type", "password", "recurrence"):
                if name in body:
                    setattr(m, name, body[name])
            if "tracking_fields" in body:
                m.tracking_fields = list(body["tracking_fields"])
            if "settings" in body:
                m.settings = _merge(m.settings, body["settings"])
            return Response(204, b"", headers)

    def _delete_meeting(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        # DELETE /meetings/{meetingId} (meetingDelete): 204. Past instances and
        # recordings of a deleted meeting stay (as in Zoom).
        with self.lock:
            m = self._meeting_or_404(raw["meetingId"])
            m.deleted = True
            return Response(204)

    def _validate_body(self, body: Mapping[str, Any], rule: Rule) -> None:
        errors = check(body, rule)
        if not self.strict:
            errors = [e for e in errors if e["message"] != "Unknown field."]
        if errors:
            raise _validation_failed(errors)

    def _past_instances(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        # GET /past_meetings/{meetingId}/instances (pastMeetings)
        with self.lock:
            ref = self._meeting_ref(raw["meetingId"]) or ""
            m = self.meetings.get(int(ref)) if ref.isdigit() else None
            if m is None:
                raise _ZoomReply(404, 3001, f"Meeting does not exist: {ref}.")
            return Response.json({"meetings": [
                {"uuid": i.uuid, "start_time": format_time(i.start)} for i in self._ended_instances(m)
            ]})

    # -- recordings --------------------------------------------------------------------

    def _file_json(self, f: RecordingFile, *, trash: bool = False) -> dict[str, Any]:
        out: dict[str, Any] = {
            "id": f.id, "meeting_id": f.meeting_uuid,
            "recording_start": format_time(f.recording_start), "recording_end": format_time(f.recording_end),
            "file_type": f.file_type, "file_extension": f.file_extension, "file_size": f.size,
            "play_url": f"{self.url}/rec/play/{f.id}", "download_url": f"{self.url}/rec/download/{f.id}",
            "status": f.status, "recording_type": f.recording_type,
        }
        if trash and f.deleted_time is not None:
            out["deleted_time"] = format_time(f.deleted_time)
        return out

    def _recording_json(self, m: _Meeting, inst: Instance, files: list[RecordingFile], *,
                        trash: bool = False) -> dict[str, Any]:
        # GET /meetings/{meetingId}/recordings (recordingGet). The document types
        # "type" as a string enum ("1".."99"); it is answered that way here.
        return {
            "uuid": inst.uuid, "id": m.id, "account_id": self.account_id, "host_id": m.host_id,
            "topic": m.topic, "type": str(m.type), "start_time": format_time(inst.start),
            "timezone": m.timezone, "duration": max(1, round(inst.minutes)),
            "total_size": sum(f.size for f in files), "recording_count": len(files),
            "share_url": f"{self.url}/rec/share/{inst.uuid.replace('/', '_')}",
            "recording_files": [self._file_json(f, trash=trash) for f in files],
            "password": "", "recording_play_passcode": "",
        }

    def _get_recordings(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        with self.lock:
            found = self._instance_of(raw["meetingId"])
            files: list[RecordingFile] = []
            if found is not None:
                m, inst = found
                if raw["meetingId"].isdigit():
                    # An id means the latest instance that has recordings.
                    for candidate in reversed(self._ended_instances(m)):
                        live = [f for f in self._files_of(m, candidate) if f.deleted is None]
                        if live:
                            inst, files = candidate, live
                            break
                else:
                    files = [f for f in self._files_of(m, inst) if f.deleted is None]
            if found is None or not files:
                raise _ZoomReply(404, 3301, "There is no recording for this meeting.")
            out = self._recording_json(m, inst, files)
            if "download_access_token" in str(query.get("include_fields", "")):
                token = "sbxdl." + secrets.token_urlsafe(32)
                self._download_tokens[token] = self._now() + int(query.get("ttl", 86400))
                out["download_access_token"] = token
            return Response.json(out)

    def _user_recordings(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        # GET /users/{userId}/recordings (recordingsList): "The maximum range can be a month".
        with self.lock:
            host = self._user_or_404(raw["userId"])
            today = self.now().date()
            start = date.fromisoformat(query["from"]) if "from" in query else today
            end = date.fromisoformat(query["to"]) if "to" in query else today + timedelta(days=1)
            if end < start:
                raise _validation_failed([{"field": "to", "message": "Invalid field: 'to' is before 'from'."}])
            if end > _add_month(start):
                raise _ZoomReply(400, 300, "The date range between 'from' and 'to' can not exceed one month.")
            trash = bool(query.get("trash"))
            items = []
            for m in self.meetings.values():
                if m.host_id != host.id:
                    continue
                for inst in self._ended_instances(m):
                    if not start <= inst.start.date() <= end and not trash:
                        continue
                    files = [f for f in self._files_of(m, inst) if (f.deleted == "trash") == trash
                             and f.deleted != "delete"]
                    if files:
                        items.append((inst.start, self._recording_json(m, inst, files, trash=trash)))
            items.sort(key=lambda x: x[0], reverse=True)
            page = self._page(f"recordings:{host.id}:{start}:{end}:{trash}", query, "meetings", [i for _, i in items])
            return Response.json({"from": start.isoformat(), "to": end.isoformat(), **page})

    def _delete_recording(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        # DELETE /meetings/{meetingId}/recordings/{recordingId} (recordingDeleteOne), action trash|delete.
        with self.lock:
            found = self._instance_of(raw["meetingId"])
            file_id = unquote(raw["recordingId"])
            f = self.files.get(file_id)
            if found is None or f is None or f.meeting_uuid != found[1].uuid or f.deleted == "delete" \
                    or (f.deleted == "trash" and query.get("action", "trash") == "trash"):
                raise _ZoomReply(404, 3301, "There is no recording for this meeting.")
            f.deleted = query.get("action", "trash")
            f.deleted_time = self.now().replace(microsecond=0)
            return Response(204)

    # -- reports -----------------------------------------------------------------------

    def _report_participants(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        # GET /report/meetings/{meetingId}/participants (reportMeetingParticipants):
        # one row per join/leave; an id means the latest instance.
        with self.lock:
            found = self._instance_of(raw["meetingId"])
            if found is None:
                ref = self._meeting_ref(raw["meetingId"]) or unquote(raw["meetingId"])
                raise _ZoomReply(404, 3001, f"Meeting {ref} not found or has expired.")
            m, inst = found
            if inst.start < self.now() - timedelta(days=365):
                raise _ZoomReply(400, 12702, "Can not access meeting a year ago.")
            with_registrant = query.get("include_fields") == "registrant_id"
            rows = []
            for row in self._rows(m, inst):
                item = {**row, "join_time": format_time(row["join_time"]), "leave_time": format_time(row["leave_time"])}
                if not with_registrant:
                    item.pop("registrant_id", None)
                rows.append(item)
            return Response.json(self._page(f"report:{inst.uuid}", query, "participants", rows))

    # -- users -------------------------------------------------------------------------

    def _get_user(self, raw: Mapping[str, str], query: Mapping[str, Any], body: Any) -> Response:
        # GET /users/{userId} (user)
        with self.lock:
            u = self._user_or_404(raw["userId"])
            return Response.json({
                "id": u.id, "first_name": u.first_name, "last_name": u.last_name, "display_name": u.display_name,
                "email": u.email, "type": 2, "role_name": "Member", "role_id": "2", "pmi": u.pmi,
                "use_pmi": False, "personal_meeting_url": f"{self.url}/j/{u.pmi}", "timezone": u.timezone,
                "verified": 1, "dept": "", "created_at": format_time(u.created), "user_created_at": format_time(u.created),
                "last_login_time": format_time(self.now() - timedelta(days=2)), "last_client_version": "5.17.0",
                "language": "en-US", "phone_number": "", "status": "active", "account_id": self.account_id,
                "account_number": 10000000 + len(self.account_id), "cluster": "us05", "login_types": [100],
                "group_ids": [], "im_group_ids": [],
            })

    # -- paging ------------------------------------------------------------------------

    def _page(self, key: str, query: Mapping[str, Any], name: str, items: list[Any]) -> dict[str, Any]:
        """One page of ``items``; ``next_page_token`` is opaque, bound to the listing, valid 15 minutes."""
        size = int(query.get("page_size", 30))
        offset = 0
        token = query.get("next_page_token")
        now = self._now()
        if token:
            entry = self._pages.get(token)
            if entry is None or entry[0] != key or entry[2] + 900 < now:
                raise _ZoomReply(400, 300, "The next page token is invalid or expired.")
            offset = entry[1]
        chunk = items[offset:offset + size]
        following = ""
        if offset + size < len(items):
            following = secrets.token_urlsafe(24)
            self._pages[following] = (key, offset + size, now)
        return {
            "page_size": size, "total_records": len(items), "page_count": max(1, math.ceil(len(items) / size)),
            "next_page_token": following, name: chunk,
        }

    # -- downloads ---------------------------------------------------------------------

    def _download_redirect(self, request: Request) -> Response:
        """``GET /rec/download/{fileId}``: check the token, redirect to a signed, expiring CDN URL."""
        file_id = unquote(request.path[len("/rec/download/"):])
        self.log_call("GET /rec/download/{fileId}", {"file_id": file_id, "range": request.headers.get("Range")})
        self._token_of(request, query_ok=True)
        with self.lock:
            f = self.files.get(file_id)
            if f is None or f.deleted is not None:
                raise _ZoomReply(404, 3301, "File does not exist.")
            expires = int(self._now()) + 3600
        sig = self._sign(file_id, expires)
        return Response(302, b"", {"Location": f"{self.url}/rec/cdn/{quote(file_id)}?expires={expires}&sig={sig}"})

    def _sign(self, file_id: str, expires: int) -> str:
        return hmac.new(self._sign_key, f"{file_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def _download(self, request: Request) -> Response:
        """The signed file URL: the bytes, with ``Range: bytes=a-[b]`` (206) support."""
        file_id = unquote(request.path[len("/rec/cdn/"):])
        q = {k: v[-1] for k, v in parse_qs(request.query).items()}
        try:
            expires = int(q.get("expires", "0"))
        except ValueError:
            expires = 0
        if not hmac.compare_digest(q.get("sig", ""), self._sign(file_id, expires)) or expires < self._now():
            return Response(403, b"<Error><Code>AccessDenied</Code></Error>", {"Content-Type": "application/xml"})
        with self.lock:
            f = self.files.get(file_id)
            if f is None or f.deleted is not None:
                return Response(404, b"<Error><Code>NoSuchKey</Code></Error>", {"Content-Type": "application/xml"})
            cut = None
            if self._cuts:
                cut = self._cuts[0][0]
                self._cuts[0][1] -= 1
                if self._cuts[0][1] <= 0:
                    self._cuts.pop(0)
        first, last = 0, f.size - 1
        status = 200
        headers = {
            "Content-Type": _CONTENT_TYPES.get(f.file_extension, "application/octet-stream"),
            "Accept-Ranges": "bytes",
            "Content-Disposition": f'attachment; filename="{_file_name(f)}"',
        }
        wanted = request.headers.get("Range", "")
        if wanted:
            span = _parse_range(wanted, f.size)
            if span is None:
                return Response(416, b"", {"Content-Range": f"bytes */{f.size}"})
            first, last = span
            status = 206
            headers["Content-Range"] = f"bytes {first}-{last}/{f.size}"
        return StreamResponse(status=status, headers=headers, chunks=f.read(first, last + 1),
                              length=last + 1 - first, cut_after=cut)

    # -- control API (for a sandbox in another process) ---------------------------------

    def control(self, action: str, request: Request) -> Response | None:
        data = json.loads(request.body or b"{}") if request.method == "POST" else {}
        if action == "credentials" and request.method == "GET":
            return Response.json(self.credentials())
        if action == "clock" and request.method == "GET":
            return Response.json({"now": format_time(self.now())})
        if action == "clock" and request.method == "POST":
            if "set" in data:
                self.set_time(datetime.fromisoformat(str(data["set"])))
            if "advance" in data:
                self.advance(float(data["advance"]))
            return Response.json({"now": format_time(self.now())})
        if action == "participants" and request.method == "POST":
            self.set_participants(int(data["meeting_id"]), data["people"], data.get("instance"))
            return Response.json({"ok": True})
        if action == "expire-tokens" and request.method == "POST":
            self.expire_tokens()
            return Response.json({"ok": True})
        if action == "cut-downloads" and request.method == "POST":
            self.cut_downloads(int(data["after_bytes"]), int(data.get("count", 1)))
            return Response.json({"ok": True})
        if action == "state" and request.method == "GET":
            with self.lock:
                return Response.json({
                    "now": format_time(self.now()),
                    "users": [{"id": u.id, "email": u.email} for u in self.users.values()],
                    "meetings": [{**self._meeting_json(m), "deleted": m.deleted} for m in self.meetings.values()],
                })
        return None


class _Invalid:
    pass


_INVALID: Any = _Invalid()


def _add_month(day: date) -> date:
    return day + relativedelta(months=1)


def _parse_range(value: str, size: int) -> tuple[int, int] | None:
    """``bytes=a-b`` / ``bytes=a-`` / ``bytes=-n`` → (first, last) inclusive; None if unsatisfiable."""
    unit, _, spec = value.partition("=")
    if unit.strip() != "bytes" or "," in spec:
        return None
    a, _, b = spec.strip().partition("-")
    try:
        if a == "":
            n = int(b)
            return (max(0, size - n), size - 1) if n > 0 and size else None
        first = int(a)
        last = int(b) if b else size - 1
    except ValueError:
        return None
    if first >= size or last < first:
        return None
    return first, min(last, size - 1)


def _file_name(f: RecordingFile) -> str:
    stamp = f.recording_start.strftime("GMT%Y%m%d-%H%M%S")
    kind = {"MP4": "Recording_1920x1080", "M4A": "Recording", "TRANSCRIPT": "Recording", "CHAT": "RecordingnewChat"}
    return f"{stamp}_{kind.get(f.file_type, 'Recording')}.{f.file_extension.lower()}"
