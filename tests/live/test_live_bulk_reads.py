"""The plugin's bulk reads (local_ocasync 1.2) against the per-course core reads on a real Moodle (opt-in):
after the proof programme is applied, both observe the same site and plan the same (nothing)."""

import os
from dataclasses import replace
from pathlib import Path

import pytest

from oca_sync import sync
from oca_sync.config import SiteOptions, parse_languages
from oca_sync.moodle.client import MoodleClient
from oca_sync.moodle.observe import BULK_FUNCTIONS, has_functions, observe, site_info
from oca_sync.spec import load_spec
from oca_sync.state import StateStore

pytestmark = pytest.mark.live

SPEC = Path(__file__).resolve().parents[1] / "specs" / "second-programme" / "csa-2024.yaml"


def test_bulk_and_core_reads_see_the_same_real_site(live_moodle: MoodleClient, tmp_path: Path) -> None:
    info = site_info(live_moodle)
    if not has_functions(info, BULK_FUNCTIONS):
        pytest.skip("the token's service has no bulk reads (local_ocasync 1.2 or later)")
    site = SiteOptions(languages=parse_languages(os.environ.get("OCA_MOODLE_LANGUAGES")))
    loaded = load_spec(SPEC)
    sync.apply(live_moodle, loaded, site, StateStore(f"sqlite:///{tmp_path}/s.sqlite"))
    desired = sync.prepare(live_moodle, loaded, site, None).desired
    before = dict(live_moodle.stats.calls)
    bulk = observe(live_moodle, desired, info=info)
    bulk_calls = {f: n - before.get(f, 0) for f, n in live_moodle.stats.calls.items() if n - before.get(f, 0)}
    core_info = {**info, "functions": [f for f in info["functions"] if f["name"] not in BULK_FUNCTIONS]}
    core = observe(live_moodle, desired, info=core_info)
    assert replace(bulk, functions=frozenset()) == replace(core, functions=frozenset())  # but the functions given
    assert bulk.enrolled and any(e for e in bulk.enrolled.values()) and bulk.users
    assert "core_enrol_get_enrolled_users" not in bulk_calls and bulk_calls["local_ocasync_get_enrolments"] == 1
