"""YAML-level problems: syntax, duplicate keys, tags, aliases, YAML 1.1 surprises."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from oca_sync.errors import ExitCode, SpecError, SpecIssue
from oca_sync.spec import load_spec, parse_spec_text

VALID = """\
programme:
  key: p
  name: P
moodle:
  category:
    name: C
courses:
  - shortname: C1
    fullname: Course
    start: 2022-01-10
    end: 2022-05-06
"""


def issues_of(tmp_path: Path, text: str) -> list[SpecIssue]:
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.exit_code == ExitCode.USAGE
    for issue in info.value.issues:
        assert issue.file == str(path)
    return info.value.issues


def where(issue: SpecIssue) -> tuple[int | None, int | None, str]:
    return issue.line, issue.column, issue.path


def test_valid_minimal_spec_loads(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_text(VALID, encoding="utf-8")
    loaded = load_spec(path)
    assert loaded.path == path
    assert loaded.spec.courses[0].shortname == "C1"
    assert loaded.sessions == {"C1": ()}


def test_missing_file_is_one_issue_without_line(tmp_path: Path) -> None:
    path = tmp_path / "nope.yaml"
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert info.value.issues == [SpecIssue(str(path), None, None, "", "file not found")]


def test_empty_file(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, "# nothing here\n")
    assert issue.line is None and "empty" in issue.message


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "spec.yaml"
    path.write_bytes("programme: {name: caf\u00e9}\n".encode("latin-1"))
    with pytest.raises(SpecError) as info:
        load_spec(path)
    assert "UTF-8" in info.value.issues[0].message


def test_syntax_error_has_line_and_column(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, "programme:\n  key: p\n  name: [P, Q\nmoodle: {}\n")
    assert (issue.line, issue.column) == (4, 7)
    assert issue.message.startswith("invalid YAML: expected ',' or ']'")
    assert "line 3" in issue.message  # where the unclosed list started


def test_bad_indentation(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, "programme:\n  key: p\n name: P\n")
    assert issue.line == 3 and issue.message.startswith("invalid YAML")


def test_duplicate_key_reported_at_second_occurrence(tmp_path: Path) -> None:
    text = VALID.replace("    start: 2022-01-10\n", "    start: 2022-01-10\n    start: 2022-01-11\n")
    [issue] = issues_of(tmp_path, text)
    assert where(issue) == (11, 5, "courses[0].start")
    assert issue.message == "duplicate key 'start' (first at line 10)"


def test_duplicate_top_level_key(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, VALID + "programme:\n  key: q\n  name: Q\n")
    assert where(issue) == (12, 1, "programme")
    assert "duplicate key 'programme'" in issue.message


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("!!python/object/apply:os.system ['echo hi']", "!!python/object/apply:os.system"),
        ("!!python/name:os.system ''", "!!python/name:os.system"),
        ("!include other.yaml", "!include"),
        ("!!binary aGVsbG8=", "!!binary"),
        ("!!set {a, b}", "!!set"),
    ],
)
def test_tags_beyond_the_core_schema_are_rejected(tmp_path: Path, value: str, shown: str) -> None:
    text = VALID.replace("    fullname: Course\n", f"    fullname: {value}\n")
    [issue] = issues_of(tmp_path, text)
    assert where(issue) == (9, 15, "courses[0].fullname")
    assert issue.message.startswith(f"the YAML tag {shown} is not allowed")


def test_explicit_core_tags_are_fine(tmp_path: Path) -> None:
    loaded = parse_spec_text(VALID.replace("    fullname: Course\n", "    fullname: !!str 2022\n"))
    assert loaded.spec.courses[0].fullname == "2022"


def test_billion_laughs_is_refused_quickly(tmp_path: Path) -> None:
    bomb = 'lol: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]\n'
    for prev, name in zip("abcdefgh", "bcdefghi", strict=True):
        bomb += f"l{name}: &{name} [{', '.join(['*' + prev] * 9)}]\n"
    started = time.monotonic()
    [issue] = issues_of(tmp_path, VALID + bomb)
    assert time.monotonic() - started < 5
    assert "more than 100 aliases" in issue.message or "more than 100000 values" in issue.message
    assert issue.line is not None and issue.line > 11


def test_expansion_bound_without_many_aliases(tmp_path: Path) -> None:
    # 7 levels of 10 aliases = 70 aliases (< 100) but 10^7 values once expanded.
    bomb = "x0: &a0 [" + ", ".join(["0"] * 10) + "]\n"
    for i in range(1, 8):
        bomb += f"x{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 10)}]\n"
    [issue] = issues_of(tmp_path, VALID + bomb)
    assert "more than 100000 values" in issue.message


def test_too_many_aliases(tmp_path: Path) -> None:
    text = VALID + "x: &v 1\ny: [" + ", ".join(["*v"] * 101) + "]\n"
    [issue] = issues_of(tmp_path, text)
    assert issue.line == 13 and "more than 100 aliases" in issue.message


def test_recursive_alias(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, VALID + "x: &r [1, *r]\n")
    assert issue.line == 12 and "contains it" in issue.message


def test_norway_key_is_explained(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, VALID + "on: true\n")
    assert [where(i) for i in issues] == [(12, 1, "")]
    assert issues[0].message == ("the key 'on' is read by YAML as a boolean, not a name; write it in quotes ('on')")


def test_boolean_value_where_text_expected_gets_a_hint(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, VALID.replace("fullname: Course", "fullname: yes"))
    assert where(issue) == (9, 15, "courses[0].fullname")
    assert "got true" in issue.message
    assert "YAML reads the unquoted 'yes' as a boolean" in issue.message


def test_number_where_text_expected_gets_a_hint(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, VALID.replace("shortname: C1", "shortname: 2022"))
    assert where(issue) == (8, 16, "courses[0].shortname")
    assert issue.message.startswith("expected a text, got 2022 (YAML reads the unquoted '2022' as a number")


def test_impossible_date(tmp_path: Path) -> None:
    [issue] = issues_of(tmp_path, VALID.replace("2022-05-06", "2022-02-30"))
    assert where(issue) == (11, 10, "courses[0].end")
    assert issue.message == "'2022-02-30' cannot be read as a date: day is out of range for month"


def test_merge_keys_and_positions_follow_aliases(tmp_path: Path) -> None:
    text = (
        VALID
        + """\
    sessions:
      - &base
        key: s1
        kind: training
        title: One
        start: 2022-01-17 15:00
        duration: 90
      - <<: *base
        key: s2
        start: 2022-01-19 15:00
      - <<: *base
        key: s3
        start: 2022-01-21
"""
    )
    [issue] = issues_of(tmp_path, text)
    assert where(issue) == (24, 16, "courses[0].sessions[2].start")
    assert "give a time as well" in issue.message


def test_merged_values_are_used(tmp_path: Path) -> None:
    text = VALID + (
        "    sessions:\n"
        "      - &base {key: s1, kind: training, title: One, start: 2022-01-17 15:00, duration: 90}\n"
        "      - {<<: *base, key: s2, start: 2022-01-19 15:00}\n"
    )
    loaded = parse_spec_text(text)
    assert [(s.key, s.duration, s.title) for s in loaded.sessions["C1"]] == [("s1", 90, "One"), ("s2", 90, "One")]


def test_parse_spec_text_uses_given_filename() -> None:
    with pytest.raises(SpecError) as info:
        parse_spec_text("programme: [", filename="inline.yaml")
    assert info.value.issues[0].file == "inline.yaml"
    assert str(info.value).startswith("1 error in the course specification:\n  inline.yaml:1:")
