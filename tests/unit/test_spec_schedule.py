"""Scheduling warnings: valid specs that are likely mistakes; --strict makes them errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from oca_sync.cli import cli
from oca_sync.spec import load_spec

from .test_spec_checks import BASE, add_after, write

SECOND_TRAINING = """\
      - key: s2
        kind: training
        title: Two
        start: 2022-01-17 16:00
        duration: 60
        host: trainer
"""


def warnings_of(tmp_path: Path, text: str) -> list[tuple[int | None, str, str]]:
    loaded = load_spec(write(tmp_path, text))
    return [(w.line, w.path, w.message) for w in loaded.warnings]


def test_base_has_no_warnings(tmp_path: Path) -> None:
    assert warnings_of(tmp_path, BASE) == []


def test_host_in_two_sessions_at_once(tmp_path: Path) -> None:
    text = BASE.replace("    surveys:\n", SECOND_TRAINING + "    surveys:\n", 1)
    [(line, path, message)] = warnings_of(tmp_path, text)
    assert path == "courses[0].sessions[2]" and line is not None
    assert "host 'trainer' is in two sessions at once: s2" in message


def test_overlap_in_one_course_without_a_shared_host(tmp_path: Path) -> None:
    text = BASE.replace("    surveys:\n", SECOND_TRAINING.replace("host: trainer", "host: mentor") + "    surveys:\n", 1)
    [(_, path, message)] = warnings_of(tmp_path, text)
    assert path == "courses[0].sessions[2]" and "overlaps s1" in message


def test_a_weekly_series_clashing_every_week_is_one_warning(tmp_path: Path) -> None:
    series = """\
      - key: w
        kind: mentoring
        title: "Weekly {n}"
        recurrence:
          rrule: FREQ=WEEKLY;BYDAY=TU;COUNT=3
          start: 2022-02-22 15:30
        duration: 60
        host: mentor
"""
    text = BASE.replace("    surveys:\n", series + "    surveys:\n", 1)
    found = [w for w in warnings_of(tmp_path, text) if "two sessions at once" in w[2]]
    assert len(found) == 1 and found[0][2].endswith("(and 2 more of this series)")


def test_long_and_overnight_sessions(tmp_path: Path) -> None:
    text = BASE.replace("duration: 90", "duration: 300")
    [(_, path, message)] = warnings_of(tmp_path, text)
    assert path == "courses[0].sessions[0]" and "5h00" in message and "minutes" in message
    text = BASE.replace("start: 2022-01-17 15:00", "start: 2022-01-17 23:00")
    [(_, _, message)] = warnings_of(tmp_path, text)
    assert "ends after midnight" in message


def test_missing_translation(tmp_path: Path) -> None:
    text = BASE.replace("title: One", "title: {en: One, ru: Один}").replace(
        'title: "Mentoring {n}"', 'title: {en: "Mentoring {n}"}')
    [(_, path, message)] = warnings_of(tmp_path, text)
    assert path == "courses[0].sessions[1].title" and "no ru title" in message


def test_strict_makes_warnings_errors(tmp_path: Path) -> None:
    spec = write(tmp_path, BASE.replace("duration: 90", "duration: 300"))
    result = CliRunner().invoke(cli, ["validate", str(spec)])
    assert result.exit_code == 0 and "Warning:" in result.output and "valid with 1 warning" in result.output
    result = CliRunner().invoke(cli, ["validate", "--strict", str(spec)])
    assert result.exit_code == 2 and "1 warning in the course specification (--strict)" in result.output


@pytest.mark.parametrize("shift", ["15:00", "16:29"])
def test_other_courses_may_overlap_when_hosts_differ(tmp_path: Path, shift: str) -> None:
    course = BASE[BASE.index("  - shortname: C1"):BASE.index("organisations:")]
    other = course.replace("C1", "C2").replace("host: trainer", "host: mentor").replace(
        "2022-01-17 15:00", f"2022-01-17 {shift}").replace("key: m\n", "key: mm\n")
    text = add_after(BASE, "          - {key: q2, type: text, text: Why}\n", other)
    assert [w for w in warnings_of(tmp_path, text) if "overlaps" in w[2]] == []
