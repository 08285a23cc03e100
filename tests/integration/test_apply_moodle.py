"""plan/apply of the OCA programme against the Moodle emulator, over HTTP."""

from __future__ import annotations

import re
from dataclasses import replace

import pytest

from oca_sync import sync
from oca_sync.errors import LockedError, OcaError
from oca_sync.moodle.client import MoodleClient
from oca_sync.plan import Action
from oca_sync.spec import parse_spec_text

from .conftest import OCA_SPEC


def ws(client: MoodleClient, fn: str, **params):
    return client.call(fn, params, raw=True)


def course_of(client: MoodleClient, shortname: str) -> dict:
    [course] = ws(client, "core_course_get_courses_by_field", field="shortname", value=shortname)["courses"]
    return course


def test_first_apply_builds_the_programme(moodle, client, site, store, oca):
    result = sync.apply(client, oca, site, store)
    assert result.applied and result.counts.deleted == 0
    course = course_of(client, "OCA-KG-2022")
    assert course["idnumber"] == "oca:kg2022:OCA-KG-2022"
    assert course["enablecompletion"] in (1, True)
    # one group per CSO, with its members
    groups = {g["idnumber"]: g for g in ws(client, "core_group_get_course_groups", courseid=course["id"])}
    assert len(groups) == 6 and all(k.startswith("oca:kg2022:OCA-KG-2022:") for k in groups)
    enrolled = ws(client, "core_enrol_get_enrolled_users", courseid=course["id"])
    people = sum(len(v) for v in oca.members.values()) + len(oca.spec.staff)
    assert len(enrolled) == people
    by_user = {u["username"]: u for u in enrolled}
    trainer = by_user["aizada.bekova"]
    assert [r["shortname"] for r in trainer["roles"]] == ["editingteacher"]
    member_groups = [len(u["groups"]) for u in enrolled if u["roles"][0]["shortname"] == "student"]
    assert member_groups and all(n == 1 for n in member_groups)
    # sections 1..25 named after the sessions, calendar events carry our key
    state = ws(client, "core_courseformat_get_state", courseid=course["id"])
    import json
    titles = [s["rawtitle"] for s in sorted(json.loads(state)["section"], key=lambda s: s["number"])][1:]
    assert len(titles) == 25 and "Building an online community" in titles[0]
    events = ws(client, "core_calendar_get_calendar_events", events={"courseids": [course["id"]]},
                options={"timestart": 0, "userevents": 0, "siteevents": 0})["events"]
    keys = [re.search(r"oca-key: (\S+)", e["description"]).group(1) for e in events]
    assert len(keys) == 25 == len(set(keys))


def test_second_apply_makes_no_write(moodle, client, site, store, oca):
    sync.apply(client, oca, site, store)
    writes = moodle.calls.write_count()
    again = sync.apply(client, oca, site, store)
    assert again.plan.empty and not again.applied
    assert moodle.calls.write_count() == writes, "a second apply must not write"


def test_state_loss_makes_no_duplicates(moodle, client, site, tmp_path, oca):
    from oca_sync.state import StateStore

    sync.apply(client, oca, site, StateStore(f"sqlite:///{tmp_path}/a.sqlite"))
    writes = moodle.calls.write_count()
    fresh = StateStore(f"sqlite:///{tmp_path}/b.sqlite")  # a new machine, no ledger
    assert sync.apply(client, oca, site, fresh).plan.empty
    assert moodle.calls.write_count() == writes


def test_drift_is_shown_and_reverted(moodle, client, site, store, oca):
    sync.apply(client, oca, site, store)
    course = course_of(client, "OCA-KG-2022")
    [group] = [g for g in ws(client, "core_group_get_course_groups", courseid=course["id"])
               if g["idnumber"].endswith(":ala-too-youth")]
    client.call("core_group_update_groups", {"groups": [{"id": group["id"], "name": "Renamed by hand"}]})
    prep = sync.prepare(client, oca, site, store)
    assert [(d.kind, d.fields[0].new) for d in prep.plan.drift] == [("group", "Renamed by hand")]
    assert [(c.kind, c.action) for c in prep.plan.changes] == [("group", Action.UPDATE)]
    sync.apply(client, oca, site, store)
    assert sync.prepare(client, oca, site, store).plan.empty


def test_spec_change_updates_only_what_changed(moodle, client, site, store, oca, tmp_path):
    sync.apply(client, oca, site, store)
    text = OCA_SPEC.read_text(encoding="utf-8").replace("start: 2022-01-17 15:00", "start: 2022-01-17 16:00", 1)
    assert text != OCA_SPEC.read_text(encoding="utf-8")
    changed = parse_spec_text(text, str(OCA_SPEC), OCA_SPEC.parent)
    plan = sync.prepare(client, changed, site, store).plan
    assert [(c.kind, c.action) for c in plan.changes] == [("event", Action.UPDATE)]
    writes = moodle.calls.write_count()
    sync.apply(client, changed, site, store)
    # replaced: one create and one delete call
    assert moodle.calls.write_count() - writes == 2
    assert sync.prepare(client, changed, site, store).plan.empty


def test_prune_removes_only_our_objects_and_only_when_asked(moodle, client, site, store, oca):
    sync.apply(client, oca, site, store)
    course = course_of(client, "OCA-KG-2022")
    # a group made by hand must survive any prune
    client.call("core_group_create_groups", {"groups": [{"courseid": course["id"], "name": "Teachers' corner",
                                                         "description": ""}]})
    spec = oca.spec
    smaller = replace(oca, spec=spec.model_copy(update={"organisations": spec.organisations[1:]}))
    plan = sync.prepare(client, smaller, site, store).plan
    assert not [c for c in plan.changes if c.action is Action.DELETE]
    pruned = sync.prepare(client, smaller, site, store, prune=True).plan
    deleted = {(c.kind, c.key) for c in pruned.changes if c.action is Action.DELETE}
    assert ("group", "OCA-KG-2022:" + spec.organisations[0].key) in deleted
    assert all(kind in ("group", "enrolment") for kind, _ in deleted)
    sync.apply(client, smaller, site, store, prune=True)
    names = {g["name"] for g in ws(client, "core_group_get_course_groups", courseid=course["id"])}
    assert "Teachers' corner" in names and len(names) == 6
    assert sync.prepare(client, smaller, site, store, prune=True).plan.empty


def test_concurrent_apply_is_refused(moodle, client, site, store, oca):
    with store.lock(f"apply:{sync.scope(client, oca)}", "apply"):
        with pytest.raises(LockedError, match="holds the lock"):
            sync.apply(client, oca, site, store)
    assert moodle.calls.write_count() == 0


def test_lost_write_is_reobserved_not_repeated(moodle, client, site, store, oca):
    # The server creates the users, then drops the connection: the client cannot know.
    moodle.faults.add("core_user_create_users", "drop_after")
    result = sync.apply(client, oca, site, store)
    assert result.replans == 1
    assert moodle.calls.count("core_user_create_users") == 1, "the lost create must not be sent again"
    course = course_of(client, "OCA-KG-2022")
    enrolled = ws(client, "core_enrol_get_enrolled_users", courseid=course["id"])
    assert len({u["username"] for u in enrolled}) == len(enrolled)
    assert sync.prepare(client, oca, site, store).plan.empty


def test_reads_survive_5xx_and_dropped_connections(moodle, client, site, store, oca):
    moodle.faults.add("core_course_get_categories", "status", count=2, status=503)
    moodle.faults.add("core_group_get_course_groups", "drop", count=1)
    assert sync.apply(client, oca, site, store).applied
    assert client.stats.retries >= 2


def test_conflicting_shortname_stops_before_any_write(moodle, client, site, store, oca):
    client.call("core_course_create_courses", {"courses": [{"fullname": "Someone else's", "shortname": "OCA-KG-2022",
                                                           "categoryid": 1}]})
    writes = moodle.calls.write_count()
    with pytest.raises(OcaError, match="taken by a course oca-sync does not manage"):
        sync.apply(client, oca, site, store)
    assert moodle.calls.write_count() == writes


def test_password_email_decides_createpassword(moodle, client, site, store):
    from oca_sync.spec import parse_spec_text

    text = """\
programme: {key: pw, name: P}
moodle:
  category: {name: C}
  auth: oauth2
  password_email: false
courses:
  - {shortname: PW1, fullname: Course, start: 2030-01-06, end: 2030-02-01}
organisations:
  - key: org
    name: Org
    members:
      - {key: ann, firstname: Ann, lastname: Lee, email: ann@example.org}
"""
    assert sync.apply(client, parse_spec_text(text), site, store).applied
    [ann] = [u for u in moodle.state.users.values() if u["username"] == "ann"]
    assert ann["auth"] == "oauth2" and "auth_forcepasswordchange" not in ann["preferences"]
    text2 = text.replace("key: pw", "key: pw2").replace("  auth: oauth2\n  password_email: false\n", "").replace(
        "ann", "bob").replace("PW1", "PW2")
    assert sync.apply(client, parse_spec_text(text2), site, store).applied
    [bob] = [u for u in moodle.state.users.values() if u["username"] == "bob"]
    assert bob["auth"] == "manual" and bob["preferences"]["auth_forcepasswordchange"] == "1"
