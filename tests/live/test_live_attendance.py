"""Attendance into a real Moodle's mod_attendance registers (opt-in, like the other live tests).

Runs when OCA_MOODLE_URL and OCA_MOODLE_TOKEN are set and the site has the
companion plugin and mod_attendance (skipped otherwise). The OCA programme
is applied under a unique programme key and course shortname, with the Zoom
emulator as Zoom; two sessions' participants (the sandbox demo's) are written
to the real registers; a second run must write nothing, and a status a person
changed must stay. The course is deleted at the end when the token allows it.
"""

from __future__ import annotations

import datetime as dt
import shutil
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml

from oca_sync import sync
from oca_sync.attendance import sync as att
from oca_sync.config import SiteOptions
from oca_sync.demo import Sandboxes, give_participants, hosts_of
from oca_sync.errors import MoodleError
from oca_sync.moodle.client import MoodleClient
from oca_sync.sandbox.zoom import ZoomSandbox
from oca_sync.spec import LoadedSpec, load_spec
from oca_sync.state import StateStore
from oca_sync.zoom.client import ZoomClient

pytestmark = pytest.mark.live
ROOT = Path(__file__).resolve().parents[2]
ONLY = {"training-01", "training-02"}


@pytest.fixture
def programme(live_moodle: MoodleClient, tmp_path: Path) -> Iterator[LoadedSpec]:
    names = {f["name"] for f in live_moodle.call("core_webservice_get_site_info").get("functions", [])}
    if not {"local_ocasync_get_course_state", "mod_attendance_get_sessions"} <= names:
        pytest.skip("the site lacks the companion plugin or mod_attendance's functions")
    for folder in ("rosters", "materials", "report"):
        shutil.copytree(ROOT / "course_spec" / folder, tmp_path / folder)
    d = yaml.safe_load((ROOT / "course_spec" / "oca-kyrgyzstan-2022.yaml").read_text(encoding="utf-8"))
    tag = uuid.uuid4().hex[:6]
    d["programme"]["key"] = f"live{tag}"
    d["moodle"]["category"]["name"] = f"oca-sync live attendance {tag}"
    for c in d["courses"]:
        c["shortname"] = f"LIVE-{tag}"
    for section in ("organisations", "staff"):
        for item in d.get(section, []):
            if item.get("courses"):
                item["courses"] = [f"LIVE-{tag}"]
    path = tmp_path / "live.yaml"
    path.write_text(yaml.safe_dump(d, allow_unicode=True, sort_keys=False), encoding="utf-8")
    loaded = load_spec(path)
    yield loaded
    found = live_moodle.call("core_course_get_courses_by_field", {"field": "shortname", "value": f"LIVE-{tag}"})
    ids = [int(c["id"]) for c in found.get("courses", [])]
    try:
        if ids:
            live_moodle.call("core_course_delete_courses", {"courseids": ids})
    except MoodleError:
        pass


def test_demo_participants_fill_a_real_register_once(live_moodle: MoodleClient, programme: LoadedSpec,
                                                    tmp_path: Path) -> None:
    loaded = programme
    store = StateStore(f"sqlite:///{tmp_path}/state.sqlite")
    first = min(c.start for c in loaded.spec.courses)
    with ZoomSandbox(users=hosts_of(loaded)) as zsb:
        zsb.set_time(dt.datetime(first.year, first.month, first.day, tzinfo=dt.timezone.utc) - dt.timedelta(days=14))
        z = zsb.credentials()
        zoom = ZoomClient(z["account_id"], z["client_id"], z["client_secret"], api_base=z["api_base"],
                          oauth_url=z["oauth_url"])
        sync.apply(live_moodle, loaded, SiteOptions(languages=("en", "ru", "ky")), store, zoom=zoom)
        sb: Any = Sandboxes(None, zsb, None)  # type: ignore[arg-type]
        give_participants(sb, loaded, zoom)
        last = max(s.end for ss in loaded.sessions.values() for s in ss if s.key in ONLY)
        zsb.set_time(last.astimezone(dt.timezone.utc) + dt.timedelta(hours=2))
        now = zsb.now()

        plan = att.prepare(live_moodle, zoom, loaded, store, now=now, only=ONLY)
        assert [r.state for r in plan.sessions] == ["ended", "ended"]
        listed = sum(r.present + r.late + r.absent for r in plan.sessions)
        assert listed == len(plan.people) > 0 and len(plan.plan.changes) == listed
        takes = live_moodle.stats.calls["local_ocasync_take_attendance"]
        assert att.apply(live_moodle, plan, store).written == listed
        if plan.bulk:  # a companion plugin of 1.2 or later: one call per register
            registers = {c.payload.sessionid for c in plan.plan.changes}
            assert live_moodle.stats.calls["local_ocasync_take_attendance"] - takes == len(registers)
            for sid in registers:
                log = {int(x["studentid"]): int(x["statusid"]) for x in live_moodle.call(
                    "mod_attendance_get_session", {"sessionid": sid})["attendance_log"]}
                assert all(log[c.payload.userid] == c.payload.statusid
                           for c in plan.plan.changes if c.payload.sessionid == sid)

        writes = live_moodle.stats.writes
        again = att.prepare(live_moodle, zoom, loaded, store, now=now, only=ONLY)
        assert again.plan.changes == [] and again.plan.drift == []
        assert live_moodle.stats.writes == writes

        w = plan.plan.changes[0].payload
        reg = live_moodle.call("mod_attendance_get_session", {"sessionid": w.sessionid})
        excused = next(int(s["id"]) for s in reg["statuses"] if s["acronym"] == "E")
        live_moodle.call("mod_attendance_update_user_status", {
            "sessionid": w.sessionid, "studentid": w.userid, "takenbyid": plan.takenby, "statusid": excused,
            "statusset": str(w.statusset)})
        third = att.prepare(live_moodle, zoom, loaded, store, now=now, only=ONLY)
        assert third.plan.changes == []
        assert [(d.fields[0].old, d.fields[0].new) for d in third.plan.drift] == [(w.acronym, "E")]
