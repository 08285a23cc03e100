"""The generic change set shared by every remote system, and its rendering.

A :class:`Plan` is data: planners build it with no I/O, ``apply`` carries it
out, the CLI renders it as text (Terraform's + / ~ / - markers) or as a
versioned JSON document.
"""

from __future__ import annotations

import datetime as dt
import difflib
import enum
import json
import re
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import IO, Any
from zoneinfo import ZoneInfo

from rich.markup import escape

#: Version of the JSON document printed by ``plan --json``; bump on incompatible changes.
PLAN_FORMAT_VERSION = "1.1"  # 1.1: summary_by_system


class Action(str, enum.Enum):
    CREATE = "create"
    UPDATE = "update"
    DELETE = "delete"

    @property
    def marker(self) -> str:
        return {"create": "+", "update": "~", "delete": "-"}[self.value]


@dataclass(frozen=True, slots=True)
class FieldChange:
    name: str
    old: Any
    new: Any


class LazyFields(Sequence[FieldChange]):
    """A change's field lines, made each time they are read from a function of the change's record.

    A plan to create 100,000 users would otherwise hold half a million FieldChange objects
    that repeat what the payload already holds (issue 13 item 8). Reads like a tuple.
    """

    __slots__ = ("_make",)

    def __init__(self, make: Callable[[], tuple[FieldChange, ...]]) -> None:
        self._make = make

    def __getitem__(self, index: Any) -> Any:
        return self._make()[index]

    def __len__(self) -> int:
        return len(self._make())

    def __iter__(self) -> Iterator[FieldChange]:
        return iter(self._make())

    def __eq__(self, other: object) -> bool:
        if isinstance(other, LazyFields):
            other = other._make()
        return self._make() == other

    def __hash__(self) -> int:
        return hash(self._make())

    def __repr__(self) -> str:
        return repr(self._make())


@dataclass(frozen=True, slots=True)
class Change:
    """One object to create, update or delete.

    ``payload`` carries what ``apply`` needs (ids, full records); it is not
    rendered. ``fields`` lists what changes, old -> new.
    """

    system: str
    kind: str
    key: str
    action: Action
    fields: Sequence[FieldChange] = ()
    payload: Any = None
    note: str = ""

    @property
    def address(self) -> str:
        return f"{self.system}.{self.kind}[{self.key}]"


@dataclass(frozen=True, slots=True)
class Drift:
    """An object changed outside oca-sync since we last wrote it."""

    system: str
    kind: str
    key: str
    fields: tuple[FieldChange, ...]

    @property
    def address(self) -> str:
        return f"{self.system}.{self.kind}[{self.key}]"


@dataclass(frozen=True, slots=True)
class Notice:
    """Something the plan cannot do or wants the user to know."""

    level: str  # "warning" | "info"
    message: str


@dataclass
class Plan:
    changes: list[Change] = field(default_factory=list)
    drift: list[Drift] = field(default_factory=list)
    notices: list[Notice] = field(default_factory=list)
    #: Objects carrying our key that the spec no longer has: deletions that only ``--prune`` makes.
    #: Always listed, so that a plan never hides what is left behind.
    orphans: list[Change] = field(default_factory=list)

    def extend(self, other: Plan) -> None:
        self.changes += other.changes
        self.drift += other.drift
        self.notices += other.notices
        self.orphans += other.orphans

    def delete(self, change: Change, prune: bool) -> None:
        """A deletion of an object we own: planned with ``prune``, else listed as not in the spec."""
        (self.changes if prune else self.orphans).append(change)

    @property
    def empty(self) -> bool:
        return not self.changes

    def counts(self) -> dict[str, int]:
        c = Counter(ch.action for ch in self.changes)
        return {"add": c[Action.CREATE], "change": c[Action.UPDATE], "delete": c[Action.DELETE]}

    def counts_by_system(self) -> dict[str, dict[str, int]]:
        """Counts per remote system (``moodle``, ``zoom``), in the order they first appear."""
        out: dict[str, dict[str, int]] = {}
        names = {Action.CREATE: "add", Action.UPDATE: "change", Action.DELETE: "delete"}
        for ch in self.changes:
            counts = out.setdefault(ch.system, {"add": 0, "change": 0, "delete": 0})
            counts[names[ch.action]] += 1
        return out

    def summary(self) -> str:
        if self.empty:
            return "No changes."
        n = self.counts()
        return f"Plan: {n['add']} to add, {n['change']} to change, {n['delete']} to delete."

    def to_json(self) -> dict[str, Any]:
        return {
            "format_version": PLAN_FORMAT_VERSION,
            "summary": self.counts(),
            "summary_by_system": self.counts_by_system(),
            "changes": [change_json(c) for c in self.changes],
            **self._tail_json(),
        }

    def _tail_json(self) -> dict[str, Any]:
        return {
            "drift": [
                {
                    "address": d.address,
                    "fields": {f.name: {"last_applied": _jsonable(f.old), "now": _jsonable(f.new)} for f in d.fields},
                }
                for d in self.drift
            ],
            "notices": [{"level": n.level, "message": n.message} for n in self.notices],
            "not_in_spec": [{"address": c.address, **({"detail": c.note} if c.note else {})} for c in self.orphans],
        }

    def write_json(self, out: IO[str]) -> None:
        """The same document as :meth:`to_json`, written change by change: memory stays flat for any size."""
        head = {"format_version": PLAN_FORMAT_VERSION, "summary": self.counts(),
                "summary_by_system": self.counts_by_system()}
        out.write(json.dumps(head, ensure_ascii=False)[:-1] + ', "changes": [')
        for i, c in enumerate(self.changes):
            out.write(("\n  " if i == 0 else ",\n  ") + json.dumps(change_json(c), ensure_ascii=False))
        out.write("\n], " + json.dumps(self._tail_json(), ensure_ascii=False, indent=1)[1:] + "\n")


def change_json(c: Change) -> dict[str, Any]:
    """One change as plan JSON holds it."""
    return {
        "address": c.address,
        "system": c.system,
        "kind": c.kind,
        "key": c.key,
        "action": c.action.value,
        "fields": {f.name: {"old": _jsonable(f.old), "new": _jsonable(f.new)} for f in c.fields},
        **({"note": c.note} if c.note else {}),
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
        return f"[{style}]{escape(text)}[/{style}]" if color else text

    def plain(text: str) -> str:  # values may hold "[…]" that rich would read as markup
        return escape(text) if color else text

    def value(name: str, v: Any) -> str:
        if tz is not None and name in TIME_FIELDS and isinstance(v, int) and not isinstance(v, bool):
            return dt.datetime.fromtimestamp(v, tz).strftime("%Y-%m-%d %H:%M %Z")
        return short(v)

    styles = {Action.CREATE: "green", Action.UPDATE: "yellow", Action.DELETE: "red"}
    if plan.drift:
        yield paint("Changed outside oca-sync since the last apply:", "bold magenta")
        for d in plan.drift:
            yield plain(f"  ! {d.address}")
            for f in d.fields:
                yield from (plain("      " + x) for x in field_lines(f, value))
        yield ""
    for n in plan.notices:
        yield paint(f"{n.level.capitalize()}: {n.message}", "bold yellow" if n.level == "warning" else "cyan")
    if plan.notices:
        yield ""
    # Many changes of one kind (a 100,000-person roster): the first few in full, then a count.
    sizes = Counter((c.system, c.kind, c.action) for c in plan.changes)
    shown: Counter[tuple[str, str, Action]] = Counter()
    last = {(c.system, c.kind, c.action): i for i, c in enumerate(plan.changes)}
    for i, c in enumerate(plan.changes):
        group = (c.system, c.kind, c.action)
        if sizes[group] <= SUMMARISE_OVER or shown[group] < SHOWN_WHEN_SUMMARISED:
            shown[group] += 1
            line = f"  {c.action.marker} {c.address}"
            if c.note:
                line += f"  ({c.note})"
            yield paint(line, styles[c.action])
            if c.action is not Action.DELETE:
                for f in c.fields:
                    yield from (plain("      " + x) for x in field_lines(f, value))
        if last[group] == i and sizes[group] > shown[group]:
            what = {Action.CREATE: "to add", Action.UPDATE: "to change", Action.DELETE: "to delete"}[c.action]
            yield paint(f"  … and {sizes[group] - shown[group]:,} more {c.system}.{c.kind} {what} "
                        "(`plan --json` lists every one)", styles[c.action])
    if plan.changes:
        yield ""
    if plan.orphans:
        yield paint(f"Not in the spec ({len(plan.orphans)}; `--prune` would delete):", "bold red")
        for c in plan.orphans:
            yield plain(f"  - {c.address}" + (f"  ({c.note})" if c.note else ""))
        yield ""
    by_system = plan.counts_by_system()
    if len(by_system) > 1:
        yield "; ".join(f"{system.capitalize()}: " + ", ".join(f"{n} to {what}" for what, n in counts.items() if n)
                        for system, counts in by_system.items())
    yield paint(plan.summary(), "bold")


#: A kind with more changes than this is summarised: its first few in full, then a count.
SUMMARISE_OVER = 200
SHOWN_WHEN_SUMMARISED = 20
#: Items of a list shown one per line before the rest is counted (plan --json has them all).
LIST_ITEMS_SHOWN = 50
#: Lines of a text or settings diff shown before the rest is counted.
DIFF_LINES_SHOWN = 40


def field_lines(f: FieldChange, value: Any = None) -> list[str]:
    """One field of a change as readable lines.

    Lists become ``+ added`` / ``- removed`` items, settings (dicts) the keys
    that differ, long or multilingual texts a short line diff; short values
    ``old → new``. A line never shows the same text on both sides.
    """
    show = value or (lambda _name, v: short(v))
    old, new = f.old, f.new
    if _is_list(old) or _is_list(new):
        before = [str(x) for x in (old or ())]
        after = [str(x) for x in (new or ())]
        gone, came = [x for x in before if x not in after], [x for x in after if x not in before]
        items = [f"  + {x}" for x in came] + [f"  - {x}" for x in gone]
        if len(items) > LIST_ITEMS_SHOWN:
            items = items[:LIST_ITEMS_SHOWN] + [f"  … and {len(items) - LIST_ITEMS_SHOWN} more"]
        return [f"{f.name}:", *items]
    if isinstance(old, dict) or isinstance(new, dict):
        flat_old, flat_new = _flatten(old or {}), _flatten(new or {})
        lines = [f"  {k}: {short(flat_old.get(k))} → {short(flat_new.get(k))}"
                 for k in sorted(set(flat_old) | set(flat_new), key=_path_key) if flat_old.get(k) != flat_new.get(k)]
        if old is None:  # created: the values, not "(none) →"
            lines = [f"  {k}: {short(v)}" for k, v in sorted(flat_new.items(), key=lambda kv: _path_key(kv[0]))]
        return [f"{f.name}:", *_capped(lines)]
    if isinstance(old, str) and isinstance(new, str) and (_long(old) or _long(new)):
        return [f"{f.name}:", *_capped(_text_diff(old, new))]
    if old is None:
        return [f"{f.name}: {show(f.name, new)}"]
    shown_old, shown_new = show(f.name, old), show(f.name, new)
    if shown_old == shown_new:  # the difference is past the cut or invisible: say what it is
        return [f"{f.name}: {_repr_full(old)} → {_repr_full(new)}"]
    return [f"{f.name}: {shown_old} → {shown_new}"]


def _is_list(v: Any) -> bool:
    return isinstance(v, (list, tuple, set, frozenset))


def _long(text: str) -> bool:
    return len(text) > 60 or "\n" in text or "multilang" in text


def _capped(lines: list[str]) -> list[str]:
    if len(lines) <= DIFF_LINES_SHOWN:
        return lines
    return lines[:DIFF_LINES_SHOWN] + [f"  … and {len(lines) - DIFF_LINES_SHOWN} more lines (plan --json has all)"]


def _repr_full(v: Any) -> str:
    return repr(v) if isinstance(v, str) else repr(_jsonable(v))


def _flatten(data: Any, prefix: str = "") -> dict[str, Any]:
    """Nested settings as ``path → value`` (``sessions[3].duration``), so a diff names what changed."""
    out: dict[str, Any] = {}
    if isinstance(data, dict):
        for k, v in data.items():
            out.update(_flatten(v, f"{prefix}.{k}" if prefix else str(k)))
    elif isinstance(data, (list, tuple)) and data and any(isinstance(x, (dict, list)) for x in data):
        for i, v in enumerate(data):
            out.update(_flatten(v, f"{prefix}[{i}]"))
    else:
        out[prefix] = data
    return out


def _path_key(path: str) -> list[Any]:
    # sessions[10] after sessions[9]
    return [int(p) if p.isdigit() else p for p in re.split(r"\[(\d+)\]", path)]


_BREAKS = re.compile(r"(?:<br\s*/?>|</p>|</li>|</h\d>|\n)", re.I)


def _text_lines(text: str) -> list[str]:
    """A text as lines to compare: one per language block, paragraph or line."""
    text = _MULTILANG.sub(lambda mt: f"\n[{mt.group(1)}] {mt.group(2)}\n", text)
    return [line.strip() for line in _BREAKS.split(text) if line.strip()]


def _text_diff(old: str, new: str) -> list[str]:
    out = []
    for line in difflib.unified_diff(_text_lines(old), _text_lines(new), lineterm="", n=0):
        if line.startswith(("---", "+++", "@@")):
            continue
        body = line[1:]
        body = body if len(body) <= 160 else body[:159] + "…"
        out.append(f"  {line[0]} {body}")
    return out or [f"  {_repr_full(old)} → {_repr_full(new)}"]  # differ only in spacing or markup


def diff_fields(old: dict[str, Any], new: dict[str, Any]) -> tuple[FieldChange, ...]:
    """Fields whose values differ between two records (keys of ``new`` only)."""
    return tuple(FieldChange(k, old.get(k), v) for k, v in new.items() if old.get(k) != v)
