"""A plan hides nothing: what we own but the spec no longer has is listed, also without --prune."""

from __future__ import annotations

import shutil

from oca_sync import sync
from oca_sync.plan import render_lines
from oca_sync.spec import load_spec

from .conftest import OCA_SPEC


def test_removed_session_is_listed_as_not_in_the_spec(moodle_plugin, client_plugin, site, store, tmp_path):
    spec_dir = tmp_path / "spec"
    shutil.copytree(OCA_SPEC.parent, spec_dir)
    sync.apply(client_plugin, load_spec(spec_dir / OCA_SPEC.name), site, store)
    text = (spec_dir / OCA_SPEC.name).read_text(encoding="utf-8")
    # End the mentoring series a week earlier: its last two sessions leave the spec.
    assert text.count("UNTIL=20220405T235959") == 1
    text = text.replace("UNTIL=20220405T235959", "UNTIL=20220329T235959")
    (spec_dir / OCA_SPEC.name).write_text(text, encoding="utf-8")
    loaded = load_spec(spec_dir / OCA_SPEC.name)
    plan = sync.prepare(client_plugin, loaded, site, store).plan
    orphans = {c.address: c.note for c in plan.orphans}
    assert "moodle.section[OCA-KG-2022#mentoring-12]" in orphans
    assert orphans["moodle.section[OCA-KG-2022#mentoring-12]"].startswith("section 24:")
    assert not any(c.action.value == "delete" for c in plan.changes), "nothing is deleted without --prune"
    lines = list(render_lines(plan))
    assert any(line.startswith("Not in the spec (") and "--prune" in line for line in lines)
    assert plan.to_json()["not_in_spec"]
    pruned = sync.prepare(client_plugin, loaded, site, store, prune=True).plan
    assert "moodle.section[OCA-KG-2022#mentoring-12]" in {c.address for c in pruned.changes}
    assert not pruned.orphans
