"""plan/apply through the companion plugin (emulated), over HTTP."""

from __future__ import annotations

import json
import shutil

from oca_sync import sync
from oca_sync.moodle.client import MoodleClient
from oca_sync.plan import Action
from oca_sync.spec import load_spec, parse_spec_text

from .conftest import OCA_SPEC


def course_state(client: MoodleClient) -> dict:
    [course] = client.call("core_course_get_courses_by_field",
                           {"field": "idnumber", "value": "oca:kg2022:OCA-KG-2022"})["courses"]
    return client.call("local_ocasync_get_course_state", {"courseid": course["id"]})


def test_sections_activities_surveys_and_attendance(moodle_plugin, client_plugin, site, store, oca):
    assert sync.apply(client_plugin, oca, site, store).applied
    state = course_state(client_plugin)
    sections = [s for s in state["sections"] if s["key"]]
    assert [s["key"] for s in sections][:2] == ["training-01", "training-02"] and len(sections) == 25
    assert len(state["sections"]) == 26, "section 0 and one per session, none twice"
    assert "2022-01-17 15:00–16:30 (Asia/Bishkek)" in sections[0]["summary"]
    mods = {m["idnumber"].removeprefix("oca:kg2022:OCA-KG-2022:"): m for m in state["modules"]}
    assert mods["survey-pre"]["modname"] == "feedback"
    questions = json.loads(mods["survey-pre"]["settings"])["questions"]
    assert len(questions) == len(oca.spec.courses[0].surveys[0].questions)
    att = json.loads(mods["attendance"]["settings"])
    assert len(att["sessions"]) == 25 and att["sessions"][0]["duration"] == 90 * 60
    canvas = json.loads(mods["training-01:t01-canvas"]["settings"])
    local = OCA_SPEC.parent / "materials" / "community-canvas.md"
    assert canvas["filename"] == "community-canvas.md" and canvas["filesize"] == local.stat().st_size


def test_reapply_makes_no_write(moodle_plugin, client_plugin, site, store, oca):
    sync.apply(client_plugin, oca, site, store)
    writes = moodle_plugin.calls.write_count()
    assert sync.apply(client_plugin, oca, site, store).plan.empty
    assert moodle_plugin.calls.write_count() == writes


def test_changed_material_is_uploaded_again_and_nothing_else(moodle_plugin, client_plugin, site, store, tmp_path):
    spec_dir = tmp_path / "spec"
    shutil.copytree(OCA_SPEC.parent, spec_dir)
    loaded = load_spec(spec_dir / OCA_SPEC.name)
    sync.apply(client_plugin, loaded, site, store)
    (spec_dir / "materials" / "community-canvas.md").write_text("# Community canvas, second edition\n")
    loaded = load_spec(spec_dir / OCA_SPEC.name)
    plan = sync.prepare(client_plugin, loaded, site, store).plan
    assert [(c.kind, c.key, c.action) for c in plan.changes] == [
        ("module", "OCA-KG-2022:training-01:t01-canvas", Action.UPDATE)]
    uploads = moodle_plugin.calls.count("webservice/upload.php")
    sync.apply(client_plugin, loaded, site, store)
    assert moodle_plugin.calls.count("webservice/upload.php") == uploads + 1
    assert sync.prepare(client_plugin, loaded, site, store).plan.empty


def test_sections_made_before_the_plugin_are_taken_not_duplicated(moodle_plugin, client_plugin, site, store, oca):
    plugin_functions = {k: v for k, v in moodle_plugin.registry.items() if k.startswith("local_ocasync_")}
    for k in plugin_functions:
        del moodle_plugin.registry[k]
    sync.apply(client_plugin, oca, site, store)  # core only: 25 unkeyed sections
    moodle_plugin.registry.update(plugin_functions)  # the plugin is installed
    plan = sync.prepare(client_plugin, oca, site, store).plan
    sections = [c for c in plan.changes if c.kind == "section"]
    assert len(sections) == 25 and all(c.action is Action.UPDATE and c.payload.adopt for c in sections)
    sync.apply(client_plugin, oca, site, store)
    state = course_state(client_plugin)
    assert len(state["sections"]) == 26 and all(s["key"] for s in state["sections"][1:])
    assert sync.prepare(client_plugin, oca, site, store).plan.empty


def test_prune_removes_a_dropped_session_and_its_activities(moodle_plugin, client_plugin, site, store, oca):
    sync.apply(client_plugin, oca, site, store)
    text = OCA_SPEC.read_text(encoding="utf-8")
    start = text.index("      - key: training-01")
    end = text.index("      - key: training-02")
    smaller = parse_spec_text(text[:start] + text[end:], str(OCA_SPEC), OCA_SPEC.parent)
    plan = sync.prepare(client_plugin, smaller, site, store, prune=True).plan
    deleted = {(c.kind, c.key) for c in plan.changes if c.action is Action.DELETE}
    assert ("section", "OCA-KG-2022#training-01") in deleted
    assert ("module", "OCA-KG-2022:training-01:t01-canvas") in deleted
    sync.apply(client_plugin, smaller, site, store, prune=True)
    state = course_state(client_plugin)
    assert "training-01" not in {s["key"] for s in state["sections"]}
    assert sync.prepare(client_plugin, smaller, site, store, prune=True).plan.empty
