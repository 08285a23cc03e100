"""The emulated Moodle 5.1 web-service functions.

Each function is declared with its parameter and return descriptions (the DSL of
:mod:`.moodle_params`, transcribed from the function's ``*_parameters()`` /
``*_returns()``) and a Python handler that reimplements what the PHP does. The
comment above each handler names the Moodle source it follows. The generic
machinery (parameter validation, return cleaning, transactions, error JSON)
lives in :mod:`.moodle`.

The token user is always a site administrator, so capability checks that an
administrator passes are not emulated.
"""

from __future__ import annotations

import datetime as _dt
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from .moodle_params import (
    PARAM_ALPHANUM,
    PARAM_ALPHANUMEXT,
    PARAM_BOOL,
    PARAM_INT,
    PARAM_LANG,
    PARAM_LOCALURL,
    PARAM_PLUGIN,
    PARAM_RAW,
    PARAM_TEXT,
    PARAM_THEME,
    PARAM_URL,
    VALUE_DEFAULT,
    VALUE_OPTIONAL,
    Description,
    FilterConfig,
    InvalidParameterException,
    MoodleException,
    Multiple,
    OutputSettings,
    Params,
    Single,
    Value,
    Warnings,
    clean_param,
    current_site,
    format_string,
    format_text,
    missing_record,
    php_int,
    php_str,
)
from .moodle_state import (
    SITEID,
    MoodleState,
)

# --------------------------------------------------------------------------- #
# Registry
# --------------------------------------------------------------------------- #


@dataclass
class Ctx:
    """What a handler sees: the state, the calling user and the output settings."""

    state: MoodleState
    userid: int
    out: OutputSettings
    siteurl: str
    functions: list[str] = field(default_factory=list)
    #: warnings a handler collects while looping (create_calendar_events)
    extra_warnings: list[dict[str, Any]] = field(default_factory=list)

    def state_langs(self) -> tuple[str, ...]:
        """Installed language packs (get_list_of_translations)."""
        return current_site().langs

    def site_auths(self) -> tuple[str, ...]:
        """Installed authentication plugins."""
        return current_site().auths

    @property
    def filters(self) -> FilterConfig:
        return self.state.settings.filters

    @property
    def lang(self) -> str:
        return self.out.lang or self.state.users[self.userid].get("lang") or self.state.settings.lang

    def fs(self, text: Any) -> str:
        """core_external\\util::format_string (honours moodlewssettingraw/filter)."""
        return format_string(text, self.out, self.filters, self.lang)

    def ft(self, text: Any, fmt: Any) -> tuple[str, int]:
        """core_external\\util::format_text."""
        return format_text(text, None if fmt is None else php_int(fmt), self.out, self.filters, self.lang)

    def core_fs(self, text: Any) -> str:
        """The plain format_string() used by renderers (ignores the WS raw setting)."""
        return format_string(text, OutputSettings(filter=True, lang=self.out.lang), self.filters,
                             self.lang)

    def core_ft(self, text: Any, fmt: Any) -> str:
        return format_text(text, php_int(fmt), OutputSettings(filter=True, lang=self.out.lang),
                           self.filters, self.lang)[0]


Handler = Callable[[Ctx, dict[str, Any]], Any]


@dataclass
class WsFunction:
    name: str
    params: Single
    returns: Description | None
    handler: Handler
    #: Moodle wraps the function in a delegated transaction: any error rolls back
    #: every write the call made.
    transaction: bool = False
    component: str = "moodle"


REGISTRY: dict[str, WsFunction] = {}


def ws(name: str, params: Single, returns: Description | None, *, transaction: bool = False,
       component: str = "moodle") -> Callable[[Handler], Handler]:
    def register(fn: Handler) -> Handler:
        REGISTRY[name] = WsFunction(name, params, returns, fn, transaction, component)
        return fn
    return register


# --------------------------------------------------------------------------- #
# Shared helpers
# --------------------------------------------------------------------------- #


def validate_context(contextid: int | None) -> int:
    """external_api::validate_context for a site administrator: only a missing
    context fails. Returns the (now known to exist) context id."""
    if not contextid:
        raise InvalidParameterException("Context does not exist")
    return contextid


def course_context_or_error(ctx: Ctx, courseid: int) -> int:
    """The recurring ``context_course::instance($id, IGNORE_MISSING)`` +
    validate_context + 'errorcoursecontextnotvalid' pattern."""
    cid = ctx.state.course_context(courseid)
    try:
        validate_context(cid)
    except MoodleException as e:
        raise MoodleException("errorcoursecontextnotvalid", "webservice",
                              {"message": e.message, "courseid": courseid}) from None
    assert cid is not None
    return cid


def course_context_must_exist(ctx: Ctx, courseid: int) -> int:
    """``context_course::instance($id)`` (MUST_EXIST)."""
    cid = ctx.state.course_context(courseid)
    if cid is None:
        raise missing_record("course", {"id": courseid})
    return cid


def usermidnight(ts: int, tzname: str) -> int:
    """usergetmidnight() in the site time zone."""
    tz = ZoneInfo(tzname)
    d = _dt.datetime.fromtimestamp(ts, tz)
    return int(_dt.datetime(d.year, d.month, d.day, tzinfo=tz).timestamp())


def fullname(user: dict[str, Any]) -> str:
    return f"{user['firstname']} {user['lastname']}"


def php_json(data: Any) -> str:
    """json_encode() with PHP's default flags: escaped slashes and \\u escapes, and no
    JSON_PRESERVE_ZERO_FRACTION (a float 2.0 is written ``2``, as the lab's
    mod_attendance status grades show)."""
    return php_json_dumps(_zero_fraction(data))


def php_json_dumps(data: Any) -> str:
    """:func:`php_json` of data whose floats are already as PHP prints them (no zero fraction)."""
    return json.dumps(data, ensure_ascii=True, separators=(",", ":")).replace("/", "\\/")


def _zero_fraction(data: Any) -> Any:
    if isinstance(data, float):
        return int(data) if data.is_integer() else data
    if isinstance(data, dict):
        return {k: _zero_fraction(v) for k, v in data.items()}
    if isinstance(data, list):
        return [_zero_fraction(v) for v in data]
    return data


def php_loose_eq(a: Any, b: Any) -> bool:
    """PHP 8 ``==`` between a request string and a cleaned value."""
    if isinstance(b, (int, float)) and not isinstance(b, bool):
        s = str(a).strip(" \t\n\r\v\f")
        try:
            return float(s) == float(b) if s else False
        except ValueError:
            return False
    return php_str(a) == php_str(b)


def pix_url(ctx: Ctx, icon: str) -> str:
    return f"{ctx.siteurl}/theme/image.php/boost/core/1/{icon}"


def user_picture_url(ctx: Ctx, size: str) -> str:
    return f"{ctx.siteurl}/theme/image.php/boost/core/1/u/{size}"


WARNINGS = Warnings()

# --------------------------------------------------------------------------- #
# core_webservice_get_site_info
# --------------------------------------------------------------------------- #

SITE_INFO_RETURNS = Single({
    "sitename": Value(PARAM_RAW), "username": Value(PARAM_RAW), "firstname": Value(PARAM_TEXT),
    "lastname": Value(PARAM_TEXT), "fullname": Value(PARAM_TEXT), "lang": Value(PARAM_LANG),
    "userid": Value(PARAM_INT), "siteurl": Value(PARAM_RAW), "userpictureurl": Value(PARAM_URL),
    "functions": Multiple(Single({"name": Value(PARAM_RAW), "version": Value(PARAM_TEXT)})),
    "downloadfiles": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "uploadfiles": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "release": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "version": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "mobilecssurl": Value(PARAM_URL, required=VALUE_OPTIONAL),
    "advancedfeatures": Multiple(Single({"name": Value(PARAM_ALPHANUMEXT), "value": Value(PARAM_INT)}),
                                 required=VALUE_OPTIONAL),
    "usercanmanageownfiles": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
    "userquota": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "usermaxuploadfilesize": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "userhomepage": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "userhomepageurl": Value(PARAM_LOCALURL, required=VALUE_OPTIONAL),
    "userprivateaccesskey": Value(PARAM_ALPHANUM, required=VALUE_OPTIONAL),
    "siteid": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "sitecalendartype": Value(PARAM_PLUGIN, required=VALUE_OPTIONAL),
    "usercalendartype": Value(PARAM_PLUGIN, required=VALUE_OPTIONAL),
    "userissiteadmin": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
    "theme": Value(PARAM_THEME, required=VALUE_OPTIONAL),
    "limitconcurrentlogins": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "usersessionscount": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "policyagreed": Value(PARAM_INT, required=VALUE_OPTIONAL),
})


# public/webservice/externallib.php core_webservice_external::get_site_info()
@ws("core_webservice_get_site_info",
    Params({"serviceshortnames": Multiple(Value(PARAM_ALPHANUMEXT), required=VALUE_DEFAULT, default=[])}),
    SITE_INFO_RETURNS, component="core_webservice")
def get_site_info(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    user = st.users[ctx.userid]
    features = [("usecomments", 1), ("usetags", 1), ("enablenotes", 1), ("messaging", 1),
                ("enableblogs", 1), ("enablecompletion", int(st.settings.enablecompletion)),
                ("enablebadges", 1), ("messagingallusers", 0), ("enablecustomreports", 1),
                ("enableglobalsearch", 0), ("mnet_dispatcher_mode", 0), ("enablecompetencies", 1)]
    return {
        "sitename": ctx.fs(st.courses[SITEID]["fullname"]),
        "siteurl": ctx.siteurl,
        "username": user["username"],
        "firstname": user["firstname"],
        "lastname": user["lastname"],
        "fullname": fullname(user),
        "lang": clean_param(ctx.lang, PARAM_LANG),
        "userid": user["id"],
        "userpictureurl": user_picture_url(ctx, "f1"),
        "siteid": SITEID,
        "downloadfiles": 1,
        "uploadfiles": 1,
        "release": st.settings.release,
        "version": st.settings.version,
        "functions": [{"name": name, "version": st.settings.version} for name in ctx.functions],
        "mobilecssurl": "",
        "advancedfeatures": [{"name": n, "value": v} for n, v in features],
        "usercanmanageownfiles": True,
        "userquota": 0,
        "usermaxuploadfilesize": -1,
        "userhomepage": 1,
        "sitecalendartype": st.settings.calendartype,
        "usercalendartype": user.get("calendartype") or st.settings.calendartype,
        "userissiteadmin": ctx.userid == 2,
        "userprivateaccesskey": "0" * 32,
        "theme": "boost",
        "limitconcurrentlogins": 0,
        "policyagreed": user["policyagreed"],
    }


class PhpError(Exception):
    """A PHP ``Error`` (not an exception): the answer has no errorcode."""

    exception_class = "Error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message
        self.errorcode = None
        self.debuginfo = None

    def to_json(self, debug: bool) -> dict[str, Any]:
        return {"exception": self.exception_class, "message": self.message}


def warning_from(e: Exception, item: str, itemid: Any) -> dict[str, Any]:
    """The warning the update_* functions build from a caught exception."""
    code = getattr(e, "errorcode", None)
    return {"item": item, "itemid": itemid,
            "warningcode": code if code is not None else "0",
            "message": getattr(e, "message", str(e))}


MODULE_PLURALS = {"assign": "Assignments", "attendance": "Attendance", "feedback": "Feedback",
                  "forum": "Forums", "label": "Text and media areas", "page": "Pages",
                  "resource": "Files", "url": "URLs", "quiz": "Quizzes", "folder": "Folders"}
MODULE_NAMES = {"assign": "Assignment", "attendance": "Attendance", "feedback": "Feedback",
                "forum": "Forum", "label": "Text and media area", "page": "Page", "resource": "File",
                "url": "URL", "quiz": "Quiz", "folder": "Folder"}


def section_title(ctx: Ctx, section: dict[str, Any]) -> str:
    """The format's get_section_name(): core format_string(), which ignores
    moodlewssettingraw (so multilang markup is filtered or stripped)."""
    if section["name"] is not None and str(section["name"]) != "":
        return ctx.core_fs(section["name"])
    return ctx.state.default_section_name(section)


def require_active_user(user: dict[str, Any]) -> None:
    """core_user::require_active_user()."""
    if user["id"] <= 0:
        raise MoodleException("invaliduser", "error")
    if user["deleted"]:
        raise MoodleException("userdeleted")
    if not user["confirmed"]:
        raise MoodleException("usernotconfirmed", "moodle", user["username"])
    if user["username"] == "guest":
        raise MoodleException("guestsarenotallowed", "error")

