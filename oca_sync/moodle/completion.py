"""Completion rules -> Moodle's own completion settings, planned and applied through the companion plugin.

A course with ``completion`` in the spec gets (docs/spec-reference.md, docs/plugin-api.md):

* each survey it names: automatic completion on submission (mod_feedback ``completionsubmit``);
* its attendance activity, for ``attend`` rules: completion by grade with a pass grade
  (``completionusegrade`` + ``completionpassgrade`` and the grade item's ``gradepass``), since
  mod_attendance has no "attend N sessions" rule (MOODLE_403_STABLE lib.php attendance_supports():
  no FEATURE_COMPLETION_HAS_RULES). Its grade is the share of the points of the *taken* sessions
  (locallib.php attendance_update_users_grade(): ``takensessionspercentage * grade``), so N of M
  sessions attended passes at ``grade * N / M``;
* course completion criteria: exactly those activities, all required (aggregation ALL).

Core web services cannot set any of this; ``local_ocasync_set_course_completion`` does, and
``local_ocasync_get_course_completion`` reads it back for the plan. Pure but for :func:`observe`
and :func:`apply`.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from collections.abc import Callable, Container, Mapping, Sequence
from dataclasses import replace
from typing import Any

from ..plan import Action, Change, FieldChange
from ..spec import LoadedSpec
from ..spec.models import Course
from . import model as m
from .client import MoodleClient
from .functions import PLUGIN_1_2

#: local_ocasync 1.2: the completion functions (found by name in the token's service; the version
#: is the fallback when a site lists no functions).
PLUGIN_COMPLETION_VERSION = PLUGIN_1_2
FUNCTIONS = ("local_ocasync_get_course_completion", "local_ocasync_set_course_completion")


def supported(observed: m.ObservedSite) -> bool:
    if observed.functions:
        return observed.functions.issuperset(FUNCTIONS)
    return observed.plugin and observed.plugin_version >= PLUGIN_COMPLETION_VERSION


TRACKING_AUTOMATIC = 2  # COMPLETION_TRACKING_AUTOMATIC (lib/completionlib.php)
AGGREGATION_ALL = 1  # COMPLETION_AGGREGATION_ALL

ON_SUBMIT = {"completion": TRACKING_AUTOMATIC, "completionview": 0, "completionusegrade": 0,
             "completionpassgrade": 0, "completionsubmit": 1}


def pass_grade(grade: int, attended: int, sessions: int) -> float:
    """The attendance grade at which ``attended`` of ``sessions`` present sessions pass.

    Rounded down to 2 decimals: the activity form shows and re-saves ``gradepass`` with the grade
    item's 2 decimals (course/modlib.php get_moduleinfo_data() format_float()), and exactly N of M
    (e.g. 2/3 of 100 = 66.666…) must still pass.
    """
    return math.floor(grade * attended * 100 / sessions) / 100


def course_settings(loaded: LoadedSpec, course: Course, keys: m.Keys, notes: list[str],
                    now: dt.datetime) -> dict[str, Any] | None:
    """What ``local_ocasync_set_course_completion`` should hold for ``course`` (None: no rules).

    The attendance activity becomes a course completion criterion only once all its sessions have
    ended (by ``now``): Moodle marks a criterion met the first time the activity is complete
    (completion_criteria_activity::review(), kept in course_completion_crit_compl) and never takes
    that back, while the attendance grade counts only the sessions taken so far: someone present
    at the first session would meet it for good. Adding it at the end rewrites the criteria, which
    clears the course completion records (completion_info::clear_criteria()); Moodle's cron then
    marks everyone on the final grades.
    """
    rules = course.completion
    if rules is None or not (rules.attend or rules.surveys):
        return None
    modules: dict[str, dict[str, Any]] = {}
    later: list[str] = []  # activities that become criteria only once their sessions are over
    for key in rules.surveys:
        modules[keys.module(course.shortname, key)] = dict(ON_SUBMIT)
    att = course.attendance
    if rules.attend and att is not None:
        held = sum(1 for s in loaded.sessions.get(course.shortname, ()) if s.kind in att.sessions)
        wanted = sum(r.at_least for r in rules.attend)
        if att.grade <= 0 or held == 0:
            notes.append(f"course {course.shortname}: the attendance rules cannot become Moodle completion "
                         "(the attendance activity has no grade); the report still applies them")
        else:
            idn = keys.module(course.shortname, att.key)
            modules[idn] = {
                "completion": TRACKING_AUTOMATIC, "completionview": 0, "completionusegrade": 1,
                "completionpassgrade": 1, "gradepass": pass_grade(att.grade, min(wanted, held), held)}
            last = max(s.end_utc for s in loaded.sessions.get(course.shortname, ()) if s.kind in att.sessions)
            if last > now:
                later.append(idn)
                notes.append(f"course {course.shortname}: the attendance activity becomes a course completion "
                             f"criterion after its last session ({last:%Y-%m-%d %H:%M} UTC; apply again once every register is taken): "
                             "Moodle never takes back a criterion once met, and the attendance grade counts only "
                             "the sessions taken so far (docs/spec.md#completion)")
    return {"modules": modules, "criteria": sorted(k for k in modules if k not in later),
            "aggregation": AGGREGATION_ALL}


def attendance_criterion(course: Course, keys: m.Keys, settings: dict[str, Any] | None) -> str | None:
    """The idnumber of ``course``'s attendance activity when ``settings`` make it a course criterion."""
    if settings is None or course.attendance is None:
        return None
    idn = keys.module(course.shortname, course.attendance.key)
    return idn if idn in settings["criteria"] else None


def untaken(sessions: Sequence[dict[str, Any]], now: dt.datetime, empty: Container[Any] = ()) -> int:
    """Ended sessions of an attendance activity (``mod_attendance_get_sessions``, or the plugin's settings
    for one not made yet) not taken yet: never saved on the Take attendance page (``lasttaken``) and no
    status in their log. A session with nobody to take is not waited for (it would wait for ever): one
    whose ``users`` (mod_attendance lists who can be listed in its group: attendance_webservices_handler::
    get_session()) is empty, or for a new activity one whose ``group`` is in ``empty``."""
    ts = now.timestamp()
    return sum(1 for s in sessions
               if int(s.get("sessdate") or 0) + int(s.get("duration") or 0) <= ts
               and not int(s.get("lasttaken") or 0) and not s.get("attendance_log")
               and ("users" not in s or s["users"]) and s.get("group", "") not in empty)


def wait_for_registers(desired: m.DesiredSite, observed: m.ObservedSite) -> m.DesiredSite:
    """``desired`` without the attendance criterion of the courses whose registers are not all taken.

    Moodle marks an activity criterion met the first time the activity is complete and never takes
    that back; the attendance grade counts only the sessions taken so far. Once the last session has
    ended (course_settings), the criterion is added only when every ended session's register is
    taken, so nobody completes the course on the first registers alone. A criterion already on the
    site stays (it was added when it was safe, or by hand).
    """
    completion = dict(desired.completion)
    notes = list(desired.notes)
    for cid, idn in desired.attendance_criterion.items():
        if cid not in observed.attendance_untaken:
            continue  # not read: the criterion is on the site already
        left = observed.attendance_untaken[cid]
        if left == 0:
            continue
        short = desired.courses[cid].shortname
        settings = completion[cid]
        completion[cid] = {**settings, "criteria": [c for c in settings["criteria"] if c != idn]}
        if left is None:
            notes.append(f"course {short}: the attendance activity is not made a course completion criterion: "
                         "its registers could not be read (mod_attendance_get_sessions, in the oca-sync service: "
                         "oca-sync moodle doctor); Moodle never takes back a criterion once met")
        else:
            notes.append(f"course {short}: the attendance activity becomes a course completion criterion once "
                         f"every register is taken ({left} ended session(s) not taken yet: oca-sync attendance "
                         "sync, or Take attendance in Moodle; then apply again): Moodle never takes back a "
                         "criterion once met, and the attendance grade counts only the sessions taken so far")
    if completion == desired.completion:
        return desired
    return replace(desired, completion=completion, notes=notes)


def parse_observed(res: dict[str, Any]) -> dict[str, Any]:
    """``local_ocasync_get_course_completion`` -> the shape of :func:`course_settings` (plus the rest)."""
    return {
        "enablecompletion": bool(res.get("enablecompletion")),
        "aggregation": int(res.get("aggregation") or AGGREGATION_ALL),
        "activityaggregation": int(res.get("activityaggregation") or AGGREGATION_ALL),
        "criteria": sorted(str(c) for c in res.get("criteria") or []),
        "modules": {str(x["idnumber"]): json.loads(x.get("settings") or "{}") for x in res.get("modules") or []},
    }


def observe(client: MoodleClient, courseid: int) -> dict[str, Any]:
    return parse_observed(client.call("local_ocasync_get_course_completion", {"courseid": courseid}))


def _same(field: str, have: Any, want: Any) -> bool:
    if have is None:
        return False
    if field == "gradepass":
        return round(float(have), 5) == round(float(want), 5)
    return bool(int(have) == int(want))


def diff(have: dict[str, Any] | None, want: dict[str, Any], owned: str) -> tuple[FieldChange, ...]:
    """The plan lines: criteria, aggregation, then ``<activity>.<setting>`` that differ."""
    have = have or {}
    out: list[FieldChange] = []
    short = [c.removeprefix(owned) for c in want["criteria"]]
    if have.get("criteria") != want["criteria"]:
        out.append(FieldChange("criteria", [c.removeprefix(owned) for c in have.get("criteria", [])] or None, short))
    if have.get("aggregation") != want["aggregation"]:
        out.append(FieldChange("aggregation", have.get("aggregation"), want["aggregation"]))
    if have.get("activityaggregation") != AGGREGATION_ALL:  # among the activity criteria: all of them
        out.append(FieldChange("activityaggregation", have.get("activityaggregation"), AGGREGATION_ALL))
    cur_mods = have.get("modules", {})
    for idn, fields in want["modules"].items():
        cur = cur_mods.get(idn, {})
        for k, v in fields.items():
            if not _same(k, cur.get(k), v):
                out.append(FieldChange(f"{idn.removeprefix(owned)}.{k}", cur.get(k), v))
    return tuple(out)


def apply(client: MoodleClient, changes: Sequence[Change], course_ids: dict[str, int],
          desired: m.DesiredSite, done: Callable[[Sequence[Change]], None]) -> None:
    """One call per course, after the modules exist (the plugin resolves idnumbers then)."""
    for c in changes:
        cid: str = c.payload
        client.call("local_ocasync_set_course_completion", {
            "courseid": course_ids[cid],
            "settings": json.dumps(desired.completion[cid], sort_keys=True, separators=(",", ":"))})
        done([c])


def drifted(have: dict[str, Any] | None, applied: dict[str, Any], owned: str) -> tuple[FieldChange, ...]:
    """What changed on the site since oca-sync last set ``applied`` (the ledger's entry): old is ours."""
    return tuple(FieldChange(f.name, f.new, f.old) for f in diff(have, applied, owned))


def plan(desired: m.DesiredSite, observed: m.ObservedSite,
         add: Callable[[str, str, Action, tuple[FieldChange, ...], Any], None],
         notice: Callable[[str, str], None],
         last: Mapping[tuple[str, str], dict[str, Any]] | None = None,
         drift: Callable[[str, str, tuple[FieldChange, ...]], None] | None = None) -> None:
    """Add a ``completion`` change per course whose settings differ (payload: the course idnumber), and
    a drift line per course whose settings changed on the site since we last set them (``last``: the
    ledger)."""
    if not desired.completion:
        return
    if not observed.plugin or not supported(observed):
        names = ", ".join(desired.courses[c].shortname for c in desired.completion)
        notice("warning", (
            f"completion rules of {names} are not set in Moodle: Moodle's core web services cannot set activity "
            "completion or course completion criteria; install the companion plugin local_ocasync 1.2 or later "
            "(oca-sync moodle doctor). The report still applies the rules itself."))
        return
    for cid, want in desired.completion.items():
        # Activities are shown by their key in the course (the change is the course's).
        owned = desired.keys.module(desired.courses[cid].shortname, "")
        applied = (last or {}).get(("completion", desired.courses[cid].shortname))
        if applied is not None and drift is not None and cid in observed.completion:
            changed = drifted(observed.completion[cid], applied, owned)
            if changed:
                drift("completion", desired.courses[cid].shortname, changed)
        fields = diff(observed.completion.get(cid), want, owned)
        if fields:
            action = Action.UPDATE if cid in observed.courses else Action.CREATE
            add("completion", desired.courses[cid].shortname, action, fields, cid)
