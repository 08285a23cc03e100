"""Streamed answers for sandbox servers: large bodies without holding them in memory.

:class:`~oca_sync.sandbox.httpserver.Response` carries its whole body as bytes,
which is right for API answers but not for recording files of hundreds of
megabytes. A handler returns a :class:`StreamResponse` instead (length known
in advance, chunks produced on demand), and a server that wants them calls
:func:`enable_streaming` once it is started. ``cut_after`` breaks the
connection after that many body bytes, as a dying proxy would, so that
clients can be tested on resuming a download.

The streaming handler also sets ``TCP_NODELAY``: headers and body leave in
separate writes, and without it every answer on a kept-alive connection waits
~40 ms for the client's delayed ACK.

(Written for the Zoom emulator; the Drive emulator's downloads can use it too.
Both would sit naturally inside ``httpserver.py``.)
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field

from .httpserver import Response, SandboxServer, _Handler

__all__ = ["StreamResponse", "enable_streaming"]


@dataclass
class StreamResponse(Response):
    """A response whose body is produced chunk by chunk; ``length`` is its full size."""

    chunks: Iterable[bytes] = field(default_factory=tuple)
    length: int = 0
    #: drop the connection after this many body bytes (None: send everything)
    cut_after: int | None = None


class _StreamingHandler(_Handler):
    # Headers and body leave in separate writes: without TCP_NODELAY, Nagle's
    # algorithm meets the client's delayed ACK and every answer takes ~40 ms.
    disable_nagle_algorithm = True

    def _write(self, response: Response, cut_after: int | None = None) -> None:
        if not isinstance(response, StreamResponse):
            super()._write(response, cut_after)
            return
        self.send_response(response.status)
        headers = dict(response.headers)
        headers.setdefault("Content-Type", "application/octet-stream")
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(response.length))
        self.end_headers()
        if self.command == "HEAD":
            return
        sent = 0
        for chunk in response.chunks:
            if response.cut_after is not None and sent + len(chunk) >= response.cut_after:
                part = chunk[: max(0, response.cut_after - sent)]
                if part:
                    self.wfile.write(part)
                self._drop()
                return
            self.wfile.write(chunk)
            sent += len(chunk)


def enable_streaming(server: SandboxServer) -> None:
    """Let a started ``server`` answer :class:`StreamResponse` (call right after ``start()``)."""
    httpd = server._httpd
    if httpd is None:
        raise RuntimeError("start the server first")
    # The handler class is looked up per connection, so swapping it is enough.
    httpd.RequestHandlerClass = _StreamingHandler
