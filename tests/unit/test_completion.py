"""Completion rules -> Moodle's completion settings (pure parts), and Moodle's completion in the report."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oca_sync.moodle import completion as c
from oca_sync.moodle import model as m
from oca_sync.moodle.desired import build
from oca_sync.plan import Action, Notice
from oca_sync.report import analysis as a
from oca_sync.report.dataset import AttendanceRow, Dataset, MoodleCompletion, Response, TakenSession
from oca_sync.spec import LoadedSpec, load_spec

from .test_report_analysis import SPEC
from .test_spec_checks import write

OWNED = "oca:p:C1:"


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedSpec:
    return load_spec(write(tmp_path, SPEC, {"metrics.csv": "date,organisation,platform,metric,value\n"}))


@pytest.mark.parametrize(("grade", "n", "sessions", "want"), [
    (100, 9, 12, 75.0), (100, 2, 3, 66.66), (100, 17, 20, 85.0), (10, 1, 3, 3.33), (100, 3, 3, 100.0)])
def test_pass_grade_lets_exactly_n_of_m_pass(grade: int, n: int, sessions: int, want: float) -> None:
    got = c.pass_grade(grade, n, sessions)
    assert got == want
    # mod_attendance's grade for n sessions present of m taken, as Moodle stores it (5 decimals)
    assert round(grade * n / sessions, 5) >= got
    assert round(grade * (2 * n - 1) / (2 * sessions), 5) < got  # one of them Late: below the pass grade


def test_rules_become_submit_and_pass_grade_settings(loaded: LoadedSpec) -> None:
    site = build(loaded)
    want = site.completion["oca:p:C1"]
    assert want["criteria"] == [OWNED + "attendance", OWNED + "post", OWNED + "pre"]
    assert want["modules"][OWNED + "pre"] == c.ON_SUBMIT
    # 2 mentoring sessions of the 3 the attendance activity records, out of its grade 100
    assert want["modules"][OWNED + "attendance"] == {
        "completion": 2, "completionview": 0, "completionusegrade": 1, "completionpassgrade": 1, "gradepass": 66.66}
    assert want["aggregation"] == 1


def test_an_attendance_without_grade_cannot_carry_the_rule(tmp_path: Path) -> None:
    text = SPEC.replace("    attendance: {sessions: [mentoring]}", "    attendance: {sessions: [mentoring], grade: 0}")
    site = build(load_spec(write(tmp_path, text, {"metrics.csv": "date,organisation,platform,metric,value\n"})))
    assert OWNED + "attendance" not in site.completion["oca:p:C1"]["modules"]
    assert any("attendance rules cannot become Moodle completion" in n for n in site.notes)


def observed_from(want: dict) -> dict:
    """What get_course_completion returns once ``want`` is applied (parsed)."""
    return c.parse_observed({
        "enablecompletion": True, "aggregation": 1, "activityaggregation": 1, "criteria": want["criteria"],
        "modules": [{"idnumber": k, "modname": "x", "settings": json.dumps(v)} for k, v in want["modules"].items()]})


def test_diff_is_empty_once_applied_and_names_what_differs(loaded: LoadedSpec) -> None:
    want = build(loaded).completion["oca:p:C1"]
    have = observed_from(want)
    assert c.diff(have, want, OWNED) == ()
    have["modules"][OWNED + "attendance"]["gradepass"] = 66.660001  # as stored: 5 decimals
    assert c.diff(have, want, OWNED) == ()
    have["modules"][OWNED + "attendance"]["gradepass"] = 50.0
    have["modules"][OWNED + "pre"]["completionsubmit"] = 0
    have["criteria"] = [OWNED + "pre"]
    fields = {f.name: (f.old, f.new) for f in c.diff(have, want, OWNED)}
    assert fields == {"criteria": (["pre"], ["attendance", "post", "pre"]), "attendance.gradepass": (50.0, 66.66),
                      "pre.completionsubmit": (0, 1)}


def test_plan_without_the_plugin_says_so_and_changes_nothing(loaded: LoadedSpec) -> None:
    desired = build(loaded)
    added: list[tuple] = []
    notices: list[Notice] = []
    c.plan(desired, m.ObservedSite(plugin=True, plugin_version=c.PLUGIN_COMPLETION_VERSION - 1),
           lambda *x: added.append(x), lambda level, msg: notices.append(Notice(level, msg)))
    assert added == [] and "local_ocasync 1.2" in notices[0].message
    c.plan(desired, m.ObservedSite(plugin=True, plugin_version=c.PLUGIN_COMPLETION_VERSION),
           lambda *x: added.append(x), lambda level, msg: notices.append(Notice(level, msg)))
    [(kind, key, action, fields, payload)] = added
    assert (kind, key, action, payload) == ("completion", "C1", Action.CREATE, "oca:p:C1")
    assert fields[0].name == "criteria"
    # A service that lists its functions decides by them, whatever the version says
    added.clear()
    c.plan(desired, m.ObservedSite(plugin=True, plugin_version=1, functions=frozenset(c.FUNCTIONS)),
           lambda *x: added.append(x), lambda level, msg: notices.append(Notice(level, msg)))
    assert len(added) == 1
    assert not c.supported(m.ObservedSite(plugin=True, plugin_version=c.PLUGIN_COMPLETION_VERSION,
                                          functions=frozenset({"local_ocasync_get_info"})))


def data_with(completion: list[MoodleCompletion]) -> Dataset:
    return Dataset(
        programme="p", collected_at="2022-05-01T00:00:00+00:00",
        attendance=[AttendanceRow("C1", f"m-0{i}", "ann", "P", "Present", 2.0) for i in (1, 2)],
        taken=[TakenSession("C1", f"m-0{i}", 1, 1) for i in (1, 2, 3)],
        responses=[Response("C1", "pre", 1, "ann", 10, {}), Response("C1", "post", 2, "ann", 20, {})],
        completion=completion)


def rows(loaded: LoadedSpec, data: Dataset) -> list[a.CompletionRow]:
    people = a.people(loaded, "en", False)
    return a.completion(loaded, a.sessions_and_attendance(loaded, data, people, "en"), data, people, "en")


def test_report_takes_moodles_figure_and_shows_a_difference(loaded: LoadedSpec) -> None:
    # Without Moodle's figures: the rules' own
    [row] = rows(loaded, data_with([]))
    assert row.moodle is None and row.complete
    s = a.completion_summary([row])
    assert (s.completed, s.by_moodle, s.differ) == (1, None, [])
    # Moodle has not completed ann (e.g. its cron has not run yet): Moodle's figure, and the difference
    [row] = rows(loaded, data_with([MoodleCompletion("C1", "ann", False, 0, {"pre": 1}, "plugin")]))
    s = a.completion_summary([row])
    assert row.moodle is False and (s.completed, s.by_rules, s.by_moodle) == (0, 1, 0) and s.differ == [row]
    [row] = rows(loaded, data_with([MoodleCompletion("C1", "ann", True, 5, {"pre": 1}, "plugin")]))
    assert a.completion_summary([row]).differ == []


def test_a_dataset_collected_before_completion_still_loads() -> None:
    d = data_with([MoodleCompletion("C1", "ann", True, 5, {"pre": 1}, "core")])
    raw = json.loads(d.to_json())
    assert Dataset.from_json(json.dumps(raw)).completion == d.completion
    raw.pop("completion")
    assert Dataset.from_json(json.dumps(raw)).completion == []


def test_attendance_becomes_a_criterion_only_after_its_last_session(loaded: LoadedSpec) -> None:
    import datetime as dt

    last = max(s.end_utc for s in loaded.sessions["C1"] if s.kind == "mentoring")
    before = build(loaded, now=last - dt.timedelta(minutes=1))
    want = before.completion["oca:p:C1"]
    assert want["criteria"] == [OWNED + "post", OWNED + "pre"]  # the activity's own completion is still set
    assert want["modules"][OWNED + "attendance"]["completionpassgrade"] == 1
    assert any("becomes a course completion criterion after its last session" in n for n in before.notes)
    after = build(loaded, now=last)
    assert after.completion["oca:p:C1"]["criteria"] == [OWNED + "attendance", OWNED + "post", OWNED + "pre"]
    assert not any("last session" in n for n in after.notes)


def test_attendance_waits_for_every_register_after_the_last_session(loaded: LoadedSpec) -> None:
    """After the last session, the attendance criterion goes to Moodle only when every ended register is
    taken: a first register alone would complete people for good."""
    import datetime as dt

    last = max(s.end_utc for s in loaded.sessions["C1"] if s.kind == "mentoring")
    site = build(loaded, now=last)
    assert site.attendance_criterion == {"oca:p:C1": OWNED + "attendance"}
    assert build(loaded, now=last - dt.timedelta(minutes=1)).attendance_criterion == {}

    def planned(untaken: dict[str, int | None], criteria: list[str]) -> m.DesiredSite:
        observed = m.ObservedSite(attendance_untaken=untaken,
                                  completion={"oca:p:C1": {"criteria": criteria}})
        return c.wait_for_registers(site, observed)

    waiting = planned({"oca:p:C1": 2}, [])
    assert waiting.completion["oca:p:C1"]["criteria"] == [OWNED + "post", OWNED + "pre"]
    assert any("once every register is taken (2 ended session(s) not taken yet" in n for n in waiting.notes)
    assert site.completion["oca:p:C1"]["criteria"][0] == OWNED + "attendance", "the input is left as it was"
    unreadable = planned({"oca:p:C1": None}, [])
    assert unreadable.completion["oca:p:C1"]["criteria"] == [OWNED + "post", OWNED + "pre"]
    assert any("registers could not be read" in n for n in unreadable.notes)
    assert planned({"oca:p:C1": 0}, []) is site  # all taken: as built
    assert planned({}, [OWNED + "attendance"]) is site  # already a criterion: not read, kept


def test_untaken_counts_ended_sessions_with_neither_a_take_nor_a_status() -> None:
    import datetime as dt

    now = dt.datetime(2026, 5, 1, 12, tzinfo=dt.timezone.utc)
    t = int(now.timestamp())
    sessions = [
        {"sessdate": t - 7200, "duration": 3600, "lasttaken": None, "attendance_log": []},  # ended, not taken
        {"sessdate": t - 7200, "duration": 3600, "lasttaken": t - 60, "attendance_log": []},  # taken, nobody
        {"sessdate": t - 7200, "duration": 3600, "lasttaken": 0, "attendance_log": [{"studentid": 3}]},  # a status
        {"sessdate": t - 1800, "duration": 3600, "lasttaken": None, "attendance_log": []},  # not ended yet
        {"sessdate": t - 3600, "duration": 3600},  # ends now: ended, not taken (as the spec builds it)
        # mod_attendance lists nobody to take (a group with no student left): not waited for
        {"sessdate": t - 7200, "duration": 3600, "lasttaken": None, "attendance_log": [], "groupid": 7, "users": []},
        {"sessdate": t - 7200, "duration": 3600, "lasttaken": None, "attendance_log": [], "groupid": 8,
         "users": [{"id": 3, "firstname": "A", "lastname": "B"}]},
        {"sessdate": t - 7200, "duration": 3600, "group": "oca:p:C1:nobody"},  # a new activity's session
    ]
    assert c.untaken(sessions, now) == 4
    # a new activity's session of a group the spec gives nobody: not waited for either
    assert c.untaken(sessions, now, {"oca:p:C1:nobody"}) == 3
