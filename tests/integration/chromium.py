"""A headless Chromium (Debian's package) driven over the DevTools protocol on a pipe.

``--remote-debugging-pipe`` reads commands on fd 3 and writes answers and events on
fd 4, each a JSON message ended by NUL: no browser download, no websocket library.
"""

from __future__ import annotations

import base64
import json
import os
import shutil
import subprocess
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any


def chromium_path() -> str | None:
    return shutil.which("chromium") or shutil.which("chromium-browser")


@dataclass
class PageResult:
    console_errors: list[str] = field(default_factory=list)
    requests: list[str] = field(default_factory=list)
    evaluated: Any = None
    pdf: bytes = b""
    screenshot: bytes = b""


class Chromium:
    def __init__(self, width: int = 1200, height: int = 900) -> None:
        exe = chromium_path()
        assert exe, "chromium is not installed: scripts/test.sh installs Debian's package"
        self.profile = tempfile.TemporaryDirectory(prefix="oca-chromium-")
        to_child_r, self._to_child = os.pipe()
        self._from_child, from_child_w = os.pipe()
        self.proc = subprocess.Popen(
            [exe, "--headless=new", "--no-sandbox", "--disable-gpu", "--remote-debugging-pipe",
             "--no-first-run", "--no-default-browser-check", "--disable-extensions", "--hide-scrollbars",
             f"--window-size={width},{height}", f"--user-data-dir={self.profile.name}", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
            pass_fds=(3, 4), preexec_fn=_fds(to_child_r, from_child_w))
        os.close(to_child_r)
        os.close(from_child_w)
        self._buf = b""
        self._id = 0
        self.events: list[dict[str, Any]] = []

    def close(self) -> None:
        try:
            self.send("Browser.close")
        except Exception:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        os.close(self._to_child)
        os.close(self._from_child)
        self.profile.cleanup()

    def __enter__(self) -> Chromium:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def send(self, method: str, params: dict[str, Any] | None = None, session: str | None = None,
             timeout: float = 60) -> dict[str, Any]:
        self._id += 1
        msg: dict[str, Any] = {"id": self._id, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        os.write(self._to_child, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            reply = self._read()
            if reply.get("id") == self._id:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return dict(reply.get("result") or {})
            self.events.append(reply)
        raise TimeoutError(method)

    def wait_for(self, method: str, timeout: float = 60) -> dict[str, Any]:
        for e in self.events:
            if e.get("method") == method:
                return e
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            e = self._read()
            self.events.append(e)
            if e.get("method") == method:
                return e
        raise TimeoutError(method)

    def _read(self) -> dict[str, Any]:
        while b"\0" not in self._buf:
            chunk = os.read(self._from_child, 1 << 20)
            if not chunk:
                raise EOFError("chromium closed the pipe")
            self._buf += chunk
        raw, self._buf = self._buf.split(b"\0", 1)
        return json.loads(raw)

    def open(self, url: str, script: str, *, pdf: bool = True) -> PageResult:
        """Load ``url`` in a new tab; report console errors, every request, ``script``'s value, a PDF."""
        target = self.send("Target.createTarget", {"url": "about:blank"})["targetId"]
        session = self.send("Target.attachToTarget", {"targetId": target, "flatten": True})["sessionId"]
        for domain in ("Page", "Runtime", "Network", "Log"):
            self.send(f"{domain}.enable", session=session)
        self.events.clear()
        self.send("Page.navigate", {"url": url}, session=session)
        self.wait_for("Page.loadEventFired")
        out = PageResult()
        out.evaluated = self.send("Runtime.evaluate", {"expression": script, "returnByValue": True},
                                  session=session)["result"].get("value")
        out.screenshot = base64.b64decode(self.send("Page.captureScreenshot", {"format": "png",
                                                                              "captureBeyondViewport": True},
                                                    session=session)["data"])
        if pdf:
            out.pdf = base64.b64decode(self.send("Page.printToPDF", {"preferCSSPageSize": True},
                                                 session=session, timeout=120)["data"])
        for e in self.events:
            m, p = e.get("method"), e.get("params") or {}
            if m == "Runtime.consoleAPICalled" and p.get("type") in ("error", "assert"):
                out.console_errors.append(json.dumps(p.get("args"))[:300])
            elif m == "Runtime.exceptionThrown":
                out.console_errors.append(json.dumps(p.get("exceptionDetails"))[:300])
            elif m == "Log.entryAdded" and p.get("entry", {}).get("level") == "error":
                out.console_errors.append(str(p["entry"].get("text"))[:300])
            elif m == "Network.requestWillBeSent":
                out.requests.append(str(p.get("request", {}).get("url")))
        return out


def _fds(read_end: int, write_end: int) -> Any:
    def setup() -> None:  # in the child, before exec: the pipe as fds 3 and 4
        r, w = os.dup(read_end), os.dup(write_end)  # (either end may already be 3 or 4)
        os.dup2(r, 3)
        os.dup2(w, 4)
    return setup
