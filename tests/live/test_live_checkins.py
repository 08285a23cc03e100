"""Check-ins per organisation and the event report in the announcements forum, on a real Moodle with the
companion plugin 1.2 (opt-in): one anonymous, group-restricted check-in activity per campaigning
organisation, answered twice by the same person (both kept), read back as that organisation's; the
session report posted once however often it is asked for. Keys are fixed (``oca:ckinlab``): reruns
converge, and a second run adds responses and finds the post already there.
"""

import json
from pathlib import Path

import pytest

from oca_sync import sync
from oca_sync.config import SiteOptions
from oca_sync.moodle.client import MoodleClient
from oca_sync.report import announce
from oca_sync.report.collect import collect
from oca_sync.report.render import session_report
from oca_sync.spec import load_spec
from oca_sync.state import StateStore

pytestmark = pytest.mark.live

SPEC = Path(__file__).resolve().parents[1] / "specs" / "checkins.yaml"


def test_checkins_per_organisation_and_the_report_posted_once(live_moodle: MoodleClient, tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path}/s.sqlite")
    loaded = load_spec(SPEC)
    sync.apply(live_moodle, loaded, SiteOptions(), store)
    writes = live_moodle.stats.writes
    assert sync.prepare(live_moodle, loaded, SiteOptions(), store).plan.empty
    assert live_moodle.stats.writes == writes
    [course] = live_moodle.call("core_course_get_courses_by_field",
                                {"field": "idnumber", "value": "oca:ckinlab:CKIN-LAB"})["courses"]
    groups = {g["idnumber"]: g["id"] for g in live_moodle.call("core_group_get_course_groups",
                                                                {"courseid": course["id"]})}
    state = live_moodle.call("local_ocasync_get_course_state", {"courseid": course["id"]})
    mods = {m["idnumber"]: m for m in state["modules"]}
    for org in ("river", "hills"):
        mod = mods[f"oca:ckinlab:CKIN-LAB:checkin@{org}"]
        assert json.loads(mod["availability"]) == {
            "op": "|", "show": False, "c": [{"type": "group", "id": groups[f"oca:ckinlab:CKIN-LAB:{org}"]}]}
        assert json.loads(mod["settings"])["multiple_submit"] == 1 and json.loads(mod["settings"])["anonymous"] == 1
    assert not any("quiet" in k for k in mods)  # no campaign, no check-in

    before = len([r for r in collect(loaded, live_moodle, store).responses if r.group == "river"])
    river = mods["oca:ckinlab:CKIN-LAB:checkin@river"]["instance"]
    items = {i["name"]: i for i in live_moodle.call("mod_feedback_get_items", {"feedbackid": river})["items"]}
    for week, reach in (("2022-03-06", "1200"), ("2022-03-13", "1800")):  # the same person, twice
        # Every item of the page is sent (an empty one too): without one, the form is not complete.
        answers = {"Week ending (YYYY-MM-DD)": week, "Platform": "1", "Posts": "3", "Reach": reach,
                   "Link to the best post": ""}
        done = live_moodle.call("mod_feedback_process_page", {"feedbackid": river, "page": 0, "responses": [
            {"name": f"{items[k]['typ']}_{items[k]['id']}", "value": v} for k, v in answers.items()]})
        assert done["completed"] is True
    got = [r for r in collect(loaded, live_moodle, store).responses if r.group == "river"]
    assert len(got) == before + 2 and {"2022-03-06", "2022-03-13"} <= {r.answers["date"] for r in got}

    built = session_report(loaded, collect(loaded, live_moodle, store), "training-01", tmp_path / "s")
    markdown = (built.folder / "session-training-01.md").read_text(encoding="utf-8")
    first, _ = announce.announce(loaded, live_moodle, store, "CKIN-LAB", "training-01", markdown)
    writes = live_moodle.stats.writes
    again, posted = announce.announce(loaded, live_moodle, store, "CKIN-LAB", "training-01", markdown)
    assert not posted and again.discussion == first.discussion and live_moodle.stats.writes == writes
    [forum] = [f for f in live_moodle.call("mod_forum_get_forums_by_courses", {"courseids": [course["id"]]})
               if f["type"] == "news"]
    listed = live_moodle.call("mod_forum_get_forum_discussions", {"forumid": forum["id"]}, raw=True)["discussions"]
    assert [d["name"] for d in listed].count("Training 1: Campaign &lt;planning> & reach") == 1
