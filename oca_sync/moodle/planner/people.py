"""Users, their enrolments with roles, and group membership.

Users are never deleted (a Moodle user deletion destroys their history):
pruning removes their enrolments and group memberships instead. Only users
carrying our key are ever unenrolled or removed from a group.
"""

from __future__ import annotations

from dataclasses import replace

from ...plan import Action, FieldChange, diff_fields
from .base import EnrolPayload, MembersPayload, Planning, created_lazily


def plan_users(p: Planning) -> dict[str, int]:
    """Users to create or update; returns desired user key -> id of the user that exists already."""
    desired, observed, keys = p.desired, p.observed, p.keys
    user_ids: dict[str, int] = {}
    for uid, u in desired.users.items():
        label = uid.removeprefix(keys.owned)
        have_user = observed.users.get(uid)
        if have_user is not None:
            assert have_user.id is not None
            user_ids[uid] = have_user.id
            p.drift("user", label, have_user)
            user_fields = diff_fields(have_user.fields(), u.fields())
            if user_fields:
                p.add("user", label, Action.UPDATE, user_fields, replace(u, id=have_user.id))
        elif u.username in observed.foreign_users:
            other = observed.foreign_users[u.username]
            assert other.id is not None
            user_ids[uid] = other.id
            p.notice("warning", (
                f"user {u.username!r} exists without oca-sync's key (idnumber {other.idnumber or 'empty'}): "
                f"it is enrolled as the spec says but never changed; set its idnumber to {uid!r} to manage it"))
        else:
            p.add("user", label, Action.CREATE, created_lazily(u, ("idnumber",)), u)
    return user_ids


def plan_enrolments(p: Planning, user_ids: dict[str, int], skipped_groups: set[str]) -> None:
    """Enrolments (roles added and removed) and group membership, per course."""
    desired, observed, keys, role_ids = p.desired, p.observed, p.keys, p.role_ids
    managed_roles = {role_ids[r] for r in {r for c in desired.enrolments.values() for rs in c.values() for r in rs}
                     if r in role_ids}
    # Role sets repeat (a roster of 100,000 students has one): one frozenset, one name and one
    # "roles" line for a new enrolment per distinct set.
    role_sets: dict[frozenset[str], tuple[frozenset[int], str, tuple[FieldChange, ...]]] = {}
    for cid, wanted in desired.enrolments.items():
        short = desired.courses[cid].shortname
        enrolled = observed.enrolled.get(cid, {})
        for uid, role_names in wanted.items():
            key = frozenset(role_names)
            if key not in role_sets:
                joined = ",".join(sorted(role_names))
                role_sets[key] = (frozenset(role_ids[r] for r in role_names if r in role_ids), joined,
                                  (FieldChange("roles", None, joined),))
            want_roles, names, new_roles = role_sets[key]
            userid = user_ids.get(uid)
            enrolment = enrolled.get(userid) if userid is not None else None
            label = f"{short}/{uid.removeprefix(keys.owned)}"
            if enrolment is None:
                p.add("enrolment", label, Action.CREATE, new_roles,
                      EnrolPayload(cid, uid, want_roles, frozenset()))
                continue
            missing = want_roles - enrolment.roles
            surplus = (enrolment.roles & managed_roles) - want_roles
            if missing or surplus:
                p.add("enrolment", label, Action.UPDATE,
                      (FieldChange("roles", role_names_of(enrolment.roles, role_ids), names),),
                      EnrolPayload(cid, uid, missing, surplus))
        wanted_ids = {user_ids.get(u) for u in wanted}
        for e in enrolled.values():
            if keys.is_ours(e.idnumber) and e.userid not in wanted_ids:
                p.remove("enrolment", f"{short}/{e.idnumber.removeprefix(keys.owned)}",
                         EnrolPayload(cid, f"#{e.userid}", frozenset(), frozenset(), unenrol=True),
                         f"user {e.username} enrolled as {role_names_of(e.roles, role_ids)}; the user is kept")
        _plan_members(p, cid, user_ids, skipped_groups)


def _plan_members(p: Planning, cid: str, user_ids: dict[str, int], skipped_groups: set[str]) -> None:
    desired, observed, keys = p.desired, p.observed, p.keys
    enrolled = observed.enrolled.get(cid, {})
    groups = observed.groups.get(cid, {})
    for gid in desired.groups.get(cid, {}):
        if gid in skipped_groups:
            continue
        want_members = desired.members.get(gid, frozenset())
        group = groups.get(gid)
        have_members = {e.userid for e in enrolled.values() if group is not None and group.id in e.groups}
        to_add = frozenset(u for u in want_members if user_ids.get(u) not in have_members)
        wanted_ids = {user_ids[u] for u in want_members if u in user_ids}
        ours = {e.userid for e in enrolled.values() if keys.is_ours(e.idnumber)}
        leaving = frozenset((have_members & ours) - wanted_ids)
        to_remove = leaving if p.prune else frozenset()
        if leaving and not p.prune:
            names = ", ".join(sorted(e.username for e in enrolled.values() if e.userid in leaving))
            p.remove("members", gid.removeprefix(keys.owned), None, f"in the group but not in the spec: {names}")
        if to_add or to_remove:
            label = gid.removeprefix(keys.owned)
            member_fields = []
            if to_add:
                member_fields.append(FieldChange("add", None, sorted(u.removeprefix(keys.owned) for u in to_add)))
            if to_remove:
                member_fields.append(FieldChange("remove", sorted(to_remove), None))
            p.add("members", label, Action.CREATE if not have_members else Action.UPDATE, tuple(member_fields),
                  MembersPayload(cid, gid, to_add, to_remove))


def role_names_of(ids: frozenset[int], role_ids: dict[str, int]) -> str:
    by_id = {v: k for k, v in role_ids.items()}
    return ",".join(sorted(by_id.get(i, f"#{i}") for i in ids)) or "(none)"
