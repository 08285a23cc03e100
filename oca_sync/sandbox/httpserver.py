"""A small threaded HTTP server base shared by the sandbox emulators.

Each emulator (Moodle, later Zoom and Drive) subclasses :class:`SandboxServer`
and implements :meth:`SandboxServer.handle_request`. The base class gives every
emulator the same three testing aids:

* a **fault injector** (:class:`FaultInjector`): queued rules that make the next
  matching requests fail with an HTTP status, answer slowly, or drop the
  connection before or *after* the request was processed;
* a **call log** (:attr:`SandboxServer.calls`) of the operations the emulator
  executed, with a helper that tells reads from writes;
* a control API under ``/__sandbox/`` so that a test can drive a server that runs
  in another process (``POST /__sandbox/faults``, ``GET /__sandbox/calls`` ...).

Everything binds to 127.0.0.1 only; port 0 picks a free ephemeral port.
"""

from __future__ import annotations

import json
import re
import socket
import threading
import time
from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

__all__ = [
    "FAULT_KINDS",
    "CallLog",
    "Fault",
    "FaultInjector",
    "Request",
    "Response",
    "SandboxServer",
    "is_write_operation",
]

#: The kinds of fault a rule can inject.
FAULT_KINDS = ("status", "slow", "drop", "drop_after", "truncate")

CONTROL_PREFIX = "/__sandbox/"


# --------------------------------------------------------------------------- #
# Reads and writes
# --------------------------------------------------------------------------- #

_READ_WORDS = frozenset({"get", "list", "info", "search", "head", "options"})


def is_write_operation(name: str) -> bool:
    """Whether an operation name denotes a write.

    Anything that is not a ``get`` / ``list`` / ``info`` / ``search`` is a write:
    ``core_course_get_courses_by_field`` is a read, ``core_course_create_courses``
    a write; for REST emulators an operation named ``"GET /files"`` is a read and
    ``"POST /files"`` a write.
    """
    words = [w for w in re.split(r"[^a-z0-9]+", name.lower()) if w]
    return not any(w in _READ_WORDS for w in words)


# --------------------------------------------------------------------------- #
# Faults
# --------------------------------------------------------------------------- #


@dataclass
class Fault:
    """One queued fault rule.

    ``match`` is compared with the request path (``/webservice/rest/server.php``),
    with the operation name the emulator derives from the request (for Moodle: the
    ``wsfunction``), or is ``"*"`` for every request. ``count`` is how many
    matching requests the rule affects (``0`` = unlimited).

    Kinds: ``status`` answers instead of processing (e.g. a 429, a 503, or an
    HTML page with status 200); ``slow`` waits first; ``drop`` hangs up before
    processing; ``drop_after`` processes, then hangs up without an answer;
    ``truncate`` processes, then sends the headers (with the full
    ``Content-Length``) and only the first half of the body before hanging up,
    as a proxy or PHP worker dying mid-answer does.
    """

    match: str
    kind: str
    count: int = 1
    #: for ``status``: the HTTP status and body sent instead of processing
    status: int = 500
    body: str = ""
    content_type: str = "text/plain; charset=utf-8"
    #: for ``slow``: seconds to wait before processing normally
    delay: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FAULT_KINDS:
            raise ValueError(f"unknown fault kind {self.kind!r}; expected one of {FAULT_KINDS}")
        if self.count < 0:
            raise ValueError("count must be >= 0 (0 = unlimited)")
        if self.kind == "slow" and self.delay <= 0:
            raise ValueError("a 'slow' fault needs a positive delay")

    def matches(self, path: str, operation: str | None) -> bool:
        return self.match in ("*", path) or (operation is not None and self.match == operation)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


class FaultInjector:
    """Thread-safe queue of :class:`Fault` rules, consumed by matching requests."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rules: list[Fault] = []

    def add(
        self,
        match: str,
        kind: str,
        count: int = 1,
        *,
        status: int = 500,
        body: str = "",
        content_type: str = "text/plain; charset=utf-8",
        delay: float = 0.0,
    ) -> Fault:
        """Queue a rule; see :class:`Fault` for the meaning of the arguments."""
        rule = Fault(match, kind, count, status, body, content_type, delay)
        with self._lock:
            self._rules.append(rule)
        return rule

    def add_dict(self, spec: dict[str, Any]) -> Fault:
        """Queue a rule given as a JSON object (the HTTP control API uses this)."""
        allowed = {"match", "kind", "count", "status", "body", "content_type", "delay"}
        unknown = set(spec) - allowed
        if unknown:
            raise ValueError(f"unknown fault keys: {sorted(unknown)}")
        if "match" not in spec or "kind" not in spec:
            raise ValueError("a fault needs 'match' and 'kind'")
        return self.add(
            str(spec["match"]),
            str(spec["kind"]),
            int(spec.get("count", 1)),
            status=int(spec.get("status", 500)),
            body=str(spec.get("body", "")),
            content_type=str(spec.get("content_type", "text/plain; charset=utf-8")),
            delay=float(spec.get("delay", 0.0)),
        )

    def clear(self) -> None:
        with self._lock:
            self._rules.clear()

    def pending(self) -> list[Fault]:
        with self._lock:
            return list(self._rules)

    def take(self, path: str, operation: str | None) -> Fault | None:
        """Return (and consume one use of) the first rule matching this request."""
        with self._lock:
            for i, rule in enumerate(self._rules):
                if rule.matches(path, operation):
                    if rule.count == 1:
                        del self._rules[i]
                    elif rule.count > 1:
                        rule.count -= 1
                    return rule
        return None


# --------------------------------------------------------------------------- #
# Call log
# --------------------------------------------------------------------------- #


class CallLog:
    """Thread-safe list of ``(operation, params)`` pairs the emulator executed.

    A call is logged when the emulator processed it (successfully or with an
    error answer), including calls whose answer a ``drop_after`` fault swallowed;
    requests answered by a ``status`` fault or dropped before processing are not.
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[tuple[str, Any]] = []

    def append(self, operation: str, params: Any) -> None:
        with self._lock:
            self._calls.append((operation, params))

    def clear(self) -> None:
        with self._lock:
            self._calls.clear()

    def snapshot(self) -> list[tuple[str, Any]]:
        with self._lock:
            return list(self._calls)

    def names(self) -> list[str]:
        return [name for name, _ in self.snapshot()]

    def writes(self) -> list[tuple[str, Any]]:
        """The logged calls that are writes (see :func:`is_write_operation`)."""
        return [c for c in self.snapshot() if is_write_operation(c[0])]

    def write_count(self) -> int:
        return len(self.writes())

    def count(self, operation: str) -> int:
        return sum(1 for name, _ in self.snapshot() if name == operation)

    def __iter__(self):  # type: ignore[no-untyped-def]
        return iter(self.snapshot())

    def __len__(self) -> int:
        with self._lock:
            return len(self._calls)

    def __getitem__(self, index: int) -> tuple[str, Any]:
        with self._lock:
            return self._calls[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, CallLog):
            return self.snapshot() == other.snapshot()
        if isinstance(other, list):
            return self.snapshot() == other
        return NotImplemented


# --------------------------------------------------------------------------- #
# Requests and responses
# --------------------------------------------------------------------------- #


@dataclass
class Request:
    """What an emulator sees of one HTTP request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes
    client: str = "127.0.0.1"
    #: what an emulator derived from the request once (e.g. its parsed form variables),
    #: so the fault matcher and the handler do not parse the body twice
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)


@dataclass
class Response:
    """What an emulator answers."""

    status: int = 200
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, data: Any, status: int = 200) -> Response:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json"})


class _DropConnection(Exception):
    """Internal: close the socket without writing any answer."""


class _Truncate(Exception):
    """Internal: write the headers and half of the body of ``response``, then close the socket."""

    def __init__(self, response: Response) -> None:
        super().__init__("truncated answer")
        self.response = response


# --------------------------------------------------------------------------- #
# The server
# --------------------------------------------------------------------------- #


class _Handler(BaseHTTPRequestHandler):
    server_version = "oca-sync-sandbox/1"
    protocol_version = "HTTP/1.1"
    # Small answers on kept-alive connections otherwise wait for Nagle + delayed ACK (~40 ms each).
    disable_nagle_algorithm = True

    # Quiet: the tests do not want a line per request on stderr.
    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _serve(self) -> None:
        sandbox: SandboxServer = self.server.sandbox  # type: ignore[attr-defined]
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        parts = urlsplit(self.path)
        request = Request(
            method=self.command,
            path=parts.path,
            query=parts.query,
            headers={k: v for k, v in self.headers.items()},
            body=body,
            client=self.client_address[0],
        )
        try:
            response = sandbox._dispatch(request)
        except _DropConnection:
            self._drop()
            return
        except _Truncate as cut:
            self._write(cut.response, cut_after=len(cut.response.body) // 2)
            self._drop()
            return
        except Exception as exc:  # noqa: BLE001 - an emulator bug: answer loudly, don't hang up
            response = Response(500, f"sandbox internal error: {type(exc).__name__}: {exc}\n".encode())
        self._write(response)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = _serve

    def _write(self, response: Response, cut_after: int | None = None) -> None:
        self.send_response(response.status)
        headers = dict(response.headers)
        headers.setdefault("Content-Type", "text/plain; charset=utf-8")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body if cut_after is None else response.body[:cut_after])

    def _drop(self) -> None:
        # Why a hard close: the client must see a broken connection, not an
        # empty answer, exactly as when a proxy or PHP worker dies mid-request.
        self.close_connection = True
        try:
            self.wfile.flush()
            self.connection.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass


class _ThreadingServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout, closed socket) is normal in fault tests.
        import sys

        exc = sys.exc_info()[1]
        if isinstance(exc, (ConnectionError, TimeoutError, OSError)):
            return
        super().handle_error(request, client_address)


class SandboxServer:
    """Base of every emulator: start/stop, fault injection, call log, control API.

    Subclasses implement :meth:`handle_request` and, to let faults match by
    operation, :meth:`operation_name`. Use as a context manager or call
    :meth:`start` / :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise ValueError("sandbox servers bind to the loopback interface only")
        self._host = host
        self._port = port
        self._httpd: _ThreadingServer | None = None
        self._thread: threading.Thread | None = None
        self.faults = FaultInjector()
        self.calls = CallLog()

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> Self:
        if self._httpd is not None:
            return self
        httpd = _ThreadingServer((self._host, self._port), _Handler)
        httpd.sandbox = self  # type: ignore[attr-defined]
        self._httpd = httpd
        # A short poll interval keeps stop() (and so test teardown) fast.
        self._thread = threading.Thread(
            target=httpd.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-http", daemon=True,
        )
        self._thread.start()
        return self

    def stop(self) -> None:
        httpd, self._httpd = self._httpd, None
        if httpd is None:
            return
        httpd.shutdown()
        httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)
        self._thread = None

    def __enter__(self) -> Self:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def port(self) -> int:
        if self._httpd is None:
            raise RuntimeError("server not started")
        return int(self._httpd.server_address[1])

    @property
    def url(self) -> str:
        """Base URL, e.g. ``http://127.0.0.1:54321`` (no trailing slash)."""
        return f"http://{self._host}:{self.port}"

    # -- hooks for subclasses ------------------------------------------------

    def operation_name(self, request: Request) -> str | None:
        """The operation a request invokes (used to match faults); None if unknown."""
        return None

    def handle_request(self, request: Request) -> Response:  # pragma: no cover - abstract
        raise NotImplementedError

    def log_call(self, operation: str, params: Any) -> None:
        """Subclasses call this when they execute an operation."""
        self.calls.append(operation, params)

    # -- dispatch --------------------------------------------------------------

    def _dispatch(self, request: Request) -> Response:
        if request.path.startswith(CONTROL_PREFIX):
            return self._control(request)
        fault = self.faults.take(request.path, self.operation_name(request))
        if fault is not None:
            if fault.kind == "status":
                return Response(
                    fault.status, fault.body.encode(), {"Content-Type": fault.content_type}
                )
            if fault.kind == "drop":
                raise _DropConnection()
            if fault.kind == "slow":
                time.sleep(fault.delay)
        response = self.handle_request(request)
        if fault is not None and fault.kind == "drop_after":
            # The write happened; the client never learns it.
            raise _DropConnection()
        if fault is not None and fault.kind == "truncate":
            # The write happened; the client gets half an answer.
            raise _Truncate(response)
        return response

    def _control(self, request: Request) -> Response:
        action = request.path[len(CONTROL_PREFIX):].strip("/")
        try:
            if action == "faults" and request.method == "GET":
                return Response.json([f.to_dict() for f in self.faults.pending()])
            if action == "faults" and request.method == "POST":
                spec = json.loads(request.body or b"null")
                specs: Iterable[dict[str, Any]] = spec if isinstance(spec, list) else [spec]
                added = [self.faults.add_dict(s).to_dict() for s in specs]
                return Response.json({"added": added})
            if (action == "faults" and request.method == "DELETE") or action == "faults/clear":
                self.faults.clear()
                return Response.json({"cleared": True})
            if action == "calls" and request.method == "GET":
                return Response.json(
                    [
                        {"function": name, "params": params, "write": is_write_operation(name)}
                        for name, params in self.calls.snapshot()
                    ]
                )
            if action == "reset-calls" and request.method == "POST":
                self.calls.clear()
                return Response.json({"reset": True})
            extra = self.control(action, request)
            if extra is not None:
                return extra
        except (ValueError, TypeError, json.JSONDecodeError) as exc:
            return Response.json({"error": str(exc)}, status=400)
        return Response.json({"error": f"unknown control action {request.method} {action}"}, 404)

    def control(self, action: str, request: Request) -> Response | None:
        """Subclasses may add ``/__sandbox/<action>`` endpoints; None = not handled."""
        return None
