"""Zoom participant rows, merged per person and instance: intervals, first join, last leave, minutes.

Zoom's report (``GET /report/meetings/{meetingId}/participants``) has one row
per join/leave: someone who drops out and rejoins has several rows, and a
person on a laptop and a phone at once has overlapping ones. Presence is the
union of the intervals, never their sum.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

Interval = tuple[dt.datetime, dt.datetime]


@dataclass(frozen=True)
class ZoomRow:
    """One row of a participant report (the fields we use)."""

    meeting_uuid: str
    name: str
    email: str
    join: dt.datetime
    leave: dt.datetime
    #: ``in_meeting`` or ``in_waiting_room`` (time in the waiting room is not presence)
    status: str = "in_meeting"


@dataclass(frozen=True)
class Presence:
    """One identity ``(instance, display name, e-mail)`` with its merged intervals."""

    meeting_uuid: str
    name: str
    email: str
    intervals: tuple[Interval, ...]
    rows: int

    @property
    def identity(self) -> tuple[str, str]:
        return self.name, self.email

    @property
    def first_join(self) -> dt.datetime | None:
        return self.intervals[0][0] if self.intervals else None

    @property
    def last_leave(self) -> dt.datetime | None:
        return self.intervals[-1][1] if self.intervals else None

    @property
    def minutes(self) -> float:
        return minutes(self.intervals)


def merge_intervals(intervals: Iterable[Interval]) -> tuple[Interval, ...]:
    """The union of ``intervals``, sorted; touching or overlapping ones become one."""
    if isinstance(intervals, (list, tuple)) and len(intervals) == 1:  # most people join once
        (a, b), = intervals
        return ((a, b),) if b > a else ()
    out: list[list[dt.datetime]] = []
    for a, b in sorted(i for i in intervals if i[1] > i[0]):
        if out and a <= out[-1][1]:
            out[-1][1] = max(out[-1][1], b)
        else:
            out.append([a, b])
    return tuple((a, b) for a, b in out)


def clip(intervals: Iterable[Interval], start: dt.datetime, end: dt.datetime) -> tuple[Interval, ...]:
    """The parts of ``intervals`` inside ``[start, end]``."""
    return merge_intervals((max(a, start), min(b, end)) for a, b in intervals)


def minutes(intervals: Iterable[Interval]) -> float:
    return sum((b - a).total_seconds() for a, b in intervals) / 60


def merge_rows(rows: Iterable[ZoomRow]) -> list[Presence]:
    """Group rows by ``(instance, name, e-mail)`` and merge each group's intervals.

    Waiting-room rows count as rows but not as time present.
    """
    groups: dict[tuple[str, str, str], list[ZoomRow]] = {}
    for r in rows:
        groups.setdefault((r.meeting_uuid, r.name, r.email), []).append(r)
    return [
        Presence(uuid, name, email,
                 merge_intervals([(r.join, r.leave) for r in rs if r.status != "in_waiting_room"]), len(rs))
        for (uuid, name, email), rs in groups.items()
    ]


def parse_time(value: str) -> dt.datetime:
    """An ISO 8601 time from Zoom (``2022-01-17T09:00:00Z``); naive times are UTC."""
    t = dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    return t if t.tzinfo else t.replace(tzinfo=dt.timezone.utc)


def rows_from_report(meeting_uuid: str, report: Sequence[Mapping[str, Any]]) -> list[ZoomRow]:
    """:class:`ZoomRow` from the JSON rows of Zoom's participant report of one instance."""
    out: list[ZoomRow] = []
    for r in report:
        join, leave = r.get("join_time"), r.get("leave_time")
        if not join or not leave:
            continue  # still in the meeting when the report was read: counted on the next run
        out.append(ZoomRow(meeting_uuid, str(r.get("name") or ""), str(r.get("user_email") or ""),
                           parse_time(str(join)), parse_time(str(leave)), str(r.get("status") or "in_meeting")))
    return out
