"""The companion plugin local_ocasync against a real Moodle (opt-in).

Runs when OCA_MOODLE_URL and OCA_MOODLE_TOKEN are set and the token's service
offers the plugin's functions (skipped otherwise). Each test creates its own
throw-away course (unique shortname) and deletes it at the end when the token
allows core_course_delete_courses.
"""

from __future__ import annotations

import json
import os
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from oca_sync.errors import MoodleError
from oca_sync.moodle.client import MoodleClient

pytestmark = pytest.mark.live

#: What Moodle answers for a function it does not know, or that the token's service lacks.
UNAVAILABLE = {"invalidrecord", "accessexception", "servicenotavailable"}

ML_NAME = '<span lang="en" class="multilang">Intro</span><span lang="ru" class="multilang">Введение</span>'
ML_SUMMARY = ('<p><span lang="en" class="multilang">Welcome</span>'
              '<span lang="ru" class="multilang">Добро пожаловать</span></p>')

QUESTIONS = [
    {"key": "org", "typ": "textfield", "name": "Your organisation", "label": "org",
     "presentation": "30|255", "required": True, "position": 1},
    {"key": "learnt", "typ": "textarea", "name": "What did you learn?", "label": "learnt",
     "presentation": "40|5", "required": False, "position": 2},
    {"key": "sessions", "typ": "multichoice", "name": "Which sessions did you attend?", "label": "sessions",
     "presentation": "c>>>>>Training|Mentoring|Unconference", "required": False, "position": 3},
    {"key": "rating", "typ": "multichoicerated", "name": "Rate the programme", "label": "rating",
     "presentation": "r>>>>>1####Poor|2####Fair|3####Good|4####Very good|5####Excellent",
     "required": True, "position": 4},
    {"key": "followers", "typ": "numeric", "name": "Followers gained", "label": "followers",
     "presentation": "0|100000", "required": False, "position": 5},
]

SESSIONS = [
    {"sessdate": 1642410000, "duration": 5400, "description": "Training 1"},
    {"sessdate": 1642582800, "duration": 5400, "description": "Training 2"},
    {"sessdate": 1642755600, "duration": 3600, "description": "Mentoring 1"},
]


# -- fixtures -------------------------------------------------------------------


@pytest.fixture
def info(live_moodle: MoodleClient) -> dict[str, Any]:
    try:
        return live_moodle.call("local_ocasync_get_info")
    except MoodleError as e:
        if e.errorcode in UNAVAILABLE:
            pytest.skip(f"local_ocasync is not available to this token ({e.errorcode})")
        raise


@pytest.fixture
def course(live_moodle: MoodleClient, info: dict[str, Any]) -> Iterator[int]:
    categories = live_moodle.call("core_course_get_categories", {"addsubcategories": 0})
    assert categories, "the site has no course category"
    shortname = f"OCAPLG-{int(time.time())}-{uuid.uuid4().hex[:6]}"
    created = live_moodle.call("core_course_create_courses", {"courses": [
        {"fullname": f"local_ocasync live test {shortname}", "shortname": shortname,
         "categoryid": categories[0]["id"], "format": "topics"}]})
    course_id = int(created[0]["id"])
    try:
        yield course_id
    finally:
        try:
            live_moodle.call("core_course_delete_courses", {"courseids": [course_id]})
        except MoodleError:
            pass  # A least-privilege token cannot delete courses: the course stays behind.


def state(client: MoodleClient, course_id: int) -> dict[str, Any]:
    return client.call("local_ocasync_get_course_state", {"courseid": course_id})


def modules_by_idnumber(st: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {m["idnumber"]: {**m, "settings": json.loads(m["settings"])} for m in st["modules"]}


def sections_by_key(st: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {s["key"]: s for s in st["sections"] if s["key"]}


def upload(client: MoodleClient, name: str, content: bytes) -> int:
    """Upload one file into the token user's draft area; returns its draft item id."""
    token = os.environ["OCA_MOODLE_TOKEN"]
    resp = requests.post(f"{client.url}/webservice/upload.php", params={"token": token},
                         files={"file_1": (name, content)}, timeout=60)
    resp.raise_for_status()
    data = resp.json()
    assert isinstance(data, list), data
    return int(data[0]["itemid"])


def error_of(client: MoodleClient, function: str, params: dict[str, Any]) -> str:
    with pytest.raises(MoodleError) as e:
        client.call(function, params)
    return e.value.errorcode


def module(idnumber: str, modname: str, sectionkey: str, name: str, settings: dict[str, Any] | None = None,
           **extra: Any) -> dict[str, Any]:
    return {"idnumber": idnumber, "modname": modname, "sectionkey": sectionkey, "name": name,
            "settings": json.dumps(settings or {}), **extra}


# -- tests ----------------------------------------------------------------------


def test_info_and_roles(live_moodle: MoodleClient, info: dict[str, Any]):
    assert info["plugin_version"] >= 2026112600
    assert info["plugin_release"]
    assert float(info["moodle_version"]) >= 2022112800
    assert isinstance(info["multilang_enabled"], bool) and isinstance(info["filterall"], bool)
    assert info["attendance_version"] >= 0

    roles = live_moodle.call("local_ocasync_list_roles")
    by_short = {r["shortname"]: r for r in roles}
    assert {"manager", "editingteacher", "student"} <= set(by_short)
    assert by_short["student"]["coursecontext"] is True
    assert by_short["student"]["archetype"] == "student"
    assert all(isinstance(r["id"], int) and r["name"] for r in roles)


def test_sections_create_update_move_and_idempotence(live_moodle: MoodleClient, course: int):
    wanted = [
        {"key": "oca:s1", "number": 1, "name": ML_NAME, "summary": ML_SUMMARY, "visible": True},
        {"key": "oca:s2", "number": 2, "name": "Week two", "summary": "", "visible": True},
        {"key": "oca:s3", "number": 3, "name": "Week three", "summary": "<p>Later</p>", "visible": False},
    ]
    first = live_moodle.call("local_ocasync_upsert_sections", {"courseid": course, "sections": wanted})
    assert [(r["key"], r["number"], r["created"]) for r in first] == [
        ("oca:s1", 1, True), ("oca:s2", 2, True), ("oca:s3", 3, True)]

    st = state(live_moodle, course)
    assert st["format"] == "topics"
    keyed = sections_by_key(st)
    assert keyed["oca:s1"]["name"] == ML_NAME, "names are stored raw, multilang spans kept"
    assert keyed["oca:s1"]["summary"] == ML_SUMMARY
    assert keyed["oca:s3"]["visible"] is False
    assert st["sections"][0]["number"] == 0 and st["sections"][0]["key"] == ""

    again = live_moodle.call("local_ocasync_upsert_sections", {"courseid": course, "sections": wanted})
    assert [r["changed"] for r in again] == [False, False, False]
    assert [r["id"] for r in again] == [r["id"] for r in first]
    assert state(live_moodle, course) == st, "an identical upsert must change nothing"

    # Rename one, move another to the front, show the hidden one.
    moved = live_moodle.call("local_ocasync_upsert_sections", {"courseid": course, "sections": [
        {"key": "oca:s3", "number": 1, "name": "Week three", "summary": "<p>Later</p>", "visible": True},
        {"key": "oca:s2", "number": 3, "name": "Week two, renamed", "summary": "", "visible": True},
    ]})
    assert [(r["key"], r["number"], r["changed"]) for r in moved] == [("oca:s3", 1, True), ("oca:s2", 3, True)]
    keyed = sections_by_key(state(live_moodle, course))
    assert (keyed["oca:s3"]["number"], keyed["oca:s1"]["number"], keyed["oca:s2"]["number"]) == (1, 2, 3)
    assert keyed["oca:s2"]["name"] == "Week two, renamed" and keyed["oca:s3"]["visible"] is True

    # A number beyond the end puts the section last.
    far = live_moodle.call("local_ocasync_upsert_sections", {"courseid": course, "sections": [
        {"key": "oca:s9", "number": 50, "name": "Last"}]})
    assert far[0]["created"] and far[0]["number"] == 4

    assert error_of(live_moodle, "local_ocasync_upsert_sections", {"courseid": course, "sections": [
        {"key": "bad key", "number": 1}]}) == "invalidkey"
    assert error_of(live_moodle, "local_ocasync_upsert_sections", {"courseid": course, "sections": [
        {"key": "oca:x", "number": 0}]}) == "invalidposition"
    assert error_of(live_moodle, "local_ocasync_upsert_sections", {"courseid": course, "sections": [
        {"key": "oca:x", "number": 1}, {"key": "oca:x", "number": 2}]}) == "invalidkey"
    assert "oca:x" not in sections_by_key(state(live_moodle, course)), "a refused call writes nothing"


def test_modules_lifecycle(live_moodle: MoodleClient, info: dict[str, Any], course: int):
    live_moodle.call("local_ocasync_upsert_sections", {"courseid": course, "sections": [
        {"key": "oca:s1", "number": 1, "name": "Session 1"},
        {"key": "oca:s2", "number": 2, "name": "Session 2"},
    ]})
    draft = upload(live_moodle, "slides.pdf", b"%PDF-1.4\n% oca-sync live test\n%%EOF\n")
    with_attendance = bool(info["attendance_version"])
    wanted = [
        module("oca:t:url", "url", "oca:s1", '<span lang="en" class="multilang">Zoom link</span>'
               '<span lang="ru" class="multilang">Ссылка Zoom</span>',
               {"externalurl": "https://zoom.us/j/123456789", "display": 0}, intro="<p>Join here</p>"),
        module("oca:t:page", "page", "oca:s1", "Reading", {"content": "<p>Read this</p>"}),
        module("oca:t:label", "label", "oca:s1", "Notes", {}, intro="<p>Session notes</p>"),
        module("oca:t:file", "resource", "oca:s2", "Slides", {"draftitemid": draft}),
        module("oca:survey", "feedback", "", "Pre survey",
               {"anonymous": 2, "timeopen": 0, "timeclose": 0, "questions": QUESTIONS}, intro="<p>Before</p>"),
    ]
    if with_attendance:
        wanted.append(module("oca:attendance", "attendance", "", "Attendance", {"grade": 100, "sessions": SESSIONS}))

    first = live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": wanted})
    assert [r["created"] for r in first] == [True] * len(wanted)
    st = state(live_moodle, course)
    mods = modules_by_idnumber(st)
    assert set(mods) == {m["idnumber"] for m in wanted}
    assert mods["oca:t:url"]["settings"] == {"externalurl": "https://zoom.us/j/123456789", "display": 0}
    assert mods["oca:t:url"]["intro"] == "<p>Join here</p>" and "multilang" in mods["oca:t:url"]["name"]
    assert mods["oca:t:page"]["settings"] == {"content": "<p>Read this</p>"}
    assert mods["oca:t:label"]["settings"] == {} and mods["oca:t:label"]["modname"] == "label"
    assert mods["oca:t:file"]["settings"]["filename"] == "slides.pdf"
    assert mods["oca:t:file"]["settings"]["filesize"] > 0
    assert mods["oca:survey"]["settings"]["questions"] == QUESTIONS
    assert mods["oca:survey"]["settings"]["anonymous"] == 2
    assert mods["oca:survey"]["sectionnumber"] == 0
    sections = {s["key"]: s["number"] for s in st["sections"]}
    assert mods["oca:t:url"]["sectionnumber"] == sections["oca:s1"]
    assert mods["oca:t:file"]["sectionnumber"] == sections["oca:s2"]
    if with_attendance:
        assert mods["oca:attendance"]["settings"] == {"grade": 100, "sessions": SESSIONS}
        events = live_moodle.call("core_calendar_get_calendar_events", {
            "events": {"courseids": [course]}, "options": {"timestart": 0, "userevents": 0, "siteevents": 0}})
        starts = sorted(e["timestart"] for e in events["events"] if e.get("modulename") == "attendance")
        assert starts == [s["sessdate"] for s in SESSIONS], "each session has its calendar event"

    # The same call again creates nothing and changes nothing.
    cmids = {r["idnumber"]: r["cmid"] for r in first}
    again = live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": wanted})
    assert [(r["cmid"], r["created"], r["changed"]) for r in again] == [
        (cmids[m["idnumber"]], False, False) for m in wanted]
    assert state(live_moodle, course) == st

    # Re-uploading the same file changes nothing; another file replaces it.
    same = upload(live_moodle, "slides.pdf", b"%PDF-1.4\n% oca-sync live test\n%%EOF\n")
    res = live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": [
        module("oca:t:file", "resource", "oca:s2", "Slides", {"draftitemid": same})]})
    assert res[0]["changed"] is False
    other = upload(live_moodle, "handout.txt", b"another file")
    res = live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": [
        module("oca:t:file", "resource", "oca:s2", "Slides", {})]})
    assert res[0]["changed"] is False, "{} keeps the current file"
    res = live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": [
        module("oca:t:file", "resource", "oca:s2", "Slides", {"draftitemid": other})]})
    assert res[0]["changed"] is True
    assert modules_by_idnumber(state(live_moodle, course))["oca:t:file"]["settings"]["filename"] == "handout.txt"

    # Changing one question replaces the questions; the rest of the course stays as it was.
    changed_questions = [dict(q) for q in QUESTIONS]
    changed_questions[1]["presentation"] = "60|8"
    updates = [
        module("oca:survey", "feedback", "", "Pre survey",
               {"anonymous": 2, "timeopen": 0, "timeclose": 0, "questions": changed_questions}, intro="<p>Before</p>"),
        module("oca:t:page", "page", "oca:s2", "Reading, moved", {"content": "<p>Read this</p>"}, visible=False),
    ]
    if with_attendance:
        sessions = [dict(SESSIONS[0], duration=5430), dict(SESSIONS[1], description="Training 2, room B"),
                    {"sessdate": 1643014800, "duration": 3600, "description": "Mentoring 2"}]
        updates.append(module("oca:attendance", "attendance", "", "Attendance", {"grade": 50, "sessions": sessions}))
    res = live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": updates})
    assert all(r["changed"] and not r["created"] for r in res)
    mods = modules_by_idnumber(state(live_moodle, course))
    assert mods["oca:survey"]["settings"]["questions"] == changed_questions
    assert mods["oca:t:page"]["name"] == "Reading, moved" and mods["oca:t:page"]["visible"] is False
    assert mods["oca:t:page"]["sectionnumber"] == sections["oca:s2"]
    if with_attendance:
        assert mods["oca:attendance"]["settings"] == {"grade": 50, "sessions": sessions}
    res = live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": updates})
    assert not any(r["changed"] for r in res)

    # Refusals write nothing, even for the valid items before them.
    def refused(items: list[dict[str, Any]]) -> str:
        return error_of(live_moodle, "local_ocasync_upsert_modules", {"courseid": course, "modules": items})

    new_page = module("oca:new", "page", "oca:s1", "New", {"content": "x"})
    assert refused([new_page, module("oca:t:url", "page", "oca:s1", "x", {"content": "x"})]) == "wrongmodname"
    assert refused([new_page, module("oca:x", "page", "oca:nope", "x", {"content": "x"})]) == "unknownsectionkey"
    assert refused([new_page, new_page]) == "duplicateidnumber"
    assert refused([new_page, module("oca:x", "forum", "oca:s1", "x")]) == "unsupportedmodname"
    assert refused([new_page, module("oca:x", "page", "oca:s1", "x", {"contents": "x"})]) == "invalidsettings"
    assert refused([new_page, module("oca:x", "resource", "oca:s1", "x", {})]) == "invalidsettings"
    assert refused([module("oca:x", "feedback", "oca:s1", "x", {"questions": [
        {"key": "a", "typ": "multichoice", "presentation": "Yes|No"}]})]) == "invalidsettings"
    assert refused([dict(new_page, settings="{not json")]) == "invalidsettings"
    assert refused([dict(new_page, idnumber=" ")]) == "invalididnumber"
    assert "oca:new" not in modules_by_idnumber(state(live_moodle, course))

    # Deleting: a section with modules is refused; modules, then their section, go.
    assert error_of(live_moodle, "local_ocasync_delete_sections",
                    {"courseid": course, "keys": ["oca:s1"]}) == "sectionnotempty"
    deleted = live_moodle.call("local_ocasync_delete_modules", {
        "courseid": course, "idnumbers": ["oca:t:url", "oca:t:label", "oca:absent"]})
    assert [(d["idnumber"], d["deleted"]) for d in deleted] == [
        ("oca:t:url", True), ("oca:t:label", True), ("oca:absent", False)]
    gone = live_moodle.call("local_ocasync_delete_sections", {"courseid": course, "keys": ["oca:s1", "oca:never"]})
    assert [(d["key"], d["deleted"]) for d in gone] == [("oca:s1", True), ("oca:never", False)]
    st = state(live_moodle, course)
    assert "oca:s1" not in sections_by_key(st)
    assert {"oca:t:url", "oca:t:label"}.isdisjoint(modules_by_idnumber(st))
    assert live_moodle.call("local_ocasync_delete_sections", {"courseid": course, "keys": ["oca:s1"]}) == [
        {"key": "oca:s1", "deleted": False}]


def test_feedback_with_responses_keeps_its_questions(live_moodle: MoodleClient, course: int):
    live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": [
        module("oca:survey", "feedback", "", "Survey", {"anonymous": 1, "questions": QUESTIONS[:1]})]})
    mods = modules_by_idnumber(state(live_moodle, course))
    try:
        items = live_moodle.call("mod_feedback_get_items", {"feedbackid": mods["oca:survey"]["instance"]})["items"]
        answer = live_moodle.call("mod_feedback_process_page", {
            "feedbackid": mods["oca:survey"]["instance"], "page": 0, "courseid": course,
            "responses": [{"name": f"{items[0]['typ']}_{items[0]['id']}", "value": "A CSO"}]})
    except MoodleError as e:
        if e.errorcode in UNAVAILABLE:
            pytest.skip(f"the token cannot answer a feedback ({e.errorcode})")
        raise
    assert answer["completed"] is True
    changed = [dict(QUESTIONS[0], name="Your organisation's name")]
    assert error_of(live_moodle, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        module("oca:survey", "feedback", "", "Survey", {"anonymous": 1, "questions": changed})]}) == "feedbackhasresponses"
    # The same questions, or other settings, are still fine.
    res = live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": [
        module("oca:survey", "feedback", "", "Survey", {"anonymous": 1, "timeclose": 1800000000,
                                                        "questions": QUESTIONS[:1]})]})
    assert res[0]["changed"] is True
    assert modules_by_idnumber(state(live_moodle, course))["oca:survey"]["settings"]["questions"] == QUESTIONS[:1]
