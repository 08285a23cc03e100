"""The companion plugin's PHP against the sandbox's emulation of it, without running Moodle.

* the parameter and return descriptions of ``classes/external/*.php`` (parsed by a
  small purpose-written reader of PHP literals, below) equal the sandbox's
  (:data:`oca_sync.sandbox.moodle_fn_ocasync.PLUGIN_REGISTRY`);
* ``db/services.php`` declares exactly ``PLUGIN_FUNCTIONS``, and its ``oca-sync``
  service holds exactly ``CORE_FUNCTIONS + PLUGIN_FUNCTIONS``;
* every PHP file passes ``php -l`` (php-cli is required: scripts/test.sh installs it);
* every error code the PHP throws has an English string, and the sandbox raises
  the same codes.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from oca_sync.moodle.functions import CORE_FUNCTIONS, PLUGIN_FUNCTIONS
from oca_sync.moodle.plugin_zip import plugin_dir
from oca_sync.sandbox import moodle_fn_completion, moodle_fn_ocasync, moodle_fn_ocasync_bulk
from oca_sync.sandbox.moodle_fn_ocasync import PLUGIN_REGISTRY
from oca_sync.sandbox.moodle_params import Multiple, Single, Value

PLUGIN = plugin_dir()
PHP_FILES = sorted(PLUGIN.rglob("*.php"))

# --------------------------------------------------------------------------- #
# A reader of the PHP literals the plugin's declarations use
# --------------------------------------------------------------------------- #

_TOKEN = re.compile(r"""
    (?P<ws>\s+|//[^\n]*|\#[^\n]*|/\*.*?\*/)
  | (?P<sq>'(?:[^'\\]|\\.)*')
  | (?P<dq>"(?:[^"\\]|\\.)*")
  | (?P<num>\d+(?:\.\d+)?)
  | (?P<var>\$[A-Za-z_]\w*)
  | (?P<name>\\?[A-Za-z_]\w*(?:\\[A-Za-z_]\w*)*)
  | (?P<op>=>|::|->|\?\?|[-()\[\],;.=:{}?!<>+*/&|@])
""", re.DOTALL | re.VERBOSE)


@dataclass(frozen=True)
class Tok:
    kind: str
    value: Any


@dataclass(frozen=True)
class New:
    """``new Class(args)``."""

    cls: str
    args: tuple[Any, ...]


@dataclass(frozen=True)
class Const:
    """A bare constant such as ``PARAM_INT`` or ``VALUE_DEFAULT``."""

    name: str


_DQ_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", "\\": "\\", '"': '"', "$": "$"}


def _dq_escape(m: re.Match[str]) -> str:
    return _DQ_ESCAPES.get(m.group(1), "\\" + m.group(1))


def tokenize(src: str) -> list[Tok]:
    out: list[Tok] = []
    pos = 0
    while pos < len(src):
        m = _TOKEN.match(src, pos)
        if not m:
            raise SyntaxError(f"cannot read PHP at {src[pos:pos + 40]!r}")
        pos = m.end()
        kind = m.lastgroup
        text = m.group(0)
        if kind == "ws":
            continue
        if kind == "sq":
            out.append(Tok("str", re.sub(r"\\([\\'])", r"\1", text[1:-1])))
        elif kind == "dq":
            out.append(Tok("str", re.sub(r"\\(.)", _dq_escape, text[1:-1])))
        elif kind == "num":
            out.append(Tok("num", float(text) if "." in text else int(text)))
        else:
            out.append(Tok(kind or "op", text))
    return out


class Reader:
    """Reads PHP expressions made of literals, constants, arrays and ``new`` calls."""

    def __init__(self, toks: list[Tok], pos: int = 0) -> None:
        self.toks, self.pos = toks, pos

    def peek(self) -> Tok:
        return self.toks[self.pos]

    def take(self, value: str | None = None) -> Tok:
        tok = self.toks[self.pos]
        if value is not None and tok.value != value:
            raise SyntaxError(f"expected {value!r}, got {tok.value!r}")
        self.pos += 1
        return tok

    def expr(self) -> Any:
        value = self.primary()
        while self.peek().value == ".":  # string concatenation
            self.take(".")
            value = str(value) + str(self.primary())
        return value

    def primary(self) -> Any:
        tok = self.take()
        if tok.kind in ("str", "num"):
            return tok.value
        if tok.value == "-":
            return -self.take().value
        if tok.value == "[":
            return self.array("]")
        if tok.kind == "name":
            low = tok.value.lower()
            if low == "new":
                cls = self.take().value.rsplit("\\", 1)[-1]
                self.take("(")
                args = []
                while self.peek().value != ")":
                    args.append(self.expr())
                    if self.peek().value == ",":
                        self.take(",")
                self.take(")")
                return New(cls, tuple(args))
            if low == "array" and self.peek().value == "(":
                self.take("(")
                return self.array(")")
            if low in ("true", "false"):
                return low == "true"
            if low == "null":
                return None
            if self.peek().value == "::" and self.toks[self.pos + 2].value == "(":
                # other_class::method(): what that method of that external class returns (no arguments)
                self.take("::")
                method = self.take().value
                self.take("(")
                self.take(")")
                cls = tok.value.rsplit("\\", 1)[-1]
                return method_return(class_file(f"local_ocasync\\external\\{cls}").read_text(encoding="utf-8"),
                                     method)
            return Const(tok.value)
        raise SyntaxError(f"unexpected {tok.value!r}")

    def array(self, close: str) -> dict[Any, Any]:
        out: dict[Any, Any] = {}
        index = 0
        while self.peek().value != close:
            first = self.expr()
            if self.peek().value == "=>":
                self.take("=>")
                out[first] = self.expr()
            else:
                out[index] = first
                index += 1
            if self.peek().value == ",":
                self.take(",")
        self.take(close)
        return out


def assignment(src: str, variable: str) -> Any:
    """The value assigned to ``$variable`` (``$functions = [...]``)."""
    toks = tokenize(src)
    for i, tok in enumerate(toks):
        if tok.kind == "var" and tok.value == variable and toks[i + 1].value == "=":
            return Reader(toks, i + 2).expr()
    raise AssertionError(f"{variable} is not assigned")


def method_return(src: str, method: str) -> Any:
    """The expression the first ``return`` of ``function method()`` returns."""
    toks = tokenize(src)
    for i, tok in enumerate(toks):
        if tok.value == "function" and toks[i + 1].value == method:
            j = i + 2
            while toks[j].value != "return":
                j += 1
            reader = Reader(toks, j + 1)
            value = reader.expr()
            reader.take(";")
            return value
    raise AssertionError(f"no function {method}()")


# --------------------------------------------------------------------------- #
# Both descriptions as comparable trees
# --------------------------------------------------------------------------- #

CONSTANTS = {"VALUE_REQUIRED": 1, "VALUE_OPTIONAL": 2, "VALUE_DEFAULT": 0,
             "NULL_ALLOWED": True, "NULL_NOT_ALLOWED": False}


def const(value: Any) -> Any:
    if isinstance(value, Const):
        if value.name.startswith("PARAM_"):
            return value.name[len("PARAM_"):].lower()
        return CONSTANTS[value.name]
    return value


def php_tree(node: Any) -> Any:
    """external_* constructors with their PHP defaults filled in (keys in order: answers keep it)."""
    assert isinstance(node, New), node
    a = list(node.args)
    if node.cls in ("external_function_parameters", "external_single_structure"):
        keys, desc, required, default, allownull = (a + [None] * 5)[:5]
        return ("single", [(k, php_tree(v)) for k, v in keys.items()], desc or "",
                1 if required is None else const(required), const(default),
                False if allownull is None else const(allownull))
    if node.cls == "external_multiple_structure":
        content, desc, required, default, allownull = (a + [None] * 5)[:5]
        default = const(default)
        if default == {}:  # PHP's [] is also the empty list, the only kind a multiple structure takes
            default = []
        return ("multiple", php_tree(content), desc or "", 1 if required is None else const(required),
                default, False if allownull is None else const(allownull))
    if node.cls == "external_value":
        ptype, desc, required, default, allownull = (a + [None] * 5)[:5]
        return ("value", const(ptype), desc or "", 1 if required is None else const(required), const(default),
                True if allownull is None else const(allownull))
    raise AssertionError(f"unexpected external description class {node.cls}")


def py_tree(desc: Any) -> Any:
    if isinstance(desc, Single):
        return ("single", [(k, py_tree(v)) for k, v in desc.keys.items()], desc.desc, desc.required, desc.default,
                desc.allownull)
    if isinstance(desc, Multiple):
        return ("multiple", py_tree(desc.content), desc.desc, desc.required, desc.default, desc.allownull)
    if isinstance(desc, Value):
        return ("value", desc.type, desc.desc, desc.required, desc.default, desc.allownull)
    raise AssertionError(f"unexpected description {desc!r}")


def services() -> tuple[dict[str, Any], dict[str, Any]]:
    src = (PLUGIN / "db" / "services.php").read_text(encoding="utf-8")
    return assignment(src, "$functions"), assignment(src, "$services")


def class_file(classname: str) -> Path:
    parts = classname.strip("\\").split("\\")
    assert parts[0] == "local_ocasync", classname
    return PLUGIN.joinpath("classes", *parts[1:]).with_suffix(".php")


# --------------------------------------------------------------------------- #
# The reader itself
# --------------------------------------------------------------------------- #


def test_reader_understands_the_literals_the_plugin_uses() -> None:
    src = r"""<?php
    // comment with a 'quote'
    $x = [
        'a' => new external_value(PARAM_TEXT, 'it\'s "x"' . ' y', VALUE_DEFAULT, ''),  # another
        'b' => new \core_external\external_multiple_structure(new external_value(PARAM_INT, "n\n")),
        'c' => array(1, -2, true, null),
    ];"""
    x = assignment(src, "$x")
    assert x["a"] == New("external_value", (Const("PARAM_TEXT"), 'it\'s "x" y', Const("VALUE_DEFAULT"), ""))
    assert x["b"].cls == "external_multiple_structure" and x["b"].args[0].args[1] == "n\n"
    assert x["c"] == {0: 1, 1: -2, 2: True, 3: None}
    assert php_tree(x["a"]) == ("value", "text", 'it\'s "x" y', 0, "", True)


# --------------------------------------------------------------------------- #
# (a) the descriptions
# --------------------------------------------------------------------------- #


def test_the_sandbox_declares_the_plugins_functions() -> None:
    functions, _ = services()
    assert set(PLUGIN_REGISTRY) == set(functions) == set(PLUGIN_FUNCTIONS)


@pytest.mark.parametrize("function", PLUGIN_FUNCTIONS)
def test_parameters_and_returns_match_the_php(function: str) -> None:
    functions, _ = services()
    decl = functions[function]
    assert decl["methodname"] == "execute"
    src = class_file(decl["classname"]).read_text(encoding="utf-8")
    emulated = PLUGIN_REGISTRY[function]
    assert py_tree(emulated.params) == php_tree(method_return(src, "execute_parameters")), "execute_parameters()"
    assert py_tree(emulated.returns) == php_tree(method_return(src, "execute_returns")), "execute_returns()"
    # Writes run in one transaction (util::in_transaction): the sandbox rolls them back on error too.
    assert emulated.transaction == ("util::in_transaction" in src)
    assert emulated.transaction == (decl["type"] == "write")


# --------------------------------------------------------------------------- #
# (b) db/services.php
# --------------------------------------------------------------------------- #


def test_services_declare_exactly_the_plugin_functions_and_the_oca_sync_service() -> None:
    functions, declared = services()
    assert list(functions) == list(PLUGIN_FUNCTIONS)
    for name, decl in functions.items():
        assert class_file(decl["classname"]).is_file(), name
    assert list(declared) == ["oca-sync"]
    service = declared["oca-sync"]
    assert service["shortname"] == "oca_sync"
    assert sorted(service["functions"].values()) == sorted(CORE_FUNCTIONS + PLUGIN_FUNCTIONS)
    assert len(service["functions"]) == len(set(service["functions"].values()))
    assert service["enabled"] == 1 and service["restrictedusers"] == 1
    assert service["uploadfiles"] == 1 and service["downloadfiles"] == 1


# --------------------------------------------------------------------------- #
# (c) php -l
# --------------------------------------------------------------------------- #


def test_every_php_file_passes_php_lint() -> None:
    php = shutil.which("php")
    if php is None:
        pytest.fail("php is not installed: install php-cli (apt-get install php-cli; scripts/test.sh does it) "
                    "to lint the companion plugin")
    assert PHP_FILES
    failures = []
    for path in PHP_FILES:
        proc = subprocess.run([php, "-l", str(path)], check=False, capture_output=True, text=True, timeout=60)
        if proc.returncode != 0:
            failures.append(f"{path.relative_to(PLUGIN)}: {proc.stdout.strip()} {proc.stderr.strip()}")
    assert not failures, "\n".join(failures)


# --------------------------------------------------------------------------- #
# (d) error codes and language strings
# --------------------------------------------------------------------------- #

_THROWN = re.compile(r"new\s+\\?moodle_exception\(\s*'([a-z0-9_]+)'\s*,\s*'local_ocasync'")
_STRING_USE = re.compile(r"(?:get_string|lang_string)\(\s*'([a-z0-9_:]+)'\s*,\s*'local_ocasync'")


def lang_strings() -> dict[str, str]:
    src = (PLUGIN / "lang" / "en" / "local_ocasync.php").read_text(encoding="utf-8")
    toks = tokenize(src)
    out = {}
    for i, tok in enumerate(toks):
        if tok.kind == "var" and tok.value == "$string" and toks[i + 1].value == "[":
            out[toks[i + 2].value] = Reader(toks, i + 5).expr()
    return out


def php_error_codes() -> set[str]:
    return {code for path in PHP_FILES for code in _THROWN.findall(path.read_text(encoding="utf-8"))}


def test_every_error_code_the_php_throws_has_a_string() -> None:
    strings = lang_strings()
    codes = php_error_codes()
    assert "invalidkey" in codes and "wrongmodname" in codes, "the pattern is stale"
    assert not codes - set(strings), f"no string for {sorted(codes - set(strings))}"
    used = {c for path in PHP_FILES for c in _STRING_USE.findall(path.read_text(encoding="utf-8"))}
    assert not used - set(strings), f"no string for {sorted(used - set(strings))}"
    for required in ("pluginname", "ocasync:manage", "privacy:metadata"):
        assert required in strings


def test_the_sandbox_raises_the_same_codes_with_the_same_messages() -> None:
    src = "".join(Path(mod.__file__).read_text(encoding="utf-8")
                  for mod in (moodle_fn_ocasync, moodle_fn_completion, moodle_fn_ocasync_bulk))
    emulated = set(re.findall(r"""\berror\(\s*["']([a-z0-9_]+)["']""", src))
    if "invalid_settings(" in src:
        emulated.add("invalidsettings")
    assert emulated == php_error_codes()
    strings = lang_strings()
    assert {k: moodle_fn_ocasync.LANG[k] for k in strings} == strings


# --------------------------------------------------------------------------- #
# (e) the bulk reads' capabilities (1.2)
# --------------------------------------------------------------------------- #


def _class_constant(src: str, name: str) -> list[str]:
    match = re.search(rf"const {name} = \[(.*?)\];", src, re.DOTALL)
    assert match, name
    return re.findall(r"'([a-z]+/[a-z_]+:[a-z_]+)'", re.sub(r"//[^\n]*", "", match.group(1)))


def test_bulk_reads_check_the_capabilities_the_sandbox_checks_and_services_php_declares() -> None:
    src = (PLUGIN / "classes" / "local" / "bulk_read.php").read_text(encoding="utf-8")
    users = _class_constant(src, "USER_CAPABILITIES")
    enrolments = _class_constant(src, "ENROLMENT_CAPABILITIES")
    assert tuple(users) == moodle_fn_ocasync_bulk.USER_CAPABILITIES
    assert tuple(enrolments) == moodle_fn_ocasync_bulk.ENROLMENT_CAPABILITIES
    # At least what core checks for the same data (user/externallib.php get_users_by_field via
    # user_get_user_details, enrol/externallib.php get_enrolled_users, group/externallib.php get_course_groups).
    assert {"moodle/user:viewdetails", "moodle/user:viewalldetails"} <= set(users)
    assert {"moodle/course:viewparticipants", "moodle/course:managegroups", "moodle/site:accessallgroups"} <= set(
        enrolments)
    functions, _ = services()
    declared = {name: {c.strip() for c in decl["capabilities"].split(",")} for name, decl in functions.items()}
    assert declared["local_ocasync_get_users"] == set(users)
    assert declared["local_ocasync_get_enrolments"] == set(enrolments)
    states = (PLUGIN / "classes" / "local" / "course_access.php").read_text(encoding="utf-8")
    assert set(re.findall(r"require_capability\('([^']+)'", states)) == set(
        moodle_fn_ocasync_bulk.COURSE_CAPABILITIES) == declared["local_ocasync_get_course_states"]
    # Each course is checked before anything is read: the capability loop comes before the queries.
    assert src.index("require_capability($capability, $context)") < src.index("get_recordset_sql")


def test_bulk_reads_query_per_kind_not_per_user() -> None:
    text = (PLUGIN / "classes" / "local" / "bulk_read.php").read_text(encoding="utf-8")
    src = re.sub(r"//[^\n]*|/\*.*?\*/", "", text, flags=re.DOTALL)  # code only
    # No per-user or per-course core helpers (each runs its own queries): one query per kind of record.
    for per_item in ("user_get_user_details", "get_user_roles", "groups_get_all_groups", "get_enrolled_users",
                     "get_record(", "get_records_list("):
        assert per_item not in src, per_item
    assert src.count("get_in_or_equal(") == 2 and src.count("array_chunk(") == 2
    assert "const CHUNK = 1000;" in src


def test_get_course_states_answers_what_get_course_state_answers_per_course() -> None:
    """The bulk read must not drift from the single one (a field added to one only is lost in the other)."""
    functions, _ = services()
    one = php_tree(method_return(class_file(functions["local_ocasync_get_course_state"]["classname"])
                                 .read_text(encoding="utf-8"), "execute_returns"))
    many = php_tree(method_return(class_file(functions["local_ocasync_get_course_states"]["classname"])
                                  .read_text(encoding="utf-8"), "execute_returns"))
    assert many[0] == "multiple" and many[1] == one
