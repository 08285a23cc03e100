"""The plugin's bulk reads (local_ocasync 1.2) against the per-course core reads: the same observed
site and the same plan, in a handful of calls; the core reads remain for an older plugin."""

from __future__ import annotations

from dataclasses import replace

import pytest

from oca_sync import sync
from oca_sync.errors import MoodleError
from oca_sync.moodle.client import MoodleClient
from oca_sync.moodle.observe import BULK_FUNCTIONS
from oca_sync.plan import change_json
from oca_sync.sandbox.moodle import MoodleSandbox
from oca_sync.sandbox.moodle_state import CONTEXT_COURSE

KEY = "oca:kg2022:"


def _older_plugin(sb: MoodleSandbox) -> None:
    """The site as with plugin 1.1: the bulk reads are not in the service."""
    sb.service_functions = set(sb.registry) - set(BULK_FUNCTIONS)


def _drift(sb: MoodleSandbox) -> None:
    """Changes made by hand, one of each kind the reads must see: a user renamed, a membership and an
    enrolment removed, a role added, a foreign group and a foreign user in the way."""
    st = sb.state
    with sb.lock:
        ours = [u for u in st.users.values() if str(u.get("idnumber") or "").startswith(KEY)]
        ours[0]["firstname"] = "Renamed by hand"
        ours[1]["city"] = "Osh"
        group_ids = {g["id"] for g in st.groups.values() if str(g.get("idnumber") or "").startswith(KEY)}
        member = next(m for m in st.group_members.values() if m["groupid"] in group_ids)
        del st.group_members[member["id"]]
        ue = next(ue for ue in st.user_enrolments.values() if ue["userid"] == ours[2]["id"])
        del st.user_enrolments[ue["id"]]
        course = next(c for c in st.courses.values() if str(c.get("idnumber") or "").startswith(KEY))
        cctx = st.course_context(course["id"])
        assert cctx is not None
        teacher = next(r["id"] for r in st.roles.values() if r["shortname"] == "teacher")
        st.role_assign(teacher, ours[3]["id"], cctx)
        gid = st.next_id("groups")
        st.groups[gid] = {**next(g for g in st.groups.values() if g["id"] in group_ids), "id": gid,
                          "idnumber": "", "name": "Made by hand"}


def test_bulk_and_core_reads_observe_the_same_site_and_plan_the_same(moodle_plugin, site, store, oca):
    client = MoodleClient(moodle_plugin.url, moodle_plugin.token, timeout=10, backoff=0.01)
    assert sync.apply(client, oca, site, store).applied
    _drift(moodle_plugin)

    moodle_plugin.calls.clear()
    bulk = sync.prepare(client, oca, site, store)
    bulk_calls = moodle_plugin.calls.names()
    _older_plugin(moodle_plugin)
    moodle_plugin.calls.clear()
    core = sync.prepare(client, oca, site, store)
    core_calls = moodle_plugin.calls.names()

    assert set(BULK_FUNCTIONS) <= set(bulk_calls) and not set(BULK_FUNCTIONS) & set(core_calls)
    assert "core_enrol_get_enrolled_users" in core_calls and "core_enrol_get_enrolled_users" not in bulk_calls
    # The same site, except the list of the service's functions each was given.
    assert replace(bulk.observed, functions=frozenset()) == replace(core.observed, functions=frozenset())
    kinds = {c.kind for c in bulk.plan.changes}
    assert {"user", "enrolment", "members"} <= kinds, kinds  # the drift shows in the plan
    assert [change_json(c) for c in bulk.plan.changes] == [change_json(c) for c in core.plan.changes]
    assert len(bulk_calls) < len(core_calls)


def test_no_op_plan_calls_do_not_grow_with_courses_or_users(moodle_plugin, site, store, oca):
    client = MoodleClient(moodle_plugin.url, moodle_plugin.token, timeout=10, backoff=0.01)
    sync.apply(client, oca, site, store)
    moodle_plugin.calls.clear()
    assert sync.prepare(client, oca, site, store).plan.empty
    names = moodle_plugin.calls.names()
    # One of each bulk read for all courses and (under 900) all users: none per course or per user.
    assert names.count("local_ocasync_get_enrolments") == 1 and names.count("local_ocasync_get_course_states") == 1
    assert names.count("local_ocasync_get_users") == 1
    assert not {"core_group_get_course_groups", "local_ocasync_get_course_state", "core_user_get_users_by_field",
                "core_enrol_get_enrolled_users"} & set(names)


def _token_for(sb: MoodleSandbox, role: str, contextid: int) -> MoodleClient:
    with sb.lock:
        user = sb.state.new_user(username=f"ws-{role}-{contextid}", firstname="Web", lastname="Service",
                                 email=f"ws-{role}@example.org", confirmed=1)
        roleid = next(r["id"] for r in sb.state.roles.values() if r["shortname"] == role)
        sb.state.role_assign(roleid, user["id"], contextid)
    token = f"tok{role}{contextid}".ljust(32, "0")
    sb.add_token(token, user["id"])
    return MoodleClient(sb.url, token, timeout=10, backoff=0.01, max_attempts=1)


def test_the_bulk_reads_refuse_a_caller_without_the_capabilities(moodle_plugin, site, store, oca):
    admin = MoodleClient(moodle_plugin.url, moodle_plugin.token, timeout=10, backoff=0.01)
    sync.apply(admin, oca, site, store)
    [course] = admin.call("core_course_get_courses_by_field",
                          {"field": "idnumber", "value": f"{KEY}OCA-KG-2022"})["courses"]
    cctx = moodle_plugin.state.context_id(CONTEXT_COURSE, course["id"])
    assert cctx is not None

    # A teacher of the course sees participants but may not manage groups nor see every member's details.
    teacher = _token_for(moodle_plugin, "editingteacher", cctx)
    with pytest.raises(MoodleError) as e:
        teacher.call("local_ocasync_get_enrolments", {"courseids": [course["id"]]})
    assert e.value.errorcode == "nopermissions"
    assert e.value.exception == "core\\exception\\required_capability_exception"
    assert "oca-sync" in str(e.value)  # local/ocasync:manage, checked first, named by its string
    with pytest.raises(MoodleError) as e:
        teacher.call("local_ocasync_get_users", {"field": "username", "values": ["admin"]})
    assert e.value.errorcode == "nopermissions"

    # A manager of the course only: the course reads pass, the site-wide user read does not.
    manager = _token_for(moodle_plugin, "manager", cctx)
    [got] = manager.call("local_ocasync_get_enrolments", {"courseids": [course["id"]]})
    assert got["courseid"] == course["id"] and got["users"] and got["groups"]
    assert manager.call("local_ocasync_get_course_states", {"courseids": [course["id"]]})[0]["sections"]
    with pytest.raises(MoodleError) as e:
        manager.call("local_ocasync_get_users", {"field": "username", "values": ["admin"]})
    assert e.value.errorcode == "nopermissions" and "View user profiles" not in str(e.value)

    # A manager at site level may read users.
    site_manager = _token_for(moodle_plugin, "manager", moodle_plugin.state.system_context())
    [adm] = site_manager.call("local_ocasync_get_users", {"field": "username", "values": ["admin"]})
    assert adm["username"] == "admin" and set(adm) == {"id", "username", "idnumber", "firstname", "lastname",
                                                       "email", "lang", "auth", "city", "country"}


def test_bulk_reads_refuse_bad_input_as_the_php_does(client_plugin):
    with pytest.raises(MoodleError) as e:
        client_plugin.call("local_ocasync_get_users", {"field": "email", "values": ["a@example.org"]})
    assert e.value.errorcode == "invalidfield" and "idnumber or username" in str(e.value)
    with pytest.raises(MoodleError) as e:
        client_plugin.call("local_ocasync_get_users", {"field": "username", "values": ["Upper Case"]})
    assert e.value.errorcode == "invalidparameter"
    for function in ("local_ocasync_get_enrolments", "local_ocasync_get_course_states"):
        with pytest.raises(MoodleError) as e:
            client_plugin.call(function, {"courseids": [1]})  # the site course
        assert e.value.errorcode == "invalidcourseid"
        with pytest.raises(MoodleError) as e:
            client_plugin.call(function, {"courseids": [9999]})
        assert e.value.errorcode == "invalidcourseid"
    assert client_plugin.call("local_ocasync_get_users", {"field": "idnumber", "values": [""]}) == []
