"""tests/specs/clock-weeks.yaml against a real Moodle with the companion plugin (opt-in).

What the emulator was made to do is checked where it counts: Moodle keeps the
name PARAM_FILE leaves, format_weeks keeps the spec's end date once
automaticenddate is off, a 0-10 rating is stored as 0..10, and a second apply
makes no write call. The programme gets a unique key; its courses, category and
users are deleted at the end when the token allows.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
from collections.abc import Iterator
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from oca_sync import sync
from oca_sync.config import SiteOptions
from oca_sync.errors import MoodleError
from oca_sync.moodle.client import MoodleClient
from oca_sync.spec import LoadedSpec, parse_spec_text
from oca_sync.state import StateStore

pytestmark = pytest.mark.live

SPEC = Path(__file__).resolve().parents[1] / "specs" / "clock-weeks.yaml"
PEOPLE = ("dana.k", "jonas.b", "aigerim.n", "yerlan.s")


@pytest.fixture
def loaded(live_moodle: MoodleClient) -> Iterator[LoadedSpec]:
    try:
        live_moodle.call("local_ocasync_get_info")
    except MoodleError as e:
        pytest.skip(f"local_ocasync is not available to this token ({e.errorcode})")
    key = f"mc{uuid.uuid4().hex[:8]}"
    # Shortnames, usernames and e-mail addresses are unique site-wide: make them this run's own.
    text = SPEC.read_text(encoding="utf-8").replace("key: mcorrect", f"key: {key}").replace(
        "ML-KZ-2024", f"ML-{key}").replace("@example.org", f"@{key}.example.org")
    for person in PEOPLE:
        text = text.replace(person, f"{person}.{key}")
    yield parse_spec_text(text, str(SPEC), SPEC.parent)
    _delete_programme(live_moodle, key)


def _delete_programme(client: MoodleClient, key: str) -> None:
    try:
        for cat in client.call("core_course_get_categories", {"criteria": [{"key": "idnumber", "value": f"oca:{key}"}]}):
            courses = client.call("core_course_get_courses_by_field", {"field": "category", "value": cat["id"]})["courses"]
            if courses:
                client.call("core_course_delete_courses", {"courseids": [c["id"] for c in courses]})
            client.call("core_course_delete_categories", {"categories": [{"id": cat["id"], "recursive": 1}]})
        users = client.call("core_user_get_users_by_field", {"field": "idnumber", "values": [
            f"oca:{key}:{p}.{key}" for p in PEOPLE]})
        if users:
            client.call("core_user_delete_users", {"userids": [u["id"] for u in users]})
    except MoodleError:
        pass  # a least-privilege token cannot delete: the objects stay behind


def test_second_programme_on_a_real_moodle(live_moodle: MoodleClient, loaded: LoadedSpec, tmp_path: Path) -> None:
    store = StateStore(f"sqlite:///{tmp_path}/state.sqlite")
    site = SiteOptions(languages=("en", "ru"))
    assert sync.apply(live_moodle, loaded, site, store).applied
    assert not live_moodle.warnings, live_moodle.warnings

    key = loaded.spec.programme.key
    [weeks] = live_moodle.call("core_course_get_courses_by_field",
                               {"field": "idnumber", "value": f"oca:{key}:ML-{key}"})["courses"]
    assert weeks["enddate"] == int(dt.datetime(2024, 4, 14, 23, 59, tzinfo=ZoneInfo("Asia/Almaty")).timestamp())
    assert {o["name"]: o["value"] for o in weeks["courseformatoptions"]}["automaticenddate"] == 0
    state = live_moodle.call("local_ocasync_get_course_state", {"courseid": weeks["id"]})
    mods = {m["idnumber"].split(":", 3)[-1]: m for m in state["modules"]}
    assert json.loads(mods["kickoff:guide"]["settings"])["filename"] == "boyicha  tahlil.md"
    questions = {q["key"]: q for q in json.loads(mods["survey-post"]["settings"])["questions"]}
    assert questions["recommend"]["presentation"] == "r>>>>>" + "|".join(f"{v}####{v}" for v in range(11))
    summaries = {s["key"]: s["summary"] for s in state["sections"] if s["key"]}
    assert "2024-02-29 22:30 UTC+06–23:00 UTC+05 (Asia/Almaty)" in summaries["kickoff"]

    writes = live_moodle.stats.writes
    again = sync.apply(live_moodle, loaded, site, store)
    assert again.plan.empty, [(c.kind, c.key, c.fields) for c in again.plan.changes]
    assert live_moodle.stats.writes == writes
