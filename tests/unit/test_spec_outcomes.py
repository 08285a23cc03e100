"""Spec additions for outcomes: completion rules, campaigns, the report section."""

from __future__ import annotations

from pathlib import Path

from oca_sync.spec import load_spec

from .test_spec_checks import BASE, add_after, issues_of, one, write

COMPLETION = """\
    attendance: {sessions: [training, mentoring]}
    completion:
      attend:
        - {kind: mentoring, at_least: 2}
      surveys: [pre]
"""

CAMPAIGN = """\
    campaign:
      title: Clean shores
      aim: [horizontal, vertical]
      platforms:
        - {platform: facebook, url: "https://www.facebook.com/example"}
      start: 2022-03-01
      end: 2022-04-30
      targets: {posts: 30, reach: 40000}
"""

REPORT = """\
report:
  recommendations: rec/recommendations.md
  campaign_metrics: [metrics.csv]
"""


def full_spec() -> str:
    text = add_after(BASE, "          - {key: q2, type: text, text: Why}\n", COMPLETION)
    text = add_after(text, "    name: Org\n", CAMPAIGN)
    return text + REPORT


FILES = {"rec/recommendations.md": "# Do more\n", "metrics.csv": "date,organisation,platform,metric,value\n"}


def test_outcome_fields_load(tmp_path: Path) -> None:
    loaded = load_spec(write(tmp_path, full_spec(), FILES))
    course = loaded.spec.courses[0]
    assert course.completion is not None and course.completion.attend[0].at_least == 2
    assert course.completion.surveys == ["pre"]
    campaign = loaded.spec.organisations[0].campaign
    assert campaign is not None and campaign.aim == ["horizontal", "vertical"]
    assert campaign.targets.posts == 30 and campaign.targets.engagements is None
    assert loaded.spec.report.campaign_metrics == ["metrics.csv"]


def test_completion_names_an_unknown_survey(tmp_path: Path) -> None:
    issue = one(tmp_path, full_spec().replace("surveys: [pre]", "surveys: [post]"), FILES)
    assert issue.path == "courses[0].completion.surveys[0]"
    assert "unknown survey 'post'" in issue.message and "pre" in issue.message


def test_completion_asks_for_more_sessions_than_the_course_has(tmp_path: Path) -> None:
    issue = one(tmp_path, full_spec().replace("at_least: 2", "at_least: 4"), FILES)
    assert issue.path == "courses[0].completion.attend[0].at_least"
    assert issue.message == "at least 4 mentoring sessions, but the course has 3"


def test_attendance_rules_need_the_sessions_recorded(tmp_path: Path) -> None:
    issue = one(tmp_path, full_spec().replace("attendance: {sessions: [training, mentoring]}",
                                              "attendance: {sessions: [training]}"), FILES)
    assert issue.path == "courses[0].completion.attend[0].kind"
    assert issue.message == "mentoring sessions are not recorded: add mentoring to the course's attendance.sessions"
    issue = one(tmp_path, full_spec().replace("    attendance: {sessions: [training, mentoring]}\n", ""), FILES)
    assert issue.message == "attendance rules need the course's attendance activity"


def test_campaign_ending_before_it_starts(tmp_path: Path) -> None:
    issue = one(tmp_path, full_spec().replace("end: 2022-04-30", "end: 2022-02-01"), FILES)
    assert issue.path == "organisations[0].campaign.end"


def test_campaign_aim_must_be_known(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, full_spec().replace("aim: [horizontal, vertical]", "aim: [diagonal]"), FILES)
    assert [i.path for i in issues] == ["organisations[0].campaign.aim[0]"]


def test_report_files_must_exist(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, full_spec(), {"metrics.csv": "x\n"})
    assert [(i.path, i.line) for i in issues] == [("report.recommendations", 61)]
    assert "rec/recommendations.md" in issues[0].message


CHECKIN = """\
      - key: weekly
        kind: checkin
        title: Weekly
        questions:
          - {key: date, type: text, text: Week ending}
          - {key: posts, type: numeric, min: 0, max: 100, text: Posts}
"""


def checkin_spec(survey: str = CHECKIN) -> str:
    return add_after(full_spec(), "          - {key: q2, type: text, text: Why}\n", survey)


def test_a_checkin_is_anonymous_by_default(tmp_path: Path) -> None:
    loaded = load_spec(write(tmp_path, checkin_spec(), FILES))
    pre, weekly = loaded.spec.courses[0].surveys
    assert weekly.anonymous is True and pre.anonymous is False


def test_a_named_checkin_is_refused(tmp_path: Path) -> None:
    text = checkin_spec(CHECKIN.replace("        title: Weekly\n", "        title: Weekly\n        anonymous: false\n"))
    issue = one(tmp_path, text, FILES)
    assert issue.path == "courses[0].surveys[1].anonymous"
    assert "must be anonymous" in issue.message and "replaces their last one" in issue.message


def test_a_checkin_needs_its_date_question(tmp_path: Path) -> None:
    issue = one(tmp_path, checkin_spec(CHECKIN.replace("{key: date, type: text", "{key: day, type: text")), FILES)
    assert issue.path == "courses[0].surveys[1].questions"
    assert "key 'date'" in issue.message


def test_a_checkin_is_not_a_completion_rule(tmp_path: Path) -> None:
    issue = one(tmp_path, checkin_spec().replace("surveys: [pre]", "surveys: [pre, weekly]"), FILES)
    assert issue.path == "courses[0].completion.surveys[1]" and "anonymous" in issue.message
