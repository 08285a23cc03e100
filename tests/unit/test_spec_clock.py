"""Session times across changes of UTC offset, and a time zone per session.

Asia/Almaty moved from UTC+6 to UTC+5 at 2024-03-01 00:00 local (the clocks went
back to 2024-02-29 23:00); Europe/Berlin springs forward on 2024-03-31 02:00 and
falls back on 2024-10-27 03:00. Ends are instants (start + duration in UTC),
shown in the session's zone.
"""

from __future__ import annotations

import datetime as dt
import json
from zoneinfo import ZoneInfo

import icalendar
import pytest

from oca_sync.calendar import export_calendar
from oca_sync.errors import SpecError
from oca_sync.moodle import model as m
from oca_sync.moodle.content import build_course, section_summary
from oca_sync.spec import parse_spec_text
from oca_sync.spec.clock import ambiguous, nonexistent, span
from oca_sync.zoom.meetings import desired_meetings

UTC = dt.UTC
ALMATY = ZoneInfo("Asia/Almaty")
BERLIN = ZoneInfo("Europe/Berlin")


def spec(sessions: str, tz: str = "Asia/Almaty") -> str:
    return f"""\
programme: {{key: clock, name: Clock, languages: [en], timezone: {tz}}}
moodle: {{category: {{name: C}}}}
staff:
  - {{key: host, firstname: H, lastname: Ost, email: host@example.org, role: trainer}}
courses:
  - shortname: C1
    fullname: Course
    start: 2024-01-01
    end: 2024-12-31
    attendance: {{}}
    sessions:
{sessions}"""


def test_zone_data_knows_the_changes_tested_here() -> None:
    # A stale system zoneinfo would silently give other instants: fail loudly instead.
    assert dt.datetime(2024, 2, 29, 12, tzinfo=ALMATY).utcoffset() == dt.timedelta(hours=6)
    assert dt.datetime(2024, 3, 1, 12, tzinfo=ALMATY).utcoffset() == dt.timedelta(hours=5)
    assert dt.datetime(2024, 3, 31, 12, tzinfo=BERLIN).utcoffset() == dt.timedelta(hours=2)


def test_end_across_almaty_offset_change_is_start_plus_duration_in_utc() -> None:
    loaded = parse_spec_text(spec("      - {key: s, kind: training, title: T, start: 2024-02-29 22:30, duration: 90}\n"))
    [s] = loaded.sessions["C1"]
    assert s.start.astimezone(UTC) == dt.datetime(2024, 2, 29, 16, 30, tzinfo=UTC)
    assert s.end.astimezone(UTC) == dt.datetime(2024, 2, 29, 18, 0, tzinfo=UTC)
    assert s.end.astimezone(UTC) - s.start_utc == dt.timedelta(minutes=90)
    # 18:00 UTC is 23:00 at UTC+5: the second 23:00 of that evening.
    assert s.end.replace(tzinfo=None) == dt.datetime(2024, 2, 29, 23, 0) and s.end.utcoffset() == dt.timedelta(hours=5)

    summary = section_summary(s, loaded, loaded.text)
    assert "2024-02-29 22:30 UTC+06–23:00 UTC+05 (Asia/Almaty)" in summary

    cal = icalendar.Calendar.from_ical(export_calendar(loaded, {}))
    [event] = cal.walk("VEVENT")
    assert event.decoded("dtstart").astimezone(UTC) == dt.datetime(2024, 2, 29, 16, 30, tzinfo=UTC)
    # 23:00 Almaty is read as its first occurrence (RFC 5545 3.3.5): the end is written in UTC.
    assert event.decoded("dtend") == dt.datetime(2024, 2, 29, 18, 0, tzinfo=UTC)
    assert b"DTEND:20240229T180000Z" in export_calendar(loaded, {})


def test_end_across_berlin_spring_forward() -> None:
    loaded = parse_spec_text(
        spec("      - {key: s, kind: training, title: T, start: 2024-03-31 01:30, duration: 2h}\n", tz="Europe/Berlin")
    )
    [s] = loaded.sessions["C1"]
    assert s.end.astimezone(UTC) == dt.datetime(2024, 3, 31, 2, 30, tzinfo=UTC)
    assert f"{s.end:%H:%M}" == "04:30"  # not 03:30: the clocks skipped 02:00-03:00
    assert "2024-03-31 01:30 UTC+01–04:30 UTC+02 (Europe/Berlin)" in section_summary(s, loaded, loaded.text)
    ics = export_calendar(loaded, {})
    assert b"DTSTART;TZID=Europe/Berlin:20240331T013000" in ics
    assert b"DTEND;TZID=Europe/Berlin:20240331T043000" in ics
    # mod_attendance gets the instant and the real length.
    _, modules, _ = build_course(loaded, loaded.spec.courses[0], "k:C1", m.Keys("oca", "clock"), loaded.text,
                                 lambda t, _k: loaded.text(t))
    [att] = [mod for mod in modules.values() if mod.modname == "attendance"]
    [sess] = json.loads(att.settings)["sessions"]
    assert sess == {"sessdate": int(dt.datetime(2024, 3, 31, 0, 30, tzinfo=UTC).timestamp()), "duration": 7200,
                    "description": "T"}


def test_end_across_berlin_fall_back() -> None:
    loaded = parse_spec_text(
        spec("      - {key: s, kind: training, title: T, start: 2024-10-27 01:30, duration: 2h}\n", tz="Europe/Berlin")
    )
    [s] = loaded.sessions["C1"]
    assert s.end.astimezone(UTC) == dt.datetime(2024, 10, 27, 1, 30, tzinfo=UTC)
    assert f"{s.end:%H:%M}" == "02:30" and s.end.utcoffset() == dt.timedelta(hours=1)


def test_weekly_series_keeps_wall_time_and_ends_are_utc_computed() -> None:
    text = spec(
        """\
      - key: w
        kind: mentoring
        title: "W {n}"
        recurrence: {rrule: "FREQ=WEEKLY;COUNT=3", start: 2024-03-24 10:00}
        duration: 60
""",
        tz="Europe/Berlin",
    )
    sessions = parse_spec_text(text).sessions["C1"]
    assert [f"{s.start:%Y-%m-%d %H:%M}" for s in sessions] == ["2024-03-24 10:00", "2024-03-31 10:00", "2024-04-07 10:00"]
    assert [s.start_utc.hour for s in sessions] == [9, 8, 8]
    assert all(s.end.astimezone(UTC) - s.start_utc == dt.timedelta(hours=1) for s in sessions)


def test_a_start_the_clocks_skip_is_an_error_with_its_line() -> None:
    text = spec("      - {key: s, kind: training, title: T, start: 2024-03-31 02:30, duration: 60}\n", tz="Europe/Berlin")
    with pytest.raises(SpecError) as info:
        parse_spec_text(text, "p.yaml")
    [issue] = info.value.issues
    assert (issue.file, issue.line, issue.path) == ("p.yaml", 12, "courses[0].sessions[0].start")
    assert "does not exist in Europe/Berlin" in issue.message


# --- a time zone per session ------------------------------------------------------------


PER_SESSION = """\
      - {key: local, kind: training, title: Local, start: 2024-03-31 15:00, duration: 60, host: host}
      - key: berlin
        kind: training
        title: Berlin
        timezone: Europe/Berlin
        start: 2024-03-31 01:30
        duration: 2h
        host: host
      - key: series
        kind: mentoring
        title: "Series {n}"
        timezone: Europe/Berlin
        recurrence: {rrule: "FREQ=WEEKLY;COUNT=2", start: 2024-03-24 10:00}
        duration: 60
        host: host
"""


def test_session_time_zone_is_used_everywhere() -> None:
    loaded = parse_spec_text(spec(PER_SESSION))  # programme zone: Asia/Almaty
    by_key = {s.key: s for s in loaded.sessions["C1"]}
    berlin = by_key["berlin"]
    assert berlin.timezone == "Europe/Berlin" and by_key["local"].timezone == "Asia/Almaty"
    assert berlin.start_utc == dt.datetime(2024, 3, 31, 0, 30, tzinfo=UTC)
    # Sorted by instant across zones: Berlin 01:30 (00:30 UTC) comes before Almaty 15:00 (10:00 UTC).
    assert [s.key for s in loaded.sessions["C1"]] == ["series-01", "berlin", "series-02", "local"]
    assert [f"{s.start:%H:%M}" for s in loaded.sessions["C1"] if s.key.startswith("series")] == ["10:00", "10:00"]

    meetings = desired_meetings(loaded).meetings
    zoom = meetings["oca:clock:C1:berlin"]
    assert (zoom.start_time, zoom.timezone, zoom.duration) == ("2024-03-31T01:30:00", "Europe/Berlin", 120)
    assert meetings["oca:clock:C1:local"].timezone == "Asia/Almaty"
    assert meetings["oca:clock:C1:series-02"].start_time == "2024-03-31T10:00:00"

    assert "2024-03-31 01:30 UTC+01–04:30 UTC+02 (Europe/Berlin)" in section_summary(berlin, loaded, loaded.text)
    assert "2024-03-31 15:00–16:00 (Asia/Almaty)" in section_summary(by_key["local"], loaded, loaded.text)

    ics = export_calendar(loaded, {})
    assert b"DTSTART;TZID=Europe/Berlin:20240331T013000" in ics
    assert b"DTSTART;TZID=Asia/Almaty:20240331T150000" in ics
    assert b"TZID:Europe/Berlin" in ics and b"TZID:Asia/Almaty" in ics  # both VTIMEZONEs

    _, modules, _ = build_course(loaded, loaded.spec.courses[0], "k:C1", m.Keys("oca", "clock"), loaded.text,
                                 lambda t, _k: loaded.text(t))
    [att] = [mod for mod in modules.values() if mod.modname == "attendance"]
    sessdates = [x["sessdate"] for x in json.loads(att.settings)["sessions"]]
    assert int(berlin.start_utc.timestamp()) in sessdates


def test_unknown_session_time_zone_is_reported_at_its_line() -> None:
    text = spec(PER_SESSION.replace("timezone: Europe/Berlin\n        start", "timezone: Europe/Bxrlin\n        start"))
    with pytest.raises(SpecError) as info:
        parse_spec_text(text, "p.yaml")
    [issue] = info.value.issues
    assert (issue.line, issue.path) == (16, "courses[0].sessions[1].timezone")
    assert "unknown time zone 'Europe/Bxrlin'" in issue.message


def test_clock_helpers() -> None:
    assert nonexistent(dt.datetime(2024, 3, 31, 2, 30, tzinfo=BERLIN))
    assert not nonexistent(dt.datetime(2024, 3, 31, 3, 30, tzinfo=BERLIN))
    assert ambiguous(dt.datetime(2024, 2, 29, 23, 30, tzinfo=ALMATY))
    assert not ambiguous(dt.datetime(2024, 2, 29, 22, 30, tzinfo=ALMATY))
    start = dt.datetime(2024, 5, 1, 23, 0, tzinfo=BERLIN)
    assert span(start, start + dt.timedelta(hours=2)) == "2024-05-01 23:00–2024-05-02 01:00"


# --- scheduling warnings compare instants, not wall clocks ---------------------------------


def test_overlap_across_the_almaty_change_is_seen() -> None:
    # 22:30 +06 for 90 minutes ends at 18:00 UTC; 23:15 +06 (the first 23:15 that evening) is 17:15 UTC.
    loaded = parse_spec_text(spec("""\
      - {key: a, kind: training, title: A, start: 2024-02-29 22:30, duration: 90, host: host}
      - {key: b, kind: training, title: B, start: 2024-02-29 23:15, duration: 30, host: host}
"""))
    [warning] = loaded.warnings
    assert "host 'host' is in two sessions at once: b" in warning.message


def test_four_hours_across_spring_forward_is_not_long() -> None:
    # 00:30-05:30 on the wall clock in Berlin on 2024-03-31 is four hours, not five.
    text = spec("      - {key: s, kind: training, title: T, start: 2024-03-31 00:30, duration: 4h}\n", tz="Europe/Berlin")
    assert parse_spec_text(text).warnings == ()
