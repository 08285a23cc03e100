"""What went wrong on the network, in a few words a person can act on.

requests and urllib3 wrap the real cause several times ("HTTPConnectionPool(...):
Max retries exceeded ... (Caused by NewConnectionError(...))"). The clients
name the cause instead: connection refused, host name not resolved, a TLS
problem or a time-out, and fall back to the exception's own text.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Iterator

__all__ = ["describe", "specific"]

_MAX = 200


def _chain(e: BaseException) -> Iterator[BaseException]:
    """The exception, what caused it, and exceptions held in its arguments (urllib3 keeps its reason there)."""
    seen: set[int] = set()
    todo: list[BaseException] = [e]
    while todo:
        x = todo.pop(0)
        if id(x) in seen:
            continue
        seen.add(id(x))
        yield x
        todo += [c for c in (x.__cause__, x.__context__, getattr(x, "reason", None)) if isinstance(c, BaseException)]
        todo += [a for a in getattr(x, "args", ()) if isinstance(a, BaseException)]


def describe(e: BaseException) -> str:
    """``connection refused``, ``host name not resolved (…)``, ``TLS: …``, ``timed out``, or the text of ``e``."""
    found = specific(e)
    if found:
        return found
    text = str(e)
    return text if len(text) < _MAX else text[:_MAX] + "…"


def specific(e: BaseException) -> str | None:
    """The network cause of ``e`` in a few words, or None when it is not one of those."""
    for x in _chain(e):
        if isinstance(x, ssl.SSLCertVerificationError):
            return f"TLS certificate not accepted: {x.verify_message or x.reason}"
        if isinstance(x, ssl.SSLError):
            return f"TLS error: {x.reason or x}"
        if isinstance(x, ConnectionRefusedError):
            return "connection refused (nothing listens at that address and port)"
        if isinstance(x, socket.gaierror) or type(x).__name__ == "NameResolutionError":
            return "host name not resolved (check the URL's host name and this machine's DNS)"
        if isinstance(x, (socket.timeout, TimeoutError)) or type(x).__name__ in ("ConnectTimeoutError",
                                                                                 "ReadTimeoutError"):
            return "timed out"
    return None
