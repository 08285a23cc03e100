"""``report collect``: read the programme's outcomes into a :class:`~.dataset.Dataset` (thin I/O).

Calls per course, whatever the number of people (docs/report.md):

* ``core_course_get_courses_by_field`` (idnumber) and ``local_ocasync_get_course_state``: the
  course and our activities (their instance ids);
* ``core_enrol_get_enrolled_users``: Moodle user id -> our person key (idnumber), pages of 1,000;
* per survey activity (a campaign check-in has one per organisation) ``mod_feedback_get_items`` (item id -> position -> our question key) and
  ``mod_feedback_get_responses_analysis`` with ``perpage=0``: every response with its answers
  in one call (public/mod/feedback/classes/external.php, get_responses_analysis(); the named
  rows carry ``userid``, anonymous ones only a number);
* ``mod_attendance_get_sessions``: every session of the attendance activity with its log
  (mod_attendance externallib.php get_sessions());
* for a course with completion rules, ``local_ocasync_get_completion``: Moodle's own completion of
  every person (report/completion.py; per person with core's functions on a plugin older than 1.2).

The archive comes from the state store's ledger (``oca-sync recordings archive``), the
campaign numbers from the spec's metrics files. Nothing is written anywhere but the store.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ..moodle import model as m
from ..moodle.client import MoodleClient
from ..moodle.content import FEEDBACK_TYP
from ..moodle.observe import _enrolled
from ..spec import LoadedSpec
from ..spec.checkins import survey_activities
from ..spec.models import Course
from ..state import StateStore
from . import completion
from .dataset import ArchivedFile, AttendanceRow, Dataset, Response, Source, TakenSession
from .metrics import read_metrics

Progress = Callable[[str], None]


def keys_of(loaded: LoadedSpec) -> m.Keys:
    return m.Keys(loaded.spec.programme.key_prefix, loaded.spec.programme.key)


def now_iso() -> str:
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0).isoformat()


def collect(loaded: LoadedSpec, client: MoodleClient | None, store: StateStore, *,
            progress: Progress | None = None) -> Dataset:
    """Everything the report shows, read once; ``client`` None collects only the local sources."""
    say = progress or (lambda _msg: None)
    data = Dataset(programme=loaded.spec.programme.key, collected_at=now_iso())
    metrics = read_metrics(loaded)  # first: a bad metrics file stops before any call
    if client is not None:
        before = client.stats.total
        bulk = completion.bulk_read(client) if any(c.completion for c in loaded.spec.courses) else False
        for course in loaded.spec.courses:
            say(f"Moodle: {course.shortname}")
            _collect_course(loaded, client, course, data, bulk)
        add_zoom_minutes(data, store, f"attendance:{client.url}:{loaded.spec.programme.key}")
        what = "attendance, survey responses" + (", completion" if data.completion else "")
        data.sources.append(Source("Moodle", f"{client.url}: {what}",
                                   now_iso(), calls=client.stats.total - before,
                                   rows=len(data.attendance) + len(data.responses) + len(data.completion)))
    else:
        data.notes.append("Moodle was not read (no Moodle settings): no attendance or survey data.")
    say("archive ledger")
    scope = f"archive:{loaded.spec.programme.key}"
    for e in store.archive_entries(scope):
        at = e["archived_at"]
        data.archive.append(ArchivedFile(key=e["key"], session=e["session"], name=e["name"], link=e["link"],
                                         size=int(e["size"]), md5=e["md5"],
                                         archived_at=at.isoformat() if hasattr(at, "isoformat") else str(at)))
    data.sources.append(Source("Drive archive ledger", f"state store {store.url}", now_iso(), rows=len(data.archive)))
    data.metrics = metrics
    files = ", ".join(loaded.spec.report.campaign_metrics) or "none"
    data.sources.append(Source("Campaign metrics files", files, now_iso(), rows=len(metrics)))
    return data


def add_zoom_minutes(data: Dataset, store: Any, scope: str) -> int:
    """Minutes in the meeting per person and session, from what ``oca-sync attendance sync`` stored
    (table ``attendance_records``: session ``<course>:<key>``, username, minutes). The statuses stay
    Moodle's: the register is the record, a person may have changed one by hand."""
    read = getattr(store, "attendance_records", None)
    if read is None:  # a store without the attendance feature
        return 0
    minutes = {(str(r["session"]), int(r["userid"])): r.get("minutes") for r in read(scope)}
    if not minutes:
        return 0
    found = 0
    for row in data.attendance:
        value = minutes.get((f"{row.course}:{row.session}", row.userid))
        if value is not None:
            row.minutes = int(round(float(value)))
            found += 1
    data.sources.append(Source("Zoom participant reports", f"state store, {scope}", now_iso(), rows=found))
    return found


def _collect_course(loaded: LoadedSpec, client: MoodleClient, course: Course, data: Dataset,
                    bulk_completion: bool = False) -> None:
    keys = keys_of(loaded)
    found = client.call("core_course_get_courses_by_field",
                        {"field": "idnumber", "value": keys.course(course.shortname)}, raw=True)
    courses = [c for c in found.get("courses", []) if c.get("idnumber") == keys.course(course.shortname)]
    if not courses:
        data.notes.append(f"Course {course.shortname} is not in Moodle (run oca-sync apply): nothing read from it.")
        return
    courseid = int(courses[0]["id"])
    state = client.call("local_ocasync_get_course_state", {"courseid": courseid})
    modules = {mod["idnumber"]: mod for mod in state.get("modules", []) if keys.is_ours(mod.get("idnumber"))}
    people = {u.userid: u.idnumber[len(keys.owned):] for u in _enrolled(client, courseid).values()
              if keys.is_ours(u.idnumber)}
    for survey in course.surveys:
        # A check-in is one activity per campaigning organisation: its responses are that organisation's.
        for org in survey_activities(loaded.spec, course, survey):
            group = org.key if org else None
            mod = modules.get(keys.survey(course.shortname, survey.key, group))
            if mod is None:
                data.notes.append(f"Survey {survey.key}{f' of {group}' if group else ''} of {course.shortname} is "
                                  "not in Moodle: no responses read.")
                continue
            _collect_survey(client, course, survey.key, [q.key for q in survey.questions],
                            [FEEDBACK_TYP[q.type] for q in survey.questions], int(mod["instance"]), people, data,
                            group)
    if course.attendance is not None:
        mod = modules.get(keys.module(course.shortname, course.attendance.key))
        if mod is None:
            data.notes.append(f"The attendance activity of {course.shortname} is not in Moodle: no attendance read.")
        else:
            _collect_attendance(loaded, client, course, int(mod["instance"]), people, data)
    completion.collect(client, course, courseid, keys, modules, people, data, bulk_completion)


def _collect_survey(client: MoodleClient, course: Course, survey: str, qkeys: list[str], typs: list[str],
                    feedbackid: int, people: dict[int, str], data: Dataset, group: str | None = None) -> None:
    items = client.call("mod_feedback_get_items", {"feedbackid": feedbackid}).get("items", [])
    # The plugin writes the spec's questions at positions 1..n in order (content._question); an item
    # whose type differs from the spec's was changed by hand and is not read as that question.
    by_item: dict[int, str] = {}
    for item in items:
        pos = int(item.get("position") or 0)
        if 1 <= pos <= len(qkeys) and item.get("typ") == typs[pos - 1]:
            by_item[int(item["id"])] = qkeys[pos - 1]
    result = client.call("mod_feedback_get_responses_analysis", {"feedbackid": feedbackid, "perpage": 0})
    named = result.get("attempts", [])
    anonymous = result.get("anonattempts", [])
    for attempt in named:
        data.responses.append(Response(
            course=course.shortname, survey=survey, response_id=int(attempt["id"]),
            person=people.get(int(attempt["userid"])), submitted=int(attempt.get("timemodified") or 0),
            answers=_answers(attempt, by_item), group=group))
    for attempt in anonymous:
        data.responses.append(Response(
            course=course.shortname, survey=survey, response_id=int(attempt["id"]), person=None, submitted=0,
            answers=_answers(attempt, by_item), group=group))
    unknown = sum(1 for a in named if int(a["userid"]) not in people)
    if unknown and group is None:
        data.notes.append(f"{unknown} response(s) to {survey} ({course.shortname}) come from users the spec does not "
                          "name; they count in the totals, not per organisation.")


def _answers(attempt: dict[str, Any], by_item: dict[int, str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for r in attempt.get("responses", []):
        key = by_item.get(int(r["id"]))
        if key is not None:
            out[key] = r.get("rawval")
    return out


def _collect_attendance(loaded: LoadedSpec, client: MoodleClient, course: Course, attendanceid: int,
                        people: dict[int, str], data: Dataset) -> None:
    sessions = {int(s.start.timestamp()): s.key for s in loaded.sessions.get(course.shortname, ())}
    outside = 0
    for sess in client.call("mod_attendance_get_sessions", {"attendanceid": attendanceid}):
        key = sessions.get(int(sess["sessdate"]))
        if key is None:
            continue  # a session added by hand in Moodle: not one of the spec's
        statuses = {str(s["id"]): s for s in sess.get("statuses", [])}
        data.taken.append(TakenSession(course=course.shortname, session=key, taken_at=int(sess.get("lasttaken") or 0),
                                       listed=len(sess.get("users") or [])))
        for entry in sess.get("attendance_log", []):
            person = people.get(int(entry["studentid"]))
            status = statuses.get(str(entry["statusid"]))
            if person is None or status is None:
                outside += 1
                continue
            data.attendance.append(AttendanceRow(
                course=course.shortname, session=key, person=person, status=str(status["acronym"]),
                description=str(status.get("description") or ""), grade=float(status.get("grade") or 0),
                userid=int(entry["studentid"])))
    if outside:
        data.notes.append(f"{outside} attendance record(s) of {course.shortname} are of users the spec does not name "
                          "(or carry a status the activity no longer has); they are not in the figures.")
