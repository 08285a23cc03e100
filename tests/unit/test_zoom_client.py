"""ZoomClient without a server: pure helpers, and the retry/auth/error logic over a scripted adapter.

The behaviour against a real HTTP server (the emulator) is in
tests/integration/test_zoom_sandbox.py; here every answer is scripted so that
each rule (which status is retried, how long it waits, what is raised) is
pinned exactly.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pytest
import requests
from requests.adapters import BaseAdapter

from oca_sync.errors import WriteOutcomeUnknown
from oca_sync.zoom import (
    ZoomAuthError,
    ZoomClient,
    ZoomDailyLimitReached,
    ZoomError,
    ZoomNotFound,
    ZoomRateLimited,
    ZoomServerError,
    ZoomTransportError,
    local_start_time,
    meeting_path_id,
    month_windows,
    parse_retry_after,
)

SECRET = "s3cr3t-Client-Secret-value"
API = "https://api.test/v2"
OAUTH = "https://zoom.test/oauth/token"
T0 = datetime(2022, 1, 17, 10, 0, tzinfo=UTC).timestamp()

Reply = tuple[int, Any, dict[str, str]] | BaseException | Callable[[requests.PreparedRequest], Any]


class Script(BaseAdapter):
    """Answers from queues: one for the OAuth server, one for the API."""

    def __init__(self) -> None:
        super().__init__()
        self.api: list[Reply] = []
        self.oauth: list[Reply] = []
        self.sent: list[requests.PreparedRequest] = []
        self.tokens_issued = 0

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        self.sent.append(request)
        assert request.url is not None
        if request.url.startswith(OAUTH):
            if self.oauth:
                item = self.oauth.pop(0)
            else:
                self.tokens_issued += 1
                item = (200, {"access_token": f"tok-{self.tokens_issued}-abcdef", "token_type": "bearer",
                              "expires_in": 3599, "scope": "meeting:read:admin"}, {})
        else:
            assert self.api, f"unexpected request {request.method} {request.url}"
            item = self.api.pop(0)
        if callable(item) and not isinstance(item, BaseException):
            item = item(request)
        if isinstance(item, BaseException):
            raise item
        status, body, headers = item
        resp = requests.Response()
        resp.status_code = status
        resp._content = body if isinstance(body, bytes) else (b"" if body is None else json.dumps(body).encode())
        resp.headers.update(headers)
        resp.request = request
        resp.url = request.url
        resp.reason = "scripted"
        return resp

    def close(self) -> None:
        pass

    def api_requests(self) -> list[requests.PreparedRequest]:
        return [r for r in self.sent if r.url and r.url.startswith(API)]

    def token_requests(self) -> list[requests.PreparedRequest]:
        return [r for r in self.sent if r.url and r.url.startswith(OAUTH)]


class Clock:
    def __init__(self) -> None:
        self.now = T0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


@pytest.fixture()
def script() -> Script:
    return Script()


@pytest.fixture()
def clock() -> Clock:
    return Clock()


@pytest.fixture()
def zoom(script: Script, clock: Clock) -> ZoomClient:
    session = requests.Session()
    session.mount("https://", script)
    return ZoomClient("acct-1", "client-1", SECRET, api_base=API, oauth_url=OAUTH, session=session,
                      sleep=clock.sleep, clock=clock)


def ok(body: Any = None, status: int = 200, **headers: str) -> tuple[int, Any, dict[str, str]]:
    return (status, body if body is not None else {}, headers)


def zoom_error(status: int, code: int, message: str, **headers: str) -> tuple[int, Any, dict[str, str]]:
    return (status, {"code": code, "message": message}, headers)


# --------------------------------------------------------------------------- #
# Pure helpers
# --------------------------------------------------------------------------- #


def test_meeting_ids_are_formatted_exactly() -> None:
    assert meeting_path_id(85746065123) == "85746065123"
    assert meeting_path_id(2**63 - 1) == "9223372036854775807"
    assert meeting_path_id(2**53 + 1) == "9007199254740993"  # a float would give ...992
    assert meeting_path_id("85746065123") == "85746065123"
    with pytest.raises(TypeError):
        meeting_path_id(8.5746065123e10)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        meeting_path_id(True)
    with pytest.raises(ValueError):
        meeting_path_id(0)


def test_uuids_are_encoded_once_or_twice() -> None:
    assert meeting_path_id("aDYlohsHRtCd4ii1uC2+hA==") == "aDYlohsHRtCd4ii1uC2%2BhA%3D%3D"
    # Zoom's own examples: a UUID starting with "/" or containing "//" is encoded twice.
    assert meeting_path_id("/ajXp112QmuoKj4854875==") == "%252FajXp112QmuoKj4854875%253D%253D"
    assert meeting_path_id("jVJd//CcCatSswXW0q4Kyw==") == "jVJd%252F%252FCcCatSswXW0q4Kyw%253D%253D"
    assert meeting_path_id("ab/cd+ef==") == "ab%2Fcd%2Bef%3D%3D"


def test_retry_after_forms() -> None:
    now = datetime(2020, 5, 30, 23, 59, 0, tzinfo=UTC).timestamp()
    assert parse_retry_after("3", now) == 3.0
    assert parse_retry_after(" 0 ", now) == 0.0
    assert parse_retry_after("Sat, 30 May 2020 23:59:30 GMT", now) == 30.0
    assert parse_retry_after("2020-05-31T00:00:00Z", now) == 60.0  # Zoom's documented example
    assert parse_retry_after("2020-05-30T00:00:00Z", now) == 0.0  # in the past: no wait
    assert parse_retry_after("soon", now) is None
    assert parse_retry_after(None, now) is None


def test_month_windows_stay_within_a_month() -> None:
    assert month_windows(date(2022, 1, 17), date(2022, 4, 2)) == [
        (date(2022, 1, 17), date(2022, 2, 16)),
        (date(2022, 2, 17), date(2022, 3, 16)),
        (date(2022, 3, 17), date(2022, 4, 2)),
    ]
    assert month_windows(date(2022, 1, 31), date(2022, 3, 1)) == [
        (date(2022, 1, 31), date(2022, 2, 27)),
        (date(2022, 2, 28), date(2022, 3, 1)),
    ]
    assert month_windows(date(2022, 2, 1), date(2022, 2, 1)) == [(date(2022, 2, 1), date(2022, 2, 1))]
    with pytest.raises(ValueError):
        month_windows(date(2022, 2, 2), date(2022, 2, 1))


def test_local_start_time_is_zoom_local_form() -> None:
    assert local_start_time(datetime(2022, 1, 17, 9, 0, tzinfo=UTC), "Asia/Bishkek") == "2022-01-17T15:00:00"
    assert local_start_time(datetime(2022, 1, 17, 15, 0, 30, 123), "Asia/Bishkek") == "2022-01-17T15:00:30"


# --------------------------------------------------------------------------- #
# The token
# --------------------------------------------------------------------------- #


def test_token_is_fetched_once_with_basic_auth_and_cached(zoom: ZoomClient, script: Script) -> None:
    script.api += [ok({"id": "u1"}), ok({"id": "u1"})]
    zoom.get_user("host@example.org")
    zoom.get_user("host@example.org")
    (token_req,) = script.token_requests()
    assert token_req.method == "POST"
    assert "grant_type=account_credentials" in str(token_req.url) and "account_id=acct-1" in str(token_req.url)
    assert str(token_req.headers["Authorization"]).startswith("Basic ")
    assert all(r.headers["Authorization"] == "Bearer tok-1-abcdef" for r in script.api_requests())
    assert script.api_requests()[0].url == API + "/users/host@example.org"


def test_token_is_renewed_before_it_expires(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    script.api += [ok(), ok(), ok()]
    zoom.get_user("u")
    clock.now += 3599 - zoom.token_margin - 1  # still inside the margin: reused
    zoom.get_user("u")
    assert len(script.token_requests()) == 1
    clock.now += 2  # now within token_margin of expiry: renewed before the call, no 401 needed
    zoom.get_user("u")
    assert len(script.token_requests()) == 2
    assert script.api_requests()[-1].headers["Authorization"] == "Bearer tok-2-abcdef"


def test_401_renews_the_token_once_then_gives_up(zoom: ZoomClient, script: Script) -> None:
    script.api += [zoom_error(401, 124, "Access token is expired."), ok({"id": "u"})]
    assert zoom.get_user("u") == {"id": "u"}
    assert len(script.token_requests()) == 2
    script.api += [zoom_error(401, 124, "Invalid access token."), zoom_error(401, 124, "Invalid access token.")]
    with pytest.raises(ZoomAuthError) as e:
        zoom.get_user("u")
    assert e.value.status == 401 and e.value.code == 124
    assert len(script.token_requests()) == 3


def test_refused_credentials_are_an_auth_error_without_the_secret(zoom: ZoomClient, script: Script) -> None:
    script.oauth.append((400, {"reason": "Invalid client_id or client_secret", "error": "invalid_client"}, {}))
    with pytest.raises(ZoomAuthError) as e:
        zoom.get_user("u")
    text = str(e.value)
    assert "Invalid client_id or client_secret" in text and "OCA_ZOOM_CLIENT_SECRET" in text
    assert SECRET not in text
    assert script.api_requests() == []


def test_token_server_outage_is_retried(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    script.oauth += [(503, b"busy", {}), requests.exceptions.ConnectionError("reset by peer")]
    script.api.append(ok({"id": "u"}))
    assert zoom.get_user("u") == {"id": "u"}
    assert clock.sleeps == [1.0, 2.0]


def test_missing_scope_is_an_auth_error_not_a_retry(zoom: ZoomClient, script: Script) -> None:
    script.api.append(zoom_error(400, 4700, "Invalid access token, does not contain scopes:[report:read:admin]."))
    with pytest.raises(ZoomAuthError, match="report:read:admin"):
        zoom.past_participants_report(85746065123)
    assert len(script.token_requests()) == 1 and len(script.api_requests()) == 1


# --------------------------------------------------------------------------- #
# Rate limits
# --------------------------------------------------------------------------- #

QPS = "You have reached the maximum per-second rate limit for this API. Try again later."


def test_429_waits_what_retry_after_says(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    script.api += [zoom_error(429, 429, QPS, **{"Retry-After": "2", "X-RateLimit-Type": "QPS"}), ok({"id": 1})]
    assert zoom.get_meeting(1) == {"id": 1}
    assert clock.sleeps == [2.0]


def test_429_with_an_http_date(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    at = datetime.fromtimestamp(T0 + 5, UTC).strftime("%a, %d %b %Y %H:%M:%S GMT")
    script.api += [zoom_error(429, 429, QPS, **{"Retry-After": at}), ok()]
    zoom.get_meeting(1)
    assert clock.sleeps == [5.0]


def test_429_without_retry_after_backs_off_exponentially(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    script.api += [zoom_error(429, 429, QPS)] * 3 + [ok()]
    zoom.create_meeting("u", {"topic": "x"})  # refused requests are safe to repeat, even a POST
    assert clock.sleeps == [1.0, 2.0, 4.0]
    assert len(script.api_requests()) == 4


def test_backoff_is_capped_and_429_storm_surfaces(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    zoom.max_backoff = 3.0
    script.api += [zoom_error(429, 429, QPS)] * (zoom.rate_limit_attempts + 1)
    with pytest.raises(ZoomRateLimited) as e:
        zoom.get_meeting(1)
    assert max(clock.sleeps) == 3.0 and len(clock.sleeps) == zoom.rate_limit_attempts
    assert e.value.status == 429 and e.value.retry_after is None


def test_a_long_retry_after_is_not_slept(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    script.api.append(zoom_error(429, 429, QPS, **{"Retry-After": "3600"}))
    with pytest.raises(ZoomRateLimited) as e:
        zoom.get_meeting(1)
    assert e.value.retry_after == 3600.0 and clock.sleeps == []


DAILY = ("You have exceeded the daily rate limit (100) of Meeting Create/Update API requests permitted for "
         "this particular user. You may resume these requests at GMT 00:00:00.")


def test_daily_limit_is_its_own_error_with_reset_time(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    script.api.append(zoom_error(429, 429, DAILY, **{
        "X-RateLimit-Type": "Daily-limit", "X-RateLimit-Limit": "100", "X-RateLimit-Remaining": "0",
        "Retry-After": "2022-01-18T00:00:00Z"}))
    with pytest.raises(ZoomDailyLimitReached) as e:
        zoom.create_meeting("host@example.org", {"topic": "x"})
    assert e.value.resets_at == datetime(2022, 1, 18, tzinfo=UTC)
    assert "2022-01-18 00:00 UTC" in str(e.value)
    assert clock.sleeps == [] and len(script.api_requests()) == 1


def test_daily_limit_recognised_from_the_message_alone(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    # Zoom has been seen answering the daily limit without X-RateLimit-Type or Retry-After.
    script.api.append(zoom_error(429, 429, DAILY, **{"X-RateLimit-Limit": "6000"}))
    with pytest.raises(ZoomDailyLimitReached) as e:
        zoom.update_meeting(85746065123, {"topic": "x"})
    assert e.value.resets_at == datetime(2022, 1, 18, tzinfo=UTC)  # next 00:00 UTC
    script.api.append(zoom_error(429, 429,
                                 "You have reached the maximum limit for creating and updating meetings for this "
                                 "user today"))
    with pytest.raises(ZoomDailyLimitReached):
        zoom.create_meeting("u", {})
    assert clock.sleeps == []


# --------------------------------------------------------------------------- #
# Server errors and lost answers
# --------------------------------------------------------------------------- #


def test_reads_retry_5xx_then_succeed(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    script.api += [(503, b"<html>busy</html>", {}), (502, b"", {}), ok({"meetings": []})]
    assert zoom.list_past_instances(85746065123) == []
    assert clock.sleeps == [1.0, 2.0]


def test_a_5xx_storm_on_a_read_surfaces(zoom: ZoomClient, script: Script, clock: Clock) -> None:
    script.api += [zoom_error(500, 500, "Internal error")] * zoom.max_attempts
    with pytest.raises(ZoomServerError) as e:
        zoom.get_meeting(1)
    assert e.value.status == 500 and len(script.api_requests()) == zoom.max_attempts
    assert clock.sleeps == [1.0, 2.0, 4.0, 8.0]


def test_a_create_is_not_repeated_after_a_5xx(zoom: ZoomClient, script: Script) -> None:
    script.api.append((500, b"", {}))
    with pytest.raises(WriteOutcomeUnknown):
        zoom.create_meeting("u", {"topic": "x"})
    assert len(script.api_requests()) == 1


@pytest.mark.parametrize("exc", [
    requests.exceptions.ConnectionError("('Connection aborted.', RemoteDisconnected('closed without response'))"),
    requests.exceptions.ReadTimeout("read timed out"),
])
def test_a_create_whose_answer_is_lost_is_outcome_unknown(zoom: ZoomClient, script: Script,
                                                          exc: BaseException) -> None:
    script.api.append(exc)
    with pytest.raises(WriteOutcomeUnknown) as e:
        zoom.create_meeting("u", {"topic": "x"})
    assert e.value.function == "POST /users/{userId}/meetings"
    assert len(script.api_requests()) == 1


def test_a_create_that_never_left_is_retried(zoom: ZoomClient, script: Script) -> None:
    script.api += [requests.exceptions.ConnectionError("NewConnectionError: [Errno 111] Connection refused"),
                   ok({"id": 5}, 201)]
    assert zoom.create_meeting("u", {"topic": "x"}) == {"id": 5}


def test_patch_and_delete_are_repeated_after_a_lost_answer(zoom: ZoomClient, script: Script) -> None:
    script.api += [requests.exceptions.ReadTimeout("t"), (204, None, {})]
    assert zoom.update_meeting(1, {"topic": "y"}) is None
    # The first DELETE went through but its answer was lost: the repeat finds nothing.
    script.api += [requests.exceptions.ConnectionError("reset"), zoom_error(404, 3001, "Meeting does not exist: 1.")]
    assert zoom.delete_meeting(1) is None
    script.api.append(zoom_error(404, 3001, "Meeting does not exist: 1."))
    with pytest.raises(ZoomNotFound):
        zoom.delete_meeting(1)


def test_zoom_error_bodies_become_typed_errors(zoom: ZoomClient, script: Script) -> None:
    script.api.append(zoom_error(404, 3001, "Meeting does not exist: 85746065123."))
    with pytest.raises(ZoomNotFound) as nf:
        zoom.get_meeting(85746065123)
    assert (nf.value.status, nf.value.code, nf.value.zoom_message) == (404, 3001, "Meeting does not exist: 85746065123.")
    assert nf.value.operation == "GET /meetings/{meetingId}"
    script.api.append((400, {"code": 300, "message": "Validation Failed.",
                             "errors": [{"field": "settings.auto_recording", "message": "Invalid field."}]}, {}))
    with pytest.raises(ZoomError) as bad:
        zoom.create_meeting("u", {"settings": {"auto_recording": "yes"}})
    assert type(bad.value) is ZoomError and bad.value.code == 300
    assert "settings.auto_recording: Invalid field." in str(bad.value)
    assert bad.value.errors == [{"field": "settings.auto_recording", "message": "Invalid field."}]


def test_an_answer_that_is_not_json_is_retried_then_a_transport_error(zoom: ZoomClient, script: Script) -> None:
    script.api += [(200, b"<html>login</html>", {"Content-Type": "text/html"})] * zoom.max_attempts
    with pytest.raises(ZoomTransportError, match="not JSON .* after 5 attempts"):
        zoom.get_meeting(1)
    assert not script.api


def test_an_answer_that_is_not_json_once_is_retried(zoom: ZoomClient, script: Script) -> None:
    script.api += [(200, b'{"id": 1, "top', {"Content-Type": "application/json"}), (200, {"id": 1}, {})]
    assert zoom.get_meeting(1) == {"id": 1}


# --------------------------------------------------------------------------- #
# Paging, ids, secrets
# --------------------------------------------------------------------------- #


def test_paging_follows_next_page_token(zoom: ZoomClient, script: Script) -> None:
    script.api += [
        ok({"next_page_token": "p2", "meetings": [{"id": 1}, {"id": 2}]}),
        ok({"next_page_token": "p3", "meetings": [{"id": 3}]}),
        ok({"next_page_token": "", "meetings": [{"id": 4}]}),
    ]
    assert [m["id"] for m in zoom.list_meetings("host@example.org")] == [1, 2, 3, 4]
    urls = [str(r.url) for r in script.api_requests()]
    assert all("page_size=300" in u and "type=scheduled" in u for u in urls)
    assert "next_page_token" not in urls[0] and "next_page_token=p2" in urls[1] and "next_page_token=p3" in urls[2]


def test_a_repeated_page_token_stops_the_loop(zoom: ZoomClient, script: Script) -> None:
    script.api += [ok({"next_page_token": "same", "participants": []})] * 2
    with pytest.raises(ZoomTransportError, match="repeated"):
        zoom.past_participants_report("abc==")


def test_64_bit_ids_stay_exact(zoom: ZoomClient, script: Script) -> None:
    big = 2**62 + 12345  # far above 2**53: a float would round it
    script.api.append((201, f'{{"id": {big}, "uuid": "x"}}'.encode(), {}))
    made = zoom.create_meeting("u", {"topic": "t", "tracking_fields": [{"field": "ref", "value": str(big)}]})
    assert made["id"] == big and isinstance(made["id"], int)
    script.api.append(ok({"id": big}))
    zoom.get_meeting(made["id"])
    assert str(script.api_requests()[-1].url).endswith(f"/meetings/{big}")
    script.api.append(ok({"meetings": []}))
    zoom.list_past_instances(big)
    assert f"/past_meetings/{big}/instances" in str(script.api_requests()[-1].url)


def test_user_recordings_are_asked_month_by_month(zoom: ZoomClient, script: Script) -> None:
    a = {"uuid": "A==", "recording_files": []}
    b = {"uuid": "B==", "recording_files": []}
    script.api += [ok({"meetings": [a]}), ok({"meetings": [b, a]}), ok({"meetings": []})]
    got = zoom.list_user_recordings("host@example.org", date(2022, 1, 17), "2022-04-02")
    assert [g["uuid"] for g in got] == ["A==", "B=="]
    urls = [str(r.url) for r in script.api_requests()]
    assert "from=2022-01-17&to=2022-02-16" in urls[0] and "from=2022-03-17&to=2022-04-02" in urls[2]


def test_secrets_never_show(zoom: ZoomClient, script: Script, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG)
    assert SECRET not in repr(zoom) and "client-1" not in repr(zoom)
    # A server that echoes the token in its message: it is redacted from the error.
    script.api += [zoom_error(503, 503, "down"), zoom_error(400, 300, "bad token tok-1-abcdef here")]
    with pytest.raises(ZoomError) as e:
        zoom.get_meeting(1)
    assert "tok-1-abcdef" not in str(e.value) and "***" in str(e.value)
    script.oauth.append((400, {"reason": f"bad secret {SECRET}", "error": "invalid_client"}, {}))
    zoom._token = None  # force a new token request
    with pytest.raises(ZoomAuthError) as e2:
        zoom.get_meeting(1)
    for text in (str(e.value), str(e2.value), caplog.text, repr(zoom)):
        assert SECRET not in text and "tok-1-abcdef" not in text
