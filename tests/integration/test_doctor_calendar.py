"""`oca-sync moodle doctor` against the emulator, and the iCalendar export."""

from __future__ import annotations

import icalendar

from oca_sync.calendar import export_calendar
from oca_sync.config import DEFAULT_ROLE_IDS
from oca_sync.demo import sandboxes
from oca_sync.moodle.client import MoodleClient
from oca_sync.moodle.doctor import diagnose
from oca_sync.moodle.functions import CORE_FUNCTIONS
from oca_sync.sandbox.moodle import MoodleSandbox
from oca_sync.zoom.meetings import apply_zoom, desired_meetings, join_urls, observe_meetings, plan_zoom


def statuses(checks):
    return {c.name: c.status for c in checks}


def test_doctor_on_a_ready_site(moodle_plugin, client_plugin):
    checks = diagnose(client_plugin, dict(DEFAULT_ROLE_IDS))
    assert statuses(checks) == {"web services": "ok", "Moodle version": "ok", "core functions": "ok",
                                "companion plugin": "ok", "mod_attendance": "ok", "multilang filter": "ok",
                                "languages": "ok", "roles": "ok"}
    assert {c.name: c.detail for c in checks}["languages"] == "installed: en, ky, ru"


def test_doctor_names_what_is_missing_and_how_to_fix_it():
    with MoodleSandbox(plugin=False, functions=[f for f in CORE_FUNCTIONS if f != "core_group_create_groups"]) as sb:
        checks = {c.name: c for c in diagnose(MoodleClient(sb.url, sb.token))}
        assert checks["core functions"].status == "fail"
        assert "core_group_create_groups" in checks["core functions"].detail and checks["core functions"].fix
        assert checks["companion plugin"].status == "warn" and "plugin build" in checks["companion plugin"].fix
    with MoodleSandbox(attendance=False) as sb:
        checks = {c.name: c for c in diagnose(MoodleClient(sb.url, sb.token))}
        assert checks["mod_attendance"].status == "warn"
        assert checks["multilang filter"].status == "warn" and "Multi-language" in checks["multilang filter"].fix
    with MoodleSandbox() as sb:
        [check] = diagnose(MoodleClient(sb.url, "0" * 32))
        assert check.status == "fail" and "invalidtoken" in check.detail and "OCA_MOODLE_TOKEN" in check.fix


def test_doctor_asks_to_upgrade_an_older_plugin_that_lacks_newer_functions():
    with MoodleSandbox() as sb:
        sb.state.plugins["local_ocasync"] = 2026120101  # 1.1.0, before take_attendance
        sb.service_functions = {f for f in sb.registry if f != "local_ocasync_take_attendance"}
        checks = {c.name: c for c in diagnose(MoodleClient(sb.url, sb.token))}
        plugin = checks["companion plugin"]
        assert plugin.status == "warn" and "version 2026120101 installed" in plugin.detail
        assert plugin.detail.endswith("which adds local_ocasync_take_attendance") and "plugin build" in plugin.fix
        sb.state.plugins["local_ocasync"] = 2099010100  # as new as ours, yet the function is not in the service
        checks = {c.name: c for c in diagnose(MoodleClient(sb.url, sb.token))}
        assert checks["companion plugin"].status == "fail"
        assert "local_ocasync_take_attendance" in checks["companion plugin"].detail


def test_calendar_has_every_session_with_its_zone_and_join_link(oca):
    with sandboxes(oca) as sb:
        zoom = sb.zoom_client()
        desired = desired_meetings(oca)
        apply_zoom(zoom, plan_zoom(desired, observe_meetings(zoom, desired)))
        links = join_urls(observe_meetings(zoom, desired))
    cal = icalendar.Calendar.from_ical(export_calendar(oca, links))
    events = list(cal.walk("VEVENT"))
    assert len(events) == 25 == len({str(e["UID"]) for e in events})
    first = min(events, key=lambda e: e.decoded("DTSTART"))
    start = first.decoded("DTSTART")
    assert str(start.tzinfo) == "Asia/Bishkek" and (start.hour, start.minute) == (15, 0)
    assert str(first["URL"]) in links.values() and str(first["SUMMARY"]) == "Building an online community"
    assert [str(t["TZID"]) for t in cal.walk("VTIMEZONE")] == ["Asia/Bishkek"]
    ru = icalendar.Calendar.from_ical(export_calendar(oca, links, organisation="ala-too-youth", lang="ru"))
    titles = {str(e["SUMMARY"]) for e in ru.walk("VEVENT")}
    assert "Построение онлайн-сообщества" in titles and len(titles) == 25
