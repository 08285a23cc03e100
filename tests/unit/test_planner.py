"""The planner is a pure function: these tests need no server."""

from dataclasses import replace

from oca_sync.config import DEFAULT_ROLE_IDS
from oca_sync.moodle import model as m
from oca_sync.moodle.functions import PLUGIN_1_2
from oca_sync.moodle.planner import applied_records, plan_moodle
from oca_sync.plan import Action, render_lines

K = m.Keys("oca", "p1")
CID = K.course("C1")
GID = K.group("C1", "cso-a")


def desired() -> m.DesiredSite:
    site = m.DesiredSite(keys=K, category=m.Category(idnumber=K.category, name="Cat", description="", parent=0))
    site.courses[CID] = m.Course(idnumber=CID, shortname="C1", fullname="Course", summary="<p>S</p>",
                                 category=K.category, startdate=100, enddate=200, format="topics", visible=True,
                                 enablecompletion=True)
    site.sections[CID] = [m.Section(course=CID, number=1, name="One"), m.Section(course=CID, number=2, name="Two")]
    site.groups[CID] = {GID: m.Group(course=CID, idnumber=GID, name="CSO A", description="")}
    alice = m.User(idnumber=K.user("alice"), username="alice", firstname="Alice", lastname="A",
                   email="alice@example.org", lang="en", auth="manual")
    tom = m.User(idnumber=K.user("tom"), username="tom", firstname="Tom", lastname="T",
                 email="tom@example.org", lang="ru", auth="manual")
    site.users = {alice.idnumber: alice, tom.idnumber: tom}
    site.enrolments[CID] = {alice.idnumber: frozenset({"student"}), tom.idnumber: frozenset({"editingteacher"})}
    site.members[GID] = frozenset({alice.idnumber})
    ev = m.Event(course=CID, key=K.event("C1", "s1"), name="One", description="d", timestart=150, timeduration=3600)
    site.events[CID] = {ev.key: ev}
    return site


def observed_matching(d: m.DesiredSite) -> m.ObservedSite:
    """A site exactly as ``d`` asks, with ids."""
    o = m.ObservedSite()
    o.category = replace(d.category, id=7)
    o.courses = {CID: replace(d.courses[CID], id=20, category="#7")}
    o.sections = {CID: [m.Section(course=CID, number=0, name="General", id=100)]
                  + [replace(s, id=101 + i) for i, s in enumerate(d.sections[CID])]}
    o.groups = {CID: {GID: replace(d.groups[CID][GID], id=30)}}
    o.users = {k: replace(u, id=40 + i) for i, (k, u) in enumerate(sorted(d.users.items()))}
    alice, tom = o.users[K.user("alice")], o.users[K.user("tom")]
    o.enrolled = {CID: {
        alice.id: m.Enrolled(alice.id, "alice", alice.idnumber, frozenset({5}), frozenset({30})),
        tom.id: m.Enrolled(tom.id, "tom", tom.idnumber, frozenset({3}), frozenset()),
    }}
    o.events = {CID: {k: [replace(e, id=50)] for k, e in d.events[CID].items()}}
    return o


def test_empty_site_creates_everything_in_order():
    d = desired()
    plan = plan_moodle(d, m.ObservedSite(), DEFAULT_ROLE_IDS)
    kinds = [(c.kind, c.action) for c in plan.changes]
    assert kinds == [("category", Action.CREATE), ("course", Action.CREATE), ("section", Action.CREATE),
                     ("section", Action.CREATE), ("group", Action.CREATE), ("user", Action.CREATE),
                     ("user", Action.CREATE), ("enrolment", Action.CREATE), ("enrolment", Action.CREATE),
                     ("members", Action.CREATE), ("event", Action.CREATE)]
    assert plan.summary() == "Plan: 11 to add, 0 to change, 0 to delete."


def test_matching_site_has_no_changes():
    d = desired()
    plan = plan_moodle(d, observed_matching(d), DEFAULT_ROLE_IDS)
    assert plan.changes == [] and plan.summary() == "No changes."
    assert not plan.drift


def test_changed_fields_show_old_and_new():
    d = desired()
    o = observed_matching(d)
    o.courses[CID] = replace(o.courses[CID], fullname="Old name")
    o.users[K.user("tom")] = replace(o.users[K.user("tom")], email="old@example.org")
    plan = plan_moodle(d, o, DEFAULT_ROLE_IDS)
    [course, user] = plan.changes
    assert (course.kind, course.action, [(f.name, f.old, f.new) for f in course.fields]) == (
        "course", Action.UPDATE, [("fullname", "Old name", "Course")])
    assert [(f.name, f.old, f.new) for f in user.fields] == [("email", "old@example.org", "tom@example.org")]
    text = "\n".join(render_lines(plan))
    assert "~ moodle.course[C1]" in text and "'Old name' → 'Course'" in text
    assert text.endswith("Plan: 0 to add, 2 to change, 0 to delete.")


def test_drift_is_reported_against_the_ledger():
    d = desired()
    o = observed_matching(d)
    o.groups[CID][GID] = replace(o.groups[CID][GID], name="Renamed by hand")
    plan = plan_moodle(d, o, DEFAULT_ROLE_IDS, last_applied=applied_records(d, o))
    assert [(x.kind, x.key, x.fields[0].old, x.fields[0].new) for x in plan.drift] == [
        ("group", "C1:cso-a", "CSO A", "Renamed by hand")]
    assert [c.action for c in plan.changes] == [Action.UPDATE]


def test_nothing_foreign_is_touched_and_deletes_need_prune():
    d = desired()
    o = observed_matching(d)
    stray = m.Group(course=CID, idnumber=K.group("C1", "old"), name="Old CSO", description="", id=31)
    o.groups[CID][stray.idnumber] = stray
    o.foreign_group_names[CID] = {"Teachers' lounge"}
    gone = m.Enrolled(60, "gone", K.user("gone"), frozenset({5}), frozenset({30}))
    foreign = m.Enrolled(61, "admin", "", frozenset({1}), frozenset({30}))
    o.enrolled[CID].update({60: gone, 61: foreign})
    o.events[CID][K.event("C1", "old")] = [m.Event(course=CID, key=K.event("C1", "old"), name="x", description="",
                                                   timestart=1, timeduration=1, id=51)]
    assert plan_moodle(d, o, DEFAULT_ROLE_IDS).changes == []
    pruned = plan_moodle(d, o, DEFAULT_ROLE_IDS, prune=True)
    got = {(c.kind, c.key, c.action) for c in pruned.changes}
    assert got == {("group", "C1:old", Action.DELETE), ("enrolment", "C1/gone", Action.DELETE),
                   ("members", "C1:cso-a", Action.UPDATE), ("event", "C1:old", Action.DELETE)}
    members = next(c for c in pruned.changes if c.kind == "members")
    # the foreign admin (61) stays in our group: only our own users are removed
    assert members.payload.remove == frozenset({60})


def test_role_change_adds_and_removes_only_managed_roles():
    d = desired()
    o = observed_matching(d)
    tom = o.users[K.user("tom")]
    # tom is a student (ours, wrong) and a manager given by hand (not a role the spec uses)
    o.enrolled[CID][tom.id] = m.Enrolled(tom.id, "tom", tom.idnumber, frozenset({5, 1}), frozenset())
    [c] = plan_moodle(d, o, DEFAULT_ROLE_IDS).changes
    assert c.kind == "enrolment" and c.payload.add == {3} and c.payload.remove == {5}


def test_conflicts_become_errors_not_writes():
    d = desired()
    o = m.ObservedSite(foreign_shortnames={"C1": "someone-else"})
    plan = plan_moodle(d, o, DEFAULT_ROLE_IDS)
    assert any(n.level == "error" and "C1" in n.message for n in plan.notices)
    assert not any(c.kind == "course" for c in plan.changes)


def test_existing_foreign_user_is_enrolled_not_changed():
    d = desired()
    o = observed_matching(d)
    alice = o.users.pop(K.user("alice"))
    o.foreign_users["alice"] = replace(alice, idnumber="HR-17", firstname="Alicia")
    plan = plan_moodle(d, o, DEFAULT_ROLE_IDS)
    assert not [c for c in plan.changes if c.kind == "user"]
    assert any("alice" in n.message and "never changed" in n.message for n in plan.notices)


def test_event_change_is_a_replacement_and_duplicates_are_cleaned():
    d = desired()
    o = observed_matching(d)
    key = K.event("C1", "s1")
    o.events[CID][key] = [replace(o.events[CID][key][0], timestart=999), replace(o.events[CID][key][0], id=52)]
    [c] = plan_moodle(d, o, DEFAULT_ROLE_IDS).changes
    assert c.action is Action.UPDATE and c.payload.event.timestart == 150 and set(c.payload.delete_ids) == {50, 52}


def test_missing_plugin_is_explained():
    d = desired()
    d.modules[CID] = {f"{CID}:m{i}": m.Module(course=CID, idnumber=f"{CID}:m{i}", modname="label", section="",
                                               name="", intro="x", visible=True, settings="{}") for i in range(5)}
    o = observed_matching(d)
    o.plugin = False
    plan = plan_moodle(d, o, DEFAULT_ROLE_IDS)
    assert plan.changes == []
    assert any("local_ocasync" in n.message and "5 items" in n.message for n in plan.notices)


def test_json_document_is_versioned():
    d = desired()
    doc = plan_moodle(d, m.ObservedSite(), DEFAULT_ROLE_IDS).to_json()
    assert doc["format_version"] == "1.1"
    assert doc["summary"] == {"add": 11, "change": 0, "delete": 0}
    assert doc["changes"][0]["address"] == "moodle.category[oca:p1]"


def test_times_are_shown_in_the_programme_zone():
    from zoneinfo import ZoneInfo

    d = desired()
    plan = plan_moodle(d, m.ObservedSite(), DEFAULT_ROLE_IDS)
    text = "\n".join(render_lines(plan, tz=ZoneInfo("Asia/Bishkek")))
    assert "timestart: 1970-01-01 06:02 +06" in text  # 150 s after the epoch, in UTC+6
    assert "timestart: 150" in "\n".join(render_lines(plan))  # raw without a zone, as in --json


def plugin_site(groups: tuple[str, ...], observed_groups: tuple[str, ...]) -> tuple[m.DesiredSite, m.ObservedSite]:
    d = desired()
    d.plugin_sections[CID] = [m.Section(course=CID, number=1, key="s1", name="One", summary="", groups=groups)]
    o = observed_matching(d)
    o.plugin = True
    o.plugin_version = 2026120100
    o.plugin_sections = {CID: [m.Section(course=CID, number=0, name="", id=100),
                               replace(d.plugin_sections[CID][0], id=101, groups=observed_groups)]}
    return d, o


def test_a_session_for_some_groups_restricts_its_section():
    d, o = plugin_site((GID,), ())
    [change] = plan_moodle(d, o, DEFAULT_ROLE_IDS).changes
    assert (change.kind, change.key, change.action) == ("section", "C1#s1", Action.UPDATE)
    assert [(f.name, f.old, f.new) for f in change.fields] == [("groups", [], [GID])]
    d, o = plugin_site((GID,), (GID,))
    assert plan_moodle(d, o, DEFAULT_ROLE_IDS).empty


def test_a_restriction_made_by_hand_is_left_alone_unless_the_spec_restricts_the_section():
    from oca_sync.moodle.observe import CUSTOM_RESTRICTION

    d, o = plugin_site((), (CUSTOM_RESTRICTION,))
    assert plan_moodle(d, o, DEFAULT_ROLE_IDS).empty
    d, o = plugin_site((GID,), (CUSTOM_RESTRICTION,))
    [change] = plan_moodle(d, o, DEFAULT_ROLE_IDS).changes
    assert [(f.name, f.old, f.new) for f in change.fields] == [("groups", [CUSTOM_RESTRICTION], [GID])]


def test_restriction_groups_reads_only_the_shape_oca_sync_writes():
    from oca_sync.moodle.observe import CUSTOM_RESTRICTION, restriction_groups

    refs = {30: GID, 31: "#31"}
    ours = '{"op":"|","c":[{"type":"group","id":31},{"type":"group","id":30}],"show":false}'
    assert restriction_groups(ours, refs) == ("#31", GID)
    assert restriction_groups(None, refs) == restriction_groups("", refs) == ()
    assert restriction_groups('{"op":"&","c":[],"showc":[]}', refs) == ()  # emptied in the form
    for other in ('{"op":"|","c":[{"type":"group","id":30}],"show":true}',  # shown greyed out to others
                  '{"op":"&","c":[{"type":"group","id":30}],"showc":[false]}',
                  '{"op":"|","c":[{"type":"date","d":">=","t":1}],"show":false}', "not json"):
        assert restriction_groups(other, refs) == (CUSTOM_RESTRICTION,), other


def test_sessions_for_some_groups_need_plugin_1_1():
    d, o = plugin_site((GID,), (GID,))
    o.plugin_version = 2026112601
    [notice] = [n for n in plan_moodle(d, o, DEFAULT_ROLE_IDS).notices if n.level == "error"]
    assert "local_ocasync 1.1" in notice.message and "2026112601" in notice.message


def test_the_shipped_plugin_has_the_group_functions():
    from oca_sync.moodle.planner import PLUGIN_GROUPS_VERSION
    from oca_sync.moodle.plugin_zip import plugin_version

    assert plugin_version()[0] >= PLUGIN_GROUPS_VERSION


def checkin_site(groups: tuple[str, ...], observed_groups: tuple[str, ...] | None) -> tuple[m.DesiredSite,
                                                                                          m.ObservedSite]:
    """A check-in activity for one group (plugin 1.2); ``observed_groups`` None: not on the site yet."""
    d, o = plugin_site((), ())
    mod = m.Module(course=CID, idnumber=K.survey("C1", "checkin", "cso-a"), modname="feedback", section="",
                   name="Check-in: CSO A", intro="", visible=True, settings='{"multiple_submit":1}', groups=groups)
    d.modules[CID] = {mod.idnumber: mod}
    o.plugin_version = PLUGIN_1_2
    o.modules = {CID: {} if observed_groups is None else {mod.idnumber: replace(mod, id=60, groups=observed_groups)}}
    return d, o


def test_an_activity_for_one_group_shows_its_restriction_in_the_plan():
    from oca_sync.moodle.observe import CUSTOM_RESTRICTION

    d, o = checkin_site((GID,), None)
    [change] = plan_moodle(d, o, DEFAULT_ROLE_IDS).changes
    assert (change.key, change.action) == ("C1:checkin@cso-a", Action.CREATE)
    assert ("groups", None, [GID]) in [(f.name, f.old, f.new) for f in change.fields]
    assert plan_moodle(*checkin_site((GID,), (GID,)), DEFAULT_ROLE_IDS).empty
    [change] = plan_moodle(*checkin_site((GID,), ()), DEFAULT_ROLE_IDS).changes
    assert [(f.name, f.old, f.new) for f in change.fields] == [("groups", [], [GID])]
    # A restriction made by hand on an activity for everyone is left alone.
    assert plan_moodle(*checkin_site((), (CUSTOM_RESTRICTION,)), DEFAULT_ROLE_IDS).empty


def test_activities_for_one_group_need_plugin_1_2():
    d, o = checkin_site((GID,), (GID,))
    o.plugin_version = 2026120101
    [notice] = [n for n in plan_moodle(d, o, DEFAULT_ROLE_IDS).notices if n.level == "error"]
    assert "local_ocasync 1.2" in notice.message and "2026120101" in notice.message
    assert "C1:checkin@cso-a" in notice.message


def test_activities_for_one_group_are_refused_where_restricted_access_is_off():
    d, o = checkin_site((GID,), None)
    o.group_restrictions = False
    [notice] = [n for n in plan_moodle(d, o, DEFAULT_ROLE_IDS).notices if n.level == "error"]
    assert "restricted access is off" in notice.message and "C1:checkin@cso-a" in notice.message


def test_a_course_growing_past_52_sections_without_the_plugin_warns_before_moodle_5_1():
    """Core's section_add refuses a section past moodlecourse | maxsections before 5.1 (4.5's
    stateactions::section_add; seen on a 4.5.6 site): the plan says so instead of apply stopping there."""
    d = desired()
    d.sections[CID] = [m.Section(course=CID, number=n, name=f"S{n}") for n in range(1, 61)]
    o = observed_matching(desired())
    o.sections[CID] += [m.Section(course=CID, number=n, name=f"S{n}", id=200 + n) for n in range(3, 51)]

    def warned(version: float) -> list[str]:
        o.moodle_version = version
        return [n.message for n in plan_moodle(d, o, DEFAULT_ROLE_IDS).notices
                if n.level == "warning" and "Maximum number of sections" in n.message]

    [w] = warned(2024100706.00)  # 4.5.6
    assert "course C1 needs sections up to 60" in w and "local_ocasync" in w
    assert warned(2025100600.02) == []  # 5.1
    assert warned(0) == []  # version unknown: no guess
    d.sections[CID] = d.sections[CID][:52]
    o.moodle_version = 2024100706.00
    assert [n for n in plan_moodle(d, o, DEFAULT_ROLE_IDS).notices if "Maximum number" in n.message] == []
