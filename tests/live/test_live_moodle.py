"""The same apply as the integration tests, against a real Moodle (opt-in).

Creates a throw-away programme (unique keys per run) and deletes its course
at the end when the token allows core_course_delete_courses.
"""

import time

import pytest

from oca_sync import sync
from oca_sync.config import SiteOptions, parse_languages, parse_role_ids
from oca_sync.errors import MoodleError
from oca_sync.moodle.client import MoodleClient
from oca_sync.spec import parse_spec_text
from oca_sync.state import StateStore

pytestmark = pytest.mark.live


def spec_text(run: str, title: str = "Digital campaigns") -> str:
    return f"""
programme: {{key: live{run}, name: Live test {run}, languages: [en, ru]}}
moodle: {{category: {{name: "oca-sync live test {run}"}}}}
courses:
  - shortname: LIVE-{run}
    fullname: {{en: Live test, ru: Живой тест}}
    start: 2022-01-10
    end: 2022-04-30
    sessions:
      - key: t1
        kind: training
        title: {{en: "{title}", ru: Цифровые кампании}}
        summary: {{en: Plan a campaign, ru: Планируем кампанию}}
        start: 2022-01-17T15:00
        duration: 90
        content:
          - {{type: url, key: slides, title: Slides, url: "https://example.org/slides"}}
          - {{type: page, key: notes, title: Notes, body: "<p>Notes</p>"}}
          - {{type: label, key: hw, text: Homework for next week}}
      - {{key: t2, kind: training, title: Storytelling, start: 2022-01-19T15:00, duration: 90}}
    surveys:
      - key: pre
        kind: pre
        title: Pre survey
        questions:
          - {{key: q1, type: rating, text: "How confident are you?"}}
          - {{key: q2, type: multichoice, text: "Your role?", options: [Lead, Staff]}}
          - {{key: q3, type: text, text: "Anything else?"}}
    attendance: {{key: att, name: Attendance}}
organisations:
  - key: cso
    name: Live CSO {run}
    members:
      - {{key: m{run}, firstname: Aida, lastname: Test, email: m{run}@example.org}}
staff:
  - {{key: t{run}, firstname: Bek, lastname: Trainer, email: t{run}@example.org, role: trainer}}
"""


def test_apply_reapply_and_change_on_a_real_site(live_moodle: MoodleClient, tmp_path):
    import os

    run = str(int(time.time()))
    roles = SiteOptions(role_ids=parse_role_ids(os.environ.get("OCA_MOODLE_ROLE_IDS")),
                        languages=parse_languages(os.environ.get("OCA_MOODLE_LANGUAGES")))
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    loaded = parse_spec_text(spec_text(run), "live.yaml", tmp_path)
    first = sync.apply(live_moodle, loaded, roles, store)
    course_id = None
    try:
        assert first.applied and first.counts.created >= 8
        writes = live_moodle.stats.writes
        again = sync.apply(live_moodle, loaded, roles, store)
        assert not again.applied and again.plan.empty
        assert live_moodle.stats.writes == writes, "a second apply must make no write"

        changed = parse_spec_text(spec_text(run, "Digital campaigns II"), "live.yaml", tmp_path)
        plan = sync.prepare(live_moodle, changed, roles, store).plan
        kinds = {(c.kind, c.action.value) for c in plan.changes}
        # the title is in the section name, the attendance session's text and (without the plugin) the event
        assert ("section", "update") in kinds and kinds <= {("section", "update"), ("event", "update"),
                                                            ("module", "update")}
        sync.apply(live_moodle, changed, roles, store)
        assert sync.prepare(live_moodle, changed, roles, store).plan.empty
        course = live_moodle.call("core_course_get_courses_by_field",
                                  {"field": "shortname", "value": f"LIVE-{run}"})["courses"][0]
        course_id = course["id"]
        assert course["idnumber"] == f"oca:live{run}:LIVE-{run}"
        if sync.prepare(live_moodle, changed, roles, store).observed.plugin:
            state = live_moodle.call("local_ocasync_get_course_state", {"courseid": course_id})
            keyed = {s["key"]: s for s in state["sections"] if s["key"]}
            assert set(keyed) == {"t1", "t2"} and "Plan a campaign" in keyed["t1"]["summary"]
            mods = {m["idnumber"].rsplit(":", 1)[-1]: m for m in state["modules"]}
            assert {k: m["modname"] for k, m in mods.items()} == {
                "slides": "url", "notes": "page", "hw": "label", "pre": "feedback", "att": "attendance"}
    finally:
        if course_id:
            try:
                live_moodle.call("core_course_delete_courses", {"courseids": [course_id]})
            except MoodleError:
                pass
