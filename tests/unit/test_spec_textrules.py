"""Texts that Moodle, Zoom or Drive would refuse, cut or misread are found by ``validate``
(file, line, field) or encoded so that Moodle takes them unchanged (issues 13.3, 13.4, 8.7)."""

from __future__ import annotations

from pathlib import Path

import pytest

from oca_sync.errors import SpecError, SpecIssue
from oca_sync.moodle import params
from oca_sync.moodle.desired import build
from oca_sync.spec import check_for_site, load_spec
from oca_sync.spec.limits import NEWEST, for_version
from oca_sync.spec.textrules import moodle_name

from .test_spec_checks import BASE, issues_of, write

ROOT = Path(__file__).resolve().parents[2]


def line_of(text: str, needle: str) -> int:
    lines = [i for i, line in enumerate(text.splitlines(), start=1) if needle in line]
    assert len(lines) == 1, (needle, lines)
    return lines[0]


def only(tmp_path: Path, text: str, files: dict[str, str] | None = None) -> SpecIssue:
    issues = issues_of(tmp_path, text, files)
    assert len(issues) == 1, issues
    return issues[0]


# --- 13.3: Moodle's parameter types ------------------------------------------------------------


def test_a_multilingual_title_with_less_than_is_encoded_so_that_moodle_takes_it(tmp_path: Path) -> None:
    text = BASE.replace("        title: One\n", '        title: {en: "Why 5 < 10", ru: "Почему 5 < 10"}\n')
    loaded = load_spec(write(tmp_path, text))
    section = build(loaded).sections["oca:p:C1"][0].name
    assert section == ('<span lang="en" class="multilang">Why 5 &lt; 10</span>'
                       '<span lang="ru" class="multilang">Почему 5 &lt; 10</span>')
    assert params.accepts_text(section)


def test_names_moodle_accepts_as_they_are_are_not_encoded() -> None:
    assert moodle_name("Why 5 < 10", ["en"]) == "Why 5 < 10"
    assert moodle_name("a > b & c", ["en"]) == "a > b & c"
    assert moodle_name("<b>Bold</b>", ["en"]) == "&lt;b>Bold&lt;/b>"
    assert params.accepts_text(moodle_name({"en": "x<y", "ru": "<script>"}, ["en", "ru"]))


def test_a_person_name_with_a_tag_is_refused_with_its_line(tmp_path: Path) -> None:
    text = BASE.replace("firstname: Ann,", 'firstname: "Ann<b>",')
    issue = only(tmp_path, text)
    assert (issue.line, issue.path) == (line_of(text, "Ann<b>"), "organisations[0].members[0].firstname")
    assert "PARAM_NOTAGS" in issue.message


def test_an_email_moodle_refuses_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("email: ann@example.org", "email: ann..lee@example.org")
    issue = only(tmp_path, text)
    assert issue.path == "organisations[0].members[0].email" and "not an e-mail address Moodle accepts" in issue.message


def test_a_roster_row_is_checked_with_its_csv_line(tmp_path: Path) -> None:
    text = BASE.replace("    members:\n", "    roster: people.csv\n    members:\n")
    roster = "key,firstname,lastname,email\nbob,Bob,=HYPERLINK(\"x\"),bob@example.org\n"
    issue = only(tmp_path, text, {"people.csv": roster})
    assert (Path(issue.file).name, issue.line, issue.path) == ("people.csv", 2, "lastname")
    assert "formula" in issue.message


# --- 13.4: dangerous and unbounded values ------------------------------------------------------


@pytest.mark.parametrize("name", ["=1+2", "+cmd", "-x", "@SUM(A1)"])
def test_person_names_starting_like_a_formula_are_refused(tmp_path: Path, name: str) -> None:
    text = BASE.replace("lastname: Lee,", f'lastname: "{name}",')
    issue = only(tmp_path, text)
    assert issue.path == "organisations[0].members[0].lastname" and "formula" in issue.message


@pytest.mark.parametrize("char", ["\u202e", "\u2066", "\u200b", "\u2060", "\ufeff", "\u00ad"])
def test_bidi_controls_and_invisible_characters_in_names_are_refused(tmp_path: Path, char: str) -> None:
    text = BASE.replace("    name: Org\n", f'    name: "Org{char}"\n')
    issue = only(tmp_path, text)
    assert (issue.line, issue.path) == (line_of(text, "name: \"Org"), "organisations[0].name")
    assert f"U+{ord(char):04X}" in issue.message


def test_bidi_override_is_refused_in_a_long_text_too(tmp_path: Path) -> None:
    text = BASE.replace("        title: One\n", '        title: One\n        summary: "Pay \\u202eusd 001\\u202c now"\n')
    issue = only(tmp_path, text)
    assert issue.path == "courses[0].sessions[0].summary" and "bidirectional" in issue.message


def test_a_zero_width_joiner_in_an_email_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("email: t@example.org", 'email: "t\\u200d@example.org"')
    issue = only(tmp_path, text)
    assert issue.path == "staff[0].email" and "U+200D" in issue.message


def test_a_10_kb_name_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("firstname: Ann,", f"firstname: {'A' * 10_000},")
    issue = only(tmp_path, text)
    assert issue.path == "organisations[0].members[0].firstname"
    assert issue.message == "10000 characters; Moodle holds at most 100 for a person's firstname"


@pytest.mark.parametrize("url, words", [
    ("http://user:secret@example.org/x", "user name or password"),
    ('https://example.org/"><script>alert(1)</script>', "percent-encode"),
    ("https://example.org/?a=1&amp;b=2", "HTML entity"),
    ("https://exa_mple..org/", "host name"),
])
def test_dangerous_urls_are_refused(tmp_path: Path, url: str, words: str) -> None:
    item = f"          - {{type: url, key: link, title: Link, url: '{url}'}}\n"
    text = BASE.replace("          - {type: file, key: notes, title: Notes, path: notes.md}\n",
                        "          - {type: file, key: notes, title: Notes, path: notes.md}\n" + item)
    issue = only(tmp_path, text)
    assert (issue.line, issue.path) == (line_of(text, "key: link"), "courses[0].sessions[0].content[1].url")
    assert words in issue.message


def test_a_choice_option_with_moodles_separator_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("options: [A, B]", 'options: [A, "B####C"]')
    issue = only(tmp_path, text)
    assert issue.path == "courses[0].surveys[0].questions[0].options[1]" and "'####'" in issue.message


# --- 8.7: every limit before any remote call ----------------------------------------------------


def test_a_long_idnumber_is_refused_before_any_apply(tmp_path: Path) -> None:
    long_key = "k" * 40
    text = (BASE.replace("  key: p\n", f"  key: {'p' * 40}\n")
            .replace("shortname: C1", f"shortname: C{'1' * 40}")
            .replace("key: notes,", f"key: {long_key},"))
    issues = issues_of(tmp_path, text)
    paths = {i.path for i in issues}
    assert "courses[0].sessions[0].content[0].key" in paths
    assert all("Moodle holds 100" in i.message for i in issues)


def test_zoom_topic_limit_and_a_long_summary_is_fine(tmp_path: Path) -> None:
    # the summary is cut in Zoom's agenda behind the key marker (identity); Moodle keeps it whole
    text = BASE.replace("        title: One\n", f"        title: {'T' * 201}\n        summary: {'S' * 2500}\n")
    issue = only(tmp_path, text)
    assert (issue.path, issue.message.split(":")[0]) == ("courses[0].sessions[0].title", "201 characters")
    assert "Zoom meeting topic holds 200" in issue.message


def test_drive_root_folder_is_bounded(tmp_path: Path) -> None:
    text = BASE + "drive:\n  root_folder: " + "Ж" * 128 + "\n"
    issue = only(tmp_path, text)
    assert issue.path == "drive.root_folder" and issue.message.startswith("256 bytes in UTF-8")


def test_the_example_shows_every_language_on_moodle_51() -> None:
    loaded = load_spec(ROOT / "course_spec" / "oca-kyrgyzstan-2022.yaml")
    site = build(loaded, ("en", "ru", "ky"))
    assert not [n for n in site.notes if "longer than Moodle allows" in n]
    assert all('lang="ky"' in s.name for s in site.sections["oca:kg2022:OCA-KG-2022"])
    # Moodle 4.5 holds 255 characters for a section name: the long ones fall back to English there
    old = build(loaded, ("en", "ru", "ky"), limits=for_version("2024100700.00"))
    assert [n for n in old.notes if "longer than Moodle allows" in n]


def test_versions_map_to_their_limits() -> None:
    assert for_version("2025100600.02") is NEWEST and NEWEST["section.name"] == 1333
    assert for_version("2025041400.00")["course.fullname"] == 1333
    assert for_version("2025041400.00")["section.name"] == 255
    assert for_version("2024100700.00")["course.fullname"] == 254
    assert for_version("2030010100.00") is NEWEST
    assert for_version(None)["course.fullname"] == 254  # unknown: the strictest table


def test_plan_refuses_a_name_an_older_site_cannot_hold_with_its_line(tmp_path: Path) -> None:
    text = BASE.replace("    fullname: Course\n", f"    fullname: {'F' * 300}\n")
    loaded = load_spec(write(tmp_path, text))  # fits 5.1 (1333)
    check_for_site(loaded, for_version("2025100600.02"))
    with pytest.raises(SpecError) as info:
        check_for_site(loaded, for_version("2024100700.00"))
    [issue] = info.value.issues
    assert (issue.line, issue.path) == (line_of(text, "fullname: FFF"), "courses[0].fullname")
    assert "Moodle 4.1-4.5: 300 characters, at most 254" in issue.message


def test_a_file_name_moodle_would_empty_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("path: notes.md}", "path: \"'|'\"}")
    issue = only(tmp_path, text, {"'|'": "x"})
    assert issue.path == "courses[0].sessions[0].content[0].path" and "rename the file" in issue.message


def test_a_country_moodle_does_not_know_is_refused(tmp_path: Path) -> None:
    # user_create_user() would blank it silently, and every plan would show it again
    text = BASE.replace("email: ann@example.org}", "email: ann@example.org, country: XK}")
    issue = only(tmp_path, text)
    assert issue.path == "organisations[0].members[0].country" and "'XK'" in issue.message


def test_an_auth_that_is_no_plugin_name_is_refused(tmp_path: Path) -> None:
    text = BASE.replace("    name: C\n", "    name: C\n  auth: Manual Login\n")
    issue = only(tmp_path, text)
    assert issue.path == "moodle.auth" and "authentication plugin" in issue.message


def test_a_series_too_long_for_zoom_is_one_error(tmp_path: Path) -> None:
    text = BASE.replace('        title: "Mentoring {n}"\n', f'        title: "{"M" * 199} {{n}}"\n')
    issue = only(tmp_path, text)
    assert issue.path == "courses[0].sessions[1].title" and "Zoom meeting topic holds 200" in issue.message


def test_a_name_mixing_latin_and_cyrillic_in_one_word_is_a_warning(tmp_path: Path) -> None:
    text = BASE.replace("lastname: Lee,", "lastname: Аsanova,")  # Cyrillic А, then Latin
    text = text.replace("    name: Org\n", "    name: Бaйтерек\n")  # Cyrillic Б, Latin a
    loaded = load_spec(write(tmp_path, text))
    found = {(w.path, w.message.split(":")[0]) for w in loaded.warnings}
    assert ("organisations[0].name", "the word 'Бaйтерек' mixes Cyrillic and Latin letters") in found
    assert ("organisations[0].members[0].lastname", "the word 'Аsanova' mixes Cyrillic and Latin letters") in found


def test_the_example_has_no_look_alike_names() -> None:
    loaded = load_spec(ROOT / "course_spec" / "oca-kyrgyzstan-2022.yaml")
    assert not [w for w in loaded.warnings if "mixes" in w.message]
