"""Expansion of one-off and recurring sessions into aware, numbered Session objects."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from oca_sync.errors import SpecError
from oca_sync.spec import parse_spec_text
from oca_sync.spec.expand import MAX_OCCURRENCES, expand_course, occurrences
from oca_sync.spec.models import Course

BISHKEK = ZoneInfo("Asia/Bishkek")
UTC = dt.UTC


def spec_with_sessions(sessions: str, end: str = "2022-05-06", tz: str = "Asia/Bishkek") -> str:
    return f"""\
programme: {{key: p, name: P, languages: [en, ru], timezone: {tz}}}
moodle: {{category: {{name: C}}}}
courses:
  - shortname: C1
    fullname: Course
    start: 2022-01-10
    end: {end}
    sessions:
{sessions}"""


MENTORING = """\
      - key: mentoring
        kind: mentoring
        title: {en: "Mentoring {n}", ru: "Менторство {n}"}
        summary: "Session {n} of the series"
        recurrence:
          rrule: FREQ=WEEKLY;BYDAY=TU;COUNT=4
          start: 2022-02-22 15:00
          exclude: [2022-03-08]
        duration: 60
"""


def test_recurrence_with_exclude_and_time_zone() -> None:
    loaded = parse_spec_text(spec_with_sessions(MENTORING))
    sessions = loaded.sessions["C1"]
    assert [s.key for s in sessions] == ["mentoring-01", "mentoring-02", "mentoring-03"]
    assert [s.start.date() for s in sessions] == [dt.date(2022, 2, 22), dt.date(2022, 3, 1), dt.date(2022, 3, 15)]
    first = sessions[0]
    assert first.start.tzinfo == BISHKEK
    assert first.start.astimezone(UTC) == dt.datetime(2022, 2, 22, 9, 0, tzinfo=UTC)  # 15:00 Bishkek = 09:00 UTC
    assert first.end.astimezone(UTC) == dt.datetime(2022, 2, 22, 10, 0, tzinfo=UTC)
    assert [s.title for s in sessions][2] == {"en": "Mentoring 3", "ru": "Менторство 3"}
    assert sessions[1].summary == "Session 2 of the series"
    assert {s.source_index for s in sessions} == {0}
    assert loaded.text(first.title) == (
        '<span lang="en" class="multilang">Mentoring 1</span><span lang="ru" class="multilang">Менторство 1</span>'
    )


def test_one_off_session_is_aware_in_programme_zone() -> None:
    text = spec_with_sessions(
        "      - {key: s, kind: training, title: T, start: 2022-01-17 15:00, duration: 90}\n", tz="Europe/Paris"
    )
    [session] = parse_spec_text(text).sessions["C1"]
    assert session.start.isoformat() == "2022-01-17T15:00:00+01:00"
    assert session.key == "s" and session.number == 1 and session.title == "T"


def test_explicit_offset_is_converted_to_programme_zone() -> None:
    text = spec_with_sessions("      - {key: s, kind: training, title: T, start: 2022-01-17T09:00:00Z, duration: 90}\n")
    [session] = parse_spec_text(text).sessions["C1"]
    assert session.start.isoformat() == "2022-01-17T15:00:00+06:00"


def test_sessions_sorted_and_numbered_per_kind() -> None:
    sessions = (
        """\
      - {key: late, kind: training, title: Late, start: 2022-02-01 15:00, duration: 90}
      - {key: early, kind: training, title: Early, start: 2022-01-17 15:00, duration: 90}
      - {key: party, kind: event, title: Party, start: 2022-04-28 10:00, duration: 4h}
"""
        + MENTORING
    )
    loaded = parse_spec_text(spec_with_sessions(sessions))
    got = [(s.key, s.kind, s.number, s.source_index) for s in loaded.sessions["C1"]]
    assert got == [
        ("early", "training", 1, 1),
        ("late", "training", 2, 0),
        ("mentoring-01", "mentoring", 1, 3),
        ("mentoring-02", "mentoring", 2, 3),
        ("mentoring-03", "mentoring", 3, 3),
        ("party", "event", 1, 2),
    ]
    assert loaded.sessions["C1"][-1].duration == 240


def test_rule_without_count_or_until_stops_at_course_end() -> None:
    text = spec_with_sessions(MENTORING.replace(";COUNT=4", ""), end="2022-03-31")
    sessions = parse_spec_text(text).sessions["C1"]
    assert [s.start.date().isoformat() for s in sessions][-1] == "2022-03-29"
    assert len(sessions) == 5  # Feb 22, Mar 1, (8 excluded), 15, 22, 29


def test_until_in_rule() -> None:
    text = spec_with_sessions(MENTORING.replace("COUNT=4", "UNTIL=20220315T235959"))
    assert len(parse_spec_text(text).sessions["C1"]) == 3


def test_rrule_prefix_accepted() -> None:
    text = spec_with_sessions(MENTORING.replace("rrule: FREQ", "rrule: RRULE:FREQ"))
    assert len(parse_spec_text(text).sessions["C1"]) == 3


def test_exclude_not_in_series_is_reported() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec_text(spec_with_sessions(MENTORING.replace("2022-03-08", "2022-03-09")))
    [issue] = info.value.issues
    assert (issue.line, issue.column, issue.path) == (16, 21, "courses[0].sessions[0].recurrence.exclude[0]")
    assert issue.message == "2022-03-09 is not a date of this series"


def test_dtstart_in_rule_is_refused() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec_text(spec_with_sessions(MENTORING.replace("rrule: FREQ", "rrule: DTSTART:20220101T000000 FREQ")))
    assert "single rule" in info.value.issues[0].message


def test_occurrences_are_bounded() -> None:
    starts, problems = occurrences(
        "FREQ=DAILY;COUNT=100000", dt.datetime(2022, 1, 1, 9), [], dt.date(2022, 12, 31), BISHKEK
    )
    assert len(starts) == MAX_OCCURRENCES
    assert problems == [(("rrule",), "the rule gives more than 500 sessions; add COUNT or UNTIL")]


def test_rule_with_no_session_before_course_end() -> None:
    starts, problems = occurrences("FREQ=WEEKLY", dt.datetime(2022, 6, 1, 9), [], dt.date(2022, 5, 6), BISHKEK)
    assert starts == []
    assert problems == [(("rrule",), "the rule gives no session before the course end (2022-05-06)")]


def test_expand_course_directly() -> None:
    course = Course.model_validate(
        {
            "shortname": "C",
            "fullname": "C",
            "start": "2022-01-10",
            "end": "2022-05-06",
            "sessions": [
                {"key": "t", "kind": "training", "title": "T {n}", "start": "2022-01-17 15:00", "duration": 90},
            ],
        }
    )
    sessions, findings = expand_course(course, 0, BISHKEK)
    assert findings == []
    # {n} is only substituted in series.
    assert sessions[0].title == "T {n}"
