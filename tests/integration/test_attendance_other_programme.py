"""Attendance for a programme unlike the OCA example: two courses, one language, another time zone,
attendance only for mentoring, a Kazakh and a Russian CSO, members with Cyrillic names in Moodle."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from oca_sync import sync
from oca_sync.attendance import sync as att
from oca_sync.demo import sandboxes
from oca_sync.spec import parse_spec_text
from oca_sync.state import StateStore
from oca_sync.zoom.meetings import desired_meetings, observe_meetings

SPEC = """
programme: {key: kz24, name: Almaty media lab, languages: [en], timezone: Asia/Almaty}
moodle: {category: {name: Almaty media lab}}
courses:
  - shortname: AML-A
    fullname: Track A
    start: 2024-03-01
    end: 2024-04-30
    sessions:
      - {key: talk, kind: training, title: Opening talk, start: "2024-03-04T10:00", duration: 60, host: lead}
      - key: clinic
        kind: mentoring
        title: "Clinic {n}"
        duration: 45
        host: lead
        recurrence: {rrule: "FREQ=WEEKLY;COUNT=2", start: "2024-03-06T18:30"}
    attendance: {sessions: [mentoring], present_percent: 60, late_after_minutes: 5, late_percent: 40}
  - shortname: AML-B
    fullname: Track B
    start: 2024-03-01
    end: 2024-04-30
    sessions:
      - {key: talk, kind: training, title: Other talk, start: "2024-03-05T10:00", duration: 60, host: lead}
organisations:
  - key: qazaq
    name: Qazaq Media
    courses: [AML-A]
    members:
      - {key: aigerim, firstname: Айгерим, lastname: Нұрланқызы, email: aigerim@qazaq.example.kz}
      - {key: dauren, firstname: Дәурен, lastname: Қасымов, email: dauren@qazaq.example.kz}
      - {key: aigerim2, firstname: Aigerim, lastname: Seitova, email: aigerim.s@qazaq.example.kz}
  - key: slovo
    name: Slovo
    courses: [AML-A]
    members:
      - {key: sasha, firstname: Александра, lastname: Ким, email: kim@slovo.example.kz}
staff:
  - {key: lead, firstname: Dana, lastname: Lead, email: lead@aml.example.kz, role: trainer}
"""


def test_mentoring_only_with_the_programmes_own_thresholds(tmp_path: Path) -> None:
    loaded = parse_spec_text(SPEC, "kz24.yaml", tmp_path)
    with sandboxes(loaded) as sb:
        client, zoom = sb.moodle_client(), sb.zoom_client()
        store = StateStore(f"sqlite:///{tmp_path}/state.sqlite")
        sync.apply(client, loaded, sb.site(), store, zoom=zoom)
        found = observe_meetings(zoom, desired_meetings(loaded))
        mid = next(m.id for k, ms in found.items() if k.endswith("AML-A:clinic-01") for m in ms)
        # the emulator holds this meeting as two instances (restarted after ~16 minutes); segments are
        # minutes from each instance's start, clipped to it
        sb.zoom.set_participants(mid, [
            {"name": "Aigerim Nurlankyzy", "segments": [(0, 16)]},     # Kazakh patronymic surname, in Latin
            {"name": "Qazaq Media - Dauren", "segments": [(6, 16)]},   # joined 7 minutes late
            {"name": "Sasha Kim", "segments": [(0, 10)]},              # left after 10 minutes
            {"name": "Aigerim", "segments": [(0, 16)]},                # two Aigerims: review
        ], instance=0)
        sb.zoom.set_participants(mid, [
            {"name": "Aigerim Nurlankyzy", "segments": [(0, 22)]},
            {"name": "Дәурен Қасымов", "segments": [(0, 22)]},         # back, now in Cyrillic
        ], instance=1)
        clinic = next(s for s in loaded.sessions["AML-A"] if s.key == "clinic-01")
        sb.zoom.set_time((clinic.end + dt.timedelta(hours=1)).astimezone(dt.timezone.utc))
        plan = att.prepare(client, zoom, loaded, store, now=clinic.end + dt.timedelta(hours=1))
        rows = {r.session: r for r in plan.sessions}
        assert set(rows) == {"AML-A:clinic-01", "AML-A:clinic-02"}  # training and course B have no register
        assert rows["AML-A:clinic-02"].state == "not ended"
        r = rows["AML-A:clinic-01"]
        assert (r.state, r.instances, r.present, r.late, r.review) == ("ended", 2, 1, 1, 1)
        status = {p.username: p.computed for p in plan.people}
        minutes = {p.username: p.minutes for p in plan.people}
        assert 37 < minutes["aigerim"] < 38 and 31 < minutes["dauren"] < 32  # both instances, merged
        assert 9 < minutes["sasha"] <= 10
        assert status["aigerim"] == "P" and status["dauren"] == "L"
        assert status["sasha"] == "" and status["aigerim2"] == ""  # absent, held while "Aigerim" is reviewed
        assert [i.name for i in plan.review] == ["Aigerim"]
        assert att.apply(client, plan, store).written == 2


def test_a_session_for_two_groups_fills_each_groups_register(tmp_path: Path) -> None:
    # mod_attendance keeps one groupid per session: a clinic for both CSOs is two registers at one time
    text = SPEC.replace("        title: \"Clinic {n}\"\n", "        title: \"Clinic {n}\"\n        groups: [qazaq, slovo]\n")
    loaded = parse_spec_text(text, "kz24.yaml", tmp_path)
    with sandboxes(loaded) as sb:
        client, zoom = sb.moodle_client(), sb.zoom_client()
        store = StateStore(f"sqlite:///{tmp_path}/state.sqlite")
        sync.apply(client, loaded, sb.site(), store, zoom=zoom)
        found = observe_meetings(zoom, desired_meetings(loaded))
        mid = next(m.id for k, ms in found.items() if k.endswith("AML-A:clinic-01") for m in ms)
        sb.zoom.set_participants(mid, [
            {"name": "Aigerim Nurlankyzy", "segments": [(0, 16)]},
            {"name": "Sasha Kim", "segments": [(0, 16)]},
        ], instance=0)
        sb.zoom.set_participants(mid, [
            {"name": "Aigerim Nurlankyzy", "segments": [(0, 22)]},
            {"name": "Sasha Kim", "segments": [(0, 22)]},
        ], instance=1)
        clinic = next(s for s in loaded.sessions["AML-A"] if s.key == "clinic-01")
        sb.zoom.set_time((clinic.end + dt.timedelta(hours=1)).astimezone(dt.timezone.utc))
        plan = att.prepare(client, zoom, loaded, store, now=clinic.end + dt.timedelta(hours=1))
        row = next(r for r in plan.sessions if r.session == "AML-A:clinic-01")
        assert (row.state, row.present, row.absent) == ("ended", 2, 2)  # aigerim and sasha; dauren, aigerim2
        assert att.apply(client, plan, store).written == 4
        [course] = client.call("core_course_get_courses_by_field", {"field": "shortname", "value": "AML-A"})["courses"]
        groups = {g["id"]: g["name"] for g in client.call("core_group_get_course_groups", {"courseid": course["id"]})}
        state = client.call("local_ocasync_get_course_state", {"courseid": course["id"]})
        [instance] = [m["instance"] for m in state["modules"] if m["modname"] == "attendance"]
        users = {u["id"]: u["username"] for u in client.call("core_enrol_get_enrolled_users", {"courseid": course["id"]})}
        logged = {}
        for sess in client.call("mod_attendance_get_sessions", {"attendanceid": instance}):
            if sess["sessdate"] == int(clinic.start.timestamp()):
                logged[groups[sess["groupid"]]] = sorted(users[int(x["studentid"])] for x in sess["attendance_log"])
        assert logged == {"Qazaq Media": ["aigerim", "aigerim2", "dauren"], "Slovo": ["sasha"]}
        again = att.prepare(client, zoom, loaded, store, now=clinic.end + dt.timedelta(hours=1))
        assert again.plan.changes == []
