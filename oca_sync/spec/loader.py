"""YAML loading that remembers where every value came from.

PyYAML's ``safe_load`` loses positions, silently keeps the last of two equal
keys and happily expands alias bombs. Here the document is *composed* into
nodes with PyYAML and then *constructed* by our own walk, which

* records the 1-based line and column of every value (and of its key),
* rejects duplicate keys, non-text keys (YAML 1.1 reads ``on:`` as ``true:``)
  and every tag beyond the plain core schema (no ``!!python/...``, no ``!custom``),
* bounds aliases and the expanded size of the document (billion laughs).

It also turns pydantic ``ValidationError`` locations back into YAML positions
and human messages, since only this module knows the positions.
"""

from __future__ import annotations

import datetime as dt
import difflib
import types
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic.fields import FieldInfo
from pydantic_core import ErrorDetails

from oca_sync.errors import SpecIssue

#: A location inside the document: mapping keys and list indexes, e.g. ``("courses", 0, "start")``.
SpecPath = tuple[str | int, ...]

MAX_ALIASES = 100
MAX_NODES = 100_000
MAX_DEPTH = 100

_CORE = "tag:yaml.org,2002:"
_SCALAR_TAGS = {_CORE + t for t in ("null", "bool", "int", "float", "str", "timestamp")}
# PyYAML resolves a lone "=" to the YAML 1.1 "value" type, which has no constructor: keep it as text.
_VALUE_TAG = _CORE + "value"
_MERGE_TAG = _CORE + "merge"
_TAG_NAMES = {
    _CORE + "bool": "a boolean",
    _CORE + "int": "a number",
    _CORE + "float": "a number",
    _CORE + "timestamp": "a date",
    _CORE + "null": "an empty value",
}


@dataclass(frozen=True)
class Position:
    """Where a value sits in the YAML text (1-based)."""

    line: int
    column: int
    key_line: int | None  # of its mapping key, when the value is a mapping entry
    key_column: int | None
    tag: str  # resolved YAML tag, to explain YAML 1.1 surprises
    plain: str | None  # source text of an unquoted scalar
    collection: bool


@dataclass
class YamlDocument:
    """The constructed data plus the position of every value in it."""

    data: Any
    positions: dict[SpecPath, Position] = field(default_factory=dict)

    def locate(self, path: SpecPath, *, key: bool = False) -> tuple[int | None, int | None]:
        """Line and column for ``path``; for a missing value, its nearest existing parent.

        A scalar points at its value; a mapping or list at its key (``sessions:``)
        so the message lands on the line people look at; ``key=True`` forces the key.
        """
        for n in range(len(path), -1, -1):
            pos = self.positions.get(path[:n])
            if pos is not None:
                break
        else:
            return None, None
        exact = n == len(path)
        use_key = key or not exact or pos.collection
        if use_key and pos.key_line is not None:
            return pos.key_line, pos.key_column
        return pos.line, pos.column

    def value_at(self, path: SpecPath) -> Any:
        """The data at ``path``, or ``None`` when it does not exist."""
        value = self.data
        for part in path:
            try:
                value = value[part]
            except (KeyError, IndexError, TypeError):
                return None
        return value


def format_path(path: Iterable[str | int]) -> str:
    """``("courses", 0, "start")`` → ``courses[0].start``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _bad_tag(tag: str) -> str:
    short = "!!" + tag.removeprefix(_CORE) if tag.startswith(_CORE) else tag
    return f"the YAML tag {short} is not allowed: use plain texts, numbers, dates, lists and mappings"


class _Refused(yaml.MarkedYAMLError):
    """The document is structurally unsafe to expand; reported like a syntax error."""


class _Composer(yaml.SafeLoader):
    """SafeLoader that counts aliases while composing (the nodes are shared, not copied)."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.alias_count = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        if self.check_event(yaml.AliasEvent):
            self.alias_count += 1
            if self.alias_count > MAX_ALIASES:
                raise _Refused(
                    problem=f"more than {MAX_ALIASES} aliases (*name); refusing to expand the document",
                    problem_mark=self.peek_event().start_mark,  # type: ignore[no-untyped-call]
                )
        return super().compose_node(parent, index)


class _Builder:
    """Constructs Python values from composed nodes, recording positions and issues."""

    def __init__(self, loader: _Composer, filename: str) -> None:
        self.loader = loader
        self.filename = filename
        self.doc = YamlDocument(data=None)
        self.issues: list[SpecIssue] = []
        self.count = 0
        self.active: set[int] = set()  # nodes being built: an alias to one of them is a cycle

    def issue(self, mark: yaml.Mark, path: SpecPath, message: str) -> None:
        self.issues.append(SpecIssue(self.filename, mark.line + 1, mark.column + 1, format_path(path), message))

    def record(self, node: yaml.Node, path: SpecPath, key_node: yaml.Node | None) -> None:
        plain = node.value if isinstance(node, yaml.ScalarNode) and node.style is None else None
        self.doc.positions[path] = Position(
            line=node.start_mark.line + 1,
            column=node.start_mark.column + 1,
            key_line=key_node.start_mark.line + 1 if key_node is not None else None,
            key_column=key_node.start_mark.column + 1 if key_node is not None else None,
            tag=node.tag,
            plain=plain,
            collection=not isinstance(node, yaml.ScalarNode),
        )

    def build(self, node: yaml.Node, path: SpecPath, key_node: yaml.Node | None = None) -> Any:
        self.count += 1
        if self.count > MAX_NODES:
            raise _Refused(
                problem=f"the document expands to more than {MAX_NODES} values (alias bomb?)",
                problem_mark=node.start_mark,
            )
        if len(path) > MAX_DEPTH:
            raise _Refused(problem=f"values nested more than {MAX_DEPTH} levels deep", problem_mark=node.start_mark)
        if id(node) in self.active:
            raise _Refused(problem="an alias refers to a value that contains it", problem_mark=node.start_mark)
        self.record(node, path, key_node)
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node, path)
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                self.check_tag(node, _CORE + "seq", path)
                return [self.build(item, path + (i,)) for i, item in enumerate(node.value)]
            assert isinstance(node, yaml.MappingNode)  # the composer makes only these three kinds
            self.check_tag(node, _CORE + "map", path)
            return self.mapping(node, path)
        finally:
            self.active.discard(id(node))

    def check_tag(self, node: yaml.Node, expected: str, path: SpecPath) -> None:
        if node.tag != expected:
            self.issue(node.start_mark, path, _bad_tag(node.tag))

    def scalar(self, node: yaml.ScalarNode, path: SpecPath) -> Any:
        if node.tag == _VALUE_TAG:
            return node.value
        if node.tag not in _SCALAR_TAGS:
            self.issue(node.start_mark, path, _bad_tag(node.tag))
            return node.value
        try:
            return self.loader.construct_object(node)
        except (ValueError, yaml.YAMLError) as e:  # e.g. 2022-02-30 matches the date pattern
            self.issue(node.start_mark, path, f"{node.value!r} cannot be read as {_TAG_NAMES[node.tag]}: {e}")
            return node.value

    def key(self, node: yaml.Node, path: SpecPath) -> str | None:
        """The text of a mapping key, or ``None`` (after reporting) when it is not text."""
        if not isinstance(node, yaml.ScalarNode):
            self.issue(node.start_mark, path, "a mapping key must be a plain text, not a list or mapping")
            return None
        value = self.scalar(node, path)
        if isinstance(value, str):
            return value
        if node.style is None and node.tag in _TAG_NAMES:
            what = _TAG_NAMES[node.tag]
            self.issue(
                node.start_mark,
                path,
                f"the key {node.value!r} is read by YAML as {what}, not a name; write it in quotes ('{node.value}')",
            )
        else:
            self.issue(node.start_mark, path, f"the key {node.value!r} must be a text")
        return None

    def mapping(self, node: yaml.MappingNode, path: SpecPath) -> dict[str, Any]:
        result: dict[str, Any] = {}
        first_seen: dict[str, yaml.Node] = {}
        merges: list[yaml.Node] = []
        for key_node, value_node in node.value:
            if key_node.tag == _MERGE_TAG:
                merges.append(value_node)
                continue
            name = self.key(key_node, path)
            if name is None:
                continue
            if name in first_seen:
                self.issue(
                    key_node.start_mark,
                    path + (name,),
                    f"duplicate key {name!r} (first at line {first_seen[name].start_mark.line + 1})",
                )
                continue
            first_seen[name] = key_node
            result[name] = self.build(value_node, path + (name,), key_node)
        for merge in merges:
            self.merge(result, merge, path)
        return result

    def merge(self, result: dict[str, Any], source: yaml.Node, path: SpecPath) -> None:
        """YAML 1.1 ``<<: *defaults``: fill the keys not given explicitly (earlier sources win)."""
        if isinstance(source, yaml.SequenceNode):
            for item in source.value:
                self.merge(result, item, path)
            return
        if not isinstance(source, yaml.MappingNode):
            self.issue(source.start_mark, path, "'<<' must refer to a mapping (<<: *name) or a list of them")
            return
        if id(source) in self.active:
            raise _Refused(problem="an alias refers to a value that contains it", problem_mark=source.start_mark)
        # Build the source on its own so that keys overridden here leave no stale positions.
        outer, self.doc.positions = self.doc.positions, {}
        self.active.add(id(source))
        try:
            merged = self.mapping(source, path)
        finally:
            self.active.discard(id(source))
            own, self.doc.positions = self.doc.positions, outer
        taken = {name for name in merged if name not in result}
        for name in taken:
            result[name] = merged[name]
        depth = len(path)
        for p, pos in own.items():
            if len(p) > depth and p[depth] in taken:
                self.doc.positions[p] = pos


def load_yaml(text: str, filename: str) -> tuple[YamlDocument | None, list[SpecIssue]]:
    """Parse ``text``; the document is ``None`` when it cannot be read at all."""
    loader: _Composer | None = None
    try:
        loader = _Composer(text)
        root = loader.get_single_node()
        if root is None:
            return None, [SpecIssue(filename, None, None, "", "the file is empty")]
        builder = _Builder(loader, filename)
        builder.doc.data = builder.build(root, ())
        return builder.doc, builder.issues
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        message = str(e.problem or e.context or "invalid YAML")
        if e.context and e.problem:
            where = f" at line {e.context_mark.line + 1}" if e.context_mark else ""
            message += f" ({e.context}{where})"
        line = mark.line + 1 if mark else None
        column = mark.column + 1 if mark else None
        if e.problem == "mapping values are not allowed here":
            # Almost always a ": " inside an unquoted text (title: Planning: a campaign).
            message += "; a text that holds ': ' must be in quotes, e.g. title: \"Planning: a campaign\""
        return None, [SpecIssue(filename, line, column, "", f"invalid YAML: {message}")]
    except yaml.reader.ReaderError as e:  # a control character in the text
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        return None, [SpecIssue(filename, line, column, "", f"invalid character {e.character:#x} ({e.reason})")]
    except RecursionError:
        return None, [SpecIssue(filename, None, None, "", "invalid YAML: values nested too deeply")]
    finally:
        if loader is not None:
            loader.dispose()


# --- pydantic errors → SpecIssue ---------------------------------------------------

_PATTERNS = {
    r"^[a-z0-9][a-z0-9_.-]{0,39}$": "a key: 1 to 40 lowercase letters, digits, '_', '.' or '-', "
    "starting with a letter or digit",
    r"^https?://\S+$": "an http:// or https:// address without spaces",
    r"^[a-z][a-z0-9]{0,9}$": "1 to 10 lowercase letters or digits, starting with a letter",
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$": "1 to 60 letters, digits, '_', '.' or '-', starting with a letter or digit",
    r"^[^@\s]+@[^@\s]+\.[^@\s]+$": "an e-mail address",
    r"^[a-z0-9_.@-]+$": "lowercase letters, digits, '_', '.', '@' or '-'",
    r"^[A-Z]{2}$": "a two-letter country code in capitals (KG)",
    r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$": "a Moodle language code: lowercase letters, digits and '_' "
    "(en, kk, uz, pt_br)",
}

_EXPECTED = {
    "string_type": "a text",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "datetime_type": "a date and time like 2022-01-17 15:00",
    "datetime_parsing": "a date and time like 2022-01-17 15:00",
    "datetime_from_date_parsing": "a date and time like 2022-01-17 15:00",
    "date_type": "a date like 2022-01-17",
    "date_parsing": "a date like 2022-01-17",
    "date_from_datetime_parsing": "a date like 2022-01-17",
    "date_from_datetime_inexact": "a date like 2022-01-17 (without a time)",
    "list_type": "a list",
    "dict_type": "a mapping (name: value)",
    "model_type": "a mapping (name: value)",
    "model_attributes_type": "a mapping (name: value)",
}


@dataclass
class _Resolved:
    """A pydantic ``loc`` walked along the model types."""

    path: SpecPath  # data path, without pydantic's union member tags
    key_error: bool = False  # the problem is a mapping key (``[key]``)
    model: type[BaseModel] | None = None  # model holding the last field
    union: tuple[tuple[Any, ...], str] | None = None  # (members, discriminator) the loc ends on
    branches: list[tuple[SpecPath, Any]] = field(default_factory=list)  # (data path, chosen union member)


def _unwrap(tp: Any) -> tuple[Any, str | None]:
    discriminator = None
    while get_origin(tp) is Annotated:
        tp, *meta = get_args(tp)
        for m in meta:
            if isinstance(m, FieldInfo) and isinstance(m.discriminator, str):
                discriminator = m.discriminator
    return tp, discriminator


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _tags(members: Iterable[Any], discriminator: str) -> list[str]:
    """The tag values (``Literal`` of the discriminator field) of union members."""
    tags: list[str] = []
    for member in members:
        ann = member.model_fields[discriminator].annotation
        if get_origin(ann) is Literal:
            tags += get_args(ann)
    return tags


def _member_for_tag(members: list[Any], tag: str) -> Any:
    for member in members:
        bare, _ = _unwrap(member)
        origin = get_origin(bare) or bare
        name = getattr(origin, "__name__", str(origin))
        if tag in (name, f"constrained-{name}") or tag.startswith(name + "["):
            return member
    return members[0]


def _resolve(loc: tuple[str | int, ...], root: type[BaseModel]) -> _Resolved:
    res = _Resolved(path=())
    path: list[str | int] = []
    tp: Any = root
    i = 0
    while i < len(loc):
        tp, discriminator = _unwrap(tp)
        origin = get_origin(tp)
        if origin in (Union, types.UnionType):
            members = [m for m in get_args(tp) if m is not type(None)]
            if len(members) == 1:  # Optional[X]: pydantic adds no tag
                tp = members[0]
                continue
            tag = loc[i]
            i += 1
            if discriminator:
                chosen = [m for m in members if tag in _tags([m], discriminator)]
                tp = chosen[0] if chosen else None
            else:
                tp = _member_for_tag(members, str(tag))
                res.branches.append((tuple(path), tp))
            continue
        part = loc[i]
        i += 1
        path.append(part)
        if _is_model(tp):
            res.model = tp
            info = tp.model_fields.get(part) if isinstance(part, str) else None
            if info is None:
                break  # an unknown field: nothing below it to resolve
            tp = Annotated[info.annotation, info] if info.discriminator else info.annotation
        elif origin in (list, tuple):
            tp = get_args(tp)[0]
        elif origin is dict:
            if i < len(loc) and loc[i] == "[key]":
                res.key_error = True
                break
            tp = get_args(tp)[1]
        else:
            path.extend(loc[i:])
            break
    bare, discriminator = _unwrap(tp) if tp is not None else (None, None)
    if discriminator and get_origin(bare) in (Union, types.UnionType):
        res.union = (get_args(bare), discriminator)
    res.path = tuple(path)
    return res


def _kind_matches(member: Any, value: Any) -> bool:
    bare, _ = _unwrap(member)
    origin = get_origin(bare) or bare
    if origin is dict or _is_model(origin):
        return isinstance(value, dict)
    if origin in (list, tuple):
        return isinstance(value, list)
    if origin is str:
        return isinstance(value, str)
    return True


def _describe_member(member: Any) -> str:
    bare, _ = _unwrap(member)
    origin = get_origin(bare) or bare
    if origin is dict:
        return "a mapping of language codes to texts (en: ..., ru: ...)"
    if _is_model(origin):
        return "a mapping (name: value)"
    if origin in (list, tuple):
        return "a list"
    if origin is str:
        return "a text"
    return getattr(origin, "__name__", str(origin))


def _got(value: Any) -> str:
    if value is None:
        return "the value is empty"
    if isinstance(value, dict):
        return "got a mapping"
    if isinstance(value, list):
        return "got a list"
    if isinstance(value, bool):  # spelt the YAML way
        return f"got {str(value).lower()}"
    if isinstance(value, str):
        return f"got {value[:60]!r}"
    text = value.isoformat(sep=" ") if isinstance(value, dt.datetime) else str(value)
    return f"got {text[:60]}"


def _yaml_hint(pos: Position | None, value: Any) -> str:
    """Explain YAML 1.1 readings such as ``yes`` → true, ``1.10`` → 1.1, ``2022-01-17`` → a date."""
    if pos is None or pos.plain is None or pos.tag not in _TAG_NAMES or value is None or isinstance(value, str):
        return ""
    return f" (YAML reads the unquoted {pos.plain!r} as {_TAG_NAMES[pos.tag]}; write it in quotes if it is a text)"


def error_message(err: ErrorDetails, root: type[BaseModel]) -> str:
    """A readable message for one pydantic error of ``root`` (for input that is not YAML, e.g. CSV rows)."""
    return _message(err, _resolve(tuple(err["loc"]), root), None)


def _message(err: ErrorDetails, res: _Resolved, doc: YamlDocument | None) -> str:
    kind = err["type"]
    ctx: dict[str, Any] = err.get("ctx") or {}
    value = err.get("input")
    last = err["loc"][-1] if err["loc"] else ""
    if kind == "missing":
        return f"missing required field '{last}'"
    if kind == "extra_forbidden":
        known = list(res.model.model_fields) if res.model else []
        close = difflib.get_close_matches(str(last), known, n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else (f"; allowed: {', '.join(known)}" if known else "")
        return f"unknown field '{last}'{hint}"
    # pydantic quotes the discriminator and tags: "'type'", "'url', 'page'".
    disc = str(ctx.get("discriminator", "type")).strip("'")
    if kind == "union_tag_invalid":
        allowed = str(ctx.get("expected_tags", "")).replace("'", "")
        return f"unknown {disc} {ctx.get('tag')!r}; allowed: {allowed}"
    if kind == "union_tag_not_found":
        allowed = ", ".join(_tags(*res.union)) if res.union else ""
        return f"missing '{disc}'" + (f"; allowed: {allowed}" if allowed else "")
    hint = _yaml_hint(doc.positions.get(res.path) if doc else None, value)
    if kind == "literal_error" and res.path == ("version",):
        return f"version {value!r} is not one this oca-sync reads (it reads version {ctx.get('expected')}); " \
               "a newer spec format needs a newer oca-sync"
    if kind == "literal_error":
        what = "unknown language" if res.key_error else "value not allowed"
        return f"{what} {value!r}: expected {ctx.get('expected')}{hint}"
    if kind == "string_pattern_mismatch":
        wanted = _PATTERNS.get(str(ctx.get("pattern")), f"text matching {ctx.get('pattern')}")
        return f"{value!r} is not valid: expected {wanted}"
    if kind in _EXPECTED:
        return f"expected {_EXPECTED[kind]}, {_got(value)}{hint}"
    if kind == "string_too_short":
        return "must not be empty"
    if kind == "too_short":
        n = ctx.get("min_length")
        return f"needs at least {n} item{'s' if n != 1 else ''}"
    if kind in ("value_error", "assertion_error"):
        return str(ctx.get("error", err["msg"]))
    if kind in ("greater_than_equal", "greater_than", "less_than_equal", "less_than"):
        return err["msg"].replace("Input should be", "must be") + f", {_got(value)}"
    return str(err["msg"])


def validation_issues(
    error: ValidationError, doc: YamlDocument, filename: str, root: type[BaseModel]
) -> list[SpecIssue]:
    """One clean :class:`SpecIssue` per problem in a pydantic ``ValidationError`` of ``root``."""
    issues: list[SpecIssue] = []
    wrong_branch: dict[SpecPath, list[Any]] = {}  # union paths where only non-matching members failed
    kept_paths: list[SpecPath] = []
    for err in error.errors(include_url=False):
        res = _resolve(tuple(err["loc"]), root)
        mismatch = next(((p, m) for p, m in res.branches if not _kind_matches(m, doc.value_at(p))), None)
        if mismatch is not None:
            # e.g. a MultiText given as a dict: the error of the "str" member is noise.
            wrong_branch.setdefault(mismatch[0], []).append(mismatch[1])
            continue
        kept_paths.append(res.path)
        key = res.key_error or err["type"] == "extra_forbidden"
        if err["type"] == "union_tag_invalid":
            line, column = doc.locate(res.path + (str(err["ctx"]["discriminator"]).strip("'"),))
        elif err["type"] == "missing":
            line, column = doc.locate(res.path[:-1])
        else:
            line, column = doc.locate(res.path, key=key)
        issues.append(SpecIssue(filename, line, column, format_path(res.path), _message(err, res, doc)))
    for path, members in wrong_branch.items():
        if any(p[: len(path)] == path for p in kept_paths):
            continue  # the matching member already explained the problem
        wanted = " or ".join(dict.fromkeys(_describe_member(m) for m in members))
        value = doc.value_at(path)
        message = f"expected {wanted}, {_got(value)}{_yaml_hint(doc.positions.get(path), value)}"
        line, column = doc.locate(path)
        issues.append(SpecIssue(filename, line, column, format_path(path), message))
    return list(dict.fromkeys(issues))
