"""Desired x observed (x last applied) -> the Moodle change set. Pure: no I/O.

Ownership: only objects whose idnumber (or event marker) carries our key prefix
are updated or deleted; deletions are planned only with ``prune``. Users are
never deleted (a Moodle user deletion destroys their history): pruning removes
their enrolments and group memberships instead.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

from ..plan import Action, Change, Drift, FieldChange, Notice, Plan, diff_fields
from ..plan import short as short_text
from . import model as m
from .observe import CUSTOM_RESTRICTION

SYSTEM = "moodle"

#: local_ocasync 1.1: sections restricted to groups, attendance sessions for one group, installed languages.
PLUGIN_GROUPS_VERSION = 2026120100


@dataclass(frozen=True)
class EnrolPayload:
    course: str
    user: str  # desired user idnumber, or "#<id>" for a user only known by id (prune)
    add: frozenset[int]
    remove: frozenset[int]
    unenrol: bool = False


@dataclass(frozen=True)
class MembersPayload:
    course: str
    group: str
    add: frozenset[str]  # user refs
    remove: frozenset[int]  # user ids


@dataclass(frozen=True)
class SectionPayload:
    course: str
    number: int
    name: str
    id: int | None  # None: the section does not exist yet


@dataclass(frozen=True)
class ContentPayload:
    """A section or module change through the plugin; apply sends whole courses at a time."""

    course: str
    module: m.Module | None = None
    delete: str = ""  # section key or module idnumber to delete
    adopt: tuple[str, int] | None = None  # (section key, id of the existing unkeyed section to take)


@dataclass(frozen=True)
class EventPayload:
    event: m.Event | None  # to create
    delete_ids: tuple[int, ...] = ()


Add = Callable[..., None]
DriftFn = Callable[[str, str, m.Record], None]


def plan_moodle(
    desired: m.DesiredSite,
    observed: m.ObservedSite,
    role_ids: dict[str, int],
    *,
    last_applied: dict[tuple[str, str], dict[str, Any]] | None = None,
    prune: bool = False,
) -> Plan:
    plan = Plan()
    last = last_applied or {}
    keys = desired.keys

    def drift(kind: str, key: str, obs: m.Record) -> None:
        before = last.get((kind, key))
        if before is None:
            return
        before = _comparable(kind, before)
        now = _comparable(kind, obs.fields())
        fields = tuple(FieldChange(k, v, now.get(k)) for k, v in before.items() if k in now and now[k] != v)
        if fields:
            plan.drift.append(Drift(SYSTEM, kind, key, fields))

    def add(kind: str, key: str, action: Action, fields: tuple[FieldChange, ...] = (), payload: Any = None,
            note: str = "") -> None:
        plan.changes.append(Change(SYSTEM, kind, key, action, fields, payload, note))

    def remove(kind: str, key: str, payload: Any, detail: str = "") -> None:
        plan.delete(Change(SYSTEM, kind, key, Action.DELETE, (), payload, detail), prune)

    def created(rec: m.Record, skip: tuple[str, ...] = ()) -> tuple[FieldChange, ...]:
        return tuple(FieldChange(k, None, v) for k, v in rec.fields().items() if k not in skip and v not in ("", None))

    for note in dict.fromkeys(desired.notes):
        plan.notices.append(Notice("info", note))

    # -- category ------------------------------------------------------------
    cat_ref = desired.category.idnumber
    if observed.category is None:
        add("category", desired.category.idnumber, Action.CREATE, created(desired.category, ("idnumber",)),
            desired.category)
    else:
        drift("category", cat_ref, observed.category)
        fields = diff_fields(observed.category.fields(), desired.category.fields())
        if fields:
            add("category", cat_ref, Action.UPDATE, fields, observed.category.id)
        cat_ref = f"#{observed.category.id}"

    # -- courses -------------------------------------------------------------
    for cid, want in desired.courses.items():
        want_here = replace(want, category=cat_ref)
        have = observed.courses.get(cid)
        if have is None:
            if want.shortname in observed.foreign_shortnames:
                plan.notices.append(Notice("error", (
                    f"course shortname {want.shortname!r} is taken by a course oca-sync does not manage "
                    f"(idnumber {observed.foreign_shortnames[want.shortname] or 'empty'}); rename one of them, "
                    f"or set that course's idnumber to {cid!r} to let oca-sync manage it")))
                continue
            add("course", want.shortname, Action.CREATE,
                created(want, ("idnumber", "category")) + (FieldChange("category", None, desired.category.idnumber),),
                # With the plugin, keyed sections are made by upsert_sections: start with section 0 only.
                (want, 0 if observed.plugin else len(desired.sections.get(cid, []))))
        else:
            drift("course", want.shortname, have)
            fields = diff_fields(have.fields(), want_here.fields())
            if fields:
                add("course", want.shortname, Action.UPDATE, fields, (have.id, want_here))

    grouped = [s.key for ss in desired.plugin_sections.values() for s in ss if s.groups]
    if observed.plugin and grouped and observed.plugin_version < PLUGIN_GROUPS_VERSION:
        plan.notices.append(Notice("error", (
            f"{len(grouped)} sessions are for some groups only (e.g. {grouped[0]}), which needs the companion plugin "
            f"local_ocasync 1.1 (version {PLUGIN_GROUPS_VERSION}); the site has {observed.plugin_version}: upgrade "
            "it (oca-sync moodle plugin build, then install the ZIP)")))
    if observed.plugin:
        _plan_content(desired, observed, plan, add, drift, prune)
    else:
        _plan_core_sections(desired, observed, plan, add, drift)

    # -- groups --------------------------------------------------------------
    skipped_groups: set[str] = set()
    for cid, groups in desired.groups.items():
        have_groups = observed.groups.get(cid, {})
        foreign_names = observed.foreign_group_names.get(cid, set())
        for gid, g in groups.items():
            label = gid.removeprefix(keys.owned)
            cur = have_groups.get(gid)
            if cur is None:
                if g.name in foreign_names:
                    plan.notices.append(Notice("error", (
                        f"group name {g.name!r} in course {desired.courses[cid].shortname} is used by a group "
                        f"oca-sync does not manage; rename it or set its idnumber to {gid!r}")))
                    skipped_groups.add(gid)
                    continue
                add("group", label, Action.CREATE, created(g, ("idnumber", "course")), g)
            else:
                drift("group", label, cur)
                fields = diff_fields(cur.fields(), g.fields())
                if fields:
                    add("group", label, Action.UPDATE, fields, replace(g, id=cur.id))
        for gid, cur in have_groups.items():
            if gid not in groups:
                remove("group", gid.removeprefix(keys.owned), cur.id,
                       f"group {cur.name!r} in {desired.courses[cid].shortname}")

    # -- users ---------------------------------------------------------------
    user_ids: dict[str, int] = {}  # desired user key -> id of an existing user
    for uid, u in desired.users.items():
        label = uid.removeprefix(keys.owned)
        have_user = observed.users.get(uid)
        if have_user is not None:
            assert have_user.id is not None
            user_ids[uid] = have_user.id
            drift("user", label, have_user)
            user_fields = diff_fields(have_user.fields(), u.fields())
            if user_fields:
                add("user", label, Action.UPDATE, user_fields, replace(u, id=have_user.id))
        elif u.username in observed.foreign_users:
            other = observed.foreign_users[u.username]
            assert other.id is not None
            user_ids[uid] = other.id
            plan.notices.append(Notice("warning", (
                f"user {u.username!r} exists without oca-sync's key (idnumber {other.idnumber or 'empty'}): "
                f"it is enrolled as the spec says but never changed; set its idnumber to {uid!r} to manage it")))
        else:
            add("user", label, Action.CREATE, created(u, ("idnumber",)), u)

    # -- enrolments and group membership ------------------------------------------
    managed_roles = {role_ids[r] for r in {r for c in desired.enrolments.values() for rs in c.values() for r in rs}
                     if r in role_ids}
    for cid, wanted in desired.enrolments.items():
        short = desired.courses[cid].shortname
        enrolled = observed.enrolled.get(cid, {})
        for uid, role_names in wanted.items():
            want_roles = frozenset(role_ids[r] for r in role_names if r in role_ids)
            userid = user_ids.get(uid)
            enrolment = enrolled.get(userid) if userid is not None else None
            label = f"{short}/{uid.removeprefix(keys.owned)}"
            names = ",".join(sorted(role_names))
            if enrolment is None:
                add("enrolment", label, Action.CREATE, (FieldChange("roles", None, names),),
                    EnrolPayload(cid, uid, want_roles, frozenset()))
                continue
            missing = want_roles - enrolment.roles
            surplus = (enrolment.roles & managed_roles) - want_roles
            if missing or surplus:
                add("enrolment", label, Action.UPDATE,
                    (FieldChange("roles", _role_names(enrolment.roles, role_ids), names),),
                    EnrolPayload(cid, uid, missing, surplus))
        wanted_ids = {user_ids.get(u) for u in wanted}
        for e in enrolled.values():
            if keys.is_ours(e.idnumber) and e.userid not in wanted_ids:
                remove("enrolment", f"{short}/{e.idnumber.removeprefix(keys.owned)}",
                       EnrolPayload(cid, f"#{e.userid}", frozenset(), frozenset(), unenrol=True),
                       f"user {e.username} enrolled as {_role_names(e.roles, role_ids)}; the user is kept")

        groups = observed.groups.get(cid, {})
        for gid in desired.groups.get(cid, {}):
            if gid in skipped_groups:
                continue
            want_members = desired.members.get(gid, frozenset())
            group = groups.get(gid)
            have_members = {e.userid for e in enrolled.values() if group is not None and group.id in e.groups}
            to_add = frozenset(u for u in want_members if user_ids.get(u) not in have_members)
            wanted_ids = {user_ids[u] for u in want_members if u in user_ids}
            # Only users carrying our key are ever removed from a group.
            ours = {e.userid for e in enrolled.values() if keys.is_ours(e.idnumber)}
            leaving = frozenset((have_members & ours) - wanted_ids)
            to_remove = leaving if prune else frozenset()
            if leaving and not prune:
                names = ", ".join(sorted(e.username for e in enrolled.values() if e.userid in leaving))
                remove("members", gid.removeprefix(keys.owned), None, f"in the group but not in the spec: {names}")
            if to_add or to_remove:
                label = gid.removeprefix(keys.owned)
                member_fields = []
                if to_add:
                    member_fields.append(FieldChange("add", None, sorted(u.removeprefix(keys.owned) for u in to_add)))
                if to_remove:
                    member_fields.append(FieldChange("remove", sorted(to_remove), None))
                add("members", label, Action.CREATE if not have_members else Action.UPDATE, tuple(member_fields),
                    MembersPayload(cid, gid, to_add, to_remove))

    # -- calendar events (keyed by a marker in their description) ----------------
    for cid, events in managed_events(desired, observed).items():
        have_events = observed.events.get(cid, {})
        for key, ev in events.items():
            label = key.removeprefix(keys.owned)
            cur_list = have_events.get(key, [])
            if not cur_list:
                add("event", label, Action.CREATE, (FieldChange("name", None, ev.name),
                                                    FieldChange("timestart", None, ev.timestart)), EventPayload(ev))
                continue
            first, dupes = cur_list[0], cur_list[1:]
            drift("event", label, first)
            ev_fields = diff_fields(first.fields(), ev.fields())
            if ev_fields or dupes:
                # Core has no web service to edit an event: replace it (create first, then delete).
                note = "replaced: core cannot edit events" if ev_fields else f"removing {len(dupes)} duplicate(s)"
                gone = tuple(e.id for e in (cur_list if ev_fields else dupes) if e.id)
                add("event", label, Action.UPDATE, ev_fields, EventPayload(ev if ev_fields else None, gone), note)
        for key, cur_list in have_events.items():
            if key not in events and (prune or key not in desired.events.get(cid, {})):
                remove("event", key.removeprefix(keys.owned), EventPayload(None, tuple(e.id for e in cur_list if e.id)),
                       short_text(cur_list[0].name) if cur_list else "")
        if not prune:
            superseded = [k for k in have_events if k not in events and k in desired.events.get(cid, {})]
            if superseded:
                plan.notices.append(Notice("info", (
                    f"{len(superseded)} calendar events made by oca-sync are now also made by mod_attendance "
                    "for its sessions; `apply --prune` removes ours")))
    return plan


def _role_names(ids: frozenset[int], role_ids: dict[str, int]) -> str:
    by_id = {v: k for k, v in role_ids.items()}
    return ",".join(sorted(by_id.get(i, f"#{i}") for i in ids)) or "(none)"


def managed_events(desired: m.DesiredSite, observed: m.ObservedSite) -> dict[str, dict[str, m.Event]]:
    """Course events we manage: not those whose sessions mod_attendance puts in the calendar itself."""
    if not (observed.plugin and observed.attendance):
        return desired.events
    return {cid: {k: e for k, e in events.items() if k not in desired.attendance_events.get(cid, set())}
            for cid, events in desired.events.items()}


def applied_records(desired: m.DesiredSite, observed: m.ObservedSite) -> dict[tuple[str, str], dict[str, Any]]:
    """What the ledger should hold once ``desired`` is applied (for drift detection)."""
    keys = desired.keys
    out: dict[tuple[str, str], dict[str, Any]] = {("category", desired.category.idnumber): desired.category.fields()}
    for c in desired.courses.values():
        f = c.fields()
        f.pop("category")  # held as an id on the remote side
        out[("course", c.shortname)] = f
    if observed.plugin:
        for cid, sections in desired.plugin_sections.items():
            for s in sections:
                out[("section", f"{desired.courses[cid].shortname}#{s.key}")] = s.fields()
        for modules in desired.modules.values():
            for idn, mod in modules.items():
                f = _comparable("module", mod.fields())
                if mod.modname == "label" and not mod.name:
                    f.pop("name")  # Moodle names labels itself
                out[("module", idn.removeprefix(keys.owned))] = f
    else:
        for cid, sections in desired.sections.items():
            for s in sections:
                out[("section", f"{desired.courses[cid].shortname}#{s.number}")] = {"name": s.name}
    for groups in desired.groups.values():
        for gid, g in groups.items():
            out[("group", gid.removeprefix(keys.owned))] = g.fields()
    for uid, u in desired.users.items():
        out[("user", uid.removeprefix(keys.owned))] = u.fields()
    for events in managed_events(desired, observed).values():
        for key, ev in events.items():
            out[("event", key.removeprefix(keys.owned))] = ev.fields()
    return out


def _plan_core_sections(desired: m.DesiredSite, observed: m.ObservedSite, plan: Plan, add: Add, drift: DriftFn) -> None:
    """Without the plugin: section names by position (sections have no key) and a notice."""
    for cid, sections in desired.sections.items():
        have_secs = {s.number: s for s in observed.sections.get(cid, [])}
        short = desired.courses[cid].shortname
        for s in sections:
            key = f"{short}#{s.number}"
            cur = have_secs.get(s.number)
            if cur is None:
                add("section", key, Action.CREATE, (FieldChange("name", None, s.name),),
                    SectionPayload(cid, s.number, s.name, None))
            else:
                drift("section", key, cur)
                if cur.name != s.name:
                    add("section", key, Action.UPDATE, (FieldChange("name", cur.name, s.name),),
                        SectionPayload(cid, s.number, s.name, cur.id))
        extra = [n for n in have_secs if n > len(sections)]
        if extra:
            plan.notices.append(Notice("info", (
                f"course {short}: sections {min(extra)}-{max(extra)} are beyond the spec's {len(sections)} sessions; "
                "left in place (sections carry no key of ours without the companion plugin)")))

    items = sum(len(v) for v in desired.modules.values()) + sum(len(v) for v in desired.plugin_sections.values())
    restricted = sum(1 for v in desired.plugin_sections.values() for s in v if s.groups)
    if restricted:
        plan.notices.append(Notice("warning", (
            f"{restricted} sessions are for some groups only, but their sections are open to everyone: Moodle's "
            "core web services cannot set a section's access restriction. Install the companion plugin "
            "local_ocasync to restrict them (oca-sync moodle doctor).")))
    if items:
        plan.notices.append(Notice("warning", (
            f"{items} items (section summaries, session content, surveys, attendance) are not "
            "managed: Moodle's core web services cannot create activities or set section summaries. Install the "
            "companion plugin local_ocasync to manage them (oca-sync moodle doctor).")))


def _plan_content(desired: m.DesiredSite, observed: m.ObservedSite, plan: Plan, add: Add, drift: DriftFn,
                  prune: bool) -> None:
    """With the plugin: keyed sections (name, summary, position) and modules by idnumber."""
    keys = desired.keys
    for cid, sections in desired.plugin_sections.items():
        short = desired.courses[cid].shortname
        have = {s.key: s for s in observed.plugin_sections.get(cid, []) if s.key}
        # Sections made before the plugin (no key) at the position of a session are taken, not duplicated.
        unkeyed = {s.number: s for s in observed.plugin_sections.get(cid, []) if not s.key and s.number > 0}
        for s in sections:
            label = f"{short}#{s.key}"
            cur = have.get(s.key)
            if cur is None and s.number in unkeyed:
                old = unkeyed[s.number]
                assert old.id is not None
                fields = diff_fields({**old.fields(), "key": None}, s.fields())
                add("section", label, Action.UPDATE, fields, ContentPayload(cid, adopt=(s.key, old.id)),
                    note="existing section taken under our key")
                continue
            if cur is None:
                add("section", label, Action.CREATE, (FieldChange("number", None, s.number),
                                                      FieldChange("name", None, s.name)), ContentPayload(cid))
                continue
            drift("section", label, cur)
            if not s.groups and cur.groups == (CUSTOM_RESTRICTION,):
                cur = replace(cur, groups=())  # a restriction made by hand on a section for everyone: left alone
            fields = diff_fields(cur.fields(), s.fields())
            if fields:
                add("section", label, Action.UPDATE, fields, ContentPayload(cid))
        wanted = {s.key for s in sections}
        for k, cur in have.items():
            if k not in wanted:
                plan.delete(Change(SYSTEM, "section", f"{short}#{k}", Action.DELETE, (), ContentPayload(cid, delete=k),
                                   f"section {cur.number}: {short_text(cur.name)}"), prune)

    for cid, modules in desired.modules.items():
        have_mods = observed.modules.get(cid, {})
        for idn, mod in modules.items():
            label = idn.removeprefix(keys.owned)
            have_mod = have_mods.get(idn)
            if have_mod is None:
                add("module", label, Action.CREATE, (FieldChange("type", None, mod.modname),
                                                     FieldChange("name", None, mod.name or mod.intro)),
                    ContentPayload(cid, module=mod))
                continue
            if have_mod.modname != mod.modname:
                plan.notices.append(Notice("error", (
                    f"activity {idn!r} is a {have_mod.modname} on the site but a {mod.modname} in the spec; "
                    "delete it in Moodle or give the content another key")))
                continue
            drift("module", label, have_mod)
            fields = _module_diff(have_mod, mod)
            if fields:
                add("module", label, Action.UPDATE, fields, ContentPayload(cid, module=mod))
        for idn, cur_mod in have_mods.items():
            if idn not in modules:
                plan.delete(Change(SYSTEM, "module", idn.removeprefix(keys.owned), Action.DELETE, (),
                                   ContentPayload(cid, delete=idn),
                                   f"{cur_mod.modname} {short_text(cur_mod.name or cur_mod.intro)}"), prune)


def _comparable(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Module settings compare as data, not as JSON text (key order differs)."""
    if kind == "module" and isinstance(fields.get("settings"), str):
        fields = {**fields, "settings": json.loads(fields["settings"] or "{}")}
    return fields


def _module_diff(cur: m.Module, want: m.Module) -> tuple[FieldChange, ...]:
    old, new = cur.fields(), want.fields()
    if want.modname == "label" and not want.name:
        new["name"] = old["name"]  # Moodle derives a label's name from its text
    changes = []
    for k, v in new.items():
        if k == "settings":
            if json.loads(old[k] or "{}") != json.loads(v):
                # As data: the plan shows the settings that differ (sessions[3].duration: 5400 → 3600).
                changes.append(FieldChange(k, json.loads(old[k] or "{}"), json.loads(v)))
        elif old.get(k) != v:
            changes.append(FieldChange(k, old.get(k), v))
    return tuple(changes)
