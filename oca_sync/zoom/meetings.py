"""Zoom meetings from the spec: desired, observed, planned, applied.

Our key is written on the last line of each meeting's agenda
(``oca-key: oca:kg2022:OCA-KG-2022:training-01``), so losing the local state
never creates a duplicate: observing lists each host's meetings once and keeps
those carrying our key. Only the fields that the listing returns are compared
(topic, start time, time zone, duration, agenda), so a no-op plan costs one
listing per host; meeting settings are set on create (a PATCH sends only the
changed fields).
"""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from ..plan import Action, Change, FieldChange, Notice, Plan, diff_fields
from ..spec import LoadedSpec
from ..spec.multilang import plain
from .client import ZoomClient
from ..errors import OcaError
from .errors import ZoomDailyLimitReached, ZoomNotFound

SYSTEM = "zoom"
#: Zoom's create/update limit per host user and day (DESIGN.md; Zoom "Rate limits" docs).
DAILY_LIMIT = 100
TOPIC_MAX = 200  # MeetingCreate.topic maxLength in the OpenAPI document
AGENDA_MAX = 2000  # MeetingCreate.agenda maxLength
_MARKER = re.compile(r"(?m)^oca-key: (\S+)\s*$")


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

    def fields(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k in ("topic", "start_time", "timezone", "duration", "agenda")}


@dataclass
class DesiredMeetings:
    meetings: dict[str, Meeting] = field(default_factory=dict)
    settings: dict[str, Any] = field(default_factory=dict)  # MeetingCreate.settings for every meeting

    @property
    def hosts(self) -> set[str]:
        """The Zoom users whose meetings we manage (each is listed once when observing)."""
        return {m.host for m in self.meetings.values()}


def marker(key: str) -> str:
    return f"oca-key: {key}"


def desired_meetings(loaded: LoadedSpec) -> DesiredMeetings:
    """One scheduled meeting per session that has a host."""
    spec = loaded.spec
    langs = list(spec.programme.languages)
    hosts = {s.key: s.zoom_user or s.email for s in spec.staff}
    z = spec.zoom
    out = DesiredMeetings(settings={
        "auto_recording": z.auto_recording,
        "waiting_room": z.waiting_room,
        "join_before_host": z.join_before_host,
        "mute_upon_entry": z.mute_upon_entry,
        **({"alternative_hosts": ";".join(z.alternative_hosts)} if z.alternative_hosts else {}),
    })
    prefix = f"{spec.programme.key_prefix}:{spec.programme.key}:"
    for course in spec.courses:
        for s in loaded.sessions.get(course.shortname, ()):
            if not s.host:
                continue
            key = f"{prefix}{course.shortname}:{s.key}"
            tail = "\n\n" + marker(key)
            summary = plain(s.summary, langs[0], langs) if s.summary else ""
            agenda = (summary[: AGENDA_MAX - len(tail)] + tail).strip()
            out.meetings[key] = Meeting(
                key=key, host=hosts[s.host], topic=plain(s.title, langs[0], langs)[:TOPIC_MAX],
                # Local start with the session's zone: Zoom keeps the host's wall time across offset changes.
                start_time=s.start.strftime("%Y-%m-%dT%H:%M:%S"), timezone=s.timezone,
                duration=s.duration, agenda=agenda,
            )
    return out


def observe_meetings(client: ZoomClient, hosts: set[str]) -> dict[str, list[Meeting]]:
    """Our meetings by key, from one listing per host (duplicates kept, to be cleaned)."""
    found: dict[str, list[Meeting]] = defaultdict(list)
    for host in sorted(hosts):
        try:
            items = client.list_meetings(host, type="scheduled")
        except ZoomNotFound:
            raise OcaError(f"Zoom has no user {host!r} in this account: host sessions with a licensed Zoom user "
                           "(staff zoom_user in the spec, default their e-mail)") from None
        for item in items:
            m = _MARKER.search(item.get("agenda") or "")
            if not m:
                continue  # not ours: never touched
            found[m.group(1)].append(_from_zoom(item, host))
    return dict(found)


def _from_zoom(item: dict[str, Any], host: str) -> Meeting:
    tzname = item.get("timezone") or "UTC"
    start = item.get("start_time") or ""
    local = ""
    if start:
        # Zoom answers in UTC ("…Z") with the meeting's time zone beside it.
        moment = dt.datetime.fromisoformat(start.replace("Z", "+00:00"))
        local = moment.astimezone(ZoneInfo(tzname)).strftime("%Y-%m-%dT%H:%M:%S")
    return Meeting(key="", host=host, topic=item.get("topic", ""), start_time=local, timezone=tzname,
                   duration=int(item.get("duration") or 0), agenda=item.get("agenda") or "",
                   id=int(item["id"]), join_url=item.get("join_url") or "")


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
        fields = diff_fields(cur.fields(), want.fields())
        if fields:
            body = {f.name: f.new for f in fields}
            if "start_time" in body:
                body["timezone"] = want.timezone  # a local time means nothing without its zone
            plan.changes.append(Change(SYSTEM, "meeting", label, Action.UPDATE, fields,
                                       MeetingPayload(want, id=cur.id, body=body)))
            writes[cur.host] += 1
        for d in dupes:
            plan.changes.append(Change(SYSTEM, "meeting", label, Action.DELETE, (), MeetingPayload(d, id=d.id),
                                       note=f"duplicate {d.id} of our meeting {cur.id}"))
    for key, have in observed.items():
        if key not in desired.meetings:
            for d in have:
                plan.delete(Change(SYSTEM, "meeting", key.split(":", 2)[-1], Action.DELETE, (),
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
