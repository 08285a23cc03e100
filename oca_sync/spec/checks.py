"""Checks that need the whole spec: references, uniqueness, dates, files, rosters.

The pydantic models check each value on its own; everything here looks across
values. Every check returns findings ``(location, message)`` instead of raising,
so that one run reports every problem of a spec; the caller turns locations
into file, line and column.
"""

from __future__ import annotations

import datetime as dt
import difflib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ValidationError

from oca_sync.moodle.filenames import REMOVED, clean_file_name
from oca_sync.spec.clock import span, unknown_zone
from oca_sync.spec.clock import zone as _zone
from oca_sync.moodle.model import Keys
from oca_sync.spec import limits, textrules
from oca_sync.spec.expand import expand, localize
from oca_sync.spec.loader import SpecPath, error_message, format_path
from oca_sync.spec.models import Course, CourseSpec, Member, Person, Question, Session, Staff, Survey
from oca_sync.spec.findings import first_per_place as _first_per_place
from oca_sync.spec.paths import PathRefused, confine
from oca_sync.spec.roster import RosterUnreadable, read_table
from oca_sync.spec.schedule import check_schedule

MULTICHOICE = ("multichoice", "multichoice_multi")
NO_OPTIONS = ("text", "textarea", "numeric", "info")
MIN_MAX = ("rating", "numeric")
ROSTER_REQUIRED = ("key", "firstname", "lastname", "email")
#: Moodle's standard auth plugins whose is_internal() is true (auth/*/auth.php, 5.1): their passwords live in
#: Moodle, so creating such a user needs a password or createpassword (user/externallib.php create_users).
INTERNAL_AUTH = frozenset({"manual", "email", "nologin", "none"})
#: What a column name in a roster header looks like; anything else is not echoed back (it may be file content).
_COLUMN_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_ .-]{0,39}")


@dataclass(frozen=True)
class CsvLocation:
    """A place in a roster CSV file (a different file than the spec)."""

    file: str
    line: int
    column: str = ""  # column name, shown as the field path


Location = SpecPath | CsvLocation
Finding = tuple[Location, str]


@dataclass
class Checked:
    """What the checks produced: expanded sessions, members with rosters, and all findings."""

    sessions: dict[str, tuple[Session, ...]] = field(default_factory=dict)
    members: dict[str, tuple[Member, ...]] = field(default_factory=dict)
    findings: list[Finding] = field(default_factory=list)
    notices: list[Finding] = field(default_factory=list)  # worth saying, not errors (e.g. roster columns ignored)
    warnings: list[Finding] = field(default_factory=list)  # likely mistakes (scheduling); errors with --strict


def run(spec: CourseSpec, base_dir: Path, files_root: Path | None = None,
        moodle_limits: limits.MoodleLimits = limits.NEWEST) -> Checked:
    """Run every check on a spec that passed model validation.

    Files the spec names are relative to ``base_dir`` and must lie inside ``files_root`` (default ``base_dir``).
    ``moodle_limits``: the field sizes of the Moodle the spec is for (``validate``
    uses the newest known; ``plan`` the site's).
    """
    out = Checked()
    tz = _zone(spec.programme.timezone)
    if tz is None:
        out.findings.append((("programme", "timezone"), unknown_zone(spec.programme.timezone)))
    out.findings += check_languages(spec)
    if not spec.moodle.password_email and spec.moodle.auth in INTERNAL_AUTH:
        # user/externallib.php create_users: an internal auth needs a password or createpassword.
        out.findings.append((("moodle", "password_email"), (
            f"accounts with auth {spec.moodle.auth!r} log in with a Moodle password: keep password_email true, "
            "or use an external auth (oauth2, ldap, cas, …)")))
    out.findings += check_courses(spec, base_dir, tz, files_root)
    out.findings += check_organisations(spec)
    members, people, roster_findings = load_members(spec, base_dir, files_root, out.notices)
    out.members = members
    out.findings += roster_findings
    out.findings += check_people(people)
    out.findings += check_group_memberships(spec, members, people)
    out.findings += textrules.check_spec(spec)
    out.findings += check_people_texts(spec, people, moodle_limits)
    out.findings += limits.check_drive(spec)
    if tz is not None:
        out.sessions, found = expand(spec, tz)
        out.findings += found
        out.findings += check_sessions(spec, out.sessions, tz)
        out.findings += check_outcomes(spec, out.sessions, base_dir, files_root)
        out.findings += limits.check_moodle(spec, out.sessions, moodle_limits)
        out.findings += limits.check_zoom(spec, out.sessions)
    out.findings += check_session_groups(spec)
    if tz is not None and not out.findings:  # on a spec with errors, warnings would only add noise
        out.warnings += check_schedule(spec, out.sessions)
    if not out.findings:  # names that look like others: worth a warning, not an error (--strict: error)
        out.warnings += textrules.look_alike_names(spec)
        out.warnings += [(_at_field(where, name), message)
                         for person, where in people for name, message in textrules.look_alike_person(person)]
    return out


def _duplicates(items: Iterable[tuple[Location, str]], what: str = "key") -> Iterator[Finding]:
    """A finding at every repeat of a value (the first occurrence is fine)."""
    first: dict[str, Location] = {}
    for where, value in items:
        if value in first:
            yield where, f"duplicate {what} {value!r} (first used {_at(first[value])})"
        else:
            first[value] = where


def _at(where: Location) -> str:
    if isinstance(where, CsvLocation):
        return f"in {Path(where.file).name} line {where.line}"
    return f"at {format_path(where)}"


# --- multilingual texts ------------------------------------------------------------


def _multitexts(value: object, path: SpecPath) -> Iterator[tuple[SpecPath, dict[str, str]]]:
    """Every per-language dict in a model tree (MultiText is the only dict in the models)."""
    if isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _multitexts(getattr(value, name), path + (name,))
    elif isinstance(value, list | tuple):
        for i, item in enumerate(value):
            yield from _multitexts(item, path + (i,))
    elif isinstance(value, dict):
        yield path, value


def check_languages(spec: CourseSpec) -> list[Finding]:
    languages = spec.programme.languages
    findings: list[Finding] = []
    if len(set(languages)) != len(languages):
        findings.append((("programme", "languages"), "a language is listed twice"))
    for path, text in _multitexts(spec, ()):
        for lang in text:
            if lang not in languages:
                findings.append(
                    (path + (lang,), f"language {lang!r} is not in programme.languages ({', '.join(languages)})")
                )
    return findings


# --- courses, sessions, surveys ------------------------------------------------------


def check_courses(
    spec: CourseSpec, base_dir: Path, tz: ZoneInfo | None, files_root: Path | None = None
) -> list[Finding]:
    findings: list[Finding] = list(
        _duplicates(
            ((("courses", i, "shortname"), c.shortname) for i, c in enumerate(spec.courses)), "course shortname"
        )
    )
    staff = {s.key: s for s in spec.staff}
    for i, course in enumerate(spec.courses):
        where: SpecPath = ("courses", i)
        if course.end < course.start:
            findings.append((where + ("end",), f"the course ends ({course.end}) before it starts ({course.start})"))
        findings += _check_session_specs(course, where, staff, base_dir, files_root)
        findings += _check_surveys(course, where, tz)
        findings += _duplicates(_module_keys(course, where), "activity key")
    return findings


def _module_keys(course: Course, where: SpecPath) -> Iterator[tuple[Location, str]]:
    """Keys of the course's activities (content, surveys, attendance): one namespace,
    because each becomes a Moodle course-module idnumber in the same course."""
    for j, session in enumerate(course.sessions):
        for k, item in enumerate(session.content):
            yield where + ("sessions", j, "content", k, "key"), item.key
    for j, survey in enumerate(course.surveys):
        yield where + ("surveys", j, "key"), survey.key
    if course.attendance is not None:
        yield where + ("attendance", "key"), course.attendance.key


def _check_session_specs(
    course: Course, where: SpecPath, staff: dict[str, Staff], base_dir: Path, files_root: Path | None
) -> list[Finding]:
    findings: list[Finding] = []
    for j, session in enumerate(course.sessions):
        here = where + ("sessions", j)
        if session.start is None and session.recurrence is None:
            findings.append((here, "give start (one session) or recurrence (a series)"))
        elif session.start is not None and session.recurrence is not None:
            findings.append((here + ("recurrence",), "give either start or recurrence, not both"))
        if session.host is not None:
            host = staff.get(session.host)
            if host is None:
                close = difflib.get_close_matches(session.host, list(staff), n=1)
                hint = f" (did you mean {close[0]!r}?)" if close else f" (staff keys: {', '.join(staff) or 'none'})"
                findings.append((here + ("host",), f"host {session.host!r} is not a staff key{hint}"))
            elif host.courses is not None and course.shortname not in host.courses:
                findings.append((here + ("host",), f"host {session.host!r} is not assigned to {course.shortname}"))
        for k, item in enumerate(session.content):
            if item.type == "file":
                try:
                    real = confine(base_dir, item.path, files_root)
                except PathRefused as e:
                    findings.append((here + ("content", k, "path"), str(e)))
                    continue
                if not clean_file_name(real.name):  # the name uploaded: a symlink's target's
                    findings.append((here + ("content", k, "path"), f"Moodle would keep nothing of the file name "
                                     f"{real.name!r} (it removes {REMOVED}): rename the file"))
    return findings


def _check_surveys(course: Course, where: SpecPath, tz: ZoneInfo | None) -> list[Finding]:
    findings: list[Finding] = []
    for j, survey in enumerate(course.surveys):
        here = where + ("surveys", j)
        if survey.opens and survey.closes:
            zone = tz or dt.UTC  # a bad zone is reported elsewhere; still compare the times
            if localize(survey.closes, zone).astimezone(dt.UTC) <= localize(survey.opens, zone).astimezone(dt.UTC):
                findings.append((here + ("closes",), "the survey closes before it opens"))
        questions = ((here + ("questions", q, "key"), x.key) for q, x in enumerate(survey.questions))
        findings += _duplicates(questions, "question key")
        if survey.kind == "checkin":
            findings += _check_checkin(survey, here)
        for q, question in enumerate(survey.questions):
            qwhere = here + ("questions", q)
            if question.type in MULTICHOICE and len(question.options) < 2:
                findings.append((qwhere + ("options",), f"a {question.type} question needs at least two options"))
            if question.type in NO_OPTIONS and question.options:
                findings.append((qwhere + ("options",), f"a {question.type} question takes no options"))
            if question.type not in MIN_MAX and (question.min is not None or question.max is not None):
                findings.append((qwhere, "min and max are only for rating and numeric questions"))
            if question.min is not None and question.max is not None and question.min >= question.max:
                findings.append((qwhere + ("max",), "max must be greater than min"))
            elif question.type == "rating":
                findings += _check_rating(question, qwhere)
            for o, option in enumerate(question.options):
                if any("|" in t for t in ([option] if isinstance(option, str) else option.values())):
                    findings.append((qwhere + ("options", o), "Moodle Feedback separates options with '|': "
                                     "an option cannot contain one"))
    return findings


def _check_checkin(survey: Survey, here: SpecPath) -> list[Finding]:
    """A weekly check-in is answered again every week: its Feedback must be anonymous, since a named one
    keeps one response per person (mod/feedback/classes/completion.php save_response(): a new submission
    replaces the person's last one), and its responses then carry no time, so the week is a question."""
    findings: list[Finding] = []
    if not survey.anonymous:
        findings.append((here + ("anonymous",), "a checkin survey must be anonymous: in a named Moodle Feedback a "
                         "person's new submission replaces their last one, so weekly check-ins would overwrite each "
                         "other (the organisation is known from its own check-in activity); leave 'anonymous' out"))
    date = next((q for q in survey.questions if q.key == "date"), None)
    if date is None or date.type != "text":
        findings.append((here + ("questions",), "a checkin survey needs a text question with key 'date' (the "
                         "week's end, YYYY-MM-DD): Moodle gives no time for an anonymous response"))
    return findings


def _check_rating(question: Question, where: SpecPath) -> list[Finding]:
    """A rating's values are the spec's (min, default 1, upward): one label each, at least two values."""
    low = 1 if question.min is None else question.min
    if len(question.options) == 1:
        return [(where + ("options",), "a rating needs at least two labels (or none: min..max)")]
    if question.options:
        want = None if question.max is None else question.max - low + 1
        if want is not None and len(question.options) != want:
            return [(where + ("options",), f"a rating from {low} to {question.max} needs {want} labels, "
                                           f"not {len(question.options)}")]
        return []
    high = 5 if question.max is None else question.max
    if high <= low:
        return [(where, f"a rating needs max above min (here {low} to {high}; the defaults are 1 and 5)")]
    return []


def check_sessions(spec: CourseSpec, sessions: dict[str, tuple[Session, ...]], tz: ZoneInfo) -> list[Finding]:
    """Checks on expanded sessions: unique keys per course, inside the course dates."""
    findings: list[Finding] = []
    for i, course in enumerate(spec.courses):
        expanded = sessions.get(course.shortname, ())
        by_source = sorted(expanded, key=lambda s: (s.source_index, s.start_utc))
        keys = ((("courses", i, "sessions", s.source_index, "key"), s.key) for s in by_source)
        findings += _first_per_place(_duplicates(keys, "session key"))
        if course.end < course.start:
            continue  # one mistake, one error: the course dates are reported, not every session against them
        # Course dates are days of the programme's zone; compared as instants (sessions may have their own zone).
        first = dt.datetime.combine(course.start, dt.time.min, tzinfo=tz).astimezone(dt.UTC)
        last = dt.datetime.combine(course.end, dt.time(23, 59, 59), tzinfo=tz).astimezone(dt.UTC)
        outside: dict[int, list[Session]] = {}
        for s in by_source:
            if s.start_utc < first or s.end_utc > last:
                outside.setdefault(s.source_index, []).append(s)
        for index, bad in outside.items():
            spec_entry = course.sessions[index]
            field_name = "start" if spec_entry.recurrence is None else "recurrence"
            example = bad[0]
            when = span(example.start, example.end)
            extra = f" ({len(bad)} sessions of this series)" if len(bad) > 1 else ""
            findings.append(
                (
                    ("courses", i, "sessions", index, field_name),
                    f"session {example.key} ({when}) is outside the course dates {course.start} to {course.end}{extra}",
                )
            )
    return findings


# --- outcomes: completion rules, campaigns, the report's files ----------------------------


def check_outcomes(spec: CourseSpec, sessions: dict[str, tuple[Session, ...]], base_dir: Path,
                   files_root: Path | None = None) -> list[Finding]:
    findings: list[Finding] = []
    for i, course in enumerate(spec.courses):
        rules = course.completion
        if rules is None:
            continue
        where: SpecPath = ("courses", i, "completion")
        surveys = {s.key for s in course.surveys}
        checkins = {s.key for s in course.surveys if s.kind == "checkin"}
        for k, key in enumerate(rules.surveys):
            if key not in surveys:
                known = ", ".join(sorted(surveys)) or "none"
                findings.append((where + ("surveys", k), f"unknown survey {key!r} (surveys of this course: {known})"))
            elif key in checkins:
                # Anonymous, one activity per organisation: Moodle cannot tell who submitted, nor can the report.
                findings.append((where + ("surveys", k), f"{key!r} is a checkin survey, which is anonymous: "
                                 "submitting it cannot be a completion rule"))
        recorded = course.attendance.sessions if course.attendance else []
        for k, rule in enumerate(rules.attend):
            if rule.kind not in recorded:
                findings.append((where + ("attend", k, "kind"), f"{rule.kind} sessions are not recorded: add "
                                 f"{rule.kind} to the course's attendance.sessions"
                                 if course.attendance else "attendance rules need the course's attendance activity"))
                continue
            held = sum(1 for s in sessions.get(course.shortname, ()) if s.kind == rule.kind)
            if rule.at_least > held:
                findings.append((where + ("attend", k, "at_least"),
                                 f"at least {rule.at_least} {rule.kind} sessions, but the course has {held}"))
        findings += _duplicates(((where + ("attend", k, "kind"), r.kind) for k, r in enumerate(rules.attend)),
                                "session kind")
    for i, org in enumerate(spec.organisations):
        if org.campaign is None:
            continue
        where = ("organisations", i, "campaign")
        if org.campaign.end < org.campaign.start:
            findings.append((where + ("end",), f"the campaign ends ({org.campaign.end}) before it starts "
                                                f"({org.campaign.start})"))
        platforms = ((where + ("platforms", k, "platform"), p.platform) for k, p in enumerate(org.campaign.platforms))
        findings += _duplicates(platforms, "platform")
    files: list[tuple[SpecPath, str]] = []
    if spec.report.recommendations is not None:
        files.append((("report", "recommendations"), spec.report.recommendations))
    files += [(("report", "campaign_metrics", k), f) for k, f in enumerate(spec.report.campaign_metrics)]
    for where, name in files:
        try:
            confine(base_dir, name, files_root)
        except PathRefused as e:
            findings.append((where, str(e)))
    return findings


# --- organisations, staff, rosters ------------------------------------------------------


def check_organisations(spec: CourseSpec) -> list[Finding]:
    # Organisations and groups both become Moodle groups keyed by their key: one namespace.
    group_keys = [(("organisations", i, "key"), o.key) for i, o in enumerate(spec.organisations)]
    group_keys += [(("groups", i, "key"), g.key) for i, g in enumerate(spec.groups)]
    findings: list[Finding] = list(_duplicates(group_keys, "organisation or group key"))
    shortnames = {c.shortname for c in spec.courses}
    owners = [("organisations", i, o.courses) for i, o in enumerate(spec.organisations)]
    owners += [("groups", i, g.courses) for i, g in enumerate(spec.groups)]
    owners += [("staff", i, s.courses) for i, s in enumerate(spec.staff)]
    for section, i, courses in owners:
        for k, name in enumerate(courses or []):
            if name not in shortnames:
                findings.append(
                    ((section, i, "courses", k), f"unknown course {name!r} (known: {', '.join(sorted(shortnames))})")
                )
    return findings


def load_members(
    spec: CourseSpec, base_dir: Path, files_root: Path | None = None, notices: list[Finding] | None = None
) -> tuple[dict[str, tuple[Member, ...]], list[tuple[Person, Location]], list[Finding]]:
    """Members per organisation (inline, then roster rows), every person with where it is defined, findings."""
    members: dict[str, tuple[Member, ...]] = {}
    people: list[tuple[Person, Location]] = []
    findings: list[Finding] = []
    for i, org in enumerate(spec.organisations):
        located: list[tuple[Person, Location]] = [
            (m, ("organisations", i, "members", j)) for j, m in enumerate(org.members)
        ]
        if org.roster is not None:
            try:
                roster = confine(base_dir, org.roster, files_root)
            except PathRefused as e:
                findings.append((("organisations", i, "roster"), f"roster: {e}"))
            else:
                rows, found = read_roster(roster, ("organisations", i, "roster"), shown=org.roster, notices=notices)
                located += rows
                findings += found
        people += located
        members.setdefault(org.key, tuple(m for m, _ in located if isinstance(m, Member)))
    # Staff last: in specs they usually come after the organisations, so a clash is reported at the later one.
    people += [(s, ("staff", i)) for i, s in enumerate(spec.staff)]
    return members, people, findings


def read_roster(
    path: Path, where: SpecPath, shown: str | None = None, notices: list[Finding] | None = None
) -> tuple[list[tuple[Person, Location]], list[Finding]]:
    """Members from a roster (CSV or .xlsx; header row, one member per row), with their line.

    ``shown`` is how the spec names the file (for messages); defaults to ``path``.
    Unknown columns are ignored, with one notice appended to ``notices``.
    """
    notices = notices if notices is not None else []
    name = str(path)
    shown = shown or name
    try:
        rows = read_table(path)
    except FileNotFoundError:
        return [], [(where, f"roster file not found: {shown}")]
    except RosterUnreadable as e:
        return [], [(where, f"cannot read the roster {shown}: {e}")]
    except OSError as e:
        return [], [(where, f"cannot read the roster {shown}: {e.strerror}")]
    if not rows:
        return [], [(CsvLocation(name, 1), "the roster is empty (expected a header row)")]
    _, header = rows[0]
    header = [h.strip() for h in header]
    findings: list[Finding] = []
    allowed = list(Member.model_fields)
    unknown = [c for c in header if c not in allowed]
    if unknown and not all(_COLUMN_NAME.fullmatch(c) for c in unknown):
        # Not a roster header at all: say so without echoing what the file holds.
        return [], [(CsvLocation(name, 1), f"the first line is not a roster header; expected columns: {', '.join(allowed)}")]
    missing = [c for c in ROSTER_REQUIRED if c not in header]
    if missing:
        hints = [f"'{c}' (did you mean {close[0]!r}?)" if (close := difflib.get_close_matches(c, unknown, n=1))
                 else f"'{c}'" for c in missing]
        findings.append((CsvLocation(name, 1), f"missing column(s): {', '.join(hints)}"))
    if unknown:
        # One notice for the file, and the columns are ignored: rosters exported from elsewhere carry extras.
        notices.append((CsvLocation(name, 1), f"column(s) ignored: {', '.join(repr(c) for c in unknown)} "
                                              f"(known: {', '.join(allowed)})"))
    for dup in {c for c in header if header.count(c) > 1}:
        findings.append((CsvLocation(name, 1, dup), f"column {dup!r} appears twice"))
    if findings:
        return [], findings
    out: list[tuple[Person, Location]] = []
    # Validated rows are kept as lean copies (issue 13 item 8: 100,000 rows within memory):
    # rows that set the same columns share one fields-set, and repeated short texts (names,
    # languages, countries) one string object each.
    fields_sets: dict[frozenset[str], set[str]] = {}
    texts: dict[str, str] = {}
    for line, values in rows[1:]:
        if not any(v.strip() for v in values):
            continue
        if len(values) > len(header):
            findings.append((CsvLocation(name, line), f"{len(values)} values for {len(header)} columns"))
            continue
        record: dict[str, object] = {
            column: value.strip()
            for column, value in zip(header, values, strict=False)
            if value.strip() and column in allowed
        }
        if isinstance(record.get("groups"), str):  # several group keys in one cell: "track-a track-b"
            record["groups"] = [g for g in re.split(r"[;,\s]+", str(record["groups"])) if g]
        try:
            member = Member.model_validate(record)
        except ValidationError as e:
            for err in e.errors(include_url=False):
                column = str(err["loc"][0]) if err["loc"] else ""
                findings.append((CsvLocation(name, line, column), error_message(err, Member)))
            continue
        out.append((_lean_member(member, fields_sets, texts), CsvLocation(name, line)))
    return out, findings


#: Member fields whose values repeat from row to row in a roster (shared, not copied per row).
_SHARED_TEXTS = ("firstname", "lang", "city", "country", "role")


def _lean_member(member: Member, fields_sets: dict[frozenset[str], set[str]], texts: dict[str, str]) -> Member:
    """The same validated member, built again with model_construct (no second validation)
    around a shared fields-set and shared repeated strings: about 40 % of a row's memory."""
    values = dict(member.__dict__)
    for name in _SHARED_TEXTS:
        value = values[name]
        if isinstance(value, str) and len(value) <= 64:
            values[name] = texts.setdefault(value, value)
    fields = member.model_fields_set
    shared = fields_sets.setdefault(frozenset(fields), set(fields))
    return Member.model_construct(_fields_set=shared, **values)


def _at_field(where: Location, field_name: str) -> Location:
    if isinstance(where, CsvLocation):
        return CsvLocation(where.file, where.line, field_name)
    return where + (field_name,)


def check_people_texts(spec: CourseSpec, people: list[tuple[Person, Location]],
                       moodle_limits: limits.MoodleLimits) -> list[Finding]:
    """Roster rows' texts (inline people are covered by textrules.check_spec) and everyone's field sizes."""
    keys = Keys(spec.programme.key_prefix, spec.programme.key)
    findings: list[Finding] = []
    for person, where in people:
        if isinstance(where, CsvLocation):
            findings += [(_at_field(where, name), message) for name, message in textrules.person_findings(person)]
        findings += [(_at_field(where, name), message)
                     for name, message in limits.check_person(person, moodle_limits, keys)]
    return _first_per_place(findings)


def check_people(people: list[tuple[Person, Location]]) -> list[Finding]:
    """Keys, usernames and e-mail addresses are unique across members and staff (Moodle users)."""

    def at(where: Location, field_name: str) -> Location:
        if isinstance(where, CsvLocation):
            return CsvLocation(where.file, where.line, field_name)
        return where + (field_name,)

    findings = list(_duplicates(((at(w, "key"), p.key) for p, w in people), "person key"))
    # The username defaults to the key: a clash of both is reported once, at the key.
    usernames = ((at(w, "username" if p.username else "key"), p.username or p.key) for p, w in people)
    findings += _duplicates(usernames, "username")
    findings += _duplicates(((at(w, "email"), p.email.casefold()) for p, w in people), "e-mail address")
    return _first_per_place(findings)


# --- groups: memberships and sessions for some groups only ------------------------------


def group_courses(spec: CourseSpec) -> dict[str, set[str]]:
    """Every organisation or group key -> the course shortnames it exists in."""
    every = [c.shortname for c in spec.courses]
    owners = [(o.key, o.courses) for o in spec.organisations] + [(g.key, g.courses) for g in spec.groups]
    out: dict[str, set[str]] = {}
    for key, courses in owners:
        out.setdefault(key, set(every if courses is None else courses))
    return out


def person_courses(spec: CourseSpec, members: dict[str, tuple[Member, ...]]) -> dict[str, set[str]]:
    """Person key -> the courses the person is enrolled in (their organisation's, or their own as staff)."""
    every = [c.shortname for c in spec.courses]
    out: dict[str, set[str]] = {}
    for org in spec.organisations:
        for member in members.get(org.key, ()):
            out.setdefault(member.key, set(every if org.courses is None else org.courses))
    for s in spec.staff:
        out.setdefault(s.key, set(every if s.courses is None else s.courses))
    return out


def check_group_memberships(
    spec: CourseSpec, members: dict[str, tuple[Member, ...]], people: list[tuple[Person, Location]]
) -> list[Finding]:
    """A person's ``groups`` name known groups that exist in a course the person is enrolled in."""
    known = group_courses(spec)
    enrolled = person_courses(spec, members)
    findings: list[Finding] = []
    for person, where in people:
        def at(k: int | None) -> Location:
            if isinstance(where, CsvLocation):
                return CsvLocation(where.file, where.line, "groups")
            return where + (("groups",) if k is None else ("groups", k))

        for k, key in enumerate(person.groups):
            if key not in known:
                findings.append((at(k), f"unknown group {key!r} (known: {', '.join(sorted(known)) or 'none'})"))
            elif not enrolled.get(person.key, set()) & known[key]:
                findings.append((at(k), f"{person.key!r} is enrolled in no course of group {key!r} "
                                        f"({', '.join(sorted(known[key]))})"))
        if len(set(person.groups)) != len(person.groups):
            findings.append((at(None), "a group is listed twice"))
    return findings


def check_session_groups(spec: CourseSpec) -> list[Finding]:
    """A session's ``groups`` name organisations or groups that exist in the session's course."""
    known = group_courses(spec)
    findings: list[Finding] = []
    for i, course in enumerate(spec.courses):
        for j, session in enumerate(course.sessions):
            if session.groups is None:
                continue
            here: SpecPath = ("courses", i, "sessions", j, "groups")
            if not session.groups:
                findings.append((here, "an empty list would hide the session from everyone; leave groups out "
                                       "for a session for everyone"))
            for k, key in enumerate(session.groups):
                if key not in known:
                    close = difflib.get_close_matches(key, list(known), n=1)
                    hint = f"did you mean {close[0]!r}?" if close else f"known: {', '.join(sorted(known)) or 'none'}"
                    findings.append((here + (k,), f"unknown organisation or group {key!r} ({hint})"))
                elif course.shortname not in known[key]:
                    findings.append((here + (k,), f"group {key!r} is not in course {course.shortname}"))
            findings += _duplicates(((here + (k,), key) for k, key in enumerate(session.groups)), "group")
    return findings
