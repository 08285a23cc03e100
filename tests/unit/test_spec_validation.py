"""Structure errors (pydantic) become SpecIssues with file, line, column and a clean message."""

from __future__ import annotations

from pathlib import Path

import pytest

from oca_sync.errors import SpecError, SpecIssue
from oca_sync.spec import load_spec, parse_spec_text

BASE = """\
programme:
  key: p
  name: P
  languages: [en, ru]
moodle:
  category:
    name: C
courses:
  - shortname: C1
    fullname: Course
    start: 2022-01-10
    end: 2022-05-06
    sessions:
      - key: s1
        kind: training
        title: One
        start: 2022-01-17 15:00
        duration: 90
        content:
          - type: url
            key: link
            title: Link
            url: https://example.org/
"""


def issues_of(tmp_path: Path, text: str) -> list[SpecIssue]:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert all(i.file == str(path) for i in info.value.issues)
    for issue in info.value.issues:  # no pydantic noise in messages
        assert "https://errors.pydantic.dev" not in issue.message
        assert "Input should" not in issue.message
    return info.value.issues


def where(issue: SpecIssue) -> tuple[int | None, int | None, str]:
    return issue.line, issue.column, issue.path


def test_base_is_valid() -> None:
    assert len(parse_spec_text(BASE).sessions["C1"]) == 1


def test_missing_field_points_at_parent_list_item(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("        duration: 90\n", ""))
    assert where(issue) == (14, 9, "courses[0].sessions[0].duration")
    assert issue.message == "missing required field 'duration'"


def test_missing_field_points_at_parent_key(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("    name: C\n", "    description: C\n"))
    assert where(issue) == (6, 3, "moodle.category.name")
    assert issue.message == "missing required field 'name'"


def test_missing_top_level_section(tmp_path: Path) -> None:
    text = BASE.replace("moodle:\n  category:\n    name: C\n", "")
    [issue] = issues_of(tmp_path, text)
    assert where(issue) == (1, 1, "moodle")
    assert issue.message == "missing required field 'moodle'"


def test_unknown_field_with_suggestion_and_missing_field(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, BASE.replace("        title: One\n", "        titel: One\n"))
    assert [(i.line, i.path, i.message) for i in issues] == [
        (14, "courses[0].sessions[0].title", "missing required field 'title'"),
        (16, "courses[0].sessions[0].titel", "unknown field 'titel' (did you mean 'title'?)"),
    ]


def test_unknown_content_type_lists_allowed_types(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("          - type: url\n", "          - type: video\n"))
    assert where(issue) == (20, 19, "courses[0].sessions[0].content[0]")
    assert issue.message == "unknown type 'video'; allowed: url, page, file, label"


def test_missing_content_type_lists_allowed_types(tmp_path: Path) -> None:
    text = BASE.replace("          - type: url\n            key: link\n", "          - key: link\n")
    [issue] = issues_of(tmp_path, text)
    assert where(issue) == (20, 13, "courses[0].sessions[0].content[0]")
    assert issue.message == "missing 'type'; allowed: url, page, file, label"


def test_error_inside_a_content_type(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, BASE.replace("url: https://example.org/", "url: ftp://example.org/"))
    assert [where(i) for i in issues] == [(23, 18, "courses[0].sessions[0].content[0].url")]
    assert (
        issues[0].message == "'ftp://example.org/' is not valid: expected an http:// or https:// address without spaces"
    )


def test_multitext_of_wrong_type_is_one_issue(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("        title: One\n", "        title: [One, Two]\n"))
    assert where(issue) == (16, 9, "courses[0].sessions[0].title")
    assert issue.message == ("expected a text or a mapping of language codes to texts (en: ..., ru: ...), got a list")


def test_any_moodle_language_code_is_a_language_but_the_programme_must_declare_it(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("        title: One\n", "        title: {en: One, fr: Un}\n"))
    assert where(issue) == (16, 30, "courses[0].sessions[0].title.fr")
    assert issue.message == "language 'fr' is not in programme.languages (en, ru)"


def test_a_language_code_moodle_would_not_have_is_refused(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("        title: One\n", "        title: {en: One, pt-BR: Um}\n"))
    assert where(issue) == (16, 26, "courses[0].sessions[0].title.pt-BR")
    assert issue.message == ("'pt-BR' is not valid: expected a Moodle language code: lowercase letters, digits "
                             "and '_' (en, kk, uz, pt_br)")


def test_bad_key_pattern(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("key: s1", "key: Session One"))
    assert where(issue) == (14, 14, "courses[0].sessions[0].key")
    assert issue.message.startswith("'Session One' is not valid: expected a key: 1 to 40 lowercase letters")


def test_bad_literal(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("kind: training", "kind: lecture"))
    assert where(issue) == (15, 15, "courses[0].sessions[0].kind")
    assert issue.message == "value not allowed 'lecture': expected 'training', 'mentoring' or 'event'"


def test_bad_duration(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("duration: 90", "duration: 90 minutes"))
    assert where(issue) == (18, 19, "courses[0].sessions[0].duration")
    assert issue.message == "duration '90 minutes' is not minutes (90) or a text like '1h30m'"


def test_duration_as_text_is_accepted() -> None:
    loaded = parse_spec_text(BASE.replace("duration: 90", "duration: 1h30m"))
    assert loaded.sessions["C1"][0].duration == 90


def test_session_start_needs_a_time(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("start: 2022-01-17 15:00", "start: 2022-01-17"))
    assert where(issue) == (17, 16, "courses[0].sessions[0].start")
    assert issue.message == "give a time as well as the date, e.g. 2022-01-17 15:00"


@pytest.mark.parametrize(
    "value", ["2022-01-17 15:00", "2022-01-17T15:00", "2022-01-17 15:00:00", "2022-01-17T15:00:00"]
)
def test_start_time_spellings(value: str) -> None:
    loaded = parse_spec_text(BASE.replace("start: 2022-01-17 15:00", f"start: {value}"))
    assert loaded.sessions["C1"][0].start.isoformat() == "2022-01-17T15:00:00+06:00"


def test_bad_datetime(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("start: 2022-01-17 15:00", "start: next monday"))
    assert where(issue) == (17, 16, "courses[0].sessions[0].start")
    assert issue.message.startswith("expected a date and time like 2022-01-17 15:00, got 'next monday'")


def test_date_with_time_where_date_expected(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("end: 2022-05-06", "end: 2022-05-06 12:00:00"))
    assert where(issue) == (12, 10, "courses[0].end")
    assert issue.message.startswith("expected a date like 2022-01-17 (without a time)")


def test_list_expected(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, BASE.replace("languages: [en, ru]", "languages: en"))
    assert where(issue) == (4, 14, "programme.languages")
    assert issue.message == "expected a list, got 'en'"


def test_document_not_a_mapping(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, "- a\n- b\n")
    assert where(issue) == (1, 1, "")
    assert issue.message.startswith("expected a mapping")


def test_empty_courses(tmp_path: Path) -> None:
    text = BASE[: BASE.index("  - shortname")].replace("courses:\n", "courses: []\n")
    [issue] = issues_of(tmp_path, text)
    assert where(issue) == (8, 1, "courses")
    assert issue.message == "needs at least 1 item"


def test_many_structure_errors_at_once_in_line_order(tmp_path: Path) -> None:
    text = (
        BASE.replace("key: p", "key: P")
        .replace("kind: training", "kind: lecture")
        .replace("url: https://example.org/", "url: nowhere")
        + "zoom:\n  enabled: maybe\n"
    )
    issues = issues_of(tmp_path, text)
    assert [(i.line, i.path) for i in issues] == [
        (2, "programme.key"),
        (15, "courses[0].sessions[0].kind"),
        (23, "courses[0].sessions[0].content[0].url"),
        (25, "zoom.enabled"),
    ]
    assert issues[3].message == "expected true or false, got 'maybe'"
