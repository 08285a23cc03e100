"""What every resource planner shares: the payloads apply needs, and one planning context.

A :class:`Planning` holds the desired and observed sites, the ledger of what
was last applied and the prune flag, and collects the plan: changes, drift
(an object changed outside oca-sync since we wrote it), notices, and objects
no longer in the spec. Each resource module adds to it; none does I/O.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ...plan import Action, Change, Drift, FieldChange, LazyFields, Notice, Plan
from .. import model as m
from ..functions import PLUGIN_1_1, PLUGIN_1_2

SYSTEM = "moodle"

#: local_ocasync 1.1: sections restricted to groups, attendance sessions for one group, installed languages.
PLUGIN_GROUPS_VERSION = PLUGIN_1_1
#: local_ocasync 1.2: activities restricted to groups (the check-ins per organisation), feedback multiple_submit.
PLUGIN_MODULE_GROUPS_VERSION = PLUGIN_1_2


@dataclass(frozen=True, slots=True)
class EnrolPayload:
    course: str
    user: str  # desired user idnumber, or "#<id>" for a user only known by id (prune)
    add: frozenset[int]
    remove: frozenset[int]
    unenrol: bool = False


@dataclass(frozen=True, slots=True)
class MembersPayload:
    course: str
    group: str
    add: frozenset[str]  # user refs
    remove: frozenset[int]  # user ids


@dataclass(frozen=True, slots=True)
class SectionPayload:
    course: str
    number: int
    name: str
    id: int | None  # None: the section does not exist yet


@dataclass(frozen=True, slots=True)
class ContentPayload:
    """A section or module change through the plugin; apply sends whole courses at a time."""

    course: str
    module: m.Module | None = None
    delete: str = ""  # section key or module idnumber to delete
    adopt: tuple[str, int] | None = None  # (section key, id of the existing unkeyed section to take)


@dataclass(frozen=True, slots=True)
class EventPayload:
    event: m.Event | None  # to create
    delete_ids: tuple[int, ...] = ()


@dataclass
class Planning:
    """The inputs of one plan and the plan being built."""

    desired: m.DesiredSite
    observed: m.ObservedSite
    role_ids: dict[str, int]
    last: dict[tuple[str, str], dict[str, Any]]
    prune: bool
    plan: Plan = field(default_factory=Plan)

    @property
    def keys(self) -> m.Keys:
        return self.desired.keys

    def drift(self, kind: str, key: str, obs: m.Record) -> None:
        """Record what changed on the site since we last wrote ``kind[key]`` (nothing when we never did)."""
        before = self.last.get((kind, key))
        if before is None:
            return
        before = comparable(kind, before)
        now = comparable(kind, obs.fields())
        self.drifted(kind, key, tuple(FieldChange(k, v, now.get(k)) for k, v in before.items()
                                      if k in now and now[k] != v))

    def drifted(self, kind: str, key: str, fields: Sequence[FieldChange]) -> None:
        """Record ``fields`` (old: what we wrote, new: what the site has now) as drift of ``kind[key]``."""
        if fields:
            self.plan.drift.append(Drift(SYSTEM, kind, key, tuple(fields)))

    def add(self, kind: str, key: str, action: Action, fields: Sequence[FieldChange] = (), payload: Any = None,
            note: str = "") -> None:
        self.plan.changes.append(Change(SYSTEM, kind, key, action, fields, payload, note))

    def remove(self, kind: str, key: str, payload: Any, detail: str = "") -> None:
        """An object we own that the spec no longer has: deleted with --prune, else listed."""
        self.plan.delete(Change(SYSTEM, kind, key, Action.DELETE, (), payload, detail), self.prune)

    def notice(self, level: str, message: str) -> None:
        self.plan.notices.append(Notice(level, message))


def created(rec: m.Record, skip: tuple[str, ...] = ()) -> tuple[FieldChange, ...]:
    """The fields a new record is made with, as plan lines (empty ones left out)."""
    return tuple(FieldChange(k, None, v) for k, v in rec.fields().items() if k not in skip and v not in ("", None))


def created_lazily(rec: m.Record, skip: tuple[str, ...] = ()) -> LazyFields:
    """:func:`created`, made when read: for the records a plan may hold by the 100,000 (users)."""
    return LazyFields(functools.partial(created, rec, skip))


def comparable(kind: str, fields: dict[str, Any]) -> dict[str, Any]:
    """Module settings compare as data, not as JSON text (key order differs)."""
    if kind == "module" and isinstance(fields.get("settings"), str):
        fields = {**fields, "settings": json.loads(fields["settings"] or "{}")}
    return fields
