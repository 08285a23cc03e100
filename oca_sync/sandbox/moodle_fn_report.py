"""Emulated read functions the report collects outcomes with: mod_feedback's items and
responses (public/mod/feedback/classes/external.php, classes/responses_table.php,
item/*/lib.php) and mod_attendance's sessions (mod_attendance externallib.php and
classes/attendance_webservices_handler.php, branch MOODLE_403_STABLE).

Also the sandbox-side data these read: feedback values (``feedback_value``) and the
attendance statuses of an instance (``attendance_statuses``; mod_attendance copies
the site's default set P/A/L/E to every new instance, db/install.php).
"""

from __future__ import annotations

from typing import Any

from .moodle_functions import WARNINGS, Ctx, WsFunction, fullname
from .moodle_params import (
    PARAM_FLOAT,
    PARAM_INT,
    PARAM_RAW,
    NULL_ALLOWED,
    PARAM_TEXT,
    VALUE_DEFAULT,
    MoodleException,
    Multiple,
    Params,
    Single,
    Value,
    missing_record,
)
from .moodle_state import TRACKED_ARCHETYPES, MoodleState

#: mod_feedback: FEEDBACK_ANONYMOUS_YES / _NO (mod/feedback/lib.php)
ANONYMOUS_YES, ANONYMOUS_NO = 1, 2
#: mod_attendance db/install.php: acronym -> (description, grade) of the default status set
DEFAULT_STATUSES = (("P", "Present", 2.0), ("A", "Absent", 0.0), ("L", "Late", 1.0), ("E", "Excused", 1.0))

REPORT_REGISTRY: dict[str, WsFunction] = {}
ATTENDANCE_REGISTRY: dict[str, WsFunction] = {}


def _ws(registry: dict[str, WsFunction], name: str, params: Single, returns: Single | Multiple,
        component: str) -> Any:
    def register(fn: Any) -> Any:
        registry[name] = WsFunction(name, params, returns, fn, False, component)
        return fn
    return register


# --------------------------------------------------------------------------- #
# mod_feedback
# --------------------------------------------------------------------------- #


def _feedback_cm(st: MoodleState, feedbackid: int) -> dict[str, Any]:
    """validate_feedback(): $DB->get_record('feedback', ..., MUST_EXIST) and its course module."""
    for cm in st.modules.values():
        if cm["modname"] == "feedback" and cm["instance"] == feedbackid:
            return cm
    raise missing_record("feedback", {"id": feedbackid})


def _items(st: MoodleState, feedbackid: int, hasvalue_only: bool) -> list[dict[str, Any]]:
    """mod_feedback_structure::get_items($hasvalueonly): by position."""
    items = [i for i in st.feedback_items.values() if i["feedback"] == feedbackid
             and (not hasvalue_only or i["hasvalue"])]
    return sorted(items, key=lambda i: (i["position"], i["id"]))


ITEM = Single({
    "id": Value(PARAM_INT), "feedback": Value(PARAM_INT), "template": Value(PARAM_INT),
    "name": Value(PARAM_RAW), "label": Value(PARAM_RAW), "presentation": Value(PARAM_RAW),
    "typ": Value(PARAM_TEXT), "hasvalue": Value(PARAM_INT), "position": Value(PARAM_INT),
    "required": Value(PARAM_INT), "dependitem": Value(PARAM_INT), "dependvalue": Value(PARAM_RAW),
    "options": Value(PARAM_RAW),
    "itemfiles": Multiple(Single({"filename": Value(PARAM_TEXT)}), required=VALUE_DEFAULT, default=[]),
    "itemnumber": Value(PARAM_INT, required=VALUE_DEFAULT, default=None),
    "otherdata": Value(PARAM_RAW, required=VALUE_DEFAULT, default=None),
})


# mod_feedback_external::get_items(): every item (labels too), as feedback_item_exporter exports them;
# itemnumber counts the items that take an answer (mod_feedback_structure::get_items adds itemnr).
@_ws(REPORT_REGISTRY, "mod_feedback_get_items",
     Params({"feedbackid": Value(PARAM_INT), "courseid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0)}),
     Single({"items": Multiple(ITEM), "warnings": WARNINGS}), "mod_feedback")
def get_items(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    _feedback_cm(st, p["feedbackid"])
    out = []
    number = 0
    for i in _items(st, p["feedbackid"], hasvalue_only=False):
        if i["hasvalue"]:
            number += 1
        out.append({**{k: i[k] for k in ("id", "feedback", "template", "name", "label", "presentation", "typ",
                                         "hasvalue", "position", "required", "dependitem", "dependvalue",
                                         "options")},
                    "itemfiles": [], "itemnumber": number if i["hasvalue"] else None, "otherdata": None})
    return {"items": out, "warnings": []}


def printval(item: dict[str, Any], value: str | None) -> str:
    """feedback_item_*::get_printval(): the answer as a person reads it."""
    if value is None:
        return ""
    if item["typ"] in ("multichoice", "multichoicerated"):
        body = item["presentation"].split(">>>>>", 1)[-1].split("<<<<<", 1)[0]
        options = [o.split("####", 1)[-1] for o in body.split("|")]
        chosen = [options[int(v) - 1] for v in value.split("|") if v.isdigit() and 0 < int(v) <= len(options)]
        return "\n".join(c.strip() for c in chosen)
    return value.strip()


RESPONSE = Multiple(Single({
    "id": Value(PARAM_INT), "name": Value(PARAM_RAW), "printval": Value(PARAM_RAW), "rawval": Value(PARAM_RAW),
}))


# mod_feedback_external::get_responses_analysis() with mod_feedback_responses_table and
# mod_feedback_responses_anon_table::export_external_structure(): one row per completed
# response; per row one entry per item that takes a value ("id" is the item id, rawval is
# feedback_value.value or null). perpage 0 returns every response on one page.
@_ws(REPORT_REGISTRY, "mod_feedback_get_responses_analysis",
     Params({"feedbackid": Value(PARAM_INT),
             "groupid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
             "page": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
             "perpage": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
             "courseid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0)}),
     Single({
         "attempts": Multiple(Single({
             "id": Value(PARAM_INT), "courseid": Value(PARAM_INT), "userid": Value(PARAM_INT),
             "timemodified": Value(PARAM_INT), "fullname": Value(PARAM_TEXT), "responses": RESPONSE,
         })),
         "totalattempts": Value(PARAM_INT),
         "anonattempts": Multiple(Single({
             "id": Value(PARAM_INT), "courseid": Value(PARAM_INT), "number": Value(PARAM_INT),
             "responses": RESPONSE,
         })),
         "totalanonattempts": Value(PARAM_INT),
         "warnings": WARNINGS,
     }), "mod_feedback")
def get_responses_analysis(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    cm = _feedback_cm(st, p["feedbackid"])
    groupid = p["groupid"]
    if groupid and not any(g["id"] == groupid and g["courseid"] == cm["course"] for g in st.groups.values()):
        raise MoodleException("notingroup")  # groups_group_visible()
    items = _items(st, p["feedbackid"], hasvalue_only=True)
    values: dict[tuple[int, int], str] = {
        (v["completed"], v["item"]): v["value"] for v in st.feedback_values.values()}

    def responses(completed: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": i["id"], "name": i["name"], "printval": printval(i, values.get((completed["id"], i["id"]))),
                 "rawval": values.get((completed["id"], i["id"]))} for i in items]

    def rows(anonymous: int) -> list[dict[str, Any]]:
        found = [c for c in st.feedback_completed.values()
                 if c["feedback"] == p["feedbackid"] and c["anonymous_response"] == anonymous
                 and (not groupid or st.is_group_member(groupid, c["userid"]))]
        if anonymous == ANONYMOUS_NO:  # the named table sorts by last name (sortable(true, 'lastname'))
            found = [c for c in found if c["userid"] in st.users and not st.users[c["userid"]].get("deleted")]
            found.sort(key=lambda c: (st.users[c["userid"]]["lastname"], c["id"]))
        else:  # the anonymous table by response number (shuffled once, then stable)
            found.sort(key=lambda c: c.get("random_response") or c["id"])
        return found

    def page(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if p["perpage"] > 0:
            return found[p["page"] * p["perpage"]:(p["page"] + 1) * p["perpage"]]
        return found

    named, anon = rows(ANONYMOUS_NO), rows(ANONYMOUS_YES)
    return {
        "attempts": [{"id": c["id"], "courseid": c["courseid"], "userid": c["userid"],
                      "timemodified": c["timemodified"], "fullname": fullname(st.users[c["userid"]]),
                      "responses": responses(c)} for c in page(named)],
        "totalattempts": len(named),
        "anonattempts": [{"id": c["id"], "courseid": c["courseid"], "number": n,
                          "responses": responses(c)} for n, c in enumerate(page(anon), start=1)],
        "totalanonattempts": len(anon),
        "warnings": [],
    }


# --------------------------------------------------------------------------- #
# mod_attendance
# --------------------------------------------------------------------------- #


def statuses_of(st: MoodleState, attendanceid: int) -> list[dict[str, Any]]:
    """attendance_get_statuses(): the instance's set, created from the defaults on first use
    (attendance_add_instance() copies them when the activity is created)."""
    found = [s for s in st.attendance_statuses.values() if s["attendanceid"] == attendanceid]
    if not found:
        for acronym, description, grade in DEFAULT_STATUSES:
            sid = st.next_id("attendance_statuses")
            st.attendance_statuses[sid] = {"id": sid, "attendanceid": attendanceid, "acronym": acronym,
                                           "description": description, "grade": grade, "visible": 1,
                                           "deleted": 0, "setnumber": 0}
        found = [s for s in st.attendance_statuses.values() if s["attendanceid"] == attendanceid]
    return sorted(found, key=lambda s: (-s["grade"], s["id"]))  # ordered by 'grade DESC' (locallib.php)


SESSION = Single({
    "id": Value(PARAM_INT), "attendanceid": Value(PARAM_INT), "groupid": Value(PARAM_INT),
    "sessdate": Value(PARAM_INT), "duration": Value(PARAM_INT), "lasttaken": Value(PARAM_INT, allownull=NULL_ALLOWED),
    "lasttakenby": Value(PARAM_INT), "timemodified": Value(PARAM_INT), "description": Value(PARAM_RAW),
    "descriptionformat": Value(PARAM_INT), "studentscanmark": Value(PARAM_INT), "absenteereport": Value(PARAM_INT),
    "autoassignstatus": Value(PARAM_INT), "preventsharedip": Value(PARAM_INT),
    "preventsharediptime": Value(PARAM_INT, allownull=NULL_ALLOWED), "statusset": Value(PARAM_INT), "includeqrcode": Value(PARAM_INT),
    "studentsearlyopentime": Value(PARAM_INT), "courseid": Value(PARAM_INT),
    "statuses": Multiple(Single({
        "id": Value(PARAM_INT), "attendanceid": Value(PARAM_INT), "acronym": Value(PARAM_TEXT),
        "description": Value(PARAM_RAW), "grade": Value(PARAM_FLOAT), "visible": Value(PARAM_INT),
        "deleted": Value(PARAM_INT), "setnumber": Value(PARAM_INT)})),
    "attendance_log": Multiple(Single({
        "studentid": Value(PARAM_INT), "statusid": Value(PARAM_TEXT),
        "remarks": Value(PARAM_TEXT, allownull=NULL_ALLOWED),
        "id": Value(PARAM_TEXT)})),
    "users": Multiple(Single({"id": Value(PARAM_INT), "firstname": Value(PARAM_TEXT),
                              "lastname": Value(PARAM_TEXT)})),
})


def _listed_users(st: MoodleState, courseid: int, groupid: int) -> list[dict[str, Any]]:
    """get_enrolled_users($coursecontext, 'mod/attendance:canbelisted', $groupid): the students."""
    cctx = st.course_context(courseid)
    out = []
    for uid, user in st.users.items():
        if cctx is None or not st.is_enrolled(courseid, uid, onlyactive=True):
            continue
        if not any(st.roles[r["roleid"]]["archetype"] in TRACKED_ARCHETYPES
                   for r in st.user_roles_in_context(cctx, uid)):
            continue
        if groupid and not st.is_group_member(groupid, uid):
            continue
        out.append({"id": uid, "firstname": user["firstname"], "lastname": user["lastname"]})
    return out


# mod_attendance_external::get_sessions() -> attendance_handler::get_sessions(): every session of
# the instance, each as get_session() returns it (statuses, log, listed users).
@_ws(ATTENDANCE_REGISTRY, "mod_attendance_get_sessions", Params({"attendanceid": Value(PARAM_INT)}),
     Multiple(SESSION), "mod_attendance")
def get_sessions(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    cm = next((c for c in st.modules.values() if c["modname"] == "attendance" and c["instance"] == p["attendanceid"]),
              None)
    if cm is None:  # get_coursemodule_from_instance(..., MUST_EXIST)
        raise missing_record("course_modules", {"instance": p["attendanceid"]})
    statuses = statuses_of(st, p["attendanceid"])
    users_by_group: dict[int, list[dict[str, Any]]] = {}
    logs: dict[int, list[dict[str, Any]]] = {}
    for x in st.attendance_log.values():  # one pass, not one per session
        logs.setdefault(x["sessionid"], []).append(x)
    out = []
    for s in sorted((s for s in st.attendance_sessions.values() if s["attendanceid"] == p["attendanceid"]),
                    key=lambda s: s["id"]):
        groupid = int(s.get("groupid") or 0)
        if groupid not in users_by_group:
            users_by_group[groupid] = _listed_users(st, cm["course"], groupid)
        # attendance_log.remarks and attendance_sessions.lasttaken are NULL until set (the lab returns null)
        log = [{"studentid": x["studentid"], "statusid": str(x["statusid"]), "remarks": x.get("remarks") or None,
                "id": str(x["id"])} for x in logs.get(s["id"], [])]
        out.append({
            "id": s["id"], "attendanceid": s["attendanceid"], "groupid": groupid, "sessdate": s["sessdate"],
            "duration": s["duration"], "lasttaken": int(s["lasttaken"]) if s.get("lasttaken") else None,
            "lasttakenby": int(s.get("lasttakenby") or 0), "timemodified": int(s.get("timemodified") or 0),
            "description": s.get("description") or "", "descriptionformat": int(s.get("descriptionformat") or 1),
            "studentscanmark": 0, "absenteereport": 1, "autoassignstatus": 0, "preventsharedip": 0,
            "preventsharediptime": None, "statusset": int(s.get("statusset") or 0), "includeqrcode": 0,
            "studentsearlyopentime": 0, "courseid": cm["course"],
            "statuses": [{k: x[k] for k in ("id", "attendanceid", "acronym", "description", "grade", "visible",
                                            "deleted", "setnumber")} for x in statuses if x["visible"]],
            "attendance_log": log, "users": users_by_group[groupid],
        })
    return out
