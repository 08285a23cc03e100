"""Participant rows merged per person and instance; the offline match command and its files."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from click.testing import CliRunner

from oca_sync.attendance.files import escape_cell, read_participants, read_resolutions, read_roster, unescape_cell
from oca_sync.attendance.participants import ZoomRow, clip, merge_intervals, merge_rows, minutes, rows_from_report
from oca_sync.cli import cli
from oca_sync.errors import UsageError

T0 = dt.datetime(2022, 1, 17, 9, 0, tzinfo=dt.timezone.utc)


def at(m: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=m)


def test_union_of_intervals_never_double_counts() -> None:
    merged = merge_intervals([(at(0), at(30)), (at(20), at(50)), (at(50), at(60)), (at(70), at(80)), (at(5), at(5))])
    assert merged == ((at(0), at(60)), (at(70), at(80)))
    assert minutes(merged) == 70
    assert clip(merged, at(10), at(75)) == ((at(10), at(60)), (at(70), at(75)))


def test_rows_merge_per_instance_name_and_email() -> None:
    rows = [ZoomRow("u1", "Aibek", "", at(0), at(30)), ZoomRow("u1", "Aibek", "", at(25), at(40)),
            ZoomRow("u1", "Aibek", "", at(-10), at(0), status="in_waiting_room"),
            ZoomRow("u2", "Aibek", "", at(0), at(5)), ZoomRow("u1", "Aibek", "a@x.kg", at(0), at(5))]
    got = {(p.meeting_uuid, p.email): p for p in merge_rows(rows)}
    p = got[("u1", "")]
    assert (p.minutes, p.first_join, p.last_leave, p.rows) == (40, at(0), at(40), 3)
    assert got[("u2", "")].minutes == 5 and got[("u1", "a@x.kg")].minutes == 5


def test_rows_from_zoom_json_skip_people_still_in_the_meeting() -> None:
    rows = rows_from_report("u", [
        {"name": "A", "user_email": "", "join_time": "2022-01-17T09:00:00Z", "leave_time": "2022-01-17T09:10:00Z",
         "status": "in_meeting"},
        {"name": "B", "user_email": "b@x", "join_time": "2022-01-17T09:00:00Z", "leave_time": ""},
    ])
    assert [(r.name, r.join, r.leave) for r in rows] == [("A", at(0), at(10))]


def test_bad_files_name_file_line_and_field(tmp_path: Path) -> None:
    roster = tmp_path / "r.csv"
    roster.write_text("userid,username,firstname,lastname,email\n1,a,A,B,a@x\nx,b,C,D,c@x\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"r\.csv:3: userid: 'x' is not a number"):
        read_roster(roster)
    roster.write_text("userid,username,firstname\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"r\.csv:1: missing column\(s\) lastname, email"):
        read_roster(roster)
    parts = tmp_path / "p.csv"
    parts.write_text("meeting_uuid,name,user_email,join_time,leave_time\nu,A,,2022-01-17T09:00:00Z,yesterday\n",
                     encoding="utf-8")
    with pytest.raises(UsageError, match=r"p\.csv:2: leave_time: 'yesterday' is not an ISO 8601 time"):
        read_participants(parts)


def test_cells_that_a_spreadsheet_would_run_are_escaped() -> None:
    assert escape_cell("=1+2") == "'=1+2"
    assert escape_cell("@SUM(A1)") == "'@SUM(A1)"
    assert escape_cell("Aibek") == "Aibek"
    assert unescape_cell(escape_cell("=1+2")) == "=1+2" and unescape_cell("'Quote") == "'Quote"


def test_a_review_file_comes_back_with_the_names_zoom_showed(tmp_path: Path) -> None:
    from oca_sync.attendance.files import write_csv

    path = tmp_path / "review.csv"
    write_csv(path, ("name", "user_email", "resolve"), [["-Aibek-", "", "aibek"], ["Guest", "", "none"],
                                                         ["Later", "", ""]])
    assert read_resolutions(path, {"aibek": 7}) == {("-Aibek-", ""): 7, ("Guest", ""): 0}


def test_match_command_writes_one_row_per_identity(tmp_path: Path) -> None:
    data = Path(__file__).parent.parent / "data" / "attendance"
    parts = tmp_path / "p.csv"
    parts.write_text(
        "meeting_uuid,name,user_email,join_time,leave_time,duration\n"
        "abc==,Aibek Asanov,,2022-01-17T09:00:00Z,2022-01-17T09:30:00Z,1800\n"
        "abc==,Aibek Asanov,,2022-01-17T09:20:00Z,2022-01-17T10:00:00Z,2400\n"
        "abc==,Aibek,,2022-01-17T09:00:00Z,2022-01-17T09:10:00Z,600\n"
        "abc==,Galaxy A52,,2022-01-17T09:00:00Z,2022-01-17T09:10:00Z,600\n", encoding="utf-8")
    out = tmp_path / "out.csv"
    r = CliRunner().invoke(cli, ["attendance", "match", "--roster", str(data / "roster.csv"), "--participants",
                                 str(parts), "--output", str(out)])
    assert r.exit_code == 0, r.output
    lines = out.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "meeting_uuid,name,user_email,status,userid,candidates,minutes,reason"
    rows = {line.split(",")[1]: line.split(",") for line in lines[1:]}
    assert rows["Aibek Asanov"][3:7] == ["match", "101", "101", "60.0"]
    assert rows["Aibek"][3:6] == ["ambiguous", "", "101;102"]
    assert rows["Galaxy A52"][3] == "none"
    bad = CliRunner().invoke(cli, ["attendance", "match", "--roster", str(parts), "--participants", str(parts)])
    assert bad.exit_code == 2 and "missing column(s) userid" in bad.output
