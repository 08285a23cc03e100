"""Thin client of Zoom's REST API v2 with Server-to-Server OAuth, on ``requests``.

It owns everything about the wire: the token, paging, retries, rate limits,
the encoding of ids in URLs, and the mapping of Zoom's error bodies
(``{"code": N, "message": "..."}``) to :mod:`oca_sync.zoom.errors`. Callers
never loop on errors.

Facts it relies on (see ``docs/zoom.md`` for the sources):

* **Token.** ``POST https://zoom.us/oauth/token?grant_type=account_credentials&account_id=…``
  with HTTP Basic auth (client id, client secret) answers ``access_token``,
  ``expires_in`` (about an hour), no refresh token. The token is cached and
  renewed :attr:`ZoomClient.token_margin` seconds before it expires, and once
  more whenever Zoom answers 401 (code 124, token invalid or expired): Zoom
  may invalidate a token early (e.g. when too many are issued).
* **Ids.** Meeting ids are 64-bit integers. JSON is parsed with :mod:`json`,
  so they stay exact Python ints (never floats), and they are formatted with
  ``str()``. A meeting *UUID* that starts with ``/`` or contains ``//`` must be
  URL-encoded twice; every other UUID once.
* **Paging.** ``next_page_token`` until it is empty, ``page_size`` 300 (the maximum).
  User recording listings span at most one month: longer ranges are split.

Retry policy, and why:

* **429, per-second limit**: the request was refused, so any method may be
  repeated. Wait ``Retry-After`` (seconds, an HTTP date or Zoom's ISO time)
  when given, else back off exponentially up to :attr:`ZoomClient.max_backoff`;
  give up with :class:`ZoomRateLimited` after :attr:`ZoomClient.rate_limit_attempts`
  waits or when asked to wait longer than :attr:`ZoomClient.max_rate_limit_wait`.
* **429, daily limit** (100 meeting creates/updates per host and day, reset at
  00:00 UTC): nothing will succeed today, so no retry loop:
  :class:`ZoomDailyLimitReached` with ``resets_at``.
* **5xx, timeouts, dropped connections, answers cut off or not JSON** (a proxy's
  HTML page): GET is repeated with backoff; PATCH
  and DELETE too, because repeating them cannot create anything (a DELETE that
  finds nothing after an ambiguous first attempt counts as done). A POST
  (create) is repeated only when the connection provably never opened;
  otherwise it may have been executed, and the client raises
  :class:`~oca_sync.errors.WriteOutcomeUnknown` so that the caller re-observes
  before deciding: repeating it blindly could create a duplicate meeting.

The client secret and access tokens never appear in logs, exceptions or ``repr``.
"""

from __future__ import annotations

import email.utils
import json
import logging
import threading
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any, Self
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import requests
import urllib3
from dateutil.relativedelta import relativedelta

from .. import __version__, logsafe
from ..callstats import CallStats as BaseCallStats
from ..errors import WriteOutcomeUnknown, redact
from ..netcause import describe
from .errors import (
    ZoomAuthError,
    ZoomDailyLimitReached,
    ZoomError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomServerError,
    ZoomTransportError,
)

__all__ = [
    "DEFAULT_API_BASE",
    "DEFAULT_OAUTH_URL",
    "MAX_PAGE_SIZE",
    "CallStats",
    "Download",
    "ZoomClient",
    "local_start_time",
    "meeting_path_id",
    "month_windows",
    "parse_retry_after",
]

log = logging.getLogger("oca_sync.zoom")

DEFAULT_API_BASE = "https://api.zoom.us/v2"
DEFAULT_OAUTH_URL = "https://zoom.us/oauth/token"
#: The largest ``page_size`` Zoom accepts on every listing we use.
MAX_PAGE_SIZE = 300

#: Methods whose repetition cannot create anything (see the module docstring).
_SAFE_TO_REPEAT = frozenset({"GET", "HEAD", "PATCH", "PUT", "DELETE"})
#: Zoom's error codes for a token without the scope an endpoint needs.
_SCOPE_CODES = frozenset({4700, 4711})

MeetingRef = int | str


# --------------------------------------------------------------------------- #
# Small pure helpers (unit-tested on their own)
# --------------------------------------------------------------------------- #


def meeting_path_id(value: MeetingRef) -> str:
    """A meeting id or UUID as a URL path segment, exactly as Zoom wants it.

    ``85746065123`` and ``"85746065123"`` stay digits (64-bit ids are never
    turned into floats); a UUID is percent-encoded once, or twice when it
    starts with ``/`` or contains ``//`` (Zoom decodes such paths twice).
    """
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise TypeError(f"a meeting id is an int or a UUID string, not {type(value).__name__}")
    if isinstance(value, int):
        if value <= 0:
            raise ValueError(f"invalid meeting id {value}")
        return str(value)
    if not value:
        raise ValueError("empty meeting id")
    if value.isdigit():
        return value
    once = quote(value, safe="")
    if value.startswith("/") or "//" in value:
        return quote(once, safe="")
    return once


def parse_retry_after(value: str | None, now: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` value, or None if absent or unreadable.

    Accepts delta-seconds, an HTTP date (RFC 9110) and the ISO 8601 time Zoom's
    rate-limit documentation shows (``2020-05-31T00:00:00Z``).
    """
    at = _retry_after_instant(value, now)
    return None if at is None else max(0.0, at - now)


def _retry_after_instant(value: str | None, now: float) -> float | None:
    if not value or not value.strip():
        return None
    text = value.strip()
    try:
        return now + max(0.0, float(text))
    except ValueError:
        pass
    moment: datetime | None
    try:
        moment = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        moment = None
    if moment is None:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.timestamp()


def next_utc_midnight(now: float) -> datetime:
    """The next 00:00 UTC after ``now`` (when Zoom's daily limits reset)."""
    today = datetime.fromtimestamp(now, UTC).date()
    return datetime.combine(today + timedelta(days=1), datetime.min.time(), UTC)


def month_windows(start: date, end: date) -> list[tuple[date, date]]:
    """Split ``[start, end]`` (inclusive) into windows of at most one calendar month.

    Zoom's ``GET /users/{userId}/recordings`` accepts "a month" at most between
    ``from`` and ``to``; windows such as Jan 17 – Feb 16, Feb 17 – Mar 16 stay inside it.
    """
    if end < start:
        raise ValueError(f"the range ends ({end}) before it starts ({start})")
    out: list[tuple[date, date]] = []
    cur = start
    while cur <= end:
        stop = min(cur + relativedelta(months=1) - timedelta(days=1), end)
        out.append((cur, stop))
        cur = stop + timedelta(days=1)
    return out


def local_start_time(moment: datetime, timezone: str) -> str:
    """``start_time`` in Zoom's local form (``2022-01-17T15:00:00``, no ``Z``) for ``timezone``.

    Send it together with ``"timezone": timezone``: with a trailing ``Z`` Zoom
    would read the time as GMT.
    """
    if moment.tzinfo is not None:
        moment = moment.astimezone(ZoneInfo(timezone))
    return moment.replace(tzinfo=None, microsecond=0).isoformat(timespec="seconds")


def _as_date(value: date | str) -> date:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    return date.fromisoformat(value)


def _short(e: BaseException) -> str:
    return describe(e)  # "connection refused", "host name not resolved", a TLS problem … or the text


def _never_sent(e: requests.exceptions.RequestException) -> bool:
    """True when the TCP connection was never established (refused, DNS, connect timeout)."""
    if isinstance(e, requests.exceptions.ConnectTimeout):
        return True
    text = repr(e)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError"))


def _json_body(resp: requests.Response) -> Any:
    try:
        return json.loads(resp.content) if resp.content else None
    except (ValueError, UnicodeDecodeError):
        return None


def _safe_url(url: str) -> str:
    """A URL fit for logs: no query string (signed download URLs carry credentials)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


# --------------------------------------------------------------------------- #
# The client
# --------------------------------------------------------------------------- #


@dataclass
class CallStats(BaseCallStats):
    """Counts of calls made, and of OAuth tokens asked for."""

    token_requests: int = 0

    def token_requested(self) -> None:
        self._add("token_requests", 1)


class ZoomClient:
    """One Zoom account through a Server-to-Server OAuth app.

    >>> zoom = ZoomClient(account_id, client_id, client_secret)   # doctest: +SKIP
    >>> zoom.create_meeting("host@example.org", {"topic": "Session 1", "type": 2,
    ...     "start_time": "2022-01-17T15:00:00", "timezone": "Asia/Bishkek", "duration": 90})  # doctest: +SKIP
    """

    #: Renew the token this many seconds before it expires.
    token_margin: float = 300.0

    def __init__(
        self,
        account_id: str,
        client_id: str,
        client_secret: str,
        *,
        api_base: str = DEFAULT_API_BASE,
        oauth_url: str = DEFAULT_OAUTH_URL,
        timeout: float = 30,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
        max_attempts: int = 5,
        backoff: float = 1.0,
        max_backoff: float = 60.0,
        rate_limit_attempts: int = 8,
        max_rate_limit_wait: float = 120.0,
    ) -> None:
        if not (account_id and client_id and client_secret):
            raise ValueError("a Zoom Server-to-Server OAuth app needs an account id, a client id and a client secret")
        self.account_id = account_id
        self._client_id = client_id
        self._client_secret = client_secret
        logsafe.register(client_secret)
        self.api_base = api_base.rstrip("/")
        self.oauth_url = oauth_url
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.rate_limit_attempts = rate_limit_attempts
        self.max_rate_limit_wait = max_rate_limit_wait
        self._sleep = sleep
        self._clock = clock
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"oca-sync/{__version__}"
        self.stats = CallStats()
        self._token: str | None = None
        self._token_expires = 0.0
        self._token_lock = threading.Lock()
        # Tokens handed out so far, only to scrub them from error messages.
        self._old_tokens: list[str] = []

    def __repr__(self) -> str:  # never shows the secret or a token
        return f"ZoomClient(account_id={self.account_id!r}, api_base={self.api_base!r})"

    # -- the token -------------------------------------------------------------

    def _access_token(self) -> str:
        with self._token_lock:
            if self._token is None or self._clock() >= self._token_expires - self.token_margin:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _renew_token(self, refused: str) -> str:
        """Get a new token after ``refused`` was refused (unless another thread already did)."""
        with self._token_lock:
            if self._token == refused or self._token is None:
                self._fetch_token()
            assert self._token is not None
            return self._token

    def _fetch_token(self) -> None:
        operation = "POST /oauth/token"
        attempt = waits = 0
        while True:
            attempt += 1
            self.stats.token_requested()
            issued = self._clock()
            try:
                resp = self.session.post(
                    self.oauth_url,
                    params={"grant_type": "account_credentials", "account_id": self.account_id},
                    auth=(self._client_id, self._client_secret),
                    timeout=self.timeout,
                )
            except requests.exceptions.RequestException as e:
                # Asking for a token creates nothing: always safe to repeat.
                if attempt < self.max_attempts:
                    self._backoff_wait(attempt, operation, _short(e))
                    continue
                raise ZoomTransportError(
                    self._redact(f"cannot reach Zoom's OAuth server at {_safe_url(self.oauth_url)} ({_short(e)})"),
                    operation=operation,
                ) from None
            if resp.status_code == 429:
                waits += 1
                self._rate_limit_wait(resp, waits, operation)
                continue
            if resp.status_code >= 500 and attempt < self.max_attempts:
                self._backoff_wait(attempt, operation, f"HTTP {resp.status_code}")
                continue
            body = _json_body(resp)
            if resp.status_code == 200 and not isinstance(body, dict) and attempt < self.max_attempts:
                self._backoff_wait(attempt, operation, "the answer is not JSON")  # garbled or cut off
                continue
            if resp.status_code != 200 or not isinstance(body, dict) or not body.get("access_token"):
                raise self._oauth_error(resp, body)
            token = str(body["access_token"])
            logsafe.register(token)
            try:
                lifetime = float(body.get("expires_in") or 3599)
            except (TypeError, ValueError):
                lifetime = 3599.0
            if self._token:
                self._old_tokens = (self._old_tokens + [self._token])[-8:]
            self._token = token
            self._token_expires = issued + lifetime
            log.debug("Zoom: new access token, valid %.0fs", lifetime)
            return

    def _oauth_error(self, resp: requests.Response, body: Any) -> ZoomError:
        # Zoom's OAuth server answers {"reason": "...", "error": "invalid_client"}.
        reason = error = None
        if isinstance(body, dict):
            reason = body.get("reason") or body.get("message")
            error = body.get("error") or body.get("code")
        if resp.status_code >= 500:
            return ZoomServerError(
                f"Zoom's OAuth server answered HTTP {resp.status_code}", status=resp.status_code,
                operation="POST /oauth/token",
            )
        detail = f"{reason} ({error})" if reason or error else f"HTTP {resp.status_code}"
        return ZoomAuthError(
            self._redact(
                f"Zoom refused the app's credentials: {detail}. Check OCA_ZOOM_ACCOUNT_ID, OCA_ZOOM_CLIENT_ID "
                "and OCA_ZOOM_CLIENT_SECRET (a Server-to-Server OAuth app, activated)"
            ),
            status=resp.status_code,
            zoom_message=str(reason) if reason else None,
            operation="POST /oauth/token",
        )

    def _redact(self, text: str) -> str:
        return redact(text, self._client_secret, self._token, *self._old_tokens)

    # -- waiting -----------------------------------------------------------------

    def _backoff_delay(self, n: int) -> float:
        return float(min(self.backoff * (2 ** (n - 1)), self.max_backoff))

    def _backoff_wait(self, attempt: int, operation: str, cause: str) -> None:
        delay = self._backoff_delay(attempt)
        self.stats.retried()
        log.warning("Zoom %s: %s; retrying in %.1fs (attempt %d of %d)", operation, cause, delay, attempt + 1,
                    self.max_attempts)
        self._sleep(delay)

    def _rate_limit_wait(self, resp: requests.Response, waits: int, operation: str) -> None:
        """Wait after a per-second 429, or raise when that is hopeless."""
        body = _json_body(resp)
        if self._is_daily_limit(resp, body):
            raise self._daily_limit_error(resp, body, operation)
        asked = parse_retry_after(resp.headers.get("Retry-After"), self._clock())
        delay = asked if asked is not None else self._backoff_delay(waits)
        if waits > self.rate_limit_attempts or delay > self.max_rate_limit_wait:
            code, message = _code_message(body)
            raise ZoomRateLimited(
                self._redact(f"Zoom kept refusing {operation} with HTTP 429 (rate limit): {message or 'no message'}"),
                retry_after=asked, status=429, code=code, zoom_message=message, operation=operation,
            )
        self.stats.retried()
        log.warning("Zoom %s: rate limited (HTTP 429); waiting %.1fs (%s)", operation, delay,
                    "Retry-After" if asked is not None else "backoff")
        self._sleep(delay)

    @staticmethod
    def _is_daily_limit(resp: requests.Response, body: Any) -> bool:
        # Zoom's documented header first; the message as a fallback because
        # Zoom has been seen answering the daily limit without the header.
        if resp.headers.get("X-RateLimit-Type", "").lower().startswith("daily"):
            return True
        _, message = _code_message(body)
        text = (message or "").lower()
        return any(w in text for w in ("daily", "per day", "today"))

    def _daily_limit_error(self, resp: requests.Response, body: Any, operation: str) -> ZoomDailyLimitReached:
        now = self._clock()
        at = _retry_after_instant(resp.headers.get("Retry-After"), now)
        resets_at = datetime.fromtimestamp(at, UTC) if at is not None and at > now else next_utc_midnight(now)
        code, message = _code_message(body)
        return ZoomDailyLimitReached(
            self._redact(
                f"Zoom's daily limit is reached for {operation}: {message or 'HTTP 429'} "
                f"It resets at {resets_at:%Y-%m-%d %H:%M} UTC; run again after that."
            ),
            resets_at=resets_at, status=429, code=code, zoom_message=message, operation=operation,
        )

    # -- the one way to call -----------------------------------------------------

    def request(
        self,
        method: str,
        path: str,
        *,
        operation: str | None = None,
        params: Mapping[str, Any] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call ``method path`` (path below ``api_base``) and return the decoded JSON (None for 204).

        ``operation`` names the call in logs and errors, e.g.
        ``"GET /meetings/{meetingId}"`` (the path itself may hold a UUID).
        """
        method = method.upper()
        operation = operation or f"{method} {path}"
        url = self.api_base + path
        attempt = waits = 0
        renewed = ambiguous = False
        while True:
            attempt += 1
            self.stats.count(operation)
            token = self._access_token()
            try:
                resp = self.session.request(
                    method, url, params=params, json=body, timeout=self.timeout, allow_redirects=False,
                    headers={"Authorization": f"Bearer {token}", "Accept": "application/json"},
                )
            except requests.exceptions.RequestException as e:
                cause = _short(e)
                if isinstance(e, (requests.exceptions.ChunkedEncodingError, requests.exceptions.ContentDecodingError)):
                    cause = f"the answer broke off ({cause})"
                elif not isinstance(e, (requests.exceptions.ConnectionError, requests.exceptions.Timeout)):
                    raise ZoomTransportError(self._redact(f"request to Zoom failed: {cause}"), operation=operation) from None
                if method in _SAFE_TO_REPEAT or _never_sent(e):
                    if attempt < self.max_attempts:
                        ambiguous = ambiguous or not _never_sent(e)
                        self._backoff_wait(attempt, operation, cause)
                        continue
                    raise ZoomTransportError(
                        self._redact(f"cannot reach Zoom at {_safe_url(self.api_base)} for {operation} ({cause})"),
                        operation=operation,
                    ) from None
                raise WriteOutcomeUnknown(operation, self._redact(cause)) from None
            status = resp.status_code
            if status == 401 and not renewed:
                # An expired or revoked token: renew once, then repeat (refused, so safe).
                renewed = True
                attempt -= 1
                log.info("Zoom %s: token refused (HTTP 401); renewing it", operation)
                self._renew_token(token)
                continue
            if status == 429:
                waits += 1
                attempt -= 1
                self._rate_limit_wait(resp, waits, operation)
                continue
            if status >= 500:
                if method in _SAFE_TO_REPEAT:
                    if attempt < self.max_attempts:
                        ambiguous = True
                        self._backoff_wait(attempt, operation, f"HTTP {status}")
                        continue
                    code, message = _code_message(_json_body(resp))
                    raise ZoomServerError(
                        self._redact(f"Zoom answered HTTP {status} to {operation} {attempt} times; try again later"
                                     + (f" ({message})" if message else "")),
                        status=status, code=code, zoom_message=message, operation=operation,
                    )
                raise WriteOutcomeUnknown(operation, f"HTTP {status}")
            if status == 404 and method == "DELETE" and ambiguous:
                # The first attempt went through but its answer was lost.
                log.info("Zoom %s: already gone after an unanswered attempt; counted as done", operation)
                return None
            if status >= 400:
                raise self._error(resp, operation)
            if status == 204 or not resp.content:
                return None
            data = _json_body(resp)
            if data is None:
                snippet = resp.text[:120].replace("\n", " ")
                cause = f"the answer is not JSON (HTTP {status}, starts with {snippet!r})"
                if method not in _SAFE_TO_REPEAT:
                    # Garbled or cut off by a proxy after Zoom may have acted: only a fresh read can tell.
                    raise WriteOutcomeUnknown(operation, self._redact(cause))
                if attempt < self.max_attempts:
                    ambiguous = True
                    self._backoff_wait(attempt, operation, cause)
                    continue
                raise ZoomTransportError(
                    self._redact(f"Zoom's answer to {operation} is not JSON (HTTP {status}, starts with {snippet!r}) "
                                 f"after {attempt} attempts; is {_safe_url(self.api_base)} Zoom's API base URL?"),
                    status=status, operation=operation,
                )
            return data

    def _error(self, resp: requests.Response, operation: str) -> ZoomError:
        body = _json_body(resp)
        code, message = _code_message(body)
        errors = body.get("errors") if isinstance(body, dict) and isinstance(body.get("errors"), list) else None
        text = f"Zoom refused {operation}: HTTP {resp.status_code}"
        if code is not None:
            text += f", code {code}"
        text += f": {message or resp.reason or 'no message'}"
        if errors:
            text += " (" + "; ".join(f"{e.get('field')}: {e.get('message')}" for e in errors if isinstance(e, dict)) + ")"
        kw: dict[str, Any] = {"status": resp.status_code, "code": code, "zoom_message": message,
                              "errors": errors, "operation": operation}
        text = self._redact(text)
        if resp.status_code in (401, 403) or code in _SCOPE_CODES:
            return ZoomAuthError(text, **kw)
        if resp.status_code == 404:
            return ZoomNotFound(text, **kw)
        return ZoomError(text, **kw)

    def _get(self, path: str, operation: str, params: Mapping[str, Any] | None = None) -> Any:
        return self.request("GET", path, operation=operation, params=params)

    def _paged(self, path: str, operation: str, key: str, params: Mapping[str, Any] | None = None) -> list[Any]:
        """Every item of a ``next_page_token`` listing (``page_size`` 300)."""
        query: dict[str, Any] = {**(params or {}), "page_size": MAX_PAGE_SIZE}
        items: list[Any] = []
        seen: set[str] = set()
        while True:
            data = self._get(path, operation, query) or {}
            items.extend(data.get(key) or [])
            token = data.get("next_page_token") or ""
            if not token:
                return items
            if token in seen:
                raise ZoomTransportError(f"Zoom repeated a next_page_token while listing {operation}", operation=operation)
            seen.add(token)
            query["next_page_token"] = token

    # -- users -------------------------------------------------------------------

    def get_user(self, user_id: str) -> dict[str, Any]:
        """``GET /users/{userId}`` (id or email)."""
        result: dict[str, Any] = self._get(f"/users/{_user(user_id)}", "GET /users/{userId}")
        return result

    # -- meetings ----------------------------------------------------------------

    def list_meetings(self, user_id: str, type: str = "scheduled") -> list[dict[str, Any]]:
        """Every meeting of a host (``GET /users/{userId}/meetings``, all pages)."""
        return self._paged(f"/users/{_user(user_id)}/meetings", "GET /users/{userId}/meetings", "meetings",
                           {"type": type})

    def get_meeting(self, meeting_id: MeetingRef) -> dict[str, Any]:
        """``GET /meetings/{meetingId}``."""
        result: dict[str, Any] = self._get(f"/meetings/{meeting_path_id(meeting_id)}", "GET /meetings/{meetingId}")
        return result

    def create_meeting(self, user_id: str, body: Mapping[str, Any]) -> dict[str, Any]:
        """``POST /users/{userId}/meetings``; the created meeting (201).

        Raises :class:`~oca_sync.errors.WriteOutcomeUnknown` when the answer was
        lost: look for the meeting before creating it again.
        """
        result: dict[str, Any] = self.request(
            "POST", f"/users/{_user(user_id)}/meetings", operation="POST /users/{userId}/meetings", body=body
        )
        return result

    def update_meeting(self, meeting_id: MeetingRef, body: Mapping[str, Any]) -> None:
        """``PATCH /meetings/{meetingId}`` with only the fields to change (204)."""
        self.request("PATCH", f"/meetings/{meeting_path_id(meeting_id)}", operation="PATCH /meetings/{meetingId}",
                     body=body)

    def delete_meeting(self, meeting_id: MeetingRef, schedule_for_reminder: bool = False) -> None:
        """``DELETE /meetings/{meetingId}``; ``schedule_for_reminder`` e-mails the host."""
        self.request("DELETE", f"/meetings/{meeting_path_id(meeting_id)}", operation="DELETE /meetings/{meetingId}",
                     params={"schedule_for_reminder": "true" if schedule_for_reminder else "false"})

    def list_past_instances(self, meeting_id: MeetingRef) -> list[dict[str, Any]]:
        """Ended instances of a meeting: ``[{"uuid", "start_time"}]`` (``GET /past_meetings/{id}/instances``)."""
        data = self._get(f"/past_meetings/{meeting_path_id(meeting_id)}/instances",
                         "GET /past_meetings/{meetingId}/instances") or {}
        return list(data.get("meetings") or [])

    # -- recordings --------------------------------------------------------------

    def get_recordings(self, meeting_id_or_uuid: MeetingRef) -> dict[str, Any]:
        """Cloud recordings of one instance (a UUID) or of the latest one (an id).

        ``GET /meetings/{meetingId}/recordings``; :class:`ZoomNotFound` (code
        3301) when the instance has no recording.
        """
        result: dict[str, Any] = self._get(f"/meetings/{meeting_path_id(meeting_id_or_uuid)}/recordings",
                                           "GET /meetings/{meetingId}/recordings")
        return result

    def list_user_recordings(self, user_id: str, from_date: date | str, to_date: date | str) -> list[dict[str, Any]]:
        """Every recorded meeting instance of a user between two dates (inclusive, UTC).

        ``GET /users/{userId}/recordings`` accepts at most a month per request:
        longer ranges are asked month by month; instances are de-duplicated by UUID.
        """
        start, end = _as_date(from_date), _as_date(to_date)
        out: list[dict[str, Any]] = []
        seen: set[str] = set()
        for a, b in month_windows(start, end):
            for item in self._paged(f"/users/{_user(user_id)}/recordings", "GET /users/{userId}/recordings",
                                    "meetings", {"from": a.isoformat(), "to": b.isoformat()}):
                key = str(item.get("uuid") or item.get("id"))
                if key not in seen:
                    seen.add(key)
                    out.append(item)
        return out

    def trash_recording_file(self, meeting_uuid: MeetingRef, recording_id: str) -> None:
        """Move one recording file to Zoom's trash (``DELETE …/recordings/{recordingId}?action=trash``).

        Only call this after the file's copy is verified elsewhere.
        """
        self.request(
            "DELETE",
            f"/meetings/{meeting_path_id(meeting_uuid)}/recordings/{quote(str(recording_id), safe='')}",
            operation="DELETE /meetings/{meetingId}/recordings/{recordingId}",
            params={"action": "trash"},
        )

    def stream_download(self, download_url: str, *, start: int = 0, chunk_size: int = 1 << 20,
                        max_resumes: int = 1000, max_stalls: int | None = None) -> Download:
        """Open a recording file's ``download_url`` (Bearer token, redirects followed).

        Returns a :class:`Download`: its ``headers`` and ``size`` are known at
        once; iterating it yields the bytes from offset ``start`` on. A broken
        transfer is resumed from the last byte received with a ``Range``
        request; it gives up after :attr:`max_attempts` breaks in a row with no
        byte received (``max_stalls``), or ``max_resumes`` breaks in all. A token refused on
        (re)connection is renewed.
        """
        return Download(self, download_url, start=start, chunk_size=chunk_size, max_resumes=max_resumes,
                        max_stalls=max_stalls)

    # -- reports -----------------------------------------------------------------

    def past_participants_report(self, meeting_id_or_uuid: MeetingRef) -> list[dict[str, Any]]:
        """Participant report rows, one per join/leave (``GET /report/meetings/{meetingId}/participants``).

        A numeric id gives only the latest instance: pass each UUID of
        :meth:`list_past_instances` to get them all.
        """
        return self._paged(f"/report/meetings/{meeting_path_id(meeting_id_or_uuid)}/participants",
                           "GET /report/meetings/{meetingId}/participants", "participants")


def _user(user_id: str) -> str:
    if not user_id:
        raise ValueError("empty Zoom user id")
    return quote(str(user_id), safe="@")


def _code_message(body: Any) -> tuple[int | None, str | None]:
    if not isinstance(body, dict):
        return None, None
    code = body.get("code")
    message = body.get("message")
    return (code if isinstance(code, int) else None), (str(message) if message is not None else None)


# --------------------------------------------------------------------------- #
# Downloads
# --------------------------------------------------------------------------- #


class Download:
    """An open recording download; iterate it for the bytes, close it when done.

    ``start`` is the offset of the first byte the iteration yields, ``size`` the
    whole file's size when the server said it (``Content-Range`` or
    ``Content-Length``), ``headers`` the headers of the first answer (after
    redirects). ``position`` is the offset of the next byte.

    A transfer that breaks is resumed from the last byte received (``Range:
    bytes=<position>-``; what arrived before the break is kept, never read
    again). Breaks after which bytes arrived are not failures: the link works,
    only badly, so the next connection is opened at once. ``max_stalls``
    breaks in a row with no byte received give up (with backoff between
    them), and so do more than ``max_resumes`` breaks in all.
    """

    def __init__(self, client: ZoomClient, url: str, *, start: int = 0, chunk_size: int = 1 << 20,
                 max_resumes: int = 1000, max_stalls: int | None = None) -> None:
        if start < 0:
            raise ValueError("start must be >= 0")
        self._client = client
        self._url = url
        self._chunk_size = chunk_size
        self.max_resumes = max_resumes
        self.max_stalls = max_stalls if max_stalls is not None else client.max_attempts
        self.resumes = 0
        self.start = start
        self.position = start
        self.size: int | None = None
        self._skip = 0
        self._resp = self._open(start)
        self.headers: Mapping[str, str] = self._resp.headers
        self.status = self._resp.status_code

    def __repr__(self) -> str:
        return f"Download({_safe_url(self._url)!r}, position={self.position}, size={self.size})"

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        self._resp.close()

    def _open(self, offset: int) -> requests.Response:
        client = self._client
        operation = "GET download_url"
        attempt = waits = 0
        renewed = False
        while True:
            attempt += 1
            client.stats.count(operation)
            token = client._access_token()
            # identity: byte offsets in Range must be offsets in the file, not in a compressed stream.
            headers = {"Authorization": f"Bearer {token}", "Accept-Encoding": "identity"}
            if offset:
                headers["Range"] = f"bytes={offset}-"
            try:
                resp = client.session.get(self._url, headers=headers, stream=True, timeout=client.timeout,
                                          allow_redirects=True)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
                if attempt < client.max_attempts:
                    client._backoff_wait(attempt, operation, _short(e))
                    continue
                raise ZoomTransportError(
                    client._redact(f"cannot download {_safe_url(self._url)} ({_short(e)})"), operation=operation
                ) from None
            status = resp.status_code
            if status == 401 and not renewed:
                resp.close()
                renewed = True
                attempt -= 1
                client._renew_token(token)
                continue
            if status == 429:
                waits += 1
                attempt -= 1
                try:
                    client._rate_limit_wait(resp, waits, operation)
                finally:
                    resp.close()
                continue
            if status >= 500 and attempt < client.max_attempts:
                resp.close()
                client._backoff_wait(attempt, operation, f"HTTP {status}")
                continue
            if status == 416 and self.size is not None and offset >= self.size:
                return resp  # nothing left to read
            if status not in (200, 206):
                try:
                    raise client._error(resp, f"GET {_safe_url(self._url)}")
                finally:
                    resp.close()
            self._note_size(resp, offset)
            return resp

    def _note_size(self, resp: requests.Response, offset: int) -> None:
        self._skip = 0
        if resp.status_code == 206:
            # Content-Range: bytes 100-999/1000
            value = resp.headers.get("Content-Range", "")
            try:
                span, _, total = value.split(" ", 1)[1].partition("/")
                first = int(span.split("-", 1)[0])
                if total != "*":
                    self.size = int(total)
            except (IndexError, ValueError):
                first = offset
            if first != offset:
                resp.close()
                raise ZoomTransportError(f"asked for bytes from {offset}, got {value!r}",
                                         operation="GET download_url")
        else:
            length = resp.headers.get("Content-Length")
            if length and length.isdigit():
                self.size = int(length)
            # The server ignored our Range: drop what we already have.
            self._skip = offset

    def _pieces(self, resp: requests.Response) -> Iterator[bytes]:
        """The body in pieces of at most ``chunk_size``, each handed on as soon as it arrived.

        ``raw.read1`` returns what has arrived instead of waiting for a whole
        piece, so a connection cut mid-piece loses nothing that was received;
        and a piece is not gathered into another buffer first (a copy of every
        byte, which the archive's throughput felt).
        """
        while True:
            data = resp.raw.read1(self._chunk_size, decode_content=True)
            if not data:
                return
            if self._skip:
                cut = min(self._skip, len(data))
                self._skip -= cut
                data = data[cut:]
                if not data:
                    continue
            self.position += len(data)
            yield data

    def __iter__(self) -> Iterator[bytes]:
        stalls = 0
        while True:
            resp = self._resp
            if resp.status_code == 416:
                return
            before = self.position
            try:
                yield from self._pieces(resp)
                if self.size is None or self.position >= self.size:
                    return
                cause = f"the answer ended at byte {self.position} of {self.size}"
            except _BROKEN as e:
                cause = _short(e)
            resp.close()
            self.resumes += 1
            stalls = 0 if self.position > before else stalls + 1
            of = f" of {self.size}" if self.size is not None else ""
            if stalls >= self.max_stalls or self.resumes > self.max_resumes:
                why = (f"{stalls} times in a row with no byte received" if stalls >= self.max_stalls
                       else f"{self.resumes} times (at most {self.max_resumes} breaks per file)")
                raise ZoomTransportError(
                    f"download of {_safe_url(self._url)} broke {why}; stopped at byte {self.position}{of}; "
                    f"last: {cause}",
                    operation="GET download_url",
                )
            if stalls:
                delay = self._client._backoff_delay(stalls)
                self._client.stats.retried()
                log.warning("Zoom download broke at byte %d%s with no byte received (%s); retrying in %.1fs "
                            "(attempt %d of %d)", self.position, of, cause, delay, stalls + 1, self.max_stalls)
                self._client._sleep(delay)
            else:
                # Bytes arrived: the link works, so reconnect at once (a slow, flaky link must still finish).
                log.warning("Zoom download broke at byte %d%s (%s); resuming from byte %d (break %d)",
                            self.position, of, cause, self.position, self.resumes)
            resp = self._resp = self._open(self.position)


#: What a transfer that breaks mid-body raises (requests wraps some; ``raw.read1`` raises urllib3's own).
_BROKEN = (requests.exceptions.RequestException, urllib3.exceptions.HTTPError, OSError)
