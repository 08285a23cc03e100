"""The Moodle emulator's work per user stays linear (issue 12, emulator speed).

No timing: the work of one web-service call is counted as the Python lines the
emulator executes for it (a ``sys.settrace`` line counter around the request's
handling: parameter parsing and validation, the function, cleaning the return
value, JSON). A lookup that scans a whole table once per user (quadratic) makes
the count for twice the users about four times larger instead of twice.
"""

from __future__ import annotations

import json
import sys
from types import FrameType
from typing import Any
from urllib.parse import urlencode

import pytest

from oca_sync.sandbox import MoodleSandbox
from oca_sync.sandbox.httpserver import Request
from oca_sync.sandbox.moodle import WS_PATH

from .test_sandbox_moodle import TOKEN, create_course, flatten

#: Linear work doubles (1.98-2.0 measured); a quadratic term pushes the ratio toward 4 (before the
#: indexed lookups these calls measured 2.25-2.73 at these sizes).
MAX_RATIO = 2.15


def counted(server: MoodleSandbox, function: str, data: dict[str, Any]) -> tuple[int, Any]:
    """(lines executed while the emulator handled the call, the decoded answer)."""
    body = urlencode({"wstoken": TOKEN, "wsfunction": function, "moodlewsrestformat": "json", **data})
    request = Request("POST", WS_PATH, "", {"Content-Type": "application/x-www-form-urlencoded"}, body.encode())
    lines = 0

    def tracer(frame: FrameType, event: str, arg: Any) -> Any:
        nonlocal lines
        if event == "line":
            lines += 1
        return tracer

    sys.settrace(tracer)
    try:
        response = server.handle_request(request)
    finally:
        sys.settrace(None)
    answer = json.loads(response.body)
    assert not (isinstance(answer, dict) and "exception" in answer), answer
    return lines, answer


def work_for(users: int) -> dict[str, int]:
    """Lines executed per call for a course with ``users`` people created, enrolled, grouped and read back."""
    with MoodleSandbox(token=TOKEN) as server:
        courseid = create_course(server)
        people = [{"username": f"u{i:05d}", "firstname": "Aibek", "lastname": f"Osmonov{i}",
                   "email": f"u{i:05d}@example.org", "createpassword": 1, "idnumber": f"oca:u{i}"}
                  for i in range(users)]
        work: dict[str, int] = {}
        work["create_users"], created = counted(server, "core_user_create_users", flatten("users", people))
        ids = [u["id"] for u in created]
        enrolments = [{"roleid": 5, "userid": uid, "courseid": courseid} for uid in ids]
        work["enrol_users"], _ = counted(server, "enrol_manual_enrol_users", flatten("enrolments", enrolments))
        _, groups = counted(server, "core_group_create_groups",
                            flatten("groups", [{"courseid": courseid, "name": "All", "description": ""}]))
        members = [{"groupid": groups[0]["id"], "userid": uid} for uid in ids]
        work["add_group_members"], _ = counted(server, "core_group_add_group_members", flatten("members", members))
        work["get_enrolled_users"], listed = counted(server, "core_enrol_get_enrolled_users", {"courseid": courseid})
        assert len(listed) == users and all(u["groups"] and u["roles"] for u in listed)
        work["get_users_by_field"], found = counted(
            server, "core_user_get_users_by_field", {"field": "id", **flatten("values", ids)})
        assert len(found) == users
        return work


@pytest.fixture(scope="module")
def work() -> tuple[dict[str, int], dict[str, int]]:
    return work_for(150), work_for(300)


@pytest.mark.parametrize("function", ["create_users", "enrol_users", "add_group_members",
                                      "get_enrolled_users", "get_users_by_field"])
def test_work_per_user_is_linear(work: tuple[dict[str, int], dict[str, int]], function: str) -> None:
    small, big = work
    ratio = big[function] / small[function]
    assert ratio < MAX_RATIO, (f"{function}: {small[function]:,} lines for 150 users, {big[function]:,} for 300 "
                               f"(x{ratio:.2f}): something scans a whole table per user")
