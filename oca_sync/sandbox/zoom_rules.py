"""Request validation rules of the Zoom emulator, written from Zoom's OpenAPI document.

The rules are Python, so the emulator works without the document; each block
names the OpenAPI path, method and operationId it follows
(Zoom Meeting API v2, 2023-10; the operations used are in
``tests/contracts/zoom-meeting-api.json``). Where the emulator is stricter than Zoom it says so: unknown body
fields and query parameters are refused (Zoom ignores them) so that a client's
typo shows up in the tests instead of being silently dropped.

Errors come back as Zoom's validation error, ``400 {"code": 300, "message":
"Validation Failed.", "errors": [{"field": ..., "message": ...}]}`` (the shape
of developers.zoom.us/docs/api/errors).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

__all__ = [
    "MEETING_CREATE",
    "MEETING_UPDATE",
    "QUERY_RULES",
    "Rule",
    "check",
    "check_query",
    "format_time",
    "parse_start_time",
    "valid_timezone",
]


@dataclass(frozen=True)
class Rule:
    """One JSON value's rule: a small subset of JSON Schema, enough for these endpoints."""

    type: str  # string, integer, number, boolean, object, array
    enum: tuple[Any, ...] | None = None
    max_length: int | None = None
    minimum: int | None = None
    maximum: int | None = None
    #: "zoom-date-time" (yyyy-MM-ddTHH:mm:ss with an optional Z), "date", "email",
    #: "timezone" (an IANA zone), "passcode" (Zoom's passcode characters)
    format: str | None = None
    props: Mapping[str, Rule] | None = None
    items: Rule | None = None
    required: tuple[str, ...] = ()
    #: refuse properties not listed in ``props`` (stricter than Zoom, see the module docstring)
    closed: bool = True


S = Rule("string")
B = Rule("boolean")
I = Rule("integer")
STR_LIST = Rule("array", items=S)
EMAIL = Rule("string", format="email")


def _obj(closed: bool = True, required: tuple[str, ...] = (), **props: Rule) -> Rule:
    return Rule("object", props=props, required=required, closed=closed)


def _enum(type_: str, *values: Any, **kw: Any) -> Rule:
    return Rule(type_, enum=values, **kw)


# --------------------------------------------------------------------------- #
# POST /users/{userId}/meetings (meetingCreate) and PATCH /meetings/{meetingId}
# (meetingUpdate): requestBody application/json
# --------------------------------------------------------------------------- #

_RECURRENCE = _obj(
    required=("type",),
    type=_enum("integer", 1, 2, 3),
    repeat_interval=I,
    weekly_days=_enum("string", "1", "2", "3", "4", "5", "6", "7"),
    monthly_day=I,
    monthly_week=_enum("integer", -1, 1, 2, 3, 4),
    monthly_week_day=_enum("integer", 1, 2, 3, 4, 5, 6, 7),
    end_times=Rule("integer", maximum=60),
    end_date_time=Rule("string", format="zoom-date-time"),
)

_INTERPRETERS = Rule("array", items=_obj(email=EMAIL, languages=S))

_SETTINGS_COMMON: dict[str, Rule] = {
    "allow_multiple_devices": B,
    "alternative_host_update_polls": B,
    "alternative_hosts": S,
    "alternative_hosts_email_notification": B,
    "approval_type": _enum("integer", 0, 1, 2),
    "approved_or_denied_countries_or_regions": _obj(
        approved_list=STR_LIST, denied_list=STR_LIST, enable=B, method=_enum("string", "approve", "deny")
    ),
    "audio": _enum("string", "both", "telephony", "voip", "thirdParty"),
    "audio_conference_info": Rule("string", max_length=2048),
    "authentication_domains": S,
    "authentication_exception": Rule("array", items=_obj(email=EMAIL, name=S, join_url=S)),
    "authentication_option": S,
    "auto_recording": _enum("string", "local", "cloud", "none"),
    "breakout_room": _obj(enable=B, rooms=Rule("array", items=_obj(name=S, participants=STR_LIST))),
    "calendar_type": _enum("integer", 1, 2),
    "close_registration": B,
    "cn_meeting": B,
    "contact_email": S,
    "contact_name": S,
    "continuous_meeting_chat": _obj(enable=B, auto_add_invited_external_users=B),
    "email_notification": B,
    "encryption_type": _enum("string", "enhanced_encryption", "e2ee"),
    "focus_mode": B,
    "global_dial_in_countries": STR_LIST,
    "host_save_video_order": B,
    "host_video": B,
    "in_meeting": B,
    "internal_meeting": B,
    "jbh_time": _enum("integer", 0, 5, 10),
    "join_before_host": B,
    "language_interpretation": _obj(enable=B, interpreters=_INTERPRETERS),
    "sign_language_interpretation": _obj(
        enable=B, interpreters=Rule("array", items=_obj(email=EMAIL, sign_language=S))
    ),
    "meeting_authentication": B,
    "meeting_invitees": Rule("array", items=_obj(email=EMAIL)),
    "mute_upon_entry": B,
    "participant_focused_meeting": B,
    "participant_video": B,
    "private_meeting": B,
    "registrants_confirmation_email": B,
    "registrants_email_notification": B,
    "registration_type": _enum("integer", 1, 2, 3),
    "resources": Rule("array", items=_obj(
        resource_type=_enum("string", "whiteboard"),
        resource_id=S,
        permission_level=_enum("string", "editor", "commenter", "viewer"),
    )),
    "show_share_button": B,
    "use_pmi": B,
    "waiting_room": B,
    "watermark": B,
}

#: meetingCreate requestBody.settings (create-only: additional_data_center_regions, push_change_to_calendar)
_SETTINGS_CREATE = Rule("object", props={
    **_SETTINGS_COMMON,
    "additional_data_center_regions": STR_LIST,
    "push_change_to_calendar": B,
})

#: meetingUpdate requestBody.settings (update-only: authentication_name, custom_keys, enforce_login...)
_SETTINGS_UPDATE = Rule("object", props={
    **_SETTINGS_COMMON,
    "authentication_name": S,
    "custom_keys": Rule("array", items=_obj(key=Rule("string", max_length=64), value=Rule("string", max_length=256))),
    "enforce_login": B,
    "enforce_login_domains": S,
    "global_dial_in_numbers": Rule("array", items=_obj(
        city=S, country=S, country_name=S, number=S, type=_enum("string", "toll", "tollfree"))),
})

_MEETING_COMMON: dict[str, Rule] = {
    "agenda": Rule("string", max_length=2000),
    "duration": Rule("integer", minimum=0),
    "password": Rule("string", max_length=10, format="passcode"),
    "pre_schedule": B,
    "recurrence": _RECURRENCE,
    "schedule_for": S,
    "start_time": Rule("string", format="zoom-date-time"),
    "template_id": S,
    "timezone": Rule("string", format="timezone"),
    "topic": Rule("string", max_length=200),
    "type": _enum("integer", 1, 2, 3, 8),
}

#: POST /users/{userId}/meetings, operationId meetingCreate
MEETING_CREATE = Rule("object", props={
    **_MEETING_COMMON,
    "default_password": B,
    "settings": _SETTINGS_CREATE,
    "tracking_fields": Rule("array", items=_obj(required=("field",), field=S, value=S)),
})

#: PATCH /meetings/{meetingId}, operationId meetingUpdate
MEETING_UPDATE = Rule("object", props={
    **_MEETING_COMMON,
    "settings": _SETTINGS_UPDATE,
    "tracking_fields": Rule("array", items=_obj(field=S, value=S)),
})


# --------------------------------------------------------------------------- #
# Query parameters, per operation ("METHOD /path-template")
# --------------------------------------------------------------------------- #

_PAGE = {"page_size": Rule("integer", minimum=1, maximum=300), "next_page_token": S}

QUERY_RULES: dict[str, dict[str, Rule]] = {
    # GET /users/{userId}/meetings (meetings)
    "GET /users/{userId}/meetings": dict(
        type=_enum("string", "scheduled", "live", "upcoming", "upcoming_meetings", "previous_meetings"),
        page_number=I, **{"from": Rule("string", format="date"), "to": Rule("string", format="date")}, **_PAGE,
    ),
    # POST /users/{userId}/meetings (meetingCreate): no query parameters
    "POST /users/{userId}/meetings": {},
    # GET /users/{userId} (user)
    "GET /users/{userId}": {
        "login_type": _enum("integer", 0, 1, 11, 21, 23, 24, 27, 97, 98, 99, 100, 101),
        "encrypted_email": B, "search_by_unique_id": B,
    },
    # GET /meetings/{meetingId} (meeting)
    "GET /meetings/{meetingId}": {"occurrence_id": S, "show_previous_occurrences": B},
    # PATCH /meetings/{meetingId} (meetingUpdate)
    "PATCH /meetings/{meetingId}": {"occurrence_id": S},
    # DELETE /meetings/{meetingId} (meetingDelete)
    "DELETE /meetings/{meetingId}": {"occurrence_id": S, "schedule_for_reminder": B, "cancel_meeting_reminder": B},
    # GET /past_meetings/{meetingId}/instances (pastMeetings)
    "GET /past_meetings/{meetingId}/instances": {},
    # GET /meetings/{meetingId}/recordings (recordingGet)
    "GET /meetings/{meetingId}/recordings": {"include_fields": S, "ttl": Rule("integer", minimum=0, maximum=604800)},
    # GET /users/{userId}/recordings (recordingsList)
    "GET /users/{userId}/recordings": dict(
        mc=S, trash=B, trash_type=S, meeting_id=I,
        **{"from": Rule("string", format="date"), "to": Rule("string", format="date")}, **_PAGE,
    ),
    # DELETE /meetings/{meetingId}/recordings/{recordingId} (recordingDeleteOne)
    "DELETE /meetings/{meetingId}/recordings/{recordingId}": {"action": _enum("string", "trash", "delete")},
    # GET /report/meetings/{meetingId}/participants (reportMeetingParticipants)
    "GET /report/meetings/{meetingId}/participants": dict(
        include_fields=_enum("string", "registrant_id"), **_PAGE,
    ),
}


# --------------------------------------------------------------------------- #
# Checking
# --------------------------------------------------------------------------- #

_ZOOM_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z?")
_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")
_PASSCODE = re.compile(r"[A-Za-z0-9@_*-]*")
_INT = re.compile(r"-?(0|[1-9][0-9]*)")


def valid_timezone(name: str) -> bool:
    if not name or name.startswith(("/", ".")) or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def _format_ok(fmt: str, value: str) -> bool:
    if fmt == "zoom-date-time":
        if not _ZOOM_TIME.fullmatch(value):
            return False
        try:
            datetime.fromisoformat(value.rstrip("Z"))
        except ValueError:
            return False
        return True
    if fmt == "date":
        if not _DATE.fullmatch(value):
            return False
        try:
            date.fromisoformat(value)
        except ValueError:
            return False
        return True
    if fmt == "email":
        return bool(_EMAIL.fullmatch(value))
    if fmt == "timezone":
        return valid_timezone(value)
    if fmt == "passcode":
        return bool(_PASSCODE.fullmatch(value))
    return True


_FORMAT_HELP = {
    "zoom-date-time": "expected yyyy-MM-ddTHH:mm:ss (local, with timezone) or yyyy-MM-ddTHH:mm:ssZ (GMT)",
    "date": "expected yyyy-mm-dd",
    "email": "expected an e-mail address",
    "timezone": "expected a time zone ID such as Asia/Bishkek",
    "passcode": "a passcode may only contain letters, digits, @ - _ *",
}


def check(value: Any, rule: Rule, path: str = "") -> list[dict[str, str]]:
    """Zoom-style ``errors`` entries for ``value`` against ``rule`` (empty when valid)."""
    where = path or "body"
    t = rule.type
    ok = {
        "string": isinstance(value, str),
        "integer": isinstance(value, int) and not isinstance(value, bool),
        "number": isinstance(value, (int, float)) and not isinstance(value, bool),
        "boolean": isinstance(value, bool),
        "object": isinstance(value, dict),
        "array": isinstance(value, list),
    }[t]
    if not ok:
        return [{"field": where, "message": f"Invalid field: expected {t}, got {_json_type(value)}."}]
    errors: list[dict[str, str]] = []
    if rule.enum is not None and value not in rule.enum:
        shown = ", ".join(str(v) for v in rule.enum)
        errors.append({"field": where, "message": f"Invalid field: {value!r} is not one of [{shown}]."})
    if rule.max_length is not None and len(value) > rule.max_length:
        errors.append({"field": where, "message": f"Invalid field: longer than {rule.max_length} characters."})
    if rule.minimum is not None and value < rule.minimum:
        errors.append({"field": where, "message": f"Invalid field: must be >= {rule.minimum}."})
    if rule.maximum is not None and value > rule.maximum:
        errors.append({"field": where, "message": f"Invalid field: must be <= {rule.maximum}."})
    if rule.format is not None and isinstance(value, str) and not _format_ok(rule.format, value):
        errors.append({"field": where, "message": f"Invalid field: {_FORMAT_HELP[rule.format]}."})
    if t == "object" and rule.props is not None:
        for name in rule.required:
            if name not in value:
                errors.append({"field": _join(path, name), "message": "Missing required field."})
        for name, item in value.items():
            sub = rule.props.get(name)
            if sub is None:
                if rule.closed:
                    errors.append({"field": _join(path, name), "message": "Unknown field."})
                continue
            errors += check(item, sub, _join(path, name))
    if t == "array" and rule.items is not None:
        for i, item in enumerate(value):
            errors += check(item, rule.items, f"{where}[{i}]")
    return errors


def check_query(operation: str, query: Mapping[str, list[str]]) -> tuple[dict[str, Any], list[dict[str, str]]]:
    """Typed query parameters of ``operation`` and the errors found.

    Booleans must be ``true``/``false``, integers canonical; a parameter given
    twice or not declared for the operation is an error.
    """
    rules = QUERY_RULES.get(operation, {})
    values: dict[str, Any] = {}
    errors: list[dict[str, str]] = []
    for name, given in query.items():
        rule = rules.get(name)
        if rule is None:
            errors.append({"field": name, "message": "Unknown query parameter."})
            continue
        if len(given) != 1:
            errors.append({"field": name, "message": "Given more than once."})
            continue
        raw = given[0]
        value: Any = raw
        if rule.type == "integer":
            if not _INT.fullmatch(raw):
                errors.append({"field": name, "message": "Invalid field: expected an integer."})
                continue
            value = int(raw)
        elif rule.type == "boolean":
            if raw not in ("true", "false"):
                errors.append({"field": name, "message": "Invalid field: expected true or false."})
                continue
            value = raw == "true"
        found = check(value, rule, name)
        if found:
            errors += found
            continue
        values[name] = value
    return values, errors


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


# --------------------------------------------------------------------------- #
# Times
# --------------------------------------------------------------------------- #


def parse_start_time(text: str, timezone: str | None, default_timezone: str) -> datetime:
    """A meeting's start as an aware UTC datetime, read the way Zoom reads it.

    meetingCreate's ``start_time``: ``yyyy-MM-ddTHH:mm:ssZ`` is GMT;
    ``yyyy-MM-ddTHH:mm:ss`` is local time in ``timezone``, or in the host's
    time zone when none is given. So ``2022-01-17T15:00:00`` with
    ``Asia/Bishkek`` (UTC+6) is ``2022-01-17T09:00:00Z``.
    """
    if text.endswith("Z"):
        return datetime.fromisoformat(text[:-1]).replace(tzinfo=UTC)
    local = datetime.fromisoformat(text).replace(tzinfo=ZoneInfo(timezone or default_timezone))
    return local.astimezone(UTC)


def format_time(moment: datetime) -> str:
    """Zoom's response form of a time: UTC with ``Z``, whole seconds."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
