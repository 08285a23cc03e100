"""Emulated calendar and completion functions (calendar/externallib.php,
calendar/lib.php, completion/classes/external.php).
"""

from __future__ import annotations

import datetime as _dt
from typing import Any
from zoneinfo import ZoneInfo

from .moodle_functions import (
    WARNINGS,
    Ctx,
    require_active_user,
    ws,
)
from .moodle_params import (
    NULL_NOT_ALLOWED,
    PARAM_BOOL,
    PARAM_INT,
    PARAM_NOTAGS,
    PARAM_PLUGIN,
    PARAM_RAW,
    PARAM_TEXT,
    VALUE_DEFAULT,
    VALUE_OPTIONAL,
    Format,
    MoodleException,
    Multiple,
    Params,
    Single,
    Value,
    missing_record,
    validate_format,
)
from .moodle_state import (
    SITEID,
    TRACKED_ARCHETYPES,
    MoodleState,
    now,
)

# --------------------------------------------------------------------------- #
# Calendar (calendar/externallib.php, calendar/lib.php)
# --------------------------------------------------------------------------- #

EVENT_FIELDS = Single({
    "id": Value(PARAM_INT), "name": Value(PARAM_RAW),
    "description": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "format": Format("description"), "courseid": Value(PARAM_INT),
    "categoryid": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "groupid": Value(PARAM_INT), "userid": Value(PARAM_INT), "repeatid": Value(PARAM_INT),
    "modulename": Value(PARAM_TEXT, required=VALUE_OPTIONAL), "instance": Value(PARAM_INT),
    "eventtype": Value(PARAM_TEXT), "timestart": Value(PARAM_INT), "timeduration": Value(PARAM_INT),
    "visible": Value(PARAM_INT),
    "uuid": Value(PARAM_TEXT, required=VALUE_OPTIONAL, allownull=NULL_NOT_ALLOWED),
    "sequence": Value(PARAM_INT), "timemodified": Value(PARAM_INT),
    "subscriptionid": Value(PARAM_INT, required=VALUE_OPTIONAL),
})


# public/calendar/externallib.php core_calendar_external::get_calendar_events()
@ws("core_calendar_get_calendar_events",
    Params({
        "events": Single({
            "eventids": Multiple(Value(PARAM_INT), required=VALUE_DEFAULT, default=[]),
            "courseids": Multiple(Value(PARAM_INT), required=VALUE_DEFAULT, default=[]),
            "groupids": Multiple(Value(PARAM_INT), required=VALUE_DEFAULT, default=[]),
            "categoryids": Multiple(Value(PARAM_INT), required=VALUE_DEFAULT, default=[]),
        }, required=VALUE_DEFAULT, default={}),
        "options": Single({
            "userevents": Value(PARAM_BOOL, required=VALUE_DEFAULT, default=True),
            "siteevents": Value(PARAM_BOOL, required=VALUE_DEFAULT, default=True),
            "timestart": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
            "timeend": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
            "ignorehidden": Value(PARAM_BOOL, required=VALUE_DEFAULT, default=True),
        }, required=VALUE_DEFAULT, default={}),
    }),
    Single({"events": Multiple(EVENT_FIELDS), "warnings": WARNINGS}), component="core_calendar")
def get_calendar_events(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    ev, opt = p["events"], p["options"]
    courses = list(ev["courseids"])
    groups = list(ev["groupids"])
    # An administrator (moodle/calendar:manageentries): the categories are those of the courses asked for
    # and their parents; category:manage is checked without doanything, so no others
    # (externallib.php get_calendar_events).
    categories: set[int] = set()
    for cid in courses:
        cat = st.categories.get(int(st.courses[cid]["category"])) if cid in st.courses else None
        while cat is not None:
            categories.add(cat["id"])
            cat = st.categories.get(int(cat.get("parent") or 0))
    users = [ctx.userid] if opt["userevents"] else []
    if opt["siteevents"]:
        courses.append(SITEID)
    tstart = opt["timestart"]
    tend = opt["timeend"] or 2**63 - 1

    def wanted(e: dict[str, Any]) -> bool:
        if opt["ignorehidden"] and not e["visible"]:
            return False
        if not (e["timestart"] >= tstart or e["timestart"] + e["timeduration"] > tstart):
            return False
        if e["timestart"] > tend:
            return False
        if e["userid"] in users and e["courseid"] == 0 and e["groupid"] == 0 and not e["categoryid"]:
            return True
        if e["groupid"] and e["groupid"] in groups:
            return True
        if e["courseid"] in courses and e["groupid"] == 0 and not e["categoryid"]:
            return True
        return bool(e["categoryid"]) and e["categoryid"] in categories

    # raw_event_retrieval_strategy::get_raw_events_legacy_implementation(): an event is returned only if
    # its (modulename, instance, eventtype) occurs, at its priority, among the events of a "subquery"
    # that has no condition for the groups asked for unless users are: with userevents off and courses
    # given, a group event (eventtype "group") never comes back; without courses or categories there is
    # no subquery and it does.
    def in_subquery(e: dict[str, Any]) -> bool:
        if users and e["userid"] in users and e["courseid"] == 0 and e["groupid"] == 0 and not e["categoryid"]:
            return True
        if users and e["groupid"] and e["eventtype"] == "group":
            return True  # an administrator sees every group's events (calendar_set_filters)
        if e["groupid"] == 0 and e["courseid"] in courses and not e["categoryid"]:
            return True
        return e["groupid"] == 0 and e["courseid"] == 0 and bool(e["categoryid"]) and e["categoryid"] in categories

    def kind(e: dict[str, Any]) -> tuple[Any, Any, Any]:
        return (e.get("modulename"), e.get("instance"), e["eventtype"])

    restricted = bool(users or [c for c in courses if c] or categories)
    priority: dict[tuple[Any, Any, Any], Any] = {}
    for e in st.events.values():
        if restricted and in_subquery(e):
            k = kind(e)
            old = priority.get(k, "unset")
            priority[k] = e.get("priority") if old == "unset" else (
                old if e.get("priority") is None or (old is not None and old <= e["priority"]) else e["priority"])

    def joined(e: dict[str, Any]) -> bool:
        return not restricted or (kind(e) in priority and priority[kind(e)] == e.get("priority"))

    found = sorted((e for e in st.events.values() if wanted(e) and joined(e)), key=lambda e: (e["timestart"], e["id"]))
    result: dict[int, dict[str, Any]] = {e["id"]: e for e in found}
    for eid in ev["eventids"]:
        if eid in st.events:
            result.setdefault(eid, st.events[eid])
    out = []
    for e in result.values():
        item = dict(e)
        item["name"] = ctx.fs(e["name"])
        item["description"], item["format"] = ctx.ft(e["description"], e["format"])
        out.append(item)
    return {"events": out, "warnings": []}


# public/calendar/externallib.php core_calendar_external::create_calendar_events()
# and calendar/lib.php calendar_event::update() (insert branch)
@ws("core_calendar_create_calendar_events",
    Params({"events": Multiple(Single({
        "name": Value(PARAM_TEXT, default="", allownull=NULL_NOT_ALLOWED),
        "description": Value(PARAM_RAW, required=VALUE_DEFAULT, default=None),
        "format": Format("description", VALUE_DEFAULT),
        "courseid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0, allownull=NULL_NOT_ALLOWED),
        "groupid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0, allownull=NULL_NOT_ALLOWED),
        "repeats": Value(PARAM_INT, required=VALUE_DEFAULT, default=0, allownull=NULL_NOT_ALLOWED),
        "eventtype": Value(PARAM_TEXT, required=VALUE_DEFAULT, default="user", allownull=NULL_NOT_ALLOWED),
        # The default is time() when the parameters are described, i.e. at call time.
        "timestart": Value(PARAM_INT, required=VALUE_DEFAULT, default=now, allownull=NULL_NOT_ALLOWED),
        "timeduration": Value(PARAM_INT, required=VALUE_DEFAULT, default=0, allownull=NULL_NOT_ALLOWED),
        "visible": Value(PARAM_INT, required=VALUE_DEFAULT, default=1, allownull=NULL_NOT_ALLOWED),
        "sequence": Value(PARAM_INT, required=VALUE_DEFAULT, default=1, allownull=NULL_NOT_ALLOWED),
    }))}),
    Single({"events": Multiple(Single({
        "id": Value(PARAM_INT), "name": Value(PARAM_RAW),
        "description": Value(PARAM_RAW, required=VALUE_OPTIONAL), "format": Format("description"),
        "courseid": Value(PARAM_INT), "groupid": Value(PARAM_INT), "userid": Value(PARAM_INT),
        "repeatid": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "modulename": Value(PARAM_TEXT, required=VALUE_OPTIONAL), "instance": Value(PARAM_INT),
        "eventtype": Value(PARAM_TEXT), "timestart": Value(PARAM_INT), "timeduration": Value(PARAM_INT),
        "visible": Value(PARAM_INT),
        "uuid": Value(PARAM_TEXT, required=VALUE_OPTIONAL, default="", allownull=NULL_NOT_ALLOWED),
        "sequence": Value(PARAM_INT), "timemodified": Value(PARAM_INT),
        "subscriptionid": Value(PARAM_INT, required=VALUE_OPTIONAL),
    })), "warnings": WARNINGS}),
    transaction=True, component="core_calendar")
def create_calendar_events(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    created: list[dict[str, Any]] = []
    for event in p["events"]:
        event.update(userid=ctx.userid, modulename="", instance=0, subscriptionid=None, uuid="")
        event["format"] = validate_format(event["format"])
        repeat = event["repeats"] > 0
        # calendar_event::calculate_context(): the course (or group's course) must exist.
        if event["eventtype"] in ("course", "group") or (event["courseid"] and event["eventtype"] != "user"):
            st.get_course(event["courseid"])
        eid = st.next_id("event")
        record = {"id": eid, "name": event["name"], "description": event["description"],
                  "format": event["format"], "categoryid": 0, "courseid": event["courseid"],
                  "groupid": event["groupid"], "userid": ctx.userid, "repeatid": 0,
                  "component": None, "modulename": "", "instance": 0, "type": 0,
                  "eventtype": event["eventtype"], "timestart": event["timestart"],
                  "timeduration": event["timeduration"], "timesort": None,
                  "visible": event["visible"], "uuid": "", "sequence": event["sequence"],
                  "timemodified": now(), "subscriptionid": None, "priority": None,
                  "location": None}
        st.events[eid] = record
        if repeat:
            record["repeatid"] = eid
            series = [record]
            start = _dt.datetime.fromtimestamp(event["timestart"], ZoneInfo(st.settings.timezone))
            for _ in range(1, event["repeats"]):
                start = start + _dt.timedelta(days=7)
                cid = st.next_id("event")
                copy_ = dict(record, id=cid, timestart=int(start.timestamp()))
                st.events[cid] = copy_
                series.append(copy_)
            created.extend(dict(e) for e in series)
        else:
            returned = {k: v for k, v in record.items() if k != "repeatid"}
            created.append(returned)
    warnings, ctx.extra_warnings = ctx.extra_warnings, []
    return {"events": created, "warnings": warnings}


# public/calendar/externallib.php core_calendar_external::delete_calendar_events()
# and calendar/lib.php calendar_event::delete()
@ws("core_calendar_delete_calendar_events",
    Params({"events": Multiple(Single({
        "eventid": Value(PARAM_INT, default="", allownull=NULL_NOT_ALLOWED),
        "repeat": Value(PARAM_BOOL),
    }))}),
    None, transaction=True, component="core_calendar")
def delete_calendar_events(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for item in p["events"]:
        event = st.events.get(item["eventid"])
        if event is None:
            raise missing_record("event", {"id": item["eventid"]})
        del st.events[event["id"]]
        if event["id"] == event["repeatid"] and not item["repeat"]:
            rest = sorted(e["id"] for e in st.events.values() if e["repeatid"] == event["id"])
            if rest:
                for e in st.events.values():
                    if e["repeatid"] == event["id"]:
                        e["repeatid"] = rest[0]
        if item["repeat"] and event["repeatid"]:
            for eid in [e["id"] for e in st.events.values() if e["repeatid"] == event["repeatid"]]:
                del st.events[eid]


# --------------------------------------------------------------------------- #
# Completion (completion/classes/external.php)
# --------------------------------------------------------------------------- #


def _is_tracked_user(st: MoodleState, courseid: int, userid: int) -> bool:
    """completion_info::is_tracked_user(): active enrolment + isincompletionreports."""
    if not st.is_enrolled(courseid, userid, onlyactive=True):
        return False
    cctx = st.course_context(courseid)
    if cctx is None:
        return False
    return any(st.roles[r["roleid"]]["archetype"] in TRACKED_ARCHETYPES
               for r in st.user_roles_in_context(cctx, userid))


def _activity_state(st: MoodleState, cm: dict[str, Any], userid: int) -> tuple[int, int] | None:
    """The state the plugin's emulation derives (moodle_fn_completion imports this module: imported here)."""
    from .moodle_fn_completion import activity_state

    return activity_state(st, cm, userid)


# public/completion/classes/external.php core_completion_external::get_course_completion_status()
@ws("core_completion_get_course_completion_status",
    Params({"courseid": Value(PARAM_INT), "userid": Value(PARAM_INT)}),
    Single({
        "completionstatus": Single({
            "completed": Value(PARAM_BOOL), "aggregation": Value(PARAM_INT),
            "completions": Multiple(Single({
                "type": Value(PARAM_INT), "title": Value(PARAM_TEXT), "status": Value(PARAM_NOTAGS),
                "complete": Value(PARAM_BOOL), "timecompleted": Value(PARAM_INT),
                "details": Single({"type": Value(PARAM_TEXT), "criteria": Value(PARAM_RAW),
                                   "requirement": Value(PARAM_TEXT), "status": Value(PARAM_RAW)}),
            })),
        }),
        "warnings": WARNINGS,
    }), component="core_completion")
def get_course_completion_status(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    course = st.get_course(p["courseid"])
    user = st.get_user(p["userid"])
    require_active_user(user)
    if not st.settings.enablecompletion or (course["id"] != SITEID and not course["enablecompletion"]):
        raise MoodleException("cannotviewreport")
    if not _is_tracked_user(st, course["id"], user["id"]):
        if user["id"] == ctx.userid:
            raise MoodleException("notenroled", "completion")
        raise MoodleException("usernotenroled", "completion")
    criteria = st.completion_criteria.get(course["id"], [])
    if not criteria:
        raise MoodleException("nocriteriaset", "completion")
    rows = []
    for crit in criteria:
        at = crit.get("completed_by", {}).get(user["id"])
        if at is None and crit.get("moduleinstance") in st.modules:
            # An activity criterion is met once the activity is complete (completion_criteria_activity::review()).
            state = _activity_state(st, st.modules[crit["moduleinstance"]], user["id"])
            at = state[1] if state is not None and state[0] in (1, 2) else None
        done = at is not None
        rows.append({
            "type": crit.get("criteriatype", 4), "title": crit.get("title", "Activity completion"),
            "status": "Yes" if done else "No", "complete": done,
            "timecompleted": at,
            "details": {"type": crit.get("title", "Activity completion"),
                        "criteria": crit.get("criteria", ""), "requirement": crit.get("requirement", ""),
                        "status": "Yes" if done else "No"},
        })
    completed = all(r["complete"] for r in rows)
    return {"completionstatus": {"completed": completed, "aggregation": 1, "completions": rows},
            "warnings": []}


# public/completion/classes/external.php core_completion_external::get_activities_completion_status()
@ws("core_completion_get_activities_completion_status",
    Params({"courseid": Value(PARAM_INT), "userid": Value(PARAM_INT)}),
    Single({
        "statuses": Multiple(Single({
            "cmid": Value(PARAM_INT), "modname": Value(PARAM_PLUGIN), "instance": Value(PARAM_INT),
            "state": Value(PARAM_INT), "timecompleted": Value(PARAM_INT), "tracking": Value(PARAM_INT),
            "overrideby": Value(PARAM_INT, required=VALUE_OPTIONAL),
            "valueused": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
            "hascompletion": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
            "isautomatic": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
            "istrackeduser": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
            "uservisible": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
            "details": Multiple(Single({"rulename": Value(PARAM_TEXT),
                                        "rulevalue": Single({"status": Value(PARAM_INT),
                                                             "description": Value(PARAM_TEXT)})}),
                                required=VALUE_DEFAULT, default=[]),
            "isoverallcomplete": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
        })),
        "warnings": WARNINGS,
    }), component="core_completion")
def get_activities_completion_status(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    course = st.get_course(p["courseid"])
    user = st.get_user(p["userid"])
    require_active_user(user)
    tracked = _is_tracked_user(st, course["id"], user["id"])
    statuses = []
    if st.settings.enablecompletion and course["enablecompletion"]:
        for cm in st.course_modules(course["id"]):
            if not cm["completion"]:
                continue
            data = st.cm_completion.get((user["id"], cm["id"]), {})
            derived = None if data else _activity_state(st, cm, user["id"])
            if derived is not None:
                data = {"state": derived[0], "timecompleted": derived[1]}
            state = data.get("state", 0)
            statuses.append({
                "cmid": cm["id"], "modname": cm["modname"], "instance": cm["instance"],
                "tracking": cm["completion"], "state": state,
                "timecompleted": data.get("timecompleted", 0), "overrideby": data.get("overrideby"),
                "valueused": False, "hascompletion": True, "isautomatic": cm["completion"] == 2,
                "istrackeduser": tracked, "uservisible": True, "details": [],
                "isoverallcomplete": state in (1, 2),
            })
    return {"statuses": statuses, "warnings": []}
