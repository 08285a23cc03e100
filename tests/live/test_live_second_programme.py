"""The proof programme (tests/specs/second-programme) against a real Moodle with the companion plugin
and mod_attendance (opt-in): applied, then applied again and planned with no write and no change.

The programme's keys are fixed (``cso:kzuz-2024``), so running it again converges instead of adding a
programme per run. For Kazakh and Uzbek to be kept as people's languages the site needs the kk and uz
packs (a ``langconfig.php`` each is enough); without them people get the first installed language.
"""

import json
import os
from pathlib import Path

import pytest

from oca_sync import sync
from oca_sync.config import SiteOptions, parse_languages
from oca_sync.moodle.client import MoodleClient
from oca_sync.spec import load_spec
from oca_sync.state import StateStore

pytestmark = pytest.mark.live

SPEC = Path(__file__).resolve().parents[1] / "specs" / "second-programme" / "csa-2024.yaml"


def test_second_programme_applies_then_makes_no_write(live_moodle: MoodleClient, tmp_path: Path) -> None:
    site = SiteOptions(languages=parse_languages(os.environ.get("OCA_MOODLE_LANGUAGES")))
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    loaded = load_spec(SPEC)
    first = sync.apply(live_moodle, loaded, site, store)
    assert first.applied or first.plan.empty
    writes = live_moodle.stats.writes
    again = sync.apply(live_moodle, loaded, site, store)
    assert again.plan.changes == [] and again.plan.drift == [], [(c.kind, c.key) for c in again.plan.changes]
    prep = sync.prepare(live_moodle, loaded, site, store)
    assert prep.plan.empty and live_moodle.stats.writes == writes
    if not prep.observed.plugin:
        return
    [course] = live_moodle.call("core_course_get_courses_by_field",
                                {"field": "idnumber", "value": "cso:kzuz-2024:CSA-2024-A"})["courses"]
    groups = {g["idnumber"]: g["id"] for g in live_moodle.call("core_group_get_course_groups",
                                                                {"courseid": course["id"]})}
    state = live_moodle.call("local_ocasync_get_course_state", {"courseid": course["id"]})
    [mentoring] = [s for s in state["sections"] if s["key"] == "mentoring-a-01"]
    assert json.loads(mentoring["availability"]) == {
        "op": "|", "show": False, "c": [{"type": "group", "id": groups["cso:kzuz-2024:CSA-2024-A:cso-a"]}]}
