"""``oca-sync attendance sync`` and ``review``: Zoom participants → matched people → Moodle registers.

Reads only in :func:`prepare` (Zoom instances and participant reports, the
course's users, the registers through mod_attendance's web services); writes
only in :func:`apply`: with the companion plugin one ``local_ocasync_take_attendance``
call per session (what mod_attendance's "Take attendance" page does: grades
updated, event logged), else ``mod_attendance_update_user_status``, one call
per person and session, as mod_attendance offers no bulk call. The planning steps
are the pure functions of :mod:`.match`, :mod:`.participants` and
:mod:`.register`.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import OcaError, UsageError
from ..moodle.client import MoodleClient, chunks
from ..moodle.functions import attendance_sync_missing
from ..moodle.model import Keys
from ..plan import Change, Notice, Plan
from ..spec import LoadedSpec
from ..spec.models import Attendance, Course, Session
from ..spec.multilang import plain
from ..state import StateStore
from ..zoom.client import ZoomClient
from ..zoom.errors import ZoomAuthError
from ..zoom.meetings import desired_meetings, observe_meetings, read_ledger
from .files import read_resolutions
from .match import Matcher, Outcome, RosterIndex, RosterUser, Status, identity_key
from .participants import Presence, clip, merge_intervals, merge_rows, minutes, rows_from_report
from .register import PersonSession, RegisterSession, StatusWrite, Thresholds, plan_session, status_for

log = logging.getLogger("oca_sync.attendance")

#: Read automatically when it sits next to the spec (same format as ``review --output``).
MAPPINGS_FILE = "attendance-mappings.csv"
#: The companion plugin's bulk write (docs/plugin-api.md), used when the token has it.
TAKE = "local_ocasync_take_attendance"
#: Statuses per take call (one POST; a session of a large course goes in a few calls).
TAKE_BATCH = 500


@dataclass(frozen=True)
class ReviewItem:
    """A Zoom identity a person must decide: ambiguous, or nobody although it looks like a person."""

    session: str
    meeting_uuid: str
    name: str
    email: str
    minutes: float
    outcome: Outcome
    candidates: tuple[str, ...]  # "username (Full Name)"


@dataclass
class SessionRow:
    """One line of the per-session table."""

    session: str
    title: str
    start: dt.datetime
    state: str  # ended | not ended | no meeting | not held | no register
    instances: int = 0
    present: int = 0
    late: int = 0
    absent: int = 0
    held: int = 0
    unmatched: int = 0  # identities that are nobody (guests, devices, phones, unknown people)
    review: int = 0
    writes: int = 0
    by_hand: int = 0


@dataclass
class AttendancePlan:
    scope: str
    plan: Plan = field(default_factory=Plan)
    sessions: list[SessionRow] = field(default_factory=list)
    people: list[PersonSession] = field(default_factory=list)
    review: list[ReviewItem] = field(default_factory=list)
    #: what Moodle held per (session, userid) when read, and what we wrote before
    moodle_status: dict[tuple[str, int], str] = field(default_factory=dict)
    written: dict[tuple[str, int], tuple[str, int]] = field(default_factory=dict)
    takenby: int = 0
    usernames: dict[int, str] = field(default_factory=dict)
    #: the token has local_ocasync_take_attendance: one write call per session
    bulk: bool = False


def scope_of(client: MoodleClient, loaded: LoadedSpec) -> str:
    return f"attendance:{client.url}:{loaded.spec.programme.key}"


def thresholds(att: Attendance) -> Thresholds:
    return Thresholds(att.present_percent, att.late_after_minutes, att.late_percent)


def _texts(value: Any) -> list[str]:
    return [value] if isinstance(value, str) else [str(v) for v in dict(value).values()]


def _groups(loaded: LoadedSpec) -> tuple[dict[str, tuple[str, ...]], dict[str, list[str]]]:
    """username -> organisation keys, and organisation key -> names it goes by (key, every language)."""
    by_user: dict[str, list[str]] = {}
    aliases: dict[str, list[str]] = {}
    for org in loaded.spec.organisations:
        aliases[org.key] = [org.key, *_texts(org.name)]
        for mem in loaded.members.get(org.key, ()):
            by_user.setdefault((mem.username or mem.key).lower(), []).append(org.key)
    return {u: tuple(g) for u, g in by_user.items()}, aliases


def load_mappings(store: StateStore | None, scope: str, spec_path: Path, users: Iterable[RosterUser]
                  ) -> dict[tuple[str, str], int]:
    """Confirmed mappings: the state store's, then the file next to the spec (which wins)."""
    out = dict(store.attendance_mappings(scope)) if store else {}
    path = spec_path.parent / MAPPINGS_FILE
    if path.is_file():
        ids = {u.username: u.id for u in users}
        for (name, email), uid in read_resolutions(path, ids).items():
            out[identity_key(name, email)] = uid
    return out


def remember(store: StateStore, scope: str, resolutions: Mapping[tuple[str, str], int],
             usernames: Mapping[int, str]) -> int:
    """Keep confirmed mappings in the state store (per programme); returns how many."""
    items = {identity_key(n, e): (uid, usernames.get(uid, "") if uid else "") for (n, e), uid in resolutions.items()}
    store.save_attendance_mappings(scope, items)
    return len(items)


# --------------------------------------------------------------------------- #
# Reading
# --------------------------------------------------------------------------- #


class _Site:
    """The reads from Moodle that attendance needs (all through the web-service client)."""

    def __init__(self, client: MoodleClient) -> None:
        self.client = client
        info = client.call("core_webservice_get_site_info")
        self.userid = int(info.get("userid") or 0)
        functions = {str(f.get("name")) for f in info.get("functions") or []}
        missing = attendance_sync_missing(functions) if functions else []
        if missing:
            raise UsageError(f"the token's web service lacks {', '.join(missing)}: add mod_attendance's functions "
                             "to it (Site administration > Server > Web services > External services)")
        self.plugin = "local_ocasync_get_course_state" in functions
        self.bulk = TAKE in functions

    def course_id(self, idnumber: str) -> int | None:
        res = self.client.call("core_course_get_courses_by_field", {"field": "idnumber", "value": idnumber}, raw=True)
        ids = [int(c["id"]) for c in res.get("courses", []) if c.get("idnumber") == idnumber]
        return ids[0] if ids else None

    def roster(self, courseid: int, groups: Mapping[str, tuple[str, ...]]) -> list[RosterUser]:
        users = self.client.call("core_enrol_get_enrolled_users", {"courseid": courseid, "options": [
            {"name": "userfields", "value": "id,username,firstname,lastname,email"}]})
        return [RosterUser(int(u["id"]), str(u.get("username") or ""), str(u.get("firstname") or ""),
                           str(u.get("lastname") or ""), str(u.get("email") or ""),
                           groups.get(str(u.get("username") or "").lower(), ()))
                for u in users]

    def attendance_instance(self, courseid: int, idnumber: str) -> int | None:
        if self.plugin:
            state = self.client.call("local_ocasync_get_course_state", {"courseid": courseid})
            for mod in state.get("modules", []):
                if mod.get("idnumber") == idnumber and mod.get("modname") == "attendance":
                    return int(mod["instance"])
            return None
        found = [int(mod["instance"]) for sec in self.client.call("core_course_get_contents", {"courseid": courseid})
                 for mod in sec.get("modules", []) if mod.get("modname") == "attendance"]
        if len(found) > 1:
            raise OcaError(f"course {courseid} has {len(found)} attendance activities and, without the companion "
                           "plugin, oca-sync cannot tell which is the spec's")
        return found[0] if found else None

    def registers(self, attendanceid: int) -> dict[int, list[RegisterSession]]:
        """Sessions by start time (``sessdate``): one, or one per group for a session for some groups
        (each lists its group's people: mod_attendance keeps one groupid per session)."""
        out: dict[int, list[RegisterSession]] = {}
        for data in self.client.call("mod_attendance_get_sessions", {"attendanceid": attendanceid}):
            reg = RegisterSession.from_ws(data)
            out.setdefault(reg.sessdate, []).append(reg)
        return {k: sorted(v, key=lambda r: r.id) for k, v in out.items()}


def _instances(zoom: ZoomClient, meeting_ids: list[int], s: Session, window: int
               ) -> tuple[list[dict[str, Any]], list[str]]:
    """The ended instances of the session's meeting(s) that start in its window; the others, as notes."""
    lo = s.start - dt.timedelta(minutes=window)
    keep: list[dict[str, Any]] = []
    other: list[str] = []
    for mid in meeting_ids:
        for inst in zoom.list_past_instances(mid):
            start = dt.datetime.fromisoformat(str(inst["start_time"]).replace("Z", "+00:00"))
            if lo <= start < s.end:
                keep.append(inst)
            else:
                other.append(f"{inst['uuid']} ({start:%Y-%m-%d %H:%M} UTC)")
    return keep, other


def _report(zoom: ZoomClient, uuid: str) -> list[dict[str, Any]]:
    try:
        return zoom.past_participants_report(uuid)
    except ZoomAuthError as e:
        raise OcaError(f"{e}. Zoom's participant report needs the scope report:read:admin (granular: "
                       "report:read:list_meeting_participants:admin) in the Server-to-Server OAuth app: see "
                       "docs/zoom.md") from None


# --------------------------------------------------------------------------- #
# Planning
# --------------------------------------------------------------------------- #


def prepare(client: MoodleClient, zoom: ZoomClient, loaded: LoadedSpec, store: StateStore | None, *,
            now: dt.datetime | None = None, only: set[str] | None = None,
            status: Callable[[str], None] = lambda _m: None) -> AttendancePlan:
    """Read Zoom and Moodle and plan the register writes; writes nothing.

    ``only``: session keys (``training-03`` or ``COURSE:training-03``) to look at.
    """
    now = now or dt.datetime.now(dt.timezone.utc)
    spec = loaded.spec
    keys = Keys(spec.programme.key_prefix, spec.programme.key)
    out = AttendancePlan(scope_of(client, loaded))
    site = _Site(client)
    out.takenby = site.userid
    out.bulk = site.bulk
    status("Reading Zoom meetings …")
    desired = desired_meetings(loaded)
    meetings = observe_meetings(zoom, desired, ledger=read_ledger(store, desired))
    records = {(r["session"], int(r["userid"])): r for r in store.attendance_records(out.scope)} if store else {}
    groups, aliases = _groups(loaded)
    for course in spec.courses:
        if course.attendance is None:
            continue
        _prepare_course(out, site, zoom, loaded, course, course.attendance, keys, meetings, records, groups,
                        aliases, store, now, only, status)
    return out


def _prepare_course(out: AttendancePlan, site: _Site, zoom: ZoomClient, loaded: LoadedSpec, course: Course,
                    att: Attendance, keys: Keys, meetings: Mapping[str, list[Any]],
                    records: Mapping[tuple[str, int], Mapping[str, Any]], groups: Mapping[str, tuple[str, ...]],
                    aliases: Mapping[str, list[str]], store: StateStore | None, now: dt.datetime,
                    only: set[str] | None, status: Callable[[str], None]) -> None:
    langs = list(loaded.spec.programme.languages)
    sessions = [s for s in loaded.sessions.get(course.shortname, ()) if s.kind in att.sessions
                and (only is None or s.key in only or f"{course.shortname}:{s.key}" in only)]
    if not sessions:
        return
    status(f"Reading {course.shortname} in Moodle …")
    courseid = site.course_id(keys.course(course.shortname))
    if courseid is None:
        out.plan.notices.append(Notice("warning", f"course {course.shortname} is not in Moodle yet: run apply first"))
        return
    attendanceid = site.attendance_instance(courseid, keys.module(course.shortname, att.key))
    if attendanceid is None:
        out.plan.notices.append(Notice("warning", f"{course.shortname} has no attendance activity yet: run apply "
                                                  "first (it needs the companion plugin and mod_attendance)"))
        return
    roster = site.roster(courseid, groups)
    out.usernames.update({u.id: u.username for u in roster})
    matcher = Matcher(RosterIndex.build(roster, aliases), load_mappings(store, out.scope, loaded.path, roster))
    registers = site.registers(attendanceid)
    th = thresholds(att)
    for s in sessions:
        skey = f"{course.shortname}:{s.key}"
        row = SessionRow(skey, plain(s.title, langs[0], langs), s.start, "ended")
        out.sessions.append(row)
        regs = registers.get(int(s.start.timestamp()), [])
        if not s.groups:
            regs = regs[:1]  # a session for everyone has one register (more at that time are not ours)
        if not regs:
            row.state = "no register"
            out.plan.notices.append(Notice("warning", f"{skey}: the attendance activity has no session at "
                                                      f"{s.start:%Y-%m-%d %H:%M}: run apply first"))
            continue
        for reg in regs:
            for uid, statusid in reg.log.items():
                out.moodle_status[(skey, uid)] = reg.acronym(statusid)
        if s.end > now:
            row.state = "not ended"
            continue
        found = meetings.get(f"{keys.owned}{course.shortname}:{s.key}", [])
        ids = [int(m.id) for m in found if m.id is not None]
        if not ids:
            row.state = "no meeting"
            continue
        status(f"Reading Zoom participants of {skey} …")
        insts, others = _instances(zoom, ids, s, att.instance_window_minutes)
        if others:
            out.plan.notices.append(Notice("info", f"{skey}: Zoom instance(s) outside the session's time, not "
                                                   f"counted: {', '.join(others)}"))
        row.instances = len(insts)
        if not insts:
            row.state = "not held"
            out.plan.notices.append(Notice("warning", f"{skey}: ended, but Zoom has no instance of its meeting "
                                                      "in its time window: nothing is written"))
            continue
        rows = [r for inst in insts for r in rows_from_report(str(inst["uuid"]), _report(zoom, str(inst["uuid"])))]
        _session_people(out, s, skey, regs, merge_rows(rows), matcher, th, records, row)


def _session_people(out: AttendancePlan, s: Session, skey: str, regs: list[RegisterSession],
                    presences: list[Presence], matcher: Matcher, th: Thresholds,
                    records: Mapping[tuple[str, int], Mapping[str, Any]], row: SessionRow) -> None:
    idx = matcher.index
    per_user: dict[int, list[Presence]] = {}
    for p in presences:
        o = matcher.match(p.name, p.email)
        if o.status is Status.MATCH and o.userid is not None:
            per_user.setdefault(o.userid, []).append(p)
            continue
        if o.needs_review:
            row.review += 1
            labels = tuple(f"{idx.users[c].username} ({idx.users[c].fullname})" for c in o.candidates)
            out.review.append(ReviewItem(skey, p.meeting_uuid, p.name, p.email, round(p.minutes, 1), o, labels))
        else:
            row.unmatched += 1
    hold_absent = row.review > 0  # someone not yet identified may be one of the absent
    for reg in regs:
        _register_people(out, s, skey, reg, per_user, matcher, th, records, row, hold_absent)


def _register_people(out: AttendancePlan, s: Session, skey: str, reg: RegisterSession,
                     per_user: dict[int, list[Presence]], matcher: Matcher, th: Thresholds,
                     records: Mapping[tuple[str, int], Mapping[str, Any]], row: SessionRow,
                     hold_absent: bool) -> None:
    """The statuses of one register (the session's, or one group's) from the matched presences."""
    idx = matcher.index
    people: dict[int, PersonSession] = {}
    for uid in reg.users:
        ps = per_user.get(uid, [])
        intervals = merge_intervals(i for p in ps for i in p.intervals)
        present = clip(intervals, s.start, s.end)
        mins = minutes(present)
        first = intervals[0][0] if intervals else None
        computed = status_for(mins, first, s.start, s.duration, th) if intervals else "A"
        if computed == "A" and hold_absent:
            computed = ""
        u = idx.users.get(uid)
        people[uid] = PersonSession(skey, uid, u.username if u else str(uid), u.fullname if u else reg.users[uid],
                                    round(mins, 1), first, intervals[-1][1] if intervals else None, computed,
                                    tuple(sorted({p.name for p in ps})))
    out.people.extend(people.values())
    ledger = {uid: int(r["written_statusid"]) for (sk, uid), r in records.items()
              if sk == skey and r.get("written") and r.get("written_statusid") is not None}
    for (sk, uid), r in records.items():
        if sk == skey and r.get("written"):
            out.written[(sk, uid)] = (str(r["written"]), int(r["written_statusid"] or 0))
    sp = plan_session(skey, reg, people, ledger, out.usernames)
    out.plan.changes.extend(sp.changes)
    out.plan.drift.extend(sp.drift)
    row.present += sp.counts["P"]
    row.late += sp.counts["L"]
    row.absent += sp.counts["A"]
    row.held += sp.counts["held"]
    row.by_hand += sp.counts["by-hand"]
    row.writes += len(sp.changes)
    if sp.counts["no-status"]:
        out.plan.notices.append(Notice("error", f"{skey}: the session's status set lacks an acronym P, L or A: "
                                                f"it has {', '.join(reg.statuses) or 'none'}"))


# --------------------------------------------------------------------------- #
# Writing
# --------------------------------------------------------------------------- #


@dataclass
class SyncResult:
    written: int = 0
    applied: bool = False


def apply(client: MoodleClient, aplan: AttendancePlan, store: StateStore,
          progress: Callable[[Change], None] = lambda _c: None) -> SyncResult:
    """Write the planned statuses, then remember per person and session what was written."""
    errors = [n.message for n in aplan.plan.notices if n.level == "error"]
    if errors:
        raise OcaError("the attendance plan has errors; nothing was written:\n" + "\n".join(f"  {e}" for e in errors))
    result = SyncResult()
    written = dict(aplan.written)

    def done(change: Change) -> None:
        w: StatusWrite = change.payload
        written[(w.session, w.userid)] = (w.acronym, w.statusid)
        aplan.moodle_status[(w.session, w.userid)] = w.acronym
        result.written += 1
        progress(change)

    try:
        if aplan.bulk:
            by_session: dict[int, list[Change]] = {}
            for change in aplan.plan.changes:
                by_session.setdefault(change.payload.sessionid, []).append(change)
            for sessionid, changes in by_session.items():
                for batch in chunks(changes, TAKE_BATCH):
                    client.call(TAKE, {"sessionid": sessionid, "statuses": [
                        {"studentid": c.payload.userid, "statusid": c.payload.statusid} for c in batch]})
                    for change in batch:
                        done(change)
        else:
            for change in aplan.plan.changes:
                w: StatusWrite = change.payload
                client.call("mod_attendance_update_user_status", {
                    "sessionid": w.sessionid, "studentid": w.userid, "takenbyid": aplan.takenby,
                    "statusid": w.statusid, "statusset": str(w.statusset)})
                done(change)
        result.applied = True
    finally:
        save_records(store, aplan, written)
    return result


def save_records(store: StateStore, aplan: AttendancePlan, written: Mapping[tuple[str, int], tuple[str, int]]
                 ) -> None:
    """Keep per person and session what Zoom showed and what was written (the report reads these)."""
    rows = []
    for p in aplan.people:
        w = written.get((p.session, p.userid))
        rows.append({"session": p.session, "userid": p.userid, "username": p.username, "minutes": p.minutes,
                     "first_join": p.first_join, "last_leave": p.last_leave, "computed": p.computed,
                     "written": w[0] if w else "", "written_statusid": w[1] if w else None,
                     "moodle": aplan.moodle_status.get((p.session, p.userid), "")})
    store.save_attendance_records(aplan.scope, rows)
