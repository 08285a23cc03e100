"""Completion rules become Moodle's completion settings (through the emulated plugin) and come back for the report."""

from __future__ import annotations

import json
import math
import shutil

from oca_sync import sync
from oca_sync.demo import sandboxes, seed_outcomes
from oca_sync.moodle.client import MoodleClient
from oca_sync.plan import Action
from oca_sync.report.analysis import completion_summary
from oca_sync.report.collect import collect
from oca_sync.report.render import build
from oca_sync.spec import load_spec
from oca_sync.state import StateStore

from .conftest import OCA_SPEC

OWNED = "oca:kg2022:OCA-KG-2022:"


def settings(client: MoodleClient) -> dict:
    [course] = client.call("core_course_get_courses_by_field",
                           {"field": "idnumber", "value": "oca:kg2022:OCA-KG-2022"})["courses"]
    return client.call("local_ocasync_get_course_completion", {"courseid": course["id"]})


def attendance_sessions(client: MoodleClient, course_idnumber: str, attendance_idnumber: str
                        ) -> tuple[int, list[dict]]:
    """The course's id and its attendance activity's sessions (mod_attendance_get_sessions)."""
    [course] = client.call("core_course_get_courses_by_field",
                           {"field": "idnumber", "value": course_idnumber})["courses"]
    mods = {m["idnumber"]: m for m in client.call("local_ocasync_get_course_state",
                                                  {"courseid": course["id"]})["modules"]}
    return course["id"], client.call("mod_attendance_get_sessions",
                                     {"attendanceid": mods[attendance_idnumber]["instance"]})


def present(session: dict) -> int:
    return next(st["id"] for st in session["statuses"] if st["acronym"] == "P")


def take(client: MoodleClient, session: dict, student: int) -> None:
    """The session's register taken through the plugin, ``student`` marked present."""
    client.call("local_ocasync_take_attendance", {"sessionid": session["id"], "statuses": [
        {"studentid": student, "statusid": present(session)}]})


def a_student(client: MoodleClient, courseid: int) -> int:
    return next(u["id"] for u in client.call("core_enrol_get_enrolled_users", {"courseid": courseid})
                if any(r["shortname"] == "student" for r in u.get("roles", [])))


def take_every_register(client: MoodleClient) -> int:
    """Every session of the course's attendance activity taken (one student marked present each)."""
    courseid, sessions = attendance_sessions(client, "oca:kg2022:OCA-KG-2022", OWNED + "attendance")
    student = a_student(client, courseid)
    for sess in sessions:
        take(client, sess, student)
    return len(sessions)


def test_plan_shows_completion_then_apply_sets_it_and_reapply_writes_nothing(moodle_plugin, client_plugin, site,
                                                                             store, oca):
    """The programme is over (its sessions ended): surveys become criteria at once, attendance only once
    every register is taken (Moodle never takes back a met criterion, and the grade counts only the
    sessions taken so far)."""
    plan = sync.prepare(client_plugin, oca, site, store).plan
    [change] = [c for c in plan.changes if c.kind == "completion"]
    assert change.key == "OCA-KG-2022"
    fields = {f.name: f.new for f in change.fields}
    assert fields["criteria"] == ["survey-post", "survey-pre"]
    assert fields["survey-pre.completionsubmit"] == 1 and fields["attendance.completionpassgrade"] == 1
    [wait] = [n.message for n in plan.notices if "once every register is taken" in n.message]
    course = oca.spec.courses[0]
    held = sum(1 for s in oca.sessions[course.shortname] if s.kind in course.attendance.sessions)
    assert "OCA-KG-2022" in wait and "ended session(s) not taken yet" in wait

    sync.apply(client_plugin, oca, site, store)
    got = settings(client_plugin)
    assert got["criteria"] == [OWNED + k for k in ("survey-post", "survey-pre")]
    assert sync.prepare(client_plugin, oca, site, store).plan.empty  # still waiting: nothing to write
    taken = take_every_register(client_plugin)
    assert taken >= held  # a session for some groups has a register per group
    plan = sync.prepare(client_plugin, oca, site, store).plan
    assert [(c.kind, [f.name for f in c.fields]) for c in plan.changes] == [("completion", ["criteria"])]
    assert not [n for n in plan.notices if "once every register is taken" in n.message]
    sync.apply(client_plugin, oca, site, store)
    got = settings(client_plugin)
    mods = {m["idnumber"].removeprefix(OWNED): json.loads(m["settings"]) for m in got["modules"]}
    assert got["criteria"] == [OWNED + k for k in ("attendance", "survey-post", "survey-pre")]
    assert got["aggregation"] == got["activityaggregation"] == 1
    assert mods["survey-pre"] == {"completion": 2, "completionview": 0, "completionusegrade": 0,
                                  "completionpassgrade": 0, "completionsubmit": 1}
    # 9 trainings + 8 mentorings of the sessions the attendance activity records, as a share of its grade
    assert mods["attendance"]["gradepass"] == math.floor(100 * 17 * 100 / held) / 100
    assert mods["attendance"]["completionusegrade"] == 1 and mods["attendance"]["completion"] == 2
    # not in the rules: left as they are (a check-in activity per campaigning organisation)
    assert mods["campaign-checkin@naryn-media-lab"]["completion"] == 0

    writes = moodle_plugin.calls.write_count()
    reads = moodle_plugin.calls.count("mod_attendance_get_sessions")
    again = sync.apply(client_plugin, oca, site, store)
    assert again.plan.empty
    assert moodle_plugin.calls.write_count() == writes
    # the criterion is on the site: the registers are not read again
    assert moodle_plugin.calls.count("mod_attendance_get_sessions") == reads


def test_a_group_session_with_nobody_in_the_group_is_not_waited_for(tmp_path):
    """The second programme (mentoring for one organisation's group at a time) with an attendance rule:
    a session of a group that has nobody left has no register anyone could take, so the criterion does
    not wait for it (it would wait for ever)."""
    from pathlib import Path

    source = Path(__file__).resolve().parents[1] / "specs" / "second-programme"
    shutil.copytree(source, tmp_path / "spec")
    path = tmp_path / "spec" / "csa-2024.yaml"
    text = path.read_text(encoding="utf-8")
    rule = "      sessions: [training, mentoring]\n"
    assert text.count(rule) >= 1
    path.write_text(text.replace(rule, rule + "    completion:\n      attend:\n        - {kind: mentoring, at_least: 1}\n",
                                 1), encoding="utf-8")
    loaded = load_spec(path)
    owned = "cso:kzuz-2024:CSA-2024-A:"
    from oca_sync.config import SiteOptions

    site = SiteOptions(languages=("en",))
    store = StateStore(f"sqlite:///{tmp_path}/state.sqlite")
    with sandboxes(loaded, langs=("en", "kk", "uz")) as sb:
        client = sb.moodle_client()
        sync.apply(client, loaded, site, store)
        courseid, sessions = attendance_sessions(client, "cso:kzuz-2024:CSA-2024-A", owned + "davomat")
        gid = next(int(x["groupid"]) for x in sessions if int(x["groupid"] or 0))
        enrolled = client.call("core_enrol_get_enrolled_users", {"courseid": courseid})
        someone = a_student(client, courseid)
        for sess in sessions:
            if int(sess["groupid"] or 0) != gid:
                take(client, sess, someone)
        left = sum(1 for x in sessions if int(x["groupid"] or 0) == gid)
        prep = sync.prepare(client, loaded, site, store)
        wait = [n.message for n in prep.plan.notices if "once every register is taken" in n.message]
        assert wait and f"({left} ended session(s) not taken yet" in wait[0]
        assert owned + "davomat" not in prep.desired.completion["cso:kzuz-2024:CSA-2024-A"]["criteria"]
        members = [u["id"] for u in enrolled if any(int(g["id"]) == gid for g in u.get("groups", []))]
        assert members
        client.call("core_group_delete_group_members", {"members": [{"groupid": gid, "userid": uid}
                                                                    for uid in members]})
        prep = sync.prepare(client, loaded, site, store)
        # the plan puts the members back; meanwhile the empty group's sessions are not waited for
        assert prep.desired.completion["cso:kzuz-2024:CSA-2024-A"]["criteria"] == [owned + "davomat"]
        assert not [n for n in prep.plan.notices if "once every register is taken" in n.message]


def test_a_changed_rule_is_one_change_and_one_call(moodle_plugin, client_plugin, site, store, tmp_path):
    spec_dir = tmp_path / "spec"
    shutil.copytree(OCA_SPEC.parent, spec_dir)
    path = spec_dir / OCA_SPEC.name
    sync.apply(client_plugin, load_spec(path), site, store)
    path.write_text(path.read_text(encoding="utf-8").replace("{kind: training, at_least: 9}",
                                                             "{kind: training, at_least: 10}"), encoding="utf-8")
    loaded = load_spec(path)
    plan = sync.prepare(client_plugin, loaded, site, store).plan
    assert [(c.kind, c.action, [f.name for f in c.fields]) for c in plan.changes] == [
        ("completion", Action.UPDATE, ["attendance.gradepass"])]
    before = moodle_plugin.calls.count("local_ocasync_set_course_completion")
    sync.apply(client_plugin, loaded, site, store)
    assert moodle_plugin.calls.count("local_ocasync_set_course_completion") == before + 1
    assert sync.prepare(client_plugin, loaded, site, store).plan.empty


def test_completion_changed_by_hand_is_drift_and_the_plan_puts_it_back(moodle_plugin, client_plugin, site, store,
                                                                        oca):
    """What apply set is in the ledger: a change made in Moodle afterwards shows as drift (what we set,
    what the site has now), not only as an update."""
    sync.apply(client_plugin, oca, site, store)
    got = settings(client_plugin)
    criteria = [c for c in got["criteria"] if not c.endswith(":survey-pre")]
    # an administrator makes the pre-survey manually completed and drops it from the criteria
    client_plugin.call("local_ocasync_set_course_completion", {"courseid": got["courseid"], "settings": json.dumps({
        "modules": {OWNED + "survey-pre": {"completion": 1, "completionsubmit": 0}},
        "criteria": criteria, "aggregation": 1})})
    plan = sync.prepare(client_plugin, oca, site, store).plan
    [drift] = [d for d in plan.drift if d.kind == "completion"]
    assert drift.key == "OCA-KG-2022"
    assert {f.name: (f.old, f.new) for f in drift.fields} == {
        # the attendance criterion waits for the registers (none taken yet)
        "criteria": (["survey-post", "survey-pre"], ["survey-post"]),
        "survey-pre.completion": (2, 1), "survey-pre.completionsubmit": (1, 0)}
    [change] = [c for c in plan.changes if c.kind == "completion"]
    assert {f.name: f.new for f in change.fields}["survey-pre.completion"] == 2
    sync.apply(client_plugin, oca, site, store)
    again = sync.prepare(client_plugin, oca, site, store).plan
    assert again.empty and not again.drift


def test_without_the_plugin_the_plan_says_completion_is_not_set(moodle, client, site, store, oca):
    plan = sync.prepare(client, oca, site, store).plan
    assert not [c for c in plan.changes if c.kind == "completion"]
    assert any("completion rules of OCA-KG-2022 are not set in Moodle" in n.message for n in plan.notices)


def test_the_plugin_refuses_completion_on_an_unknown_activity(moodle_plugin, client_plugin, site, store, oca):
    sync.apply(client_plugin, oca, site, store)
    [course] = client_plugin.call("core_course_get_courses_by_field",
                                  {"field": "idnumber", "value": "oca:kg2022:OCA-KG-2022"})["courses"]
    import pytest

    from oca_sync.errors import MoodleError
    with pytest.raises(MoodleError) as e:
        client_plugin.call("local_ocasync_set_course_completion", {
            "courseid": course["id"], "settings": json.dumps({"criteria": [OWNED + "nope"]})})
    assert e.value.errorcode == "completionnomodule"


def test_report_uses_moodles_completion_and_shows_where_the_rules_differ(tmp_path):
    loaded = load_spec(OCA_SPEC)
    with sandboxes(loaded) as sb:
        store = StateStore(f"sqlite:///{tmp_path}/state.sqlite")
        sync.apply(sb.moodle_client(), loaded, sb.site(), store, prune=False,
                   hooks=sync.Hooks(confirm=lambda p: True), zoom=sb.zoom_client())
        seed_outcomes(sb, loaded)
        # every register is taken now: the attendance activity becomes a course criterion
        second = sync.apply(sb.moodle_client(), loaded, sb.site(), store, prune=False,
                            hooks=sync.Hooks(confirm=lambda p: True), zoom=sb.zoom_client())
        assert [(c.kind, [f.name for f in c.fields]) for c in second.plan.changes] == [("completion", ["criteria"])]
        reader = sb.moodle_client()
        data = collect(loaded, reader, store)
    assert reader.stats.calls["local_ocasync_get_completion"] == 1  # one per course, whatever the people
    assert "core_completion_get_course_completion_status" not in reader.stats.calls
    enrolled = {m.key for ms in loaded.members.values() for m in ms}
    members = {m.key for ms in loaded.members.values() for m in ms if m.role == "member"}
    # Everyone Moodle tracks: members, and observers (who hold the student role here); no staff
    assert members <= {c.person for c in data.completion} <= enrolled
    submitted = {(r.survey, r.person) for r in data.responses}
    for c in data.completion:
        # Moodle's activity states agree with the responses read through mod_feedback
        for survey in ("survey-pre", "survey-post"):
            assert (c.activities.get(survey) == 1) == ((survey, c.person) in submitted)
        if c.completed:
            assert all(c.activities.get(k) in (1, 2) for k in ("attendance", "survey-pre", "survey-post"))
    assert any(c.completed for c in data.completion) and not all(c.completed for c in data.completion)
    built = build(loaded, data, tmp_path / "report")
    html = (built.folder / "report.html").read_text(encoding="utf-8")
    assert "participants completed the course in Moodle" in html
    from oca_sync.report import analysis as a
    everyone = a.people(loaded, "en", False)
    rows = a.completion(loaded, a.sessions_and_attendance(loaded, data, everyone, "en"), data, everyone, "en")
    summary = completion_summary(rows)
    assert summary.by_moodle == sum(1 for c in data.completion if c.completed) == summary.completed
    assert summary.differ == [r for r in rows if r.moodle != r.complete]
    csv_rows = (built.folder / "completion.csv").read_text(encoding="utf-8").splitlines()
    assert csv_rows[0].endswith(",complete,moodle")


def test_without_the_plugins_bulk_read_core_per_person_gives_the_same(tmp_path):
    """A plugin older than 1.2: core's two functions per person, the same figures."""
    from oca_sync.moodle.model import Keys
    from oca_sync.moodle.observe import _enrolled
    from oca_sync.report import completion as rc
    from oca_sync.report.dataset import Dataset

    loaded = load_spec(OCA_SPEC)
    with sandboxes(loaded) as sb:
        store = StateStore(f"sqlite:///{tmp_path}/state.sqlite")
        sync.apply(sb.moodle_client(), loaded, sb.site(), store, prune=False,
                   hooks=sync.Hooks(confirm=lambda p: True), zoom=sb.zoom_client())
        seed_outcomes(sb, loaded)
        client = sb.moodle_client()
        keys = Keys("oca", "kg2022")
        course = loaded.spec.courses[0]
        [c] = client.call("core_course_get_courses_by_field", {"field": "idnumber", "value": keys.course(
            course.shortname)})["courses"]
        modules = {m["idnumber"]: m for m in client.call("local_ocasync_get_course_state",
                                                         {"courseid": c["id"]})["modules"]}
        people = {u.userid: u.idnumber.removeprefix(keys.owned) for u in _enrolled(client, c["id"]).values()
                  if keys.is_ours(u.idnumber)}
        bulk, per_person = Dataset("kg2022", "now"), Dataset("kg2022", "now")
        assert rc.bulk_read(client)
        assert rc.collect(client, course, c["id"], keys, modules, people, bulk, True) == "plugin"
        before = dict(client.stats.calls)
        assert rc.collect(client, course, c["id"], keys, modules, people, per_person, False) == "core"
        calls = {k: v - before.get(k, 0) for k, v in client.stats.calls.items() if v != before.get(k, 0)}
    # every enrolled person is asked; only those Moodle tracks (not staff) a second time
    assert calls == {"core_completion_get_course_completion_status": len(people),
                     "core_completion_get_activities_completion_status": len(bulk.completion)}
    assert len(bulk.completion) < len(people)
    assert "2 calls per person" in per_person.notes[0]
    got = {x.person: (x.completed, x.activities) for x in per_person.completion}
    assert {x.person: (x.completed, x.activities) for x in bulk.completion} == got
    assert any(done for done, _a in got.values()) and not all(done for done, _a in got.values())


def test_attendance_taken_through_the_plugin_moves_completion_and_the_bare_core_call_does_not(
        moodle_plugin, client_plugin, site, store, oca):
    sync.apply(client_plugin, oca, site, store)
    courseid, sessions = attendance_sessions(client_plugin, "oca:kg2022:OCA-KG-2022", OWNED + "attendance")
    users = {u["idnumber"].removeprefix("oca:kg2022:"): u["id"] for u in client_plugin.call(
        "core_enrol_get_enrolled_users", {"courseid": courseid})}
    members = [m.key for ms in oca.members.values() for m in ms if m.role == "member"]
    taken, bare = users[members[0]], users[members[1]]
    for s in sessions:
        take(client_plugin, s, taken)
        client_plugin.call("mod_attendance_update_user_status", {
            "sessionid": s["id"], "studentid": bare, "takenbyid": 2, "statusid": present(s), "statusset": "0"})
    states = {u["userid"]: {a["idnumber"]: a["state"] for a in u["activities"]}
              for u in client_plugin.call("local_ocasync_get_completion", {"courseid": courseid})["users"]}
    assert states[taken] == {OWNED + "attendance": 2}  # graded 100 >= the pass grade
    assert states[bare] == {}  # the log alone: no grade, no completion (as on a real site)
