"""Thin client of Moodle's REST web services.

It owns the wire format (form encoding with nested brackets), timeouts,
retries and the mapping of Moodle's error JSON to :class:`MoodleError`.
Callers never loop on errors.

Retry policy, and why:

* reads are retried with exponential backoff on connection errors, timeouts,
  5xx, and answers that are not whole JSON (cut off mid-body, garbled, or an
  HTML page from a proxy or a PHP fatal error);
* HTTP 429 (too many requests, from Moodle's host or a proxy in front of it)
  means the request was refused, not processed: reads and writes alike wait
  (``Retry-After`` when given, else backoff) and are sent again;
* a write is retried only when it provably never reached the server (the
  connection could not be opened); when the request may have been processed
  (read timeout, dropped connection, 5xx, an answer cut off or garbled) the
  client raises :class:`WriteOutcomeUnknown` so that the caller re-observes the
  site before deciding anything: repeating a create blindly could make a duplicate.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import requests

from .. import __version__, logsafe
from ..callstats import CallStats as BaseCallStats
from ..errors import MoodleError, MoodleTransportError, MoodleUnreachable, WriteOutcomeUnknown
from ..netcause import describe
from .filenames import clean_file_name

log = logging.getLogger("oca_sync.moodle")

REST_PATH = "/webservice/rest/server.php"
#: The longest ``Retry-After`` (seconds) honoured after a 429.
MAX_RETRY_AFTER = 60.0
UPLOAD_PATH = "/webservice/upload.php"

Params = Mapping[str, Any]


def is_read(function: str) -> bool:
    """Whether a web-service function only reads (safe to repeat)."""
    action = function.split("_", 2)[-1] if function.count("_") >= 2 else function
    return action.startswith(("get_", "list_", "search_")) or "_get_" in function


def encode(params: Params) -> list[tuple[str, str]]:
    """Form-encode nested dicts and lists the way PHP parses them.

    ``{"courses": [{"courseformatoptions": [{"name": "numsections"}]}]}`` gives
    ``courses[0][courseformatoptions][0][name]=numsections``. Booleans become
    ``1``/``0`` (Moodle's PARAM_BOOL); ``None`` values are left out so that
    Moodle applies its defaults ("not given" is not "empty").
    """
    out: list[tuple[str, str]] = []

    def walk(prefix: str, value: Any) -> None:
        if value is None:
            return
        if isinstance(value, Mapping):
            for k, v in value.items():
                walk(f"{prefix}[{k}]" if prefix else str(k), v)
        elif isinstance(value, (list, tuple)):
            for i, v in enumerate(value):
                walk(f"{prefix}[{i}]", v)
        elif isinstance(value, bool):
            out.append((prefix, "1" if value else "0"))
        else:
            out.append((prefix, str(value)))

    walk("", params)
    return out


class CallStats(BaseCallStats):
    """Counts of calls made; writes are the calls that are not reads."""

    @property
    def writes(self) -> int:
        return sum(n for f, n in self.calls.items() if not is_read(f))


@dataclass(frozen=True)
class MoodleWarning:
    function: str
    item: str
    warningcode: str
    message: str

    def __str__(self) -> str:
        where = f" ({self.item})" if self.item else ""
        return f"{self.function}{where}: {self.warningcode}: {self.message}"


class MoodleClient:
    """One Moodle site, one token.

    >>> c = MoodleClient("https://moodle.example.org", token)   # doctest: +SKIP
    >>> c.call("core_webservice_get_site_info")["release"]       # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        max_attempts: int = 5,
        backoff: float = 0.5,
        session: requests.Session | None = None,
        sleep: Callable[[float], None] = time.sleep,
        concurrency: int = 1,
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        logsafe.register(token)
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._sleep = sleep
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"oca-sync/{__version__}"
        self.stats = CallStats()
        #: How many independent write batches apply may send at once (requests.Session's pool holds 10).
        self.concurrency = max(1, concurrency)
        self.warnings: list[MoodleWarning] = []

    def __repr__(self) -> str:  # never shows the token
        return f"MoodleClient({self.url!r})"

    # -- the one way to call -------------------------------------------------

    def call(self, function: str, params: Params | None = None, *, raw: bool = False) -> Any:
        """Call ``function`` and return its decoded result.

        ``raw=True`` asks Moodle for texts as stored (``moodlewssettingraw``),
        not run through filters, so that what we compare is what we wrote.
        """
        body = [("wstoken", self._token), ("wsfunction", function), ("moodlewsrestformat", "json")]
        if raw:
            body += [("moodlewssettingraw", "1"), ("moodlewssettingfilter", "0")]
        body += encode(params or {})
        read = is_read(function)
        attempt = 0
        while True:
            attempt += 1
            self.stats.count(function)
            try:
                resp = self.session.post(self.url + REST_PATH, data=body, timeout=self.timeout)
            except requests.exceptions.ConnectionError as e:
                # A refused or unresolvable connection never reached Moodle: safe to repeat.
                if read or _never_sent(e):
                    self._again_or_raise(attempt, function, _short(e),
                                         MoodleUnreachable(f"cannot reach Moodle at {self.url} ({_short(e)}); "
                                                              "check OCA_MOODLE_URL and that the site is up"))
                    continue
                raise WriteOutcomeUnknown(function, _short(e)) from None
            except requests.exceptions.Timeout as e:
                if not read:
                    raise WriteOutcomeUnknown(function, f"no answer in {self.timeout}s: {_short(e)}") from None
                self._again_or_raise(attempt, function, "timeout",
                                     MoodleTransportError(f"Moodle at {self.url} did not answer in {self.timeout}s"))
                continue
            except requests.exceptions.RequestException as e:
                # ChunkedEncodingError, ContentDecodingError: the answer broke off mid-body.
                cause = f"the answer broke off ({_short(e)})"
                if not read:
                    raise WriteOutcomeUnknown(function, cause) from None
                self._again_or_raise(attempt, function, cause,
                                     MoodleTransportError(f"Moodle's answer to {function} broke off: {_short(e)}"))
                continue
            status = resp.status_code
            if status == 429:
                self._rate_limited(attempt, function, resp)
                continue
            if status >= 500:
                if not read:
                    raise WriteOutcomeUnknown(function, f"HTTP {status}")
                self._again_or_raise(attempt, function, f"HTTP {status}", MoodleTransportError(
                    f"Moodle answered HTTP {status} to {function} {attempt} times; try again later"))
                continue
            if status != 200:
                raise self._status_error(function, status)
            try:
                data = resp.json()
            except (ValueError, json.JSONDecodeError):
                snippet = resp.text[:120].replace("\n", " ")
                cause = f"the answer is not JSON (starts with {snippet!r})"
                if not read:
                    # The request reached Moodle and may have been executed: only a fresh read can tell.
                    raise WriteOutcomeUnknown(function, cause) from None
                self._again_or_raise(attempt, function, cause, MoodleTransportError(
                    f"Moodle's answer to {function} is not JSON (starts with {snippet!r}) after {attempt} attempts; "
                    f"is {self.url} a Moodle site with the REST protocol enabled?"))
                continue
            return self._check(function, data)

    def _wait(self, attempt: int, function: str, cause: str, delay: float | None = None) -> None:
        delay = self.backoff * (2 ** (attempt - 1)) if delay is None else delay
        self.stats.retried()
        log.warning("%s: %s; retrying in %.1fs (attempt %d of %d)", function, cause, delay, attempt + 1, self.max_attempts)
        self._sleep(delay)

    def _again_or_raise(self, attempt: int, function: str, cause: str, final: MoodleTransportError) -> None:
        """Wait before attempt ``attempt + 1``, or raise ``final`` when that was the last one."""
        if attempt >= self.max_attempts:
            raise final
        self._wait(attempt, function, cause)

    def _rate_limited(self, attempt: int, function: str, resp: requests.Response) -> None:
        """HTTP 429: refused, not processed, so any function may be sent again after a wait."""
        if attempt >= self.max_attempts:
            raise MoodleTransportError(
                f"Moodle (or a proxy in front of it) refused {function} with HTTP 429 Too Many Requests "
                f"{attempt} times; wait a while and run again, or ask the site's administrator to raise the limit")
        asked = (resp.headers.get("Retry-After") or "").strip()
        backoff = self.backoff * (2 ** (attempt - 1))
        delay = min(max(float(asked), backoff), MAX_RETRY_AFTER) if asked.isdigit() else backoff
        self._wait(attempt, function, "rate limited (HTTP 429)", delay)

    def _status_error(self, function: str, status: int) -> MoodleTransportError:
        if status in (301, 302, 303, 307, 308, 404, 405):
            # The REST endpoint is not where we looked: the usual cause is a URL with a path in it.
            return MoodleTransportError(
                f"Moodle answered HTTP {status} to {function}; is {self.url} the site's root URL?")
        if status in (401, 403):
            return MoodleTransportError(
                f"Moodle (or a proxy in front of it) refused {function} with HTTP {status}; check that web "
                "services and the REST protocol are enabled and that nothing blocks /webservice/rest/server.php")
        return MoodleTransportError(f"Moodle answered HTTP {status} to {function}")

    def _decode(self, function: str, resp: requests.Response) -> Any:
        """A final answer's JSON, Moodle's exception mapped (used where no retry applies)."""
        if resp.status_code != 200:
            raise self._status_error(function, resp.status_code)
        try:
            data = resp.json()
        except (ValueError, json.JSONDecodeError):
            snippet = resp.text[:120].replace("\n", " ")
            raise MoodleTransportError(
                f"Moodle's answer to {function} is not JSON (starts with {snippet!r}); "
                f"is {self.url} a Moodle site with the REST protocol enabled?"
            ) from None
        return self._check(function, data)

    def _check(self, function: str, data: Any) -> Any:
        if isinstance(data, dict) and "exception" in data and "errorcode" in data:
            raise MoodleError(
                str(data.get("errorcode")),
                str(data.get("message", "")),
                exception=str(data.get("exception", "")),
                debuginfo=data.get("debuginfo"),
                function=function,
            )
        self._collect_warnings(function, data)
        return data

    def _collect_warnings(self, function: str, data: Any) -> None:
        if not isinstance(data, dict):
            return
        for w in data.get("warnings") or []:
            warning = MoodleWarning(
                function=function,
                item=f"{w.get('item', '')} {w.get('itemid', '')}".strip(),
                warningcode=str(w.get("warningcode", "")),
                message=str(w.get("message", "")),
            )
            self.warnings.append(warning)
            log.warning("Moodle warning: %s", warning)

    # -- files ---------------------------------------------------------------

    def upload_file(self, path: str) -> int:
        """Upload a file into the token user's draft area; returns its draft item id.

        POST /webservice/upload.php (multipart, token in the form). Repeating an
        upload only leaves another draft, which Moodle cleans up, so it is retried
        like a read (an answer cut off or not JSON included).
        """
        function = "webservice/upload.php"
        # The name Moodle will keep anyway (PARAM_FILE): sent clean, it survives any multipart quoting.
        name = clean_file_name(os.path.basename(path)) or os.path.basename(path)
        attempt = 0
        while True:
            attempt += 1
            self.stats.count(function)
            try:
                with open(path, "rb") as fh:
                    resp = self.session.post(self.url + UPLOAD_PATH, data={"token": self._token, "filearea": "draft"},
                                             files={"file_1": (name, fh)}, timeout=self.timeout)
            except requests.exceptions.RequestException as e:
                self._again_or_raise(attempt, function, _short(e),
                                     MoodleTransportError(f"cannot upload {path} to Moodle: {_short(e)}"))
                continue
            if resp.status_code == 429:
                self._rate_limited(attempt, function, resp)
                continue
            if resp.status_code >= 500 and attempt < self.max_attempts:
                self._wait(attempt, function, f"HTTP {resp.status_code}")
                continue
            if resp.status_code == 200 and attempt < self.max_attempts:
                try:
                    resp.json()
                except (ValueError, json.JSONDecodeError):
                    self._wait(attempt, function, "the answer is not JSON")
                    continue
            data = self._decode(function, resp)
            if isinstance(data, dict) and "error" in data:  # upload.php's own error shape
                raise MoodleError(str(data.get("errorcode", "uploaderror")), str(data["error"]), function=function)
            if isinstance(data, list) and data and isinstance(data[0], dict) and data[0].get("error"):
                raise MoodleError(str(data[0].get("errortype", "uploaderror")), str(data[0]["error"]), function=function)
            try:
                return int(data[0]["itemid"])
            except (LookupError, TypeError, ValueError):
                raise MoodleTransportError(f"unexpected answer from {function}: {str(data)[:120]}") from None

    # -- helpers for batched calls ---------------------------------------------

    def call_batched(
        self, function: str, key: str, items: Sequence[Any], *, size: int, extra: Params | None = None
    ) -> list[Any]:
        """Send ``items`` as ``key[...]`` in batches of ``size``; returns one result per batch."""
        results = []
        for chunk in chunks(items, size):
            results.append(self.call(function, {**(extra or {}), key: list(chunk)}))
        return results


def chunks(items: Sequence[Any], size: int) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _never_sent(e: requests.exceptions.ConnectionError) -> bool:
    """True when the TCP connection was never established (refused, DNS)."""
    text = repr(e)
    return any(s in text for s in ("NewConnectionError", "Connection refused", "NameResolutionError", "ConnectTimeout"))


def _short(e: BaseException) -> str:
    return describe(e)  # "connection refused", "host name not resolved", a TLS problem … or the text
