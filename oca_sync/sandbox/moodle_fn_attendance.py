"""mod_attendance's own web services, as the Moodle emulator serves them.

Transcribed from mod_attendance (github.com/danmarsden/moodle-mod_attendance,
branch MOODLE_403_STABLE): ``db/services.php`` (names), ``externallib.php``
(parameters, returns, permission checks) and
``classes/attendance_webservices_handler.php`` (what they do). The token user
is a site administrator, who holds every capability checked there
(``mod/attendance:view``, ``…:takeattendances``, ``…:manageattendances``,
``…:changeattendances``).

Statuses: ``db/install.php`` inserts the default set with ``attendanceid`` 0 in
the order P (grade 2), A (0), L (1), E (1); ``att_add_default_statuses()``
(lib.php) copies it, in id order, to every new instance. Acronyms and
descriptions are the English strings ``Pacronym``/``Pfull`` ….
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .moodle_fn_people import CAPABILITY_ARCHETYPES
from .moodle_functions import Ctx, Handler, WsFunction
from .moodle_params import (
    NULL_ALLOWED,
    PARAM_FLOAT,
    PARAM_INT,
    PARAM_RAW,
    PARAM_TEXT,
    Multiple,
    Params,
    Description,
    Single,
    Value,
    missing_record,
)
from .moodle_state import MoodleState

#: db/install.php xmldb_attendance_install(): (acronym, description, grade) in insert order.
DEFAULT_STATUSES = (("P", "Present", 2.0), ("A", "Absent", 0.0), ("L", "Late", 1.0), ("E", "Excused", 1.0))


#: mod_attendance's functions: a site has them only when the plugin is installed.
ATTENDANCE_REGISTRY: dict[str, WsFunction] = {}


def ws(name: str, params: Single, returns: Description | None) -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        ATTENDANCE_REGISTRY[name] = WsFunction(name, params, returns, fn, False, "mod_attendance")
        return fn
    return register


def now() -> int:
    import time

    return int(time.time())


def statuses_table(st: MoodleState) -> dict[int, dict[str, Any]]:
    """The ``attendance_statuses`` table (created with the default set for attendanceid 0)."""
    table = st.attendance_statuses
    if not table:
        for acronym, description, grade in DEFAULT_STATUSES:
            sid = st.next_id("attendance_statuses")
            table[sid] = {"id": sid, "attendanceid": 0, "acronym": acronym, "description": description,
                          "grade": grade, "visible": 1, "deleted": 0, "setnumber": 0}
    return table


def add_default_statuses(st: MoodleState, attendanceid: int) -> None:
    """lib.php att_add_default_statuses(): copy the attendanceid-0 set to a new instance."""
    table = statuses_table(st)
    for s in sorted((s for s in table.values() if s["attendanceid"] == 0), key=lambda s: s["id"]):
        sid = st.next_id("attendance_statuses")
        table[sid] = {**s, "id": sid, "attendanceid": attendanceid}


def statuses_in_set(st: MoodleState, attendanceid: int, statusset: int) -> list[dict[str, Any]]:
    """locallib.php attendance_get_statuses($attid, true, $statusset): visible, not deleted, by grade."""
    table = statuses_table(st)
    if not any(s["attendanceid"] == attendanceid for s in table.values()):
        add_default_statuses(st, attendanceid)  # an instance made before the emulator kept statuses
    found = [s for s in table.values() if s["attendanceid"] == attendanceid and s["visible"] == 1
             and s["deleted"] == 0 and s["setnumber"] == statusset]
    return sorted(found, key=lambda s: (s["setnumber"], -s["grade"], s["id"]))


def statuses_of(st: MoodleState, attendanceid: int) -> list[dict[str, Any]]:
    """The instance's statuses of its default set, highest grade first (what teachers pick from)."""
    return statuses_in_set(st, attendanceid, 0)


def update_grades(st: MoodleState, cm: dict[str, Any], userids: list[int]) -> None:
    """locallib.php attendance_update_users_grade($attendance, $userids), which taking attendance calls
    (structure::save_log): these users' grades are worked out when next read (moodle_fn_completion)."""
    inst = st.instance(cm)
    if int(inst.get("grade") or 0):
        inst.setdefault("_stale", set()).update(userids)


def cm_of_instance(st: MoodleState, attendanceid: int) -> dict[str, Any]:
    """get_coursemodule_from_instance('attendance', $id, 0, false, MUST_EXIST)."""
    for cm in st.modules.values():
        if cm["modname"] == "attendance" and cm["instance"] == attendanceid:
            return cm
    raise missing_record("", {})  # get_record_sql(): the table is not named


def session_or_error(st: MoodleState, sessionid: int) -> dict[str, Any]:
    sess = st.attendance_sessions.get(sessionid)
    if sess is None:
        raise missing_record("attendance_sessions", {"id": sessionid})
    return sess


SESSION = {
    "id": Value(PARAM_INT, "Session id."),
    "attendanceid": Value(PARAM_INT, "Attendance id."),
    "groupid": Value(PARAM_INT, "Group id."),
    "sessdate": Value(PARAM_INT, "Session date."),
    "duration": Value(PARAM_INT, "Session duration."),
    # NULL until attendance is first taken (install.xml; the lab answers null)
    "lasttaken": Value(PARAM_INT, "Session last taken time.", allownull=NULL_ALLOWED),
    "lasttakenby": Value(PARAM_INT, "ID of the last user that took this session."),
    "timemodified": Value(PARAM_INT, "Time modified."),
    "description": Value(PARAM_RAW, "Session description."),
    "descriptionformat": Value(PARAM_INT, "Session description format."),
    "studentscanmark": Value(PARAM_INT, "Students can mark their own presence."),
    "absenteereport": Value(PARAM_INT, "Session included in absetee reports."),
    "autoassignstatus": Value(PARAM_INT, "Automatically assign a status to students."),
    "preventsharedip": Value(PARAM_INT, "Prevent students from sharing IP addresses."),
    "preventsharediptime": Value(PARAM_INT, "Time delay before IP address is allowed again.", allownull=NULL_ALLOWED),
    "statusset": Value(PARAM_INT, "Session statusset."),
    "includeqrcode": Value(PARAM_INT, "Include QR code when displaying password"),
    "studentsearlyopentime": Value(PARAM_INT, "Duration to allow session to opened early"),
}
GET_SESSION_RETURNS = Single({
    **SESSION,
    "courseid": Value(PARAM_INT, "Course moodle id."),
    "statuses": Multiple(Single({
        "id": Value(PARAM_INT, "Status id."),
        "attendanceid": Value(PARAM_INT, "Attendance id."),
        "acronym": Value(PARAM_TEXT, "Status acronym."),
        "description": Value(PARAM_RAW, "Status description."),
        "grade": Value(PARAM_FLOAT, "Status grade."),
        "visible": Value(PARAM_INT, "Status visibility."),
        "deleted": Value(PARAM_INT, "informs if this session was deleted."),
        "setnumber": Value(PARAM_INT, "Set number."),
    })),
    "attendance_log": Multiple(Single({
        "studentid": Value(PARAM_INT, "Student id."),
        "statusid": Value(PARAM_TEXT, "Status id (last time)."),
        "remarks": Value(PARAM_TEXT, "Last remark."),
        "id": Value(PARAM_TEXT, "log id."),
    })),
    "users": Multiple(Single({
        "id": Value(PARAM_INT, "User id."),
        "firstname": Value(PARAM_TEXT, "User first name."),
        "lastname": Value(PARAM_TEXT, "User last name."),
    })),
})


def _listed_users(st: MoodleState, courseid: int, groupid: int) -> list[dict[str, Any]]:
    """get_enrolled_users($coursecontext, 'mod/attendance:canbelisted', $groupid, 'u.id, u.firstname, u.lastname')."""
    cctx = st.course_context(courseid)
    archetypes = CAPABILITY_ARCHETYPES["mod/attendance:canbelisted"]
    out = []
    for userid in sorted(st.enrolled_userids(courseid)):  # (every site user, without a scan per user)
        user = st.users[userid]
        if user["deleted"]:
            continue
        if groupid and not st.is_group_member(groupid, user["id"]):
            continue
        roles = st.user_roles_in_context(cctx, user["id"]) if cctx else []
        if any(st.roles[r["roleid"]]["archetype"] in archetypes for r in roles):
            out.append({"id": user["id"], "firstname": user["firstname"], "lastname": user["lastname"]})
    return out


def session_info(st: MoodleState, sessionid: int) -> dict[str, Any]:
    """attendance_handler::get_session()."""
    sess = st.attendance_sessions[sessionid]
    courseid = st.mod_instances["attendance"][sess["attendanceid"]]["course"]
    logs = sorted(st.attendance_log_of(sessionid), key=lambda x: x["id"])
    return {
        # columns the session row may lack default as in mod_attendance's install.xml (preventsharediptime is NULL)
        **{k: sess.get(k, None if k in ("preventsharediptime", "lasttaken") else 0) for k in SESSION},
        "lasttaken": sess.get("lasttaken") or None,
        "courseid": courseid,
        "statuses": statuses_in_set(st, sess["attendanceid"], int(sess.get("statusset") or 0)),
        "users": _listed_users(st, courseid, int(sess["groupid"])),
        # get_records(..., 'studentid, statusid, remarks, id'): keyed by studentid, the last row of a student wins
        "attendance_log": list({x["studentid"]: {"studentid": x["studentid"], "statusid": x["statusid"],
                                                  "remarks": x.get("remarks") or None, "id": x["id"]}
                                for x in logs}.values()),
    }


# externallib.php mod_attendance_external::get_session()
@ws("mod_attendance_get_session", Params({"sessionid": Value(PARAM_INT, "session id")}), GET_SESSION_RETURNS)
def get_session(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    sess = session_or_error(st, p["sessionid"])
    if sess["attendanceid"] not in st.mod_instances.get("attendance", {}):
        raise missing_record("attendance", {"id": sess["attendanceid"]})
    cm_of_instance(st, sess["attendanceid"])
    return session_info(st, sess["id"])


# externallib.php mod_attendance_external::get_sessions()
@ws("mod_attendance_get_sessions", Params({"attendanceid": Value(PARAM_INT, "Attendance id.")}),
    Multiple(GET_SESSION_RETURNS))
def get_sessions(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    cm_of_instance(st, p["attendanceid"])
    ids = sorted(s["id"] for s in st.attendance_sessions.values() if s["attendanceid"] == p["attendanceid"])
    return [session_info(st, sid) for sid in ids]


# externallib.php mod_attendance_external::update_user_status() and
# attendance_webservices_handler::update_user_status(): one log row per
# (session, student), inserted or updated; the status id is not checked
# against the session's status set ("TODO: Verify statusset and statusid.").
@ws("mod_attendance_update_user_status", Params({
    "sessionid": Value(PARAM_INT, "Session id"),
    "studentid": Value(PARAM_INT, "Student id"),
    "takenbyid": Value(PARAM_INT, "Id of the user who took this session"),
    "statusid": Value(PARAM_INT, "Status id"),
    "statusset": Value(PARAM_TEXT, "Status set of session"),
}), Value(PARAM_TEXT, "Http code"))
def update_user_status(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    sess = session_or_error(st, p["sessionid"])
    cm_of_instance(st, sess["attendanceid"])
    for uid in (p["studentid"], p["takenbyid"]):
        user = st.users.get(uid)
        if user is None:
            raise missing_record("user", {"id": uid})
    t = now()
    record = {"statusset": p["statusset"], "sessionid": sess["id"], "timetaken": t, "takenby": p["takenbyid"],
              "statusid": p["statusid"], "studentid": p["studentid"]}
    existing = next((x for x in st.attendance_log_of(sess["id"]) if x["studentid"] == p["studentid"]), None)
    if existing is not None:
        existing.update(record)
    else:
        lid = st.next_id("attendance_log")
        st.attendance_log[lid] = {"id": lid, "remarks": None, "ipaddress": "", **record}
    sess.update(lasttaken=t, lasttakenby=p["takenbyid"], timemodified=t)
    return None
