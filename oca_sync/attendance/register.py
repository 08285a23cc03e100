"""Moodle attendance registers: statuses from minutes present, and the plan of what to write (pure).

A status is computed from Zoom (Present, Late or Absent; Excused is only ever
set by a person) and written only where the register has no status for the
person yet, or still holds the one oca-sync wrote. A status that differs from
what oca-sync last wrote was changed by a person: it is reported as drift and
never overwritten.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..plan import Action, Change, Drift, FieldChange

#: The acronyms of mod_attendance's default status set (db/install.php).
PRESENT, LATE, EXCUSED, ABSENT = "P", "L", "E", "A"
SYSTEM = "moodle"
KIND = "attendance"


@dataclass(frozen=True)
class Thresholds:
    """From the spec's ``attendance`` section (defaults: 75 %, 10 minutes, 50 %)."""

    present_percent: int = 75
    late_after_minutes: int = 10
    late_percent: int = 50


def status_for(minutes: float, first_join: dt.datetime | None, start: dt.datetime, duration: int,
               th: Thresholds) -> str:
    """P, L or A for ``minutes`` present in a session of ``duration`` minutes starting at ``start``.

    Late: first joined more than ``late_after_minutes`` after the start and
    present at least ``late_percent``; else Present from ``present_percent``;
    else Absent.
    """
    if duration <= 0 or first_join is None:
        return ABSENT
    share = 100 * minutes / duration
    if first_join > start + dt.timedelta(minutes=th.late_after_minutes) and share >= th.late_percent:
        return LATE
    if share >= th.present_percent:
        return PRESENT
    return ABSENT


@dataclass(frozen=True)
class RegisterSession:
    """One mod_attendance session as ``mod_attendance_get_session(s)`` returns it."""

    id: int
    attendanceid: int
    sessdate: int
    duration: int  # seconds
    statusset: int
    statuses: dict[str, int]  # acronym -> status id (visible statuses of the session's set)
    log: dict[int, int]  # user id -> status id
    users: dict[int, str]  # the users the register lists (mod/attendance:canbelisted) -> full name

    @classmethod
    def from_ws(cls, data: Mapping[str, Any]) -> RegisterSession:
        statuses: dict[str, int] = {}
        for s in data.get("statuses") or []:
            statuses.setdefault(str(s["acronym"]), int(s["id"]))
        return cls(
            id=int(data["id"]), attendanceid=int(data["attendanceid"]), sessdate=int(data["sessdate"]),
            duration=int(data.get("duration") or 0), statusset=int(data.get("statusset") or 0), statuses=statuses,
            log={int(x["studentid"]): int(x["statusid"]) for x in data.get("attendance_log") or []},
            users={int(u["id"]): f"{u.get('firstname', '')} {u.get('lastname', '')}".strip()
                   for u in data.get("users") or []},
        )

    def acronym(self, statusid: int | None) -> str:
        if statusid is None:
            return ""
        return next((a for a, i in self.statuses.items() if i == statusid), f"#{statusid}")


@dataclass(frozen=True)
class PersonSession:
    """One person's attendance of one session: what the report reads (also kept in the state store)."""

    session: str  # "<course shortname>:<session key>"
    userid: int
    username: str
    fullname: str
    minutes: float
    first_join: dt.datetime | None
    last_leave: dt.datetime | None
    computed: str  # P, L or A; "" while held for review
    identities: tuple[str, ...] = ()  # the Zoom names that were matched to this person


@dataclass(frozen=True)
class StatusWrite:
    """What ``mod_attendance_update_user_status`` is called with (the payload of a change)."""

    session: str
    sessionid: int
    userid: int
    statusid: int
    statusset: int
    acronym: str


@dataclass
class SessionPlan:
    changes: list[Change] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    counts: Counter[str] = field(default_factory=Counter)


def plan_session(session: str, reg: RegisterSession, people: Mapping[int, PersonSession],
                 ledger: Mapping[int, int], usernames: Mapping[int, str]) -> SessionPlan:
    """Changes for one register session.

    ``ledger``: user id -> the status id oca-sync last wrote there. A person
    absent from ``people`` gets Absent; a computed status ``""`` is held.
    """
    out = SessionPlan()
    for uid in sorted(reg.users):
        person = people.get(uid)
        want = person.computed if person is not None else ABSENT
        label = usernames.get(uid) or str(uid)
        key = f"{session}:{label}"
        if not want:
            out.counts["held"] += 1
            continue
        out.counts[want] += 1
        want_id = reg.statuses.get(want)
        if want_id is None:
            out.counts["no-status"] += 1
            continue
        have = reg.log.get(uid)
        write = StatusWrite(session, reg.id, uid, want_id, reg.statusset, want)
        if have is None:
            out.changes.append(Change(SYSTEM, KIND, key, Action.CREATE, (FieldChange("status", None, want),), write))
        elif have == want_id:
            continue
        elif ledger.get(uid) == have:
            out.changes.append(Change(SYSTEM, KIND, key, Action.UPDATE,
                                      (FieldChange("status", reg.acronym(have), want),), write))
        else:
            # set by a person (or changed since we wrote it): theirs stands
            out.drift.append(Drift(SYSTEM, KIND, key, (FieldChange("status", want, reg.acronym(have)),)))
            out.counts["by-hand"] += 1
    return out
