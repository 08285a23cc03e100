"""The client's requests and the emulator's answers, checked against Zoom's OpenAPI document.

Every call the client makes in a scenario that uses each of its methods is
recorded on the wire (a ``requests`` response hook), matched to its operation
in the document, and checked: path template and method exist, path and query
parameters are declared and typed (enums, ``maximum``, ``format: date``),
the JSON body fits the request schema with no undeclared field, and the
emulator's answer has a declared status and fits the response schema (types,
enums, formats such as ``date-time`` and ``int64``).

The document is the contract derived from Zoom's Meeting API document
(``tests/contracts/zoom-meeting-api.json``: the operations we use, as Zoom
wrote them, examples dropped); ``scripts/derive_zoom_contract.py`` re-derives
it from Zoom's document. The test fails, not skips, when it is missing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pytest
import requests

from oca_sync.sandbox.zoom import ZoomSandbox
from oca_sync.sandbox.zoom_openapi import OpenApi, load_openapi
from oca_sync.zoom import DEFAULT_API_BASE, ZoomClient, ZoomNotFound

SPEC = Path(__file__).resolve().parents[1] / "contracts" / "zoom-meeting-api.json"
HOST = "host1@example.org"

#: Every operation ZoomClient uses (DELETE …/recordings/{recordingId} is trash_recording_file).
CLIENT_OPERATIONS = {
    "GET /users/{userId}",
    "GET /users/{userId}/meetings",
    "POST /users/{userId}/meetings",
    "GET /meetings/{meetingId}",
    "PATCH /meetings/{meetingId}",
    "DELETE /meetings/{meetingId}",
    "GET /past_meetings/{meetingId}/instances",
    "GET /meetings/{meetingId}/recordings",
    "GET /users/{userId}/recordings",
    "DELETE /meetings/{meetingId}/recordings/{recordingId}",
    "GET /report/meetings/{meetingId}/participants",
}

#: Fields the project reads from each answer: they must be there, not merely allowed.
RELIED_ON = {
    "GET /users/{userId}": {"id", "email", "timezone", "type"},
    "POST /users/{userId}/meetings": {"id", "uuid", "topic", "start_time", "timezone", "duration", "join_url",
                                      "settings"},
    "GET /meetings/{meetingId}": {"id", "uuid", "topic", "start_time", "timezone", "duration", "join_url",
                                  "settings", "agenda"},
    "GET /users/{userId}/meetings": {"meetings", "next_page_token", "page_size", "total_records"},
    "GET /past_meetings/{meetingId}/instances": {"meetings"},
    "GET /meetings/{meetingId}/recordings": {"uuid", "id", "start_time", "recording_files", "topic"},
    "GET /users/{userId}/recordings": {"meetings", "next_page_token", "from", "to"},
    "GET /report/meetings/{meetingId}/participants": {"participants", "next_page_token"},
}
FILE_FIELDS = {"id", "meeting_id", "file_type", "file_extension", "file_size", "download_url", "status",
               "recording_start", "recording_end", "recording_type"}
ROW_FIELDS = {"name", "user_email", "join_time", "leave_time", "duration"}


@pytest.fixture(scope="module")
def api() -> OpenApi:
    if not SPEC.is_file():
        pytest.fail(f"Zoom's contract is missing: expected {SPEC} (scripts/derive_zoom_contract.py makes it)")
    return load_openapi(SPEC)


@dataclass
class Exchange:
    method: str
    path: str  # below /v2, still percent-encoded
    query: dict[str, list[str]]
    body: Any
    status: int
    answer: Any


def recording_session(api_base: str, log: list[Exchange]) -> requests.Session:
    """A session that records every API exchange as it went over the wire."""
    session = requests.Session()
    prefix = urlsplit(api_base).path

    def hook(resp: requests.Response, *args: Any, **kwargs: Any) -> None:
        req = resp.request
        if not str(req.url).startswith(api_base):
            return
        parts = urlsplit(str(req.url))
        raw = req.body.decode() if isinstance(req.body, bytes) else req.body
        answer = resp.json() if resp.content and "json" in resp.headers.get("Content-Type", "") else None
        log.append(Exchange(str(req.method), parts.path[len(prefix):], parse_qs(parts.query, keep_blank_values=True),
                            json.loads(raw) if raw else None, resp.status_code, answer))

    session.hooks["response"].append(hook)
    return session


def scenario(client: ZoomClient, sandbox: ZoomSandbox) -> None:
    """Use every method of the client once at least, including an error answer."""
    client.get_user(HOST)
    made = [client.create_meeting(HOST, {
        "topic": f"OCA training {day}", "type": 2, "start_time": f"2022-01-{day}T15:00:00",
        "timezone": "Asia/Bishkek", "duration": 90, "agenda": "Session plan",
        "settings": {"auto_recording": "cloud", "join_before_host": False, "waiting_room": True,
                     "approval_type": 2, "audio": "both"},
        "tracking_fields": [{"field": "oca-key", "value": f"training-{day}"}],
    }) for day in (17, 18, 19)]
    client.list_meetings(HOST)
    client.get_meeting(made[0]["id"])
    client.update_meeting(made[0]["id"], {"topic": "OCA training 1 (moved)", "start_time": "2022-01-17T16:00:00",
                                          "timezone": "Asia/Bishkek"})
    with pytest.raises(ZoomNotFound):
        client.get_meeting(12345678901)
    sandbox.set_time(datetime(2022, 1, 25, tzinfo=UTC))
    for m in made:
        for inst in client.list_past_instances(m["id"]):
            client.get_recordings(inst["uuid"])  # plain, "/…" and "…//…" UUIDs
            client.past_participants_report(inst["uuid"])
    client.get_recordings(made[0]["id"])
    client.past_participants_report(made[0]["id"])
    rec = client.list_user_recordings(HOST, "2022-01-01", "2022-02-20")[0]
    client.trash_recording_file(rec["uuid"], rec["recording_files"][-1]["id"])
    client.delete_meeting(made[2]["id"])


@pytest.fixture(scope="module")
def exchanges() -> Iterator[list[Exchange]]:
    log: list[Exchange] = []
    with ZoomSandbox(clock=lambda: 0.0, big_ids=True) as sb:
        sb.set_time(datetime(2022, 1, 10, tzinfo=UTC))
        client = ZoomClient(**sb.credentials(), clock=sb.timestamp, sleep=sb.advance,
                            session=recording_session(sb.api_base, log))
        scenario(client, sb)
    yield log


def decoded(params: dict[str, str]) -> dict[str, str]:
    # Path values as the server reads them: double-encoded UUIDs decode twice.
    return {k: unquote(unquote(v)) for k, v in params.items()}


# --------------------------------------------------------------------------- #
# The document itself
# --------------------------------------------------------------------------- #


def test_the_document_is_present() -> None:
    assert SPEC.is_file(), f"Zoom's contract is missing: expected {SPEC} (scripts/derive_zoom_contract.py makes it)"


def test_the_document_is_zooms_meeting_api(api: OpenApi) -> None:
    assert api.doc["info"]["title"] == "Zoom Meeting API"
    assert api.doc["servers"][0]["url"] == DEFAULT_API_BASE
    for name in CLIENT_OPERATIONS:
        method, template = name.split(" ", 1)
        api.operation(method, template)  # raises if absent


def test_facts_the_client_relies_on_are_in_the_document(api: OpenApi) -> None:
    for name in ("GET /users/{userId}/meetings", "GET /users/{userId}/recordings",
                 "GET /report/meetings/{meetingId}/participants"):
        query = api.operation(*name.split(" ", 1)).parameters("query")
        assert query["page_size"]["schema"]["maximum"] == 300, name
        assert "next_page_token" in query
    create = api.operation("POST", "/users/{userId}/meetings")
    assert "100 requests per day" in create.spec["description"]
    start = create.spec["requestBody"]["content"]["application/json"]["schema"]["properties"]["start_time"]
    assert "yyyy-MM-ddTHH:mm:ss" in start["description"] and "timezone" in start["description"]
    rec = api.operation("GET", "/meetings/{meetingId}/recordings").parameters("path")["meetingId"]
    assert "double encode" in rec["description"]
    action = api.operation("DELETE", "/meetings/{meetingId}/recordings/{recordingId}").parameters("query")["action"]
    assert "trash" in action["schema"]["enum"]
    listing = api.operation("GET", "/users/{userId}/recordings").parameters("query")
    assert listing["from"]["schema"]["format"] == "date" and "month" in listing["from"]["description"]
    meeting_id = api.operation("GET", "/meetings/{meetingId}").parameters("path")["meetingId"]["schema"]
    assert meeting_id == {"type": "integer", "format": "int64"}


# --------------------------------------------------------------------------- #
# The client's requests, the emulator's answers
# --------------------------------------------------------------------------- #


def test_the_scenario_covers_every_client_operation(api: OpenApi, exchanges: list[Exchange]) -> None:
    seen = {api.match(x.method, x.path)[0].name for x in exchanges}
    assert seen == CLIENT_OPERATIONS


def test_client_requests_fit_the_document(api: OpenApi, exchanges: list[Exchange]) -> None:
    problems = []
    for x in exchanges:
        op, params = api.match(x.method, x.path)
        for e in api.request_errors(op, path_params=decoded(params), query=x.query, body=x.body, strict=True):
            problems.append(f"{op.name}: {e}")
    assert problems == []


def test_emulator_answers_fit_the_document(api: OpenApi, exchanges: list[Exchange]) -> None:
    problems = []
    for x in exchanges:
        op, _ = api.match(x.method, x.path)
        problems += [f"{op.name} → {x.status}: {e}" for e in api.response_errors(op, x.status, x.answer)]
    assert problems == []
    assert {x.status for x in exchanges} == {200, 201, 204, 404}


def test_answers_carry_what_the_project_reads(api: OpenApi, exchanges: list[Exchange]) -> None:
    for x in exchanges:
        op, _ = api.match(x.method, x.path)
        if x.status >= 300 or op.name not in RELIED_ON:
            continue
        assert RELIED_ON[op.name] <= set(x.answer), (op.name, RELIED_ON[op.name] - set(x.answer))
        for f in (x.answer.get("recording_files") or []):
            assert FILE_FIELDS <= set(f)
        for m in (x.answer.get("meetings") or []):
            for f in m.get("recording_files") or []:
                assert FILE_FIELDS <= set(f)
        for row in x.answer.get("participants") or []:
            assert ROW_FIELDS <= set(row)


def test_wire_details(api: OpenApi, exchanges: list[Exchange]) -> None:
    create = [x for x in exchanges if x.method == "POST"]
    assert create and all(x.body["start_time"].count(":") == 2 and not x.body["start_time"].endswith("Z")
                          and x.body["timezone"] == "Asia/Bishkek" for x in create)
    assert all(x.answer["start_time"].endswith("Z") for x in create)  # answers are UTC
    ids = [x.answer["id"] for x in create]
    assert all(isinstance(i, int) and i > 2**53 for i in ids)
    paths = [x.path for x in exchanges if x.method == "GET" and x.path.startswith("/meetings/")]
    assert any("%252F" in p for p in paths), "a UUID with '/' must go out encoded twice"
    listings = [x for x in exchanges if api.match(x.method, x.path)[0].name == "GET /users/{userId}/recordings"]
    assert [(x.query["from"], x.query["to"]) for x in listings] == [
        (["2022-01-01"], ["2022-01-31"]), (["2022-02-01"], ["2022-02-20"])]


# --------------------------------------------------------------------------- #
# The checks are not vacuous
# --------------------------------------------------------------------------- #


def test_the_checker_catches_bad_requests(api: OpenApi) -> None:
    create = api.operation("POST", "/users/{userId}/meetings")
    errors = api.request_errors(create, path_params={"userId": HOST}, query={}, body={
        "topic": "x", "type": 5, "settings": {"auto_recording": "yes"}, "occurrence_id": "1",
        "start_time": "17/01/2022 15:00",
    })
    text = "\n".join(errors)
    assert "type: 5 is not one of" in text and "auto_recording: 'yes' is not one of" in text
    assert "occurrence_id" in text and "is not a 'date-time'" in text
    listing = api.operation("GET", "/users/{userId}/meetings")
    errors = api.request_errors(listing, path_params={"userId": HOST},
                                query={"page_size": ["301"], "type": ["past"], "pagesize": ["3"]})
    assert len(errors) == 3
    get = api.operation("GET", "/meetings/{meetingId}")
    assert api.request_errors(get, path_params={"meetingId": "aDYlohsHRtCd4ii1uC2+hA=="}, query={})
    assert api.request_errors(get, path_params={"meetingId": str(2**64)}, query={})


def test_the_checker_catches_bad_answers(api: OpenApi) -> None:
    get = api.operation("GET", "/meetings/{meetingId}")
    assert api.response_errors(get, 200, {"id": "85746065123"})
    assert api.response_errors(get, 200, {"id": 1, "start_time": "2022-01-17T15:00:00"})  # no zone in an answer
    assert api.response_errors(get, 200, {"id": 1, "type": 4})
    assert api.response_errors(get, 418, None)
    # Error answers: Zoom's {"code", "message"} with a code the document lists for the status.
    assert api.response_errors(get, 404, {"code": 3001, "message": "Meeting does not exist: 1."}) == []
    assert api.response_errors(get, 404, {"code": 9999, "message": "x"})
    assert api.response_errors(get, 404, None)
    rec = api.operation("GET", "/meetings/{meetingId}/recordings")
    assert api.response_errors(rec, 200, {"recording_files": [{"file_type": "MOV", "file_size": 1}]})
    report = api.operation("GET", "/report/meetings/{meetingId}/participants")
    assert api.response_errors(report, 200, {"participants": [{"join_time": "yesterday"}]})


def test_the_emulator_checks_itself_against_the_document(api: OpenApi) -> None:
    # In openapi mode the emulator refuses misfit requests and would answer 500
    # for a misfit answer of its own: the whole scenario must run clean.
    log: list[Exchange] = []
    with ZoomSandbox(clock=lambda: 0.0, openapi=SPEC) as sb:
        assert sb.openapi is not None
        sb.set_time(datetime(2022, 1, 10, tzinfo=UTC))
        client = ZoomClient(**sb.credentials(), clock=sb.timestamp, sleep=sb.advance,
                            session=recording_session(sb.api_base, log))
        scenario(client, sb)
    assert log and all(x.status < 500 for x in log)
