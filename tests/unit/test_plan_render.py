"""Plan lines a person can read: lists as +/- items, settings by key, long texts as a line diff, never old == new."""

from __future__ import annotations

from oca_sync.plan import Action, Change, FieldChange, Plan, field_lines, render_lines


def test_list_changes_are_added_and_removed_items_never_cut() -> None:
    old = [f"user{i:03d}.with-a-rather-long-username" for i in range(5)]
    new = old[1:] + ["newcomer.with-a-rather-long-username"]
    lines = field_lines(FieldChange("members", old, new))
    assert lines == ["members:", "  + newcomer.with-a-rather-long-username", "  - user000.with-a-rather-long-username"]


def test_members_added_on_create_are_listed_one_per_line() -> None:
    lines = field_lines(FieldChange("add", None, ["aida.s", "bakyt.u"]))
    assert lines == ["add:", "  + aida.s", "  + bakyt.u"]


def test_settings_show_the_keys_that_differ() -> None:
    old = {"sessions": [{"start": 1, "duration": 5400}] * 12, "grade": 100}
    new = {"sessions": [{"start": 1, "duration": 5400}] * 11 + [{"start": 1, "duration": 3600}], "grade": 100}
    lines = field_lines(FieldChange("settings", old, new))
    assert lines == ["settings:", "  sessions[11].duration: 5400 → 3600"]


def test_long_multilingual_text_is_a_line_diff() -> None:
    span = '<span lang="{0}" class="multilang">{1}</span>'
    old = span.format("en", "Welcome to the programme") + span.format("ru", "Добро пожаловать в программу")
    new = span.format("en", "Welcome to the programme") + span.format("ru", "Добро пожаловать!")
    lines = field_lines(FieldChange("summary", old, new))
    assert lines == ["summary:", "  - [ru] Добро пожаловать в программу", "  + [ru] Добро пожаловать!"]


def test_values_that_differ_past_the_cut_still_show_the_difference() -> None:
    old, new = "x" * 70 + "a", "x" * 70 + "b"
    lines = field_lines(FieldChange("description", old, new))
    assert lines == ["description:", f"  - {old}", f"  + {new}"]


def test_no_plan_line_shows_the_same_text_on_both_sides() -> None:
    cases = [
        FieldChange("settings", {"a": 1, "b": [1, 2]}, {"a": 1, "b": [1, 3]}),
        FieldChange("intro", "<p>" + "x" * 80 + "</p>", "<p>" + "x" * 80 + "!</p>"),
        FieldChange("visible", 1, True),
    ]
    plan = Plan(changes=[Change("moodle", "module", "k", Action.UPDATE, (f,)) for f in cases])
    for line in render_lines(plan):
        if " → " in line:
            left, right = line.strip().split(" → ", 1)
            assert left.split(": ", 1)[-1] != right, line


def test_summary_per_system_when_several() -> None:
    plan = Plan(changes=[Change("moodle", "group", "a", Action.CREATE), Change("zoom", "meeting", "m", Action.CREATE),
                         Change("moodle", "user", "u", Action.UPDATE)])
    lines = list(render_lines(plan))
    assert lines[-2] == "Moodle: 1 to add, 1 to change; Zoom: 1 to add"
    assert lines[-1] == "Plan: 2 to add, 1 to change, 0 to delete."
    assert plan.to_json()["summary_by_system"]["zoom"] == {"add": 1, "change": 0, "delete": 0}


def test_colour_output_escapes_values_that_look_like_markup() -> None:
    plan = Plan(changes=[Change("moodle", "section", "s[bold]", Action.CREATE, (FieldChange("name", None, "[red]x"),))])
    lines = list(render_lines(plan, color=True))
    assert any("\\[red]x" in line for line in lines) and any("s\\[bold]" in line for line in lines)


def test_streamed_json_is_the_same_document() -> None:
    import io
    import json

    plan = Plan(changes=[Change("moodle", "user", f"u{i}", Action.CREATE, (FieldChange("email", None, f"u{i}@x"),))
                         for i in range(5)] + [Change("zoom", "meeting", "m", Action.UPDATE,
                                                       (FieldChange("topic", "a", "b"),), note="n")])
    plan.delete(Change("moodle", "group", "g", Action.DELETE, (), None, "group 'G'"), prune=False)
    buf = io.StringIO()
    plan.write_json(buf)
    assert json.loads(buf.getvalue()) == json.loads(json.dumps(plan.to_json()))


def test_thousands_of_one_kind_are_summarised() -> None:
    plan = Plan(changes=[Change("moodle", "user", f"u{i}", Action.CREATE, (FieldChange("email", None, f"u{i}@x"),))
                         for i in range(5000)] + [Change("moodle", "group", "g", Action.CREATE)])
    lines = list(render_lines(plan))
    assert sum(1 for line in lines if line.startswith("  + moodle.user[")) == 20
    assert "  … and 4,980 more moodle.user to add (`plan --json` lists every one)" in lines
    assert "  + moodle.group[g]" in lines and lines[-1] == "Plan: 5001 to add, 0 to change, 0 to delete."
    assert len(lines) < 100
