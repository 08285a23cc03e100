"""Expand ``SessionSpec`` entries (one-off or recurring) into concrete ``Session`` objects.

Spec times are naive wall-clock times of the session's zone (its own
``timezone``, else the programme's); sessions carry aware datetimes so that
Zoom, Moodle and iCal all agree on the instant. A series keeps the local wall
time of its first start across changes of UTC offset (as RFC 5545 does for a
DTSTART with TZID); ends are computed on UTC (``Session.end``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from zoneinfo import ZoneInfo

from dateutil.rrule import rrule, rrulestr

from oca_sync.spec.clock import nonexistent, unknown_zone, zone
from oca_sync.spec.loader import SpecPath
from oca_sync.spec.models import Course, CourseSpec, Session, SessionSpec
from oca_sync.spec.multilang import format_text

MAX_OCCURRENCES = 500

#: (where in the spec, what is wrong): located and worded for the user by the caller.
Finding = tuple[SpecPath, str]


def localize(value: dt.datetime, tz: dt.tzinfo) -> dt.datetime:
    """A spec time as an aware datetime in ``tz`` (naive means local; an offset is honoured)."""
    if value.tzinfo is None:
        return value.replace(tzinfo=tz)
    return value.astimezone(tz)


def parse_rule(text: str, start: dt.datetime) -> rrule:
    """Parse one RRULE (``FREQ=...``, optionally prefixed with ``RRULE:``) starting at naive ``start``.

    Raises ``ValueError`` with a readable message.
    """
    body = text.strip()
    if body.upper().startswith("RRULE:"):
        body = body[len("RRULE:") :]
    if "\n" in body or ":" in body:
        # DTSTART/EXDATE lines would silently override recurrence.start / exclude.
        raise ValueError(
            "give a single rule such as FREQ=WEEKLY;BYDAY=TU;COUNT=12 (use start and exclude for the rest)"
        )
    try:
        rule = rrulestr(body, dtstart=start)
    except (ValueError, TypeError, KeyError, IndexError) as e:
        raise ValueError(f"cannot parse the rule {text!r}: {e}") from None
    if not isinstance(rule, rrule):
        raise ValueError(f"cannot parse the rule {text!r}: expected a single RRULE")
    return rule


def _is_bounded(rule_text: str) -> bool:
    parts = rule_text.strip().upper().removeprefix("RRULE:").split(";")
    return any(p.split("=", 1)[0].strip() in ("COUNT", "UNTIL") for p in parts)


def occurrences(
    rule_text: str, start: dt.datetime, exclude: Sequence[dt.date], until: dt.date, tz: ZoneInfo
) -> tuple[list[dt.datetime], list[Finding]]:
    """Aware start times of a series, and problems (path relative to the recurrence).

    A rule without COUNT or UNTIL stops at the end of ``until`` (the course end);
    ``exclude`` removes dates (as EXDATE would: COUNT still counts them).
    """
    local_start = localize(start, tz).replace(tzinfo=None)
    try:
        rule = parse_rule(rule_text, local_start)
    except ValueError as e:
        return [], [(("rrule",), str(e))]
    bounded = _is_bounded(rule_text)
    limit = dt.datetime.combine(until, dt.time.max)
    out: list[dt.datetime] = []
    seen_dates: set[dt.date] = set()
    for when in rule:
        if not bounded and when > limit:
            break
        seen_dates.add(when.date())
        if when.date() in exclude:
            continue
        if len(out) == MAX_OCCURRENCES:
            return out, [(("rrule",), f"the rule gives more than {MAX_OCCURRENCES} sessions; add COUNT or UNTIL")]
        out.append(when.replace(tzinfo=tz))
    if not seen_dates:
        ending = "" if bounded else f" before the course end ({until})"
        return out, [(("rrule",), f"the rule gives no session{ending}")]
    return out, [
        (("exclude", i), f"{day.isoformat()} is not a date of this series")
        for i, day in enumerate(exclude)
        if day not in seen_dates
    ]


def _expand_one(spec: SessionSpec, index: int, course: Course, tz: ZoneInfo) -> tuple[list[Session], list[Finding]]:
    """Sessions of one spec entry, and problems (path relative to the entry)."""
    if spec.timezone is not None:
        own = zone(spec.timezone)
        if own is None:
            return [], [(("timezone",), unknown_zone(spec.timezone))]
        tz = own

    def make(key: str, start: dt.datetime, n: int | None) -> Session:
        fields = {"n": n} if n is not None else {}
        return Session(
            key=key,
            kind=spec.kind,
            number=0,  # set once the whole course is sorted
            title=format_text(spec.title, **fields) if fields else spec.title,
            summary=format_text(spec.summary, **fields) if fields else spec.summary,
            start=start,
            timezone=tz.key,
            duration=spec.duration,
            host=spec.host,
            content=tuple(spec.content),
            groups=tuple(spec.groups or ()),
            source_index=index,
        )

    if spec.recurrence is None:
        # No start either: reported by the checks, nothing to expand.
        if spec.start is None:
            return [], []
        session = make(spec.key, localize(spec.start, tz), None)
        return [session], _gaps([session], ("start",))
    rec = spec.recurrence
    starts, problems = occurrences(rec.rrule, rec.start, rec.exclude, course.end, tz)
    made = [make(f"{spec.key}-{n:02d}", start, n) for n, start in enumerate(starts, 1)]
    return made, [(("recurrence",) + sub, message) for sub, message in problems] + _gaps(made, ("recurrence",))


def _gaps(sessions: list[Session], where: SpecPath) -> list[Finding]:
    """A local start time that the zone skips (a clock moved forward over it) is no time at all."""
    for s in sessions:
        if s.start.tzinfo is not None and nonexistent(s.start):
            return [(where, f"{s.start:%Y-%m-%d %H:%M} does not exist in {s.timezone} (the clocks skip it); "
                            "choose another time")]
    return []


def expand_course(course: Course, course_index: int, tz: ZoneInfo) -> tuple[tuple[Session, ...], list[Finding]]:
    """All sessions of ``course``, sorted by start and numbered per kind."""
    sessions: list[Session] = []
    findings: list[Finding] = []
    for index, spec in enumerate(course.sessions):
        made, problems = _expand_one(spec, index, course, tz)
        sessions += made
        where: SpecPath = ("courses", course_index, "sessions", index)
        findings += [(where + sub, message) for sub, message in problems]
    # By instant: sessions may be in different zones, and aware datetimes of one zone compare by wall clock.
    sessions.sort(key=lambda s: (s.start_utc, s.key))
    counters: dict[str, int] = {}
    numbered = []
    for s in sessions:
        counters[s.kind] = counters.get(s.kind, 0) + 1
        numbered.append(s.model_copy(update={"number": counters[s.kind]}))
    return tuple(numbered), findings


def expand(spec: CourseSpec, tz: ZoneInfo) -> tuple[dict[str, tuple[Session, ...]], list[Finding]]:
    """Sessions of every course, by course shortname."""
    result: dict[str, tuple[Session, ...]] = {}
    findings: list[Finding] = []
    for i, course in enumerate(spec.courses):
        sessions, found = expand_course(course, i, tz)
        # Duplicate shortnames are reported by the checks; keep the first course's sessions.
        result.setdefault(course.shortname, sessions)
        findings += found
    return result, findings
