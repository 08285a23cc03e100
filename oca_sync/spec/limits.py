"""How much each remote field holds, per Moodle version, and the checks of a spec against it.

Moodle's limits are the column sizes of its database (``lib/db/install.xml`` and
each module's ``db/install.xml``; lengths in characters) plus the checks of its
web-service functions. They change between versions: Moodle 5.0 widened a
course's full name from 254 to 1333 characters, 5.1 section names, activity
names and Feedback question names from 255 to 1333. The history comes from the
5.1 upgrade scripts (``lib/db/upgrade.php`` and ``mod/*/db/upgrade.php``), which
keep every step since 4.1 (2022112800), the oldest version the companion plugin
supports; so the 4.1-4.5 values are read from them, not from a 4.x tree.

``validate`` checks a spec against the newest known table (what a current site
accepts); ``plan`` and ``apply`` know the site's version
(``core_webservice_get_site_info``) and check it against that version's table
before anything is written (:func:`for_version`).

Zoom and Drive limits do not depend on a version: the Zoom meeting topic holds
200 characters (``MeetingCreate`` in Zoom's OpenAPI document; the agenda's 2000
are handled by zoom/meetings.py, which cuts the copy of the summary it puts
there); a Drive folder name is kept to 255 UTF-8 bytes so that it can be
downloaded to any file system.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace

from oca_sync.moodle.model import Keys
from oca_sync.spec.checkins import activity_title, survey_activities
from oca_sync.spec.findings import first_per_place
from oca_sync.spec.loader import SpecPath
from oca_sync.spec.models import Course, CourseSpec, MultiText, Person, Session
from oca_sync.spec.multilang import plain
from oca_sync.spec.textrules import moodle_name


@dataclass(frozen=True)
class MoodleLimits:
    """Characters each Moodle field holds, for one range of Moodle versions."""

    release: str  # the first release these limits apply to, e.g. "5.1"
    version: float  # its core $version
    fields: dict[str, int] = field(default_factory=dict)

    def __getitem__(self, name: str) -> int | None:
        """The limit of ``name`` (e.g. ``"course.fullname"``), None when the field is unbounded (TEXT)."""
        return self.fields.get(name)


#: Moodle 4.1 LTS .. 4.5 (2022112800 .. 2024100700).
_MOODLE_41 = MoodleLimits("4.1-4.5", 2022112800.0, {
    "category.name": 255,  # course_categories.name; core_course_category::create 'categorytoolong'
    "course.fullname": 254,  # course.fullname before upgrade step 2024111500.00
    "course.shortname": 255,
    "section.name": 255,  # course_sections.name before upgrade step 2025051600.02
    "module.name": 255,  # url/page/label/resource/feedback.name before their 2025041401/2025051301 steps
    "attendance.name": 255,  # mod_attendance db/install.xml (MOODLE_403_STABLE)
    "question.name": 255,  # feedback_item.name before mod_feedback step 2025041401
    "question.label": 255,  # feedback_item.label
    "group.name": 254,  # groups.name
    "idnumber": 100,  # course_categories, course, course_modules, groups .idnumber
    "user.idnumber": 255,
    "user.username": 100,
    "user.firstname": 100,
    "user.lastname": 100,
    "user.email": 100,
    "user.city": 120,
    # event.name is TEXT: no limit.
})
#: Moodle 5.0 (2025041400): course.fullname char(1333) (lib/db/upgrade.php step 2024111500.00).
_MOODLE_50 = replace(_MOODLE_41, release="5.0", version=2025041400.0,
                     fields={**_MOODLE_41.fields, "course.fullname": 1333})
#: Moodle 5.1 (2025100600): section, activity and Feedback question names char(1333)
#: (lib/db/upgrade.php step 2025051600.02; mod/*/db/upgrade.php steps 2025041401 and label 2025051301).
_MOODLE_51 = replace(_MOODLE_50, release="5.1", version=2025100600.0,
                     fields={**_MOODLE_50.fields, "section.name": 1333, "module.name": 1333, "question.name": 1333})

#: Known tables, oldest first.
TABLES: tuple[MoodleLimits, ...] = (_MOODLE_41, _MOODLE_50, _MOODLE_51)
#: What ``validate`` uses: the newest Moodle's limits.
NEWEST = TABLES[-1]

#: MeetingCreate.topic maxLength (zoom-meeting-api.openapi.json).
ZOOM_TOPIC_MAX = 200
#: A Drive folder name, in UTF-8 bytes (file systems hold 255 bytes per name).
DRIVE_NAME_BYTES = 255


def parse_version(version: object) -> float | None:
    """Moodle's ``$version`` from site info (``"2025100600.02"``), None if unreadable."""
    m = re.fullmatch(r"\s*(\d{10})(\.\d+)?\s*", str(version or ""))
    return float(m.group(0)) if m else None


def for_version(version: object) -> MoodleLimits:
    """The limits of a site with this ``$version`` (newer than known: the newest; unknown or
    older than 4.1: the oldest table, which is the strictest)."""
    v = parse_version(version)
    if v is None:
        return TABLES[0]
    chosen = TABLES[0]
    for table in TABLES:
        if v >= table.version:
            chosen = table
    return chosen


# --- checks ------------------------------------------------------------------------------

Finding = tuple[SpecPath, str]

#: What each limited name is, for messages.
_WHAT = {
    "category.name": "a category name", "course.fullname": "a course's full name",
    "section.name": "a section name", "module.name": "an activity name", "attendance.name": "an attendance name",
    "question.name": "a Feedback question", "group.name": "a group name",
}


def fit_name(text: MultiText, languages: Sequence[str], limit: int | None) -> tuple[str, bool] | None:
    """The name sent to Moodle and whether it fell back to the first language.

    All languages side by side when they fit in ``limit``, else the first
    language alone (Moodle then shows that language to everybody); None when
    not even that fits.
    """
    full = moodle_name(text, languages)
    if limit is None or len(full) <= limit:
        return full, False
    if isinstance(text, dict):
        single = moodle_name(plain(text, languages[0], languages), languages)
        if len(single) <= limit:
            return single, True
    return None


def _name(text: MultiText, languages: Sequence[str], limits: MoodleLimits, what: str,
          where: SpecPath) -> Iterator[Finding]:
    limit = limits[what]
    if fit_name(text, languages, limit) is None:
        length = len(moodle_name(text, languages))
        extra = " (even in one language)" if isinstance(text, dict) else ""
        yield where, (f"too long for {_WHAT[what]} in Moodle {limits.release}: {length} characters{extra}, "
                      f"at most {limit}")


def _idnumber(idnumber: str, limits: MoodleLimits, where: SpecPath, what: str) -> Iterator[Finding]:
    limit = limits["idnumber"] or 0
    if len(idnumber) > limit:
        yield where, (f"the Moodle ID number of this {what}, {idnumber!r}, is {len(idnumber)} characters long; "
                      f"Moodle holds {limit}: use shorter keys")


def check_moodle(spec: CourseSpec, sessions: dict[str, tuple[Session, ...]], limits: MoodleLimits) -> list[Finding]:
    """Every Moodle field the spec fills, against ``limits`` (people: :func:`check_person`)."""
    langs = list(spec.programme.languages)
    keys = Keys(spec.programme.key_prefix, spec.programme.key)
    out: list[Finding] = list(_name(spec.moodle.category.name, langs, limits, "category.name",
                                    ("moodle", "category", "name")))
    out += _idnumber(keys.category, limits, ("programme", "key"), "category")
    for i, course in enumerate(spec.courses):
        where: SpecPath = ("courses", i)
        out += _name(course.fullname, langs, limits, "course.fullname", where + ("fullname",))
        out += _idnumber(keys.course(course.shortname), limits, where + ("shortname",), "course")
        out += _course_items(course, where, sessions.get(course.shortname, ()), langs, keys, limits)
        out += _checkin_items(spec, course, where, langs, keys, limits)
    for i, org in enumerate(spec.organisations):
        shortnames = [c.shortname for c in spec.courses if org.courses is None or c.shortname in org.courses]
        if shortnames:
            out += _name(org.name, langs, limits, "group.name", ("organisations", i, "name"))
            longest = max(shortnames, key=len)  # gives the longest group idnumber
            out += _idnumber(keys.group(longest, org.key), limits, ("organisations", i, "key"),
                             f"organisation's group in {longest}")
    return first_per_place(out)


def _course_items(course: Course, where: SpecPath, sessions: Sequence[Session], langs: Sequence[str], keys: Keys,
                  limits: MoodleLimits) -> Iterator[Finding]:
    for s in sessions:
        here = where + ("sessions", s.source_index)
        yield from _name(s.title, langs, limits, "section.name", here + ("title",))
        yield from _idnumber(keys.module(course.shortname, f"{s.key}:zoom"), limits, here + ("key",),
                             f"session's Zoom link ({s.key})")
        for k, item in enumerate(s.content):
            item_where = here + ("content", k)
            yield from _idnumber(keys.module(course.shortname, f"{s.key}:{item.key}"), limits,
                                 item_where + ("key",), f"activity (session {s.key})")
            title = getattr(item, "title", None)
            if title is not None:
                yield from _name(title, langs, limits, "module.name", item_where + ("title",))
    for j, survey in enumerate(course.surveys):
        here = where + ("surveys", j)
        yield from _name(survey.title, langs, limits, "module.name", here + ("title",))
        yield from _idnumber(keys.module(course.shortname, survey.key), limits, here + ("key",), "survey")
        for q, question in enumerate(survey.questions):
            if question.type != "info":
                yield from _name(question.text, langs, limits, "question.name", here + ("questions", q, "text"))
    if course.attendance is not None:
        here = where + ("attendance",)
        yield from _name(course.attendance.name, langs, limits, "attendance.name", here + ("name",))
        yield from _idnumber(keys.module(course.shortname, course.attendance.key), limits, here + ("key",),
                             "attendance")


def _checkin_items(spec: CourseSpec, course: Course, where: SpecPath, langs: Sequence[str], keys: Keys,
                   limits: MoodleLimits) -> Iterator[Finding]:
    """A check-in survey's activity per organisation (spec/checkins.py): its idnumber and its name."""
    for j, survey in enumerate(course.surveys):
        here = where + ("surveys", j)
        for org in survey_activities(spec, course, survey):
            if org is not None:
                yield from _idnumber(keys.survey(course.shortname, survey.key, org.key), limits, here + ("key",),
                                     f"check-in of {org.key}")
                yield from _name(activity_title(survey.title, org.name, list(langs)), langs, limits, "module.name",
                                 here + ("title",))


def check_person(person: Person, limits: MoodleLimits, keys: Keys) -> list[tuple[str, str]]:
    """(field, problem) for a person's fields against Moodle's user table."""
    values = {
        "firstname": person.firstname, "lastname": person.lastname, "email": person.email,
        "username": person.username or person.key, "city": person.city or "",
    }
    out: list[tuple[str, str]] = []
    for name, value in values.items():
        limit = limits[f"user.{name}"] or 0
        if len(value) > limit:
            field_name = "key" if name == "username" and not person.username else name
            out.append((field_name, f"{len(value)} characters; Moodle holds at most {limit} for a person's {name}"))
    idnumber = keys.user(person.key)
    if len(idnumber) > (limits["user.idnumber"] or 0):
        out.append(("key", f"the user's ID number {idnumber!r} is longer than Moodle holds"))
    return out


def check_zoom(spec: CourseSpec, sessions: dict[str, tuple[Session, ...]]) -> list[Finding]:
    """The topic of every session's meeting (Zoom takes the programme's first language)."""
    langs = list(spec.programme.languages)
    out: list[Finding] = []
    if not spec.zoom.enabled:
        return out
    for i, course in enumerate(spec.courses):
        for s in sessions.get(course.shortname, ()):
            if not s.host:
                continue
            here: SpecPath = ("courses", i, "sessions", s.source_index)
            topic = plain(s.title, langs[0], langs)
            if len(topic) > ZOOM_TOPIC_MAX:
                out.append((here + ("title",), f"{len(topic)} characters: a Zoom meeting topic holds "
                                               f"{ZOOM_TOPIC_MAX} (in {langs[0]!r})"))
            # No check of the summary: the agenda is a copy for Zoom, cut to fit behind our marker
            # (zoom/meetings.py agenda_for); the full text is the section summary in Moodle.
    return first_per_place(out)


def check_drive(spec: CourseSpec) -> list[Finding]:
    name = spec.drive.root_folder
    if not spec.drive.enabled:
        return []
    if not name:
        return [(("drive", "root_folder"), "give the name of the archive's folder")]
    size = len(name.encode("utf-8"))
    if size > DRIVE_NAME_BYTES:
        return [(("drive", "root_folder"), f"{size} bytes in UTF-8: a folder name may have at most "
                                           f"{DRIVE_NAME_BYTES} (so that it can be downloaded anywhere)")]
    return []
