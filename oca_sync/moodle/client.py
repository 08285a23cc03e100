"""Thin client of Moodle's REST web services.

It owns the wire format (form encoding with nested brackets), timeouts,
retries and the mapping of Moodle's error JSON to :class:`MoodleError`.
Callers never loop on errors.

Retry policy, and why:

* reads are retried with exponential backoff on connection errors, timeouts and 5xx;
* a write is retried only when it provably never reached the server (the
  connection could not be opened); when the request may have been processed
  (read timeout, dropped connection, 5xx) the client raises
  :class:`WriteOutcomeUnknown` so that the caller re-observes the site before
  deciding anything: repeating a create blindly could make a duplicate.
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections import Counter
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import requests

from .. import __version__
from ..errors import MoodleError, MoodleTransportError, WriteOutcomeUnknown
from .filenames import clean_file_name

log = logging.getLogger("oca_sync.moodle")

REST_PATH = "/webservice/rest/server.php"
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


@dataclass
class CallStats:
    """Counts of calls made, for progress, tests and benchmarks."""

    calls: Counter[str] = field(default_factory=Counter)
    retries: int = 0

    @property
    def total(self) -> int:
        return sum(self.calls.values())

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
    ) -> None:
        self.url = url.rstrip("/")
        self._token = token
        self.timeout = timeout
        self.max_attempts = max_attempts
        self.backoff = backoff
        self._sleep = sleep
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = f"oca-sync/{__version__}"
        self.stats = CallStats()
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
            self.stats.calls[function] += 1
            try:
                resp = self.session.post(self.url + REST_PATH, data=body, timeout=self.timeout)
            except requests.exceptions.ConnectionError as e:
                # A refused or unresolvable connection never reached Moodle: safe to repeat.
                never_sent = _never_sent(e)
                cause = _short(e)
                if read or never_sent:
                    if attempt < self.max_attempts:
                        self._wait(attempt, function, cause)
                        continue
                    raise MoodleTransportError(f"cannot reach Moodle at {self.url} ({cause})") from None
                raise WriteOutcomeUnknown(function, cause) from None
            except requests.exceptions.Timeout as e:
                if read and attempt < self.max_attempts:
                    self._wait(attempt, function, "timeout")
                    continue
                if read:
                    raise MoodleTransportError(f"Moodle at {self.url} did not answer in {self.timeout}s") from None
                raise WriteOutcomeUnknown(function, f"no answer in {self.timeout}s: {_short(e)}") from None
            except requests.exceptions.RequestException as e:
                raise MoodleTransportError(f"request to Moodle failed: {_short(e)}") from None
            if resp.status_code >= 500:
                if read and attempt < self.max_attempts:
                    self._wait(attempt, function, f"HTTP {resp.status_code}")
                    continue
                if read:
                    raise MoodleTransportError(f"Moodle answered HTTP {resp.status_code} to {function}")
                raise WriteOutcomeUnknown(function, f"HTTP {resp.status_code}")
            return self._decode(function, resp)

    def _wait(self, attempt: int, function: str, cause: str) -> None:
        delay = self.backoff * (2 ** (attempt - 1))
        self.stats.retries += 1
        log.warning("%s: %s; retrying in %.1fs (attempt %d of %d)", function, cause, delay, attempt + 1, self.max_attempts)
        self._sleep(delay)

    def _decode(self, function: str, resp: requests.Response) -> Any:
        if resp.status_code != 200:
            raise MoodleTransportError(
                f"Moodle answered HTTP {resp.status_code} to {function}; is {self.url} the site's root URL?"
            )
        try:
            data = resp.json()
        except (ValueError, json.JSONDecodeError):
            snippet = resp.text[:120].replace("\n", " ")
            raise MoodleTransportError(
                f"Moodle's answer to {function} is not JSON (starts with {snippet!r}); "
                f"is {self.url} a Moodle site with the REST protocol enabled?"
            ) from None
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
        like a read.
        """
        function = "webservice/upload.php"
        # The name Moodle will keep anyway (PARAM_FILE): sent clean, it survives any multipart quoting.
        name = clean_file_name(os.path.basename(path)) or os.path.basename(path)
        attempt = 0
        while True:
            attempt += 1
            self.stats.calls[function] += 1
            try:
                with open(path, "rb") as fh:
                    resp = self.session.post(self.url + UPLOAD_PATH, data={"token": self._token, "filearea": "draft"},
                                             files={"file_1": (name, fh)}, timeout=self.timeout)
            except (requests.exceptions.ConnectionError, requests.exceptions.Timeout) as e:
                if attempt < self.max_attempts:
                    self._wait(attempt, function, _short(e))
                    continue
                raise MoodleTransportError(f"cannot upload {path} to Moodle: {_short(e)}") from None
            if resp.status_code >= 500 and attempt < self.max_attempts:
                self._wait(attempt, function, f"HTTP {resp.status_code}")
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
    text = str(e)
    return text if len(text) < 200 else text[:200] + "…"
