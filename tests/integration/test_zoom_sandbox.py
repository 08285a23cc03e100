"""ZoomClient against the Zoom emulator over real HTTP: auth, paging, limits, faults, downloads, data.

The client and the sandbox share one clock (the sandbox's), and the client
sleeps by advancing it, so waits cost no real time and token expiry or daily
resets are reached at will.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from oca_sync.errors import WriteOutcomeUnknown
from oca_sync.sandbox.zoom import ZoomSandbox
from oca_sync.sandbox.zoom_data import Person
from oca_sync.zoom import (
    ZoomAuthError,
    ZoomClient,
    ZoomDailyLimitReached,
    ZoomError,
    ZoomNotFound,
    ZoomServerError,
    local_start_time,
    meeting_path_id,
)

HOST = "host1@example.org"
START = datetime(2022, 1, 10, 8, 0, tzinfo=UTC)


class Sleeper:
    """The client's ``sleep``: records the waits and advances the sandbox clock instead."""

    def __init__(self, sandbox: ZoomSandbox) -> None:
        self.sandbox = sandbox
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
        self.sandbox.advance(seconds)


def frozen(**kw: Any) -> ZoomSandbox:
    """A sandbox whose clock moves only when told (set_time, advance, the client's sleeps)."""
    return ZoomSandbox(clock=lambda: 0.0, **kw)


def make(sandbox: ZoomSandbox, **kw: Any) -> tuple[ZoomClient, Sleeper]:
    sleeper = Sleeper(sandbox)
    client = ZoomClient(**sandbox.credentials(), clock=sandbox.timestamp, sleep=sleeper, timeout=10, **kw)
    return client, sleeper


@pytest.fixture()
def sandbox() -> Iterator[ZoomSandbox]:
    with frozen(client_secret="sandbox-secret-0123456789") as sb:
        sb.set_time(START)
        yield sb


@pytest.fixture()
def zoom(sandbox: ZoomSandbox) -> ZoomClient:
    return make(sandbox)[0]


def session_body(day: int, **extra: Any) -> dict[str, Any]:
    return {"topic": f"OCA training {day}", "type": 2, "start_time": f"2022-01-{day:02d}T15:00:00",
            "timezone": "Asia/Bishkek", "duration": 90, "settings": {"auto_recording": "cloud"}, **extra}


def token_calls(sandbox: ZoomSandbox) -> int:
    return sandbox.calls.count("POST /oauth/token")


# --------------------------------------------------------------------------- #
# OAuth
# --------------------------------------------------------------------------- #


def test_token_cached_renewed_before_expiry_and_on_401(sandbox: ZoomSandbox, zoom: ZoomClient) -> None:
    for _ in range(3):
        zoom.get_user(HOST)
    assert token_calls(sandbox) == 1
    sandbox.advance(3599 - 200)  # inside the client's margin: it renews before Zoom would refuse
    zoom.get_user(HOST)
    assert token_calls(sandbox) == 2
    assert sandbox.calls.count("GET /users/{userId}") == 4  # no call was refused
    # Zoom may invalidate a token early: the 401 (code 124) makes the client renew once.
    sandbox.expire_tokens()
    assert zoom.get_user(HOST)["email"] == HOST
    assert token_calls(sandbox) == 3
    assert sandbox.calls.count("GET /users/{userId}") == 6  # the refused one and its repeat


def test_bad_credentials(sandbox: ZoomSandbox) -> None:
    creds = {**sandbox.credentials(), "client_secret": "wrong-secret-value"}
    client = ZoomClient(**creds, sleep=lambda s: None)
    with pytest.raises(ZoomAuthError) as e:
        client.get_user(HOST)
    assert "invalid_client" in str(e.value) and "wrong-secret-value" not in str(e.value)
    creds = {**sandbox.credentials(), "account_id": "other"}
    with pytest.raises(ZoomAuthError, match="Invalid account_id"):
        ZoomClient(**creds, sleep=lambda s: None).get_user(HOST)


def test_oauth_errors_have_zooms_shape(sandbox: ZoomSandbox) -> None:
    r = requests.post(sandbox.oauth_url, params={"grant_type": "client_credentials"},
                      auth=(sandbox.client_id, sandbox.client_secret), timeout=10)
    assert (r.status_code, r.json()) == (400, {"reason": "unsupported grant type", "error": "unsupported_grant_type"})
    r = requests.post(sandbox.oauth_url, params={"grant_type": "account_credentials", "account_id": "sandbox"},
                      auth=(sandbox.client_id, "nope"), timeout=10)
    assert r.json() == {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}
    r = requests.post(sandbox.oauth_url, data={"grant_type": "account_credentials", "account_id": "sandbox"},
                      auth=(sandbox.client_id, sandbox.client_secret), timeout=10)
    body = r.json()
    assert r.status_code == 200 and body["token_type"] == "bearer" and body["expires_in"] == 3599
    assert "meeting:write:admin" in body["scope"].split()
    r = requests.get(sandbox.api_base + "/users/" + HOST, headers={"Authorization": "Bearer nope"}, timeout=10)
    assert (r.status_code, r.json()) == (401, {"code": 124, "message": "Invalid access token."})


def test_missing_scope(sandbox: ZoomSandbox) -> None:
    with frozen(scopes=("meeting:read:admin",)) as narrow:
        client, _ = make(narrow)
        client.list_meetings(HOST)
        with pytest.raises(ZoomAuthError, match="does not contain scopes"):
            client.past_participants_report(12345678901)


# --------------------------------------------------------------------------- #
# Meetings: time zones, ids, paging, validation
# --------------------------------------------------------------------------- #


def test_local_start_time_with_timezone_is_utc_in_answers(zoom: ZoomClient) -> None:
    made = zoom.create_meeting(HOST, session_body(17))
    assert made["start_time"] == "2022-01-17T09:00:00Z" and made["timezone"] == "Asia/Bishkek"
    gmt = zoom.create_meeting(HOST, {**session_body(17), "start_time": "2022-01-17T15:00:00Z"})
    assert gmt["start_time"] == "2022-01-17T15:00:00Z"  # a trailing Z is GMT, whatever the timezone
    got = zoom.get_meeting(made["id"])
    assert got["start_time"] == "2022-01-17T09:00:00Z" and got["settings"]["auto_recording"] == "cloud"
    moved = local_start_time(datetime(2022, 1, 18, 9, 30, tzinfo=UTC), "Asia/Bishkek")
    zoom.update_meeting(made["id"], {"start_time": moved})
    assert zoom.get_meeting(made["id"])["start_time"] == "2022-01-18T09:30:00Z"


def test_64_bit_meeting_ids_are_exact() -> None:
    with frozen(big_ids=True) as sb:
        sb.set_time(START)
        client, _ = make(sb)
        made = client.create_meeting(HOST, session_body(17))
        mid = made["id"]
        assert isinstance(mid, int) and mid > 2**53 and mid % 2 == 1
        assert int(float(mid)) != mid  # what a float-parsing client would get wrong
        assert client.get_meeting(mid)["id"] == mid
        assert [m["id"] for m in client.list_meetings(HOST)] == [mid]
        client.update_meeting(mid, {"topic": "renamed"})
        assert sb.meetings[mid].topic == "renamed"
        client.delete_meeting(mid)
        assert client.list_meetings(HOST) == []


def test_paging_through_every_meeting() -> None:
    with frozen(daily_limit=1000) as sb:
        sb.set_time(START)
        client, _ = make(sb)
        ids = {client.create_meeting(HOST, {"topic": f"m{i}", "type": 2, "start_time": "2022-02-01T10:00:00",
                                            "timezone": "Asia/Bishkek", "duration": 30})["id"] for i in range(305)}
        sb.calls.clear()
        listed = client.list_meetings(HOST)
        assert {m["id"] for m in listed} == ids and len(listed) == 305
        pages = [p for name, p in sb.calls if name == "GET /users/{userId}/meetings"]
        assert len(pages) == 2 and pages[0]["query"]["page_size"] == "300"
        assert "next_page_token" in pages[1]["query"]


def test_validation_errors_are_zooms_code_300(zoom: ZoomClient) -> None:
    with pytest.raises(ZoomError) as e:
        zoom.create_meeting(HOST, {**session_body(17), "settings": {"auto_recording": "yes"}, "occurrence_id": "1"})
    assert e.value.status == 400 and e.value.code == 300
    fields = {err["field"] for err in e.value.errors}
    assert fields == {"settings.auto_recording", "occurrence_id"}
    with pytest.raises(ZoomError, match="timezone"):
        zoom.create_meeting(HOST, {**session_body(17), "timezone": "Asia/Bishkekk"})
    with pytest.raises(ZoomNotFound) as nf:
        zoom.create_meeting("nobody@example.org", session_body(17))
    assert nf.value.code == 1001
    with pytest.raises(ZoomNotFound) as nf2:
        zoom.get_meeting(12345678901)
    assert nf2.value.code == 3001 and "Meeting does not exist: 12345678901." in str(nf2.value)


# --------------------------------------------------------------------------- #
# Rate limits
# --------------------------------------------------------------------------- #


def test_429_with_retry_after() -> None:
    with frozen(rate_per_second={"light": 2}) as sb:
        sb.set_time(START)
        client, sleeper = make(sb)
        for _ in range(5):
            client.get_user(HOST)
        assert sleeper.waits == [1.0, 1.0]  # the sandbox said Retry-After: 1 each time
        assert sb.calls.count("GET /users/{userId}") == 7


def test_429_without_retry_after_backs_off() -> None:
    with frozen(rate_per_second=1, retry_after_header=False) as sb:
        sb.set_time(START)
        client, sleeper = make(sb, backoff=0.25)
        client.get_user(HOST)
        client.get_user(HOST)
        client.list_meetings(HOST)  # another rate-limit label (medium): its own window
        assert sleeper.waits == [0.25, 0.5, 1.0]  # until the one-second window has passed


def test_daily_limit_is_reported_with_its_reset_time() -> None:
    with frozen(daily_limit=3) as sb:
        sb.set_time(START)
        client, sleeper = make(sb)
        first = client.create_meeting(HOST, session_body(17))
        client.create_meeting(HOST, session_body(18))
        client.update_meeting(first["id"], {"topic": "renamed"})  # updates count too
        with pytest.raises(ZoomDailyLimitReached) as e:
            client.create_meeting(HOST, session_body(19))
        assert e.value.resets_at == datetime(2022, 1, 11, tzinfo=UTC)
        assert sleeper.waits == [] and sb.calls.count("POST /users/{userId}/meetings") == 3
        assert sb.daily_count(HOST) == 3
        # Other hosts have their own 100; the limit resets at 00:00 UTC.
        client.create_meeting("host2@example.org", session_body(19))
        sb.set_time(datetime(2022, 1, 11, 0, 0, 1, tzinfo=UTC))
        client.create_meeting(HOST, session_body(19))


def test_daily_limit_without_headers_is_still_recognised() -> None:
    with frozen(daily_limit=1, daily_limit_headers=False) as sb:
        sb.set_time(START + timedelta(hours=3))
        client, _ = make(sb)
        client.create_meeting(HOST, session_body(17))
        with pytest.raises(ZoomDailyLimitReached) as e:
            client.create_meeting(HOST, session_body(18))
        assert e.value.resets_at == datetime(2022, 1, 11, tzinfo=UTC)
        assert "exceeded the daily rate limit (1)" in str(e.value)


# --------------------------------------------------------------------------- #
# Faults
# --------------------------------------------------------------------------- #


def test_5xx_storms_are_retried_then_surfaced(sandbox: ZoomSandbox) -> None:
    client, sleeper = make(sandbox)
    sandbox.faults.add("GET /users/{userId}", "status", count=2, status=503, body="Service Unavailable")
    assert client.get_user(HOST)["email"] == HOST
    assert sleeper.waits == [1.0, 2.0]
    sandbox.faults.add("GET /users/{userId}", "status", count=0, status=500)
    with pytest.raises(ZoomServerError) as e:
        client.get_user(HOST)
    assert e.value.status == 500
    sandbox.faults.clear()


def test_a_dropped_create_is_outcome_unknown_and_can_be_reobserved(sandbox: ZoomSandbox, zoom: ZoomClient) -> None:
    sandbox.faults.add("POST /users/{userId}/meetings", "drop_after")
    with pytest.raises(WriteOutcomeUnknown):
        zoom.create_meeting(HOST, session_body(17))
    # Not repeated by the client; the meeting was created and a re-read shows it.
    assert sandbox.calls.count("POST /users/{userId}/meetings") == 1
    assert [m["topic"] for m in zoom.list_meetings(HOST)] == ["OCA training 17"]
    sandbox.faults.add("POST /users/{userId}/meetings", "drop")
    with pytest.raises(WriteOutcomeUnknown):
        zoom.create_meeting(HOST, session_body(18))
    assert len(zoom.list_meetings(HOST)) == 1  # dropped before processing: nothing happened
    sandbox.faults.add("POST /users/{userId}/meetings", "status", status=502)
    with pytest.raises(WriteOutcomeUnknown):
        zoom.create_meeting(HOST, session_body(18))


def test_lost_answers_to_patch_and_delete_are_repeated(sandbox: ZoomSandbox, zoom: ZoomClient) -> None:
    mid = zoom.create_meeting(HOST, session_body(17))["id"]
    sandbox.faults.add("PATCH /meetings/{meetingId}", "drop_after")
    zoom.update_meeting(mid, {"topic": "new"})
    assert sandbox.meetings[mid].topic == "new"
    sandbox.faults.add("DELETE /meetings/{meetingId}", "drop_after")
    zoom.delete_meeting(mid)  # the repeat gets 404: counted as done
    assert sandbox.meetings[mid].deleted
    assert sandbox.calls.count("DELETE /meetings/{meetingId}") == 2


# --------------------------------------------------------------------------- #
# Past meetings: instances, recordings, reports
# --------------------------------------------------------------------------- #


@pytest.fixture()
def held(sandbox: ZoomSandbox, zoom: ZoomClient) -> list[dict[str, Any]]:
    """Three recorded sessions that have ended (their UUIDs: plain, "/…", "…//…")."""
    made = [zoom.create_meeting(HOST, session_body(day)) for day in (17, 18, 19)]
    sandbox.set_time(datetime(2022, 1, 25, tzinfo=UTC))
    return made


def test_double_encoded_uuids(sandbox: ZoomSandbox, zoom: ZoomClient, held: list[dict[str, Any]]) -> None:
    uuids = [zoom.list_past_instances(m["id"])[0]["uuid"] for m in held]
    assert uuids[1].startswith("/") and "//" in uuids[2]
    for uuid in uuids:
        rec = zoom.get_recordings(uuid)
        assert rec["uuid"] == uuid
        assert zoom.past_participants_report(uuid)
    # Encoded only once, such a UUID does not reach Zoom intact.
    token = requests.post(sandbox.oauth_url, params={"grant_type": "account_credentials", "account_id": "sandbox"},
                          auth=(sandbox.client_id, sandbox.client_secret), timeout=10).json()["access_token"]
    once = requests.utils.quote(uuids[1], safe="")
    r = requests.get(f"{sandbox.api_base}/meetings/{once}/recordings",
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 404 and r.json()["code"] == 3301
    twice = meeting_path_id(uuids[1])
    r = requests.get(f"{sandbox.api_base}/meetings/{twice}/recordings",
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 200


def test_recordings_have_the_four_files(zoom: ZoomClient, held: list[dict[str, Any]]) -> None:
    rec = zoom.get_recordings(held[0]["id"])  # an id: the latest instance
    files = {f["file_type"]: f for f in rec["recording_files"]}
    assert set(files) == {"MP4", "M4A", "TRANSCRIPT", "CHAT"}
    assert files["MP4"]["recording_type"] == "shared_screen_with_speaker_view"
    assert files["M4A"]["recording_type"] == "audio_only"
    assert files["TRANSCRIPT"]["file_extension"] == "VTT" and files["CHAT"]["file_extension"] == "TXT"
    for f in files.values():
        assert f["status"] == "completed" and f["file_size"] > 0 and f["download_url"]
        assert f["recording_start"] < f["recording_end"]
    assert rec["total_size"] == sum(f["file_size"] for f in files.values())
    listed = zoom.list_user_recordings(HOST, "2022-01-01", "2022-03-31")
    assert {m["id"] for m in listed} == {m["id"] for m in held}


def test_unrecorded_and_future_meetings_have_no_recordings(sandbox: ZoomSandbox, zoom: ZoomClient) -> None:
    plain = zoom.create_meeting(HOST, {**session_body(17), "settings": {}})
    future = zoom.create_meeting(HOST, session_body(28))
    sandbox.set_time(datetime(2022, 1, 25, tzinfo=UTC))
    assert zoom.list_past_instances(plain["id"])
    with pytest.raises(ZoomNotFound) as e:
        zoom.get_recordings(plain["id"])
    assert e.value.code == 3301
    assert zoom.list_past_instances(future["id"]) == []


def test_user_recordings_refuse_more_than_a_month(sandbox: ZoomSandbox, zoom: ZoomClient) -> None:
    zoom.get_user(HOST)
    token = sandbox.issued_tokens()[0]
    r = requests.get(f"{sandbox.api_base}/users/{HOST}/recordings", params={"from": "2022-01-01", "to": "2022-03-01"},
                     headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert r.status_code == 400 and r.json()["code"] == 300
    zoom.list_user_recordings(HOST, "2022-01-01", "2022-03-01")
    assert sandbox.calls.count("GET /users/{userId}/recordings") == 1 + 3


def test_participant_reports_have_rejoins_and_are_deterministic(zoom: ZoomClient,
                                                                held: list[dict[str, Any]]) -> None:
    rows = zoom.past_participants_report(held[0]["id"])
    assert {"name", "user_email", "join_time", "leave_time", "duration"} <= set(rows[0])
    names = [r["name"] for r in rows]
    assert any(names.count(n) > 1 for n in names), "someone should leave and rejoin"
    for r in rows:
        join = datetime.fromisoformat(r["join_time"])
        leave = datetime.fromisoformat(r["leave_time"])
        assert r["duration"] == int((leave - join).total_seconds()) >= 0
    with frozen() as other:  # the same seed gives the same data
        other.set_time(START)
        c2, _ = make(other)
        again = [c2.create_meeting(HOST, session_body(day)) for day in (17, 18, 19)]
        other.set_time(datetime(2022, 1, 25, tzinfo=UTC))
        assert [m["id"] for m in again] == [m["id"] for m in held]
        assert c2.past_participants_report(again[0]["id"]) == rows


def test_set_participants(sandbox: ZoomSandbox, zoom: ZoomClient) -> None:
    mid = zoom.create_meeting(HOST, session_body(17))["id"]
    sandbox.set_participants(mid, [
        Person("Trainer", HOST, ((0, 90),)),
        {"name": "Aibek", "email": "aibek@cso.kg", "segments": [(2, 30), (35, 88)]},
        ("Guest phone", ""),
    ])
    sandbox.set_time(datetime(2022, 1, 25, tzinfo=UTC))
    rows = zoom.past_participants_report(mid)
    aibek = [r for r in rows if r["user_email"] == "aibek@cso.kg"]
    assert len(aibek) == 2 and aibek[0]["duration"] == 28 * 60
    assert {r["name"] for r in rows} == {"Trainer", "Aibek", "Guest phone"}


def test_old_reports_are_refused(sandbox: ZoomSandbox, zoom: ZoomClient, held: list[dict[str, Any]]) -> None:
    sandbox.set_time(datetime(2023, 2, 1, tzinfo=UTC))
    with pytest.raises(ZoomError) as e:
        zoom.past_participants_report(held[0]["id"])
    assert e.value.code == 12702


def test_trash_a_recording_file(sandbox: ZoomSandbox, zoom: ZoomClient, held: list[dict[str, Any]]) -> None:
    uuid = zoom.list_past_instances(held[1]["id"])[0]["uuid"]  # starts with "/"
    rec = zoom.get_recordings(uuid)
    chat = next(f for f in rec["recording_files"] if f["file_type"] == "CHAT")
    zoom.trash_recording_file(uuid, chat["id"])
    assert sandbox.calls[-1][1]["query"] == {"action": "trash"}
    left = zoom.get_recordings(uuid)["recording_files"]
    assert chat["id"] not in {f["id"] for f in left} and len(left) == 3
    with pytest.raises(ZoomNotFound):
        zoom.stream_download(chat["download_url"])
    with pytest.raises(ZoomNotFound):
        zoom.trash_recording_file(uuid, chat["id"])


# --------------------------------------------------------------------------- #
# Downloads
# --------------------------------------------------------------------------- #


def md5(data: bytes) -> str:
    return hashlib.md5(data).hexdigest()


def test_download_whole_file_and_from_an_offset(sandbox: ZoomSandbox, zoom: ZoomClient,
                                                held: list[dict[str, Any]]) -> None:
    sandbox.set_recording_sizes(held[0]["id"], {"MP4_bytes": 300_000})
    rec = zoom.get_recordings(held[0]["id"])
    mp4 = next(f for f in rec["recording_files"] if f["file_type"] == "MP4")
    assert mp4["file_size"] == 300_000
    expected = sandbox.files[mp4["id"]].content()
    with zoom.stream_download(mp4["download_url"], chunk_size=65536) as d:
        assert d.size == 300_000 and d.headers["Content-Type"] == "video/mp4"
        data = b"".join(d)
    assert md5(data) == md5(expected) and data[4:8] == b"ftyp"
    with zoom.stream_download(mp4["download_url"], start=123_456) as d:
        assert d.status == 206 and d.size == 300_000
        assert b"".join(d) == expected[123_456:]


def test_download_resumes_after_a_cut_and_renews_an_expired_token(sandbox: ZoomSandbox, zoom: ZoomClient,
                                                                  held: list[dict[str, Any]]) -> None:
    sandbox.set_recording_sizes(held[2]["id"], {"M4A_bytes": 500_000})
    rec = zoom.get_recordings(held[2]["id"])
    m4a = next(f for f in rec["recording_files"] if f["file_type"] == "M4A")
    expected = sandbox.files[m4a["id"]].content()
    tokens_before = token_calls(sandbox)
    sandbox.cut_downloads(after_bytes=200_000)
    received = bytearray()
    with zoom.stream_download(m4a["download_url"], chunk_size=32768) as d:
        for i, chunk in enumerate(d):
            received += chunk
            if i == 0:
                sandbox.expire_tokens()  # the token dies while the first transfer runs
        assert d.resumes == 1
    assert bytes(received) == expected
    assert token_calls(sandbox) == tokens_before + 1
    ranges = [p["range"] for name, p in sandbox.calls if name == "GET /rec/download/{fileId}"]
    # The first request, the resume refused for the expired token, and its repeat.
    assert ranges[0] is None and ranges[1] == ranges[2] and ranges[2].startswith("bytes=")
    assert 100_000 < int(ranges[2][6:-1]) <= 200_000


def test_download_needs_a_token(sandbox: ZoomSandbox, zoom: ZoomClient, held: list[dict[str, Any]]) -> None:
    rec = zoom.get_recordings(held[0]["id"])
    url = rec["recording_files"][0]["download_url"]
    r = requests.get(url, timeout=10, allow_redirects=False)
    assert r.status_code == 401 and r.json()["code"] == 124
    r = requests.get(url, timeout=10, headers={"Range": "bytes=0-9"},
                     params={"access_token": sandbox.issued_tokens()[-1]})
    assert r.status_code == 206 and len(r.content) == 10


# --------------------------------------------------------------------------- #
# Secrets
# --------------------------------------------------------------------------- #


def test_secrets_absent_from_logs_and_errors(sandbox: ZoomSandbox, held: list[dict[str, Any]],
                                             caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    client, _ = make(sandbox)
    texts = [repr(client)]
    sandbox.faults.add("GET /meetings/{meetingId}", "status", count=1, status=503)
    client.get_meeting(held[0]["id"])
    sandbox.expire_tokens()
    client.list_meetings(HOST)
    for call in (lambda: client.get_meeting(1), lambda: client.create_meeting(HOST, {"type": 9})):
        with pytest.raises(ZoomError) as e:
            call()
        texts.append(str(e.value))
    sandbox.cut_downloads(1000)
    url = client.get_recordings(held[0]["id"])["recording_files"][0]["download_url"]
    with client.stream_download(url) as d:
        for _ in d:
            pass
    texts.append(caplog.text)
    texts.append(repr(sandbox.calls.snapshot()))
    secrets = [sandbox.client_secret, *sandbox.issued_tokens()]
    assert len(secrets) >= 3
    for text in texts:
        for secret in secrets:
            assert secret not in text


def test_download_cut_often_resumes_from_the_last_byte_received(sandbox: ZoomSandbox, held: list[dict[str, Any]],
                                                                  caplog: pytest.LogCaptureFixture) -> None:
    # A link that breaks every 300,000 bytes, far more often than the 1 MiB pieces the client asks for.
    zoom, sleeper = make(sandbox)
    sandbox.set_recording_sizes(held[0]["id"], {"MP4_bytes": 2_000_000})
    mp4 = next(f for f in zoom.get_recordings(held[0]["id"])["recording_files"] if f["file_type"] == "MP4")
    expected = sandbox.files[mp4["id"]].content()
    sandbox.cut_downloads(after_bytes=300_000, count=100)
    caplog.set_level(logging.INFO, logger="oca_sync")
    with zoom.stream_download(mp4["download_url"]) as d:
        data = b"".join(d)
        assert d.resumes == 6
    assert md5(data) == md5(expected)
    ranges = [p["range"] for name, p in sandbox.calls if name == "GET /rec/download/{fileId}"]
    assert ranges == [None] + [f"bytes={n}-" for n in range(300_000, 2_000_000, 300_000)]
    assert sleeper.waits == []  # bytes arrived before every break: reconnect at once
    assert "byte 0" not in caplog.text and "resuming from byte 1800000" in caplog.text


def test_download_gives_up_after_breaks_without_progress_counting_honestly(
        sandbox: ZoomSandbox, held: list[dict[str, Any]], caplog: pytest.LogCaptureFixture) -> None:
    import re

    zoom, sleeper = make(sandbox)
    mp4 = next(f for f in zoom.get_recordings(held[0]["id"])["recording_files"] if f["file_type"] == "MP4")
    sandbox.cut_downloads(after_bytes=100_000, count=1)
    sandbox.cut_downloads(after_bytes=0, count=100)  # then nothing comes through any more
    caplog.set_level(logging.INFO, logger="oca_sync")
    d = zoom.stream_download(mp4["download_url"])
    with pytest.raises(ZoomError) as e, d:
        for _ in d:
            pass
    assert d.position == 100_000
    assert "5 times in a row with no byte received" in str(e.value) and "byte 100000" in str(e.value)
    attempts = [(int(a), int(b)) for a, b in re.findall(r"attempt (\d+) of (\d+)", caplog.text)]
    assert attempts and all(a <= b for a, b in attempts), attempts
    assert len(sleeper.waits) == 4


def test_download_breaks_are_bounded_overall(sandbox: ZoomSandbox, held: list[dict[str, Any]]) -> None:
    zoom, _ = make(sandbox)
    sandbox.set_recording_sizes(held[0]["id"], {"MP4_bytes": 1_000_000})
    mp4 = next(f for f in zoom.get_recordings(held[0]["id"])["recording_files"] if f["file_type"] == "MP4")
    sandbox.cut_downloads(after_bytes=100_000, count=100)
    with pytest.raises(ZoomError) as e, zoom.stream_download(mp4["download_url"], max_resumes=3) as d:
        for _ in d:
            pass
    assert "at most 3 breaks" in str(e.value)


def test_emulator_download_host_honours_range_like_zoom(sandbox: ZoomSandbox, zoom: ZoomClient,
                                                       held: list[dict[str, Any]]) -> None:
    mp4 = next(f for f in zoom.get_recordings(held[0]["id"])["recording_files"] if f["file_type"] == "MP4")
    size = mp4["file_size"]
    r = requests.get(mp4["download_url"], timeout=10, headers={"Range": "bytes=1000-"},
                     params={"access_token": sandbox.issued_tokens()[-1]})
    assert r.status_code == 206 and r.headers["Content-Range"] == f"bytes 1000-{size - 1}/{size}"
    assert r.headers["Accept-Ranges"] == "bytes" and len(r.content) == size - 1000


# --------------------------------------------------------------------------- #
# Broken answers (issue 13, item 5)
# --------------------------------------------------------------------------- #

PROXY_PAGE = "<html><body><h1>502 Bad Gateway</h1></body></html>"


@pytest.mark.parametrize("fault", [
    {"kind": "truncate"},
    {"kind": "status", "status": 200, "body": PROXY_PAGE, "content_type": "text/html"},
], ids=["truncated", "html"])
def test_reads_are_retried_after_a_broken_answer(sandbox: ZoomSandbox, held: list[dict[str, Any]],
                                                 fault: dict[str, Any]) -> None:
    zoom, _ = make(sandbox)
    sandbox.faults.add("GET /meetings/{meetingId}", count=2, **fault)
    assert zoom.get_meeting(held[0]["id"])["id"] == held[0]["id"]
    assert zoom.stats.retries == 2


@pytest.mark.parametrize("fault", [
    {"kind": "truncate"},
    {"kind": "status", "status": 201, "body": PROXY_PAGE, "content_type": "text/html"},
], ids=["truncated", "html"])
def test_a_broken_answer_to_a_create_is_outcome_unknown(sandbox: ZoomSandbox, zoom: ZoomClient,
                                                        fault: dict[str, Any]) -> None:
    sandbox.faults.add("POST /users/{userId}/meetings", count=1, **fault)
    with pytest.raises(WriteOutcomeUnknown):
        zoom.create_meeting(HOST, session_body(20))


def test_a_garbled_token_answer_is_retried(sandbox: ZoomSandbox) -> None:
    zoom, _ = make(sandbox)
    sandbox.faults.add("POST /oauth/token", "status", count=1, status=200, body=PROXY_PAGE, content_type="text/html")
    assert zoom.get_user(HOST)["email"] == HOST
    assert token_calls(sandbox) == 1 and zoom.stats.token_requests == 2
