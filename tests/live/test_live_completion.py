"""local_ocasync 1.2's completion functions against a real Moodle (opt-in, like test_live_plugin.py).

A throw-away course gets a feedback and an attendance activity, then completion on submission and by
pass grade, and both as course completion criteria; a second call writes nothing.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from oca_sync.errors import MoodleError
from oca_sync.moodle.client import MoodleClient
from oca_sync.moodle.completion import PLUGIN_COMPLETION_VERSION

from .test_live_plugin import QUESTIONS, SESSIONS, course, info  # noqa: F401 - fixtures

pytestmark = pytest.mark.live


def test_completion_is_set_once_and_read_back(live_moodle: MoodleClient, info: dict[str, Any],  # noqa: F811
                                               course: int) -> None:  # noqa: F811
    if int(info["plugin_version"]) < PLUGIN_COMPLETION_VERSION:
        pytest.skip("local_ocasync older than 1.2 on this site")
    if not info.get("attendance_version"):
        pytest.skip("mod_attendance is not installed")
    live_moodle.call("core_course_update_courses", {"courses": [{"id": course, "enablecompletion": 1}]})
    live_moodle.call("local_ocasync_upsert_modules", {"courseid": course, "modules": [
        {"idnumber": "live:pre", "modname": "feedback", "sectionkey": "", "name": "Before",
         "settings": json.dumps({"anonymous": 2, "timeopen": 0, "timeclose": 0, "questions": QUESTIONS})},
        {"idnumber": "live:att", "modname": "attendance", "sectionkey": "", "name": "Attendance",
         "settings": json.dumps({"grade": 100, "sessions": SESSIONS})},
    ]})
    want = {"modules": {
        "live:pre": {"completion": 2, "completionview": 0, "completionusegrade": 0, "completionpassgrade": 0,
                     "completionsubmit": 1},
        "live:att": {"completion": 2, "completionview": 0, "completionusegrade": 1, "completionpassgrade": 1,
                     "gradepass": 66.66}},
        "criteria": ["live:att", "live:pre"], "aggregation": 1}
    first = live_moodle.call("local_ocasync_set_course_completion", {"courseid": course, "settings": json.dumps(want)})
    assert sorted(first["modules"]) == ["live:att", "live:pre"] and first["criteria"] is True
    got = live_moodle.call("local_ocasync_get_course_completion", {"courseid": course})
    assert got["enablecompletion"] is True and got["criteria"] == ["live:att", "live:pre"]
    assert got["aggregation"] == got["activityaggregation"] == 1
    mods = {m["idnumber"]: json.loads(m["settings"]) for m in got["modules"]}
    assert mods["live:pre"] == want["modules"]["live:pre"]
    assert mods["live:att"] == want["modules"]["live:att"]
    again = live_moodle.call("local_ocasync_set_course_completion", {"courseid": course, "settings": json.dumps(want)})
    assert again == {"modules": [], "criteria": False}
    with pytest.raises(MoodleError) as e:
        live_moodle.call("local_ocasync_set_course_completion", {
            "courseid": course, "settings": json.dumps({"criteria": ["live:nope"]})})
    assert e.value.errorcode == "completionnomodule"
    assert live_moodle.call("local_ocasync_get_completion", {"courseid": course}) == {"courseid": course, "users": []}


def test_completion_changed_by_hand_is_drift_then_put_back(live_moodle: MoodleClient, info: dict[str, Any],  # noqa: F811
                                                           tmp_path) -> None:
    """The example programme applied; an administrator then drops the pre-survey from the course's
    completion criteria: the plan shows it as drift (from the ledger), and apply puts it back."""
    import os
    from pathlib import Path

    from oca_sync import sync
    from oca_sync.config import SiteOptions, parse_languages
    from oca_sync.spec import load_spec
    from oca_sync.state import StateStore

    if int(info["plugin_version"]) < PLUGIN_COMPLETION_VERSION or not info.get("attendance_version"):
        pytest.skip("needs local_ocasync 1.2 or later and mod_attendance")
    site = SiteOptions(languages=parse_languages(os.environ.get("OCA_MOODLE_LANGUAGES")))
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    loaded = load_spec(Path(__file__).resolve().parents[2] / "course_spec" / "oca-kyrgyzstan-2022.yaml")
    sync.apply(live_moodle, loaded, site, store)
    [c] = live_moodle.call("core_course_get_courses_by_field",
                           {"field": "idnumber", "value": "oca:kg2022:OCA-KG-2022"})["courses"]
    got = live_moodle.call("local_ocasync_get_course_completion", {"courseid": c["id"]})
    owned = "oca:kg2022:OCA-KG-2022:"
    live_moodle.call("local_ocasync_set_course_completion", {"courseid": c["id"], "settings": json.dumps({
        "modules": {owned + "survey-pre": {"completion": 1, "completionsubmit": 0}},
        "criteria": [x for x in got["criteria"] if x != owned + "survey-pre"], "aggregation": 1})})
    plan = sync.prepare(live_moodle, loaded, site, store).plan
    [drift] = [d for d in plan.drift if d.kind == "completion"]
    fields = {f.name: (f.old, f.new) for f in drift.fields}
    assert fields["survey-pre.completion"] == (2, 1) and fields["survey-pre.completionsubmit"] == (1, 0)
    assert "survey-pre" in fields["criteria"][0] and "survey-pre" not in fields["criteria"][1]
    sync.apply(live_moodle, loaded, site, store)
    again = sync.prepare(live_moodle, loaded, site, store).plan
    assert again.empty and not again.drift
