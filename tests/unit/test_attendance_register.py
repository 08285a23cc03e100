"""Statuses from minutes, the register plan (never overwrite a person's status), mappings kept with the spec."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from oca_sync.attendance.match import RosterUser
from oca_sync.attendance.register import PersonSession, RegisterSession, Thresholds, plan_session, status_for
from oca_sync.attendance.sync import MAPPINGS_FILE, load_mappings, remember
from oca_sync.errors import UsageError
from oca_sync.plan import Action
from oca_sync.state import StateStore

START = dt.datetime(2022, 1, 17, 9, 0, tzinfo=dt.timezone.utc)
TH = Thresholds()


def at(m: float) -> dt.datetime:
    return START + dt.timedelta(minutes=m)


@pytest.mark.parametrize(("minutes", "first", "expect"), [
    (90, 0, "P"), (67.5, 0, "P"), (67.4, 0, "A"), (80, 10, "P"),  # 10 minutes late is not late
    (75, 11, "L"), (45, 30, "L"), (44.9, 30, "A"), (0, None, "A"), (30, -5, "A"),
])
def test_status_from_minutes_and_first_join(minutes: float, first: float | None, expect: str) -> None:
    assert status_for(minutes, at(first) if first is not None else None, START, 90, TH) == expect


def test_thresholds_come_from_the_spec() -> None:
    strict = Thresholds(present_percent=90, late_after_minutes=5, late_percent=80)
    assert status_for(80, at(0), START, 90, strict) == "A"
    assert status_for(75, at(6), START, 90, strict) == "L"


REG = RegisterSession(id=7, attendanceid=1, sessdate=0, duration=5400, statusset=0,
                      statuses={"P": 11, "L": 13, "E": 14, "A": 12}, log={2: 11, 3: 12, 4: 14, 5: 12},
                      users={1: "New", 2: "Same", 3: "Ours", 4: "Excused", 5: "Hand"})


def person(uid: int, status: str) -> PersonSession:
    return PersonSession("C:s1", uid, f"u{uid}", "", 80, at(0), at(80), status)


def test_plan_writes_new_and_own_statuses_and_keeps_a_persons() -> None:
    people = {1: person(1, "P"), 2: person(2, "P"), 3: person(3, "P"), 4: person(4, "P"), 5: person(5, "P")}
    ledger = {3: 12}  # oca-sync wrote A for user 3; nobody changed it since
    sp = plan_session("C:s1", REG, people, ledger, {i: f"u{i}" for i in range(1, 6)})
    assert [(c.key, c.action, c.fields[0].old, c.fields[0].new) for c in sp.changes] == [
        ("C:s1:u1", Action.CREATE, None, "P"), ("C:s1:u3", Action.UPDATE, "A", "P")]
    assert [(d.key, d.fields[0].old, d.fields[0].new) for d in sp.drift] == [
        ("C:s1:u4", "P", "E"), ("C:s1:u5", "P", "A")]  # Excused by a person; A set by a person
    assert sp.changes[0].payload.statusid == 11 and sp.changes[0].payload.sessionid == 7


def test_held_statuses_are_not_written_and_a_missing_person_is_absent() -> None:
    sp = plan_session("C:s1", REG, {1: person(1, "")}, {}, {})
    assert sp.counts["held"] == 1 and all(c.key != "C:s1:1" for c in sp.changes)
    assert sp.counts["A"] == 4  # the others were not in the meeting


def test_mappings_file_next_to_the_spec_wins_over_the_store(tmp_path: Path) -> None:
    users = [RosterUser(1, "aibek", "Aibek", "Asanov", ""), RosterUser(2, "samat", "Samat", "Uulu", "")]
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    remember(store, "sc", {("Apa", ""): 1, ("Baike", ""): 2}, {1: "aibek", 2: "samat"})
    spec = tmp_path / "spec.yaml"
    assert load_mappings(store, "sc", spec, users) == {("apa", ""): 1, ("baike", ""): 2}
    (tmp_path / MAPPINGS_FILE).write_text("name,user_email,resolve\nAPA,,samat\nGuest 3,,none\nX,,\n",
                                          encoding="utf-8")
    assert load_mappings(store, "sc", spec, users) == {("apa", ""): 2, ("baike", ""): 2, ("guest 3", ""): 0}
    (tmp_path / MAPPINGS_FILE).write_text("name,user_email,resolve\nApa,,nobody.here\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"attendance-mappings\.csv:2: resolve: 'nobody.here'"):
        load_mappings(store, "sc", spec, users)
