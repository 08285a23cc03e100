"""Carry out a Moodle plan: batched writes in dependency order.

Objects are created with our keys, so an apply interrupted at any point and
run again re-observes the site and converges without duplicates. Ids of new
objects come from the create responses and are resolved from keys at the
moment of each write.

Within a stage, independent batches (users, enrolments and memberships by the
hundred, one call per course for sections and modules) go ``client.concurrency``
at a time (:func:`_send`); stages still run one after the other, in
dependency order. Answers are handled (ids, progress) in the calling thread only.
"""

from __future__ import annotations

import json
from collections import defaultdict
from concurrent.futures import CancelledError, Future, ThreadPoolExecutor, as_completed
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..errors import RemoteError
from ..plan import Action, Change, Plan
from . import completion
from . import model as m
from .client import MoodleClient, chunks
from .observe import course_state, sections_of
from .planner import EnrolPayload, MembersPayload, SectionPayload

#: Items per write call: users, enrolments and memberships go in large batches, never one call each.
BATCH = {"module": 50, "course": 50, "group": 200, "user": 200, "enrol": 500, "members": 500, "event": 100}

#: The order of stages; each depends only on those before it.
#: Groups come before sections and modules, which refer to them (access restrictions, attendance sessions),
#: and are deleted only after those no longer do.
STAGES = ("category", "course", "group", "section", "module", "completion", "section_delete", "group_delete", "user",
          "enrolment", "members", "event")

Progress = Callable[[Change], None]


@dataclass
class Ids:
    """Key -> Moodle id, from observation and then from create responses."""

    category: int | None = None
    courses: dict[str, int] = field(default_factory=dict)
    groups: dict[str, int] = field(default_factory=dict)
    users: dict[str, int] = field(default_factory=dict)

    @classmethod
    def from_observed(cls, desired: m.DesiredSite, observed: m.ObservedSite) -> Ids:
        ids = cls(category=observed.category.id if observed.category else None)
        ids.courses = {k: c.id for k, c in observed.courses.items() if c.id}
        ids.groups = {k: g.id for gs in observed.groups.values() for k, g in gs.items() if g.id}
        ids.users = {k: u.id for k, u in observed.users.items() if u.id}
        for uid, u in desired.users.items():
            other = observed.foreign_users.get(u.username)
            if uid not in ids.users and other is not None and other.id:
                ids.users[uid] = other.id
        return ids

    def user(self, ref: str) -> int:
        return int(ref[1:]) if ref.startswith("#") else self.users[ref]


@dataclass
class ApplyCounts:
    created: int = 0
    updated: int = 0
    deleted: int = 0

    def count(self, change: Change) -> None:
        if change.action is Action.CREATE:
            self.created += 1
        elif change.action is Action.UPDATE:
            self.updated += 1
        else:
            self.deleted += 1


FORMAT_HTML = 1


def _refused(function: str, result: Any) -> None:
    """Some functions report a refused item as a warning, not an exception (e.g.
    core_course_update_courses answers ``shortnametaken`` that way): stop there."""
    warnings = result.get("warnings") if isinstance(result, dict) else None
    if warnings:
        text = "; ".join(f"{w.get('item', '')} {w.get('itemid', '')}: {w.get('warningcode', '')}: "
                         f"{w.get('message', '')}".strip() for w in warnings)
        raise RemoteError(f"Moodle refused part of {function}: {text}")


def execute(
    client: MoodleClient,
    plan: Plan,
    desired: m.DesiredSite,
    observed: m.ObservedSite,
    role_ids: dict[str, int],
    *,
    progress: Progress | None = None,
    on_stage_done: Callable[[str], None] | None = None,
) -> ApplyCounts:
    """Run every change of ``plan`` (built from ``observed``) and return what was done."""
    ids = Ids.from_observed(desired, observed)
    counts = ApplyCounts()
    by_kind: dict[str, list[Change]] = defaultdict(list)
    for c in plan.changes:
        # A section is deleted only once the modules it held are gone; a group once nothing refers to it.
        stage = f"{c.kind}_delete" if c.kind in ("section", "group") and c.action is Action.DELETE else c.kind
        by_kind[stage].append(c)

    def done(changes: Sequence[Change]) -> None:
        for c in changes:
            counts.count(c)
            if progress:
                progress(c)

    runners: dict[str, Callable[[list[Change]], None]] = {
        "category": lambda cs: _categories(client, cs, ids, done),
        "course": lambda cs: _courses(client, cs, ids, done),
        "section": lambda cs: (_plugin_sections(client, cs, desired, ids, done) if observed.plugin
                               else _sections(client, cs, desired, ids, done)),
        "module": lambda cs: _modules(client, cs, desired, ids, done),
        "completion": lambda cs: completion.apply(client, cs, ids.courses, desired, done),
        "section_delete": lambda cs: _plugin_sections(client, cs, desired, ids, done),
        "group": lambda cs: _groups(client, cs, ids, done),
        "group_delete": lambda cs: _groups(client, cs, ids, done),
        "user": lambda cs: _users(client, cs, ids, done),
        "enrolment": lambda cs: _enrolments(client, cs, ids, done),
        "members": lambda cs: _members(client, cs, ids, done),
        "event": lambda cs: _events(client, cs, ids, done),
    }
    for stage in STAGES:
        if by_kind.get(stage):
            runners[stage](by_kind[stage])
        if on_stage_done:
            on_stage_done(stage)
    return counts


Done = Callable[[Sequence[Change]], None]
#: One write batch: ``send`` makes the call(s) (in a worker thread), ``finish`` handles the answer (in ours).
Job = tuple[Callable[[], Any], Callable[[Any], None]]


def _send(client: MoodleClient, jobs: Sequence[Job]) -> None:
    """Send independent write batches, ``client.concurrency`` at a time, and handle each answer here.

    A change is reported done only once its answer came back. On an error, batches not yet sent are not
    sent, those under way are waited for and handled, then the first error is raised, so that what was
    written is counted (sync.apply re-plans after a lost answer, WriteOutcomeUnknown, from the site).
    """
    if client.concurrency <= 1 or len(jobs) <= 1:
        for send, finish in jobs:
            finish(send())
        return
    error: BaseException | None = None
    pool = ThreadPoolExecutor(max_workers=min(client.concurrency, len(jobs)), thread_name_prefix="moodle-write")
    try:
        futures: dict[Future[Any], Callable[[Any], None]] = {pool.submit(send): finish for send, finish in jobs}
        for future in as_completed(futures):
            try:
                futures[future](future.result())  # also after an error: what was written is counted
            except CancelledError:
                continue
            except BaseException as e:  # noqa: BLE001 - re-raised below, after the batches under way
                if error is None:
                    error = e
                    for f in futures:
                        f.cancel()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    if error is not None:
        raise error


def _categories(client: MoodleClient, changes: list[Change], ids: Ids, done: Done) -> None:
    for c in changes:
        if c.action is Action.CREATE:
            cat: m.Category = c.payload
            res = client.call("core_course_create_categories", {"categories": [{
                "name": cat.name, "parent": cat.parent, "idnumber": cat.idnumber,
                "description": cat.description, "descriptionformat": FORMAT_HTML,
            }]})
            ids.category = int(res[0]["id"])
        else:
            item: dict[str, Any] = {"id": c.payload}
            item.update({f.name: f.new for f in c.fields})
            if "description" in item:
                item["descriptionformat"] = FORMAT_HTML
            client.call("core_course_update_categories", {"categories": [item]})
        done([c])


def _course_item(fields: dict[str, Any], ids: Ids, want: m.Course) -> dict[str, Any]:
    """A course for create_courses / update_courses from the fields to write."""
    item = {k: v for k, v in fields.items() if k not in ("category", "automaticenddate")}
    if "category" in fields:
        item["categoryid"] = ids.category
    if "summary" in item:
        item["summaryformat"] = FORMAT_HTML
    for k in ("visible", "enablecompletion"):
        if k in item:
            item[k] = int(bool(item[k]))
    if "startdate" in item or "enddate" in item:
        # course_validate_dates() checks only the dates sent: an end date alone is refused
        # (nostartdatenoenddate), a start date alone may pass the end. Both go together.
        item["startdate"], item["enddate"] = want.startdate, want.enddate
    if want.format == "weeks":
        # Off, or format_weeks replaces the end date (course/format/weeks/lib.php update_end_date()).
        item["courseformatoptions"] = [{"name": "automaticenddate", "value": int(want.automaticenddate)}]
    return item


def _courses(client: MoodleClient, changes: list[Change], ids: Ids, done: Done) -> None:
    def create(batch: Sequence[Change]) -> Job:
        items = []
        for c in batch:
            course, nsections = c.payload
            item = _course_item(course.fields(), ids, course)
            item["courseformatoptions"] = [{"name": "numsections", "value": nsections},
                                           *item.get("courseformatoptions", [])]
            items.append(item)

        def finish(res: Any) -> None:
            by_short = {r["shortname"]: int(r["id"]) for r in res}
            for c in batch:
                ids.courses[c.payload[0].idnumber] = by_short[c.payload[0].shortname]
            done(batch)
        return lambda: client.call("core_course_create_courses", {"courses": items}), finish

    def update(batch: Sequence[Change]) -> Job:
        items = []
        for c in batch:
            courseid, want = c.payload
            items.append({"id": courseid, **_course_item({f.name: f.new for f in c.fields}, ids, want)})

        def finish(res: Any) -> None:
            _refused("core_course_update_courses", res)
            done(batch)
        return lambda: client.call("core_course_update_courses", {"courses": items}), finish

    _send(client, [create(b) for b in chunks([c for c in changes if c.action is Action.CREATE], BATCH["course"])])
    _send(client, [update(b) for b in chunks([c for c in changes if c.action is Action.UPDATE], BATCH["course"])])


def _by_course(changes: list[Change]) -> dict[str, list[Change]]:
    """Changes whose payload names a course, grouped by it (one batch call per course)."""
    per_course: dict[str, list[Change]] = defaultdict(list)
    for c in changes:
        per_course[c.payload.course].append(c)
    return per_course


def _sections(client: MoodleClient, changes: list[Change], desired: m.DesiredSite, ids: Ids, done: Done) -> None:
    for course_key, cs in _by_course(changes).items():
        courseid = ids.courses[course_key]
        fmt = desired.courses[course_key].format
        current: dict[int, int] = {}
        if any(c.payload.id is None for c in cs):
            current = _section_ids(client, courseid)
            need = max(c.payload.number for c in cs if c.payload.id is None)
            have = max(current, default=0)
            for _ in range(need - have):  # section_add appends one section at the end
                client.call("core_courseformat_update_course", {"action": "section_add", "courseid": courseid})
            if need > have:
                current = _section_ids(client, courseid)
        for c in cs:
            p: SectionPayload = c.payload
            sid = p.id if p.id is not None else current[p.number]
            client.call("core_update_inplace_editable", {
                "component": f"format_{fmt}", "itemtype": "sectionname", "itemid": sid, "value": p.name,
            })
            done([c])


def _section_ids(client: MoodleClient, courseid: int) -> dict[int, int]:
    return {sec.number: int(sec.id or 0) for sec in sections_of(course_state(client, courseid))}


def _plugin_sections(client: MoodleClient, changes: list[Change], desired: m.DesiredSite, ids: Ids,
                     done: Done) -> None:
    """One upsert per course with every section in order (consecutive positions), then deletions
    (courses concurrently; a stage holds either upserts or deletions, see STAGES)."""
    def course_job(course_key: str, cs: list[Change]) -> Job:
        courseid = ids.courses[course_key]
        upserts = [c for c in cs if c.action is not Action.DELETE]
        deletes = [c for c in cs if c.action is Action.DELETE]

        def send() -> None:
            if upserts:
                adopt = dict(c.payload.adopt for c in upserts if c.payload.adopt)
                wanted = desired.plugin_sections[course_key]
                # Groups are sent only where restrictions are in play, so that a plugin older than 1.1 keeps
                # working; "setgroups" says "set them", since REST cannot send an empty list.
                restricting = any(s.groups for s in wanted) or any(
                    f.name == "groups" for c in upserts for f in c.fields)
                client.call("local_ocasync_upsert_sections", {"courseid": courseid, "sections": [
                    {"key": s.key, "number": s.number, "name": s.name, "summary": s.summary, "visible": s.visible,
                     **({"sectionid": adopt[s.key]} if s.key in adopt else {}),
                     **({"setgroups": True, "groups": list(s.groups)} if restricting else {})}
                    for s in wanted
                ]})
            if deletes:
                # Modules were deleted in the stage before only if they were ours; the plugin refuses a
                # non-empty one.
                client.call("local_ocasync_delete_sections", {"courseid": courseid,
                                                               "keys": [c.payload.delete for c in deletes]})
        return send, lambda _res: done(cs)

    _send(client, [course_job(k, cs) for k, cs in _by_course(changes).items()])


def _modules(client: MoodleClient, changes: list[Change], desired: m.DesiredSite, ids: Ids, done: Done) -> None:
    """Each course's deletions, then its upserts in batches, in order; courses concurrently."""
    def course_job(course_key: str, cs: list[Change]) -> Job:
        courseid = ids.courses[course_key]
        deletes = [c for c in cs if c.action is Action.DELETE]
        upserts = [c for c in cs if c.action is not Action.DELETE]

        def send() -> None:
            if deletes:
                client.call("local_ocasync_delete_modules", {"courseid": courseid,
                                                              "idnumbers": [c.payload.delete for c in deletes]})
            for batch in chunks(upserts, BATCH["module"]):
                items = [_module_item(client, c) for c in batch]
                client.call("local_ocasync_upsert_modules", {"courseid": courseid, "modules": items})
        return send, lambda _res: done(cs)

    _send(client, [course_job(k, cs) for k, cs in _by_course(changes).items()])


def _module_item(client: MoodleClient, change: Change) -> dict[str, Any]:
    mod: m.Module = change.payload.module
    settings = mod.settings
    if mod.modname == "resource":
        # Upload only when the file is new or differs (the plan compared name, size and SHA-1).
        changed = change.action is Action.CREATE or any(f.name == "settings" for f in change.fields)
        settings = json.dumps({"draftitemid": client.upload_file(mod.file)} if changed and mod.file else {})
    # Groups only where a restriction is in play, so that a plugin older than 1.2 keeps working;
    # "setgroups" says "set them", since REST cannot send an empty list.
    restricting = bool(mod.groups) or any(f.name == "groups" for f in change.fields)
    return {"idnumber": mod.idnumber, "modname": mod.modname, "sectionkey": mod.section, "name": mod.name,
            "intro": mod.intro, "visible": mod.visible, "settings": settings,
            **({"setgroups": True, "groups": list(mod.groups)} if restricting else {})}


def _groups(client: MoodleClient, changes: list[Change], ids: Ids, done: Done) -> None:
    creates = [c for c in changes if c.action is Action.CREATE]
    for batch in chunks(creates, BATCH["group"]):
        res = client.call("core_group_create_groups", {"groups": [{
            "courseid": ids.courses[c.payload.course], "name": c.payload.name,
            "description": c.payload.description, "descriptionformat": FORMAT_HTML, "idnumber": c.payload.idnumber,
        } for c in batch]})
        for r in res:
            ids.groups[r["idnumber"]] = int(r["id"])
        done(batch)
    updates = [c for c in changes if c.action is Action.UPDATE]
    for batch in chunks(updates, BATCH["group"]):
        client.call("core_group_update_groups", {"groups": [{
            "id": c.payload.id, "name": c.payload.name, "idnumber": c.payload.idnumber,
            "description": c.payload.description, "descriptionformat": FORMAT_HTML,
        } for c in batch]})
        done(batch)
    deletes = [c for c in changes if c.action is Action.DELETE]
    if deletes:
        client.call("core_group_delete_groups", {"groupids": [c.payload for c in deletes]})
        done(deletes)


def _users(client: MoodleClient, changes: list[Change], ids: Ids, done: Done) -> None:
    def create(batch: Sequence[Change]) -> Job:
        items = []
        for c in batch:
            u: m.User = c.payload
            item = {k: v for k, v in u.fields().items() if v != ""}
            item["auth"] = u.auth
            # Moodle generates a password and mails it; we never choose or store one.
            if u.password_email:
                item["createpassword"] = 1
            items.append(item)

        def finish(res: Any) -> None:
            by_name = {r["username"]: int(r["id"]) for r in res}
            for c in batch:
                ids.users[c.payload.idnumber] = by_name[c.payload.username]
            done(batch)
        return lambda: client.call("core_user_create_users", {"users": items}), finish

    def update(batch: Sequence[Change]) -> Job:
        # Only the changed fields: passwords and anything else are never sent.
        items = [{"id": c.payload.id, **{f.name: f.new for f in c.fields}} for c in batch]

        def finish(res: Any) -> None:
            _refused("core_user_update_users", res)
            done(batch)
        return lambda: client.call("core_user_update_users", {"users": items}), finish

    _send(client, [create(b) for b in chunks([c for c in changes if c.action is Action.CREATE], BATCH["user"])])
    _send(client, [update(b) for b in chunks([c for c in changes if c.action is Action.UPDATE], BATCH["user"])])


def _enrolments(client: MoodleClient, changes: list[Change], ids: Ids, done: Done) -> None:
    enrol: list[dict[str, int]] = []
    unassign: list[dict[str, Any]] = []
    unenrol: list[dict[str, int]] = []
    for c in changes:
        p: EnrolPayload = c.payload
        userid, courseid = ids.user(p.user), ids.courses[p.course]
        if p.unenrol:
            unenrol.append({"userid": userid, "courseid": courseid})
        enrol += [{"roleid": r, "userid": userid, "courseid": courseid} for r in sorted(p.add)]
        unassign += [{"roleid": r, "userid": userid, "contextlevel": "course", "instanceid": courseid}
                     for r in sorted(p.remove)]
    _send(client, _by_whole_courses(client, "enrol_manual_enrol_users", "enrolments", enrol, "courseid"))
    _send(client, _by_whole_courses(client, "core_role_unassign_roles", "unassignments", unassign, "instanceid"))
    _send(client, _by_whole_courses(client, "enrol_manual_unenrol_users", "enrolments", unenrol, "courseid"))
    done(changes)


def _by_whole_courses(client: MoodleClient, function: str, key: str, items: list[dict[str, Any]],
                      course: str) -> list[Job]:
    """Enrolment batches whose courses each stay in one job, in the plan's order.

    What Moodle does for one enrolment can depend on those of the same course made before it: enrol_manual
    sends its welcome message only once the course has a contact (a teacher, $CFG->coursecontact:
    enrol_plugin::get_welcome_message_contact). Sent concurrently, each course's enrolments still go in
    order, so the site ends as with one request at a time. Batches hold up to BATCH["enrol"] items.
    """
    if client.concurrency <= 1:
        return [_call(client, function, key, b) for b in chunks(items, BATCH["enrol"])]
    per_course: dict[Any, list[dict[str, Any]]] = defaultdict(list)
    for item in items:
        per_course[item[course]].append(item)
    groups: list[list[list[dict[str, Any]]]] = []  # jobs -> courses -> items
    size = 0
    for course_items in per_course.values():
        if not groups or size + len(course_items) > BATCH["enrol"]:
            groups.append([])
            size = 0
        groups[-1].append(course_items)
        size += len(course_items)

    def job(courses: list[list[dict[str, Any]]]) -> Job:
        def send() -> None:
            flat = [i for c in courses for i in c]
            for batch in chunks(flat, BATCH["enrol"]):  # more than one only for a course beyond the batch size
                client.call(function, {key: list(batch)})
        return send, lambda _res: None
    return [job(g) for g in groups]


def _call(client: MoodleClient, function: str, key: str, batch: Sequence[Any],
          check: Callable[[Any], None] = lambda _res: None) -> Job:
    """A batch whose answer is only checked (its changes are reported done after the whole stage)."""
    return lambda: client.call(function, {key: list(batch)}), check


def _members(client: MoodleClient, changes: list[Change], ids: Ids, done: Done) -> None:
    add: list[dict[str, int]] = []
    remove: list[dict[str, int]] = []
    for c in changes:
        p: MembersPayload = c.payload
        gid = ids.groups[p.group]
        add += [{"groupid": gid, "userid": ids.user(u)} for u in sorted(p.add)]
        remove += [{"groupid": gid, "userid": u} for u in sorted(p.remove)]
    _send(client, [_call(client, "core_group_add_group_members", "members", b) for b in chunks(add, BATCH["members"])])
    _send(client, [_call(client, "core_group_delete_group_members", "members", b)
                   for b in chunks(remove, BATCH["members"])])
    done(changes)


def _events(client: MoodleClient, changes: list[Change], ids: Ids, done: Done) -> None:
    new = [c for c in changes if c.payload.event is not None]
    jobs: list[Job] = []
    for batch in chunks(new, BATCH["event"]):
        items = []
        for c in batch:
            ev: m.Event = c.payload.event
            items.append({
                "name": ev.name, "description": ev.description, "format": FORMAT_HTML,
                "courseid": ids.courses[ev.course], "timestart": ev.timestart, "timeduration": ev.timeduration,
                "visible": 1,
                # core_calendar_create_calendar_events: a group event needs eventtype "group" and its groupid.
                **({"eventtype": "group", "groupid": ids.groups[ev.group]} if ev.group else {"eventtype": "course"}),
            })
        jobs.append(_call(client, "core_calendar_create_calendar_events", "events", items,
                          check=lambda res: _refused("core_calendar_create_calendar_events", res)))
    _send(client, jobs)
    # Replaced and pruned events go only after their successors exist.
    old = [i for c in changes for i in c.payload.delete_ids]
    _send(client, [_call(client, "core_calendar_delete_calendar_events", "events",
                         [{"eventid": i, "repeat": 0} for i in b]) for b in chunks(old, BATCH["event"])])
    done(changes)
