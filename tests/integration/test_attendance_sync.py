"""attendance sync on the sandbox: Zoom participants of ended sessions written to mod_attendance registers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from oca_sync import sync
from oca_sync.attendance import sync as att
from oca_sync.attendance.sandbox_people import session_people
from oca_sync.demo import Sandboxes, sandboxes
from oca_sync.spec import LoadedSpec
from oca_sync.state import StateStore
from oca_sync.zoom.meetings import desired_meetings, observe_meetings


@pytest.fixture(scope="module")
def world(oca: LoadedSpec, tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Sandboxes, Any, Any, StateStore]]:
    with sandboxes(oca) as sb:
        client, zoom = sb.moodle_client(), sb.zoom_client()
        store = StateStore(f"sqlite:///{tmp_path_factory.mktemp('att')}/state.sqlite")
        sync.apply(client, oca, sb.site(), store, zoom=zoom)
        yield sb, client, zoom, store


def _held(sb: Sandboxes, zoom: Any, loaded: LoadedSpec, keys: list[str]) -> dt.datetime:
    """Hold the sessions ``keys`` (participants from the spec) and move Zoom's clock past them."""
    sessions = {s.key: s for ss in loaded.sessions.values() for s in ss}
    found = observe_meetings(zoom, desired_meetings(loaded))
    for key in keys:
        s = sessions[key]
        mid = next(m.id for k, ms in found.items() if k.endswith(":" + key) for m in ms)
        sb.zoom.set_participants(mid, session_people(loaded, s.number, s.duration))
    end = max(sessions[k].end for k in keys) + dt.timedelta(hours=1)
    sb.zoom.set_time(end.astimezone(dt.timezone.utc))
    return end


def test_sync_writes_registers_once_and_never_overwrites_a_hand_change(world: Any, oca: LoadedSpec) -> None:
    sb, client, zoom, store = world
    now = _held(sb, zoom, oca, ["training-01"])
    plan = att.prepare(client, zoom, oca, store, now=now, only={"training-01"})
    (row,) = plan.sessions
    assert row.state == "ended" and row.instances == 1
    listed = row.present + row.late + row.absent + row.held
    assert listed == len(plan.people) == 23  # every student the register lists, present or not
    assert row.present >= 8 and row.late >= 1 and row.absent >= 1 and row.held == 0 and row.review == 0
    assert row.unmatched >= 2  # the interpreter and the dial-in
    assert len(plan.plan.changes) == row.writes == listed - row.held
    result = att.apply(client, plan, store)
    assert result.written == len(plan.plan.changes)

    writes = client.stats.writes
    again = att.prepare(client, zoom, oca, store, now=now, only={"training-01"})
    assert again.plan.changes == [] and again.plan.drift == []
    assert client.stats.writes == writes

    # a trainer marks someone Excused by hand: reported as drift, never overwritten
    change = plan.plan.changes[0]
    w = change.payload
    reg = client.call("mod_attendance_get_session", {"sessionid": w.sessionid})
    excused = next(int(s["id"]) for s in reg["statuses"] if s["acronym"] == "E")
    client.call("mod_attendance_update_user_status", {"sessionid": w.sessionid, "studentid": w.userid,
                                                      "takenbyid": 2, "statusid": excused, "statusset": "0"})
    third = att.prepare(client, zoom, oca, store, now=now, only={"training-01"})
    assert third.plan.changes == []
    assert [d.key for d in third.plan.drift] == [change.key]
    assert third.plan.drift[0].fields[0].new == "E"
    att.save_records(store, third, third.written)  # what `attendance sync` does when nothing is to write

    rows = {(r["session"], r["username"]): r for r in store.attendance_records(plan.scope)}
    assert len(rows) == listed
    for p in plan.people:
        r = rows[(p.session, p.username)]
        assert (r["minutes"], r["computed"], r["written"]) == (p.minutes, p.computed, p.computed)
    assert rows[("OCA-KG-2022:training-01", change.key.split(":")[-1])]["moodle"] == "E"


def test_without_the_plugins_bulk_call_each_status_is_one_call(world: Any, oca: LoadedSpec) -> None:
    sb, client, zoom, store = world
    now = _held(sb, zoom, oca, ["training-03"])
    plan = att.prepare(client, zoom, oca, store, now=now, only={"training-03"})
    assert plan.bulk  # the sandbox has the companion plugin
    plan.bulk = False  # as on a site without it (or a token without the function)
    before = client.stats.calls["mod_attendance_update_user_status"]
    result = att.apply(client, plan, store)
    assert result.written == len(plan.plan.changes) > 1
    assert client.stats.calls["mod_attendance_update_user_status"] - before == len(plan.plan.changes)
    assert att.prepare(client, zoom, oca, store, now=now, only={"training-03"}).plan.changes == []


def test_the_bulk_take_checks_statuses_and_people_and_keeps_remarks(world: Any, oca: LoadedSpec) -> None:
    from oca_sync.errors import MoodleError

    sb, client, zoom, store = world
    now = _held(sb, zoom, oca, ["training-04"])
    plan = att.prepare(client, zoom, oca, store, now=now, only={"training-04"})
    first, second = plan.plan.changes[0].payload, plan.plan.changes[1].payload
    reg = client.call("mod_attendance_get_session", {"sessionid": first.sessionid})
    log_id = sb.moodle.state.next_id("attendance_log")
    sb.moodle.state.attendance_log[log_id] = {  # a remark a trainer wrote before the sync
        "id": log_id, "sessionid": first.sessionid, "studentid": first.userid, "statusid": 0, "statusset": "",
        "timetaken": 1, "takenby": 2, "remarks": "joined by phone", "ipaddress": ""}
    bad = [
        ({"studentid": first.userid, "statusid": 999999}, "is not in the status set"),
        ({"studentid": 999999, "statusid": first.statusid}, "is not enrolled"),
    ]
    for status, message in bad:
        with pytest.raises(MoodleError, match=message):
            client.call("local_ocasync_take_attendance", {"sessionid": first.sessionid, "statuses": [status]})
    with pytest.raises(MoodleError, match="given twice"):
        client.call("local_ocasync_take_attendance", {"sessionid": first.sessionid, "statuses": [
            {"studentid": first.userid, "statusid": first.statusid}] * 2})
    answer = client.call("local_ocasync_take_attendance", {"sessionid": first.sessionid, "statuses": [
        {"studentid": w.userid, "statusid": w.statusid} for w in (first, second)]})
    assert answer == {"sessionid": first.sessionid, "written": 2}
    log = {x["studentid"]: x for x in sb.moodle.state.attendance_log.values() if x["sessionid"] == first.sessionid}
    assert log[first.userid]["remarks"] == "joined by phone" and log[first.userid]["statusid"] == first.statusid
    assert log[second.userid]["statusset"] == ",".join(str(s["id"]) for s in reg["statuses"])
    assert sb.moodle.state.attendance_sessions[first.sessionid]["lasttaken"]


def test_sessions_not_ended_or_not_held_write_nothing(world: Any, oca: LoadedSpec) -> None:
    sb, client, zoom, store = world
    sessions = {s.key: s for ss in oca.sessions.values() for s in ss}
    early = sessions["training-02"].start - dt.timedelta(minutes=5)
    plan = att.prepare(client, zoom, oca, store, now=early, only={"training-02", "training-03"})
    assert [r.state for r in plan.sessions] == ["not ended", "not ended"]
    assert plan.plan.changes == []


def test_serve_fills_the_register_when_zoom_says_the_meeting_ended(world: Any, oca: LoadedSpec) -> None:
    import hashlib
    import hmac
    import json
    import time

    import requests

    from oca_sync.drive.archive import Archiver
    from oca_sync.serve import webhook_app
    from oca_sync.zoom.webhooks import BackgroundServer

    sb, client, zoom, store = world
    _held(sb, zoom, oca, ["training-02"])
    found = observe_meetings(zoom, desired_meetings(oca))
    mid = next(m.id for k, ms in found.items() if k.endswith(":training-02") for m in ms)
    inst = sb.zoom.instances(mid)[-1]  # this meeting was restarted: several instances
    secret = "s3cret"
    app = webhook_app(Archiver(oca, sb.drive_client(), store, zoom=zoom), store, secret, moodle=client)
    body = json.dumps({"event": "meeting.ended", "event_ts": int(time.time() * 1000),
                       "payload": {"account_id": "sandbox", "object": {"id": str(mid), "uuid": inst.uuid}}}).encode()
    writes, takes = client.stats.writes, client.stats.calls["local_ocasync_take_attendance"]
    with BackgroundServer(app) as server:
        ts = str(int(time.time()))
        sig = "v0=" + hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
        r = requests.post(server.url + "/zoom/webhook", data=body, timeout=5, headers={
            "content-type": "application/json", "x-zm-request-timestamp": ts, "x-zm-signature": sig})
        assert r.json() == {"status": "queued"}
        deadline = time.time() + 30
        while time.time() < deadline:
            h = requests.get(server.url + "/healthz", timeout=5).json()
            if h["processed"] + h["failed"] >= 1 and h["queued"] == 0:
                break
            time.sleep(0.05)
        assert h["failed"] == 0 and h["processed"] == 1
    # every listed student of training-02, in one call of the companion plugin
    assert client.stats.writes - writes == 1 and client.stats.calls["local_ocasync_take_attendance"] - takes == 1
    records = [r for r in store.attendance_records(att.scope_of(client, oca))
               if r["session"] == "OCA-KG-2022:training-02"]
    assert len(records) == 23 and all(r["written"] == r["computed"] != "" for r in records)


def test_emulated_mod_attendance_answers_like_the_lab(world: Any) -> None:
    """Shapes seen on the lab (Moodle 5.1 + mod_attendance MOODLE_403_STABLE), 2026-12-01."""
    import requests

    sb, client, _zoom, _store = world
    url = f"{sb.moodle.url}/webservice/rest/server.php"
    base = {"wstoken": sb.moodle.token, "moodlewsrestformat": "json"}

    def call(fn: str, **params: Any) -> Any:
        return requests.post(url, data={**base, "wsfunction": fn, **params}, timeout=10).json()

    sessions = call("mod_attendance_get_sessions", attendanceid=1)
    s = next(x for x in sessions if x["attendance_log"])
    assert sorted(s) == sorted([
        "absenteereport", "attendance_log", "attendanceid", "autoassignstatus", "courseid", "description",
        "descriptionformat", "duration", "groupid", "id", "includeqrcode", "lasttaken", "lasttakenby",
        "preventsharedip", "preventsharediptime", "sessdate", "statuses", "statusset", "studentscanmark",
        "studentsearlyopentime", "timemodified", "users"])
    assert [(x["acronym"], x["description"], x["grade"]) for x in s["statuses"]] == [
        ("P", "Present", 2), ("L", "Late", 1), ("E", "Excused", 1), ("A", "Absent", 0)]
    ids = {x["acronym"]: x["id"] for x in s["statuses"]}
    assert ids["P"] < ids["A"] < ids["L"] < ids["E"]  # inserted in db/install.php's order
    log = s["attendance_log"][0]
    assert isinstance(log["statusid"], str) and isinstance(log["id"], str) and log["remarks"] is None
    assert s["preventsharediptime"] is None
    assert call("mod_attendance_update_user_status", sessionid=s["id"], studentid=log["studentid"], takenbyid=2,
                statusid=ids["P"], statusset="0") is None
    for fn, params in (("mod_attendance_get_session", {"sessionid": 999999}),
                       ("mod_attendance_get_sessions", {"attendanceid": 999999}),
                       ("mod_attendance_update_user_status", {"sessionid": 999999, "studentid": 2, "takenbyid": 2,
                                                              "statusid": 1, "statusset": "0"})):
        assert call(fn, **params) == {"exception": "dml_missing_record_exception", "errorcode": "invalidrecordunknown",
                                      "message": "Can't find data record in database."}


def test_mod_attendance_functions_exist_only_with_the_plugin() -> None:
    from oca_sync.sandbox.moodle import MoodleSandbox

    with MoodleSandbox(plugin=False, attendance=False) as sb:
        absent = sb_call(sb, "mod_attendance_get_sessions", attendanceid=1)
        assert absent == sb_call(sb, "no_such_function_at_all")  # answered as an unknown function


def sb_call(sb: Any, fn: str, **params: Any) -> Any:
    import requests

    return requests.post(f"{sb.url}/webservice/rest/server.php", data={
        "wstoken": sb.token, "moodlewsrestformat": "json", "wsfunction": fn, **params}, timeout=10).json()


def test_a_missing_report_scope_is_named(world: Any, oca: LoadedSpec) -> None:
    from oca_sync.errors import OcaError
    from oca_sync.sandbox.zoom import ALL_SCOPES

    sb, client, _zoom, store = world
    now = _held(sb, _zoom, oca, ["training-03"])
    sb.zoom.scopes = tuple(s for s in ALL_SCOPES if s != "report:read:admin")
    try:
        with pytest.raises(OcaError, match="report:read:admin"):
            att.prepare(client, sb.zoom_client(), oca, store, now=now, only={"training-03"})
    finally:
        sb.zoom.scopes = ALL_SCOPES


def test_doctor_says_when_the_attendance_functions_are_missing(world: Any) -> None:
    from oca_sync.moodle.doctor import diagnose

    sb, client, _zoom, _store = world
    checks = {c.name: c for c in diagnose(client)}
    assert "attendance web services" not in checks  # the emulator's service holds every function
    # the plugin's bulk take stands in for mod_attendance's per-status write
    sb.moodle.service_functions = {f for f in sb.moodle.registry if f != "mod_attendance_update_user_status"}
    try:
        assert "attendance web services" not in {c.name for c in diagnose(client)}
        sb.moodle.service_functions = {f for f in sb.moodle.registry if not f.startswith("mod_attendance_")}
        checks = {c.name: c for c in diagnose(client)}
    finally:
        sb.moodle.service_functions = None
    assert checks["attendance web services"].status == "warn"
    assert checks["attendance web services"].detail.startswith(
        "missing from the token's service: mod_attendance_get_sessions:")
