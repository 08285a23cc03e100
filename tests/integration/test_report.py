"""The report end to end on the sandbox: collect (calls per course, not per person), build, read it in Chromium."""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from oca_sync import sync
from oca_sync.cli import cli
from oca_sync.demo import Sandboxes, sandboxes, seed_outcomes
from oca_sync.report import dataset
from oca_sync.report.collect import collect
from oca_sync.report.dataset import Dataset
from oca_sync.report.render import build
from oca_sync.spec import LoadedSpec, load_spec
from oca_sync.state import StateStore

from .chromium import Chromium
from .conftest import OCA_SPEC


@dataclass
class World:
    sb: Sandboxes
    loaded: LoadedSpec
    store: StateStore
    state_url: str
    seeded: dict[str, int]
    data: Dataset
    calls: dict[str, int]


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    loaded = load_spec(OCA_SPEC)
    tmp = tmp_path_factory.mktemp("report")
    url = f"sqlite:///{tmp}/state.sqlite"
    with sandboxes(loaded) as sb:
        store = StateStore(url)
        sync.apply(sb.moodle_client(), loaded, sb.site(), store, prune=False,
                   hooks=sync.Hooks(confirm=lambda p: True), zoom=sb.zoom_client())
        seeded = seed_outcomes(sb, loaded)
        reader = sb.moodle_client()
        data = collect(loaded, reader, store)
        dataset.save(store, data)
        yield World(sb, loaded, store, url, seeded, data, dict(reader.stats.calls))


def test_collect_reads_per_course_and_activity(world: World) -> None:
    # one course with the pre and post surveys, a check-in activity for each of the six campaigning
    # organisations and one attendance activity: the count does not depend on people
    assert world.calls == {
        "core_course_get_courses_by_field": 1, "local_ocasync_get_course_state": 1,
        "core_enrol_get_enrolled_users": 1, "mod_feedback_get_items": 2 + 6,
        "mod_feedback_get_responses_analysis": 2 + 6, "mod_attendance_get_sessions": 1,
        # completion: whether the plugin offers the bulk read (site info) once, then one call per course
        "core_webservice_get_site_info": 1, "local_ocasync_get_completion": 1,
    }


def test_each_campaign_reports_in_its_own_group_check_in(world: World) -> None:
    """One check-in activity per organisation, restricted to its group, anonymous and open to several
    submissions; its responses are that organisation's."""
    st = world.sb.moodle.state
    groups = {g["id"]: g["idnumber"] for g in st.groups.values()}
    checkins = {cm["idnumber"]: cm for cm in st.modules.values()
                if str(cm["idnumber"]).startswith("oca:kg2022:OCA-KG-2022:campaign-checkin")}
    orgs = [o.key for o in world.loaded.spec.organisations if o.campaign]
    assert sorted(checkins) == sorted(f"oca:kg2022:OCA-KG-2022:campaign-checkin@{o}" for o in orgs)
    for idnumber, cm in checkins.items():
        tree = json.loads(cm["availability"])
        assert tree["op"] == "|" and tree["show"] is False
        assert [groups[c["id"]] for c in tree["c"]] == [f"oca:kg2022:OCA-KG-2022:{idnumber.split('@')[1]}"]
        assert st.instance(cm)["multiple_submit"] == 1 and st.instance(cm)["anonymous"] == 1
    got = [r for r in world.data.responses if r.survey == "campaign-checkin"]
    assert got and all(r.group in orgs and r.answers.get("date") for r in got)
    # The sandbox's answers were given by members of the activity's own organisation.
    members = {m.key: o.key for o in world.loaded.spec.organisations for m in world.loaded.members.get(o.key, ())}
    by_user = {u["id"]: u["idnumber"].rsplit(":", 1)[-1] for u in st.users.values() if u.get("idnumber")}
    for r in got:
        assert members[by_user[st.feedback_completed[r.response_id]["userid"]]] == r.group
    assert len({r.group for r in got}) >= 2  # several organisations reported, each in its own activity


def test_collected_data_matches_what_happened_in_moodle(world: World) -> None:
    d = world.data
    assert len(d.attendance) == world.seeded["attendance"]
    checkins = [r for r in d.responses if r.survey == "campaign-checkin"]
    assert len(checkins) == world.seeded["checkins"]
    assert len(d.responses) - len(checkins) == world.seeded["responses"]
    # the pre and post surveys are named; the check-ins anonymous (a named Feedback keeps one response per person)
    assert all(r.person for r in d.responses if r.survey != "campaign-checkin")
    assert all(r.person is None and r.group for r in checkins)
    pre = next(r for r in d.responses if r.survey == "survey-pre")
    assert set(pre.answers) <= {"role", "campaign-experience", "channels", "security-confidence", "followers",
                                "expectations"}
    assert pre.answers["campaign-experience"] in {"1", "2", "3", "4", "5"}
    assert {t.session for t in d.taken} == {s.key for s in world.loaded.sessions["OCA-KG-2022"]}
    assert d.metrics and all(m.source.startswith("campaign-metrics.csv:") for m in d.metrics)
    assert d.notes == []


def test_answers_round_trip_through_moodle(world: World) -> None:
    """What the sandbox stored for one person comes back under the spec's question keys."""
    mine = [r for r in world.data.responses if r.survey == "survey-post"]
    assert mine
    for r in mine:
        assert r.answers.get("overall") in {"1", "2", "3", "4", "5"}
        if r.answers.get("useful-topics"):
            assert all(p.isdigit() and 1 <= int(p) <= 6 for p in r.answers["useful-topics"].split("|"))


def test_build_offline_and_read_it_in_chromium(world: World, tmp_path: Path) -> None:
    out = tmp_path / "report"
    built = build(world.loaded, dataset.load(world.store, "kg2022"), out)
    assert sorted(built.files) == sorted(["report.html", "attendance.csv", "completion.csv", "surveys.csv",
                                          "surveys-codebook.csv", "campaigns.csv", "recordings.csv"])
    assert out.stat().st_mode & 0o777 == 0o700
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "<script" not in html and "http-equiv" not in html
    with Chromium(width=1200, height=900) as browser:
        page = browser.open((out / "report.html").as_uri(), """
            Array.from(document.querySelectorAll('svg.chart')).map(s => {
                const r = s.getBoundingClientRect();
                return [r.width, r.height, s.querySelectorAll('path, rect, use, image').length];
            })""")
        (tmp_path / "screenshot.png").write_bytes(page.screenshot)
    assert page.console_errors == []
    external = [u for u in page.requests if not u.startswith(("file:", "data:"))]
    assert external == []
    charts = page.evaluated
    # attendance, heatmap, 4 choice/rating questions of the pre survey + new ones of the post, 6 campaigns
    assert len(charts) >= 2 + 6 + 6
    assert all(w > 200 and h > 100 and drawn > 5 for w, h, drawn in charts), charts
    assert page.pdf.startswith(b"%PDF-") and len(page.pdf) > 50_000
    assert page.screenshot.startswith(b"\x89PNG")


def test_report_is_readable_on_a_phone(world: World, tmp_path: Path) -> None:
    build(world.loaded, world.data, tmp_path)
    with Chromium(width=390, height=800) as browser:
        page = browser.open((tmp_path / "report.html").as_uri(), """
            [document.documentElement.scrollWidth, window.innerWidth,
             Math.max(...Array.from(document.querySelectorAll('svg.chart')).map(s => s.getBoundingClientRect().right))]
        """, pdf=False)
    page_width, viewport, chart_right = page.evaluated
    assert page_width <= viewport  # wide tables scroll inside their box, the page does not
    assert chart_right <= viewport


def test_cli_collect_build_and_session(world: World, tmp_path: Path) -> None:
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    env = {**world.sb.env(), "OCA_CONFIG": str(tmp_path / "empty.toml")}
    runner = CliRunner()
    r = runner.invoke(cli, ["--state", world.state_url, "report", "collect", str(OCA_SPEC)], env=env)
    assert r.exit_code == 0, r.output
    assert f"{world.seeded['attendance']} attendance records" in r.output
    r = runner.invoke(cli, ["--state", world.state_url, "report", "build", str(OCA_SPEC), "-o", str(tmp_path / "ru"),
                            "--lang", "ru", "--anonymise"], env=env)
    assert r.exit_code == 0, r.output
    html = (tmp_path / "ru" / "report.html").read_text(encoding="utf-8")
    assert "Итоговый отчёт" in html and "Посещаемость" in html
    for m in world.loaded.members["ala-too-youth"]:
        assert m.lastname not in html and m.email not in html
    members = [m for ms in world.loaded.members.values() for m in ms]
    for name in os.listdir(tmp_path / "ru"):
        text = (tmp_path / "ru" / name).read_text(encoding="utf-8")
        leaked = [m.key for m in members if m.email in text or f"{m.firstname} {m.lastname}" in text]
        assert leaked == [], name
    r = runner.invoke(cli, ["--state", world.state_url, "report", "session", str(OCA_SPEC), "training-02",
                            "-o", str(tmp_path / "s")], env=env)
    assert r.exit_code == 0, r.output
    md = (tmp_path / "s" / "session-training-02.md").read_text(encoding="utf-8")
    assert "Digital campaign strategy" in md and "Timur Osmonov" in md and "/ 22" in md
    r = runner.invoke(cli, ["--state", world.state_url, "report", "session", str(OCA_SPEC), "nope"], env=env)
    assert r.exit_code == 2 and "no session 'nope'" in r.output


def test_build_without_collect_says_what_to_do(tmp_path: Path) -> None:
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    r = CliRunner().invoke(cli, ["--state", f"sqlite:///{tmp_path}/empty.sqlite", "report", "build", str(OCA_SPEC),
                                 "-o", str(tmp_path / "out")], env={"OCA_CONFIG": str(tmp_path / "empty.toml")})
    assert r.exit_code == 2
    assert "run oca-sync report collect SPEC first" in r.output


def test_a_bad_metrics_row_stops_collect_with_file_line_and_column(world: World, tmp_path: Path) -> None:
    import shutil

    spec_dir = tmp_path / "spec"
    shutil.copytree(OCA_SPEC.parent, spec_dir)
    metrics = spec_dir / "report" / "campaign-metrics.csv"
    lines = metrics.read_text(encoding="utf-8").splitlines()
    lines[2] = lines[2].rsplit(",", 1)[0] + ",lots"
    metrics.write_text("\n".join(lines) + "\n", encoding="utf-8")
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    env = {**world.sb.env(), "OCA_CONFIG": str(tmp_path / "empty.toml")}
    before = len(world.sb.moodle.calls)
    r = CliRunner().invoke(cli, ["--state", f"sqlite:///{tmp_path}/s.sqlite", "report", "collect",
                                 str(spec_dir / OCA_SPEC.name)], env=env)
    assert r.exit_code == 2, r.output
    assert "report/campaign-metrics.csv:3: value: 'lots' is not a number ≥ 0" in r.output
    assert "Traceback" not in r.output
    assert len(world.sb.moodle.calls) == before  # stopped before any call


def test_session_report_is_posted_to_the_announcements_forum_once(world: World, tmp_path: Path) -> None:
    (tmp_path / "empty.toml").write_text("", encoding="utf-8")
    env = {**world.sb.env(), "OCA_CONFIG": str(tmp_path / "empty.toml")}
    st = world.sb.moodle.state
    [course] = [c for c in st.courses.values() if c["shortname"] == "OCA-KG-2022"]
    [news] = [f for f in st.mod_instances["forum"].values() if f["course"] == course["id"] and f["type"] == "news"]

    def posts() -> list[dict[str, Any]]:
        return [d for d in st.forum_discussions.values() if d["forum"] == news["id"]]

    def session(*extra: str) -> Any:
        return CliRunner().invoke(cli, ["--state", world.state_url, "report", "session", str(OCA_SPEC),
                                        "training-02", "-o", str(tmp_path / "s"), "--post", *extra], env=env)

    before = len(posts())
    r = session("--dry-run")
    assert r.exit_code == 0, r.output
    assert "+ announcement in OCA-KG-2022 forum 'Announcements': 'Training 2: Digital campaign strategy" in r.output
    assert len(posts()) == before
    r = session()
    assert r.exit_code == 0, r.output
    assert "Posted to OCA-KG-2022 forum 'Announcements'" in r.output and "/mod/forum/discuss.php?d=" in r.output
    [mine] = posts()[before:]
    first = st.forum_posts[mine["firstpost"]]
    assert mine["name"].startswith("Training 2: Digital campaign strategy")
    assert "<strong>" in first["message"] and "/ 22" in first["message"] and "<h1" not in first["message"]
    # Posted once: found by its subject again, and by the recorded discussion when someone renamed it.
    r = session()
    assert r.exit_code == 0 and "Already posted" in r.output, r.output
    mine["name"] = "Training 2 (renamed by hand)"
    r = session()
    assert r.exit_code == 0 and "Already posted" in r.output, r.output
    assert len(posts()) == before + 1
    r = CliRunner().invoke(cli, ["--state", world.state_url, "report", "session", str(OCA_SPEC), "training-02",
                                 "-o", str(tmp_path / "s"), "--dry-run"], env=env)
    assert r.exit_code == 2 and "--dry-run goes with --post" in r.output
