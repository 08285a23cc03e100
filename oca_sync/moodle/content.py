"""Spec -> what the companion plugin manages in a course: keyed sections and modules.

Pure; the shapes of ``settings`` follow docs/plugin-api.md, so that what we
would send compares equal to what ``local_ocasync_get_course_state`` returns.
"""

from __future__ import annotations

import hashlib
import html
import json
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from ..spec import LoadedSpec
from ..spec.checkins import activity_title, survey_activities
from ..spec.clock import span
from ..spec.models import Attendance, Course, FileContent, LabelContent, MultiText, PageContent, Question, Survey
from ..spec.models import Session, UrlContent
from . import model as m
from .filenames import clean_file_name

#: Our spec's question types -> mod_feedback item types.
FEEDBACK_TYP = {
    "text": "textfield", "textarea": "textarea", "multichoice": "multichoice",
    "multichoice_multi": "multichoice", "rating": "multichoicerated", "numeric": "numeric", "info": "label",
}

Text = Callable[[MultiText], str]
Name = Callable[[MultiText, str], str]  # a text cut to fit a named Moodle column


def settings_json(settings: dict[str, Any]) -> str:
    """Canonical JSON, so that equal settings compare equal as text."""
    return json.dumps(settings, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def file_facts(path: Path) -> dict[str, Any]:
    """What get_course_state reports of a resource's file: name (as Moodle cleans it), size, SHA-1 (contenthash)."""
    sha1 = hashlib.sha1()
    size = 0
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            sha1.update(chunk)
            size += len(chunk)
    return {"filename": clean_file_name(path.name), "filesize": size, "contenthash": sha1.hexdigest()}


def section_summary(session: Session, loaded: LoadedSpec, text: Text) -> str:
    """When (in the session's zone), who hosts, then the session's own summary."""
    when = f"{span(session.start, session.end)} ({session.timezone})"
    parts = [f'<p class="oca-when"><strong>{html.escape(when)}</strong></p>']
    host = next((p for p in loaded.spec.staff if p.key == session.host), None)
    if host is not None:
        parts.append(f'<p class="oca-host">{html.escape(host.firstname)} {html.escape(host.lastname)}</p>')
    summary = text(session.summary)
    if summary:
        parts.append(summary if summary.lstrip().startswith("<") else f"<p>{summary}</p>")
    return "\n".join(parts)


def rating_scale(q: Question, labels: list[str]) -> list[tuple[int, str]]:
    """The (value, label) pairs of a rating question: exactly the spec's values.

    mod_feedback's multichoicerated item keeps ``value####label`` pairs in its
    presentation and averages the values (item/multichoicerated/lib.php,
    get_analysed(): ``$avg += $item_values[0]``), so a 0-10 scale must be sent
    as 0..10. Without labels the values run from ``min`` (1) to ``max`` (5) and
    label themselves; with labels they run from ``min`` (1) upward, one each.
    """
    low = q.min if q.min is not None else 1
    if not labels:
        high = q.max if q.max is not None else 5
        return [(v, str(v)) for v in range(low, high + 1)]
    return [(low + i, label) for i, label in enumerate(labels)]


def _question(q: Question, position: int, text: Text, name: Name) -> dict[str, Any]:
    typ = FEEDBACK_TYP[q.type]
    options = [text(o) for o in q.options]
    if q.type in ("multichoice", "multichoice_multi"):
        presentation = ("c" if q.type == "multichoice_multi" else "r") + ">>>>>" + "|".join(options)
    elif q.type == "rating":
        presentation = "r>>>>>" + "|".join(f"{value}####{label}" for value, label in rating_scale(q, options))
    elif q.type == "numeric":
        presentation = f"{'-' if q.min is None else q.min}|{'-' if q.max is None else q.max}"
    elif q.type == "textarea":
        presentation = "40|5"
    elif q.type == "info":
        presentation = text(q.text)
    else:
        presentation = "30|255"
    return {
        "key": q.key, "typ": typ, "name": "" if q.type == "info" else name(q.text, "question.name"), "label": "",
        "presentation": presentation, "required": bool(q.required) and q.type != "info", "position": position,
    }


#: Name of the activity holding a session's Zoom join link; other languages get the English one.
ZOOM_LINK_NAME = {"en": "Join on Zoom", "ru": "Подключиться в Zoom", "ky": "Zoom аркылуу кошулуу",
                  "kk": "Zoom арқылы қосылу", "uz": "Zoom orqali qo‘shilish"}


def build_course(
    loaded: LoadedSpec, course: Course, cid: str, keys: m.Keys, text: Text, name: Name,
    links: Mapping[str, str] | None = None,
) -> tuple[list[m.Section], dict[str, m.Module], set[str]]:
    """Sections, modules and the event keys mod_attendance will create, for one course.

    ``links`` maps a session's key (as ``Keys.event``) to its Zoom join link; each
    becomes a URL activity at the top of the session's section.
    """
    sessions = loaded.sessions.get(course.shortname, ())
    sections = [
        m.Section(course=cid, number=i, key=s.key, name=name(s.title, "section.name"),
                  summary=section_summary(s, loaded, text), visible=True,
                  groups=tuple(sorted(keys.group(course.shortname, g) for g in s.groups)))
        for i, s in enumerate(sessions, start=1)
    ]
    modules: dict[str, m.Module] = {}

    def add(idnumber: str, **kw: Any) -> None:
        modules[idnumber] = m.Module(course=cid, idnumber=idnumber, **kw)

    langs = loaded.spec.programme.languages
    zoom_name = text({lang: ZOOM_LINK_NAME.get(lang, ZOOM_LINK_NAME["en"]) for lang in langs})
    for s in sessions:
        link = (links or {}).get(keys.event(course.shortname, s.key))
        if link:
            add(keys.module(course.shortname, f"{s.key}:zoom"), modname="url", section=s.key, name=zoom_name,
                intro="", visible=True, settings=settings_json({"externalurl": link, "display": 0}))
        for c in s.content:
            idn = keys.module(course.shortname, f"{s.key}:{c.key}")
            if isinstance(c, UrlContent):
                add(idn, modname="url", section=s.key, name=name(c.title, "module.name"), intro=text(c.description),
                    visible=True, settings=settings_json({"externalurl": c.url, "display": 0}))
            elif isinstance(c, PageContent):
                add(idn, modname="page", section=s.key, name=name(c.title, "module.name"), intro="", visible=True,
                    settings=settings_json({"content": text(c.body)}))
            elif isinstance(c, LabelContent):
                add(idn, modname="label", section=s.key, name="", intro=text(c.text), visible=True,
                    settings=settings_json({}))
            elif isinstance(c, FileContent):
                path = loaded.file(c.path)
                add(idn, modname="resource", section=s.key, name=name(c.title, "module.name"),
                    intro=text(c.description), visible=True, settings=settings_json(file_facts(path)), file=str(path))
    for survey in course.surveys:
        settings = settings_json(_feedback(survey, loaded, text, name))
        for org in survey_activities(loaded.spec, course, survey):
            if org is None:
                add(keys.survey(course.shortname, survey.key), modname="feedback", section="",
                    name=name(survey.title, "module.name"), intro=text(survey.intro), visible=True, settings=settings)
            else:  # a campaign check-in for one organisation, seen only by its group (spec/checkins.py)
                add(keys.survey(course.shortname, survey.key, org.key), modname="feedback", section="",
                    name=name(activity_title(survey.title, org.name, list(langs)), "module.name"),
                    intro=text(survey.intro), visible=True, settings=settings,
                    groups=(keys.group(course.shortname, org.key),))
    events: set[str] = set()
    if course.attendance:
        att_sessions = [s for s in sessions if s.kind in course.attendance.sessions]
        add(keys.module(course.shortname, course.attendance.key), modname="attendance", section="",
            name=name(course.attendance.name, "attendance.name"), intro="", visible=True,
            settings=settings_json(_attendance(course.attendance, att_sessions, text,
                                               lambda g: keys.group(course.shortname, g))))
        # mod_attendance makes the calendar events of its sessions: a group event per group of a session.
        events = {keys.group_event(course.shortname, s.key, g) if g else keys.event(course.shortname, s.key)
                  for s in att_sessions for g in (s.groups or ("",))}
    return sections, modules, events


def _feedback(survey: Survey, loaded: LoadedSpec, text: Text, name: Name) -> dict[str, Any]:
    def epoch(t: Any) -> int:
        return int(t.replace(tzinfo=t.tzinfo or loaded.tz).timestamp()) if t else 0

    return {
        "anonymous": 1 if survey.anonymous else 2,
        "timeopen": epoch(survey.opens),
        "timeclose": epoch(survey.closes),
        "questions": [_question(q, i, text, name) for i, q in enumerate(survey.questions, start=1)],
        # A check-in is answered every week: several submissions per person (mod_feedback multiple_submit).
        **({"multiple_submit": 1} if survey.kind == "checkin" else {}),
    }


def _attendance(att: Attendance, sessions: list[Session], text: Text, group: Callable[[str], str]) -> dict[str, Any]:
    """One attendance session per live session, or per group of a session for some groups
    (a mod_attendance session has one ``groupid``); in the plugin's order: by start, then group."""
    out = []
    for s in sessions:
        base = {"sessdate": int(s.start.timestamp()), "duration": s.duration * 60, "description": text(s.title)}
        # "group" only when there is one: the shape stays the one older plugin versions read back.
        out += [{**base, "group": group(g)} for g in s.groups] if s.groups else [base]
    out.sort(key=lambda x: (x["sessdate"], x.get("group", "")))
    return {"grade": att.grade, "sessions": out}
