"""Emulation of the companion plugin's bulk reads (local_ocasync 1.2): get_users, get_enrolments,
get_course_states.

They follow ``classes/external/get_users.php``, ``get_enrolments.php``, ``get_course_states.php``
and ``classes/local/bulk_read.php`` (tests/unit/test_plugin_php.py compares the descriptions).
Registered into :data:`~.moodle_fn_ocasync.PLUGIN_REGISTRY` like the plugin's other functions.

Unlike the rest of the emulator (whose token user is a site administrator), these three check
their capabilities for real against the token user's role assignments in the context and its
parents, with the default archetypes of ``public/lib/db/access.php`` (and the plugin's
``db/access.php``): a token of a user who lacks one is refused with Moodle's
``required_capability_exception``, so that the refusal path can be tested. A site administrator
(``$CFG->siteadmins``, here the install's admin, user 2) holds every capability
(``has_capability()`` returns true for site admins).
"""

from __future__ import annotations

from typing import Any

from .moodle_fn_ocasync import (
    COURSE_STATE,
    LANG,
    check_course,
    error,
    modules_state,
    plugin_ws,
    sections_state,
)
from .moodle_functions import Ctx, course_context_or_error, php_loose_eq
from .moodle_params import (
    PARAM_ALPHA,
    PARAM_BOOL,
    PARAM_INT,
    PARAM_PLUGIN,
    PARAM_RAW,
    PARAM_USERNAME,
    InvalidParameterException,
    MoodleException,
    Multiple,
    Params,
    Single,
    Value,
    clean_param,
    php_str,
)
from .moodle_state import MoodleState

#: The install's administrator ($CFG->siteadmins of a fresh site).
SITE_ADMINS = (2,)

#: Archetypes allowed each capability the bulk reads check (public/lib/db/access.php; local/ocasync:manage
#: from the plugin's db/access.php), with the name get_capability_string() gives it (lang/en/role.php).
CAPABILITIES: dict[str, tuple[tuple[str, ...], str]] = {
    "local/ocasync:manage": (("manager",), LANG["ocasync:manage"]),
    "moodle/user:viewdetails": (("student", "teacher", "editingteacher", "manager"), "View user profiles"),
    "moodle/user:viewalldetails": (("manager",), "View user full information"),
    "moodle/user:viewhiddendetails": (("teacher", "editingteacher", "manager"), "View hidden details of users"),
    "moodle/site:viewuseridentity": (("teacher", "editingteacher", "manager"), "See full user identity in lists"),
    "moodle/course:viewparticipants": (("student", "teacher", "editingteacher", "manager"), "View participants"),
    "moodle/course:managegroups": (("editingteacher", "manager"), "Manage groups"),
    "moodle/site:accessallgroups": (("editingteacher", "manager"), "Access all groups"),
    "moodle/course:update": (("editingteacher", "manager"), "Update course settings"),
    "moodle/course:manageactivities": (("editingteacher", "manager"), "Manage activities"),
}

#: bulk_read::USER_CAPABILITIES and ENROLMENT_CAPABILITIES; course_access::check().
USER_CAPABILITIES = ("local/ocasync:manage", "moodle/user:viewdetails", "moodle/user:viewalldetails",
                     "moodle/user:viewhiddendetails", "moodle/site:viewuseridentity")
ENROLMENT_CAPABILITIES = ("local/ocasync:manage", "moodle/course:viewparticipants", "moodle/course:managegroups",
                          "moodle/site:accessallgroups", "moodle/user:viewdetails", "moodle/user:viewalldetails")
COURSE_CAPABILITIES = ("local/ocasync:manage", "moodle/course:update", "moodle/course:manageactivities")


class RequiredCapabilityException(MoodleException):
    """``required_capability_exception`` (public/lib/classes/exception/required_capability_exception.php):
    errorcode ``nopermissions`` with the capability's name."""

    exception_class = "core\\exception\\required_capability_exception"

    def __init__(self, capability: str) -> None:
        super().__init__("nopermissions", "error", CAPABILITIES[capability][1])


def has_capability(st: MoodleState, userid: int, capability: str, contextid: int) -> bool:
    """has_capability(): a site admin has all; otherwise a role assigned in the context or a parent allows it."""
    if userid in SITE_ADMINS:
        return True
    path = {int(c) for c in st.contexts[contextid]["path"].strip("/").split("/")}
    allowed = CAPABILITIES[capability][0]
    return any(ra["userid"] == userid and ra["contextid"] in path and st.roles[ra["roleid"]]["archetype"] in allowed
               for ra in st.role_assignments.values())


def require_capabilities(ctx: Ctx, capabilities: tuple[str, ...], contextid: int) -> None:
    for capability in capabilities:
        if not has_capability(ctx.state, ctx.userid, capability, contextid):
            raise RequiredCapabilityException(capability)


# classes/local/bulk_read.php users()
def users(ctx: Ctx, field: str, values: list[str]) -> list[dict[str, Any]]:
    st = ctx.state
    if field not in ("idnumber", "username"):
        raise error("invalidfield", field)
    require_capabilities(ctx, USER_CAPABILITIES, st.system_context())
    ptype = PARAM_RAW if field == "idnumber" else PARAM_USERNAME  # core_user::get_property_type()
    wanted = set()
    for value in values:
        clean = clean_param(value, ptype)
        if not php_loose_eq(value, clean):
            raise InvalidParameterException(
                f"The field '{field}' value is invalid: {value}(cleaned value: {php_str(clean)})")
        wanted.add(php_str(clean))
    return [{k: str(u.get(k) or "") for k in ("username", "idnumber", "firstname", "lastname", "email", "lang",
                                               "auth", "city", "country")} | {"id": uid}
            for uid, u in sorted(st.users.items()) if php_str(u[field]) in wanted and php_str(u[field]) != ""]


# classes/local/bulk_read.php courses()
def checked_courses(ctx: Ctx, courseids: list[int], capabilities: tuple[str, ...]) -> list[int]:
    out: list[int] = []
    for courseid in courseids:
        course = check_course(ctx.state, courseid)  # util::course(): invalidcourseid
        contextid = course_context_or_error(ctx, course["id"])
        require_capabilities(ctx, capabilities, contextid)
        if course["id"] not in out:
            out.append(course["id"])
    return out


# classes/local/bulk_read.php enrolments(): one pass over each table, as the PHP makes one query per kind
def enrolments(st: MoodleState, courseids: list[int]) -> list[dict[str, Any]]:
    wanted = set(courseids)
    groups: dict[int, list[dict[str, Any]]] = {c: [] for c in courseids}
    group_course: dict[int, int] = {}
    for g in sorted(st.groups.values(), key=lambda g: g["id"]):
        if g["courseid"] in wanted:
            groups[g["courseid"]].append(g)
            group_course[g["id"]] = g["courseid"]
    users: dict[int, dict[int, dict[str, Any]]] = {c: {} for c in courseids}
    for ue in st.user_enrolments.values():
        courseid = st.enrol.get(ue["enrolid"], {}).get("courseid")
        u = st.users[ue["userid"]]
        if courseid in wanted and not u["deleted"]:
            users[courseid][u["id"]] = {"id": u["id"], "username": str(u["username"]),
                                        "idnumber": str(u.get("idnumber") or ""), "roleids": set(), "groupids": []}
    context_course = {st.course_context(c): c for c in courseids}
    for ra in st.role_assignments.values():
        courseid = context_course.get(ra["contextid"])
        if courseid is not None and ra["userid"] in users[courseid]:
            users[courseid][ra["userid"]]["roleids"].add(ra["roleid"])
    for m in sorted(st.group_members.values(), key=lambda m: m["groupid"]):
        courseid = group_course.get(m["groupid"])
        if courseid is not None and m["userid"] in users[courseid]:
            users[courseid][m["userid"]]["groupids"].append(m["groupid"])
    return [{"courseid": c,
             "groups": [{"id": g["id"], "idnumber": str(g.get("idnumber") or ""), "name": str(g["name"]),
                         "description": str(g.get("description") or "")} for g in groups[c]],
             "users": [{**u, "roleids": sorted(u["roleids"])} for _, u in sorted(users[c].items())]}
            for c in courseids]


# classes/external/get_users.php
@plugin_ws("local_ocasync_get_users", Params({
    "field": Value(PARAM_ALPHA, "idnumber or username"),
    "values": Multiple(Value(PARAM_RAW, "a value to match")),
}), Multiple(Single({
    "id": Value(PARAM_INT, "user id"),
    "username": Value(PARAM_RAW, "username"),
    "idnumber": Value(PARAM_RAW, 'idnumber, "" when none'),
    "firstname": Value(PARAM_RAW, "first name, raw"),
    "lastname": Value(PARAM_RAW, "last name, raw"),
    "email": Value(PARAM_RAW, "email"),
    "lang": Value(PARAM_RAW, "preferred language"),
    "auth": Value(PARAM_RAW, "authentication plugin"),
    "city": Value(PARAM_RAW, 'city, "" when none'),
    "country": Value(PARAM_RAW, 'country code, "" when none'),
}), "users by id"))
def get_users(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    return users(ctx, p["field"], p["values"])


# classes/external/get_enrolments.php
@plugin_ws("local_ocasync_get_enrolments", Params({
    "courseids": Multiple(Value(PARAM_INT, "course id")),
}), Multiple(Single({
    "courseid": Value(PARAM_INT, "course id"),
    "groups": Multiple(Single({
        "id": Value(PARAM_INT, "group id"),
        "idnumber": Value(PARAM_RAW, 'idnumber, "" when none'),
        "name": Value(PARAM_RAW, "raw name"),
        "description": Value(PARAM_RAW, "raw description (HTML)"),
    }), "every group of the course, by id"),
    "users": Multiple(Single({
        "id": Value(PARAM_INT, "user id"),
        "username": Value(PARAM_RAW, "username"),
        "idnumber": Value(PARAM_RAW, 'idnumber, "" when none'),
        "roleids": Multiple(Value(PARAM_INT, "role id"), "roles assigned in the course context"),
        "groupids": Multiple(Value(PARAM_INT, "group id"), "groups of the course the user is a member of"),
    }), "users enrolled in the course (any enrolment status), by id"),
}), "one entry per course, in the order given"))
def get_enrolments(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    return enrolments(ctx.state, checked_courses(ctx, p["courseids"], ENROLMENT_CAPABILITIES))


# classes/external/get_course_states.php
@plugin_ws("local_ocasync_get_course_states", Params({
    "courseids": Multiple(Value(PARAM_INT, "course id")),
}), Multiple(COURSE_STATE, "one entry per course, in the order given"))
def get_course_states(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    checked: list[int] = []
    for courseid in p["courseids"]:
        course = check_course(st, courseid)  # course_access::check()
        contextid = st.course_context(course["id"])
        assert contextid is not None
        require_capabilities(ctx, COURSE_CAPABILITIES, contextid)
        if course["id"] not in checked:
            checked.append(course["id"])
    return [{"courseid": cid, "format": str(st.courses[cid]["format"]), "sections": sections_state(st, cid),
             "modules": modules_state(st, cid)} for cid in checked]

