"""Time zones and local times: the few rules every part of oca-sync shares.

Arithmetic is done on UTC instants; local times are only for showing. Two
local times need care: one the clocks skip (spring forward: it does not
exist) and one they pass twice (fall back, or a zone moving to a smaller
offset such as Asia/Almaty on 2024-03-01: it is ambiguous). Zone data comes
from the system, else from the ``tzdata`` package (a dependency).
"""

from __future__ import annotations

import datetime as dt
import difflib
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


def zone(name: str) -> ZoneInfo | None:
    """The IANA zone ``name``, or None when there is no such zone."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):  # ValueError: not a key at all ("../x", "")
        return None


def unknown_zone(name: str) -> str:
    """The message for a time zone that does not exist, with the closest real ones."""
    close = difflib.get_close_matches(name, sorted(available_timezones()), n=2, cutoff=0.7)
    hint = f" (did you mean {' or '.join(repr(c) for c in close)}?)" if close else " (an IANA name such as 'Asia/Bishkek')"
    return f"unknown time zone {name!r}{hint}"


def nonexistent(moment: dt.datetime) -> bool:
    """Whether the wall time of aware ``moment`` is skipped by its zone (does not round-trip through UTC)."""
    back = moment.astimezone(dt.UTC).astimezone(moment.tzinfo)
    return back.replace(tzinfo=None) != moment.replace(tzinfo=None)


def ambiguous(moment: dt.datetime) -> bool:
    """Whether the wall time of aware ``moment`` is not enough to name one instant in its zone."""
    return moment.replace(fold=0).utcoffset() != moment.replace(fold=1).utcoffset()


def offset(moment: dt.datetime) -> str:
    """``UTC+05``, ``UTC-03:30``: the offset of an aware datetime, short."""
    delta = moment.utcoffset() or dt.timedelta(0)
    sign = "-" if delta < dt.timedelta(0) else "+"
    minutes = abs(int(delta.total_seconds())) // 60
    hours, rest = divmod(minutes, 60)
    return f"UTC{sign}{hours:02d}" + (f":{rest:02d}" if rest else "")


def span(start: dt.datetime, end: dt.datetime) -> str:
    """``2024-02-29 22:30–23:00`` in the zone of ``start`` (both aware).

    The end's date is shown when it is another day, and both offsets when the
    zone's offset changes in between (so the span reads right to a person).
    """
    end = end.astimezone(start.tzinfo)
    fmt = "%Y-%m-%d %H:%M" if end.date() != start.date() else "%H:%M"
    if start.utcoffset() != end.utcoffset():
        return f"{start:%Y-%m-%d %H:%M} {offset(start)}–{end:{fmt}} {offset(end)}"
    return f"{start:%Y-%m-%d %H:%M}–{end:{fmt}}"
