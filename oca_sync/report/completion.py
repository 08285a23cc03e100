"""Completion as Moodle records it, read back for the report (thin I/O).

With local_ocasync 1.2: ``local_ocasync_get_completion`` per course, one call whatever the
number of people. Without it, core's per-user functions (two calls per person:
``core_completion_get_course_completion_status`` and
``core_completion_get_activities_completion_status``); the data sources say which was used.

Moodle aggregates course completion in its cron (``\\core\\task\\completion_regular_task``), so a
person who has just met the last criterion shows as complete only after the next cron run.
"""

from __future__ import annotations

from typing import Any

from ..errors import MoodleError
from ..moodle import model as m
from ..moodle.client import MoodleClient
from ..spec.models import Course
from .dataset import Dataset, MoodleCompletion

#: core_completion errors that mean "no completion to read" for the course, not a failure
_NOTHING = {"nocriteriaset", "cannotviewreport"}
#: ... and that the person's completion is not tracked (not a student)
_UNTRACKED = {"usernotenroled", "notenroled"}


def bulk_read(client: MoodleClient) -> bool:
    """Whether the token's service offers local_ocasync_get_completion (local_ocasync 1.2 or later)."""
    names = {f.get("name") for f in client.call("core_webservice_get_site_info").get("functions") or []}
    return "local_ocasync_get_completion" in names


def collect(client: MoodleClient, course: Course, courseid: int, keys: m.Keys, modules: dict[str, dict[str, Any]],
            people: dict[int, str], data: Dataset, bulk: bool) -> str:
    """Add Moodle's completion of ``course`` to ``data``; returns how it was read ("plugin" or "core")."""
    if course.completion is None:
        return ""
    owned = keys.module(course.shortname, "")
    if bulk:
        res = client.call("local_ocasync_get_completion", {"courseid": courseid})
        for u in res.get("users", []):
            person = people.get(int(u["userid"]))
            if person is None:
                continue
            data.completion.append(MoodleCompletion(
                course=course.shortname, person=person, completed=bool(u.get("timecompleted")),
                timecompleted=int(u.get("timecompleted") or 0),
                activities={a["idnumber"].removeprefix(owned): int(a["state"]) for a in u.get("activities", [])
                            if a["idnumber"].startswith(owned) and int(a["state"])}, source="plugin"))
        return "plugin"
    by_cmid = {int(mod["cmid"]): idn.removeprefix(owned) for idn, mod in modules.items() if idn.startswith(owned)}
    for userid, person in sorted(people.items()):
        try:
            status = client.call("core_completion_get_course_completion_status",
                                 {"courseid": courseid, "userid": userid})
            rows = status.get("completionstatus", {}).get("completions", [])
            done = bool(status.get("completionstatus", {}).get("completed"))
            when = max((int(r.get("timecompleted") or 0) for r in rows), default=0) if done else 0
        except MoodleError as e:
            if e.errorcode in _UNTRACKED:
                continue  # staff: Moodle tracks no completion of theirs (as the plugin's read leaves them out)
            if e.errorcode not in _NOTHING:
                raise
            done, when = False, 0
        acts = client.call("core_completion_get_activities_completion_status", {"courseid": courseid, "userid": userid})
        states = {by_cmid[int(s["cmid"])]: int(s["state"]) for s in acts.get("statuses", [])
                  if int(s["cmid"]) in by_cmid and int(s["state"])}
        data.completion.append(MoodleCompletion(course=course.shortname, person=person, completed=done,
                                                timecompleted=when, activities=states, source="core"))
    data.notes.append(f"Completion of {course.shortname} was read per person with core's functions (local_ocasync "
                      "older than 1.2): up to 2 calls per person.")
    return "core"
