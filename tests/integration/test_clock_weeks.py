"""A programme unlike the OCA example (tests/specs/clock-weeks.yaml) applied to the Moodle emulator twice.

It covers what Moodle and the clock do to a spec: a file name Moodle cleans,
a session across Asia/Almaty's change of offset, a series run by Berlin's rules
across summer time, a 0-10 rating, and a course in weeks format (whose end
date Moodle would compute). The second apply and a following plan change nothing.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from oca_sync import sync
from oca_sync.demo import sandboxes
from oca_sync.moodle.client import MoodleClient
from oca_sync.plan import Action
from oca_sync.spec import load_spec

SPEC = Path(__file__).resolve().parents[1] / "specs" / "clock-weeks.yaml"
ALMATY = ZoneInfo("Asia/Almaty")
COURSE = "oca:mcorrect:ML-KZ-2024"


def course(client: MoodleClient, idnumber: str = COURSE) -> dict[str, Any]:
    [found] = client.call("core_course_get_courses_by_field", {"field": "idnumber", "value": idnumber})["courses"]
    return found


def test_second_programme_applies_once_and_then_writes_nothing(moodle_plugin, client_plugin, site, store):
    loaded = load_spec(SPEC)
    assert sync.apply(client_plugin, loaded, site, store).applied

    weeks = course(client_plugin)
    assert weeks["format"] == "weeks"
    assert weeks["enddate"] == int(dt.datetime(2024, 4, 14, 23, 59, tzinfo=ALMATY).timestamp())
    options = {o["name"]: o["value"] for o in weeks["courseformatoptions"]}
    assert options["automaticenddate"] == 0

    state = client_plugin.call("local_ocasync_get_course_state", {"courseid": weeks["id"]})
    summaries = {s["key"]: s["summary"] for s in state["sections"] if s["key"]}
    assert "2024-02-29 22:30 UTC+06–23:00 UTC+05 (Asia/Almaty)" in summaries["kickoff"]
    assert "2024-03-25 10:00–11:00 (Europe/Berlin)" in summaries["mentoring-02"]
    assert "2024-04-01 10:00–11:00 (Europe/Berlin)" in summaries["mentoring-03"]
    mods = {m["idnumber"].removeprefix(COURSE + ":"): m for m in state["modules"]}
    guide = json.loads(mods["kickoff:guide"]["settings"])
    assert guide["filename"] == "boyicha  tahlil.md"  # PARAM_FILE removed ' and &
    questions = {q["key"]: q for q in json.loads(mods["survey-post"]["settings"])["questions"]}
    assert questions["recommend"]["presentation"] == "r>>>>>" + "|".join(f"{v}####{v}" for v in range(11))
    assert questions["pace"]["presentation"] == "r>>>>>-2####Too slow|-1####Slow|0####Right|1####Fast|2####Too fast"
    attendance = json.loads(mods["attendance"]["settings"])["sessions"]
    kickoff = next(s for s in attendance if s["sessdate"] == int(dt.datetime(2024, 2, 29, 16, 30, tzinfo=dt.UTC).timestamp()))
    assert kickoff["duration"] == 90 * 60

    writes = moodle_plugin.calls.write_count()
    uploads = moodle_plugin.calls.count("webservice/upload.php")
    again = sync.apply(client_plugin, loaded, site, store)
    assert again.plan.empty, [(c.kind, c.key, c.fields) for c in again.plan.changes]
    assert moodle_plugin.calls.write_count() == writes
    assert moodle_plugin.calls.count("webservice/upload.php") == uploads
    plan = sync.prepare(client_plugin, loaded, site, store).plan
    assert plan.empty and not plan.drift


def test_weeks_course_made_by_moodle_defaults_is_put_back_with_both_dates(moodle_plugin, client_plugin, site,
                                                                           store):
    """A weeks course whose end date Moodle computed (automaticenddate on) gets the spec's end in one update."""
    loaded = load_spec(SPEC)
    sync.apply(client_plugin, loaded, site, store)
    weeks = course(client_plugin)
    client_plugin.call("core_course_update_courses", {"courses": [{
        "id": weeks["id"], "courseformatoptions": [{"name": "automaticenddate", "value": 1}]}]})
    moved = course(client_plugin)
    assert moved["enddate"] != weeks["enddate"]  # format_weeks recomputed it on course_updated
    plan = sync.prepare(client_plugin, loaded, site, store).plan
    [change] = plan.changes
    assert (change.kind, change.action) == ("course", Action.UPDATE)
    assert {f.name for f in change.fields} == {"enddate", "automaticenddate"}
    sync.apply(client_plugin, loaded, site, store)
    assert not client_plugin.warnings
    assert course(client_plugin)["enddate"] == weeks["enddate"]
    assert sync.prepare(client_plugin, loaded, site, store).plan.empty


def test_emulator_computes_a_weeks_end_date_as_format_weeks(moodle, client):
    """Lab-checked on Moodle 5.1: this create answers with enddate = start + 3 weeks and these options."""
    start = 1709251200  # 2024-03-01 00:00 UTC
    [made] = client.call("core_course_create_courses", {"courses": [{
        "fullname": "W", "shortname": "W", "categoryid": 1, "format": "weeks", "startdate": start,
        "enddate": start + 40 * 86400, "courseformatoptions": [{"name": "numsections", "value": 3}]}]})
    weeks = client.call("core_course_get_courses_by_field", {"field": "id", "value": made["id"]})["courses"][0]
    assert weeks["enddate"] == start + 21 * 86400  # the end of the last section's week, not what was sent
    options = {o["name"]: o["value"] for o in weeks["courseformatoptions"]}
    assert options == {"hiddensections": 1, "coursedisplay": 0, "automaticenddate": 1, "indentation": "1"}

    def enddate() -> int:
        return client.call("core_course_get_courses_by_field", {"field": "id", "value": made["id"]})["courses"][0][
            "enddate"]

    res = client.call("core_course_update_courses", {"courses": [{"id": made["id"], "enddate": start + 50 * 86400}]})
    assert [w["warningcode"] for w in res["warnings"]] == ["nostartdatenoenddate"]
    client.call("core_courseformat_update_course", {"action": "section_add", "courseid": made["id"]})
    assert enddate() == start + 28 * 86400  # course_section_created moves it on
    client.call("core_course_update_courses", {"courses": [{
        "id": made["id"], "startdate": start, "enddate": start + 50 * 86400,
        "courseformatoptions": [{"name": "automaticenddate", "value": 0}]}]})
    assert enddate() == start + 50 * 86400
    client.call("core_courseformat_update_course", {"action": "section_add", "courseid": made["id"]})
    assert enddate() == start + 50 * 86400  # off: Moodle leaves it alone


def test_emulated_weeks_add_days_on_the_wall_clock(moodle, client):
    """get_section_dates() adds P7D to a DateTime in the user's zone: across a DST change a week is 167 hours."""
    moodle.state.settings.timezone = "Europe/Berlin"
    start = int(dt.datetime(2024, 3, 25, tzinfo=ZoneInfo("Europe/Berlin")).timestamp())
    [made] = client.call("core_course_create_courses", {"courses": [{
        "fullname": "W", "shortname": "W", "categoryid": 1, "format": "weeks", "startdate": start}]})
    [weeks] = client.call("core_course_get_courses_by_field", {"field": "id", "value": made["id"]})["courses"]
    assert weeks["enddate"] == int(dt.datetime(2024, 4, 1, tzinfo=ZoneInfo("Europe/Berlin")).timestamp())
    assert weeks["enddate"] - start == 7 * 86400 - 3600


def test_zoom_meetings_keep_each_sessions_zone(store):
    """Zoom gets each session's local start with its own zone; a re-apply writes nothing to Zoom or Moodle."""
    loaded = load_spec(SPEC)
    with sandboxes(loaded) as sb:
        zoom = sb.zoom_client()
        assert sync.apply(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom).applied
        from oca_sync.zoom.meetings import desired_meetings, observe_meetings

        found = {key: {"id": ms[0].id} for key, ms in observe_meetings(zoom, desired_meetings(loaded)).items()}
        after_dst = zoom.get_meeting(found["oca:mcorrect:ML-KZ-2024:mentoring-03"]["id"])
        assert (after_dst["start_time"], after_dst["timezone"]) == ("2024-04-01T08:00:00Z", "Europe/Berlin")
        before_dst = zoom.get_meeting(found["oca:mcorrect:ML-KZ-2024:mentoring-02"]["id"])
        assert before_dst["start_time"] == "2024-03-25T09:00:00Z"
        kickoff = zoom.get_meeting(found["oca:mcorrect:ML-KZ-2024:kickoff"]["id"])
        assert (kickoff["start_time"], kickoff["timezone"], kickoff["duration"]) == (
            "2024-02-29T16:30:00Z", "Asia/Almaty", 90)
        zoom_calls, moodle_writes = len(sb.zoom.calls), sb.moodle.calls.write_count()
        again = sync.apply(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom)
        assert again.plan.empty
        assert not [n for n, _ in sb.zoom.calls.snapshot()[zoom_calls:] if not n.startswith("GET ")]
        assert sb.moodle.calls.write_count() == moodle_writes
