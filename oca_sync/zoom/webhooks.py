"""The Zoom webhook receiver behind ``oca-sync serve``.

Zoom POSTs every event as JSON to the *event notification endpoint URL* of an
event subscription, with two headers:

* ``x-zm-request-timestamp``: the request time, Unix seconds;
* ``x-zm-signature``: ``"v0=" + hex(HMAC_SHA256(secret_token, "v0:{timestamp}:{raw body}"))``.

``endpoint.url_validation`` (sent when the URL is saved, then every 72 hours)
must be answered with ``{"plainToken": p, "encryptedToken": hex(HMAC_SHA256(secret_token, p))}``.
It is signed like every other event and it is verified like every other event:
answering it unsigned would turn the endpoint into a signing oracle (a
``plainToken`` of ``"v0:{ts}:{forged body}"`` would come back as a valid
signature for the forged body).

Zoom expects a 2xx answer within three seconds and otherwise retries (three
times, up to about 1.5 hours later); ``recording.completed`` can therefore
arrive more than once. The receiver answers at once and hands each
``recording.completed`` of a meeting instance (``payload.object.uuid``) to the
handler once, on a background worker thread. Every other event is acknowledged
and ignored.

Neither the secret token nor a recording's ``download_token`` is ever logged:
handler errors are logged with both redacted.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import heapq
import hmac
import json
import logging
import queue
import re
import socket
import threading
import time
import traceback
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from .. import logsafe

__all__ = [
    "BODY_READ_TIMEOUT",
    "RECORDING_COMPLETED",
    "URL_VALIDATION",
    "WEBHOOK_PATH",
    "BackgroundServer",
    "WebhookReceiver",
    "create_app",
    "is_json_content_type",
    "recording_key",
    "run",
    "serving",
    "url_validation_response",
    "verify_signature",
]

logger = logging.getLogger(__name__)

#: Where Zoom posts the events (the endpoint URL is ``https://<public host>/zoom/webhook``).
WEBHOOK_PATH = "/zoom/webhook"
URL_VALIDATION = "endpoint.url_validation"
RECORDING_COMPLETED = "recording.completed"
MEETING_ENDED = "meeting.ended"
#: Events handed to the handler (once per meeting instance each); every other event is acknowledged and ignored.
HANDLED_EVENTS = frozenset({RECORDING_COMPLETED, MEETING_ENDED})
SIGNATURE_HEADER = "x-zm-signature"
TIMESTAMP_HEADER = "x-zm-request-timestamp"
#: Seconds a client may take to send its body before the request is dropped (408).
BODY_READ_TIMEOUT = 10.0
#: Longest ``plainToken`` answered (Zoom's are 22 characters).
MAX_PLAIN_TOKEN = 256
#: A timestamp at or above this is taken as milliseconds (seconds reach it in year 5138).
_MILLISECONDS_FROM = 100_000_000_000

_TIMESTAMP_RE = re.compile(r"[0-9]{1,20}")
_ACCESS_TOKEN_RE = re.compile(r"(access_token=)[^&\s'\"]+", re.IGNORECASE)
_BEARER_RE = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/=-]+")


# --------------------------------------------------------------------------- signatures


def _hmac_hex(secret: str, message: bytes) -> str:
    return hmac.new(secret.encode("utf-8"), message, hashlib.sha256).hexdigest()


def verify_signature(secret: str, timestamp: str, body: bytes, signature: str) -> bool:
    """True when ``signature`` is Zoom's ``x-zm-signature`` for this timestamp and raw body.

    The expected value is ``"v0=" + hex(HMAC_SHA256(secret, b"v0:" + timestamp + b":" + body))``,
    compared in constant time. Anything that is not ASCII is simply a mismatch.
    """
    try:
        message = b"v0:" + timestamp.encode("ascii") + b":" + body
        given = signature.encode("ascii")
    except UnicodeEncodeError:
        return False
    expected = ("v0=" + _hmac_hex(secret, message)).encode("ascii")
    return hmac.compare_digest(expected, given)


def url_validation_response(secret: str, plain_token: str) -> dict[str, str]:
    """The answer to ``endpoint.url_validation``: the token and its hex HMAC-SHA256 with the secret."""
    return {"plainToken": plain_token, "encryptedToken": _hmac_hex(secret, plain_token.encode("utf-8"))}


def recording_key(event: dict[str, Any]) -> str | None:
    """The dedupe key of a ``recording.completed`` event, or None when it has no meeting instance.

    One key per meeting instance, ``"recording.completed:" + payload.object.uuid``:
    independent of ``download_token`` and ``event_ts``, which change between deliveries.
    """
    payload = event.get("payload")
    obj = payload.get("object") if isinstance(payload, dict) else None
    uuid = obj.get("uuid") if isinstance(obj, dict) else None
    if not isinstance(uuid, str) or not uuid:
        return None
    kind = event.get("event")
    return f"{kind if kind in HANDLED_EVENTS else RECORDING_COMPLETED}:{uuid}"


# --------------------------------------------------------------------------- the receiver


class _Seen:
    """The default ``dedupe``: an in-memory set (lost on restart)."""

    def __init__(self) -> None:
        self._keys: set[str] = set()
        self._lock = threading.Lock()

    def __call__(self, key: str) -> bool:
        with self._lock:
            if key in self._keys:
                return False
            self._keys.add(key)
            return True


class _ReplayCache:
    """(timestamp, signature) pairs accepted within the tolerance window."""

    def __init__(self, tolerance: int) -> None:
        self._tolerance = tolerance
        self._seen: set[tuple[str, str]] = set()
        self._expiry: list[tuple[float, tuple[str, str]]] = []
        self._lock = threading.Lock()

    def add(self, timestamp: str, signature: str, ts_seconds: float, now: float) -> bool:
        """Record the pair; False when it was already seen (a replay)."""
        pair = (timestamp, signature)
        with self._lock:
            while self._expiry and self._expiry[0][0] < now:
                _, old = heapq.heappop(self._expiry)
                self._seen.discard(old)
            if pair in self._seen:
                return False
            self._seen.add(pair)
            heapq.heappush(self._expiry, (ts_seconds + self._tolerance, pair))
            return True

    def forget(self, timestamp: str, signature: str) -> None:
        """Let the same request in again (it was answered 503: it had no effect)."""
        with self._lock:
            self._seen.discard((timestamp, signature))


class _Job:
    __slots__ = ("event", "key")

    def __init__(self, key: str, event: dict[str, Any]) -> None:
        self.key = key
        self.event = event


_STOP = object()


class WebhookReceiver:
    """State of one app: the signature checks, the dedupe, the worker pool and its counters.

    Reached as ``app.state.webhooks``. ``stats()`` is what ``/healthz`` shows;
    ``join(timeout)`` waits until every accepted event is finished (for tests);
    ``close(timeout)`` stops the workers (the app's lifespan calls it on shutdown).
    """

    def __init__(
        self,
        secret_token: str,
        handler: Callable[[dict[str, Any]], None],
        *,
        max_body: int,
        tolerance: int,
        clock: Callable[[], float],
        workers: int,
        queue_size: int,
        dedupe: Callable[[str], bool] | None,
    ) -> None:
        if not secret_token:
            raise ValueError("the Zoom webhook secret token is empty")
        if max_body < 1 or tolerance < 1 or workers < 1 or queue_size < 1:
            raise ValueError("max_body, tolerance, workers and queue_size must be positive")
        self._secret = secret_token
        logsafe.register(secret_token)
        self._handler = handler
        self.max_body = max_body
        self.tolerance = tolerance
        self._clock = clock
        self._dedupe = dedupe if dedupe is not None else _Seen()
        self._replays = _ReplayCache(tolerance)
        self._queue: queue.Queue[Any] = queue.Queue()
        self._slots = threading.BoundedSemaphore(queue_size)
        self._lock = threading.Lock()
        self._idle = threading.Condition(self._lock)
        self._unfinished = 0
        self._processed = 0
        self._failed = 0
        self._closed = False
        self._threads = [
            threading.Thread(target=self._work, name=f"zoom-webhook-worker-{i}", daemon=True)
            for i in range(workers)
        ]
        for thread in self._threads:
            thread.start()

    # ---- counters

    def stats(self) -> dict[str, Any]:
        """``queued`` = accepted and not finished (waiting or running); ``processed``; ``failed``."""
        with self._lock:
            return {"status": "ok", "queued": self._unfinished, "processed": self._processed, "failed": self._failed}

    def join(self, timeout: float | None = None) -> bool:
        """Wait until no accepted event is waiting or running; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._idle:
            while self._unfinished:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return False
                self._idle.wait(remaining)
            return True

    def close(self, timeout: float = 5.0) -> None:
        """Stop the workers after their current event; events still waiting are logged and dropped."""
        if self._closed:
            return
        self._closed = True
        dropped: list[str] = []
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                break
            if isinstance(job, _Job):
                dropped.append(job.key)
                self._finish(ok=None)
        if dropped:
            logger.warning(
                "Zoom webhook: shutting down with %d event(s) not handled: %s", len(dropped), ", ".join(dropped)
            )
        for _ in self._threads:
            self._queue.put(_STOP)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        if any(t.is_alive() for t in self._threads):
            logger.warning("Zoom webhook: a handler is still running at shutdown")

    # ---- checks

    def check(self, timestamp: str | None, signature: str | None, body: bytes) -> str | None:
        """None when the request is authentic, fresh and new; otherwise why it is refused."""
        if not timestamp or not signature:
            return "missing signature headers"
        if not _TIMESTAMP_RE.fullmatch(timestamp):
            return "bad timestamp"
        ts = int(timestamp)
        seconds = ts / 1000 if ts >= _MILLISECONDS_FROM else float(ts)
        now = self._clock()
        if abs(now - seconds) > self.tolerance:
            return "stale timestamp"
        if not verify_signature(self._secret, timestamp, body, signature):
            return "bad signature"
        if not self._replays.add(timestamp, signature, seconds, now):
            return "replayed request"
        return None

    def forget(self, timestamp: str, signature: str) -> None:
        """Undo the replay record of a request that was refused with 503, so that its retry gets in."""
        self._replays.forget(timestamp, signature)

    def validation_answer(self, plain_token: str) -> dict[str, str]:
        return url_validation_response(self._secret, plain_token)

    # ---- queue

    def reserve(self) -> bool:
        """Take a place in the bounded queue; False when it is full."""
        return not self._closed and self._slots.acquire(blocking=False)

    def release(self) -> None:
        self._slots.release()

    def is_new(self, key: str) -> bool:
        return bool(self._dedupe(key))

    def enqueue(self, key: str, event: dict[str, Any]) -> None:
        """Hand a reserved event to the workers."""
        with self._lock:
            self._unfinished += 1
        self._queue.put(_Job(key, event))

    def _finish(self, ok: bool | None) -> None:
        self._slots.release()
        with self._idle:
            self._unfinished -= 1
            if ok is True:
                self._processed += 1
            elif ok is False:
                self._failed += 1
            self._idle.notify_all()

    def _work(self) -> None:
        while True:
            job = self._queue.get()
            if job is _STOP:
                return
            ok = False
            try:
                self._handler(job.event)
                ok = True
            except BaseException as exc:  # a handler must never kill its worker
                logger.error(
                    "Zoom webhook: handler failed for %s: %s",
                    job.key,
                    self._redact("".join(traceback.format_exception(exc)).rstrip(), job.event),
                )
            finally:
                self._finish(ok)

    def _redact(self, text: str, event: dict[str, Any]) -> str:
        for secret in (self._secret, event.get("download_token")):
            if isinstance(secret, str) and secret:
                text = text.replace(secret, "***")
        text = _ACCESS_TOKEN_RE.sub(r"\1***", text)
        return _BEARER_RE.sub(r"\1***", text)


# --------------------------------------------------------------------------- the app


def is_json_content_type(value: str | None) -> bool:
    """Whether a ``Content-Type`` is ``application/json``, with at most a UTF-8 ``charset``.

    Zoom sends ``application/json; charset=utf-8``; JSON exchanged between
    systems is UTF-8 (RFC 8259 section 8.1), so any other charset, any other
    parameter or any other media type (a form, ``text/plain``) is refused.
    """
    if not value:
        return False
    media, *params = (part.strip() for part in value.split(";"))
    if media.lower() != "application/json":
        return False
    for param in params:
        name, sep, val = param.partition("=")
        if not sep or name.strip().lower() != "charset" or val.strip().strip('"').lower() not in ("utf-8", "utf8"):
            return False
    return True



def _error(status: int, message: str, **headers: str) -> JSONResponse:
    return JSONResponse({"error": message}, status_code=status, headers=headers or None)


class _TooLarge(Exception):
    pass


async def _read_body(request: Request, limit: int) -> bytes:
    """The raw body, refused (``_TooLarge``) as soon as it passes ``limit`` bytes."""
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise _TooLarge
    return bytes(body)


def create_app(
    secret_token: str,
    handler: Callable[[dict[str, Any]], None],
    *,
    max_body: int = 256 * 1024,
    tolerance: int = 300,
    clock: Callable[[], float] = time.time,
    workers: int = 1,
    dedupe: Callable[[str], bool] | None = None,
    queue_size: int = 1000,
) -> Starlette:
    """The ASGI app: ``POST /zoom/webhook`` and ``GET /healthz``.

    ``handler(event)`` receives the whole JSON body of a ``recording.completed``
    or ``meeting.ended`` event (``event``, ``event_ts``, ``download_token``, ``payload``), once per
    meeting instance, on one of ``workers`` background threads; its exceptions
    are logged (redacted) and counted as failed. ``dedupe(key)`` returns True
    when ``key`` is new (and records it as seen), False when it was seen before;
    the default is an in-memory set. At most ``queue_size`` events wait or run at
    once; past that the request is answered 503 so that Zoom retries later.

    Answers of ``POST /zoom/webhook``: 200 for the URL validation (the token
    answer), a queued, duplicate or ignored event; 400 malformed JSON or a
    validation without a usable ``plainToken``; 401 missing headers, bad
    signature, timestamp more than ``tolerance`` seconds away from ``clock()``,
    or an exact replay; 408 a body not sent within ``BODY_READ_TIMEOUT``; 413 a
    body over ``max_body`` bytes (from ``Content-Length`` before reading, or
    while reading); 415 a ``Content-Type`` other than ``application/json``
    (optionally with ``charset=utf-8``, as Zoom sends it), signed or not;
    503 queue full or ``dedupe`` failed.
    """
    receiver = WebhookReceiver(
        secret_token,
        handler,
        max_body=max_body,
        tolerance=tolerance,
        clock=clock,
        workers=workers,
        queue_size=queue_size,
        dedupe=dedupe,
    )

    async def webhook(request: Request) -> JSONResponse:
        declared = request.headers.get("content-length")
        if declared is not None:
            try:
                length = int(declared)
            except ValueError:
                return _error(400, "bad Content-Length", connection="close")
            if length > max_body:
                return _error(413, "body too large", connection="close")
        try:
            async with asyncio.timeout(BODY_READ_TIMEOUT):
                body = await _read_body(request, max_body)
        except _TooLarge:
            return _error(413, "body too large", connection="close")
        except TimeoutError:
            return _error(408, "body not received in time", connection="close")
        except ClientDisconnect:
            return _error(400, "client disconnected")

        if not is_json_content_type(request.headers.get("content-type")):
            logger.warning("Zoom webhook: refused a request from %s: Content-Type is not application/json",
                           _client(request))
            return _error(415, "Content-Type must be application/json")

        timestamp = request.headers.get(TIMESTAMP_HEADER)
        signature = request.headers.get(SIGNATURE_HEADER)
        refusal = receiver.check(timestamp, signature, body)
        if refusal is not None:
            logger.warning("Zoom webhook: refused a request from %s: %s", _client(request), refusal)
            return _error(401, refusal)
        assert timestamp is not None and signature is not None  # check() refuses a missing one

        try:
            event = json.loads(body)
        except (ValueError, RecursionError):
            return _error(400, "malformed JSON")
        if not isinstance(event, dict):
            return JSONResponse({"status": "ignored"})
        kind = event.get("event")

        if kind == URL_VALIDATION:
            payload = event.get("payload")
            token = payload.get("plainToken") if isinstance(payload, dict) else None
            if not isinstance(token, str) or not token or len(token) > MAX_PLAIN_TOKEN:
                return _error(400, "no plainToken")
            logger.info("Zoom webhook: answered the endpoint URL validation")
            return JSONResponse(receiver.validation_answer(token))

        if kind not in HANDLED_EVENTS:
            logger.debug("Zoom webhook: ignored event %r", kind if isinstance(kind, str) else None)
            return JSONResponse({"status": "ignored"})
        key = recording_key(event)
        if key is None:
            logger.warning("Zoom webhook: ignored a %s event without payload.object.uuid", kind)
            return JSONResponse({"status": "ignored"})

        if not receiver.reserve():
            receiver.forget(timestamp, signature)
            logger.error("Zoom webhook: queue full, %s refused (Zoom will retry)", key)
            return _error(503, "busy", **{"retry-after": "300"})
        try:
            new = await run_in_threadpool(receiver.is_new, key)
        except Exception as exc:
            receiver.release()
            receiver.forget(timestamp, signature)
            logger.error("Zoom webhook: dedupe failed for %s: %s", key, type(exc).__name__)
            return _error(503, "dedupe unavailable", **{"retry-after": "300"})
        if not new:
            receiver.release()
            logger.info("Zoom webhook: duplicate %s ignored", key)
            return JSONResponse({"status": "duplicate"})
        receiver.enqueue(key, event)
        logger.info("Zoom webhook: queued %s", key)
        return JSONResponse({"status": "queued"})

    async def healthz(request: Request) -> JSONResponse:
        return JSONResponse(receiver.stats())

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        await run_in_threadpool(receiver.close)

    app = Starlette(
        routes=[
            Route(WEBHOOK_PATH, webhook, methods=["POST"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        lifespan=lifespan,
    )
    app.state.webhooks = receiver
    return app


def _client(request: Request) -> str:
    return request.client.host if request.client else "?"


# --------------------------------------------------------------------------- serving


def run(app: Any, host: str = "127.0.0.1", port: int = 8080, **options: Any) -> None:
    """Serve ``app`` with uvicorn until interrupted (Ctrl-C / SIGTERM shut it down gracefully).

    ``options`` go to :class:`uvicorn.Config` (e.g. ``proxy_headers``,
    ``forwarded_allow_ips``, ``log_config``). Listen on loopback and put an
    HTTPS reverse proxy in front: Zoom only posts to public HTTPS URLs.
    """
    options.setdefault("server_header", False)
    config = uvicorn.Config(app, host=host, port=port, **options)
    logsafe.install()  # uvicorn's own handlers (error and access logs) exist once its Config is built
    uvicorn.Server(config).run()


class BackgroundServer:
    """Serve an app with uvicorn on a thread, on an ephemeral port unless one is given.

    ``with BackgroundServer(app) as server: requests.get(server.url + "/healthz")``.
    ``stop()`` asks uvicorn to exit (running the app's lifespan shutdown) and joins the thread.
    """

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 0, **options: Any) -> None:
        options.setdefault("log_config", None)
        options.setdefault("server_header", False)
        options.setdefault("lifespan", "on")
        self._sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind((host, port))
        self.host = host
        self.port: int = self._sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, host=host, port=self.port, **options))
        self._thread = threading.Thread(target=self._serve, name=f"uvicorn-{self.port}", daemon=True)
        self._error: BaseException | None = None

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def _serve(self) -> None:
        try:
            self.server.run(sockets=[self._sock])
        except BaseException as exc:  # reported by start()
            self._error = exc

    def start(self, timeout: float = 10.0) -> BackgroundServer:
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self.server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError(f"uvicorn did not start on {self.url}: {self._error!r}")
            time.sleep(0.01)
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._sock.close()

    def __enter__(self) -> BackgroundServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


@contextlib.contextmanager
def serving(app: Any, host: str = "127.0.0.1", port: int = 0, **options: Any) -> Iterator[BackgroundServer]:
    """``with serving(app) as server:``: a started :class:`BackgroundServer`, stopped on exit."""
    with BackgroundServer(app, host, port, **options) as server:
        yield server
