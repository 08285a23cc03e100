"""A meeting keeps its identity through whatever Zoom and its hosts do to the agenda.

Zoom's "List meetings" cuts ``agenda`` to 250 characters; hosts edit agendas.
Each test applies a programme unlike the OCA example (Russian first, two
courses, long Cyrillic descriptions) to the emulators and checks that the next
apply creates nothing.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from oca_sync import sync
from oca_sync.demo import sandboxes
from oca_sync.plan import Action
from oca_sync.spec import LoadedSpec, parse_spec_text
from oca_sync.state import StateStore
from oca_sync.zoom.client import ZoomClient
from oca_sync.zoom.meetings import LISTED_AGENDA_MAX, desired_meetings, key_digest

CREATE = "POST /users/{userId}/meetings"
PATCH = "PATCH /meetings/{meetingId}"
LIST = "GET /users/{userId}/meetings"
GET = "GET /meetings/{meetingId}"

# 2,000 characters of Russian (two bytes each in UTF-8), with an English version beside it.
LONG_RU = ("Цифровая грамотность для гражданского общества: как вести сообщество в сети, "
           "планировать кампанию и измерять её влияние. ") * 17
LONG_RU = LONG_RU[:2000]
assert len(LONG_RU) == 2000

SPEC = """
programme: {{key: ident, name: {{ru: Идентичность, en: Identity}}, languages: [ru, en], timezone: Asia/Almaty}}
moodle: {{category: {{name: Identity}}}}
courses:
  - shortname: ID-A
    fullname: Курс А
    start: 2024-02-01
    end: 2024-03-31
    sessions:
      - key: intro
        kind: training
        title: {{ru: Введение, en: Introduction}}
        summary: {{ru: "{ru}", en: "{en}"}}
        start: 2024-02-05 10:00
        duration: 60
        host: h1
      - key: weekly
        kind: mentoring
        title: "Встреча {{n}}"
        summary: "{ru}"
        duration: 45
        host: h2
        recurrence: {{rrule: "FREQ=WEEKLY;COUNT=3", start: "2024-02-07T15:00"}}
  - shortname: ID-B
    fullname: Курс Б
    start: 2024-02-01
    end: 2024-03-31
    sessions:
      - key: intro
        kind: training
        title: Введение (Б)
        summary: "{ru}"
        start: 2024-02-06 10:00
        duration: 60
        host: h1
staff:
  - {{key: h1, firstname: Айгуль, lastname: Садыкова, email: host1@example.org, role: trainer}}
  - {{key: h2, firstname: Данияр, lastname: Омаров, email: host2@example.org, role: trainer}}
"""


def load(ru: str = LONG_RU, en: str = "English summary") -> LoadedSpec:
    return parse_spec_text(SPEC.format(ru=ru, en=en), "identity.yaml")


@pytest.fixture
def loaded() -> LoadedSpec:
    return load()


@pytest.fixture
def sb(loaded):
    with sandboxes(loaded) as s:
        yield s


@pytest.fixture
def zoom(sb) -> ZoomClient:
    c = sb.zoom_client()
    c.backoff = 0.01
    return c


def run(sb, loaded, store, zoom, **kw):
    return sync.apply(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom, **kw)


def zoom_plan(sb, loaded, store, zoom):
    return [c for c in sync.prepare(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom).plan.changes
            if c.system == "zoom"]


def meetings(sb) -> list:
    return [m for m in sb.zoom.meetings.values() if not m.deleted]


def test_the_emulator_lists_agendas_cut_to_250_characters(sb, zoom):
    made = zoom.create_meeting("host1@example.org", {"topic": "t", "type": 2, "agenda": LONG_RU,
                                                     "start_time": "2024-02-05T10:00:00", "timezone": "Asia/Almaty"})
    [listed] = [m for m in zoom.list_meetings("host1@example.org") if m["id"] == made["id"]]
    assert listed["agenda"] == LONG_RU[:250]
    assert zoom.get_meeting(made["id"])["agenda"] == LONG_RU


def test_the_marker_survives_the_listing_cut(loaded):
    for want in desired_meetings(loaded).meetings.values():
        assert len(want.agenda) > LISTED_AGENDA_MAX  # the description alone is 2,000 characters
        listed = want.agenda[:LISTED_AGENDA_MAX]
        assert listed.startswith(f"[oca:ident {key_digest(want.key)} ")
        assert len(want.agenda) <= 2000  # MeetingCreate.agenda maxLength


def test_long_cyrillic_description_makes_one_meeting_per_session(sb, zoom, store, loaded):
    run(sb, loaded, store, zoom)
    assert sb.zoom.calls.count(CREATE) == 5 and len(meetings(sb)) == 5
    sb.zoom.calls.clear()
    again = run(sb, loaded, store, zoom)
    assert not [c for c in again.plan.changes if c.system == "zoom"]
    assert sb.zoom.calls.count(CREATE) == 0 and sb.zoom.calls.count(PATCH) == 0
    assert len(meetings(sb)) == 5
    # the full text reached Zoom, marker first
    full = zoom.get_meeting(meetings(sb)[0].id)["agenda"]
    assert full.startswith("[oca:ident ") and "Цифровая грамотность" in full


def test_lost_state_and_long_description_make_no_duplicate(sb, zoom, loaded, tmp_path):
    run(sb, loaded, StateStore(f"sqlite:///{tmp_path}/a.sqlite"), zoom)
    sb.zoom.calls.clear()
    fresh = StateStore(f"sqlite:///{tmp_path}/b.sqlite")
    assert not zoom_plan(sb, loaded, fresh, zoom)
    run(sb, loaded, fresh, zoom)
    assert sb.zoom.calls.count(CREATE) == 0 and len(meetings(sb)) == 5


def test_host_removing_the_marker_is_repaired_not_duplicated(sb, zoom, store, loaded):
    run(sb, loaded, store, zoom)
    victim = meetings(sb)[0]
    zoom.update_meeting(victim.id, {"agenda": "Повестка, переписанная ведущим. " * 20})  # marker gone
    [change] = zoom_plan(sb, loaded, store, zoom)
    assert change.action is Action.UPDATE and change.payload.id == victim.id
    assert "marker" in change.note
    sb.zoom.calls.clear()
    run(sb, loaded, store, zoom)
    assert sb.zoom.calls.count(CREATE) == 0 and sb.zoom.calls.count(PATCH) == 1
    assert sb.zoom.meetings[victim.id].agenda.startswith("[oca:ident ")
    assert not zoom_plan(sb, loaded, store, zoom)


def test_host_pushing_the_marker_out_of_the_listing_is_found_by_id(sb, zoom, store, loaded):
    run(sb, loaded, store, zoom)
    victim = meetings(sb)[0]
    pushed = ("Заметки ведущего. " * 20 + "\n\n" + victim.agenda)[:2000]
    assert pushed.index("[oca:ident ") > LISTED_AGENDA_MAX
    zoom.update_meeting(victim.id, {"agenda": pushed})
    sb.zoom.calls.clear()
    run(sb, loaded, store, zoom)
    assert sb.zoom.calls.count(CREATE) == 0 and len(meetings(sb)) == 5
    assert not zoom_plan(sb, loaded, store, zoom)


def test_a_change_beyond_the_listed_characters_is_seen(sb, zoom, store, loaded):
    run(sb, loaded, store, zoom)
    edited = load(ru=LONG_RU[:1500] + "Новый конец описания." + LONG_RU[1521:])
    changes = zoom_plan(sb, edited, store, zoom)
    assert len(changes) == 5 and all(c.action is Action.UPDATE for c in changes)
    assert all("Новый конец описания." in c.payload.body["agenda"] for c in changes)
    run(sb, edited, store, zoom)
    assert not zoom_plan(sb, edited, store, zoom)


def test_recorded_meeting_missing_from_the_listing_is_never_created_again(sb, zoom, store, loaded):
    run(sb, loaded, store, zoom)
    victim = meetings(sb)[0]
    victim.host_id = sb.zoom.add_user("someone.else@example.org")  # e.g. moved to another host by an administrator
    sb.zoom.calls.clear()
    prep = sync.prepare(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom)
    assert not [c for c in prep.plan.changes if c.system == "zoom" and c.action is Action.CREATE]
    assert sb.zoom.calls.count(GET) == 1  # read by the id the ledger holds
    assert any("someone.else@example.org" in n.message for n in prep.plan.notices)
    # once deleted in Zoom, the session gets a meeting again
    zoom.delete_meeting(victim.id)
    [change] = zoom_plan(sb, loaded, store, zoom)
    assert change.action is Action.CREATE


def test_meetings_of_earlier_versions_are_adopted(sb, zoom, store):
    short = load(ru="Коротко.", en="Short.")
    desired = desired_meetings(short)
    for key, want in desired.meetings.items():  # as oca-sync made them before: key on the last line
        zoom.create_meeting(want.host, {"topic": want.topic, "type": 2, "start_time": want.start_time,
                                        "timezone": want.timezone, "duration": want.duration,
                                        "agenda": f"Коротко.\n\noca-key: {key}"})
    changes = zoom_plan(sb, short, store, zoom)
    assert len(changes) == 5 and {c.action for c in changes} == {Action.UPDATE}
    sb.zoom.calls.clear()
    run(sb, short, store, zoom)
    assert sb.zoom.calls.count(CREATE) == 0 and len(meetings(sb)) == 5
    assert all(m.agenda.startswith("[oca:ident ") for m in meetings(sb))
    assert not zoom_plan(sb, short, store, zoom)


def test_prune_leaves_other_programmes_meetings_alone(sb, zoom, store, loaded, tmp_path):
    run(sb, loaded, store, zoom)
    other = parse_spec_text(SPEC.replace("key: ident", "key: other").replace("ID-", "OT-").format(ru="Другая.", en="Other."), "o.yaml")
    run(sb, other, StateStore(f"sqlite:///{tmp_path}/other.sqlite"), zoom)
    assert len(meetings(sb)) == 10
    fewer = replace(loaded, sessions={**loaded.sessions, "ID-B": []})
    sb.zoom.calls.clear()
    run(sb, fewer, store, zoom, prune=True)
    assert len(meetings(sb)) == 9  # only our ID-B meeting went
    assert sum(1 for m in meetings(sb) if m.agenda.startswith("[oca:other ")) == 5


def test_a_recorded_meeting_the_listing_omits_is_read_by_id(sb, zoom, store, loaded):
    # Zoom lists only unexpired scheduled meetings (OpenAPI, List meetings); here the emulator hides one
    # by making it an instant meeting, which the listing never shows.
    run(sb, loaded, store, zoom)
    victim = meetings(sb)[0]
    victim.type = 1
    sb.zoom.calls.clear()
    prep = sync.prepare(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom)
    assert not [c for c in prep.plan.changes if c.system == "zoom"]
    assert not [n for n in prep.plan.notices if "hosted by" in n.message]
    assert sb.zoom.calls.count(GET) == 1
    # without the ledger only the listing is known: then, and only then, the session would get a new meeting
    fresh = StateStore(f"sqlite:///{store.url.rsplit('/', 1)[0].removeprefix('sqlite:///')}/fresh.sqlite")
    assert [c.action for c in zoom_plan(sb, loaded, fresh, zoom)] == [Action.CREATE]


def test_a_duplicate_meeting_is_deleted_only_with_prune(sb, zoom, store, loaded):
    run(sb, loaded, store, zoom)
    kept = meetings(sb)[0]
    full = zoom.get_meeting(kept.id)
    copy = zoom.create_meeting("host1@example.org", {  # a host's copy, marker and all
        "topic": full["topic"], "type": 2, "agenda": full["agenda"], "start_time": "2024-02-05T10:00:00",
        "timezone": "Asia/Almaty", "duration": 60})
    prep = sync.prepare(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom)
    assert not [c for c in prep.plan.changes if c.system == "zoom"]  # nothing deleted without --prune
    [orphan] = [c for c in prep.plan.orphans if c.system == "zoom"]
    assert orphan.payload.id == copy["id"] and f"duplicate {copy['id']} of our meeting {kept.id}" in orphan.note
    assert any(str(copy["id"]) in n.message and "--prune" in n.message for n in prep.plan.notices)
    run(sb, loaded, store, zoom)
    assert not sb.zoom.meetings[copy["id"]].deleted
    pruned = sync.prepare(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom, prune=True)
    [delete] = [c for c in pruned.plan.changes if c.system == "zoom"]
    assert delete.action is Action.DELETE and delete.payload.id == copy["id"]
    run(sb, loaded, store, zoom, prune=True)
    assert sb.zoom.meetings[copy["id"]].deleted and not sb.zoom.meetings[kept.id].deleted
