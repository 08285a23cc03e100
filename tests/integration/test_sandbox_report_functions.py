"""The read functions the report uses, as the sandbox serves them (shapes from Moodle's and mod_attendance's PHP)."""

from __future__ import annotations

import pytest

from oca_sync import sync
from oca_sync.moodle.client import MoodleClient
from oca_sync.errors import MoodleError
from oca_sync.spec import parse_spec_text

SMALL = """\
programme: {key: small, name: Small, languages: [en]}
moodle: {category: {name: Small}}
courses:
  - shortname: S1
    fullname: Small course
    start: 2024-03-01
    end: 2024-03-31
    sessions:
      - {key: one, kind: training, title: One, start: 2024-03-04 10:00, duration: 60, host: tim}
      - {key: two, kind: training, title: Two, start: 2024-03-11 10:00, duration: 60, host: tim}
    surveys:
      - key: pre
        kind: pre
        title: Before
        questions:
          - {key: hello, type: info, text: Welcome}
          - {key: level, type: rating, text: Level, min: 1, max: 5}
          - {key: tools, type: multichoice_multi, text: Tools, options: [Slack, Teams, Zoom]}
          - {key: why, type: textarea, text: Why}
      - key: anon
        kind: other
        title: Mood
        anonymous: true
        questions:
          - {key: mood, type: rating, text: Mood, min: 1, max: 3}
    attendance: {sessions: [training]}
organisations:
  - key: org
    name: Org
    members:
      - {key: ann, firstname: Ann, lastname: Lee, email: ann@example.org}
      - {key: bob, firstname: Bob, lastname: Mo, email: bob@example.org}
staff:
  - {key: tim, firstname: Tim, lastname: T, email: tim@example.org, role: trainer}
zoom: {enabled: false}
"""


@pytest.fixture
def site_with_course(moodle_plugin, client_plugin, site, store, tmp_path):
    loaded = parse_spec_text(SMALL, base_dir=tmp_path)
    sync.apply(client_plugin, loaded, site, store)
    [course] = client_plugin.call("core_course_get_courses_by_field",
                                  {"field": "idnumber", "value": "oca:small:S1"})["courses"]
    state = client_plugin.call("local_ocasync_get_course_state", {"courseid": course["id"]})
    mods = {m["idnumber"].rsplit(":", 1)[1]: m for m in state["modules"]}
    users = {u["idnumber"].rsplit(":", 1)[1]: u["id"] for u in moodle_plugin.state.users.values() if u["idnumber"]}
    return moodle_plugin, client_plugin, mods, users, loaded


def test_feedback_items_in_position_order_with_numbers(site_with_course) -> None:
    _sb, client, mods, _users, _loaded = site_with_course
    items = client.call("mod_feedback_get_items", {"feedbackid": mods["pre"]["instance"]})["items"]
    assert [(i["typ"], i["position"], i["itemnumber"]) for i in items] == [
        ("label", 1, None), ("multichoicerated", 2, 1), ("multichoice", 3, 2), ("textarea", 4, 3)]


def test_named_responses_carry_the_user_and_every_item(site_with_course) -> None:
    sb, client, mods, users, _loaded = site_with_course
    cmid = mods["pre"]["cmid"]
    sb.answer_feedback(cmid, users["ann"], {"level": "3", "tools": "1|3", "why": "=1+1"}, timemodified=100)
    sb.answer_feedback(cmid, users["bob"], {"level": "1"}, timemodified=200)
    res = client.call("mod_feedback_get_responses_analysis", {"feedbackid": mods["pre"]["instance"]})
    assert res["totalattempts"] == 2 and res["totalanonattempts"] == 0 and res["anonattempts"] == []
    ann, bob = res["attempts"]  # sorted by last name (Lee, Mo)
    assert (ann["userid"], ann["timemodified"], ann["fullname"]) == (users["ann"], 100, "Ann Lee")
    assert [(r["rawval"], r["printval"]) for r in ann["responses"]] == [
        ("3", "3"), ("1|3", "Slack\nZoom"), ("=1+1", "=1+1")]
    assert [r["rawval"] for r in bob["responses"]] == ["1", None, None]  # unanswered: null, as the LEFT JOIN gives
    page = client.call("mod_feedback_get_responses_analysis",
                       {"feedbackid": mods["pre"]["instance"], "page": 1, "perpage": 1})
    assert [a["userid"] for a in page["attempts"]] == [users["bob"]] and page["totalattempts"] == 2


def test_anonymous_responses_have_no_user(site_with_course) -> None:
    sb, client, mods, users, _loaded = site_with_course
    sb.answer_feedback(mods["anon"]["cmid"], users["ann"], {"mood": "2"})
    res = client.call("mod_feedback_get_responses_analysis", {"feedbackid": mods["anon"]["instance"]})
    assert res["attempts"] == [] and res["totalanonattempts"] == 1
    [anon] = res["anonattempts"]
    assert anon["number"] == 1 and "userid" not in anon and anon["responses"][0]["rawval"] == "2"


def test_unknown_feedback_is_a_missing_record(site_with_course) -> None:
    _sb, client, _mods, _users, _loaded = site_with_course
    with pytest.raises(MoodleError) as info:
        client.call("mod_feedback_get_responses_analysis", {"feedbackid": 9999})
    assert info.value.errorcode == "invalidrecordunknown"  # lib/dmllib.php dml_missing_record_exception


def test_attendance_sessions_with_statuses_log_and_students(site_with_course) -> None:
    sb, client, mods, users, loaded = site_with_course
    [first, second] = loaded.sessions["S1"]
    sb.mark_attendance(mods["attendance"]["cmid"], int(first.start.timestamp()), users["ann"], "L")
    sessions = client.call("mod_attendance_get_sessions", {"attendanceid": mods["attendance"]["instance"]})
    assert [s["sessdate"] for s in sessions] == [int(first.start.timestamp()), int(second.start.timestamp())]
    s1 = sessions[0]
    # by grade, highest first, as the real site lists them (checked on the lab, Moodle 5.1 + mod_attendance)
    assert [(x["acronym"], x["grade"]) for x in s1["statuses"]] == [("P", 2.0), ("L", 1.0), ("E", 1.0), ("A", 0.0)]
    late = next(x for x in s1["statuses"] if x["acronym"] == "L")
    assert [(x["studentid"], x["statusid"]) for x in s1["attendance_log"]] == [(users["ann"], str(late["id"]))]
    assert s1["lasttaken"] > 0 and sessions[1]["lasttaken"] is None and sessions[1]["attendance_log"] == []
    assert s1["attendance_log"][0]["remarks"] is None
    assert sorted(u["id"] for u in s1["users"]) == sorted([users["ann"], users["bob"]])  # students, not the trainer


def test_without_mod_attendance_the_function_does_not_exist(tmp_path) -> None:
    from oca_sync.sandbox.moodle import MoodleSandbox

    with MoodleSandbox(attendance=False) as sb:
        client = MoodleClient(sb.url, sb.token, timeout=10, backoff=0.01)
        with pytest.raises(MoodleError):
            client.call("mod_attendance_get_sessions", {"attendanceid": 1})
