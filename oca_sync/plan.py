"""The generic change set shared by every remote system, and its rendering.

A :class:`Plan` is data: planners build it with no I/O, ``apply`` carries it
out, the CLI renders it as text (Terraform's + / ~ / - markers) or as a
versioned JSON document.
"""

from __future__ import annotations

import datetime as dt
import enum
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

#: Version of the JSON document printed by ``plan --json``; bump on incompatible changes.
PLAN_FORMAT_VERSION = "1.0"


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"

    @property
    def marker(self) -> str:
        return {"create": "+", "update": "~", "delete": "-"}[self.value]


@dataclass(frozen=True)
class FieldChange:
    name: str
    old: Any
    new: Any


@dataclass(frozen=True)
class Change:
    """One object to create, update or delete.

    ``payload`` carries what ``apply`` needs (ids, full records); it is not
    rendered. ``fields`` lists what changes, old -> new.
    """

    system: str
    kind: str
    key: str
    action: Action
    fields: tuple[FieldChange, ...] = ()
    payload: Any = None
    note: str = ""

    @property
    def address(self) -> str:
        return f"{self.system}.{self.kind}[{self.key}]"


@dataclass(frozen=True)
class Drift:
    """An object changed outside oca-sync since we last wrote it."""

    system: str
    kind: str
    key: str
    fields: tuple[FieldChange, ...]

    @property
    def address(self) -> str:
        return f"{self.system}.{self.kind}[{self.key}]"


@dataclass(frozen=True)
class Notice:
    """Something the plan cannot do or wants the user to know."""

    level: str  # "warning" | "info"
    message: str


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.changes += other.changes
        self.drift += other.drift
        self.notices += other.notices

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        c = Counter(ch.action for ch in self.changes)
        return {"add": c[Action.CREATE], "change": c[Action.UPDATE], "delete": c[Action.DELETE]}

    def summary(self) -> str:
        if self.empty:
            return "No changes."
        n = self.counts()
        return f"Plan: {n['add']} to add, {n['change']} to change, {n['delete']} to delete."

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "summary": self.counts(),
            "changes": [
                {
                    "address": c.address,
                    "system": c.system,
                    "kind": c.kind,
                    "key": c.key,
                    "action": c.action.value,
                    "fields": {f.name: {"old": _jsonable(f.old), "new": _jsonable(f.new)} for f in c.fields},
                    **({"note": c.note} if c.note else {}),
                }
                for c in self.changes
            ],
            "drift": [
                {
                    "address": d.address,
                    "fields": {f.name: {"last_applied": _jsonable(f.old), "now": _jsonable(f.new)} for f in d.fields},
                }
                for d in self.drift
            ],
            "notices": [{"level": n.level, "message": n.message} for n in self.notices],
        }


def _jsonable(v: Any) -> Any:
    if isinstance(v, (str, int, float, bool)) or v is None:
        return v
    if isinstance(v, (list, tuple, set, frozenset)):
        items = [_jsonable(x) for x in v]
        return sorted(items, key=str) if isinstance(v, (set, frozenset)) else items
    if isinstance(v, dict):
        return {str(k): _jsonable(x) for k, x in v.items()}
    return str(v)


_MULTILANG = re.compile(r'<span lang="([a-z_]+)" class="multilang">(.*?)</span>', re.S)


def short(v: Any, width: int = 60) -> str:
    """A value as shown in a plan: quoted texts, multilang spans as ``en:… | ru:…``, cut to ``width``."""
    if v is None:
        return "(none)"
    if isinstance(v, (set, frozenset)):
        v = sorted(v, key=str)
    if isinstance(v, str):
        v = _MULTILANG.sub(lambda mt: f"{mt.group(1)}:{mt.group(2)} | ", v).removesuffix(" | ")
    text = repr(v) if isinstance(v, str) else str(_jsonable(v))
    return text if len(text) <= width else text[: width - 1] + "…"


#: Fields holding Unix times, shown as local date and time in a plan.
TIME_FIELDS = frozenset({"startdate", "enddate", "timestart"})


def render_lines(plan: Plan, *, color: bool = False, tz: ZoneInfo | None = None) -> Iterable[str]:
    """The plan as text lines (rich markup when ``color``); Unix times in ``tz`` when given."""

    def paint(text: str, style: str) -> str:
        return f"[{style}]{text}[/{style}]" if color else text

    def value(name: str, v: Any) -> str:
        if tz is not None and name in TIME_FIELDS and isinstance(v, int) and not isinstance(v, bool):
            return dt.datetime.fromtimestamp(v, tz).strftime("%Y-%m-%d %H:%M %Z")
        return short(v)

    styles = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}
    if plan.drift:
        yield paint("Changed outside oca-sync since the last apply:", "bold magenta")
        for d in plan.drift:
            yield f"  ! {d.address}"
            for f in d.fields:
                yield f"      {f.name}: {value(f.name, f.old)} → {value(f.name, f.new)}"
        yield ""
    for n in plan.notices:
        yield paint(f"{n.level.capitalize()}: {n.message}", "bold yellow" if n.level == "warning" else "cyan")
    if plan.notices:
        yield ""
    for c in plan.changes:
        line = f"  {c.action.marker} {c.address}"
        if c.note:
            line += f"  ({c.note})"
        yield paint(line, styles[c.action])
        for f in c.fields:
            if c.action is Action.CREATE:
                yield f"      {f.name}: {value(f.name, f.new)}"
            elif c.action is Action.UPDATE:
                yield f"      {f.name}: {value(f.name, f.old)} → {value(f.name, f.new)}"
    if plan.changes:
        yield ""
    yield paint(plan.summary(), "bold")


def diff_fields(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    """Fields whose values differ between two records (keys of ``new`` only)."""
    return tuple(FieldChange(k, old.get(k), v) for k, v in new.items() if old.get(k) != v)
