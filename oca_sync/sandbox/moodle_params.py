"""Moodle's web-service parameter machinery, reimplemented for the sandbox.

Mirrors (in Python, not copied):

* ``external_value`` / ``external_single_structure`` / ``external_multiple_structure``
  (public/lib/external/classes/*.php) as :class:`Value`, :class:`Single`,
  :class:`Multiple`;
* ``external_api::validate_parameters`` and ``external_api::clean_returnvalue``
  (public/lib/external/classes/external_api.php) as :func:`validate_parameters`
  and :func:`clean_returnvalue`, with the same exception messages and the same
  ``key => message: debuginfo`` path building;
* ``core\\param`` cleaning and ``validate_param`` (public/lib/classes/param.php)
  for the PARAM_* types the emulated functions use;
* ``moodle_exception`` and friends (public/lib/classes/exception/*.php,
  public/lib/dmllib.php), with the English language strings they resolve to.
"""

from __future__ import annotations

import contextvars
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from oca_sync.moodle import params as _core

# VALUE_* and NULL_* constants (public/lib/moodlelib.php)
VALUE_REQUIRED = 1
VALUE_OPTIONAL = 2
VALUE_DEFAULT = 0
NULL_NOT_ALLOWED = False
NULL_ALLOWED = True

# FORMAT_* constants (public/lib/weblib.php)
FORMAT_MOODLE = 0
FORMAT_HTML = 1
FORMAT_PLAIN = 2
FORMAT_MARKDOWN = 4

# PARAM_* constants: their values are the type names that appear in debuginfo.
PARAM_ALPHA = "alpha"
PARAM_ALPHAEXT = "alphaext"
PARAM_ALPHANUM = "alphanum"
PARAM_ALPHANUMEXT = "alphanumext"
PARAM_AUTH = "auth"
PARAM_BOOL = "bool"
PARAM_CLEANHTML = "cleanhtml"
PARAM_COMPONENT = "component"
PARAM_AREA = "area"
PARAM_EMAIL = "email"
PARAM_FLOAT = "float"
PARAM_INT = "int"
PARAM_LANG = "lang"
PARAM_LOCALURL = "localurl"
PARAM_NOTAGS = "notags"
PARAM_PERMISSION = "permission"
PARAM_PLUGIN = "plugin"
PARAM_RAW = "raw"
PARAM_RAW_TRIMMED = "raw_trimmed"
PARAM_SAFEDIR = "safedir"
PARAM_SEQUENCE = "sequence"
PARAM_TEXT = "text"
PARAM_THEME = "theme"
PARAM_TIMEZONE = "timezone"
PARAM_URL = "url"
PARAM_USERNAME = "username"

# --------------------------------------------------------------------------- #
# Per-request settings (debug mode, site lists used by PARAM_LANG etc.)
# --------------------------------------------------------------------------- #


@dataclass
class SiteConfig:
    """The few site settings parameter cleaning depends on."""

    debug: bool = False
    langs: tuple[str, ...] = ("en",)
    themes: tuple[str, ...] = ("boost", "classic")
    auths: tuple[str, ...] = (
        "manual", "nologin", "email", "cas", "db", "ldap", "lti", "mnet", "none",
        "oauth2", "shibboleth", "webservice",
    )


_DEFAULT_SITE = SiteConfig()
_site: contextvars.ContextVar[SiteConfig] = contextvars.ContextVar("moodle_site")


def current_site() -> SiteConfig:
    """The site config of the request being served (a default one outside requests)."""
    return _site.get(_DEFAULT_SITE)


def use_site(config: SiteConfig) -> contextvars.Token[SiteConfig]:
    """Set the site config for the current thread/request; returns a reset token."""
    return _site.set(config)


def reset_site(token: contextvars.Token[SiteConfig]) -> None:
    _site.reset(token)


# --------------------------------------------------------------------------- #
# Language strings and exceptions
# --------------------------------------------------------------------------- #

# English strings of the error codes the emulator raises, keyed by
# (component, identifier) as in public/lang/en/<component>.php.
STRINGS: dict[tuple[str, str], str] = {
    ("webservice", "invalidtoken"): "Invalid token - token not found",
    ("webservice", "accessexception"): "Access control exception",
    ("webservice", "errorinvalidparam"): 'The param "{$a}" is invalid.',
    ("webservice", "errorcoursecontextnotvalid"): (
        "You cannot execute functions in the course context (course id:{$a->courseid}). "
        "The context error message was: {$a->message}"
    ),
    ("webservice", "errorcatcontextnotvalid"): (
        "You cannot execute functions in the category context (category id:{$a->catid}). "
        "The context error message was: {$a->message}"
    ),
    ("webservice", "criteriaerror"): "Missing permissions to search on a criterion.",
    ("debug", "invalidparameter"): "Invalid parameter value detected",
    ("debug", "invalidresponse"): "Invalid response value detected",
    ("debug", "codingerror"): "Coding error detected, it must be fixed by a programmer: {$a}",
    ("error", "invalidrecordunknown"): "Can't find data record in database.",
    ("error", "dmlwriteexception"): "Error writing to database",
    ("error", "invalidrecord"): "Can't find data record in database table {$a}.",
    ("error", "invalidcourseid"): "You are trying to use an invalid course ID",
    ("error", "invalidcoursemodule"): "Invalid course module ID",
    ("error", "invaliduser"): "Invalid user",
    ("error", "invaliduserid"): "Invalid user ID",
    ("error", "invalidcourse"): "Invalid course",
    ("error", "shortnametaken"): "Short name is already used for another course ({$a})",
    ("error", "courseidnumbertaken"): "ID number is already used for another course ({$a})",
    ("error", "categoryidnumbertaken"): "ID number is already used for another category",
    ("error", "categorynamerequired"): "Category name is required",
    ("error", "categorytoolong"): "Category name too long",
    ("error", "idnumbertaken"): "This ID number is already in use",
    ("error", "unknowcategory"): "Category not known!",
    ("error", "unknowncategory"): 'Unknown category with category ID number "{$a}"',
    ("error", "enddatebeforestartdate"): "The course end date must be after the start date.",
    ("error", "nostartdatenoenddate"): "A course end date can only be set if a start date is also set.",
    ("error", "inplaceeditableerror"): "Error calling update processor",
    ("error", "usernamelowercase"): "The username must be in lower case",
    ("error", "invalidusername"): "The given username contains invalid characters",
    ("error", "invalidusernameblank"): "The username cannot be blank",
    ("error", "usernotupdatedadmin"): "Cannot update admin accounts",
    ("error", "useremailduplicate"): "Duplicate address",
    ("error", "cannotviewreport"): "You cannot view this report",
    ("error", "nopermissions"): "Sorry, but you do not currently have permissions to do that ({$a}).",
    ("error", "invalidrole"): "Invalid role",
    ("error", "guestsarenotallowed"): "The guest user is not allowed to do this",
    ("error", "usernotincourse"): "This user is not in this course!",
    ("enrol_manual", "wsnoinstance"): (
        "Manual enrolment plugin instance doesn't exist or is disabled for the course (id = {$a->courseid})"
    ),
    ("enrol_manual", "wsusercannotassign"): (
        "You don't have the permission to assign this role ({$a->roleid}) to this user "
        "({$a->userid}) in this course ({$a->courseid})."
    ),
    ("enrol_manual", "wscannotenrol"): (
        "Plugin instance cannot manually enrol a user in the course id = {$a->courseid}"
    ),
    ("completion", "nocriteriaset"): "No completion criteria set for this course",
    ("completion", "usernotenroled"): "User is not enrolled in this course",
    ("completion", "notenroled"): "You are not enrolled in this course",
    ("group", "errorremovenotpermitted"): (
        "You do not have permission to remove automatically-added group member {$a}"
    ),
    ("calendar", "deleteevent"): "Delete event",
    ("auth", "errorminpasswordlength"): "Passwords must be at least {$a} characters long.",
    ("auth", "errorminpassworddigits"): "Passwords must have at least {$a} digit(s).",
    ("auth", "errorminpasswordlower"): "Passwords must have at least {$a} lower case letter(s).",
    ("auth", "errorminpasswordupper"): "Passwords must have at least {$a} upper case letter(s).",
    ("auth", "errorminpasswordnonalphanum"): (
        "The password must have at least {$a} special character(s) such as *, -, or #."
    ),
}


def get_string(identifier: str, component: str, a: Any = None) -> str | None:
    """Moodle's get_string for the strings above; None if the string is unknown."""
    template = STRINGS.get((component, identifier))
    if template is None:
        return None
    if a is None:
        return template
    if isinstance(a, Mapping):
        out = template
        for key, value in a.items():
            out = out.replace("{$a->" + key + "}", str(value))
        return out
    return template.replace("{$a}", _php_str(a))


def _php_str(value: Any) -> str:
    if value is True:
        return "1"
    if value is False or value is None:
        return ""
    return str(value)


class MoodleException(Exception):
    """``moodle_exception``: errorcode + module resolve to the message.

    ``exception_class`` is what ``get_class()`` reports in the JSON answer. Since
    Moodle 4.5 the global exception classes are aliases of namespaced ones, so a
    plain ``moodle_exception`` is reported as ``core\\exception\\moodle_exception``.
    """

    exception_class = "core\\exception\\moodle_exception"

    def __init__(
        self,
        errorcode: str,
        module: str = "",
        a: Any = None,
        debuginfo: str | None = None,
    ) -> None:
        if module in ("", "moodle", "core"):
            module = "error"
        self.errorcode = errorcode
        self.module = module
        self.a = a
        self.debuginfo = None if debuginfo is None else str(debuginfo)
        text = get_string(errorcode, module, a)
        message = text if text is not None else f"{module}/{errorcode}"
        # Moodle appends debuginfo to the message when debugging is on
        # (DEBUG_DEVELOPER + debugdisplay); the nested parameter paths depend on it.
        if self.debuginfo and current_site().debug:
            message = f"{message} ({self.debuginfo})"
        self.message = message
        super().__init__(message)

    def to_json(self, debug: bool) -> dict[str, Any]:
        out: dict[str, Any] = {"exception": self.exception_class, "errorcode": self.errorcode,
                               "message": self.message}
        if debug and self.debuginfo is not None:
            out["debuginfo"] = self.debuginfo
        return out


class InvalidParameterException(MoodleException):
    """``invalid_parameter_exception``: always 'Invalid parameter value detected'."""

    exception_class = "core\\exception\\invalid_parameter_exception"

    def __init__(self, debuginfo: str | None = None) -> None:
        super().__init__("invalidparameter", "debug", None, debuginfo)


class DmlWriteException(MoodleException):
    """``dml_write_exception`` (public/lib/dml/dml_write_exception.php): the database refused a write."""

    exception_class = "dml_write_exception"

    def __init__(self, error: str) -> None:
        super().__init__("dmlwriteexception", "error", None, error)


class InvalidResponseException(MoodleException):
    exception_class = "core\\exception\\invalid_response_exception"

    def __init__(self, debuginfo: str | None = None) -> None:
        super().__init__("invalidresponse", "debug", None, debuginfo)


class CodingException(MoodleException):
    exception_class = "core\\exception\\coding_exception"

    def __init__(self, hint: str, debuginfo: str | None = None) -> None:
        super().__init__("codingerror", "debug", hint, debuginfo)


class WebserviceAccessException(MoodleException):
    exception_class = "webservice_access_exception"

    def __init__(self, debuginfo: str) -> None:
        super().__init__("accessexception", "webservice", None, debuginfo)


class DmlMissingRecordException(MoodleException):
    """``dml_missing_record_exception`` (public/lib/dmllib.php).

    Without debugging the table name is hidden: errorcode ``invalidrecordunknown``.
    """

    exception_class = "dml_missing_record_exception"

    def __init__(self, table: str, sql: str = "", params: list[Any] | None = None) -> None:
        if not table or not current_site().debug:
            table = ""
        if table == "":
            code = "invalidrecordunknown"
        elif table == "course":
            code = "invalidcourseid" if not sql else "invalidrecord"
        elif table == "course_modules":
            code = "invalidcoursemodule"
        elif table == "user":
            code = "invaliduser"
        else:
            code = "invalidrecord"
        debuginfo = f"{sql}\n[{_var_export(params or [])}]"
        super().__init__(code, "error", table or None, debuginfo)


def _var_export(params: list[Any]) -> str:
    inner = "".join(f"  {i} => {_export_scalar(v)},\n" for i, v in enumerate(params))
    return f"array (\n{inner})"


def _export_scalar(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return str(v)
    return "'" + str(v).replace("\\", "\\\\").replace("'", "\\'") + "'"


def missing_record(table: str, where: Mapping[str, Any]) -> DmlMissingRecordException:
    """The exception ``$DB->get_record($table, $where, '*', MUST_EXIST)`` throws."""
    cond = " AND ".join(f"{k} = ?" for k in where)
    sql = f"SELECT * FROM {{{table}}} WHERE {cond}"
    return DmlMissingRecordException(table, sql, list(where.values()))


# --------------------------------------------------------------------------- #
# PHP helpers: strip_tags, (int) casts
# --------------------------------------------------------------------------- #


# PHP 8's strip_tags and Moodle's PARAM_TEXT / PARAM_NOTAGS / fix_utf8 / validate_email live in
# oca_sync.moodle.params (spec validation uses the same port; it is checked against a real Moodle
# in tests/unit/test_moodle_params.py).
strip_tags = _core.strip_tags


_INT64_MAX = 2**63 - 1
_CANONICAL_INT = re.compile(r"-?(0|[1-9][0-9]*)")


def php_int(value: Any) -> int:
    """PHP's ``(int)`` cast for the values that reach it (strings, numbers, bools)."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    if value is None:
        return 0
    s = str(value).lstrip(" \t\n\r\v\f")
    m = re.match(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?", s)
    if not m:
        return 0
    num = m.group(0)
    try:
        result = int(num) if re.fullmatch(r"[+-]?\d+", num) else int(float(num))
    except (OverflowError, ValueError):
        return _INT64_MAX if not num.startswith("-") else -_INT64_MAX - 1
    return max(min(result, _INT64_MAX), -_INT64_MAX - 1)


def php_str(value: Any) -> str:
    """PHP's ``(string)`` cast."""
    return _php_str(value) if not isinstance(value, float) else repr(value)


def php_empty(value: Any) -> bool:
    """PHP's ``empty()``: '', '0', 0, null, false and [] are empty."""
    return value in (None, False, 0, "", "0") or value == [] or value == {}


# --------------------------------------------------------------------------- #
# clean_param / validate_param  (public/lib/classes/param.php)
# --------------------------------------------------------------------------- #

_TIMEZONE = re.compile(
    r"(([+-]?(0?[0-9](\.[5|0])?|1[0-3](\.0)?|1[0-2]\.5))|(99)|[A-Za-z0-9]+(/?[A-Za-z_-])+)"
)


def validate_email(address: Any) -> bool:
    """weblib validate_email (see oca_sync.moodle.params.validate_email)."""
    if address in (None, False, ""):
        return False
    return _core.validate_email(str(address))


def _valid_plugin_name(s: str) -> bool:
    return bool(re.fullmatch(r"[a-z](?:[a-z0-9_](?!__))*[a-z0-9]+", s))


def clean_param(value: Any, ptype: str) -> Any:
    """``clean_param($value, $type)`` for the PARAM_* types used here."""
    site = current_site()
    if ptype == PARAM_INT:
        return php_int(value)
    if ptype == PARAM_FLOAT:
        try:
            return float(value)
        except (TypeError, ValueError):
            return 0.0
    if ptype == PARAM_BOOL:
        s = php_str(value).lower()
        if s in ("on", "yes", "true"):
            return 1
        if s in ("off", "no", "false"):
            return 0
        return 0 if php_empty(value) else 1
    if value is None:
        value = ""
    if ptype in (PARAM_RAW, PARAM_CLEANHTML):
        return _core.fix_utf8(value) if isinstance(value, str) else value
    s = php_str(value)
    if ptype == PARAM_RAW_TRIMMED:
        return _core.fix_utf8(s).strip(" \t\n\r\0\x0b")
    if ptype == PARAM_TEXT:
        return _core.clean_text(s)
    if ptype == PARAM_NOTAGS:
        return _core.clean_notags(s)
    if ptype == PARAM_ALPHA:
        return re.sub(r"[^a-zA-Z]", "", s)
    if ptype == PARAM_ALPHAEXT:
        return re.sub(r"[^a-zA-Z_-]", "", s)
    if ptype == PARAM_ALPHANUM:
        return re.sub(r"[^A-Za-z0-9]", "", s)
    if ptype in (PARAM_ALPHANUMEXT, PARAM_SAFEDIR):
        return re.sub(r"[^A-Za-z0-9_-]", "", s)
    if ptype == PARAM_SEQUENCE:
        return re.sub(r"[^0-9,]", "", s)
    if ptype in (PARAM_PLUGIN, PARAM_AREA):
        return s if _valid_plugin_name(s) else ""
    if ptype == PARAM_COMPONENT:
        if not re.fullmatch(r"[a-z][a-z0-9]*(_[a-z][a-z0-9_]*)?[a-z0-9]+", s) or "__" in s:
            return ""
        if s.startswith("mod_") and s.count("_") != 1:
            return ""
        return s
    if ptype == PARAM_AUTH:
        s = clean_param(s, PARAM_PLUGIN)
        return s if s in site.auths else ""
    if ptype == PARAM_LANG:
        s = clean_param(s, PARAM_SAFEDIR)
        return s if s in site.langs else ""
    if ptype == PARAM_THEME:
        s = clean_param(s, PARAM_PLUGIN)
        return s if s in site.themes else ""
    if ptype == PARAM_USERNAME:
        s = s.strip().lower().replace(" ", "")
        return re.sub(r"[^-.@_a-z0-9]", "", s)
    if ptype == PARAM_EMAIL:
        return value if validate_email(s) else ""
    if ptype == PARAM_TIMEZONE:
        return s if _TIMEZONE.fullmatch(s) else ""
    if ptype in (PARAM_URL, PARAM_LOCALURL):
        return s if re.fullmatch(r"(https?://[^\s<>\"]+|/[^\s<>\"]*)", s) else ""
    if ptype == PARAM_PERMISSION:
        i = php_int(s)
        return i if i in (0, 1, -1, -1000) else 0
    raise ValueError(f"sandbox does not implement PARAM type {ptype!r}")


def validate_param(value: Any, ptype: str, allownull: bool = NULL_NOT_ALLOWED,
                   debuginfo: str = "") -> Any:
    """``validate_param``: clean, and fail unless cleaning left the value unchanged."""
    if value is None:
        if allownull:
            return None
        raise InvalidParameterException(debuginfo)
    if isinstance(value, (dict, list)):
        raise InvalidParameterException(debuginfo)
    cleaned = clean_param(value, ptype)
    if ptype == PARAM_FLOAT:
        if not isinstance(value, (int, float)):
            s = php_str(value)
            if not re.fullmatch(r"[+-]?[0-9]*\.?[0-9]*(e[-+]?[0-9]+)?", s, re.IGNORECASE) or not _is_numeric(s):
                raise InvalidParameterException(debuginfo)
    elif php_str(value) != php_str(cleaned):
        raise InvalidParameterException(debuginfo)
    return cleaned


def _is_numeric(s: str) -> bool:
    try:
        float(s)
        return s.strip() != ""
    except ValueError:
        return False


# --------------------------------------------------------------------------- #
# The description DSL
# --------------------------------------------------------------------------- #


@dataclass
class Value:
    """``external_value``: a scalar of a PARAM_* type."""

    type: str
    desc: str = ""
    required: int = VALUE_REQUIRED
    default: Any = None
    allownull: bool = NULL_ALLOWED


@dataclass
class Single:
    """``external_single_structure``: a keyed structure."""

    keys: dict[str, Any]
    desc: str = ""
    required: int = VALUE_REQUIRED
    default: Any = None
    allownull: bool = NULL_NOT_ALLOWED


@dataclass
class Multiple:
    """``external_multiple_structure``: a list of ``content``."""

    content: Any
    desc: str = ""
    required: int = VALUE_REQUIRED
    default: Any = None
    allownull: bool = NULL_NOT_ALLOWED


Description = Value | Single | Multiple


def Format(field_name: str, required: int = VALUE_REQUIRED) -> Value:
    """``external_format_value``: PARAM_INT, default FORMAT_HTML when VALUE_DEFAULT."""
    default = FORMAT_HTML if required == VALUE_DEFAULT else None
    return Value(PARAM_INT, f"{field_name} format", required, default)


def Params(keys: dict[str, Any]) -> Single:
    """``external_function_parameters``."""
    return Single(keys)


def Warnings() -> Multiple:
    """``external_warnings``."""
    return Multiple(
        Single({
            "item": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
            "itemid": Value(PARAM_INT, required=VALUE_OPTIONAL),
            "warningcode": Value(PARAM_ALPHANUM),
            "message": Value(PARAM_RAW),
        }),
        required=VALUE_OPTIONAL,
    )


def _print_r(value: Any) -> str:
    if isinstance(value, dict):
        return "Array"
    return php_str(value)


def validate_parameters(desc: Description, params: Any) -> Any:
    """``external_api::validate_parameters``: check, clean and fill in defaults.

    Raises :class:`InvalidParameterException` with Moodle's messages; nested
    failures are wrapped as ``"<key> => <message>: <debuginfo>"`` at every
    single-structure level, exactly as Moodle builds the path.
    """
    if params is None and desc.allownull:
        return None
    if isinstance(desc, Value):
        if isinstance(params, (dict, list)):
            raise InvalidParameterException("Scalar type expected, array or object received.")
        # Moodle's special case: only true/false/0/1/'0'/'1' pass as booleans.
        if desc.type == PARAM_BOOL and (isinstance(params, bool) or params in (0, 1, "0", "1")):
            return bool(int(params))
        try:
            return validate_param(params, desc.type, desc.allownull)
        except InvalidParameterException:
            # The message is built only when it is needed (this runs for every value).
            raise InvalidParameterException(
                f'Invalid external api parameter: the value is "{php_str(params)}", '
                f'the server was expecting "{desc.type}" type') from None
    if isinstance(desc, Single):
        if not isinstance(params, dict):
            raise InvalidParameterException(
                f"Only arrays accepted. The bad value is: '{_print_r(params)}'")
        remaining = dict(params)
        result: dict[str, Any] = {}
        for key, sub in desc.keys.items():
            if key not in remaining:
                if sub.required == VALUE_REQUIRED:
                    raise InvalidParameterException(f"Missing required key in single structure: {key}")
                if sub.required == VALUE_DEFAULT:
                    # A callable default is evaluated per call (PHP evaluates
                    # e.g. time() each time the description is built).
                    default = sub.default() if callable(sub.default) else sub.default
                    try:
                        result[key] = validate_parameters(sub, default)
                    except InvalidParameterException as e:
                        raise InvalidParameterException(f"{key} => {e.message}: {e.debuginfo}") from None
            else:
                try:
                    result[key] = validate_parameters(sub, remaining[key])
                except InvalidParameterException as e:
                    raise InvalidParameterException(f"{key} => {e.message}: {e.debuginfo}") from None
            remaining.pop(key, None)
        if remaining:
            names = ", ".join(str(k) for k in remaining)
            raise InvalidParameterException(f"Unexpected keys ({names}) detected in parameter array.")
        return result
    if isinstance(desc, Multiple):
        if not isinstance(params, (dict, list)):
            raise InvalidParameterException(
                f"Only arrays accepted. The bad value is: '{_print_r(params)}'")
        values = params.values() if isinstance(params, dict) else params
        return [validate_parameters(desc.content, v) for v in values]
    raise InvalidParameterException("Invalid external api description")


def _typed(value: Any, ptype: str) -> Any:
    """The PHP type clean_param leaves, mapped to what json_encode prints."""
    if ptype in (PARAM_INT, PARAM_PERMISSION):
        return php_int(value)
    if ptype == PARAM_FLOAT:
        return float(value)
    if ptype in (PARAM_RAW, PARAM_CLEANHTML, PARAM_EMAIL, PARAM_PLUGIN, PARAM_AREA):
        return value  # these return the value unchanged, keeping its type
    return php_str(value)


#: PARAM types whose clean_param does not give a string back for a string.
_NON_TEXT_TYPES = frozenset({PARAM_INT, PARAM_FLOAT, PARAM_BOOL, PARAM_PERMISSION})


def clean_returnvalue(desc: Description | None, response: Any) -> Any:
    """``external_api::clean_returnvalue``: reorder keys, drop unknown ones, type values."""
    if desc is None:
        return None
    if response is None and desc.allownull:
        return None
    if isinstance(desc, Value):
        if isinstance(response, (dict, list)):
            raise InvalidResponseException("Scalar type expected, array or object received.")
        if desc.type == PARAM_BOOL and (isinstance(response, bool) or response in (0, 1, "0", "1")):
            return bool(int(response))
        if desc.type == PARAM_INT and type(response) is int:
            return response  # what the steps below give an int, without the string round trip
        if type(response) is str and desc.type not in _NON_TEXT_TYPES:
            # The steps below for a string of a text type: clean_param gives a string, which must
            # equal the value, and the value is returned as it was.
            if clean_param(response, desc.type) == response:
                return response
        try:
            cleaned = validate_param(response, desc.type, desc.allownull)
        except InvalidParameterException:
            raise InvalidResponseException(
                f'Invalid external api response: the value is "{php_str(response)}", '
                f'the server was expecting "{desc.type}" type') from None
        if cleaned is None:
            return None
        if desc.type == PARAM_BOOL:
            return bool(cleaned)
        return _typed(response if desc.type != PARAM_INT else cleaned, desc.type)
    if isinstance(desc, Single):
        if not isinstance(response, dict):
            raise InvalidResponseException(
                f"Only arrays/objects accepted. The bad value is: '{_print_r(response)}'")
        result: dict[str, Any] = {}
        for key, sub in desc.keys.items():
            if key not in response:
                if sub.required == VALUE_REQUIRED:
                    raise InvalidResponseException(
                        f"Error in response - Missing following required key in a single structure: {key}")
                if isinstance(sub, Value) and sub.required == VALUE_DEFAULT:
                    result[key] = clean_returnvalue(sub, sub.default)
            else:
                try:
                    result[key] = clean_returnvalue(sub, response[key])
                except InvalidResponseException as e:
                    raise InvalidResponseException(f"{key} => {e.message}: {e.debuginfo}") from None
        return result
    if isinstance(desc, Multiple):
        if not isinstance(response, (list, dict)):
            raise InvalidResponseException(
                f"Only arrays accepted. The bad value is: '{_print_r(response)}'")
        values = response.values() if isinstance(response, dict) else response
        return [clean_returnvalue(desc.content, v) for v in values]
    raise InvalidResponseException("Invalid external api response description")


# --------------------------------------------------------------------------- #
# Output formatting used by the functions (format_string / format_text)
# --------------------------------------------------------------------------- #


@dataclass
class OutputSettings:
    """``external_settings``: the moodlewssetting* values of one request."""

    raw: bool = False
    fileurl: bool = True
    filter: bool = False
    lang: str = ""
    timezone: str = ""


@dataclass
class FilterConfig:
    """Site filter settings that change what format_string/format_text return."""

    multilang_enabled: bool = False
    #: 'Apply to content and headings' (``filterall``)
    filterall: bool = False
    formatstringstriptags: bool = True
    extra: dict[str, Any] = field(default_factory=dict)


_MULTILANG_BLOCK = re.compile(
    r'(<span(\s+lang="[a-zA-Z0-9_-]+"|\s+class="multilang"){2}\s*>.*?</span>)'
    r'(\s*<span(\s+lang="[a-zA-Z0-9_-]+"|\s+class="multilang"){2}\s*>.*?</span>)+',
    re.IGNORECASE | re.DOTALL,
)
_MULTILANG_SPLIT = re.compile(r'<(?:lang|span)[^>]+lang="([a-zA-Z0-9_-]+)"[^>]*>(.*?)</(?:lang|span)>', re.IGNORECASE | re.DOTALL)


def multilang_filter(text: str, lang: str) -> str:
    """filter_multilang (new syntax): keep the block for ``lang`` (or 'en', or the first)."""

    def pick(m: re.Match[str]) -> str:
        blocks: dict[str, str] = {}
        for code, content in _MULTILANG_SPLIT.findall(m.group(0)):
            blocks.setdefault(code.lower().replace("-", "_"), content)
        if not blocks:
            return m.group(0)
        for candidate in (lang, "en"):
            if candidate in blocks:
                return blocks[candidate]
        return next(iter(blocks.values()))

    return _MULTILANG_BLOCK.sub(pick, text)


def replace_ampersands(text: str) -> str:
    """replace_ampersands_not_followed_by_entity."""
    return re.sub(r"&(?![a-zA-Z0-9#]{1,8};)", "&amp;", text)


def format_string(text: Any, settings: OutputSettings, filters: FilterConfig, lang: str = "en") -> str:
    """``core_external\\util::format_string`` followed by core formatting::format_string."""
    if text is None or text == "":
        return ""
    s = str(text)
    if settings.raw:
        return s
    s = replace_ampersands(s)
    if filters.filterall and settings.filter and filters.multilang_enabled:
        s = multilang_filter(s, settings.lang or lang)
    if filters.formatstringstriptags:
        return strip_tags(s).replace("<", "&lt;").replace(">", "&gt;")
    return re.sub(r"<a\b[^>]*>(.*?)</a>", r"\1", s, flags=re.IGNORECASE | re.DOTALL)


def format_text(text: Any, textformat: int | None, settings: OutputSettings,
                filters: FilterConfig, lang: str = "en") -> tuple[str, int]:
    """``core_external\\util::format_text``: returns (text, format).

    Raw mode returns the stored text and format. Otherwise the text is converted
    to HTML (FORMAT_HTML is kept as is apart from script removal, FORMAT_PLAIN is
    escaped, FORMAT_MOODLE gets line breaks) and the format becomes FORMAT_HTML.
    """
    if text is None or text == "":
        return "", FORMAT_MOODLE if textformat is None else int(textformat)
    s = str(text)
    fmt = FORMAT_MOODLE if textformat is None else int(textformat)
    if settings.raw:
        return s, fmt
    if settings.filter and filters.multilang_enabled:
        s = multilang_filter(s, settings.lang or lang)
    if fmt == FORMAT_PLAIN:
        s = s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
        s = s.replace("\n", "<br />\n")
    elif fmt == FORMAT_MOODLE:
        s = re.sub(r"<script\b.*?</script>", "", s, flags=re.IGNORECASE | re.DOTALL).replace("\n", "<br />\n")
    else:
        s = re.sub(r"<script\b.*?</script>", "", s, flags=re.IGNORECASE | re.DOTALL)
    return s, FORMAT_HTML


def validate_format(fmt: int) -> int:
    """``util::validate_format``."""
    if fmt not in (FORMAT_MOODLE, FORMAT_HTML, FORMAT_PLAIN, FORMAT_MARKDOWN):
        raise MoodleException("formatnotsupported", "webservice", None,
                              f"The format with value={fmt} is not supported by this Moodle site")
    return fmt
