"""Checks across the whole spec: each problem is reported with file, line, column and field path."""

from __future__ import annotations

from pathlib import Path

import pytest

from oca_sync.errors import SpecError, SpecIssue
from oca_sync.spec import LoadedSpec, load_spec

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
        host: trainer
        content:
          - {type: file, key: notes, title: Notes, path: notes.md}
      - key: m
        kind: mentoring
        title: "Mentoring {n}"
        recurrence:
          rrule: FREQ=WEEKLY;BYDAY=TU;COUNT=3
          start: 2022-02-22 15:00
        duration: 60
        host: mentor
    surveys:
      - key: pre
        kind: pre
        title: Before
        opens: 2022-01-10 09:00
        closes: 2022-01-16 23:59
        questions:
          - {key: q1, type: multichoice, text: Pick, options: [A, B]}
          - {key: q2, type: text, text: Why}
organisations:
  - key: org
    name: Org
    members:
      - {key: ann, firstname: Ann, lastname: Lee, email: ann@example.org}
staff:
  - {key: trainer, firstname: T, lastname: R, email: t@example.org, role: trainer}
  - {key: mentor, firstname: M, lastname: N, email: m@example.org, role: mentor}
"""


def write(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> Path:
    (tmp_path / "notes.md").write_text("# Notes\n", encoding="utf-8")
    for name, content in (files or {}).items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(content, encoding="utf-8")
    path = tmp_path / "spec.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def issues_of(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> list[SpecIssue]:
    path = write(tmp_path, text, files)
    with pytest.raises(SpecError) as info:
        load_spec(path)
    return info.value.issues


def one(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> SpecIssue:
    issues = issues_of(tmp_path, text, files)
    assert len(issues) == 1, issues
    assert issues[0].file == str(tmp_path / "spec.yaml")
    return issues[0]


def where(issue: SpecIssue) -> tuple[int | None, int | None, str]:
    return issue.line, issue.column, issue.path


def add_after(text: str, anchor: str, lines: str) -> str:
    assert text.count(anchor) == 1, anchor
    return text.replace(anchor, anchor + lines)


def test_base_is_valid(tmp_path: Path) -> None:
    loaded = load_spec(write(tmp_path, BASE))
    assert isinstance(loaded, LoadedSpec)
    assert [s.key for s in loaded.sessions["C1"]] == ["s1", "m-01", "m-02", "m-03"]
    assert [m.key for m in loaded.members["org"]] == ["ann"]


def test_session_without_start_or_recurrence(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("        start: 2022-01-17 15:00\n", ""))
    assert where(issue) == (14, 9, "courses[0].sessions[0]")
    assert issue.message == "give start (one session) or recurrence (a series)"


def test_session_with_start_and_recurrence(tmp_path: Path) -> None:
    issue = one(tmp_path, add_after(BASE, '        title: "Mentoring {n}"\n', "        start: 2022-02-22 15:00\n"))
    assert where(issue) == (26, 9, "courses[0].sessions[1].recurrence")
    assert issue.message == "give either start or recurrence, not both"


def test_duplicate_session_key_after_expansion(tmp_path: Path) -> None:
    extra = "      - {key: m-02, kind: event, title: Extra, start: 2022-03-02 10:00, duration: 30}\n"
    issue = one(tmp_path, add_after(BASE, "        host: mentor\n", extra))
    assert where(issue) == (30, 15, "courses[0].sessions[2].key")
    assert issue.message == "duplicate session key 'm-02' (first used at courses[0].sessions[1].key)"


def test_duplicate_content_key(tmp_path: Path) -> None:
    extra = "          - {type: label, key: notes, text: Read this}\n"
    issue = one(tmp_path, add_after(BASE, "path: notes.md}\n", extra))
    assert where(issue) == (22, 32, "courses[0].sessions[0].content[1].key")
    assert issue.message == "duplicate activity key 'notes' (first used at courses[0].sessions[0].content[0].key)"


def test_survey_key_shares_the_activity_namespace(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("      - key: pre\n", "      - key: notes\n"))
    assert where(issue) == (31, 14, "courses[0].surveys[0].key")
    assert "duplicate activity key 'notes'" in issue.message


def test_duplicate_survey_key(tmp_path: Path) -> None:
    extra = "      - {key: pre, kind: post, title: After, questions: [{key: q, type: text, text: T}]}\n"
    issue = one(tmp_path, add_after(BASE, "          - {key: q2, type: text, text: Why}\n", extra))
    assert where(issue) == (39, 15, "courses[0].surveys[1].key")
    assert issue.message == "duplicate activity key 'pre' (first used at courses[0].surveys[0].key)"


def test_duplicate_question_key(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("{key: q2, type: text", "{key: q1, type: text"))
    assert where(issue) == (38, 19, "courses[0].surveys[0].questions[1].key")
    assert issue.message.startswith("duplicate question key 'q1'")


def test_duplicate_organisation_key(tmp_path: Path) -> None:
    issue = one(
        tmp_path,
        add_after(
            BASE,
            "      - {key: ann, firstname: Ann, lastname: Lee, email: ann@example.org}\n",
            "  - {key: org, name: Other}\n",
        ),
    )
    assert where(issue) == (44, 11, "organisations[1].key")
    assert issue.message == "duplicate organisation or group key 'org' (first used at organisations[0].key)"


def test_duplicate_person_key_across_members_and_staff(tmp_path: Path) -> None:
    issue = one(
        tmp_path,
        BASE.replace("{key: mentor, firstname: M", "{key: ann, firstname: M").replace("host: mentor", "host: ann"),
    )
    assert where(issue) == (46, 11, "staff[1].key")
    assert issue.message == "duplicate person key 'ann' (first used at organisations[0].members[0].key)"


def test_duplicate_username(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("email: ann@example.org}", "email: ann@example.org, username: trainer}"))
    assert where(issue) == (45, 11, "staff[0].key")
    assert issue.message == "duplicate username 'trainer' (first used at organisations[0].members[0].username)"


def test_duplicate_email_ignores_case(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("email: m@example.org", "email: Ann@Example.org"))
    assert where(issue) == (46, 53, "staff[1].email")
    assert (
        issue.message == "duplicate e-mail address 'ann@example.org' (first used at organisations[0].members[0].email)"
    )


def test_course_end_before_start(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, BASE.replace("end: 2022-05-06", "end: 2022-01-09"))
    assert where(issues[0]) == (12, 10, "courses[0].end")
    assert issues[0].message == "the course ends (2022-01-09) before it starts (2022-01-10)"


def test_survey_closes_before_opens(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("closes: 2022-01-16 23:59", "closes: 2022-01-09 23:59"))
    assert where(issue) == (35, 17, "courses[0].surveys[0].closes")
    assert issue.message == "the survey closes before it opens"


def test_unknown_time_zone(tmp_path: Path) -> None:
    issue = one(tmp_path, add_after(BASE, "  languages: [en, ru]\n", "  timezone: Asia/Bishkekk\n"))
    assert where(issue) == (5, 13, "programme.timezone")
    assert issue.message == "unknown time zone 'Asia/Bishkekk' (did you mean 'Asia/Bishkek'?)"


def test_session_before_course_start(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("start: 2022-01-17 15:00", "start: 2022-01-09 23:30"))
    assert where(issue) == (17, 16, "courses[0].sessions[0].start")
    assert issue.message == "session s1 (2022-01-09 23:30–2022-01-10 01:00) is outside the course dates 2022-01-10 to 2022-05-06"


def test_session_ending_after_course_end(tmp_path: Path) -> None:
    # Starts on the last day but ends after 23:59:59.
    issue = one(tmp_path, BASE.replace("start: 2022-01-17 15:00", "start: 2022-05-06 23:00"))
    assert where(issue) == (17, 16, "courses[0].sessions[0].start")


def test_series_running_past_course_end(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("COUNT=3", "COUNT=14"))
    assert where(issue) == (25, 9, "courses[0].sessions[1].recurrence")
    assert issue.message == (
        "session m-12 (2022-05-10 15:00–16:00) is outside the course dates 2022-01-10 to 2022-05-06"
        " (3 sessions of this series)"
    )


def test_host_not_staff(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("host: trainer", "host: ann"))
    assert where(issue) == (19, 15, "courses[0].sessions[0].host")
    assert issue.message == "host 'ann' is not a staff key (staff keys: trainer, mentor)"


def test_unknown_course_in_organisation_and_staff(tmp_path: Path) -> None:
    text = BASE.replace("    name: Org\n", "    name: Org\n    courses: [C1, C2]\n").replace(
        "role: mentor}", "role: mentor, courses: [X]}"
    )
    issues = issues_of(tmp_path, text)
    assert [where(i) for i in issues] == [
        (29, 15, "courses[0].sessions[1].host"),
        (42, 19, "organisations[0].courses[1]"),
        (47, 92, "staff[1].courses[0]"),
    ]
    messages = {i.path: i.message for i in issues}
    assert messages["organisations[0].courses[1]"] == "unknown course 'C2' (known: C1)"
    assert messages["courses[0].sessions[1].host"] == "host 'mentor' is not assigned to C1"


def test_language_not_in_programme(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("title: One", "title: {en: One, ky: Бир}"))
    assert where(issue) == (16, 30, "courses[0].sessions[0].title.ky")
    assert issue.message == "language 'ky' is not in programme.languages (en, ru)"


def test_duplicate_course_shortname(tmp_path: Path) -> None:
    extra = "  - {shortname: C1, fullname: Again, start: 2022-01-10, end: 2022-05-06}\n"
    issue = one(tmp_path, add_after(BASE, "          - {key: q2, type: text, text: Why}\n", extra))
    assert where(issue) == (39, 17, "courses[1].shortname")
    assert issue.message == "duplicate course shortname 'C1' (first used at courses[0].shortname)"


def test_rrule_that_cannot_be_parsed(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("FREQ=WEEKLY;BYDAY=TU;COUNT=3", "FREQ=SOMETIMES;COUNT=3"))
    assert where(issue) == (26, 18, "courses[0].sessions[1].recurrence.rrule")
    assert issue.message.startswith("cannot parse the rule 'FREQ=SOMETIMES;COUNT=3'")


def test_missing_content_file(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("path: notes.md", "path: slides/missing.pdf"))
    assert where(issue) == (21, 58, "courses[0].sessions[0].content[0].path")
    assert issue.message == f"file 'slides/missing.pdf' not found (relative to {tmp_path})"


def test_multichoice_needs_options(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace(", options: [A, B]}", "}"))
    assert where(issue) == (37, 13, "courses[0].surveys[0].questions[0].options")
    assert issue.message == "a multichoice question needs at least two options"


def test_text_question_takes_no_options(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("text: Why}", "text: Why, options: [A]}"))
    assert where(issue) == (38, 46, "courses[0].surveys[0].questions[1].options")
    assert issue.message == "a text question takes no options"


ROSTER_SPEC = BASE.replace(
    "    name: Org\n    members:\n      - {key: ann, firstname: Ann, lastname: Lee, email: ann@example.org}\n",
    "    name: Org\n    roster: people/org.csv\n",
)


def test_roster_members_are_loaded(tmp_path: Path) -> None:
    csv_text = "key,firstname,lastname,email,lang\nbob,Bob,Ray,bob@example.org,ru\n\ncat,Cat,Day,cat@example.org,\n"
    loaded = load_spec(write(tmp_path, ROSTER_SPEC, {"people/org.csv": csv_text}))
    assert [(m.key, m.lang) for m in loaded.members["org"]] == [("bob", "ru"), ("cat", None)]


def test_roster_file_missing(tmp_path: Path) -> None:
    issue = one(tmp_path, ROSTER_SPEC)
    assert where(issue) == (42, 13, "organisations[0].roster")
    assert issue.message == f"roster: file 'people/org.csv' not found (relative to {tmp_path})"


def test_roster_missing_columns(tmp_path: Path) -> None:
    path = write(tmp_path, ROSTER_SPEC, {"people/org.csv": "key,firstname,mail\nbob,Bob,bob@example.org\n"})
    with pytest.raises(SpecError) as info:
        load_spec(path)
    csv_name = str(tmp_path / "people" / "org.csv")
    assert [(i.file, i.line, i.path, i.message) for i in info.value.issues] == [
        (csv_name, 1, "", "missing column(s): 'lastname', 'email' (did you mean 'mail'?)"),
    ]


def test_roster_row_problems_have_csv_line_numbers(tmp_path: Path) -> None:
    csv_text = (
        "key,firstname,lastname,email\n"
        "bob,Bob,Ray,bob@example.org\n"
        'cat,Cat,"Day\nSecond line",not-an-email\n'  # a quoted value spanning two lines
        "bob,Robert,Ray,robert@example.org\n"
        "trainer,Tim,Ray,tim@example.org\n"
    )
    path = write(tmp_path, ROSTER_SPEC, {"people/org.csv": csv_text})
    with pytest.raises(SpecError) as info:
        load_spec(path)
    csv_name = str(tmp_path / "people" / "org.csv")
    spec_name = str(path)
    got = [(i.file, i.line, i.path, i.message) for i in info.value.issues]
    assert got == [
        (spec_name, 44, "staff[0].key", "duplicate person key 'trainer' (first used in org.csv line 6)"),
        (csv_name, 3, "email", "'not-an-email' is not valid: expected an e-mail address"),
        (csv_name, 5, "key", "duplicate person key 'bob' (first used in org.csv line 2)"),
    ]


def test_many_check_errors_reported_together(tmp_path: Path) -> None:
    text = (
        BASE.replace("host: trainer", "host: nobody")
        .replace("closes: 2022-01-16 23:59", "closes: 2022-01-01 00:00")
        .replace("COUNT=3", "COUNT=x")
        .replace("path: notes.md", "path: gone.md")
    )
    issues = issues_of(tmp_path, text)
    assert [(i.line, i.path) for i in issues] == [
        (19, "courses[0].sessions[0].host"),
        (21, "courses[0].sessions[0].content[0].path"),
        (26, "courses[0].sessions[1].recurrence.rrule"),
        (35, "courses[0].surveys[0].closes"),
    ]
    assert str(SpecError(issues)).startswith("4 errors in the course specification:\n")


def test_two_series_with_the_same_key_are_one_issue(tmp_path: Path) -> None:
    series = BASE[BASE.index("      - key: m\n") : BASE.index("    surveys:\n")]
    issue = one(tmp_path, add_after(BASE, "        host: mentor\n", series.replace("2022-02-22", "2022-03-22")))
    assert where(issue) == (30, 14, "courses[0].sessions[2].key")
    assert issue.message == "duplicate session key 'm-01' (first used at courses[0].sessions[1].key)"


def test_yaml_structure_and_check_issues_reported_together(tmp_path: Path) -> None:
    text = BASE.replace("        title: One\n", "        title: One\n        title: Uno\n").replace(
        "host: trainer", "host: nobody"
    )
    issues = issues_of(tmp_path, text)
    assert [(i.line, i.path, i.message) for i in issues] == [
        (17, "courses[0].sessions[0].title", "duplicate key 'title' (first at line 16)"),
        (20, "courses[0].sessions[0].host", "host 'nobody' is not a staff key (staff keys: trainer, mentor)"),
    ]


# --- rosters the way people have them ----------------------------------------------


def test_roster_with_semicolons_bom_and_crlf(tmp_path: Path) -> None:
    # What Excel in a Russian locale saves as "CSV": BOM, ';' and CRLF, with a quoted ';' inside a value.
    csv_text = '\ufeffkey;firstname;lastname;email;city\r\nbob;Бакыт;"Уулу; мл.";bob@example.org;Бишкек\r\n'
    path = write(tmp_path, ROSTER_SPEC)
    (tmp_path / "people").mkdir()
    (tmp_path / "people" / "org.csv").write_bytes(csv_text.encode("utf-8").replace(b"\xef\xbb\xbf\xef\xbb\xbf", b""))
    loaded = load_spec(path)
    [bob] = loaded.members["org"]
    assert (bob.firstname, bob.lastname, bob.city) == ("Бакыт", "Уулу; мл.", "Бишкек")


def test_roster_with_tabs(tmp_path: Path) -> None:
    loaded = load_spec(write(tmp_path, ROSTER_SPEC, {"people/org.csv": "key\tfirstname\tlastname\temail\nbob\tBob\tRay\tb@example.org\n"}))
    assert [m.email for m in loaded.members["org"]] == ["b@example.org"]


def test_roster_unknown_columns_are_one_notice_not_an_error(tmp_path: Path) -> None:
    csv_text = "key,firstname,lastname,email,Phone,Notes\nbob,Bob,Ray,b@example.org,+996 555,likes tea\n"
    loaded = load_spec(write(tmp_path, ROSTER_SPEC, {"people/org.csv": csv_text}))
    assert [m.key for m in loaded.members["org"]] == ["bob"]
    [notice] = loaded.notices
    assert notice.file.endswith("org.csv") and notice.line == 1
    assert "'Phone', 'Notes'" in notice.message and "ignored" in notice.message


def test_roster_xlsx(tmp_path: Path) -> None:
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["key", "firstname", "lastname", "email", "country"])
    sheet.append(["aibek", "Айбек", "Осмонов", "aibek@example.org", "KG"])
    sheet.append([None, None, None, None, None])
    sheet.append(["bad", "Bad", "Row", "not-an-email", "KG"])
    path = write(tmp_path, ROSTER_SPEC.replace("people/org.csv", "people/org.xlsx"))
    (tmp_path / "people").mkdir()
    book.save(tmp_path / "people" / "org.xlsx")
    with pytest.raises(SpecError) as info:
        load_spec(path)
    [issue] = info.value.issues
    assert issue.file.endswith("org.xlsx") and issue.line == 4 and issue.path == "email"
    sheet.delete_rows(4)
    book.save(tmp_path / "people" / "org.xlsx")
    [aibek] = load_spec(path).members["org"]
    assert (aibek.firstname, aibek.country) == ("Айбек", "KG")


def test_roster_that_is_a_workbook_named_csv(tmp_path: Path) -> None:
    import openpyxl

    path = write(tmp_path, ROSTER_SPEC)
    (tmp_path / "people").mkdir()
    openpyxl.Workbook().save(tmp_path / "people" / "org.csv")
    issue = one(tmp_path, ROSTER_SPEC)
    assert "name it .xlsx" in issue.message or "not UTF-8" in issue.message
    assert path.exists()


# --- hints that teach -------------------------------------------------------------


def test_did_you_mean_for_host_and_time_zone(tmp_path: Path) -> None:
    issues = issues_of(tmp_path, BASE.replace("host: trainer", "host: trainr").replace(
        "languages: [en, ru]", "languages: [en, ru]\n  timezone: Asia/Bishkekk"))
    messages = [i.message for i in issues]
    assert "unknown time zone 'Asia/Bishkekk' (did you mean 'Asia/Bishkek'?)" in messages
    assert "host 'trainr' is not a staff key (did you mean 'trainer'?)" in messages


def test_course_end_before_start_is_one_error(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("end: 2022-05-06", "end: 2021-05-06"))
    assert issue.path == "courses[0].end" and "before it starts" in issue.message


def test_unquoted_colon_in_a_title_suggests_quotes(tmp_path: Path) -> None:
    issue = one(tmp_path, BASE.replace("title: One", "title: Planning: a campaign"))
    assert issue.line == 16 and "must be in quotes" in issue.message


def test_version_2_says_a_newer_oca_sync_is_needed(tmp_path: Path) -> None:
    issue = one(tmp_path, "version: 2\n" + BASE)
    assert issue.path == "version" and "newer oca-sync" in issue.message and "quotes" not in issue.message


def test_password_email_off_needs_an_external_auth(tmp_path: Path) -> None:
    text = BASE.replace("  category:\n    name: C\n", "  category:\n    name: C\n  password_email: false\n")
    issue = one(tmp_path, text)
    assert issue.path == "moodle.password_email" and "external auth" in issue.message
    loaded = load_spec(write(tmp_path, text.replace("password_email: false", "password_email: false\n  auth: oauth2")))
    assert loaded.spec.moodle.password_email is False


# --- groups and sessions for some groups ---------------------------------------------------------------

GROUPS = BASE.replace(
    "      - {key: ann, firstname: Ann, lastname: Lee, email: ann@example.org}\n",
    "      - {key: ann, firstname: Ann, lastname: Lee, email: ann@example.org, groups: [track]}\n",
) + "groups:\n  - {key: track, name: Track}\n"


def test_a_person_in_a_further_group_and_a_session_for_one_group_are_valid(tmp_path: Path) -> None:
    text = add_after(GROUPS, '        title: "Mentoring {n}"\n', "        groups: [org]\n")
    loaded = load_spec(write(tmp_path, text))
    assert loaded.members["org"][0].groups == ["track"]
    assert [s.groups for s in loaded.sessions["C1"]] == [(), ("org",), ("org",), ("org",)]


def test_a_person_in_an_unknown_group(tmp_path: Path) -> None:
    issue = one(tmp_path, GROUPS.replace("groups: [track]", "groups: [trak]"))
    assert where(issue) == (43, 84, "organisations[0].members[0].groups[0]")
    assert issue.message == "unknown group 'trak' (known: org, track)"


def test_an_organisation_and_a_group_share_one_key_namespace(tmp_path: Path) -> None:
    issue = one(tmp_path, GROUPS + "  - {key: org, name: Same}\n")
    assert where(issue) == (49, 11, "groups[1].key")
    assert issue.message == "duplicate organisation or group key 'org' (first used at organisations[0].key)"


def test_a_person_in_a_group_of_a_course_they_are_not_in(tmp_path: Path) -> None:
    text = GROUPS.replace("  - {key: track, name: Track}\n", "  - {key: track, name: Track, courses: [C2]}\n")
    text = text.replace("courses:\n  - shortname: C1\n", "courses:\n  - shortname: C2\n    fullname: Two\n"
                        "    start: 2022-01-10\n    end: 2022-05-06\n  - shortname: C1\n")
    text = text.replace("    name: Org\n", "    name: Org\n    courses: [C1]\n")
    issue = one(tmp_path, text)
    assert issue.path == "organisations[0].members[0].groups[0]"
    assert issue.message == "'ann' is enrolled in no course of group 'track' (C2)"


def test_a_roster_row_in_an_unknown_group_names_the_csv_line(tmp_path: Path) -> None:
    text = GROUPS.replace("    members:\n", "    roster: org.csv\n    members:\n")
    issues = issues_of(tmp_path, text, {"org.csv": "key,firstname,lastname,email,groups\n"
                                                   "bo,Bo,Li,bo@example.org,track; nope\n"})
    assert [(Path(i.file).name, i.line, i.path, i.message) for i in issues] == [
        ("org.csv", 2, "groups", "unknown group 'nope' (known: org, track)")]


def test_a_session_for_an_unknown_group_or_a_group_of_another_course(tmp_path: Path) -> None:
    text = GROUPS.replace("  - {key: track, name: Track}\n", "  - {key: track, name: Track, courses: [C2]}\n")
    text = text.replace("courses:\n  - shortname: C1\n", "courses:\n  - shortname: C2\n    fullname: Two\n"
                        "    start: 2022-01-10\n    end: 2022-05-06\n  - shortname: C1\n")
    text = text.replace("groups: [track]", "groups: []")
    text = add_after(text, '        title: "Mentoring {n}"\n', "        groups: [org, track, nope]\n")
    issues = issues_of(tmp_path, text)
    assert [(i.path, i.message) for i in issues] == [
        ("courses[1].sessions[1].groups[1]", "group 'track' is not in course C1"),
        ("courses[1].sessions[1].groups[2]", "unknown organisation or group 'nope' (known: org, track)"),
    ]


def test_a_session_for_no_group_at_all_is_refused(tmp_path: Path) -> None:
    issue = one(tmp_path, add_after(BASE, '        title: "Mentoring {n}"\n', "        groups: []\n"))
    assert issue.path == "courses[0].sessions[1].groups"
    assert issue.message.startswith("an empty list would hide the session from everyone")


def test_did_you_mean_for_a_session_group(tmp_path: Path) -> None:
    text = BASE.replace("        host: trainer\n        content:", "        host: trainer\n        groups: [orgg]\n"
                        "        content:", 1)
    issue = one(tmp_path, text)
    assert issue.message == "unknown organisation or group 'orgg' (did you mean 'org'?)"
