"""The report's pure parts: metrics files, figures, CSV cells, the output folder."""

from __future__ import annotations

from pathlib import Path

import pytest

from oca_sync.errors import SpecError
from oca_sync.report import analysis as a
from oca_sync.report.dataset import AttendanceRow, Dataset, Metric, Response, TakenSession
from oca_sync.report.metrics import parse_metrics, read_metrics
from oca_sync.report.render import csv_cell, output_dir, recommendations, write_csv
from oca_sync.spec import LoadedSpec, load_spec

from .test_spec_checks import BASE, add_after, write

SPEC = add_after(BASE, "    name: Org\n", """\
    campaign:
      title: Clean shores
      aim: [horizontal]
      platforms:
        - {platform: facebook, url: "https://www.facebook.com/example"}
      start: 2022-03-01
      end: 2022-04-30
      targets: {posts: 10, reach: 1000}
""")
SPEC = add_after(SPEC, "          - {key: q2, type: text, text: Why}\n", """\
          - {key: level, type: rating, text: Level, min: 1, max: 5}
      - key: post
        kind: post
        title: After
        questions:
          - {key: level, type: rating, text: Level, min: 1, max: 5}
          - {key: q1, type: multichoice_multi, text: Pick, options: [A, B, C]}
      - key: weekly
        kind: checkin
        title: Weekly
        questions:
          - {key: date, type: text, text: Week}
          - {key: platform, type: multichoice, text: Platform, options: [Facebook, Other]}
          - {key: reach, type: numeric, text: Reach}
          - {key: notes, type: textarea, text: Notes}
    attendance: {sessions: [mentoring]}
    completion:
      attend:
        - {kind: mentoring, at_least: 2}
      surveys: [pre, post]
""") + "report:\n  campaign_metrics: [metrics.csv]\n"
HEADER = "date,organisation,platform,metric,value\n"


@pytest.fixture
def loaded(tmp_path: Path) -> LoadedSpec:
    return load_spec(write(tmp_path, SPEC, {"metrics.csv": HEADER + "2022-03-06,org,facebook,reach,500\n"}))


def issues(tmp_path: Path, loaded: LoadedSpec, body: str) -> list[tuple[int | None, str, str]]:
    path = tmp_path / "bad.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    rows, found = parse_metrics(path, loaded)
    assert rows == [] or found == [] or len(rows) < body.count("\n")
    return [(i.line, i.path, i.message) for i in found]


def test_metrics_rows_are_read(loaded: LoadedSpec) -> None:
    assert read_metrics(loaded) == [Metric("2022-03-06", "org", "facebook", "reach", 500.0, "metrics.csv:2")]


@pytest.mark.parametrize("row,column,message", [
    ("2022-13-01,org,facebook,reach,5", "date", "'2022-13-01' is not a date (YYYY-MM-DD)"),
    ("2022-03-06,nobody,facebook,reach,5", "organisation", "unknown organisation 'nobody'"),
    ("2022-03-06,org,tiktok,reach,5", "platform", "platform 'tiktok' is not one of org's: facebook, offline"),
    ("2022-03-06,org,facebook,likes,5", "metric", "unknown metric 'likes'"),
    ("2022-03-06,org,facebook,reach,-5", "value", "'-5' is not a number ≥ 0"),
    ("2022-03-06,org,facebook,reach,nan", "value", "'nan' is not a number ≥ 0"),
    ("2022-03-06,org,facebook,reach", "", "expected 5 columns"),
])
def test_a_bad_row_names_its_line_and_column(tmp_path: Path, loaded: LoadedSpec, row: str, column: str,
                                             message: str) -> None:
    [(line, col, msg)] = issues(tmp_path, loaded, "2022-03-06,org,offline,offline_actions,1\n" + row + "\n")
    assert (line, col) == (3, column)
    assert msg.startswith(message)


def test_a_repeated_row_is_an_error_not_a_second_number(tmp_path: Path, loaded: LoadedSpec) -> None:
    found = issues(tmp_path, loaded, "2022-03-06,org,facebook,reach,5\n\n2022-03-06,org,Facebook,reach,7\n")
    assert found == [(4, "", "reach of org on Facebook for 2022-03-06 is already given on line 2")]


def test_a_wrong_header_stops_the_file(tmp_path: Path, loaded: LoadedSpec) -> None:
    path = tmp_path / "m.csv"
    path.write_text("date;org;value\n2022-03-06;org;5\n", encoding="utf-8")
    rows, found = parse_metrics(path, loaded)
    assert rows == [] and [(i.line, i.message) for i in found] == [
        (1, "the first line must be date,organisation,platform,metric,value")]


def test_read_metrics_raises_with_every_problem(tmp_path: Path, loaded: LoadedSpec) -> None:
    (tmp_path / "metrics.csv").write_text(HEADER + "x,org,facebook,reach,1\n2022-03-06,org,facebook,reach,y\n",
                                          encoding="utf-8")
    with pytest.raises(SpecError) as info:
        read_metrics(loaded)
    assert [(i.file.endswith("metrics.csv"), i.line) for i in info.value.issues] == [(True, 2), (True, 3)]


# --------------------------------------------------------------------------- figures


def test_paired_change_states_when_n_is_too_small() -> None:
    p = a.paired_change([1.0, 0.0, 2.0, -1.0])
    assert (p.n, p.mean, p.median, p.improved, p.worse, p.p_value) == (4, 0.5, 0.5, 2, 1, None)
    assert p.note == "too few changed answers for a test (3; at least 6 needed)"


def test_paired_change_runs_wilcoxon_when_it_can() -> None:
    from scipy.stats import wilcoxon

    diffs = [1.0, 2.0, 1.0, 1.0, 0.0, 2.0, 1.0, -1.0, 1.0, 3.0, 2.0]
    p = a.paired_change(diffs)
    expected = wilcoxon([d for d in diffs if d], method="asymptotic").pvalue  # ties: normal approximation
    assert p.n == 11 and p.p_value == pytest.approx(expected) and "normal approximation" in p.note
    exact = a.paired_change([1.0, 2.0, 3.0, 4.0, 5.0, -6.0, 7.0])
    assert exact.p_value == pytest.approx(wilcoxon([1, 2, 3, 4, 5, -6, 7], method="exact").pvalue)
    assert "exact" in exact.note
    assert p.p_value is not None and p.p_value < 0.05
    assert a.paired_change([]).note == "no one answered both surveys"


def test_attended_means_a_positive_grade_but_not_excused() -> None:
    row = AttendanceRow("C1", "s1", "ann", "P", "Present", 2.0)
    assert a.attended(row)
    assert not a.attended(AttendanceRow("C1", "s1", "ann", "E", "Excused", 1.0))
    assert not a.attended(AttendanceRow("C1", "s1", "ann", "A", "Absent", 0.0))
    assert a.attended(AttendanceRow("C1", "s1", "ann", "L", "Late", 1.0))


def test_pseudonyms_are_stable_and_differ() -> None:
    assert a.pseudonym("p", "ann") == a.pseudonym("p", "ann") != a.pseudonym("p", "bob")
    assert a.pseudonym("p", "ann") != a.pseudonym("q", "ann")


def dataset(**kw: object) -> Dataset:
    return Dataset(programme="p", collected_at="2022-05-01T00:00:00+00:00", **kw)  # type: ignore[arg-type]


def test_completion_applies_the_rules(loaded: LoadedSpec) -> None:
    data = dataset(
        attendance=[AttendanceRow("C1", f"m-0{i}", "ann", "P", "Present", 2.0) for i in (1, 2)],
        taken=[TakenSession("C1", f"m-0{i}", 1, 1) for i in (1, 2, 3)],
        responses=[Response("C1", "pre", 1, "ann", 10, {}), Response("C1", "post", 2, "ann", 20, {})])
    people = a.people(loaded, "en", False)
    att = a.sessions_and_attendance(loaded, data, people, "en")
    [row] = a.completion(loaded, att, data, people, "en")
    assert row.complete and row.parts[0] == ("attend:mentoring", True, "2/2")
    data.responses.pop()
    [row] = a.completion(loaded, att, data, people, "en")
    assert not row.complete and row.parts[-1] == ("survey:After", False, "")


def test_surveys_pair_the_same_question_key(loaded: LoadedSpec) -> None:
    data = dataset(responses=[
        Response("C1", "pre", 1, "ann", 10, {"level": "2", "q1": "1"}),
        Response("C1", "post", 2, "ann", 20, {"level": "4", "q1": "1|3"}),
        Response("C1", "post", 3, None, 0, {"level": "5"}),  # anonymous: in distributions, never paired
    ])
    [res] = a.surveys(loaded, data, a.people(loaded, "en", False), "en")
    level = next(q for q in res.questions if q.key == "level")
    assert level.paired[""].n == 1 and level.paired[""].mean == 2.0 and level.paired["org"].n == 1
    assert level.post[""] == {"4": 1, "5": 1} and level.pre["org"] == {"2": 1}
    q1 = next(q for q in res.questions if q.key == "q1")
    assert q1.post[""] == {"A": 1, "C": 1} and q1.labels == ["A", "B", "C"]
    assert res.respondents == {"pre": 1, "post": 1, "paired": 1} and res.anonymous == 1
    why = next(q for q in res.questions if q.key == "q2")
    assert why.texts == [] and why.type == "text"


def test_campaign_totals_prefer_the_file_over_a_checkin(loaded: LoadedSpec) -> None:
    data = dataset(
        metrics=read_metrics(loaded),  # 2022-03-06 facebook reach 500
        responses=[
            Response("C1", "weekly", 1, "ann", 0, {"date": "2022-03-06", "platform": "1", "reach": "400",
                                                   "notes": "Video did well"}),
            Response("C1", "weekly", 2, "ann", 0, {"date": "2022-03-13", "platform": "1", "reach": "300"}),
        ])
    camps = a.campaigns(loaded, data, a.people(loaded, "en", False), "en")
    [c] = camps.results
    assert camps.superseded == 1 and c.totals["reach"] == 800.0
    assert c.progress("reach") == 0.8 and c.progress("engagements") is None
    assert c.weekly["reach"] == [(a.dt.date(2022, 3, 6), 500.0), (a.dt.date(2022, 3, 13), 800.0)]
    assert c.notes == [("2022-03-06 facebook", "Video did well")]


def test_a_checkin_belongs_to_the_organisation_of_its_activity(loaded: LoadedSpec) -> None:
    """Anonymous responses of an organisation's own check-in count for it; one without a date is not
    counted (Moodle gives no time for an anonymous response) and the report says how many."""
    data = dataset(responses=[
        Response("C1", "weekly", 1, None, 0, {"date": "2022-03-13", "platform": "1", "reach": "300"}, group="org"),
        Response("C1", "weekly", 2, None, 0, {"date": "the 13th", "platform": "1", "reach": "900"}, group="org"),
    ])
    camps = a.campaigns(loaded, data, a.people(loaded, "en", False), "en")
    [c] = camps.results
    assert c.totals["reach"] == 300.0 and camps.undated == 1 and camps.unattributed == 0


# --------------------------------------------------------------------------- output


def test_csv_cells_that_a_spreadsheet_would_run_are_defused(tmp_path: Path) -> None:
    assert [csv_cell(v) for v in ("=HYPERLINK(1)", "+1", "-x", "@SUM", "ok", -3, 2.5)] == [
        "'=HYPERLINK(1)", "'+1", "'-x", "'@SUM", "ok", -3, 2.5]
    write_csv(tmp_path / "x.csv", ["a"], [["=1+1"]])
    assert (tmp_path / "x.csv").read_text(encoding="utf-8-sig") == "a\n'=1+1\n"
    assert (tmp_path / "x.csv").stat().st_mode & 0o777 == 0o600


def test_output_folder_is_owner_only(tmp_path: Path) -> None:
    out = output_dir(tmp_path / "a" / "b")
    assert out.stat().st_mode & 0o777 == 0o700


def test_recommendations_render_markdown_but_not_raw_html(tmp_path: Path) -> None:
    loaded = load_spec(write(tmp_path, BASE + "report:\n  recommendations: rec.md\n",
                             {"rec.md": "## Keep going\n\n*more* <script>alert(1)</script>\n"}))
    html = str(recommendations(loaded))
    assert "<h2>Keep going</h2>" in html and "<em>more</em>" in html
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_zoom_minutes_plug_in_from_the_attendance_records() -> None:
    from oca_sync.report.collect import add_zoom_minutes

    class Store:  # what `oca-sync attendance sync` keeps (StateStore.attendance_records)
        def attendance_records(self, scope: str) -> list[dict[str, object]]:
            assert scope == "attendance:https://m.example.org:p"
            return [{"session": "C1:s1", "userid": 7, "username": "ann", "minutes": 83.6},
                    {"session": "C1:s1", "userid": 8, "username": "bob", "minutes": 0.0}]

    data = dataset(attendance=[AttendanceRow("C1", "s1", "ann", "P", "Present", 2.0, userid=7),
                               AttendanceRow("C1", "s2", "ann", "P", "Present", 2.0, userid=7)])
    assert add_zoom_minutes(data, Store(), "attendance:https://m.example.org:p") == 1
    assert [r.minutes for r in data.attendance] == [84, None]
    assert data.sources[-1].name == "Zoom participant reports"
    assert add_zoom_minutes(data, object(), "x") == 0  # a store without the attendance feature


def test_archive_ledger_splits_into_materials_and_recordings(loaded: LoadedSpec) -> None:
    """Materials are found by the source key the archive gives them (and its older form)."""
    from oca_sync.drive.archive import Archiver
    from oca_sync.report.dataset import ArchivedFile

    archiver = Archiver(loaded, None, None)  # type: ignore[arg-type]  # only its key functions are used
    [s1, *_] = loaded.sessions["C1"]
    [notes] = s1.content
    data = dataset(archive=[
        ArchivedFile(archiver.material_source("C1", s1, notes), "p:p:C1:s1", "notes.md", "https://d/1", 8, "a", "t"),
        ArchivedFile("zoomfile1", "oca:p:C1:s1", "2022-01-17 One - video.mp4", "https://d/2", 9, "b", "t"),
        ArchivedFile("material:p:m-01:notes", "m-01", "old.md", "https://d/3", 1, "c", "t"),  # unknown item
    ])
    files, recordings = a.split_archive(loaded, data)
    assert {k: [f.link for f in v] for k, v in files.items()} == {("C1", "s1", "notes"): ["https://d/1"]}
    assert [(f.link, where) for f, where in recordings] == [("https://d/2", ("C1", "s1"))]
    att = a.sessions_and_attendance(loaded, data, a.people(loaded, "en", False), "en")
    row = next(r for r in att.sessions if r.key == "s1")
    assert [f.name for f in row.materials] == ["notes.md"] and [f.link for f in row.recordings] == ["https://d/2"]
