"""The Zoom webhook receiver over real HTTP: uvicorn on 127.0.0.1 (ephemeral port, own thread), ``requests``.

Signatures are computed here with :mod:`hmac` from Zoom's formula, not with the
module's own helpers, so the tests check the wire format.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import socket
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import requests

from oca_sync.zoom.webhooks import (
    BackgroundServer,
    WebhookReceiver,
    create_app,
    url_validation_response,
    verify_signature,
)

SECRET = "s3cr3t-webhook-T0ken-xyz"
DOWNLOAD_TOKEN = "eyJhbGciOiJIUzI1NiJ9.download-token-abc123.sig"
PLAIN_TOKEN = "qgg8vlvZRS6UYooatFL8Aw"
TIMEOUT = 5


def sign(body: bytes, timestamp: str, secret: str = SECRET) -> str:
    message = b"v0:" + timestamp.encode() + b":" + body
    return "v0=" + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def now_ts() -> str:
    return str(int(time.time()))


def recording_event(uuid: str = "4444AAAiAAAAAiAiAiiAii==", token: str = DOWNLOAD_TOKEN, ts: int = 1) -> dict[str, Any]:
    """``recording.completed`` as Zoom sends it (``download_token`` at the top level)."""
    return {
        "event": "recording.completed",
        "event_ts": 1_642_413_600_000 + ts,
        "download_token": token,
        "payload": {
            "account_id": "AAAAAABBBB",
            "object": {
                "uuid": uuid,
                "id": 85_746_065_432,
                "host_id": "z8yCxjabcdEFGHfp8uQ",
                "account_id": "AAAAAABBBB",
                "topic": "OCA training session 1",
                "type": 8,
                "start_time": "2022-01-17T09:00:00Z",
                "timezone": "Asia/Bishkek",
                "duration": 90,
                "total_size": 1_024,
                "recording_count": 1,
                "recording_files": [
                    {
                        "id": "ed6c2f27-2ae7-42f4-b3d0-835b493e4fa8",
                        "meeting_id": uuid,
                        "recording_start": "2022-01-17T09:00:05Z",
                        "recording_end": "2022-01-17T10:30:00Z",
                        "file_type": "MP4",
                        "file_size": 1_024,
                        "file_extension": "MP4",
                        "download_url": "https://example.zoom.us/rec/download/abc",
                        "status": "completed",
                        "recording_type": "shared_screen_with_speaker_view",
                    }
                ],
            },
        },
    }


class Recorder:
    """A handler that records its events; it can block on an Event or fail."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []
        self.release = threading.Event()
        self.release.set()
        self.started = threading.Event()
        self.fail_with: BaseException | None = None
        self.lock = threading.Lock()

    def __call__(self, event: dict[str, Any]) -> None:
        self.started.set()
        self.release.wait(5)
        with self.lock:
            self.events.append(event)
        if self.fail_with is not None:
            raise self.fail_with


class Site:
    def __init__(self, server: BackgroundServer, handler: Recorder) -> None:
        self.server = server
        self.handler = handler
        self.url = server.url + "/zoom/webhook"
        self.receiver: WebhookReceiver = server.server.config.app.state.webhooks

    def post(
        self,
        body: bytes | dict[str, Any] | list[Any],
        *,
        timestamp: str | None = None,
        signature: str | None = None,
        secret: str = SECRET,
        headers: dict[str, str] | None = None,
        signed: bool = True,
    ) -> requests.Response:
        raw = body if isinstance(body, bytes) else json.dumps(body).encode()
        hdrs = {"content-type": "application/json; charset=utf-8"}
        if signed:
            ts = timestamp or now_ts()
            hdrs["x-zm-request-timestamp"] = ts
            hdrs["x-zm-signature"] = signature or sign(raw, ts, secret)
        hdrs.update(headers or {})
        return requests.post(self.url, data=raw, headers=hdrs, timeout=TIMEOUT)

    def health(self) -> dict[str, Any]:
        r = requests.get(self.server.url + "/healthz", timeout=TIMEOUT)
        assert r.status_code == 200
        return r.json()


@pytest.fixture
def make_site() -> Iterator[Callable[..., Site]]:
    sites: list[Site] = []

    def make(**options: Any) -> Site:
        handler = Recorder()
        server = BackgroundServer(create_app(SECRET, handler, **options)).start()
        sites.append(Site(server, handler))
        return sites[-1]

    yield make
    for made in sites:
        made.handler.release.set()
        made.server.stop()


@pytest.fixture
def site(make_site: Callable[..., Site]) -> Site:
    return make_site()


def raw_http(server: BackgroundServer, request: bytes, *, wait: float = 3.0) -> tuple[int, bytes]:
    """Send raw bytes, return the status and what came back (up to the close or ``wait``)."""
    with socket.create_connection((server.host, server.port), timeout=wait) as sock:
        sock.sendall(request)
        data = b""
        try:
            while b"\r\n\r\n" not in data or len(data) < data.index(b"\r\n\r\n") + 4:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                data += chunk
        except TimeoutError:
            pass
    status = int(data.split(b" ", 2)[1]) if data.startswith(b"HTTP/1.1 ") else 0
    return status, data


# --------------------------------------------------------------------------- URL validation


def test_url_validation_answer_is_exact(site: Site) -> None:
    body = {"payload": {"plainToken": PLAIN_TOKEN}, "event_ts": 1_654_503_849_680, "event": "endpoint.url_validation"}
    r = site.post(body)
    assert r.status_code == 200
    expected = hmac.new(SECRET.encode(), PLAIN_TOKEN.encode(), hashlib.sha256).hexdigest()
    assert r.json() == {"plainToken": PLAIN_TOKEN, "encryptedToken": expected}
    assert url_validation_response(SECRET, PLAIN_TOKEN) == r.json()
    assert site.handler.events == []


def test_url_validation_must_be_signed(site: Site) -> None:
    """Unsigned, it would be a signing oracle: plainToken "v0:{ts}:{body}" -> a valid signature."""
    ts = now_ts()
    forged = json.dumps(recording_event(uuid="forged")).encode()
    oracle = {"event": "endpoint.url_validation", "payload": {"plainToken": f"v0:{ts}:{forged.decode()}"}}
    r = site.post(oracle, signed=False)
    assert r.status_code == 401
    assert "encryptedToken" not in r.text
    r = site.post(oracle, signature="v0=" + "0" * 64)
    assert r.status_code == 401


def test_url_validation_without_plain_token_is_400(site: Site) -> None:
    assert site.post({"event": "endpoint.url_validation", "payload": {}}).status_code == 400
    assert site.post({"event": "endpoint.url_validation", "payload": {"plainToken": 5}}).status_code == 400


# --------------------------------------------------------------------------- signatures, freshness, replays


def test_bad_signature_is_401(site: Site) -> None:
    body = json.dumps(recording_event()).encode()
    ts = now_ts()
    assert site.post(body, timestamp=ts, secret="another secret").status_code == 401
    assert site.post(body, timestamp=ts, signature=sign(body + b" ", ts)).status_code == 401
    assert site.post(body, timestamp=ts, signature=sign(body, str(int(ts) - 1))).status_code == 401
    assert site.post(body, timestamp=ts, signature=sign(body, ts)[3:]).status_code == 401  # no "v0="
    assert site.post(body, timestamp=ts, signature="v0=é").status_code == 401
    r = site.post(body, timestamp=ts, signature="v0=" + "a" * 64)
    assert r.status_code == 401 and r.json() == {"error": "bad signature"}
    assert site.handler.events == []
    assert site.health()["queued"] == 0


def test_missing_headers_is_401(site: Site) -> None:
    body = json.dumps(recording_event()).encode()
    ts = now_ts()
    assert site.post(body, signed=False).status_code == 401
    assert site.post(body, signed=False, headers={"x-zm-request-timestamp": ts}).status_code == 401
    assert site.post(body, signed=False, headers={"x-zm-signature": sign(body, ts)}).status_code == 401
    r = site.post(body, timestamp=ts, headers={"x-zm-request-timestamp": ""})
    assert r.status_code == 401
    r = site.post(body, signed=False, headers={"x-zm-request-timestamp": "soon", "x-zm-signature": sign(body, "soon")})
    assert r.status_code == 401
    assert site.handler.events == []


@pytest.mark.parametrize("offset", [-301, -86_400, 301, 3_600])
def test_stale_timestamp_is_401(site: Site, offset: int) -> None:
    ts = str(int(time.time()) + offset)
    r = site.post(recording_event(), timestamp=ts)  # correctly signed, but outside the window
    assert r.status_code == 401
    assert "stale" in r.json()["error"]
    assert site.handler.events == []


def test_millisecond_timestamp_is_accepted(site: Site) -> None:
    ts = str(int(time.time() * 1000))
    r = site.post({"event": "meeting.started", "payload": {}}, timestamp=ts)
    assert r.status_code == 200
    r = site.post({"event": "meeting.started", "payload": {}}, timestamp=str(int(time.time() * 1000) - 400_000))
    assert r.status_code == 401 and "stale" in r.json()["error"]


def test_tolerance_uses_the_clock(make_site: Callable[..., Site]) -> None:
    site = make_site(clock=lambda: 1_700_000_000.0, tolerance=60)
    assert site.post({"event": "meeting.started"}, timestamp="1700000059").status_code == 200
    assert site.post({"event": "meeting.started"}, timestamp="1699999940").status_code == 200
    assert site.post({"event": "meeting.started"}, timestamp="1700000061").status_code == 401
    assert site.post({"event": "meeting.started"}, timestamp="1699999939").status_code == 401


def test_exact_replay_is_401(site: Site) -> None:
    body = json.dumps({"event": "meeting.ended", "payload": {"object": {"uuid": "x"}}}).encode()
    ts = now_ts()
    sig = sign(body, ts)
    assert site.post(body, timestamp=ts, signature=sig).status_code == 200
    r = site.post(body, timestamp=ts, signature=sig)
    assert r.status_code == 401 and "replay" in r.json()["error"]
    # the same body signed at another second is a new delivery, not a replay
    assert site.post(body, timestamp=str(int(ts) - 1)).status_code == 200


# --------------------------------------------------------------------------- body size


def test_oversized_body_is_413(make_site: Callable[..., Site]) -> None:
    site = make_site(max_body=4096)
    assert site.post(b"x" * 4097).status_code == 413
    # exactly the limit is read (and then refused for what it is, not for its size)
    assert site.post(b"x" * 4096).status_code == 400
    assert site.post(b"x" * 4097, signed=False).status_code == 413
    assert site.handler.events == []


def test_oversized_content_length_is_refused_before_the_body_is_sent(make_site: Callable[..., Site]) -> None:
    site = make_site(max_body=4096)
    request = (
        b"POST /zoom/webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 104857600\r\n\r\n"
    )
    started = time.monotonic()
    status, data = raw_http(site.server, request)  # no body at all: the answer must not wait for it
    assert status == 413
    assert time.monotonic() - started < 2
    assert b"connection: close" in data.lower()


def test_oversized_chunked_body_is_413(make_site: Callable[..., Site]) -> None:
    site = make_site(max_body=4096)

    def chunks() -> Iterator[bytes]:
        for _ in range(64):
            yield b"y" * 1024

    ts = now_ts()
    r = requests.post(
        site.url,
        data=chunks(),  # Transfer-Encoding: chunked, no Content-Length
        headers={"x-zm-request-timestamp": ts, "x-zm-signature": "v0=" + "0" * 64},
        timeout=TIMEOUT,
    )
    assert r.status_code == 413
    assert site.health()["queued"] == 0


def test_lying_content_length_with_chunked_body_is_413(make_site: Callable[..., Site]) -> None:
    """Content-Length claims 10 bytes, the chunked body carries 8 KiB: counted while streaming."""
    site = make_site(max_body=4096)
    chunk = b"z" * 1024
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
    request = (
        b"POST /zoom/webhook HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\n"
        b"Content-Length: 10\r\nTransfer-Encoding: chunked\r\n\r\n" + body
    )
    status, _ = raw_http(site.server, request)
    assert status == 413


def test_bad_content_length_is_refused(make_site: Callable[..., Site]) -> None:
    site = make_site(max_body=4096)
    request = b"POST /zoom/webhook HTTP/1.1\r\nHost: localhost\r\nContent-Length: ten\r\n\r\n"
    status, _ = raw_http(site.server, request)
    assert status == 400


# --------------------------------------------------------------------------- body shapes


def test_malformed_json_is_400(site: Site) -> None:
    for body in (b"{", b"", b"\xff\xfe{}", b'{"event": "recording.completed",}', b"[" * 200_000):
        r = site.post(body)
        assert r.status_code == 400, body[:20]
        assert r.json() == {"error": "malformed JSON"}
    assert site.handler.events == []


def test_unknown_events_and_shapes_are_acknowledged_and_ignored(site: Site) -> None:
    for body in (
        {"event": "meeting.started", "payload": {"object": {"uuid": "abc"}}},
        {"event": "recording.transcript_completed", "payload": {"object": {"uuid": "abc"}}},
        {"no": "event"},
        [1, 2, 3],
        {"event": "recording.completed"},
        {"event": "recording.completed", "payload": {"object": {"uuid": ""}}},
        {"event": "recording.completed", "payload": {"object": []}},
        {"event": "recording.completed", "payload": "x"},
    ):
        r = site.post(body)
        assert r.status_code == 200, body
        assert r.json() == {"status": "ignored"}
    assert site.receiver.join(TIMEOUT)
    assert site.handler.events == []
    assert site.health() == {"status": "ok", "queued": 0, "processed": 0, "failed": 0}


def test_wrong_method_and_path(site: Site) -> None:
    assert requests.get(site.url, timeout=TIMEOUT).status_code == 405
    assert requests.post(site.server.url + "/zoom/other", data=b"{}", timeout=TIMEOUT).status_code == 404


# --------------------------------------------------------------------------- recording.completed


def test_recording_completed_is_handled_once_when_posted_three_times(site: Site) -> None:
    answers = []
    for attempt in range(3):  # Zoom's retries: new timestamp, event_ts and download_token each time
        event = recording_event(token=f"{DOWNLOAD_TOKEN}-{attempt}", ts=attempt)
        r = site.post(event, timestamp=str(int(time.time()) - attempt))
        assert r.status_code == 200
        answers.append(r.json()["status"])
    assert answers == ["queued", "duplicate", "duplicate"]
    assert site.receiver.join(TIMEOUT)
    assert len(site.handler.events) == 1
    handled = site.handler.events[0]
    assert handled["event"] == "recording.completed"
    assert handled["download_token"] == f"{DOWNLOAD_TOKEN}-0"
    assert handled["payload"]["object"]["uuid"] == "4444AAAiAAAAAiAiAiiAii=="
    assert handled["payload"]["object"]["recording_files"][0]["file_type"] == "MP4"
    # another meeting instance of the same meeting is another recording
    assert site.post(recording_event(uuid="/ajXp112QmuoKj4854875==")).json() == {"status": "queued"}
    assert site.receiver.join(TIMEOUT)
    assert len(site.handler.events) == 2
    assert site.health() == {"status": "ok", "queued": 0, "processed": 2, "failed": 0}


def test_recording_completed_posted_three_times_at_once(make_site: Callable[..., Site]) -> None:
    site = make_site(workers=3)
    results: list[int] = []
    barrier = threading.Barrier(3)

    def deliver(i: int) -> None:
        barrier.wait()
        results.append(site.post(recording_event(token=f"t{i}"), timestamp=str(int(time.time()) - i)).status_code)

    threads = [threading.Thread(target=deliver, args=(i,)) for i in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(TIMEOUT)
    assert results == [200, 200, 200]
    assert site.receiver.join(TIMEOUT)
    assert len(site.handler.events) == 1


def test_answer_is_immediate_while_the_handler_takes_five_seconds(make_site: Callable[..., Site]) -> None:
    site = make_site()
    site.handler.release.clear()  # the handler blocks until released (at most 5 s)
    started = time.monotonic()
    r = site.post(recording_event(uuid="first"))
    assert r.status_code == 200 and time.monotonic() - started < 1
    assert site.handler.started.wait(TIMEOUT)
    started = time.monotonic()
    r = site.post(recording_event(uuid="second"))
    assert r.status_code == 200 and time.monotonic() - started < 1
    started = time.monotonic()
    assert site.health() == {"status": "ok", "queued": 2, "processed": 0, "failed": 0}
    assert time.monotonic() - started < 1
    site.handler.release.set()
    assert site.receiver.join(TIMEOUT)
    assert site.health() == {"status": "ok", "queued": 0, "processed": 2, "failed": 0}


def test_handler_exception_does_not_break_the_service(site: Site, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    site.handler.fail_with = RuntimeError(f"download failed: token {DOWNLOAD_TOKEN} secret {SECRET}")
    assert site.post(recording_event(uuid="a")).status_code == 200
    assert site.receiver.join(TIMEOUT)
    assert site.health() == {"status": "ok", "queued": 0, "processed": 0, "failed": 1}
    site.handler.fail_with = None
    assert site.post(recording_event(uuid="b")).status_code == 200
    assert site.receiver.join(TIMEOUT)
    assert site.health() == {"status": "ok", "queued": 0, "processed": 1, "failed": 1}
    failures = [r for r in caplog.records if "handler failed" in r.getMessage()]
    assert len(failures) == 1 and "RuntimeError" in failures[0].getMessage()
    assert "recording.completed:a" in failures[0].getMessage()


def test_secret_and_download_token_never_logged(
    make_site: Callable[..., Site], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    site = make_site()
    site.handler.fail_with = ValueError(
        f"GET https://zoom.us/rec/download/x?access_token={DOWNLOAD_TOKEN} Authorization: Bearer {DOWNLOAD_TOKEN}"
    )
    site.post({"event": "endpoint.url_validation", "payload": {"plainToken": PLAIN_TOKEN}})
    site.post({"event": "endpoint.url_validation", "payload": {"plainToken": SECRET}}, signed=False)
    site.post(recording_event(), secret="wrong")
    site.post(recording_event(), timestamp="1")
    site.post(b"{bad json " + DOWNLOAD_TOKEN.encode())
    site.post(recording_event())
    site.post(recording_event())
    site.post({"event": "meeting.started", "download_token": DOWNLOAD_TOKEN})
    assert site.receiver.join(TIMEOUT)
    assert site.health()["failed"] == 1
    site.server.stop()
    assert caplog.records  # something was logged
    text = caplog.text + "".join((r.exc_text or "") + str(r.args) + r.getMessage() for r in caplog.records)
    assert SECRET not in text
    assert DOWNLOAD_TOKEN not in text
    assert "download-token-abc123" not in text


# --------------------------------------------------------------------------- dedupe and the queue


def test_caller_dedupe_is_used(make_site: Callable[..., Site]) -> None:
    seen: dict[str, int] = {}

    def dedupe(key: str) -> bool:
        seen[key] = seen.get(key, 0) + 1
        return seen[key] == 1

    seen["recording.completed:already-archived"] = 1  # e.g. from the state store
    site = make_site(dedupe=dedupe)
    assert site.post(recording_event(uuid="already-archived")).json() == {"status": "duplicate"}
    assert site.post(recording_event(uuid="new-one")).json() == {"status": "queued"}
    assert site.receiver.join(TIMEOUT)
    assert [e["payload"]["object"]["uuid"] for e in site.handler.events] == ["new-one"]
    assert seen == {"recording.completed:already-archived": 2, "recording.completed:new-one": 1}


def test_failing_dedupe_answers_503_so_zoom_retries(make_site: Callable[..., Site]) -> None:
    down = [True]

    def dedupe(key: str) -> bool:
        if down[0]:
            raise ConnectionError("database is down")
        return True

    site = make_site(dedupe=dedupe)
    assert site.post(recording_event()).status_code == 503
    down[0] = False
    assert site.post(recording_event()).json() == {"status": "queued"}
    assert site.receiver.join(TIMEOUT)
    assert len(site.handler.events) == 1


def test_full_queue_answers_503_without_marking_the_event_seen(make_site: Callable[..., Site]) -> None:
    site = make_site(queue_size=1)
    site.handler.release.clear()
    assert site.post(recording_event(uuid="one")).json() == {"status": "queued"}
    r = site.post(recording_event(uuid="two"))
    assert r.status_code == 503 and r.headers["retry-after"] == "300"
    site.handler.release.set()
    assert site.receiver.join(TIMEOUT)
    assert site.post(recording_event(uuid="two")).json() == {"status": "queued"}  # Zoom's retry
    assert site.receiver.join(TIMEOUT)
    assert [e["payload"]["object"]["uuid"] for e in site.handler.events] == ["one", "two"]


def test_stop_runs_the_shutdown_and_stops_the_workers(site: Site) -> None:
    assert site.post(recording_event()).status_code == 200
    assert site.receiver.join(TIMEOUT)
    site.server.stop()
    assert not any(t.is_alive() for t in site.receiver._threads)
    with pytest.raises(requests.ConnectionError):
        requests.get(site.server.url + "/healthz", timeout=1)


# --------------------------------------------------------------------------- helpers


def test_verify_signature() -> None:
    body = b'{"event":"meeting.started"}'
    good = sign(body, "1700000000")
    assert verify_signature(SECRET, "1700000000", body, good)
    assert not verify_signature(SECRET, "1700000001", body, good)
    assert not verify_signature("other", "1700000000", body, good)
    assert not verify_signature(SECRET, "1700000000", body, good.upper())
    assert not verify_signature(SECRET, "1700000000", body, "v0=ü")
    assert not verify_signature(SECRET, "17000000ü0", body, good)


def test_empty_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        create_app("", lambda event: None)


# --------------------------------------------------------------------------- content type (issue 13, item 10)


@pytest.mark.parametrize("content_type", [
    "application/json", "application/json; charset=utf-8", "Application/JSON;charset=UTF-8",
    'application/json; charset="utf-8"',
])
def test_json_content_types_zoom_sends_are_accepted(site: Site, content_type: str) -> None:
    r = site.post(recording_event(), headers={"content-type": content_type})
    assert r.status_code == 200 and r.json() == {"status": "queued"}


@pytest.mark.parametrize("content_type", [
    None, "text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x",
    "application/jsonx", "text/json", "application/json; charset=latin-1", "application/json; foo=bar",
    "application/json, text/plain",
])
def test_a_signed_event_with_another_content_type_is_415(site: Site, content_type: str | None) -> None:
    body = json.dumps(recording_event()).encode()
    ts = now_ts()
    hdrs = {"x-zm-request-timestamp": ts, "x-zm-signature": sign(body, ts)}
    if content_type is not None:
        hdrs["content-type"] = content_type
    r = requests.post(site.url, data=body, headers=hdrs, timeout=TIMEOUT)
    assert r.status_code == 415 and r.json() == {"error": "Content-Type must be application/json"}
    assert site.health()["queued"] == 0 and site.handler.events == []
    # refused before the replay check: the same request with the right type still gets in
    hdrs["content-type"] = "application/json; charset=utf-8"
    assert requests.post(site.url, data=body, headers=hdrs, timeout=TIMEOUT).json() == {"status": "queued"}
