"""Emulation of local_ocasync 1.2's completion functions (classes/external/*completion*.php,
classes/local/completion.php), registered into :data:`.moodle_fn_ocasync.PLUGIN_REGISTRY`.

Settings live where Moodle keeps them: on the course module (``completion``, ``completionview``,
``completiongradeitemnumber``, ``completionpassgrade``), the feedback instance
(``completionsubmit``), the grade item (``gradepass``, kept as ``_gradepass`` on the attendance
instance: the sandbox has no gradebook) and the course's criteria and aggregation methods.

Users' states are derived from the data the way Moodle's completion code derives them when the
events fire: a feedback with ``completionsubmit`` is complete once the user submitted
(mod_feedback custom_completion); an activity completed by pass grade is COMPLETE_PASS (2) when
the grade reaches ``gradepass`` and COMPLETE_FAIL (3) below it (completion_info::internal_get_grade_state());
the attendance grade is the share of the points of the taken sessions (mod_attendance locallib.php
attendance_update_users_grade()). Course completion is aggregated at once here; Moodle does it in
its cron (``\\core\\task\\completion_regular_task``), so a real site shows it minutes later.
States set with :meth:`~.moodle.MoodleSandbox.set_activity_completion` take precedence.
"""

from __future__ import annotations

import json
from typing import Any

from .moodle_fn_attendance import statuses_table
from .moodle_fn_calendar import _is_tracked_user
from .moodle_fn_ocasync import check_course, check_idnumber, error, invalid_settings, php_json_settings, plugin_ws
from .moodle_functions import Ctx
from .moodle_params import PARAM_BOOL, PARAM_INT, PARAM_PLUGIN, PARAM_RAW, Multiple, Params, Single, Value
from .moodle_state import MoodleState, now

CRITERIA_TYPE_ACTIVITY = 4
CRITERIA_TYPE_ROLE = 7
CRITERIA_TYPE_COURSE = 8
AGGREGATION_ALL = 1
MODULE_FIELDS = ("completion", "completionview", "completionusegrade", "completionpassgrade", "gradepass",
                 "completionsubmit")
MODULES = ("feedback", "attendance")


def _aggregation(st: MoodleState, courseid: int, ctype: int | None) -> int:
    return int(st.completion_aggr.get((courseid, ctype)) or AGGREGATION_ALL)


def settings(st: MoodleState, course: dict[str, Any]) -> dict[str, Any]:
    """completion::settings()."""
    names: dict[int, str] = {}
    modules = []
    for cm in st.course_modules(course["id"]):
        if not cm["idnumber"]:
            names[cm["id"]] = f"#{cm['id']}"
            continue
        names[cm["id"]] = cm["idnumber"]
        s: dict[str, Any] = {
            "completion": int(cm.get("completion") or 0), "completionview": int(cm.get("completionview") or 0),
            "completionusegrade": 0 if cm.get("completiongradeitemnumber") is None else 1,
            "completionpassgrade": int(cm.get("completionpassgrade") or 0),
        }
        inst = st.instance(cm)
        if cm["modname"] == "attendance" and int(inst.get("grade") or 0) != 0:
            s["gradepass"] = float(inst.get("_gradepass") or 0)
        if cm["modname"] == "feedback":
            s["completionsubmit"] = int(inst.get("completionsubmit") or 0)
        modules.append({"idnumber": cm["idnumber"], "modname": cm["modname"], "settings": php_json_settings(s)})
    criteria = sorted(names.get(c["moduleinstance"], f"#{c['moduleinstance']}")
                      if c.get("criteriatype", CRITERIA_TYPE_ACTIVITY) == CRITERIA_TYPE_ACTIVITY
                      else f"type:{c['criteriatype']}" for c in st.completion_criteria.get(course["id"], []))
    return {"enablecompletion": bool(course["enablecompletion"]),
            "aggregation": _aggregation(st, course["id"], None),
            "activityaggregation": _aggregation(st, course["id"], CRITERIA_TYPE_ACTIVITY),
            "criteria": criteria, "modules": modules}


def parse(text: str) -> dict[str, Any]:
    """completion::parse()."""
    try:
        s = json.loads(text)
    except ValueError:
        s = None
    if not isinstance(s, dict):
        raise invalid_settings("not a JSON object")
    for k in s:
        if k not in ("modules", "criteria", "aggregation"):
            raise invalid_settings(f"unknown setting {k}")
    modules, criteria, aggregation = s.get("modules", {}), s.get("criteria", []), s.get("aggregation", 1)
    if isinstance(modules, list) and not modules:
        modules = {}  # PHP decodes [] and {} alike
    if not isinstance(modules, dict) or not isinstance(criteria, list) or aggregation not in (1, 2) \
            or isinstance(aggregation, bool):
        raise invalid_settings("modules must be an object, criteria a list, aggregation 1 (all) or 2 (any)")
    for idnumber, fields in modules.items():
        check_idnumber(str(idnumber))
        if not isinstance(fields, dict):
            raise invalid_settings(f"settings of {idnumber}")
        for k, v in fields.items():
            if k not in MODULE_FIELDS:
                raise invalid_settings(f"unknown setting {k}")
            bad = (isinstance(v, bool) or not isinstance(v, (int, float)) or v < 0) if k == "gradepass" else \
                (isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= 2)
            if bad:
                raise invalid_settings(f"{k} of {idnumber}")
    for idnumber in criteria:
        check_idnumber(str(idnumber))
    return {"modules": modules, "criteria": list(dict.fromkeys(str(c) for c in criteria)),
            "aggregation": int(aggregation)}


def _same(current: dict[str, Any], fields: dict[str, Any]) -> bool:
    for k, v in fields.items():
        if k not in current:
            return False
        if (round(float(current[k]), 5) != round(float(v), 5)) if k == "gradepass" else int(current[k]) != v:
            return False
    return True


def apply(st: MoodleState, course: dict[str, Any], want: dict[str, Any]) -> dict[str, Any]:
    """completion::apply(): only what differs is written."""
    if not course["enablecompletion"]:
        raise error("completiondisabled", course["shortname"])
    have = settings(st, course)
    current = {x["idnumber"]: json.loads(x["settings"]) for x in have["modules"]}
    cms: dict[str, dict[str, Any]] = {}
    for cm in st.modules.values():
        if cm["course"] == course["id"] and cm["idnumber"]:
            if cm["idnumber"] in cms:
                raise error("duplicateidnumber", cm["idnumber"])
            cms[cm["idnumber"]] = cm
    for idnumber in [*want["modules"], *want["criteria"]]:
        if idnumber not in cms:
            raise error("completionnomodule", idnumber)
    for idnumber in want["modules"]:
        if cms[idnumber]["modname"] not in MODULES:
            raise invalid_settings(f"completion of {idnumber}: only feedback and attendance activities")
    updated = []
    for idnumber, fields in want["modules"].items():
        if _same(current.get(idnumber, {}), fields):
            continue
        _set_module(st, cms[idnumber], fields)
        updated.append(idnumber)
    criteria = sorted(want["criteria"])
    rewrite = (criteria != have["criteria"] or have["aggregation"] != want["aggregation"]
               or have["activityaggregation"] != AGGREGATION_ALL)
    if rewrite:
        # clear_criteria() (which deletes the course completion data), then one criterion per activity.
        st.completion_criteria[course["id"]] = [
            {"criteriatype": CRITERIA_TYPE_ACTIVITY, "moduleinstance": cms[i]["id"], "module": cms[i]["modname"],
             "title": "Activity completion", "completed_by": {}} for i in criteria]
        st.completion_aggr[(course["id"], None)] = want["aggregation"]
        for ctype in (CRITERIA_TYPE_ACTIVITY, CRITERIA_TYPE_COURSE, CRITERIA_TYPE_ROLE):
            st.completion_aggr[(course["id"], ctype)] = AGGREGATION_ALL
    return {"modules": updated, "criteria": rewrite}


def _set_module(st: MoodleState, cm: dict[str, Any], fields: dict[str, Any]) -> None:
    """update_moduleinfo() with completionunlocked (set_moduleinfo_defaults(): no grade item, no pass grade)."""
    for k in ("completion", "completionview", "completionpassgrade"):
        if k in fields:
            cm[k] = fields[k]
    if "completionusegrade" in fields:
        cm["completiongradeitemnumber"] = 0 if fields["completionusegrade"] else None
    if cm.get("completiongradeitemnumber") is None:
        cm["completionpassgrade"] = 0
    inst = st.instance(cm)
    if "gradepass" in fields and cm["modname"] == "attendance":
        inst["_gradepass"] = float(fields["gradepass"])
    if "completionsubmit" in fields and cm["modname"] == "feedback":
        inst["completionsubmit"] = fields["completionsubmit"]
    # reset_all_state(): states set by hand are recalculated.
    for key in [k for k in st.cm_completion if k[1] == cm["id"]]:
        del st.cm_completion[key]


def _attendance_grades(st: MoodleState, cm: dict[str, Any]) -> dict[int, float | None]:
    """The emulated gradebook of an attendance activity, brought up to date for the users marked stale.

    attendance_update_users_grade(): per user, the points of the statuses of the taken sessions over
    the most points possible in them, times the activity's grade (None: no taken session). Worked
    out in one pass over the log when read, so that marking thousands of statuses stays linear.
    """
    inst = st.instance(cm)
    grades: dict[int, float | None] = inst.setdefault("_grades", {})
    stale: set[int] = inst.setdefault("_stale", set())
    if not stale:
        return grades
    statuses = {s["id"]: s for s in statuses_table(st).values() if s["attendanceid"] == cm["instance"]}
    top = max((float(s["grade"]) for s in statuses.values()), default=0.0)
    sessions = {sid for sid, x in st.attendance_sessions.items() if x["attendanceid"] == cm["instance"]}
    points: dict[int, list[float]] = {u: [] for u in stale}
    for x in st.attendance_log.values():
        if x["studentid"] in points and x["sessionid"] in sessions and x["statusid"] in statuses:
            points[x["studentid"]].append(float(statuses[x["statusid"]]["grade"]))
    for uid, got in points.items():
        grades[uid] = sum(got) / (top * len(got)) * float(inst.get("grade") or 0) if got and top > 0 else None
    stale.clear()
    return grades


def activity_state(st: MoodleState, cm: dict[str, Any], userid: int,
                   submitted: dict[tuple[int, int], int] | None = None) -> tuple[int, int] | None:
    """(state, time) of one user's completion of an activity; None when Moodle has no record.

    ``submitted``: (feedback id, user id) -> last submission time, when the caller indexed them.
    """
    stored = st.cm_completion.get((userid, cm["id"]))
    if stored is not None:
        return int(stored["state"]), int(stored.get("timecompleted") or 0)
    if int(cm.get("completion") or 0) != 2:
        return None
    inst = st.instance(cm)
    if cm["modname"] == "feedback" and inst.get("completionsubmit"):
        if submitted is None:
            submitted = feedback_submissions(st)
        at = submitted.get((cm["instance"], userid))
        return (1, at) if at is not None else None
    if cm["modname"] == "attendance" and cm.get("completiongradeitemnumber") is not None:
        # The gradebook's grade: updated when attendance is taken in mod_attendance's pages
        # (MoodleSandbox.take_attendance) or by local_ocasync_take_attendance, not by
        # mod_attendance_update_user_status.
        grade = _attendance_grades(st, cm).get(userid)
        if grade is None:
            return None
        passed = not cm.get("completionpassgrade") or grade >= float(inst.get("_gradepass") or 0) - 1e-9
        return (2 if passed else 3), now()
    return None


def feedback_submissions(st: MoodleState) -> dict[tuple[int, int], int]:
    out: dict[tuple[int, int], int] = {}
    for c in st.feedback_completed.values():
        key = (c["feedback"], c["userid"])
        out[key] = max(out.get(key, 0), int(c["timemodified"]))
    return out


def states(st: MoodleState, course: dict[str, Any]) -> list[dict[str, Any]]:
    """completion::states(): tracked users, their keyed activities' states and course completion."""
    users = sorted({r["userid"] for e in st.course_enrol_instances(course["id"])
                    for r in st.user_enrolments.values() if r["enrolid"] == e["id"]})
    cms = [cm for cm in st.course_modules(course["id"]) if cm["idnumber"]]
    criteria = [c["moduleinstance"] for c in st.completion_criteria.get(course["id"], [])
                if c.get("criteriatype", CRITERIA_TYPE_ACTIVITY) == CRITERIA_TYPE_ACTIVITY]
    submitted = feedback_submissions(st)
    out = []
    for uid in users:
        if not _is_tracked_user(st, course["id"], uid):
            continue
        acts = []
        done: dict[int, int] = {}
        for cm in cms:
            state = activity_state(st, cm, uid, submitted)
            if state is None:
                continue
            acts.append({"idnumber": cm["idnumber"], "state": state[0], "timemodified": state[1]})
            if state[0] in (1, 2):
                done[cm["id"]] = state[1]
        complete = bool(criteria) and all(c in done for c in criteria)
        out.append({"userid": uid, "timecompleted": max(done[c] for c in criteria) if complete else 0,
                    "activities": acts})
    return out


# classes/external/get_course_completion.php
@plugin_ws("local_ocasync_get_course_completion", Params({
    "courseid": Value(PARAM_INT, "course id"),
}), Single({
    "courseid": Value(PARAM_INT, "course id"),
    "enablecompletion": Value(PARAM_BOOL, "completion tracking is on in the course"),
    "aggregation": Value(PARAM_INT, "overall aggregation: 1 all criteria, 2 any"),
    "activityaggregation": Value(PARAM_INT, "aggregation of the activity criteria: 1 all, 2 any"),
    "criteria": Multiple(Value(PARAM_RAW, 'an activity criterion by its module idnumber ("#cmid" without one), '
                                          'or "type:N" for another kind'), "completion criteria, sorted"),
    "modules": Multiple(Single({
        "idnumber": Value(PARAM_RAW, "idnumber"),
        "modname": Value(PARAM_PLUGIN, "module type"),
        "settings": Value(PARAM_RAW, "JSON object: completion, completionview, completionusegrade, "
                                     "completionpassgrade, gradepass (graded types), completionsubmit (feedback)"),
    }), "modules with a non-empty idnumber"),
}))
def get_course_completion(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    course = check_course(ctx.state, p["courseid"])
    return {"courseid": course["id"], **settings(ctx.state, course)}


# classes/external/set_course_completion.php
@plugin_ws("local_ocasync_set_course_completion", Params({
    "courseid": Value(PARAM_INT, "course id"),
    "settings": Value(PARAM_RAW, "JSON object: modules {idnumber: {completion, completionview, completionusegrade, "
                                 "completionpassgrade, gradepass, completionsubmit}}, criteria [idnumber], "
                                 "aggregation 1 (all) or 2 (any)"),
}), Single({
    "modules": Multiple(Value(PARAM_RAW, "idnumber"), "modules whose completion settings were written"),
    "criteria": Value(PARAM_BOOL, "the criteria were rewritten (course completion data cleared)"),
}), transaction=True)
def set_course_completion(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    course = check_course(ctx.state, p["courseid"])
    return apply(ctx.state, course, parse(p["settings"]))


# classes/external/get_completion.php
@plugin_ws("local_ocasync_get_completion", Params({
    "courseid": Value(PARAM_INT, "course id"),
}), Single({
    "courseid": Value(PARAM_INT, "course id"),
    "users": Multiple(Single({
        "userid": Value(PARAM_INT, "user id"),
        "timecompleted": Value(PARAM_INT, "when the course was completed, 0 when not"),
        "activities": Multiple(Single({
            "idnumber": Value(PARAM_RAW, "module idnumber"),
            "state": Value(PARAM_INT, "0 incomplete, 1 complete, 2 complete pass, 3 complete fail"),
            "timemodified": Value(PARAM_INT, "when the state was set"),
        }), "completion states of keyed activities that have one"),
    }), "users the course tracks completion of (completion_info::get_tracked_users), by id"),
}))
def get_completion(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    course = check_course(ctx.state, p["courseid"])
    return {"courseid": course["id"], "users": states(ctx.state, course)}

