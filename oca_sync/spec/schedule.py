"""Scheduling mistakes a valid spec can still hold: warnings, not errors (``--strict`` makes them errors).

Each check is a pure function over the expanded sessions and returns findings
``(location, message)`` like :mod:`oca_sync.spec.checks`. A series is reported
once, at its entry in the spec, with the first clash as the example: a weekly
series that collides every week is one mistake, not twelve.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from oca_sync.spec.clock import span
from oca_sync.spec.loader import SpecPath
from oca_sync.spec.models import CourseSpec, Session

__all__ = ["LONG_SESSION", "check_schedule"]

#: Longer than this is more likely a typo (300 for 30) than a plan.
LONG_SESSION = dt.timedelta(hours=4)

Finding = tuple[SpecPath, str]


@dataclass(frozen=True)
class _Placed:
    course_index: int
    shortname: str
    session: Session

    @property
    def where(self) -> SpecPath:
        return ("courses", self.course_index, "sessions", self.session.source_index)

    @property
    def groups(self) -> frozenset[str]:
        # Sessions for some groups only (when the spec says so) do not clash with other groups' sessions.
        return frozenset(getattr(self.session, "groups", None) or ())


def check_schedule(spec: CourseSpec, sessions: dict[str, tuple[Session, ...]]) -> list[Finding]:
    """Every scheduling warning of a spec: double-booked hosts, overlaps, long or overnight sessions, gaps in translations."""
    placed = [
        _Placed(i, course.shortname, s)
        for i, course in enumerate(spec.courses)
        for s in sessions.get(course.shortname, ())
    ]
    findings: list[Finding] = []
    findings += _once_per_entry(_host_clashes(placed))
    findings += _once_per_entry(_course_overlaps(placed))
    findings += _once_per_entry(_long_or_overnight(placed))
    findings += _missing_translations(spec, placed)
    return findings


def _overlap(a: Session, b: Session) -> bool:
    # As instants: around a change of offset the wall clock repeats or skips an hour.
    return a.start_utc < b.end_utc and b.start_utc < a.end_utc


def _pairs(placed: list[_Placed]) -> Iterator[tuple[_Placed, _Placed]]:
    """Overlapping pairs (earlier, later), by a sweep over start times."""
    ordered = sorted(placed, key=lambda p: p.session.start_utc)
    active: list[_Placed] = []
    for p in ordered:
        active = [a for a in active if a.session.end_utc > p.session.start_utc]
        for a in active:
            if _overlap(a.session, p.session):
                yield a, p
        active.append(p)


def _when(s: Session) -> str:
    return span(s.start, s.end)


def _host_clashes(placed: list[_Placed]) -> Iterator[tuple[_Placed, str]]:
    by_host: dict[str, list[_Placed]] = {}
    for p in placed:
        if p.session.host:
            by_host.setdefault(p.session.host, []).append(p)
    for host, mine in by_host.items():
        for earlier, later in _pairs(mine):
            yield later, (f"host {host!r} is in two sessions at once: {later.session.key} ({_when(later.session)}) "
                          f"and {earlier.shortname}/{earlier.session.key} ({_when(earlier.session)})")


def _course_overlaps(placed: list[_Placed]) -> Iterator[tuple[_Placed, str]]:
    by_course: dict[str, list[_Placed]] = {}
    for p in placed:
        by_course.setdefault(p.shortname, []).append(p)
    for mine in by_course.values():
        for earlier, later in _pairs(mine):
            if earlier.groups and later.groups and not (earlier.groups & later.groups):
                continue  # different groups meet at the same time: that is the point of group sessions
            if earlier.session.host and earlier.session.host == later.session.host:
                continue  # one mistake, one warning: the host clash says it already
            yield later, (f"session {later.session.key} ({_when(later.session)}) overlaps "
                          f"{earlier.session.key} ({_when(earlier.session)}) in the same course")


def _long_or_overnight(placed: list[_Placed]) -> Iterator[tuple[_Placed, str]]:
    for p in placed:
        s = p.session
        if dt.timedelta(minutes=s.duration) > LONG_SESSION:
            yield p, (f"session {s.key} lasts {s.duration // 60}h{s.duration % 60:02d} (more than "
                      f"{LONG_SESSION.seconds // 3600} hours): is the duration in minutes?")
        elif s.end.date() != s.start.date() and s.end.time() != dt.time():  # both in the session's zone
            yield p, f"session {s.key} ({_when(s)}) ends after midnight, local time"


def _once_per_entry(found: Iterable[tuple[_Placed, str]]) -> list[Finding]:
    """One finding per spec entry (a series collides each week: one warning, with a count)."""
    first: dict[SpecPath, str] = {}
    count: dict[SpecPath, int] = {}
    for p, message in found:
        first.setdefault(p.where, message)
        count[p.where] = count.get(p.where, 0) + 1
    return [(where, msg + (f" (and {count[where] - 1} more of this series)" if count[where] > 1 else ""))
            for where, msg in first.items()]


def _missing_translations(spec: CourseSpec, placed: list[_Placed]) -> list[Finding]:
    """A session title without a language that other sessions' titles have (readers would see another language)."""
    titled = [(p, p.session.title) for p in placed if isinstance(p.session.title, dict)]
    have: set[str] = set()
    for _, title in titled:
        have |= set(title)
    findings: dict[SpecPath, str] = {}
    for p, title in titled:
        missing = [lang for lang in spec.programme.languages if lang in have and lang not in title]
        if missing:
            findings.setdefault(p.where + ("title",), f"session {p.session.key} has no {', '.join(missing)} title, "
                                                      "which other sessions have")
    return list(findings.items())
