"""The sandbox's emulation of the companion plugin local_ocasync, over real HTTP.

What docs/plugin-api.md promises, function by function: behaviour, idempotence
(a second identical call changes nothing), errors (code and message from the
plugin's language file, whole batch rolled back) and the file upload endpoint.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from oca_sync.errors import MoodleError
from oca_sync.moodle.client import MoodleClient
from oca_sync.moodle.functions import PLUGIN_FUNCTIONS
from oca_sync.sandbox import MoodleSandbox

TOKEN = "0123456789abcdef0123456789abcdef"
SESS = 1642410000  # 2022-01-17 15:00 Asia/Bishkek


@pytest.fixture()
def moodle() -> Iterator[MoodleSandbox]:
    with MoodleSandbox(token=TOKEN, langs=("en", "ru", "ky")) as server:
        yield server


@pytest.fixture()
def client(moodle: MoodleSandbox) -> MoodleClient:
    return MoodleClient(moodle.url, moodle.token, timeout=10, backoff=0.01)


def fail(client: MoodleClient, function: str, params: dict[str, Any] | None = None) -> MoodleError:
    with pytest.raises(MoodleError) as info:
        client.call(function, params)
    return info.value


def new_course(client: MoodleClient, shortname: str = "OCA", numsections: int = 2) -> int:
    return int(client.call("core_course_create_courses", {"courses": [{
        "fullname": "Online Community Accelerator", "shortname": shortname, "categoryid": 1,
        "courseformatoptions": [{"name": "numsections", "value": numsections}],
    }]})[0]["id"])


def state(client: MoodleClient, courseid: int) -> dict[str, Any]:
    return client.call("local_ocasync_get_course_state", {"courseid": courseid})


def modules(client: MoodleClient, courseid: int) -> dict[str, dict[str, Any]]:
    return {m["idnumber"]: {**m, "settings": json.loads(m["settings"])} for m in state(client, courseid)["modules"]}


def sections(client: MoodleClient, courseid: int, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return client.call("local_ocasync_upsert_sections", {"courseid": courseid, "sections": items})


def upsert(client: MoodleClient, courseid: int, items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    sent = [{**m, "settings": json.dumps(m["settings"])} if isinstance(m.get("settings"), dict) else m
            for m in items]
    return client.call("local_ocasync_upsert_modules", {"courseid": courseid, "modules": sent})


def upload(moodle: MoodleSandbox, name: str, content: bytes, **form: Any) -> requests.Response:
    return requests.post(moodle.url + "/webservice/upload.php", data={"token": moodle.token, **form},
                         files={"file_1": (name, content)}, timeout=10)


@pytest.fixture()
def course(client: MoodleClient) -> int:
    courseid = new_course(client)
    sections(client, courseid, [{"key": "s1", "number": 1, "name": "Session 1"},
                                {"key": "s2", "number": 2, "name": "Session 2"}])
    return courseid


# --------------------------------------------------------------------------- #
# Installed or not
# --------------------------------------------------------------------------- #


def test_site_info_lists_the_plugin_functions_only_when_installed(client: MoodleClient) -> None:
    names = {f["name"] for f in client.call("core_webservice_get_site_info")["functions"]}
    assert set(PLUGIN_FUNCTIONS) <= names
    with MoodleSandbox(token=TOKEN, plugin=False) as bare:
        plain = MoodleClient(bare.url, TOKEN, timeout=10, backoff=0.01)
        names = {f["name"] for f in plain.call("core_webservice_get_site_info")["functions"]}
        assert not {n for n in names if n.startswith("local_ocasync_")}
        e = fail(plain, "local_ocasync_get_info")
        assert (e.errorcode, e.exception) == ("invalidrecordunknown", "dml_missing_record_exception")


def test_get_info(client: MoodleClient) -> None:
    from oca_sync.moodle.plugin_zip import plugin_version

    version, release = plugin_version()
    assert client.call("local_ocasync_get_info") == {
        "plugin_version": version, "plugin_release": release, "moodle_release": "5.1+ (Build: 20251017)",
        "moodle_version": "2025100600.02", "attendance_version": 2024020500,
        "multilang_enabled": False, "filterall": False,
        # sorted by the packs' own names, as get_list_of_translations() does: English, Кыргызча, Русский
        "languages": ["en", "ky", "ru"], "group_restrictions": True,
    }
    with MoodleSandbox(token=TOKEN, attendance=False, multilang_filter=True, filterall=True,
                       langs=("en", "uz", "kk")) as other:
        info = MoodleClient(other.url, TOKEN, timeout=10).call("local_ocasync_get_info")
        assert (info["attendance_version"], info["multilang_enabled"], info["filterall"]) == (0, True, True)
        assert info["languages"] == ["en", "uz", "kk"]  # English, O‘zbekcha, Қазақша


def test_list_roles(client: MoodleClient) -> None:
    roles = client.call("local_ocasync_list_roles")
    assert [(r["id"], r["shortname"], r["name"], r["archetype"], r["coursecontext"]) for r in roles] == [
        (1, "manager", "Manager", "manager", True),
        (2, "coursecreator", "Course creator", "coursecreator", False),
        (3, "editingteacher", "Teacher", "editingteacher", True),
        (4, "teacher", "Non-editing teacher", "teacher", True),
        (5, "student", "Student", "student", True),
        (6, "guest", "Guest", "guest", False),
        (7, "user", "Authenticated user", "user", False),
        (8, "frontpage", "Authenticated user on site home", "frontpage", False),
    ]


# --------------------------------------------------------------------------- #
# get_course_state
# --------------------------------------------------------------------------- #


def test_course_state_of_a_fresh_course(client: MoodleClient) -> None:
    courseid = new_course(client, numsections=2)
    got = state(client, courseid)
    assert (got["courseid"], got["format"], got["modules"]) == (courseid, "topics", [])
    assert [(s["number"], s["key"], s["name"], s["summary"], s["visible"]) for s in got["sections"]] == [
        (0, "", "", "", True), (1, "", "", "", True), (2, "", "", "", True)]


@pytest.mark.parametrize("courseid", [999, 1])
def test_unknown_course_and_the_site_course_are_invalidcourseid(client: MoodleClient, courseid: int) -> None:
    for function, params in [("local_ocasync_get_course_state", {}),
                             ("local_ocasync_upsert_sections", {"sections": [{"key": "a", "number": 1}]}),
                             ("local_ocasync_delete_modules", {"idnumbers": ["x"]})]:
        e = fail(client, function, {"courseid": courseid, **params})
        assert e.errorcode == "invalidcourseid"
        assert e.remote_message == "You are trying to use an invalid course ID"


def test_parameters_are_validated_like_moodle(client: MoodleClient, course: int) -> None:
    e = fail(client, "local_ocasync_upsert_sections", {"courseid": course, "sections": [{"key": "a"}]})
    assert e.errorcode == "invalidparameter"
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {"idnumber": "x", "modname": "url", "sectionkey": "", "name": "<b>bold</b>"}]})
    assert e.errorcode == "invalidparameter"  # PARAM_TEXT: tags other than multilang spans


# --------------------------------------------------------------------------- #
# upsert_sections
# --------------------------------------------------------------------------- #


def test_upsert_sections_creates_maps_and_is_idempotent(client: MoodleClient) -> None:
    courseid = new_course(client, numsections=2)
    items = [{"key": "oca:s1", "number": 1, "name": '<span lang="en" class="multilang">One</span>'
              '<span lang="ru" class="multilang">Один</span>', "summary": "<p>First</p>"},
             {"key": "oca:s2", "number": 2, "name": "Two", "visible": False}]
    first = sections(client, courseid, items)
    assert [(r["key"], r["number"], r["created"], r["changed"]) for r in first] == [
        ("oca:s1", 1, True, True), ("oca:s2", 2, True, True)]
    got = state(client, courseid)["sections"]
    assert [(s["number"], s["key"], s["name"], s["visible"]) for s in got] == [
        (0, "", "", True), (1, "oca:s1", items[0]["name"], True), (2, "oca:s2", "Two", False),
        (3, "", "", True), (4, "", "", True)]
    assert got[1]["summary"] == "<p>First</p>" and got[1]["id"] == first[0]["id"]
    again = sections(client, courseid, items)
    assert [(r["id"], r["created"], r["changed"]) for r in again] == [(r["id"], False, False) for r in first]
    # The core course editor sees them (rawtitle is the stored name).
    core = json.loads(client.call("core_courseformat_get_state", {"courseid": courseid}))
    assert [s["rawtitle"] for s in core["section"]][:3] == [None, items[0]["name"], "Two"]


def test_upsert_sections_updates_moves_and_clamps(client: MoodleClient) -> None:
    courseid = new_course(client, numsections=1)
    sections(client, courseid, [{"key": "a", "number": 1, "name": "A"}, {"key": "b", "number": 2, "name": "B"}])
    # Renaming back to the default name stores null; moving b before a renumbers both.
    result = sections(client, courseid, [{"key": "b", "number": 1, "name": ""}, {"key": "a", "number": 2, "name": "A"}])
    assert [(r["key"], r["number"], r["changed"]) for r in result] == [("b", 1, True), ("a", 2, False)]
    got = state(client, courseid)["sections"]
    assert [(s["number"], s["key"], s["name"]) for s in got] == [(0, "", ""), (1, "b", ""), (2, "a", "A"), (3, "", "")]
    # A number beyond the last top-level section puts the section last.
    far = sections(client, courseid, [{"key": "b", "number": 99, "name": ""}])
    assert (far[0]["number"], far[0]["changed"]) == (3, True)
    assert sections(client, courseid, [{"key": "b", "number": 99, "name": ""}])[0]["changed"] is False
    # A new section at a position pushes the others down.
    new = sections(client, courseid, [{"key": "c", "number": 1}])
    assert (new[0]["number"], new[0]["created"]) == (1, True)
    assert [s["key"] for s in state(client, courseid)["sections"]] == ["", "c", "a", "", "b"]


def test_upsert_sections_errors_roll_back_the_whole_batch(client: MoodleClient) -> None:
    courseid = new_course(client, numsections=0)
    before = state(client, courseid)
    e = fail(client, "local_ocasync_upsert_sections", {"courseid": courseid, "sections": [
        {"key": "ok", "number": 1}, {"key": "bad key", "number": 2}]})
    assert e.errorcode == "invalidkey"
    assert e.remote_message == 'Invalid key "bad key": it must match ^[A-Za-z0-9:_.#-]{1,100}$ and be given once.'
    e = fail(client, "local_ocasync_upsert_sections", {"courseid": courseid, "sections": [
        {"key": "k", "number": 1}, {"key": "k", "number": 2}]})
    assert e.errorcode == "invalidkey"
    e = fail(client, "local_ocasync_upsert_sections", {"courseid": courseid, "sections": [{"key": "k", "number": 0}]})
    assert (e.errorcode, e.remote_message) == (
        "invalidposition", "Invalid position 0 for a section: positions start at 1.")
    e = fail(client, "local_ocasync_upsert_sections", {"courseid": courseid, "sections": [
        {"key": "ok", "number": 1}, {"key": "x" * 101, "number": 2}]})
    assert e.errorcode == "invalidkey"
    assert state(client, courseid) == before


def test_a_section_deleted_by_hand_is_recreated(moodle: MoodleSandbox, client: MoodleClient) -> None:
    courseid = new_course(client, numsections=0)
    first = sections(client, courseid, [{"key": "s", "number": 1, "name": "S"}])
    client.call("core_courseformat_update_course", {"action": "section_delete", "courseid": courseid,
                                                    "ids": [first[0]["id"]]})
    with moodle.locked_state() as st:
        assert not st.ocasync_sections  # the plugin's observer dropped the key
    again = sections(client, courseid, [{"key": "s", "number": 1, "name": "S"}])
    assert again[0]["created"] is True and again[0]["id"] != first[0]["id"]


def test_upsert_sections_adopts_an_existing_section(client: MoodleClient) -> None:
    courseid = new_course(client, numsections=2)
    existing = state(client, courseid)["sections"][2]
    result = sections(client, courseid, [{"key": "old", "number": 2, "sectionid": existing["id"]}])
    assert (result[0]["id"], result[0]["created"]) == (existing["id"], False)
    assert state(client, courseid)["sections"][2]["key"] == "old"
    for bad in (existing["id"], state(client, courseid)["sections"][0]["id"], 9999):
        e = fail(client, "local_ocasync_upsert_sections", {"courseid": courseid, "sections": [
            {"key": "new", "number": 1, "sectionid": bad}]})
        assert e.errorcode == "invalidsectionid"
        assert e.remote_message.startswith(f"Section {bad} cannot be taken under a key")


def test_hiding_a_section_hides_its_modules(client: MoodleClient, course: int) -> None:
    upsert(client, course, [{"idnumber": "p", "modname": "page", "sectionkey": "s1", "name": "P",
                             "settings": {"content": "<p>x</p>"}}])
    sections(client, course, [{"key": "s1", "number": 1, "name": "Session 1", "visible": False}])
    assert modules(client, course)["p"]["visible"] is False
    # In a hidden section visibility is not compared: asking for visible changes nothing.
    again = upsert(client, course, [{"idnumber": "p", "modname": "page", "sectionkey": "s1", "name": "P",
                                     "visible": True, "settings": {"content": "<p>x</p>"}}])
    assert again[0]["changed"] is False
    sections(client, course, [{"key": "s1", "number": 1, "name": "Session 1", "visible": True}])
    assert modules(client, course)["p"]["visible"] is True


# --------------------------------------------------------------------------- #
# upsert_modules: each type
# --------------------------------------------------------------------------- #


def all_types(draftitemid: int) -> list[dict[str, Any]]:
    return [
        {"idnumber": "oca:url", "modname": "url", "sectionkey": "s1", "name": "Zoom",
         "intro": "<p>Join</p>", "settings": {"externalurl": "zoom.us/j/123?a=1&amp;b=2"}},
        {"idnumber": "oca:page", "modname": "page", "sectionkey": "s1", "name": "Agenda",
         "settings": {"content": "<p>Agenda</p>"}},
        {"idnumber": "oca:label", "modname": "label", "sectionkey": "",
         "intro": '<p>Welcome to <b>OCA</b> &amp; friends</p>'},
        {"idnumber": "oca:file", "modname": "resource", "sectionkey": "s2", "name": "Slides",
         "settings": {"draftitemid": draftitemid}},
        {"idnumber": "oca:survey", "modname": "feedback", "sectionkey": "s2", "name": "Pre-survey",
         "settings": {"anonymous": 2, "questions": [
             {"key": "q1", "typ": "multichoice", "name": "Org type", "presentation": "r>>>>>NGO|Media",
              "required": True},
             {"key": "q2", "typ": "textarea", "name": "Expectations", "presentation": "40|5"},
             {"key": "q0", "typ": "label", "presentation": "<p>Thanks</p>", "position": 9}]}},
        {"idnumber": "oca:att", "modname": "attendance", "sectionkey": "s2", "name": "Attendance",
         "settings": {"sessions": [{"sessdate": SESS, "duration": 5400, "description": "Session 1"},
                                   {"sessdate": SESS + 86400}]}},
    ]


def test_upsert_modules_creates_every_type_and_is_idempotent(moodle: MoodleSandbox, client: MoodleClient,
                                                            course: int) -> None:
    draft = upload(moodle, "slides.pdf", b"%PDF-1.4 slides").json()[0]["itemid"]
    items = all_types(draft)
    first = upsert(client, course, items)
    assert [(r["idnumber"], r["created"], r["changed"]) for r in first] == [
        (m["idnumber"], True, True) for m in items]
    again = upsert(client, course, items)
    assert [(r["cmid"], r["created"], r["changed"]) for r in again] == [(r["cmid"], False, False) for r in first]

    got = modules(client, course)
    assert list(got) == ["oca:label", "oca:url", "oca:page", "oca:file", "oca:survey", "oca:att"]  # section, cmid
    assert got["oca:url"]["settings"] == {"externalurl": "http://zoom.us/j/123?a=1&b=2", "display": 0}
    assert (got["oca:url"]["name"], got["oca:url"]["intro"], got["oca:url"]["sectionnumber"]) == (
        "Zoom", "<p>Join</p>", 1)
    assert got["oca:page"]["settings"] == {"content": "<p>Agenda</p>"}
    assert got["oca:label"]["name"] == "Welcome to OCA & friends" and got["oca:label"]["settings"] == {}
    assert got["oca:file"]["settings"] == {"filename": "slides.pdf", "filesize": 15,
                                           "contenthash": hashlib.sha1(b"%PDF-1.4 slides").hexdigest()}
    survey = got["oca:survey"]["settings"]
    assert (survey["anonymous"], survey["timeopen"], survey["timeclose"]) == (2, 0, 0)
    assert survey["questions"] == [
        {"key": "q1", "typ": "multichoice", "name": "Org type", "label": "", "presentation": "r>>>>>NGO|Media",
         "required": True, "position": 1},
        {"key": "q2", "typ": "textarea", "name": "Expectations", "label": "", "presentation": "40|5",
         "required": False, "position": 2},
        {"key": "q0", "typ": "label", "name": "", "label": "", "presentation": "<p>Thanks</p>",
         "required": False, "position": 9}]
    assert got["oca:att"]["settings"] == {"grade": 100, "sessions": [
        {"sessdate": SESS, "duration": 5400, "description": "Session 1"},
        {"sessdate": SESS + 86400, "duration": 0, "description": ""}]}
    assert all(m["visible"] for m in got.values())
    # The settings are JSON with unescaped slashes, as util::json() writes them.
    raw = {m["idnumber"]: m["settings"] for m in state(client, course)["modules"]}
    assert raw["oca:url"] == '{"externalurl":"http://zoom.us/j/123?a=1&b=2","display":0}'
    assert moodle.file_content(got["oca:file"]["settings"]["contenthash"]) == b"%PDF-1.4 slides"


def test_core_functions_see_the_modules_and_events(moodle: MoodleSandbox, client: MoodleClient,
                                                   course: int) -> None:
    draft = upload(moodle, "slides.pdf", b"x").json()[0]["itemid"]
    created = {r["idnumber"]: r["cmid"] for r in upsert(client, course, all_types(draft))}
    contents = client.call("core_course_get_contents", {"courseid": course})
    listed = {m["id"]: (s["section"], m["modname"]) for s in contents for m in s["modules"]}
    assert listed[created["oca:url"]] == (1, "url") and listed[created["oca:att"]] == (2, "attendance")
    assert listed[created["oca:label"]] == (0, "label")
    core = json.loads(client.call("core_courseformat_get_state", {"courseid": course}))
    cmlists = {s["number"]: s["cmlist"] for s in core["section"]}
    assert cmlists[1] == [created["oca:url"], created["oca:page"]]
    assert cmlists[2] == [created["oca:file"], created["oca:survey"], created["oca:att"]]
    # ... and the course's announcements forum, which Moodle makes with the course
    assert {cm["id"] for cm in core["cm"] if cm["module"] != "forum"} == set(created.values())
    assert [cm["module"] for cm in core["cm"] if cm["id"] not in created.values()] == ["forum"]
    events = client.call("core_calendar_get_calendar_events", {"events": {"courseids": [course]}})["events"]
    att = [e for e in events if e["modulename"] == "attendance"]
    assert [(e["eventtype"], e["timestart"], e["timeduration"], e["name"]) for e in att] == [
        ("attendance", SESS, 5400, "Attendance"), ("attendance", SESS + 86400, 0, "Attendance")]
    assert all(e["courseid"] == course and e["instance"] == modules(client, course)["oca:att"]["instance"]
               for e in att)


def test_module_updates_write_only_what_differs(client: MoodleClient, course: int) -> None:
    item = {"idnumber": "u", "modname": "url", "sectionkey": "s1", "name": "Link",
            "settings": {"externalurl": "https://example.org/a", "display": 0}}
    cmid = upsert(client, course, [item])[0]["cmid"]
    for change in ({"name": "Link 2"}, {"intro": "<p>more</p>"}, {"visible": False},
                   {"settings": {"externalurl": "https://example.org/b", "display": 5}}):
        item = {**item, **change}
        result = upsert(client, course, [item])
        assert (result[0]["cmid"], result[0]["created"], result[0]["changed"]) == (cmid, False, True), change
        assert upsert(client, course, [item])[0]["changed"] is False, change
    got = modules(client, course)["u"]
    assert (got["name"], got["intro"], got["visible"], got["settings"]) == (
        "Link 2", "<p>more</p>", False, {"externalurl": "https://example.org/b", "display": 5})
    # Moving to another section.
    moved = upsert(client, course, [{**item, "sectionkey": "s2"}])
    assert moved[0]["changed"] is True and modules(client, course)["u"]["sectionnumber"] == 2


def test_label_names_derive_from_the_text(client: MoodleClient, course: int) -> None:
    long_text = "<p>" + "word " * 30 + "</p>"
    upsert(client, course, [{"idnumber": "l", "modname": "label", "sectionkey": "", "intro": long_text}])
    name = modules(client, course)["l"]["name"]
    assert name == "word " * 10 + "..."  # the first 50 characters
    upsert(client, course, [{"idnumber": "l", "modname": "label", "sectionkey": "", "intro": "<p>Short</p>"}])
    assert modules(client, course)["l"]["name"] == "Short"
    upsert(client, course, [{"idnumber": "l", "modname": "label", "sectionkey": "", "intro": "<p></p>"}])
    assert modules(client, course)["l"]["name"] == "Text and media area"
    named = {"idnumber": "l", "modname": "label", "sectionkey": "", "name": "Named", "intro": "<p></p>"}
    assert upsert(client, course, [named])[0]["changed"] is True
    assert modules(client, course)["l"]["name"] == "Named"
    assert upsert(client, course, [named])[0]["changed"] is False


def test_resource_files_compare_by_content_hash(moodle: MoodleSandbox, client: MoodleClient, course: int) -> None:
    def item(draft: int | None) -> dict[str, Any]:
        return {"idnumber": "f", "modname": "resource", "sectionkey": "s1", "name": "Handout",
                "settings": {"draftitemid": draft} if draft else {}}

    first = upload(moodle, "handout.pdf", b"version 1").json()[0]["itemid"]
    assert upsert(client, course, [item(first)])[0]["created"] is True
    same = upload(moodle, "handout.pdf", b"version 1").json()[0]["itemid"]
    assert same != first
    assert upsert(client, course, [item(same)])[0]["changed"] is False  # same name and content
    assert upsert(client, course, [item(None)])[0]["changed"] is False  # {} keeps the file
    other = upload(moodle, "handout.pdf", b"version 2").json()[0]["itemid"]
    assert upsert(client, course, [item(other)])[0]["changed"] is True
    assert modules(client, course)["f"]["settings"]["contenthash"] == hashlib.sha1(b"version 2").hexdigest()
    renamed = upload(moodle, "handout-v2.pdf", b"version 2").json()[0]["itemid"]
    assert upsert(client, course, [item(renamed)])[0]["changed"] is True
    assert modules(client, course)["f"]["settings"]["filename"] == "handout-v2.pdf"
    # A new resource needs a draft; a draft area must hold exactly one file.
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {**item(None), "idnumber": "g", "settings": "{}"}]})
    assert e.remote_message == ('Invalid settings: a new resource needs "draftitemid" (upload the file through '
                                '/webservice/upload.php)')
    upload(moodle, "second.pdf", b"2", itemid=other)
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {**item(None), "settings": json.dumps({"draftitemid": other})}]})
    assert e.remote_message == f"Invalid settings: the draft area {other} of the current user holds 2 files, not 1"
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {**item(None), "settings": json.dumps({"draftitemid": 424242})}]})
    assert e.remote_message.endswith("holds 0 files, not 1")


def test_feedback_questions_are_replaced_only_when_they_differ(moodle: MoodleSandbox, client: MoodleClient,
                                                               course: int) -> None:
    questions = [{"key": "q1", "typ": "numeric", "name": "Members", "presentation": "0|100000"},
                 {"key": "q2", "typ": "multichoicerated", "name": "Rate", "presentation": "r>>>>>1####Poor|2####Good"}]
    item = {"idnumber": "fb", "modname": "feedback", "sectionkey": "s1", "name": "Survey",
            "settings": {"questions": questions}}
    cmid = upsert(client, course, [item])[0]["cmid"]
    assert upsert(client, course, [item])[0]["changed"] is False
    changed = {**item, "settings": {"questions": [questions[1], questions[0]]}}  # positions from the order
    assert upsert(client, course, [changed])[0]["changed"] is True
    assert [q["key"] for q in modules(client, course)["fb"]["settings"]["questions"]] == ["q2", "q1"]
    # Other settings still change once somebody answered; the questions do not.
    moodle.add_feedback_response(cmid)
    reopened = {**changed, "settings": {**changed["settings"], "timeopen": SESS}}
    assert upsert(client, course, [reopened])[0]["changed"] is True
    events = client.call("core_calendar_get_calendar_events", {"events": {"courseids": [course]}})["events"]
    assert [(e["modulename"], e["eventtype"], e["name"]) for e in events] == [("feedback", "open", "Survey opens")]
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {**item, "settings": json.dumps({"timeopen": SESS, "questions": questions[:1]})}]})
    assert e.errorcode == "feedbackhasresponses"
    assert e.remote_message == ('The questions of the feedback "fb" differ from the requested ones, but it already '
                                'has responses: its questions are not replaced.')


def test_attendance_sessions_match_by_sessdate(moodle: MoodleSandbox, client: MoodleClient, course: int) -> None:
    def item(sessions: list[dict[str, Any]]) -> dict[str, Any]:
        return {"idnumber": "att", "modname": "attendance", "sectionkey": "s1", "name": "Attendance",
                "settings": {"grade": 10, "sessions": sessions}}

    def events() -> list[tuple[int, int, str]]:
        found = client.call("core_calendar_get_calendar_events", {"events": {"courseids": [course]}})["events"]
        return [(e["timestart"], e["timeduration"], e["description"]) for e in found if e["eventtype"] == "attendance"]

    s1 = {"sessdate": SESS, "duration": 3600, "description": "<p>One</p>"}
    s2 = {"sessdate": SESS + 86400, "duration": 3600}
    cmid = upsert(client, course, [item([s1, s2])])[0]["cmid"]
    assert upsert(client, course, [item([s2, s1])])[0]["changed"] is False  # order does not matter
    assert events() == [(SESS, 3600, "<p>One</p>"), (SESS + 86400, 3600, "")]
    # Duration (to the second) and description updates; their events follow.
    assert upsert(client, course, [item([{**s1, "duration": 5430, "description": "<p>1</p>"}, s2])])[0]["changed"]
    assert events() == [(SESS, 5430, "<p>1</p>"), (SESS + 86400, 3600, "")]
    # A session not in the list is removed with its event, unless attendance was taken in it.
    moodle.take_attendance(cmid, SESS)
    assert upsert(client, course, [item([s2])])[0]["changed"] is False
    assert [s["sessdate"] for s in modules(client, course)["att"]["settings"]["sessions"]] == [SESS, SESS + 86400]
    assert upsert(client, course, [item([])])[0]["changed"] is True
    assert modules(client, course)["att"]["settings"]["sessions"] == [
        {"sessdate": SESS, "duration": 5430, "description": "<p>1</p>"}]
    assert events() == [(SESS, 5430, "<p>1</p>")]
    # Hiding the activity hides its events.
    upsert(client, course, [{**item([]), "visible": False}])
    assert events() == []


def test_attendance_needs_mod_attendance(client: MoodleClient) -> None:
    with MoodleSandbox(token=TOKEN, attendance=False) as bare:
        plain = MoodleClient(bare.url, TOKEN, timeout=10)
        courseid = new_course(plain)
        e = fail(plain, "local_ocasync_upsert_modules", {"courseid": courseid, "modules": [
            {"idnumber": "a", "modname": "attendance", "sectionkey": ""}]})
        assert (e.errorcode, e.remote_message) == (
            "modulenotinstalled", 'The activity module "attendance" is not installed or is disabled on this site.')


def test_a_disabled_module_is_not_installed(moodle: MoodleSandbox, client: MoodleClient, course: int) -> None:
    moodle.set_module_enabled("page", False)
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {"idnumber": "p", "modname": "page", "sectionkey": "", "settings": '{"content": ""}'}]})
    assert e.errorcode == "modulenotinstalled"


# --------------------------------------------------------------------------- #
# upsert_modules: errors
# --------------------------------------------------------------------------- #

INVALID_SETTINGS = [
    ("url", "[1]", "settings must be a JSON object"),
    ("url", "not json", "settings must be a JSON object"),
    ("url", '{"externalurl": "https://x.org", "popup": 1}', "unknown settings for url: popup"),
    ("url", "{}", 'url needs "externalurl"'),
    ("url", '{"externalurl": "http://bad url with spaces"}', "invalid externalurl http://bad url with spaces"),
    ("url", '{"externalurl": "https://x.org", "display": 7}', '"display" must be an integer 0..6, got 7'),
    ("url", '{"externalurl": "https://x.org", "display": "a/b"}', '"display" must be an integer 0..6, got "a\\/b"'),
    ("page", '{"content": 5}', 'page needs "content" (HTML)'),
    ("label", '{"content": "x"}', "unknown settings for label: content"),
    ("feedback", '{"anonymous": 3}', '"anonymous" must be an integer 1..2, got 3'),
    ("feedback", '{"questions": {"a": 1}}', '"questions" must be a list'),
    ("feedback", '{"questions": [5]}', "questions[0] must be an object"),
    ("feedback", '{"questions": [{"key": "a"}]}', 'questions[0] needs "typ"'),
    ("feedback", '{"questions": [{"key": "a", "typ": "date"}]}',
     'questions[0]: typ "date" is not one of textfield, textarea, multichoice, multichoicerated, numeric, info, label'),
    ("feedback", '{"questions": [{"key": "a", "typ": "textfield", "presentation": "30"}]}',
     'questions[0]: presentation "30" is not valid for textfield'),
    ("feedback", '{"questions": [{"key": "a", "typ": "info", "presentation": "2"}, {"key": "a", "typ": "info"}]}',
     'questions[1]: key "a" is invalid or given twice'),
    ("feedback", '{"questions": [{"key": "a", "typ": "label", "hint": 1}]}', "questions[0]: unknown fields hint"),
    ("feedback", '{"questions": [{"key": "a", "typ": "label", "required": "yes"}]}',
     "questions[0]: required must be a boolean"),
    ("feedback", '{"questions": [{"key": "a", "typ": "label", "position": 1000}]}',
     '"questions[0].position" must be an integer 1..999, got 1000'),
    ("feedback", '{"questions": [{"key": "a", "typ": "label"}, {"key": "b", "typ": "label", "position": 1}]}',
     "questions[1]: position 1 given twice"),
    ("attendance", '{"sessions": [{"duration": 60}]}', 'sessions[0] needs "sessdate"'),
    ("attendance", '{"sessions": [{"sessdate": 5}, {"sessdate": "5"}]}', "sessions[1]: sessdate 5 given twice"),
    ("attendance", '{"sessions": [{"sessdate": 5, "duration": -1}]}',
     '"sessions[0].duration" must be an integer >= 0, got -1'),
    ("attendance", '{"grade": 1.5}', '"grade" must be an integer >= -9223372036854775807, got 1.5'),
    ("resource", '{"draftitemid": 0}', '"draftitemid" must be an integer >= 1, got 0'),
]


@pytest.mark.parametrize(("modname", "settings", "why"), INVALID_SETTINGS)
def test_invalid_settings(client: MoodleClient, course: int, modname: str, settings: str, why: str) -> None:
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {"idnumber": "m", "modname": modname, "sectionkey": "", "settings": settings}]})
    assert (e.errorcode, e.remote_message) == ("invalidsettings", f"Invalid settings: {why}")


def test_settings_are_read_like_php_json_decode(client: MoodleClient, course: int) -> None:
    """json_decode($json, true): "" and [] are an empty array (accepted), a list-like object is not an object."""
    for settings in ("", "[]", "{}", "  "):
        assert upsert(client, course, [{"idnumber": "l", "modname": "label", "sectionkey": "", "intro": "x",
                                        "settings": settings}])[0]["cmid"]
    for settings in ('{"0": 1}', "null", "5", "NaN"):
        e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
            {"idnumber": "l", "modname": "label", "sectionkey": "", "settings": settings}]})
        assert e.remote_message == "Invalid settings: settings must be a JSON object", settings
    # Integers may come as strings; floats are refused even when whole.
    item = {"idnumber": "u", "modname": "url", "sectionkey": "",
            "settings": '{"externalurl": "https://x.org", "display": "5"}'}
    assert upsert(client, course, [item])[0]["created"] is True
    assert modules(client, course)["u"]["settings"]["display"] == 5
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {**item, "settings": '{"externalurl": "https://x.org", "display": 5.0}'}]})
    assert e.remote_message == 'Invalid settings: "display" must be an integer 0..6, got 5'  # PHP's json_encode(5.0)


def test_upsert_modules_errors(moodle: MoodleSandbox, client: MoodleClient, course: int) -> None:
    def error_of(*items: dict[str, Any]) -> MoodleError:
        return fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
            {"sectionkey": "", "settings": '{"content": ""}', "modname": "page", **m} for m in items]})

    e = error_of({"idnumber": "a"}, {"idnumber": "a"})
    assert (e.errorcode, e.remote_message) == ("duplicateidnumber", (
        'The idnumber "a" is given twice in the request, or more than one course module of this course has it '
        "(then fix it by hand first)."))
    for bad in (" a", "a ", "", "x" * 101):
        e = error_of({"idnumber": bad})
        assert (e.errorcode, e.remote_message) == (
            "invalididnumber",
            f'Invalid idnumber "{bad}": it must be 1 to 100 characters without leading or trailing spaces.')
    assert error_of({"idnumber": "a", "modname": "forum"}).remote_message == (
        'Module type "forum" is not managed by oca-sync (url, page, label, resource, feedback, attendance).')
    e = error_of({"idnumber": "a", "sectionkey": "nope"})
    assert (e.errorcode, e.remote_message) == ("unknownsectionkey", 'No section of this course has the key "nope".')
    assert error_of({"idnumber": "a", "sectionkey": "bad key"}).errorcode == "unknownsectionkey"
    upsert(client, course, [{"idnumber": "u", "modname": "url", "sectionkey": "", "settings": {"externalurl": "x.org"}}])
    e = error_of({"idnumber": "u"})
    assert (e.errorcode, e.remote_message) == (
        "wrongmodname", 'The idnumber "u" belongs to a module of type "url", not "page".')
    moodle.add_module(course, 1, "forum", "Forum A", idnumber="dup")
    moodle.add_module(course, 1, "forum", "Forum B", idnumber="dup")
    assert error_of({"idnumber": "dup"}).errorcode == "duplicateidnumber"


def test_an_error_rolls_back_the_whole_batch(moodle: MoodleSandbox, client: MoodleClient, course: int) -> None:
    # feedbackhasresponses can only be found while writing: the writes before it are undone.
    created = upsert(client, course, [
        {"idnumber": "p", "modname": "page", "sectionkey": "s1", "name": "P", "settings": {"content": "<p>1</p>"}},
        {"idnumber": "fb", "modname": "feedback", "sectionkey": "s1",
         "settings": {"questions": [{"key": "q", "typ": "info", "presentation": "1"}]}}])
    moodle.add_feedback_response(created[1]["cmid"])
    before = state(client, course)
    events = client.call("core_calendar_get_calendar_events", {"events": {"courseids": [course]}})
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {"idnumber": "new", "modname": "attendance", "sectionkey": "",
         "settings": json.dumps({"sessions": [{"sessdate": SESS}]})},
        {"idnumber": "p", "modname": "page", "sectionkey": "s2", "name": "P2", "settings": '{"content": "<p>2</p>"}'},
        {"idnumber": "fb", "modname": "feedback", "sectionkey": "s1", "settings": '{"timeopen": 5}'}]})
    assert e.errorcode == "feedbackhasresponses"
    assert state(client, course) == before
    assert client.call("core_calendar_get_calendar_events", {"events": {"courseids": [course]}}) == events
    # Sections too: adopting an invalid section fails after the first item was created.
    e = fail(client, "local_ocasync_upsert_sections", {"courseid": course, "sections": [
        {"key": "new", "number": 1}, {"key": "other", "number": 2, "sectionid": 9999}]})
    assert e.errorcode == "invalidsectionid"
    assert state(client, course) == before


def test_other_keyed_modules_are_listed_with_empty_settings(moodle: MoodleSandbox, client: MoodleClient,
                                                            course: int) -> None:
    cmid = moodle.add_module(course, 2, "forum", "Discussion", idnumber="oca:forum")
    moodle.add_module(course, 2, "forum", "Not ours")
    got = state(client, course)["modules"]
    assert [(m["cmid"], m["idnumber"], m["modname"], m["sectionnumber"], m["name"], m["settings"]) for m in got] == [
        (cmid, "oca:forum", "forum", 2, "Discussion", "{}")]


# --------------------------------------------------------------------------- #
# delete_modules / delete_sections
# --------------------------------------------------------------------------- #


def test_delete_modules(moodle: MoodleSandbox, client: MoodleClient, course: int) -> None:
    upsert(client, course, [
        {"idnumber": "att", "modname": "attendance", "sectionkey": "s1", "settings": {"sessions": [{"sessdate": SESS}]}},
        {"idnumber": "fb", "modname": "feedback", "sectionkey": "s1",
         "settings": {"questions": [{"key": "q", "typ": "info", "presentation": "2"}]}}])
    result = client.call("local_ocasync_delete_modules", {"courseid": course, "idnumbers": ["att", "fb", "none"]})
    assert result == [{"idnumber": "att", "deleted": True}, {"idnumber": "fb", "deleted": True},
                      {"idnumber": "none", "deleted": False}]
    assert state(client, course)["modules"] == []
    assert client.call("core_calendar_get_calendar_events", {"events": {"courseids": [course]}})["events"] == []
    with moodle.locked_state() as st:
        assert not st.feedback_items and not st.ocasync_items and not st.attendance_sessions
    again = client.call("local_ocasync_delete_modules", {"courseid": course, "idnumbers": ["att"]})
    assert again == [{"idnumber": "att", "deleted": False}]
    assert fail(client, "local_ocasync_delete_modules", {"courseid": course, "idnumbers": [" x"]}).errorcode == (
        "invalididnumber")
    keep = moodle.add_module(course, 1, "forum", "A", idnumber="dup")
    moodle.add_module(course, 1, "forum", "B", idnumber="dup")
    upsert(client, course, [{"idnumber": "p", "modname": "page", "sectionkey": "", "settings": {"content": ""}}])
    e = fail(client, "local_ocasync_delete_modules", {"courseid": course, "idnumbers": ["p", "dup"]})
    assert e.errorcode == "duplicateidnumber"
    assert {m["idnumber"] for m in state(client, course)["modules"]} == {"p", "dup"}  # nothing deleted
    assert keep in {m["cmid"] for m in state(client, course)["modules"]}


def test_delete_sections(client: MoodleClient, course: int) -> None:
    upsert(client, course, [{"idnumber": "p", "modname": "page", "sectionkey": "s2", "settings": {"content": ""}}])
    e = fail(client, "local_ocasync_delete_sections", {"courseid": course, "keys": ["s1", "s2"]})
    assert (e.errorcode, e.remote_message) == (
        "sectionnotempty", 'The section with key "s2" still holds modules: delete or move them first.')
    assert [s["key"] for s in state(client, course)["sections"]].count("s1") == 1  # rolled back
    assert fail(client, "local_ocasync_delete_sections", {"courseid": course, "keys": ["a b"]}).errorcode == "invalidkey"
    result = client.call("local_ocasync_delete_sections", {"courseid": course, "keys": ["s1", "gone"]})
    assert result == [{"key": "s1", "deleted": True}, {"key": "gone", "deleted": False}]
    got = state(client, course)["sections"]
    assert [(s["number"], s["key"]) for s in got] == [(0, ""), (1, "s2"), (2, ""), (3, "")]
    client.call("local_ocasync_delete_modules", {"courseid": course, "idnumbers": ["p"]})
    assert client.call("local_ocasync_delete_sections", {"courseid": course, "keys": ["s2"]}) == [
        {"key": "s2", "deleted": True}]
    created = sections(client, course, [{"key": "s2", "number": 1}])
    assert created[0]["created"] is True


def test_deleting_a_course_drops_its_keys(moodle: MoodleSandbox, client: MoodleClient, course: int) -> None:
    upsert(client, course, [{"idnumber": "fb", "modname": "feedback", "sectionkey": "s1",
                             "settings": {"questions": [{"key": "q", "typ": "info", "presentation": "1"}]}},
                            {"idnumber": "att", "modname": "attendance", "sectionkey": "s2",
                             "settings": {"sessions": [{"sessdate": SESS}]}}])
    client.call("core_course_delete_courses", {"courseids": [course]})
    with moodle.locked_state() as st:
        assert not st.ocasync_sections and not st.ocasync_items
        assert not st.feedback_items and not st.attendance_sessions and not st.events
        assert not any(st.mod_instances.values())


# --------------------------------------------------------------------------- #
# /webservice/upload.php
# --------------------------------------------------------------------------- #


def test_upload_answers_like_moodle(moodle: MoodleSandbox) -> None:
    r = upload(moodle, "notes.txt", b"hello")
    assert r.status_code == 200 and r.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert r.headers["Access-Control-Allow-Origin"] == "*"
    [record] = r.json()
    assert list(record) == ["component", "contextid", "userid", "filearea", "filename", "filepath", "itemid",
                            "license", "author", "source", "filesize"]
    assert {k: v for k, v in record.items() if k != "itemid"} == {
        "component": "user", "contextid": record["contextid"], "userid": "2", "filearea": "draft",
        "filename": "notes.txt", "filepath": "/", "license": "unknown", "author": "Admin User",
        "source": 'O:8:"stdClass":1:{s:6:"source";s:9:"notes.txt";}', "filesize": 5}
    assert isinstance(record["itemid"], int) and record["itemid"] > 0
    assert isinstance(record["contextid"], int)
    assert '"filepath":"\\/"' in r.text  # json_encode escapes slashes
    # The same draft area again (token in the query string, filearea=draft is accepted and ignored).
    again = requests.post(f"{moodle.url}/webservice/upload.php?token={moodle.token}",
                          data={"itemid": record["itemid"], "filearea": "draft", "filepath": "/sub/"},
                          files={"f": ("b.txt", b"b")}, timeout=10).json()
    assert (again[0]["itemid"], again[0]["filepath"]) == (record["itemid"], "/sub/")
    dup = upload(moodle, "notes.txt", b"other", itemid=record["itemid"]).json()
    assert dup[0]["errortype"] == "filenameexist" and dup[0]["error"] == "File name already exists: notes.txt"
    assert dup[0]["filename"] == "notes.txt" and dup[0]["size"] == 5
    # PHP keeps the base name; unsafe characters are dropped from it (PARAM_FILE).
    assert upload(moodle, "dir/a:b<c>.txt", b"x").json()[0]["filename"] == "abc.txt"
    assert moodle.calls.names().count("webservice/upload.php") == 4


def test_upload_errors(moodle: MoodleSandbox) -> None:
    r = requests.post(moodle.url + "/webservice/upload.php", data={"token": "wrong"},
                      files={"file_1": ("a.txt", b"a")}, timeout=10)
    assert r.status_code == 200
    assert r.json() == {"error": "Invalid token - token not found", "errorcode": "invalidtoken", "stacktrace": None,
                        "debuginfo": None, "reproductionlink": None}
    r = requests.post(moodle.url + "/webservice/upload.php", timeout=10)
    assert r.headers["Content-Type"] == "application/json; charset=utf-8"
    assert r.json()["errorcode"] == "missingparam"
    assert r.json()["error"] == "A required parameter (token) was missing"
    empty = requests.post(moodle.url + "/webservice/upload.php", data={"token": moodle.token},
                          files={"file_1": ("", b"")}, timeout=10).json()
    assert (empty["errorcode"], empty["error"]) == ("upload_error_no_file", "No file was uploaded.")
    assert requests.post(moodle.url + "/webservice/upload.php", data={"token": moodle.token}, timeout=10).json() == []
    bad_path = upload(moodle, "a.txt", b"a", filepath="nested").json()
    assert (bad_path["errorcode"], bad_path["error"]) == (
        "storedfileproblem", "Unknown exception related to local files (Invalid file path)")
    with MoodleSandbox(token=TOKEN, debug=True) as debug:
        r = requests.post(debug.url + "/webservice/upload.php", data={"token": "wrong"}, timeout=10).json()
        assert r["debuginfo"] == "\nError code: invalidtoken" and r["reproductionlink"] == debug.url + "/"
        assert r["stacktrace"]


def test_the_client_uploads_and_creates_a_resource(moodle: MoodleSandbox, client: MoodleClient, course: int,
                                                  tmp_path: Any) -> None:
    path = tmp_path / "Программа.pdf"
    path.write_bytes(b"%PDF programme")
    draft = client.upload_file(str(path))
    upsert(client, course, [{"idnumber": "prog", "modname": "resource", "sectionkey": "s1", "name": "Programme",
                             "settings": {"draftitemid": draft}}])
    got = modules(client, course)["prog"]["settings"]
    assert got == {"filename": "Программа.pdf", "filesize": 14,
                   "contenthash": hashlib.sha1(b"%PDF programme").hexdigest()}
    # Another user's draft area is not the token user's.
    moodle.add_token("f" * 32, 1)
    other = MoodleClient(moodle.url, "f" * 32, timeout=10)
    e = fail(other, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {"idnumber": "x", "modname": "resource", "sectionkey": "", "settings": json.dumps({"draftitemid": draft})}]})
    assert e.remote_message.endswith("holds 0 files, not 1")


# --------------------------------------------------------------------------- #
# Sessions for some groups only (plugin 1.1)
# --------------------------------------------------------------------------- #


def new_groups(client: MoodleClient, courseid: int, *idnumbers: str) -> dict[str, int]:
    made = client.call("core_group_create_groups", {"groups": [
        {"courseid": courseid, "name": f"Group {i}", "description": "", "idnumber": i} for i in idnumbers]})
    return {g["idnumber"]: int(g["id"]) for g in made}


def test_sections_are_restricted_to_groups_and_released(moodle: MoodleSandbox, client: MoodleClient,
                                                        course: int) -> None:
    gids = new_groups(client, course, "oca:g1", "oca:g2")

    def availability() -> dict[str, str]:
        return {s["key"]: s["availability"] for s in state(client, course)["sections"] if s["key"]}

    s1 = {"key": "s1", "number": 1, "name": "Session 1"}
    s2 = {"key": "s2", "number": 2, "name": "Session 2"}
    assert [r["changed"] for r in sections(client, course, [{**s1, "setgroups": True, "groups": ["oca:g2", "oca:g1"]}, s2])] == [
        True, False]
    assert json.loads(availability()["s1"]) == {
        "op": "|", "c": [{"type": "group", "id": gids["oca:g2"]}, {"type": "group", "id": gids["oca:g1"]}],
        "show": False}
    assert availability()["s2"] == ""
    assert not any(r["changed"] for r in sections(client, course, [{**s1, "setgroups": True, "groups": ["oca:g2", "oca:g1"]}, s2]))
    # Without setgroups the restriction is not touched; with setgroups and no groups ours is removed.
    assert not sections(client, course, [s1])[0]["changed"]
    assert sections(client, course, [{**s1, "setgroups": True}])[0]["changed"] and availability()["s1"] == ""
    # A restriction made by hand stays then; an unknown group is refused and nothing is written.
    by_hand = '{"op":"&","c":[{"type":"date","d":">=","t":1700000000}],"showc":[true]}'
    [sec] = [s for s in moodle.state.sections.values() if s["course"] == course and s["section"] == 2]
    sec["availability"] = by_hand
    assert not sections(client, course, [{**s2, "setgroups": True}])[0]["changed"]
    assert availability()["s2"] == by_hand
    e = fail(client, "local_ocasync_upsert_sections", {"courseid": course, "sections": [
        {**s1, "setgroups": True, "groups": ["oca:g1"]}, {**s2, "setgroups": True, "groups": ["oca:nope"]}]})
    assert e.errorcode == "invalidgroup" and e.message.endswith('No group with idnumber "oca:nope" in this course.')
    assert availability() == {"s1": "", "s2": by_hand}


def test_attendance_sessions_for_one_group(moodle: MoodleSandbox, client: MoodleClient, course: int) -> None:
    gids = new_groups(client, course, "oca:g1", "oca:g2")

    def item(sessions: list[dict[str, Any]]) -> dict[str, Any]:
        return {"idnumber": "att", "modname": "attendance", "sectionkey": "s1", "name": "Attendance",
                "settings": {"grade": 10, "sessions": sessions}}

    mentoring = [{"sessdate": SESS, "duration": 3600, "description": "M", "group": g} for g in ("oca:g2", "oca:g1")]
    everyone = {"sessdate": SESS, "duration": 3600, "description": "All"}
    cmid = upsert(client, course, [item([*mentoring, everyone])])[0]["cmid"]
    # Sorted by start, then group ("" first): the shape get_course_state reads back.
    assert modules(client, course)["att"]["settings"]["sessions"] == [everyone, mentoring[1], mentoring[0]]
    assert upsert(client, course, [item([mentoring[1], everyone, mentoring[0]])])[0]["changed"] is False
    found = client.call("core_calendar_get_calendar_events", {"events": {
        "courseids": [course], "groupids": list(gids.values())}})["events"]
    assert sorted((e["groupid"], e["name"]) for e in found if e["eventtype"] == "attendance") == [
        (0, "Attendance"), (gids["oca:g1"], "Attendance (Group Group oca:g1)"),
        (gids["oca:g2"], "Attendance (Group Group oca:g2)")]
    assert moodle.state.modules[cmid]["groupmode"] == 2  # VISIBLEGROUPS: group sessions can be taken
    assert upsert(client, course, [item([everyone, mentoring[0]])])[0]["changed"] is True
    assert modules(client, course)["att"]["settings"]["sessions"] == [everyone, mentoring[0]]
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {**item([{**everyone, "group": "oca:nope"}]), "settings": json.dumps(item([{**everyone, "group": "oca:nope"}])["settings"])}]})
    assert e.errorcode == "invalidgroup"


def test_modules_are_restricted_to_groups_and_take_several_submissions(moodle: MoodleSandbox, client: MoodleClient,
                                                                       course: int) -> None:
    """Plugin 1.2: a module's group restriction (the shape of a section's) and feedback multiple_submit."""
    gids = new_groups(client, course, "oca:g1", "oca:g2")
    questions = [{"key": "posts", "typ": "numeric", "name": "Posts", "presentation": "0|1000"}]
    item = {"idnumber": "checkin@g1", "modname": "feedback", "sectionkey": "", "name": "Check-in: G1",
            "settings": {"questions": questions, "multiple_submit": 1, "anonymous": 2}, "setgroups": True,
            "groups": ["oca:g1"]}
    cmid = upsert(client, course, [item])[0]["cmid"]
    got = modules(client, course)["checkin@g1"]
    assert json.loads(got["availability"]) == {"op": "|", "c": [{"type": "group", "id": gids["oca:g1"]}],
                                               "show": False}
    assert got["settings"]["multiple_submit"] == 1
    assert upsert(client, course, [item])[0]["changed"] is False
    # A second submission of the same person replaces the first in a named feedback (as on the lab:
    # mod_feedback's save_response() updates the last response) and is kept beside it in an anonymous one.
    first = moodle.answer_feedback(cmid, 2, {"posts": "3"})
    assert moodle.answer_feedback(cmid, 2, {"posts": "5"}) == first
    assert [v["value"] for v in moodle.state.feedback_values.values() if v["completed"] == first] == ["5"]
    assert upsert(client, course, [{**item, "settings": {**item["settings"], "anonymous": 1}}])[0]["changed"]
    assert len({moodle.answer_feedback(cmid, 2, {"posts": n}) for n in ("1", "2")}) == 2
    # Another group, one submission only: shown as absent from settings, and a second one is refused.
    assert upsert(client, course, [{**item, "groups": ["oca:g2"], "settings": {"questions": questions}}])[0]["changed"]
    got = modules(client, course)["checkin@g1"]
    assert "multiple_submit" not in got["settings"]
    assert json.loads(got["availability"])["c"] == [{"type": "group", "id": gids["oca:g2"]}]
    with pytest.raises(ValueError, match="already submitted"):
        moodle.answer_feedback(cmid, 2, {"posts": "1"})
    # Without setgroups the restriction stays; with setgroups and no groups it goes.
    plain = {k: v for k, v in item.items() if k not in ("setgroups", "groups")}
    assert upsert(client, course, [{**plain, "settings": {"questions": questions}}])[0]["changed"] is False
    assert modules(client, course)["checkin@g1"]["availability"] != ""
    assert upsert(client, course, [{**item, "groups": []}])[0]["changed"] is True
    assert modules(client, course)["checkin@g1"]["availability"] == ""
    # An unknown group is refused before anything is written; so is a restriction where they are disabled.
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {**item, "idnumber": "other", "settings": "{}", "groups": ["oca:nope"]}]})
    assert e.errorcode == "invalidgroup" and "other" not in modules(client, course)
    moodle.state.settings.enableavailability = False
    e = fail(client, "local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {**item, "settings": json.dumps(item["settings"])}]})
    assert e.errorcode == "availabilitydisabled"
    assert client.call("local_ocasync_get_info")["group_restrictions"] is False
