"""Keep credentials out of every log line, ours and our libraries'.

At ``-vv`` urllib3 logs each request line with its full URL, and several URLs
are credentials: a Drive resumable session URI (``upload_id=…``: whoever has it
can write to the upload), a Zoom recording's signed download URL (``sig=…``,
``access_token=…``), an OAuth token endpoint's query. googleapiclient and
httplib2 log URLs too, and uvicorn's access log prints request lines. Scrubbing
in each call site cannot cover code we do not own, so the scrubbing happens
where every record passes: a :class:`RedactingFilter` on every handler
(:func:`install`), applied to the formatted message and to any traceback.

Two kinds of redaction, both replacing the value with ``***``:

* **by shape**: query or form parameters whose name says credential
  (:data:`SENSITIVE_PARAMS`), ``Bearer``/``Basic`` credentials, JSON or
  ``key=value`` pairs naming a token, secret or password, JSON Web Tokens
  (Zoom's ``download_token``), Google access tokens (``ya29.…``);
* **by value**: every secret the clients were given or received
  (:func:`register`): Moodle's token, Zoom's client secret and access
  tokens, Drive's bearer token, the webhook secret.
"""

from __future__ import annotations

import logging
import re
import threading
from collections.abc import Iterable

__all__ = ["MASK", "SENSITIVE_PARAMS", "RedactingFilter", "install", "redact_text", "register"]

MASK = "***"

#: URL query / form parameter names whose values are credentials (case-insensitive).
SENSITIVE_PARAMS = (
    "upload_id",  # Drive resumable session URI
    "access_token", "download_access_token", "refresh_token", "id_token", "token", "wstoken",  # Zoom, Moodle, OAuth
    "sig", "signature", "x-amz-signature", "x-amz-credential", "x-amz-security-token",  # signed CDN URLs
    "x-goog-signature", "x-goog-credential", "key-pair-id", "policy",
    "client_secret", "secret", "password", "passwd", "key", "code", "assertion",
)
#: Registered values shorter than this are not redacted by value (they would mask ordinary words).
MIN_SECRET_LENGTH = 6

_PARAM_RE = re.compile(
    r"(?<![A-Za-z0-9_.-])(" + "|".join(re.escape(p) for p in sorted(SENSITIVE_PARAMS, key=len, reverse=True))
    + r")=(?!\*\*\*)[^&\s'\"#<>;,)\]}]+",
    re.IGNORECASE,
)
_PAIR_RE = re.compile(
    r"""(["']?[A-Za-z_-]*(?:token|secret|password|passwd|signature)["']?\s*[:=]\s*["'])(?!\*\*\*)[^"']+""",
    re.IGNORECASE,
)
_AUTH_RE = re.compile(r"\b(Bearer|Basic)\s+(?!\*\*\*)[A-Za-z0-9._~+/=-]{6,}", re.IGNORECASE)
_JWT_RE = re.compile(r"\beyJ[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]{4,}\.[A-Za-z0-9_-]*")
_GOOGLE_TOKEN_RE = re.compile(r"\bya29\.[A-Za-z0-9._-]+")

_lock = threading.Lock()
_secrets: set[str] = set()
_ordered: tuple[str, ...] = ()


def register(*values: str | None) -> None:
    """Redact these values wherever they appear in a log line from now on."""
    global _ordered
    fresh = {v for v in values if isinstance(v, str) and len(v) >= MIN_SECRET_LENGTH}
    if not fresh - _secrets:
        return
    with _lock:
        _secrets.update(fresh)
        # Longest first, so that a secret containing another is masked whole.
        _ordered = tuple(sorted(_secrets, key=len, reverse=True))


def redact_text(text: str, extra: Iterable[str | None] = ()) -> str:
    """``text`` with every registered secret, every ``extra`` value and every credential-shaped part masked."""
    for secret in (*(e for e in extra if e and len(e) >= MIN_SECRET_LENGTH), *_ordered):
        if secret in text:
            text = text.replace(secret, MASK)
    text = _PARAM_RE.sub(lambda m: f"{m.group(1)}={MASK}", text)
    text = _PAIR_RE.sub(lambda m: m.group(1) + MASK, text)
    text = _AUTH_RE.sub(lambda m: f"{m.group(1)} {MASK}", text)
    text = _JWT_RE.sub(MASK, text)
    return _GOOGLE_TOKEN_RE.sub(MASK, text)


class RedactingFilter(logging.Filter):
    """Rewrites a record's message (and traceback) with :func:`redact_text`; never drops a record."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string: leave it to the handler's own error path
            return True
        clean = redact_text(message)
        if clean != message:
            _rewrite(record, clean)
        if record.exc_info:
            if not record.exc_text:
                record.exc_text = logging.Formatter().formatException(record.exc_info)
            # Handlers that render exc_info themselves (rich) would show it unredacted: keep the text only.
            record.exc_info = None
        if record.exc_text:
            record.exc_text = redact_text(record.exc_text)
        if record.stack_info:
            record.stack_info = redact_text(record.stack_info)
        return True


def _rewrite(record: logging.LogRecord, clean: str) -> None:
    """Mask the record's arguments one by one when that is enough, else flatten it to ``clean``.

    Arguments are kept where possible because some formatters read them
    (uvicorn's access log formats ``record.args`` itself).
    """
    args = record.args
    if isinstance(args, tuple) and isinstance(record.msg, str):
        masked = tuple(redact_text(a) if isinstance(a, str) else a for a in args)
        try:
            if redact_text(record.msg) % masked == clean:
                record.msg, record.args = redact_text(record.msg), masked
                return
        except (TypeError, ValueError):
            pass
    record.msg, record.args = clean, ()


_FILTER = RedactingFilter()


def install() -> None:
    """Put the filter on every handler that exists now: the root's and every named logger's.

    Call it again after a library configures its own handlers (uvicorn does when
    its ``Config`` is built). Filters on handlers, not loggers, because a
    logger's filters do not see records propagated from its children.
    """
    loggers: list[logging.Logger] = [logging.getLogger()]
    loggers += [lg for lg in list(logging.root.manager.loggerDict.values()) if isinstance(lg, logging.Logger)]
    for lg in loggers:
        for handler in lg.handlers:
            if not any(isinstance(f, RedactingFilter) for f in handler.filters):
                handler.addFilter(_FILTER)
