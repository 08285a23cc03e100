"""plan --out FILE, then apply FILE: exactly the reviewed plan, or nothing when the spec or the site moved."""

from __future__ import annotations

import os
import shutil
import stat
from pathlib import Path

from click.testing import CliRunner

from oca_sync.cli import cli
from oca_sync.sandbox.moodle import MoodleSandbox

from .conftest import OCA_SPEC


def runner_env(sb: MoodleSandbox, tmp_path: Path) -> dict[str, str]:
    return {"OCA_MOODLE_URL": sb.url, "OCA_MOODLE_TOKEN": sb.token, "OCA_MOODLE_LANGUAGES": "en,ru,ky",
            "OCA_STATE_URL": f"sqlite:///{tmp_path}/state.sqlite", "HOME": str(tmp_path)}


def invoke(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
    clean = {k: None for k in os.environ if k.startswith("OCA_")}
    return CliRunner().invoke(cli, list(args), env={**clean, **env})


def copy_spec(tmp_path: Path) -> Path:
    spec_dir = tmp_path / "spec"
    shutil.copytree(OCA_SPEC.parent, spec_dir)
    return spec_dir / OCA_SPEC.name


def test_saved_plan_is_applied_then_nothing_is_left(moodle_plugin, tmp_path):
    env = runner_env(moodle_plugin, tmp_path)
    spec = copy_spec(tmp_path)
    saved = tmp_path / "reviewed.plan"
    result = invoke(env, "plan", str(spec), "--out", str(saved))
    assert result.exit_code == 0, result.output
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    writes = moodle_plugin.calls.write_count()
    assert writes == 0
    result = invoke(env, "apply", str(saved))  # no --yes: a saved plan was reviewed already
    assert result.exit_code == 0, result.output
    assert "Apply complete" in result.output and moodle_plugin.calls.write_count() > 0
    result = invoke(env, "plan", str(spec), "--detailed-exitcode")
    assert result.exit_code == 0, result.output  # no changes left


def test_saved_plan_refused_when_the_spec_changed(moodle_plugin, tmp_path):
    env = runner_env(moodle_plugin, tmp_path)
    spec = copy_spec(tmp_path)
    saved = tmp_path / "reviewed.plan"
    assert invoke(env, "plan", str(spec), "--out", str(saved)).exit_code == 0
    (spec.parent / "materials" / "community-canvas.md").write_text("# changed after review\n", encoding="utf-8")
    result = invoke(env, "apply", str(saved))
    assert result.exit_code == 1 and "changed since the plan was saved" in result.output
    assert moodle_plugin.calls.write_count() == 0


def test_saved_plan_refused_when_the_site_changed(moodle_plugin, client_plugin, tmp_path):
    env = runner_env(moodle_plugin, tmp_path)
    spec = copy_spec(tmp_path)
    saved = tmp_path / "reviewed.plan"
    assert invoke(env, "plan", str(spec), "--out", str(saved)).exit_code == 0
    # Someone makes the category by hand in the meantime (with our key): the plan would now differ.
    client_plugin.call("core_course_create_categories", {"categories": [
        {"name": "Made by hand", "idnumber": "oca:kg2022", "parent": 0}]})
    before = moodle_plugin.calls.write_count()
    result = invoke(env, "apply", str(saved))
    assert result.exit_code == 1 and "site changed since the plan was saved" in result.output
    assert moodle_plugin.calls.write_count() == before


def test_saved_plan_with_prune_again_and_garbage_are_usage_errors(moodle_plugin, tmp_path):
    env = runner_env(moodle_plugin, tmp_path)
    spec = copy_spec(tmp_path)
    saved = tmp_path / "reviewed.plan"
    assert invoke(env, "plan", str(spec), "--out", str(saved)).exit_code == 0
    assert invoke(env, "apply", "--prune", str(saved)).exit_code == 2
    bad = tmp_path / "bad.plan"
    bad.write_text('{"oca_sync_saved_plan": 1, "spec": 3}', encoding="utf-8")
    result = invoke(env, "apply", str(bad))
    assert result.exit_code == 2 and "not a saved plan" in result.output
