"""Course groups (one per organisation or thematic group), keyed by idnumber."""

from __future__ import annotations

from dataclasses import replace

from ...plan import Action, diff_fields
from .base import Planning, created


def plan_groups(p: Planning) -> set[str]:
    """Groups to create, update or leave; returns the group keys skipped for a name clash (no members planned)."""
    desired, observed, keys = p.desired, p.observed, p.keys
    skipped: set[str] = set()
    for cid, groups in desired.groups.items():
        have_groups = observed.groups.get(cid, {})
        foreign_names = observed.foreign_group_names.get(cid, set())
        for gid, g in groups.items():
            label = gid.removeprefix(keys.owned)
            cur = have_groups.get(gid)
            if cur is None:
                if g.name in foreign_names:
                    p.notice("error", (
                        f"group name {g.name!r} in course {desired.courses[cid].shortname} is used by a group "
                        f"oca-sync does not manage; rename it or set its idnumber to {gid!r}"))
                    skipped.add(gid)
                    continue
                p.add("group", label, Action.CREATE, created(g, ("idnumber", "course")), g)
            else:
                p.drift("group", label, cur)
                fields = diff_fields(cur.fields(), g.fields())
                if fields:
                    p.add("group", label, Action.UPDATE, fields, replace(g, id=cur.id))
        for gid, cur in have_groups.items():
            if gid not in groups:
                p.remove("group", gid.removeprefix(keys.owned), cur.id,
                         f"group {cur.name!r} in {desired.courses[cid].shortname}")
    return skipped
