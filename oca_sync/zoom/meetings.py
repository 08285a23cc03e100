"""Zoom meetings from the spec: desired, observed, planned, applied.

**Identity.** Every meeting carries a short marker at the very start of its
agenda, ``[oca:kg2022 3f9a1c2b7d4e 5d41a8]``: the programme's scope, a digest
of the session's key (prefix:programme:course:session) and a digest of the
agenda's text. Zoom's "List meetings" cuts ``agenda`` to 250 characters
(OpenAPI, ``GET /users/{userId}/meetings``: "The length of agenda gets truncated to
250 characters when you list all meetings for a user"), so the marker is at
most 73 characters by construction and sits before any text: it survives that
cut, whatever the description's length or script, and a host adding a few lines
above it. Losing the local state therefore never creates a duplicate.

A **ledger** in the state store (key → meeting id, written by ``apply``) covers
what a marker cannot: a host who deleted or pushed the marker out of the first
250 characters. A listed meeting whose id the ledger holds is ours, and a
recorded meeting missing from the listings is read by id (``GET
/meetings/{id}``) before anything is created for its session: a listing never
leads to a create while a meeting with a recorded id exists.

Meetings made by earlier versions (``oca-key: <key>`` on the agenda's last
line) are adopted when the listing shows that line; their agenda is then
rewritten to the current form.

**Cost.** Only the fields that the listing returns are compared (topic, start
time, time zone, duration, agenda), so a no-op plan costs one listing per host.
The listing shows at most 250 characters of the agenda; the agenda digest in
the marker makes a change further down visible all the same. Meeting settings
are set on create (a PATCH sends only the changed fields).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from ..errors import OcaError
from ..moodle.model import Keys
from ..plan import Action, Change, FieldChange, Notice, Plan, diff_fields
from ..spec import LoadedSpec
from ..spec.multilang import plain
from .client import ZoomClient
from .errors import ZoomDailyLimitReached, ZoomNotFound

if TYPE_CHECKING:
    from ..state import StateStore

SYSTEM = "zoom"
#: Zoom's create/update limit per host user and day (DESIGN.md; Zoom "Rate limits" docs).
DAILY_LIMIT = 100
TOPIC_MAX = 200  # MeetingCreate.topic maxLength in the OpenAPI document
AGENDA_MAX = 2000  # MeetingCreate.agenda maxLength
#: "List meetings" returns at most this many characters of ``agenda`` (OpenAPI, meetings[].agenda).
LISTED_AGENDA_MAX = 250
_KEY_DIGEST = 12  # hex digits of sha256(key): 48 bits, no collision among any host's meetings
_TEXT_DIGEST = 6
_MARKER = re.compile(r"\[(?P<scope>[a-z][a-z0-9]{0,9}:[a-z0-9][a-z0-9_.-]{0,39}) "
                     r"(?P<id>[0-9a-f]{12}) (?P<text>[0-9a-f]{6})\]")
#: The marker of earlier versions, on the agenda's last line (lost when the listing cut it off).
_LEGACY_MARKER = re.compile(r"(?m)^oca-key: (\S+)\s*$")
#: Ledger kind in the state store (scope ``zoom:<prefix>:<programme>``).
LEDGER_KIND = "meeting"


@dataclass(frozen=True)
class Meeting:
    key: str
    host: str  # Zoom user id or e-mail of the host
    topic: str
    start_time: str  # local wall-clock time, no offset: "2022-01-17T15:00:00"
    timezone: str
    duration: int
    agenda: str
    id: int | None = None
    join_url: str = ""
    #: False when read from a listing, whose agenda Zoom cuts to LISTED_AGENDA_MAX characters.
    agenda_complete: bool = True
    #: How an observed meeting was recognised: "marker", "legacy" (old marker), "ledger" (by id).
    found_by: str = "marker"

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k in ("topic", "start_time", "timezone", "duration", "agenda")}


@dataclass
class DesiredMeetings:
    meetings: dict[str, Meeting] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # MeetingCreate.settings for every meeting
    scope: str = ""  # "<key_prefix>:<programme key>": whose markers these are

    @property
    def hosts(self) -> set[str]:
        """The Zoom users whose meetings we manage (each is listed once when observing)."""
        return {m.host for m in self.meetings.values()}


def key_digest(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()[:_KEY_DIGEST]


def marker(scope: str, key: str, text: str) -> str:
    """``[oca:kg2022 3f9a1c2b7d4e 5d41a8]``: at most 73 characters, whatever the key."""
    return f"[{scope} {key_digest(key)} {hashlib.sha256(text.encode()).hexdigest()[:_TEXT_DIGEST]}]"


def agenda_for(scope: str, key: str, description: str) -> str:
    """The marker first, then the description (cut to Zoom's 2,000 characters)."""
    room = AGENDA_MAX - len(marker(scope, key, "")) - 2
    text = description.strip()[:room].rstrip()
    head = marker(scope, key, text)
    return f"{head}\n\n{text}" if text else head


def desired_meetings(loaded: LoadedSpec) -> DesiredMeetings:
    """One scheduled meeting per session that has a host."""
    spec = loaded.spec
    langs = list(spec.programme.languages)
    hosts = {s.key: s.zoom_user or s.email for s in spec.staff}
    z = spec.zoom
    keys = Keys(spec.programme.key_prefix, spec.programme.key)
    scope = keys.category  # "<prefix>:<programme>": whose markers these are
    out = DesiredMeetings(settings={
        "auto_recording": z.auto_recording,
        "waiting_room": z.waiting_room,
        "join_before_host": z.join_before_host,
        "mute_upon_entry": z.mute_upon_entry,
        **({"alternative_hosts": ";".join(z.alternative_hosts)} if z.alternative_hosts else {}),
    }, scope=scope)
    for course in spec.courses:
        for s in loaded.sessions.get(course.shortname, ()):
            if not s.host:
                continue
            key = keys.event(course.shortname, s.key)  # the session's key, as Moodle's event carries it
            summary = plain(s.summary, langs[0], langs) if s.summary else ""
            out.meetings[key] = Meeting(
                key=key, host=hosts[s.host], topic=plain(s.title, langs[0], langs)[:TOPIC_MAX],
                # Local start with the session's zone: Zoom keeps the host's wall time across offset changes.
                start_time=s.start.strftime("%Y-%m-%dT%H:%M:%S"), timezone=s.timezone,
                duration=s.duration, agenda=agenda_for(scope, key, summary),
            )
    return out


def ledger_scope(desired: DesiredMeetings) -> str:
    return f"zoom:{desired.scope}"


def read_ledger(store: StateStore | None, desired: DesiredMeetings) -> dict[str, int]:
    """Key → id of the meetings apply made or found (empty without a store)."""
    if store is None:
        return {}
    return {key: int(data["id"]) for (kind, key), data in store.applied_state(ledger_scope(desired)).items()
            if kind == LEDGER_KIND and data.get("id")}


def record_ledger(store: StateStore, desired: DesiredMeetings, observed: Mapping[str, list[Meeting]],
                  created: Mapping[str, int] | None = None) -> None:
    """Remember the meeting of every desired key (the first one observed, or the one just created)."""
    created = created or {}
    now: dict[str, int] = {}
    for key in desired.meetings:
        have = [m.id for m in observed.get(key, []) if m.id is not None]
        if key in created:
            now[key] = created[key]
        elif have:
            now[key] = have[0]
    scope = ledger_scope(desired)
    old = {k for (kind, k) in store.applied_state(scope) if kind == LEDGER_KIND}
    items: dict[tuple[str, str], dict[str, Any] | None] = {(LEDGER_KIND, k): None for k in old - set(now)}
    items.update({(LEDGER_KIND, k): {"id": v} for k, v in now.items()})
    store.record_applied(scope, items)


def observe_meetings(client: ZoomClient, desired: DesiredMeetings, *,
                     ledger: Mapping[str, int] | None = None) -> dict[str, list[Meeting]]:
    """Our meetings by key, from one listing per host (duplicates kept, to be cleaned).

    A meeting is ours when its agenda carries our marker (or the old one), or
    when the ledger holds its id. Meetings of this programme that the spec no
    longer has are returned under ``#<digest>`` (for ``--prune``); other
    programmes' and other people's meetings are never returned.
    """
    if not desired.scope and desired.meetings:
        raise ValueError("DesiredMeetings.scope is needed to recognise our meetings (use desired_meetings())")
    ledger = dict(ledger or {})
    by_digest = {key_digest(k): k for k in desired.meetings}
    by_id = {mid: key for key, mid in ledger.items()}
    found: dict[str, list[Meeting]] = defaultdict(list)
    listed: set[int] = set()
    for host in sorted(desired.hosts):
        try:
            items = client.list_meetings(host, type="scheduled")
        except ZoomNotFound:
            raise OcaError(f"Zoom has no user {host!r} in this account: host sessions with a licensed Zoom user "
                           "(staff zoom_user in the spec, default their e-mail)") from None
        for item in items:
            listed.add(int(item["id"]))
            key, how = _identify(item.get("agenda") or "", desired.scope, by_digest)
            if key is None and int(item["id"]) in by_id:
                key, how = by_id[int(item["id"])], "ledger"  # a host removed the marker
            if key is not None:
                found[key].append(_from_zoom(item, host, key, how, complete=False))
    # A recorded meeting that no listing showed (another host, or listed no more): ask for it by id
    # before its session is planned as a create. Costs a call only where a create would follow.
    for key, mid in sorted(ledger.items()):
        if key in desired.meetings and not found.get(key) and mid not in listed:
            try:
                item = client.get_meeting(mid)
            except ZoomNotFound:
                continue  # deleted in Zoom: created again
            want = desired.meetings[key].host.lower()
            hosts = {str(item.get(k) or "").lower() for k in ("host_email", "host_id")}
            host = desired.meetings[key].host if want in hosts else str(item.get("host_email") or "")
            found[key].append(_from_zoom(item, host, key, "ledger", complete=True))
    for key, have in found.items():
        if key in ledger:  # the recorded meeting first: it is the one kept
            have.sort(key=lambda m: m.id != ledger[key])
    return dict(found)


def _identify(agenda: str, scope: str, by_digest: Mapping[str, str]) -> tuple[str | None, str]:
    for m in _MARKER.finditer(agenda):
        if m.group("scope") == scope:
            return by_digest.get(m.group("id"), f"#{m.group('id')}"), "marker"
    legacy = _LEGACY_MARKER.search(agenda)
    if legacy and legacy.group(1).startswith(scope + ":"):
        key = legacy.group(1)
        return (key if key_digest(key) in by_digest else f"#{key_digest(key)}"), "legacy"
    return None, ""


def _from_zoom(item: dict[str, Any], host: str, key: str, found_by: str, *, complete: bool) -> Meeting:
    tzname = item.get("timezone") or "UTC"
    start = item.get("start_time") or ""
    local = ""
    if start:
        # Zoom answers in UTC ("…Z") with the meeting's time zone beside it.
        moment = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        local = moment.astimezone(ZoneInfo(tzname)).strftime("%Y-%m-%dT%H:%M:%S")
    return Meeting(key=key, host=host, topic=item.get("topic", ""), start_time=local, timezone=tzname,
                   duration=int(item.get("duration") or 0), agenda=item.get("agenda") or "",
                   id=int(item["id"]), join_url=item.get("join_url") or "", agenda_complete=complete,
                   found_by=found_by)


def _as_seen(want: Meeting, have: Meeting) -> dict[str, Any]:
    """``want``'s fields as Zoom would show them where ``have`` was read (a listing cuts the agenda)."""
    fields = want.fields()
    if not have.agenda_complete:
        fields["agenda"] = want.agenda[:LISTED_AGENDA_MAX]
    return fields


@dataclass(frozen=True)
class MeetingPayload:
    meeting: Meeting  # desired (create/update) or observed (delete)
    id: int | None = None
    body: dict[str, Any] | None = None


def plan_zoom(desired: DesiredMeetings, observed: dict[str, list[Meeting]], *, prune: bool = False) -> Plan:
    plan = Plan()
    writes: Counter[str] = Counter()
    for key, want in desired.meetings.items():
        label = key.split(":", 2)[-1]
        have = observed.get(key, [])
        if not have:
            body = {"topic": want.topic, "type": 2, "start_time": want.start_time, "timezone": want.timezone,
                    "duration": want.duration, "agenda": want.agenda, "settings": desired.settings}
            plan.changes.append(Change(SYSTEM, "meeting", label, Action.CREATE,
                                       (FieldChange("host", None, want.host), FieldChange("topic", None, want.topic),
                                        FieldChange("start_time", None, f"{want.start_time} {want.timezone}"),
                                        FieldChange("duration", None, f"{want.duration} min"),
                                        FieldChange("settings", None, dict(desired.settings))),
                                       MeetingPayload(want, body=body)))
            writes[want.host] += 1
            continue
        cur, dupes = have[0], have[1:]
        fields = diff_fields(cur.fields(), _as_seen(want, cur))
        if fields:
            body = {f.name: f.new for f in fields}
            if "agenda" in body:
                body["agenda"] = want.agenda  # the whole text, not the part a listing shows
            if "start_time" in body:
                body["timezone"] = want.timezone  # a local time means nothing without its zone
            note = {"ledger": "its agenda lost our marker: found by the id oca-sync recorded",
                    "legacy": "made by an earlier oca-sync: its agenda gets the current marker"}.get(cur.found_by)
            plan.changes.append(Change(SYSTEM, "meeting", label, Action.UPDATE, fields,
                                       MeetingPayload(want, id=cur.id, body=body), note=note or ""))
            writes[cur.host] += 1
        if cur.found_by == "ledger" and cur.agenda_complete and cur.host != want.host:
            plan.notices.append(Notice("warning", (
                f"Zoom meeting {cur.id} of {label} is hosted by {cur.host}, the spec says {want.host}: Zoom cannot "
                "move a meeting to another host; delete it in Zoom to have it made for the new host")))
        for d in dupes:
            # A second meeting with our marker (a host's copy, or a create whose answer was lost and that a
            # crash kept out of the ledger) may be the one whose link people hold, or hold its recordings:
            # deleted only with --prune, like every object the spec does not name.
            plan.delete(Change(SYSTEM, "meeting", label, Action.DELETE, (), MeetingPayload(d, id=d.id),
                               note=f"duplicate {d.id} of our meeting {cur.id} (host {d.host}, "
                                    f"{d.start_time.replace('T', ' ')[:16]} {d.timezone})"), prune)
            if not prune:
                plan.notices.append(Notice("warning", (
                    f"Zoom meeting {d.id} carries the key of {label} like meeting {cur.id}, which oca-sync keeps "
                    f"(its join link is the one in Moodle): check that nobody uses {d.id}'s link, then delete it "
                    "in Zoom or run with --prune")))
    for key, have in observed.items():
        if key not in desired.meetings:
            for d in have:
                # A meeting of ours whose key the spec no longer has is known by its digest only.
                label = key.split(":", 2)[-1] if not key.startswith("#") else d.topic
                plan.delete(Change(SYSTEM, "meeting", label, Action.DELETE, (),
                                   MeetingPayload(d, id=d.id),
                                   f"{d.start_time.replace('T', ' ')[:16]} {d.timezone}, {d.duration} min, "
                                   f"host {d.host}, meeting {d.id}"), prune)
    for host, n in writes.items():
        if n > DAILY_LIMIT:
            plan.notices.append(Notice("warning", (
                f"Zoom host {host}: {n} meetings to create or update, over Zoom's limit of {DAILY_LIMIT} a day; "
                f"apply stops at the limit and the next run (after 00:00 UTC) continues")))
    return plan


@dataclass
class ZoomResult:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    join_urls: dict[str, str] = field(default_factory=dict)  # key -> join URL of created meetings
    created_ids: dict[str, int] = field(default_factory=dict)  # key -> id of created meetings (for the ledger)
    stopped: ZoomDailyLimitReached | None = None
    remaining: int = 0


def apply_zoom(client: ZoomClient, plan: Plan, *, progress: Callable[[Change], None] | None = None) -> ZoomResult:
    """Create, update and delete; stop cleanly at a host's daily limit (the next run continues)."""
    result = ZoomResult()
    limited: set[str] = set()
    todo = [c for c in plan.changes if c.system == SYSTEM]
    for c in todo:
        p: MeetingPayload = c.payload
        if p.meeting.host in limited and c.action is not Action.DELETE:
            result.remaining += 1
            continue
        try:
            if c.action is Action.CREATE:
                made = client.create_meeting(p.meeting.host, p.body or {})
                result.join_urls[p.meeting.key] = str(made.get("join_url", ""))
                if made.get("id") is not None:
                    result.created_ids[p.meeting.key] = int(made["id"])
                result.created += 1
            elif c.action is Action.UPDATE:
                assert p.id is not None
                client.update_meeting(p.id, p.body or {})
                result.updated += 1
            else:
                assert p.id is not None
                client.delete_meeting(p.id)
                result.deleted += 1
        except ZoomDailyLimitReached as e:
            limited.add(p.meeting.host)
            result.stopped = e
            result.remaining += 1
            continue
        if progress:
            progress(c)
    return result


def join_urls(observed: dict[str, list[Meeting]]) -> dict[str, str]:
    """The join link of each of our meetings (never the host's start link)."""
    return {key: have[0].join_url for key, have in observed.items() if have and have[0].join_url}


def past_session_warnings(plan: Plan, loaded: LoadedSpec, now: dt.datetime) -> list[Notice]:
    """Meetings to create or move for sessions already held: say so before it happens.

    A held session's attendance and recordings belong to the meeting as it was: a
    new meeting for it is an empty one in the past, a moved one loses that link.
    """
    keys = Keys(loaded.spec.programme.key_prefix, loaded.spec.programme.key)
    held = {keys.event(course, s.key): s for course, ss in loaded.sessions.items() for s in ss if s.end <= now}
    created, moved = [], []
    for c in plan.changes:
        meeting = getattr(c.payload, "meeting", None)
        session = held.get(getattr(meeting, "key", ""))
        if session is None:
            continue
        if c.action is Action.CREATE:
            created.append(f"{session.key} ({session.start:%Y-%m-%d})")
        elif c.action is Action.UPDATE and any(f.name in ("start_time", "duration", "timezone") for f in c.fields):
            moved.append(f"{session.key} ({session.start:%Y-%m-%d})")
    notices = []
    if created:
        notices.append(Notice("warning", (
            f"{len(created)} session(s) are already over but have no Zoom meeting: apply creates meetings in the "
            f"past, which nobody can attend (e.g. {', '.join(created[:3])})")))
    if moved:
        notices.append(Notice("warning", (
            f"{len(moved)} session(s) already held would get a new time in Zoom; their attendance and recordings "
            f"stay with the old time (e.g. {', '.join(moved[:3])})")))
    return notices
