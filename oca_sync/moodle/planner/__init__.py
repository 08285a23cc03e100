"""Desired x observed (x last applied) -> the Moodle change set. Pure: no I/O.

One module per resource (courses, content, groups, people, events), each
adding its changes to one :class:`~.base.Planning`. Ownership: only objects
whose idnumber (or event marker) carries our key prefix are updated or
deleted; deletions are planned only with ``prune`` (without it they are
listed as not in the spec). Users are never deleted.
"""

from __future__ import annotations

from typing import Any

from ...plan import Plan
from .. import completion
from .. import model as m
from .base import (
    PLUGIN_GROUPS_VERSION,
    SYSTEM,
    ContentPayload,
    EnrolPayload,
    EventPayload,
    MembersPayload,
    Planning,
    SectionPayload,
    comparable,
)
from .content import module_diff, plan_content
from .courses import plan_courses
from .events import managed_events, plan_events
from .groups import plan_groups
from .people import plan_enrolments, plan_users

__all__ = [
    "PLUGIN_GROUPS_VERSION", "SYSTEM", "ContentPayload", "EnrolPayload", "EventPayload", "MembersPayload",
    "SectionPayload", "applied_records", "managed_events", "module_diff", "plan_moodle",
]


def plan_moodle(
    desired: m.DesiredSite,
    observed: m.ObservedSite,
    role_ids: dict[str, int],
    *,
    last_applied: dict[tuple[str, str], dict[str, Any]] | None = None,
    prune: bool = False,
) -> Plan:
    """Every Moodle change, in the order apply needs: courses, content, groups, users, enrolments, events."""
    p = Planning(desired, observed, role_ids, last_applied or {}, prune)
    for note in dict.fromkeys(desired.notes):
        p.notice("info", note)
    plan_courses(p)
    plan_content(p)
    completion.plan(desired, observed, p.add, p.notice, p.last, p.drifted)
    skipped_groups = plan_groups(p)
    user_ids = plan_users(p)
    plan_enrolments(p, user_ids, skipped_groups)
    plan_events(p)
    return p.plan


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
                f = comparable("module", mod.fields())
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
    if observed.plugin and completion.supported(observed):
        for cid, settings in desired.completion.items():
            out[("completion", desired.courses[cid].shortname)] = settings
    for uid, u in desired.users.items():
        out[("user", uid.removeprefix(keys.owned))] = u.fields()
    for events in managed_events(desired, observed).values():
        for key, ev in events.items():
            out[("event", key.removeprefix(keys.owned))] = ev.fields()
    return out
