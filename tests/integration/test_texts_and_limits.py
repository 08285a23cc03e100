"""Texts that stopped an apply halfway (issue 13.3) and limits of an older Moodle (issue 8.7),
against the Moodle emulator with the companion plugin."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from oca_sync import sync
from oca_sync.errors import MoodleError, SpecError
from oca_sync.spec import load_spec

SPEC = """\
programme: {key: txt, name: Texts, languages: [en, ru]}
moodle:
  category: {name: {en: "Why 5 < 10", ru: "Почему 5 < 10"}}
courses:
  - shortname: TXT-1
    fullname: FULLNAME
    start: 2022-01-10
    end: 2022-03-01
    sessions:
      - key: s1
        kind: training
        title: {en: "Why 5 < 10", ru: "Почему <5> меньше 10"}
        start: 2022-01-17 15:00
        duration: 60
        content:
          - {type: url, key: link, title: {en: "<b>Read</b>", ru: "Читать"}, url: "https://example.org/?a=1&b=2"}
    surveys:
      - key: pre
        kind: pre
        title: {en: "Before <start>", ru: "До"}
        questions:
          - {key: q1, type: multichoice, text: {en: "x < y?", ru: "x < y?"}, options: ["a > b", "c"]}
organisations:
  - key: org
    name: {en: "CSO <1>", ru: "НКО <1>"}
    members:
      - {key: ann, firstname: "Ann < Lee", lastname: "O'Brien", email: ann@example.org}
"""


def spec(tmp_path: Path, fullname: str = "Course") -> Path:
    path = tmp_path / "spec.yaml"
    path.write_text(SPEC.replace("FULLNAME", fullname), encoding="utf-8")
    return path


def test_names_with_less_than_apply_and_a_second_apply_writes_nothing(moodle_plugin, client_plugin, site, store,
                                                                       tmp_path):
    loaded = load_spec(spec(tmp_path))
    assert sync.apply(client_plugin, loaded, site, store).applied
    writes = moodle_plugin.calls.write_count()
    again = sync.apply(client_plugin, loaded, site, store)
    assert again.plan.empty, again.plan.changes
    assert moodle_plugin.calls.write_count() == writes
    state = moodle_plugin.state
    assert [c["name"] for c in state.categories.values() if c["idnumber"] == "oca:txt"] == [
        '<span lang="en" class="multilang">Why 5 &lt; 10</span><span lang="ru" class="multilang">Почему 5 &lt; 10</span>'
    ]


def test_an_older_site_refuses_the_spec_before_any_write_with_file_and_line(moodle_plugin, client_plugin, site,
                                                                             store, tmp_path):
    moodle_plugin.state.settings.version = "2024100700.00"  # Moodle 4.5: course fullname char(254)
    loaded = load_spec(spec(tmp_path, "F" * 300))  # fits 5.1's 1333
    with pytest.raises(SpecError) as info:
        sync.apply(client_plugin, loaded, site, store)
    [issue] = info.value.issues
    assert (issue.file, issue.line, issue.path) == (str(tmp_path / "spec.yaml"), 6, "courses[0].fullname")
    assert "at most 254" in issue.message
    assert moodle_plugin.calls.write_count() == 0


def test_an_older_site_shows_the_first_language_where_all_do_not_fit(moodle_plugin, client_plugin, site, store,
                                                                      tmp_path):
    moodle_plugin.state.settings.version = "2024100700.00"
    long = "{en: " + "E" * 150 + ", ru: " + "Р" * 150 + "}"
    loaded = load_spec(spec(tmp_path, long))
    assert sync.apply(client_plugin, loaded, site, store).applied
    [course] = [c for c in moodle_plugin.state.courses.values() if c["idnumber"] == "oca:txt:TXT-1"]
    assert course["fullname"] == "E" * 150
    assert sync.apply(client_plugin, loaded, site, store).plan.empty


def test_the_emulator_refuses_an_over_long_column_as_moodle_51_does(moodle_plugin, client_plugin):
    # Checked on the lab's Moodle 5.1 (PostgreSQL): a 255-character group name and a 101-character
    # first name answer {"exception": "dml_write_exception", "errorcode": "dmlwriteexception",
    # "message": "Error writing to database"} and write nothing.
    course = client_plugin.call("core_course_create_courses", {"courses": [
        {"fullname": "C", "shortname": "LEN-1", "categoryid": 1}]})[0]["id"]
    with pytest.raises(MoodleError) as info:
        client_plugin.call("core_group_create_groups", {"groups": [
            {"courseid": course, "name": "G" * 255, "description": ""}]})
    assert info.value.errorcode == "dmlwriteexception"
    with pytest.raises(MoodleError) as info:
        client_plugin.call("core_user_create_users", {"users": [
            {"username": "long", "firstname": "F" * 101, "lastname": "L", "email": "long@example.org",
             "createpassword": 1}]})
    assert info.value.errorcode == "dmlwriteexception"
    assert not [g for g in moodle_plugin.state.groups.values() if g["courseid"] == course]
    assert not [u for u in moodle_plugin.state.users.values() if u["username"] == "long"]
    client_plugin.call("core_group_create_groups", {"groups": [{"courseid": course, "name": "G" * 254,
                                                                "description": ""}]})


@pytest.mark.parametrize("file_name", ["bo'yicha.pdf", '".pdf', "a\\b.pdf", "a\nb.pdf"])
def test_files_moodle_renames_are_uploaded_once(moodle_plugin, client_plugin, site, store, tmp_path, file_name):
    (tmp_path / file_name).write_bytes(b"x\n")
    text = SPEC.replace('          - {type: url,', f'          - {{type: file, key: doc, title: Doc, path: {json.dumps(file_name)}}}\n'
                                                     '          - {type: url,')
    path = tmp_path / "spec.yaml"
    path.write_text(text.replace("FULLNAME", "Course"), encoding="utf-8")
    loaded = load_spec(path)
    assert sync.apply(client_plugin, loaded, site, store).applied
    writes = moodle_plugin.calls.write_count()
    assert sync.apply(client_plugin, loaded, site, store).plan.empty
    assert moodle_plugin.calls.write_count() == writes
