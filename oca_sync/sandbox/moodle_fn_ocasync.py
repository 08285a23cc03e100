"""Emulation of the companion plugin local_ocasync (oca_sync/moodle/plugin/local_ocasync).

The functions of docs/plugin-api.md (the 1.2 bulk reads in :mod:`.moodle_fn_ocasync_bulk`), with the parameter and return
descriptions of ``classes/external/*.php`` (tests/unit/test_plugin_php.py
compares them with the PHP) and the behaviour of ``classes/local/*.php``, which
is built on Moodle's own course/lib.php, course/modlib.php, mod_feedback's item
classes and mod_attendance's structure class; each helper below names the PHP
it follows. The error messages are read from the plugin's
``lang/en/local_ocasync.php``, its version from ``version.php``.

The functions are not in :data:`~.moodle_registry.CORE_FUNCTIONS`: a
:class:`~.moodle.MoodleSandbox` built with ``plugin=True`` (the default) adds
:data:`PLUGIN_REGISTRY` to its own registry, like a site with the plugin
installed.
"""

from __future__ import annotations

import html
import json
import re
from collections.abc import Callable
from html.entities import name2codepoint
from pathlib import Path
from typing import Any

from ..moodle.plugin_zip import plugin_dir, plugin_version
from .moodle_fn_attendance import (
    add_default_statuses,
    cm_of_instance,
    session_or_error,
    statuses_in_set,
    update_grades,
)
from .moodle_fn_format import _set_section_visible
from .moodle_functions import MODULE_NAMES, Ctx, Handler, WsFunction, php_json
from .moodle_params import (
    FORMAT_HTML,
    PARAM_ALPHANUMEXT,
    PARAM_BOOL,
    PARAM_INT,
    PARAM_PLUGIN,
    PARAM_RAW,
    PARAM_TEXT,
    STRINGS,
    VALUE_DEFAULT,
    Description,
    MoodleException,
    Multiple,
    OutputSettings,
    Params,
    Single,
    Value,
    format_string,
    format_text,
    missing_record,
    php_int,
)
from .moodle_state import CONTEXT_MODULE, SITEID, MoodleState, check_columns, now

COMPONENT = "local_ocasync"

#: The version of mod_attendance the sandbox "installs" (the one docs/plugin-api.md was tested with).
ATTENDANCE_VERSION = 2024020500

PLUGIN_REGISTRY: dict[str, WsFunction] = {}


def plugin_ws(name: str, params: Single, returns: Description | None, *,
              transaction: bool = False) -> Callable[[Handler], Handler]:
    """Like :func:`~.moodle_functions.ws`, into :data:`PLUGIN_REGISTRY`."""
    def register(fn: Handler) -> Handler:
        PLUGIN_REGISTRY[name] = WsFunction(name, params, returns, fn, transaction, COMPONENT)
        return fn
    return register


# --------------------------------------------------------------------------- #
# The plugin's version and language strings, read from its PHP sources
# --------------------------------------------------------------------------- #

_PHP_STRING = re.compile(r"""\$string\[\s*'([^']+)'\s*\]\s*=\s*'((?:[^'\\]|\\.)*)'\s*;""", re.DOTALL)


def read_lang_file(path: Path) -> dict[str, str]:
    """``$string['id'] = '...';`` lines of a Moodle language file (single-quoted PHP strings)."""
    text = path.read_text(encoding="utf-8")
    return {m.group(1): re.sub(r"\\([\\'])", r"\1", m.group(2)) for m in _PHP_STRING.finditer(text)}


PLUGIN_DIR = plugin_dir()
PLUGIN_VERSION, PLUGIN_RELEASE = plugin_version(PLUGIN_DIR)
LANG: dict[str, str] = read_lang_file(PLUGIN_DIR / "lang" / "en" / "local_ocasync.php")
STRINGS.update({(COMPONENT, k): v for k, v in LANG.items()})


def error(code: str, a: Any = None) -> MoodleException:
    """``new moodle_exception($code, 'local_ocasync', '', $a)``."""
    return MoodleException(code, COMPONENT, a)


def invalid_settings(why: str) -> MoodleException:
    return error("invalidsettings", why)


# --------------------------------------------------------------------------- #
# PHP helpers
# --------------------------------------------------------------------------- #

#: util::KEY_PATTERN '/^[A-Za-z0-9:_.#-]{1,100}$/' ('$' also matches before a final newline)
_KEY = re.compile(r"[A-Za-z0-9:_.#-]{1,100}\n?")
_PHP_TRIM = " \t\n\r\0\x0b"
_INT64 = 2**63


def key_ok(key: str) -> bool:
    return bool(_KEY.fullmatch(key))


def php_json_decode(text: str) -> Any:
    """json_decode($text, true): None when invalid; ints beyond 64 bits become floats."""
    def parse_int(s: str) -> int | float:
        i = int(s)
        return i if -_INT64 <= i < _INT64 else float(s)

    def no_constant(_s: str) -> Any:
        raise ValueError("not JSON")

    try:
        return json.loads(text, parse_int=parse_int, parse_constant=no_constant)
    except (ValueError, RecursionError):
        return None


def php_array(value: Any) -> dict[str, Any] | None:
    """A decoded JSON value as a PHP array (keys as strings), or None when it is not one."""
    if isinstance(value, list):
        return {str(i): v for i, v in enumerate(value)}
    if isinstance(value, dict):
        return value
    return None


def is_php_list(arr: dict[str, Any]) -> bool:
    """``array_keys($a) === range(0, count($a) - 1)`` (an empty array counts as one)."""
    return list(arr) == [str(i) for i in range(len(arr))]


def php_json_encode(value: Any) -> str:
    """json_encode($value) with the default flags, for messages."""
    def conv(v: Any) -> Any:
        arr = php_array(v)
        if arr is None:
            return v
        if is_php_list(arr):
            return [conv(x) for x in arr.values()]
        return {k: conv(x) for k, x in arr.items()}
    return php_json(conv(value))


def php_is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def int_setting(value: Any, name: str, minimum: int, maximum: int | None = None) -> int:
    """modules::int_setting()."""
    if isinstance(value, str) and re.fullmatch(r"-?[0-9]+\n?", value):
        value = php_int(value)
    if not php_is_int(value) or value < minimum or (maximum is not None and value > maximum):
        span = f">= {minimum}" if maximum is None else f"{minimum}..{maximum}"
        raise invalid_settings(f'"{name}" must be an integer {span}, got {php_json_encode(value)}')
    return int(value)


def html_entity_decode(text: str) -> str:
    """html_entity_decode($text, ENT_QUOTES, 'UTF-8'): HTML 4.01 entities and numeric ones, ';' required."""
    def one(m: re.Match[str]) -> str:
        ent = m.group(1)
        if ent[0] == "#":
            cp = int("0" + ent[1:], 0) if ent[1] in "xX" else int(ent[1:])
        else:
            if ent not in name2codepoint:
                return m.group(0)
            cp = name2codepoint[ent]
        if cp == 0 or cp > 0x10FFFF or 0xD800 <= cp <= 0xDFFF:
            return m.group(0)
        return chr(cp)
    return re.sub(r"&(#[0-9]{1,10}|#[xX][0-9a-fA-F]{1,8}|[A-Za-z][A-Za-z0-9]*);", one, text)


def url_fix_submitted_url(url: str) -> str:
    """mod/url/locallib.php url_fix_submitted_url()."""
    url = html_entity_decode(url.strip(_PHP_TRIM))
    if not re.match(r"[a-z]+:", url, re.IGNORECASE) and not url.startswith("/"):
        url = "http://" + url
    return url


def url_appears_valid_url(url: str) -> bool:
    """mod/url/locallib.php url_appears_valid_url()."""
    if re.match(r"(/|https?:|ftp:)", url, re.IGNORECASE):
        return bool(re.fullmatch(r"[a-z]+://([^:@\s]+:[^@\s]+@)?[^ @]+(:[0-9]+)?(/[^#]*)?(#.*)?\n?", url,
                                 re.IGNORECASE | re.ASCII))
    return bool(re.fullmatch(r"[a-z]+://...*\n?", url, re.IGNORECASE))


def php_json_settings(settings: dict[str, Any]) -> str:
    """util::json(): JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE, an empty array gives {}."""
    text = json.dumps(settings if settings else {}, ensure_ascii=False, separators=(",", ":"))
    return text.replace("\u2028", "\\u2028").replace("\u2029", "\\u2029")


# --------------------------------------------------------------------------- #
# Access (classes/local/course_access.php, util.php)
# --------------------------------------------------------------------------- #


def check_course(st: MoodleState, courseid: int) -> dict[str, Any]:
    """course_access::check(): util::course() and the capabilities (an administrator has them)."""
    course = st.courses.get(courseid)
    if course is None or courseid == SITEID:
        raise MoodleException("invalidcourseid", "error")
    return course


def check_key(key: str) -> str:
    if not key_ok(key):
        raise error("invalidkey", key)
    return key


def check_idnumber(idnumber: str) -> str:
    if idnumber == "" or idnumber.strip(_PHP_TRIM) != idnumber or len(idnumber) > 100:
        raise error("invalididnumber", idnumber)
    return idnumber


def regular_sections(st: MoodleState, courseid: int) -> list[dict[str, Any]]:
    return [s for s in st.course_sections(courseid) if not s.get("component")]


def last_regular_number(st: MoodleState, courseid: int) -> int:
    return max((s["section"] for s in regular_sections(st, courseid)), default=0)


# --------------------------------------------------------------------------- #
# Core course functions the plugin calls (course/lib.php)
# --------------------------------------------------------------------------- #


def _set_marker(course: dict[str, Any], value: int) -> None:
    course["marker"] = value


def move_section_to(st: MoodleState, course: dict[str, Any], section: int, destination: int) -> bool:
    """move_section_to($course, $section, $destination, true) with reorder_sections()."""
    if destination < 1:
        return False
    ordered = st.course_sections(course["id"])
    moving = next((s for s in ordered if s["section"] == section), None)
    if moving is None:
        return False
    ordered.remove(moving)
    ordered.insert(min(destination, len(ordered)), moving)
    t = now()
    for num, s in enumerate(ordered):
        if s["section"] != num:
            s["section"] = num
            s["timemodified"] = t
    marker = course["marker"]
    if section == marker:
        _set_marker(course, destination)
    elif section > marker >= destination:
        _set_marker(course, marker + 1)
    elif section < marker <= destination:
        _set_marker(course, marker - 1)
    course["cacherev"] += 1
    return True


def create_section(st: MoodleState, course: dict[str, Any], position: int) -> dict[str, Any]:
    """course_create_section($course, $position): added last, then moved to ``position``."""
    last = st.last_section_number(course["id"])
    section = st.add_section(course["id"])
    if 0 < position <= last:
        move_section_to(st, course, section["section"], position)
    course["cacherev"] += 1
    return section


def update_section(st: MoodleState, course: dict[str, Any], section: dict[str, Any], data: dict[str, Any]) -> None:
    """course_update_section(): fields, and the modules' visibility with the section's."""
    check_columns("course_sections", data)
    for key in ("name", "summary", "summaryformat", "availability"):
        if key in data:
            section[key] = data[key]
    if "visible" in data:
        _set_section_visible(st, section, data["visible"])
        for cmid in section["sequence"]:
            cm = st.modules[cmid]
            if cm.get("_eventsvisible", cm["visible"]) != cm["visible"]:
                st.toggle_module_events(cm)
    section["timemodified"] = now()
    course["cacherev"] += 1


def set_cm_visible(st: MoodleState, cm: dict[str, Any], visible: int) -> None:
    """set_coursemodule_visible() (core_courseformat\\local\\cmactions::set_visibility)."""
    if cm["visible"] == visible and cm["visibleoncoursepage"] == 1:
        return
    changed = cm["visible"] != visible
    cm.update(visible=visible, visibleold=visible, visibleoncoursepage=1)
    st.instance(cm)["timemodified"] = now()
    if changed:
        st.toggle_module_events(cm)


def moveto_module(st: MoodleState, cm: dict[str, Any], section: dict[str, Any]) -> None:
    """moveto_module($cm, $section): at the end of the section; a hidden section hides the module."""
    old = cm["section"]
    st.sections[old]["sequence"].remove(cm["id"])
    section["sequence"].append(cm["id"])
    cm["section"] = section["id"]
    if old != section["id"]:
        if not section["visible"] and cm["visible"]:
            set_cm_visible(st, cm, 0)
            cm["visibleold"] = 1
        elif section["visible"] and not cm["visible"]:
            set_cm_visible(st, cm, cm["visibleold"])
    st.courses[cm["course"]]["cacherev"] += 1


def delete_module(st: MoodleState, cm: dict[str, Any]) -> None:
    """course_delete_module(): the instance, its events, files and context go too."""
    st.sections[cm["section"]]["sequence"].remove(cm["id"])
    del st.modules[cm["id"]]
    st.contexts.pop(st.module_context(cm["id"]) or -1, None)
    st.apply_cascades()
    st.courses[cm["course"]]["cacherev"] += 1


# --------------------------------------------------------------------------- #
# Sections (classes/local/sections.php)
# --------------------------------------------------------------------------- #


def find_section(st: MoodleState, courseid: int, key: str) -> dict[str, Any] | None:
    """sections::find(): a mapping whose section is gone is dropped."""
    mapping = next((r for r in st.ocasync_sections.values()
                    if r["courseid"] == courseid and r["skey"] == key), None)
    if mapping is None:
        return None
    section = st.sections.get(mapping["sectionid"])
    if section is None or section["course"] != courseid or section.get("component"):
        del st.ocasync_sections[mapping["id"]]
        return None
    return section


def adopt_section(st: MoodleState, courseid: int, sectionid: int, key: str) -> dict[str, Any]:
    """sections::adopt(): map an existing top-level section (not section 0, not mapped yet) to a key."""
    section = st.sections.get(sectionid)
    if (section is None or section["course"] != courseid or section.get("component") or section["section"] == 0
            or any(r["sectionid"] == sectionid for r in st.ocasync_sections.values())):
        raise error("invalidsectionid", sectionid)
    mid = st.next_id("local_ocasync_sections")
    st.ocasync_sections[mid] = {"id": mid, "courseid": courseid, "sectionid": sectionid, "skey": key,
                                "timemodified": now()}
    return section


def sections_state(st: MoodleState, courseid: int) -> list[dict[str, Any]]:
    keys = {r["sectionid"]: r["skey"] for r in st.ocasync_sections.values() if r["courseid"] == courseid}
    return [{
        "id": s["id"], "number": s["section"], "key": keys.get(s["id"], ""),
        "name": "" if s["name"] is None else str(s["name"]), "summary": str(s["summary"] or ""),
        "visible": bool(s["visible"]), "availability": str(s.get("availability") or ""),
    } for s in regular_sections(st, courseid)]


def section_availability(st: MoodleState, courseid: int, idnumbers: list[str], current: str | None) -> Any:
    """sections::availability(): an OR of group conditions hidden from others; None removes one of that
    shape (and no other restriction); False leaves the section as it is."""
    conditions = []
    for idnumber in idnumbers:
        group = next((g for g in st.groups.values() if g["courseid"] == courseid and idnumber != ""
                      and g["idnumber"] == idnumber), None)
        if group is None:
            raise error("invalidgroup", idnumber)
        conditions.append({"type": "group", "id": group["id"]})
    have = json.loads(current) if current else None
    if not conditions:
        return None if _is_group_restriction(have) else False
    want = {"op": "|", "c": conditions, "show": False}
    return False if have == want else php_json_encode(want)


def _is_group_restriction(tree: Any) -> bool:
    if not isinstance(tree, dict) or tree.get("op") != "|" or tree.get("show") is not False:
        return False
    c = tree.get("c")
    return isinstance(c, list) and bool(c) and all(
        isinstance(x, dict) and x.get("type") == "group" and len(x) == 2 and "id" in x for x in c)


def sections_upsert(st: MoodleState, course: dict[str, Any], items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    courseid = course["id"]
    seen: set[str] = set()
    for item in items:
        check_key(item["key"])
        if item["key"] in seen:
            raise error("invalidkey", item["key"])
        seen.add(item["key"])
        if item["number"] < 1:
            raise error("invalidposition", item["number"])

    results = []
    for item in items:
        key, name = item["key"], item["name"]
        created = changed = False
        section = find_section(st, courseid, key)
        if section is None and item["sectionid"]:
            section = adopt_section(st, courseid, item["sectionid"], key)
        if section is None:
            last = last_regular_number(st, courseid)
            position = item["number"] if item["number"] <= last else 0  # 0: after the last one
            section = create_section(st, course, position)
            mid = st.next_id("local_ocasync_sections")
            st.ocasync_sections[mid] = {"id": mid, "courseid": courseid, "sectionid": section["id"],
                                        "skey": key, "timemodified": now()}
            created = True
        data: dict[str, Any] = {}
        if ("" if section["name"] is None else str(section["name"])) != name:
            data["name"] = None if name == "" else name
        if str(section["summary"] or "") != item["summary"] or int(section["summaryformat"]) != FORMAT_HTML:
            data["summary"] = item["summary"]
            data["summaryformat"] = FORMAT_HTML
        if bool(section["visible"]) != item["visible"]:
            data["visible"] = 1 if item["visible"] else 0
        if item["setgroups"]:
            availability = section_availability(st, courseid, item["groups"], section.get("availability"))
            if availability is not False:
                data["availability"] = availability
        if data:
            update_section(st, course, section, data)
            changed = True
        destination = min(item["number"], last_regular_number(st, courseid))
        if section["section"] != destination:
            if not move_section_to(st, course, section["section"], destination):
                raise error("invalidposition", item["number"])
            changed = True
        results.append({"key": key, "id": section["id"], "created": created, "changed": changed or created})
    for r in results:
        r["number"] = st.sections[r["id"]]["section"]
    return results


def course_can_delete_section(course: dict[str, Any], sectionnum: int) -> bool:
    """course_can_delete_section(): never section 0; format_topics and format_weeks allow it."""
    return sectionnum != 0 and course["format"] not in ("site", "social", "singleactivity")


def sections_delete(st: MoodleState, course: dict[str, Any], keys: list[str]) -> list[dict[str, Any]]:
    courseid = course["id"]
    for key in keys:
        check_key(key)
    results = []
    for key in keys:
        section = find_section(st, courseid, key)
        if section is None:
            results.append({"key": key, "deleted": False})
            continue
        if any(cm["section"] == section["id"] for cm in st.modules.values() if cm["course"] == courseid):
            raise error("sectionnotempty", key)
        if not course_can_delete_section(course, section["section"]):
            raise error("cannotdeletesection", key)
        # course_delete_section($course, $num, true, false) -> format_base::delete_section()
        if section["section"] == course["marker"]:
            _set_marker(course, 0)
        move_section_to(st, course, section["section"], st.last_section_number(courseid))
        del st.sections[section["id"]]
        st.update_end_date(courseid)  # \core\event\course_section_deleted -> format_weeks_observer
        course["cacherev"] += 1
        for mid in [r["id"] for r in st.ocasync_sections.values()
                    if r["courseid"] == courseid and r["skey"] == key]:
            del st.ocasync_sections[mid]
        results.append({"key": key, "deleted": True})
    return results


# --------------------------------------------------------------------------- #
# Feedback questions (classes/local/feedback_questions.php)
# --------------------------------------------------------------------------- #

#: feedback_questions::TYPES, the presentation each item type accepts
FEEDBACK_TYPES: dict[str, Callable[[str], bool]] = {
    "textfield": lambda p: bool(re.fullmatch(r"[0-9]+\|[0-9]+\n?", p)),
    "textarea": lambda p: bool(re.fullmatch(r"[0-9]+\|[0-9]+\n?", p)),
    "multichoice": lambda p: bool(re.match(r"[rcd]>>>>>", p)),
    "multichoicerated": lambda p: bool(re.fullmatch(r"[rd]>>>>>-?[0-9]+####[^|]*(\|-?[0-9]+####[^|]*)*", p, re.S)),
    "numeric": lambda p: bool(re.fullmatch(r"(-?[0-9]+(\.[0-9]+)?|-?)\|(-?[0-9]+(\.[0-9]+)?|-?)\n?", p)),
    "info": lambda p: bool(re.fullmatch(r"[123]\n?", p)),
    "label": lambda p: True,
}
QUESTION_FIELDS = ("key", "typ", "name", "label", "presentation", "required", "position")


def _unknown(arr: dict[str, Any], allowed: tuple[str, ...] | list[str]) -> list[str]:
    return [k for k in arr if k not in allowed]


def normalise_questions(questions: Any) -> list[dict[str, Any]]:
    arr = php_array(questions)
    if arr is None or not is_php_list(arr):
        raise invalid_settings('"questions" must be a list')
    out: list[dict[str, Any]] = []
    keys: set[str] = set()
    positions: set[int] = set()
    for i, raw in enumerate(arr.values()):
        where = f"questions[{i}]"
        q = php_array(raw)
        if q is None:
            raise invalid_settings(f"{where} must be an object")
        unknown = _unknown(q, QUESTION_FIELDS)
        if unknown:
            raise invalid_settings(f"{where}: unknown fields " + ", ".join(unknown))
        for fld in ("key", "typ"):
            if not isinstance(q.get(fld), str):
                raise invalid_settings(f'{where} needs "{fld}"')
        if not key_ok(q["key"]) or q["key"] in keys:
            raise invalid_settings(f'{where}: key "{q["key"]}" is invalid or given twice')
        keys.add(q["key"])
        if q["typ"] not in FEEDBACK_TYPES:
            raise invalid_settings(f'{where}: typ "{q["typ"]}" is not one of ' + ", ".join(FEEDBACK_TYPES))
        for fld in ("name", "label", "presentation"):
            if q.get(fld) is not None and not isinstance(q[fld], str):
                raise invalid_settings(f'{where}: "{fld}" must be text')
        presentation: str = q.get("presentation") or ""
        if not FEEDBACK_TYPES[q["typ"]](presentation):
            raise invalid_settings(f'{where}: presentation "{presentation}" is not valid for {q["typ"]}')
        label: str = q.get("label") or ""
        if len(label) > 255:
            raise invalid_settings(f"{where}: label longer than 255")
        required = q.get("required") if q.get("required") is not None else False
        if not isinstance(required, bool) and not (php_is_int(required) and required in (0, 1)):
            raise invalid_settings(f"{where}: required must be a boolean")
        pos_raw = q.get("position") if q.get("position") is not None else i + 1
        position = int_setting(pos_raw, f"{where}.position", 1, 999)
        if position in positions:
            raise invalid_settings(f"{where}: position {position} given twice")
        positions.add(position)
        out.append({
            "key": q["key"], "typ": q["typ"], "name": q.get("name") or "",
            "label": label, "presentation": presentation, "required": bool(required), "position": position,
        })
    out.sort(key=lambda x: x["position"])
    return out


def read_questions(st: MoodleState, feedbackid: int) -> list[dict[str, Any]]:
    keys = {r["itemid"]: r["qkey"] for r in st.ocasync_items.values() if r["feedbackid"] == feedbackid}
    items = sorted((i for i in st.feedback_items.values() if i["feedback"] == feedbackid),
                   key=lambda i: (i["position"], i["id"]))
    return [{
        "key": keys.get(i["id"], ""), "typ": str(i["typ"]), "name": str(i["name"]), "label": str(i["label"]),
        "presentation": str(i["presentation"]), "required": bool(i["required"]), "position": int(i["position"]),
    } for i in items]


def forget_questions(st: MoodleState, feedbackid: int) -> None:
    for rid in [r["id"] for r in st.ocasync_items.values() if r["feedbackid"] == feedbackid]:
        del st.ocasync_items[rid]


def sync_questions(st: MoodleState, cm: dict[str, Any], questions: list[dict[str, Any]]) -> bool:
    """feedback_questions::sync(): replaced as a whole, and only when nobody answered."""
    feedbackid = cm["instance"]
    if read_questions(st, feedbackid) == questions:
        return False
    if any(c["feedback"] == feedbackid for c in st.feedback_completed.values()):
        raise error("feedbackhasresponses", cm["idnumber"])
    for iid in [i["id"] for i in st.feedback_items.values() if i["feedback"] == feedbackid]:
        del st.feedback_items[iid]  # feedback_delete_item()
    forget_questions(st, feedbackid)
    t = now()
    for q in questions:
        # feedback_get_item_class($typ)->save_item(): hasvalue 0 for labels; "h" = hidenoselect.
        check_columns("feedback_item", q)
        iid = st.next_id("feedback_item")
        st.feedback_items[iid] = {
            "id": iid, "feedback": feedbackid, "template": 0, "name": q["name"], "label": q["label"],
            "presentation": q["presentation"], "typ": q["typ"], "hasvalue": 0 if q["typ"] == "label" else 1,
            "position": q["position"], "required": 1 if q["required"] else 0, "dependitem": 0, "dependvalue": "",
            "options": "h" if q["typ"] in ("multichoice", "multichoicerated") else "",
        }
        rid = st.next_id("local_ocasync_items")
        st.ocasync_items[rid] = {"id": rid, "feedbackid": feedbackid, "itemid": iid, "qkey": q["key"],
                                 "timemodified": t}
    return True


# --------------------------------------------------------------------------- #
# Attendance sessions (classes/local/attendance_sessions.php)
# --------------------------------------------------------------------------- #

SESSION_FIELDS = ("sessdate", "duration", "description", "group")


def _session_key(sessdate: int, group: str) -> str:
    """attendance_sessions::key(): start, then group ("" for everyone)."""
    return f"{sessdate:020d}|{group}"


def normalise_sessions(sessions: Any) -> list[dict[str, Any]]:
    arr = php_array(sessions)
    if arr is None or not is_php_list(arr):
        raise invalid_settings('"sessions" must be a list')
    out: dict[str, dict[str, Any]] = {}
    for i, raw in enumerate(arr.values()):
        where = f"sessions[{i}]"
        s = php_array(raw)
        if s is None:
            raise invalid_settings(f"{where} must be an object")
        unknown = _unknown(s, SESSION_FIELDS)
        if unknown:
            raise invalid_settings(f"{where}: unknown fields " + ", ".join(unknown))
        if "sessdate" not in s:
            raise invalid_settings(f'{where} needs "sessdate"')
        sessdate = int_setting(s["sessdate"], f"{where}.sessdate", 1)
        group = s.get("group") if s.get("group") is not None else ""
        if not isinstance(group, str):
            raise invalid_settings(f"{where}: group must be an idnumber")
        key = _session_key(sessdate, group)
        if key in out:
            raise invalid_settings(f"{where}: sessdate {sessdate} given twice" + (f" for group {group}" if group else ""))
        description = s.get("description") if s.get("description") is not None else ""
        if not isinstance(description, str):
            raise invalid_settings(f"{where}: description must be text")
        duration = s.get("duration") if s.get("duration") is not None else 0
        out[key] = {"sessdate": sessdate, "duration": int_setting(duration, f"{where}.duration", 0),
                    "description": description}
        if group != "":
            out[key]["group"] = group
    return [out[k] for k in sorted(out)]


def _group_idnumbers(st: MoodleState, attendanceid: int) -> dict[int, str]:
    courseid = st.mod_instances["attendance"][attendanceid]["course"]
    return {g["id"]: g["idnumber"] for g in st.groups.values() if g["courseid"] == courseid and g["idnumber"]}


def read_sessions(st: MoodleState, attendanceid: int) -> list[dict[str, Any]]:
    idnumbers = _group_idnumbers(st, attendanceid)
    out: dict[str, dict[str, Any]] = {}
    for s in st.attendance_sessions.values():
        if s["attendanceid"] != attendanceid:
            continue
        session: dict[str, Any] = {"sessdate": int(s["sessdate"]), "duration": int(s["duration"]),
                                   "description": str(s["description"])}
        group = idnumbers.get(s["groupid"], f"#{s['groupid']}") if s["groupid"] else ""
        if group:
            session["group"] = group
        out[_session_key(int(s["sessdate"]), group) + "\0" + f"{s['id']:020d}"] = session
    return [out[k] for k in sorted(out)]


def _session_event(st: MoodleState, ctx: Ctx, cm: dict[str, Any], sess: dict[str, Any]) -> None:
    """attendance_create_calendar_event(): an event of the activity (of the session's group, named after it),
    visible (the DB default)."""
    name = st.modules[cm["id"]]["name"]
    if sess["groupid"]:
        name += f" (Group {st.groups[sess['groupid']]['name']})"  # get_string('group', 'group')
    eid = st.next_id("event")
    st.events[eid] = {
        "id": eid, "name": name, "description": sess["description"],
        "format": sess["descriptionformat"], "categoryid": 0, "courseid": cm["course"], "groupid": sess["groupid"],
        "userid": ctx.userid, "repeatid": 0, "component": None, "modulename": "attendance",
        "instance": sess["attendanceid"], "type": 0, "eventtype": "attendance", "timestart": sess["sessdate"],
        "timeduration": sess["duration"], "timesort": None, "visible": 1, "uuid": "", "sequence": 1,
        "timemodified": now(), "subscriptionid": None, "priority": None, "location": None,
    }
    sess["caleventid"] = eid


def _update_session_event(st: MoodleState, sess: dict[str, Any]) -> None:
    """attendance_update_calendar_event(): start, duration and description follow the session."""
    event = st.events.get(sess["caleventid"])
    if event is not None:
        event.update(timestart=sess["sessdate"], timeduration=sess["duration"],
                     description=sess["description"], timemodified=now())


def sync_sessions(st: MoodleState, ctx: Ctx, cm: dict[str, Any], sessions: list[dict[str, Any]]) -> bool:
    attendanceid = cm["instance"]
    existing = sorted((s for s in st.attendance_sessions.values() if s["attendanceid"] == attendanceid),
                      key=lambda s: (s["sessdate"], s["id"]))
    groupids = {v: k for k, v in _group_idnumbers(st, attendanceid).items()}
    bydate: dict[str, dict[str, Any]] = {}
    extra: list[dict[str, Any]] = []
    for s in existing:
        key = _session_key(s["sessdate"], str(s["groupid"]))
        if key in bydate:
            extra.append(s)
        else:
            bydate[key] = s
    changed = False
    if any("group" in s for s in sessions) and cm["groupmode"] == 0:
        cm["groupmode"] = 2  # set_coursemodule_groupmode($cm->id, VISIBLEGROUPS); lib/grouplib.php: VISIBLEGROUPS = 2
        changed = True
    for want in sessions:
        groupid = 0
        if "group" in want:
            if want["group"] not in groupids:
                raise error("invalidgroup", want["group"])
            groupid = groupids[want["group"]]
        have = bydate.pop(_session_key(want["sessdate"], str(groupid)), None)
        if have is None:
            # mod_attendance_structure::add_session() with the plugin's new_session() defaults
            sid = st.next_id("attendance_sessions")
            sess = {
                "id": sid, "attendanceid": attendanceid, "groupid": groupid, "sessdate": want["sessdate"],
                "duration": want["duration"], "lasttaken": None, "lasttakenby": 0, "timemodified": now(),
                "description": want["description"], "descriptionformat": FORMAT_HTML, "calendarevent": 1,
                "caleventid": 0, "studentscanmark": 0, "allowupdatestatus": 0, "autoassignstatus": 0,
                "studentpassword": "", "subnet": "", "automark": 0, "automarkcompleted": 0,
                "statusset": 0, "absenteereport": 1, "includeqrcode": 0, "automarkcmid": 0,
            }
            st.attendance_sessions[sid] = sess
            _session_event(st, ctx, cm, sess)
            changed = True
            continue
        if str(have["description"]) != want["description"] or int(have["descriptionformat"]) != FORMAT_HTML:
            # update_session_from_form_data(): the form's end time has minute precision
            have.update(description=want["description"], descriptionformat=FORMAT_HTML,
                        duration=(want["duration"] // 60) * 60, timemodified=now())
            _update_session_event(st, have)
            changed = True
        if int(have["duration"]) != want["duration"]:
            have.update(duration=want["duration"], timemodified=now())  # update_sessions_duration()
            _update_session_event(st, have)
            changed = True
    remove = [s["id"] for s in list(bydate.values()) + extra
              if not s["lasttaken"] and not st.attendance_log_of(s["id"])]
    if remove:
        for sid in remove:  # delete_sessions(): their logs and calendar events go too
            sess = st.attendance_sessions.pop(sid)
            st.events.pop(sess.get("caleventid") or -1, None)
        for lid in [x["id"] for x in st.attendance_log.values() if x["sessionid"] in remove]:
            del st.attendance_log[lid]
        changed = True
    return changed


# --------------------------------------------------------------------------- #
# Modules (classes/local/modules.php)
# --------------------------------------------------------------------------- #

MODULE_TYPES = ("url", "page", "label", "resource", "feedback", "attendance")
SETTINGS_KEYS: dict[str, tuple[str, ...]] = {
    "url": ("externalurl", "display"),
    "page": ("content",),
    "label": (),
    "resource": ("draftitemid",),
    "feedback": ("anonymous", "timeopen", "timeclose", "questions", "multiple_submit"),
    "attendance": ("grade", "sessions"),
}
#: ids of the modules table on a fresh 5.1 site with mod_attendance (the order they install in)
MODULE_IDS = {"assign": 1, "attendance": 26, "feedback": 8, "forum": 9, "label": 13, "page": 15,
              "quiz": 16, "resource": 17, "url": 20}

_INT_MAX = 2**63 - 1


def module_installed(st: MoodleState, modname: str) -> bool:
    if modname == "attendance" and "mod_attendance" not in st.plugins:
        return False
    return modname not in st.disabled_modules


def find_modules(st: MoodleState, courseid: int, idnumber: str) -> list[dict[str, Any]]:
    return sorted((cm for cm in st.modules.values() if cm["course"] == courseid and cm["idnumber"] == idnumber),
                  key=lambda cm: cm["id"])


def parse_settings(modname: str, text: str) -> dict[str, Any]:
    text = text.strip(_PHP_TRIM)
    raw = php_array([] if text == "" else php_json_decode(text))
    if raw is None or (raw and is_php_list(raw)):
        raise invalid_settings("settings must be a JSON object")
    unknown = _unknown(raw, SETTINGS_KEYS[modname])
    if unknown:
        raise invalid_settings(f"unknown settings for {modname}: " + ", ".join(unknown))
    if modname == "url":
        url = raw.get("externalurl")
        if not isinstance(url, str) or url.strip(_PHP_TRIM) == "":
            raise invalid_settings('url needs "externalurl"')
        url = url_fix_submitted_url(url)
        if not url_appears_valid_url(url):
            raise invalid_settings(f"invalid externalurl {url}")
        display = raw.get("display", 0)  # default: get_config('url', 'display'), RESOURCELIB_DISPLAY_AUTO
        return {"externalurl": url, "display": int_setting(display, "display", 0, 6)}
    if modname == "page":
        if not isinstance(raw.get("content"), str):
            raise invalid_settings('page needs "content" (HTML)')
        return {"content": raw["content"]}
    if modname == "label":
        return {}
    if modname == "resource":
        draft = int_setting(raw["draftitemid"], "draftitemid", 1) if "draftitemid" in raw else 0
        return {"draftitemid": draft}
    if modname == "feedback":
        anonymous = int_setting(raw["anonymous"], "anonymous", 1, 2) if "anonymous" in raw else 1
        questions = raw.get("questions") if raw.get("questions") is not None else []
        timeopen = int_setting(raw.get("timeopen") if raw.get("timeopen") is not None else 0, "timeopen", 0)
        timeclose = int_setting(raw.get("timeclose") if raw.get("timeclose") is not None else 0, "timeclose", 0)
        multiple = int_setting(raw.get("multiple_submit") if raw.get("multiple_submit") is not None else 0,
                               "multiple_submit", 0, 1)
        # "multiple_submit" only when on (1.2): the shape plugin 1.1 reported stays the same otherwise
        return {"anonymous": anonymous, "timeopen": timeopen, "timeclose": timeclose,
                "questions": normalise_questions(questions), **({"multiple_submit": 1} if multiple else {})}
    # attendance
    grade = int_setting(raw.get("grade") if raw.get("grade") is not None else 100, "grade", -_INT_MAX)
    sessions = raw.get("sessions") if raw.get("sessions") is not None else []
    return {"grade": grade, "sessions": normalise_sessions(sessions)}


def resource_main_file(st: MoodleState, cm: dict[str, Any]) -> dict[str, Any] | None:
    files = st.area_files(st.module_context(cm["id"]), "mod_resource", "content", 0)
    return files[0] if files else None


def current_settings(st: MoodleState, cm: dict[str, Any]) -> dict[str, Any]:
    inst = st.instance(cm)
    modname = cm["modname"]
    if modname == "url":
        return {"externalurl": str(inst.get("externalurl") or ""), "display": int(inst.get("display") or 0)}
    if modname == "page":
        return {"content": str(inst.get("content") or "")}
    if modname == "resource":
        f = resource_main_file(st, cm)
        return {"filename": f["filename"] if f else "", "filesize": int(f["filesize"]) if f else 0,
                "contenthash": f["contenthash"] if f else ""}
    if modname == "feedback":
        return {"anonymous": int(inst.get("anonymous") or 0), "timeopen": int(inst.get("timeopen") or 0),
                "timeclose": int(inst.get("timeclose") or 0), "questions": read_questions(st, cm["instance"]),
                **({"multiple_submit": 1} if int(inst.get("multiple_submit") or 0) else {})}
    if modname == "attendance":
        return {"grade": int(inst.get("grade") or 0), "sessions": read_sessions(st, cm["instance"])}
    return {}


def modules_state(st: MoodleState, courseid: int) -> list[dict[str, Any]]:
    cms = [cm for cm in st.modules.values() if cm["course"] == courseid and cm["idnumber"]]
    cms.sort(key=lambda cm: (st.sections[cm["section"]]["section"], cm["id"]))
    out = []
    for cm in cms:
        settings = current_settings(st, cm) if cm["modname"] in MODULE_TYPES else {}
        out.append({
            "cmid": cm["id"], "idnumber": cm["idnumber"], "modname": cm["modname"], "instance": cm["instance"],
            "sectionnumber": st.sections[cm["section"]]["section"], "name": str(cm["name"] or ""),
            "intro": str(st.instance(cm).get("intro") or ""), "visible": bool(cm["visible"]),
            "settings": php_json_settings(settings), "availability": str(cm.get("availability") or ""),
        })
    return out


def label_name(ctx: Ctx, name: str, intro: str) -> str:
    """mod/label/lib.php get_label_name(): the name, or the text made plain, at most 50 characters."""
    if name not in ("", "0"):
        return name
    filters = ctx.state.settings.filters
    text, _fmt = format_text(intro, FORMAT_HTML, OutputSettings(filter=False), filters)
    plain = format_string(text, OutputSettings(filter=True, lang=ctx.out.lang), filters, ctx.lang)
    plain = html.unescape(plain)  # html_to_text()
    plain = re.sub(r"@@PLUGINFILE@@/\S+", "", plain, flags=re.IGNORECASE)
    plain = re.sub(r"\s+", " ", plain).strip(_PHP_TRIM)
    if len(plain) > 50:
        plain = plain[:50] + "..."
    return plain if plain not in ("", "0") else MODULE_NAMES["label"]


def _target_section(st: MoodleState, courseid: int, sectionkey: str) -> dict[str, Any]:
    if sectionkey == "":
        found = next((s for s in st.course_sections(courseid) if s["section"] == 0), None)
        return found if found is not None else st.add_section(courseid, 0)  # course_create_sections_if_missing
    if not key_ok(sectionkey):
        raise error("unknownsectionkey", sectionkey)
    section = find_section(st, courseid, sectionkey)
    if section is None:
        raise error("unknownsectionkey", sectionkey)
    return section


def _draft_file(st: MoodleState, userid: int, draftitemid: int) -> dict[str, Any]:
    files = st.area_files(st.user_context(userid), "user", "draft", draftitemid)
    if len(files) != 1:
        raise invalid_settings(f"the draft area {draftitemid} of the current user holds {len(files)} files, not 1")
    return files[0]


def _copy_draft_to_resource(st: MoodleState, cm: dict[str, Any], draft: dict[str, Any]) -> None:
    """file_save_draft_area_files() into mod_resource/content/0, then resource_set_mainfile()."""
    contextid = st.module_context(cm["id"])
    for f in st.area_files(contextid, "mod_resource", "content", 0):
        del st.files[f["id"]]
    copy = {k: v for k, v in draft.items() if k not in ("id", "contenthash", "filesize", "mimetype")}
    copy.update(contextid=contextid, component="mod_resource", filearea="content", itemid=0, sortorder=1)
    st.add_file(st.filedir[draft["contenthash"]], **copy)


def _feedback_set_events(st: MoodleState, ctx: Ctx, cm: dict[str, Any]) -> None:
    """mod/feedback/lib.php feedback_set_events(): an 'open' and a 'close' event when the times are set."""
    inst = st.instance(cm)
    for eventtype, timefield, template in (("open", "timeopen", "{} opens"), ("close", "timeclose", "{} closes")):
        current = next((e for e in st.events.values() if e.get("modulename") == "feedback"
                        and e.get("instance") == cm["instance"] and e["eventtype"] == eventtype), None)
        when = int(inst.get(timefield) or 0)
        if when > 0:
            fields = {"name": template.format(cm["name"]), "description": str(inst.get("intro") or ""),
                      "format": FORMAT_HTML, "timestart": when, "timesort": when,
                      "visible": 1 if cm["visible"] else 0, "timeduration": 0, "timemodified": now(),
                      "type": 1 if eventtype == "close" or not inst.get("timeclose") else 0}
            if current is not None:
                current.update(fields)
            else:
                eid = st.next_id("event")
                st.events[eid] = {
                    "id": eid, "categoryid": 0, "courseid": cm["course"], "groupid": 0, "userid": ctx.userid,
                    "repeatid": 0, "component": None, "modulename": "feedback", "instance": cm["instance"],
                    "eventtype": eventtype, "uuid": "", "sequence": 1, "subscriptionid": None,
                    "priority": None, "location": None, **fields,
                }
        elif current is not None:
            del st.events[current["id"]]


def _instance_fields(modname: str, s: dict[str, Any]) -> dict[str, Any]:
    """What <mod>_add_instance() stores for the managed settings (plus the site defaults)."""
    if modname == "url":
        return {"externalurl": url_fix_submitted_url(s["externalurl"]), "display": s["display"],
                "displayoptions": "", "parameters": "a:0:{}"}
    if modname == "page":
        return {"content": s["content"], "contentformat": FORMAT_HTML, "display": 5, "revision": 1}
    if modname == "resource":
        return {"display": 0, "revision": 1, "tobemigrated": 0, "legacyfiles": 0}
    if modname == "feedback":
        return {"anonymous": s["anonymous"], "timeopen": s["timeopen"], "timeclose": s["timeclose"],
                "email_notification": 0, "multiple_submit": s.get("multiple_submit", 0), "autonumbering": 1, "site_after_submit": "",
                "page_after_submit": "", "page_after_submitformat": FORMAT_HTML, "publish_stats": 0,
                "completionsubmit": 0}
    if modname == "attendance":
        return {"grade": s["grade"], "subnet": "", "sessiondetailspos": "left", "showsessiondetails": 1,
                "showextrauserdetails": 1}
    return {}


def create_module(st: MoodleState, ctx: Ctx, course: dict[str, Any], plan: dict[str, Any]) -> int:
    """prepare_new_moduleinfo_data() + add_moduleinfo(): at the end of the section, visible as asked."""
    item, s, modname, section = plan["item"], plan["settings"], plan["modname"], plan["section"]
    cmid = st.next_id("course_modules")
    instance = st.next_id(f"mod_{modname}")
    visible = 1 if item["visible"] else 0
    t = now()
    cm: dict[str, Any] = {
        "id": cmid, "course": course["id"], "module": MODULE_IDS.get(modname, 0), "modname": modname,
        "instance": instance, "section": section["id"], "name": item["name"], "idnumber": plan["idnumber"],
        "added": t, "visible": visible, "visibleold": visible, "visibleoncoursepage": 1, "indent": 0,
        "groupmode": 0 if course["groupmodeforce"] else course["groupmode"], "completion": 0,
        "showdescription": 0, "_eventsvisible": visible,
        # add_moduleinfo(): availabilityconditionsjson, checked by core_availability\tree (course/modlib.php)
        "availability": plan["availability"] if isinstance(plan["availability"], str) else None,
    }
    check_columns("attendance" if modname == "attendance" else "module", cm)
    st.modules[cmid] = cm
    st.add_context(CONTEXT_MODULE, cmid, st.course_context(course["id"]))
    if modname == "label":
        cm["name"] = label_name(ctx, item["name"], item["intro"])
    st.mod_instances.setdefault(modname, {})[instance] = {
        "id": instance, "course": course["id"], "intro": item["intro"], "introformat": FORMAT_HTML,
        "timemodified": t, **_instance_fields(modname, s),
    }
    st.sections[section["id"]]["sequence"].append(cmid)  # course_add_cm_to_section()
    if modname == "resource":
        _copy_draft_to_resource(st, cm, plan["draftfile"])
    elif modname == "feedback":
        _feedback_set_events(st, ctx, cm)
        sync_questions(st, cm, s["questions"])
    elif modname == "attendance":
        add_default_statuses(st, instance)  # attendance_add_instance()
        sync_sessions(st, ctx, cm, s["sessions"])
    course["cacherev"] += 1
    return cmid


def _update_moduleinfo(st: MoodleState, ctx: Ctx, cm: dict[str, Any], plan: dict[str, Any], setvisible: bool) -> None:
    """get_moduleinfo_data() + update_moduleinfo(): name, intro, visibility and the type's settings."""
    item, s, modname = plan["item"], plan["settings"], plan["modname"]
    inst = st.instance(cm)
    check_columns("attendance" if modname == "attendance" else "module", item)
    cm["name"] = label_name(ctx, item["name"], item["intro"]) if modname == "label" else item["name"]
    inst.update(intro=item["intro"], introformat=FORMAT_HTML, timemodified=now())
    if modname == "url":
        inst.update(externalurl=url_fix_submitted_url(s["externalurl"]), display=s["display"])
    elif modname == "page":
        inst.update(content=s["content"], contentformat=FORMAT_HTML, revision=int(inst.get("revision") or 0) + 1)
    elif modname == "resource":
        if plan["draftfile"] is not None:
            _copy_draft_to_resource(st, cm, plan["draftfile"])
        inst["revision"] = int(inst.get("revision") or 0) + 1
    elif modname == "feedback":
        inst.update(anonymous=s["anonymous"], timeopen=s["timeopen"], timeclose=s["timeclose"],
                    multiple_submit=s.get("multiple_submit", 0))
        _feedback_set_events(st, ctx, cm)
    elif modname == "attendance":
        inst["grade"] = s["grade"]
    if plan["availability"] is not False:  # availabilityconditionsjson: "" (here None) removes it
        cm["availability"] = plan["availability"]
    set_cm_visible(st, cm, (1 if item["visible"] else 0) if setvisible else cm["visible"])
    st.courses[cm["course"]]["cacherev"] += 1


def update_module(st: MoodleState, ctx: Ctx, plan: dict[str, Any]) -> bool:
    item, s, modname = plan["item"], plan["settings"], plan["modname"]
    cm = plan["cm"]
    inst = st.instance(cm)
    current = current_settings(st, cm)
    cursection = st.sections[cm["section"]]
    differs = []
    wantname = item["name"]
    if modname == "label" and wantname != "":
        wantname = label_name(ctx, wantname, item["intro"])
    if (modname != "label" or item["name"] != "") and str(cm["name"] or "") != wantname:
        differs.append("name")
    if str(inst.get("intro") or "") != item["intro"] or int(inst.get("introformat") or 0) != FORMAT_HTML:
        differs.append("intro")
    # In a hidden section Moodle hides the module itself and restores it when the section is shown.
    targetvisible = plan["section"]["visible"] and cursection["visible"]
    if targetvisible and bool(cm["visible"]) != item["visible"]:
        differs.append("visible")
    if modname == "url":
        if current["externalurl"] != s["externalurl"] or current["display"] != s["display"]:
            differs.append("settings")
    elif modname == "page":
        if current["content"] != s["content"] or int(inst.get("contentformat") or 0) != FORMAT_HTML:
            differs.append("settings")
    elif modname == "resource":
        draft = plan["draftfile"]
        if draft is not None and (current["contenthash"] != draft["contenthash"]
                                  or current["filename"] != draft["filename"]):
            differs.append("file")
    elif modname == "feedback":
        if (current["anonymous"], current["timeopen"], current["timeclose"], current.get("multiple_submit", 0)) != (
                s["anonymous"], s["timeopen"], s["timeclose"], s.get("multiple_submit", 0)):
            differs.append("settings")
    elif modname == "attendance" and current["grade"] != s["grade"]:
        differs.append("settings")
    if plan["availability"] is not False:
        differs.append("availability")

    changed = False
    if differs:
        _update_moduleinfo(st, ctx, cm, plan, "visible" in differs)
        changed = True
    if modname == "feedback":
        changed = sync_questions(st, cm, s["questions"]) or changed
    elif modname == "attendance":
        changed = sync_sessions(st, ctx, cm, s["sessions"]) or changed
    if cm["section"] != plan["section"]["id"]:
        moveto_module(st, cm, plan["section"])
        changed = True
    return changed


def modules_upsert(st: MoodleState, ctx: Ctx, course: dict[str, Any],
                   items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    courseid = course["id"]
    plans = []
    seen: set[str] = set()
    for item in items:
        idnumber = check_idnumber(item["idnumber"])
        if idnumber in seen:
            raise error("duplicateidnumber", idnumber)
        seen.add(idnumber)
        modname = item["modname"]
        if modname not in MODULE_TYPES:
            raise error("unsupportedmodname", modname)
        if not module_installed(st, modname):
            raise error("modulenotinstalled", modname)
        settings = parse_settings(modname, item["settings"])
        section = _target_section(st, courseid, item["sectionkey"])
        existing = find_modules(st, courseid, idnumber)
        if len(existing) > 1:
            raise error("duplicateidnumber", idnumber)
        cm = existing[0] if existing else None
        if cm is not None and cm["modname"] != modname:
            raise error("wrongmodname", {"idnumber": idnumber, "existing": cm["modname"], "requested": modname})
        if cm is None and modname == "resource" and not settings["draftitemid"]:
            raise invalid_settings(
                'a new resource needs "draftitemid" (upload the file through /webservice/upload.php)')
        draftfile = None
        if modname == "resource" and settings["draftitemid"]:
            draftfile = _draft_file(st, ctx.userid, settings["draftitemid"])
        # 1.2: the group restriction, the shape of a section's (sections::availability); False: as it is
        availability: Any = False
        if item["setgroups"]:
            availability = section_availability(st, courseid, item["groups"], cm.get("availability") if cm else None)
            if availability is not False and not st.settings.enableavailability:
                # course/modlib.php writes a module's availability only when restrictions are enabled
                raise error("availabilitydisabled", idnumber)
        plans.append({"item": item, "idnumber": idnumber, "modname": modname, "settings": settings,
                      "section": section, "cm": cm, "draftfile": draftfile, "availability": availability})
    results = []
    for plan in plans:
        if plan["cm"] is not None:
            changed = update_module(st, ctx, plan)
            results.append({"idnumber": plan["idnumber"], "cmid": plan["cm"]["id"], "created": False,
                            "changed": changed})
        else:
            cmid = create_module(st, ctx, course, plan)
            results.append({"idnumber": plan["idnumber"], "cmid": cmid, "created": True, "changed": True})
    return results


def modules_delete(st: MoodleState, course: dict[str, Any], idnumbers: list[str]) -> list[dict[str, Any]]:
    found = []
    for idnumber in idnumbers:
        check_idnumber(idnumber)
        cms = find_modules(st, course["id"], idnumber)
        if len(cms) > 1:
            raise error("duplicateidnumber", idnumber)
        found.append((idnumber, cms[0] if cms else None))
    results = []
    for idnumber, cm in found:
        if cm is None:
            results.append({"idnumber": idnumber, "deleted": False})
            continue
        if cm["id"] not in st.modules:
            # Given twice: context_module::instance() of the module deleted a moment ago (MUST_EXIST).
            raise missing_record("course_modules", {"id": cm["id"]})
        if cm["modname"] == "feedback":
            forget_questions(st, cm["instance"])
        delete_module(st, cm)
        results.append({"idnumber": idnumber, "deleted": True})
    return results


# --------------------------------------------------------------------------- #
# The web-service functions (classes/external/*.php)
# --------------------------------------------------------------------------- #


# classes/external/get_info.php
@plugin_ws("local_ocasync_get_info", Params({}), Single({
    "plugin_version": Value(PARAM_INT, "version of local_ocasync"),
    "plugin_release": Value(PARAM_RAW, "release of local_ocasync"),
    "moodle_release": Value(PARAM_RAW, "Moodle release"),
    "moodle_version": Value(PARAM_RAW, "Moodle version"),
    "attendance_version": Value(PARAM_INT, "version of mod_attendance, 0 when not installed"),
    "multilang_enabled": Value(PARAM_BOOL, "filter_multilang is on globally"),
    "filterall": Value(PARAM_BOOL, "filters apply to headings too ($CFG->filterall)"),
    "languages": Multiple(Value(PARAM_RAW, "language code"), "installed language packs"),
    "group_restrictions": Value(PARAM_BOOL, "access restrictions are on ($CFG->enableavailability) and "
                                            "availability_group is enabled"),
}))
def get_info(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    return {
        "plugin_version": st.plugins.get(COMPONENT, PLUGIN_VERSION), "plugin_release": PLUGIN_RELEASE,
        "moodle_release": st.settings.release, "moodle_version": st.settings.version,
        "attendance_version": st.plugins.get("mod_attendance", 0),
        "multilang_enabled": st.settings.filters.multilang_enabled, "filterall": st.settings.filters.filterall,
        # get_list_of_translations(true) is sorted by the packs' names (core_collator::asort), not by code
        "languages": sorted(ctx.state_langs(), key=lambda code: LANGUAGE_NAMES.get(code, code)),
        # get_info.php: !empty($CFG->enableavailability) and availability_group enabled (on in a fresh site)
        "group_restrictions": st.settings.enableavailability,
    }


#: langconfig.php "thislanguage" of some packs (get_list_of_translations sorts by it)
LANGUAGE_NAMES = {"en": "English", "ru": "Русский", "ky": "Кыргызча", "kk": "Қазақша", "uz": "O‘zbekcha",
                  "tg": "Тоҷикӣ", "tr": "Türkçe", "pt_br": "Português - Brasil", "de": "Deutsch"}


#: role_get_name() of the standard roles (their name is empty; the language strings name them)
STANDARD_ROLE_NAMES = {
    "manager": "Manager", "coursecreator": "Course creator", "editingteacher": "Teacher",
    "teacher": "Non-editing teacher", "student": "Student", "guest": "Guest", "user": "Authenticated user",
    "frontpage": "Authenticated user on site home",
}
#: get_default_contextlevels(): the archetypes assignable in a course context
COURSE_ARCHETYPES = ("manager", "editingteacher", "teacher", "student")


# classes/external/list_roles.php
@plugin_ws("local_ocasync_list_roles", Params({}), Multiple(Single({
    "id": Value(PARAM_INT, "role id"),
    "shortname": Value(PARAM_RAW, "role short name"),
    "name": Value(PARAM_RAW, "role name"),
    "archetype": Value(PARAM_RAW, 'archetype, "" when none'),
    "coursecontext": Value(PARAM_BOOL, "the role can be assigned in a course context"),
})))
def list_roles(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    out = []
    for role in sorted(ctx.state.roles.values(), key=lambda r: (r["sortorder"], r["id"])):
        name = str(role.get("name") or "")
        if name.strip() != "":
            local = ctx.core_fs(name)
        else:
            local = STANDARD_ROLE_NAMES.get(role["shortname"], role["shortname"])
        levels = role.get("contextlevels")
        incourse = (50 in levels) if levels is not None else role.get("archetype") in COURSE_ARCHETYPES
        out.append({"id": role["id"], "shortname": role["shortname"], "name": local,
                    "archetype": str(role.get("archetype") or ""), "coursecontext": incourse})
    return out


#: get_course_state.php's answer; get_course_states.php answers a list of them.
COURSE_STATE = Single({
    "courseid": Value(PARAM_INT, "course id"),
    "format": Value(PARAM_PLUGIN, "course format"),
    "sections": Multiple(Single({
        "id": Value(PARAM_INT, "course_sections.id"),
        "number": Value(PARAM_INT, "section number"),
        "key": Value(PARAM_RAW, 'oca-sync key, "" when unmapped'),
        "name": Value(PARAM_RAW, 'raw name, "" when unnamed'),
        "summary": Value(PARAM_RAW, "raw summary (HTML)"),
        "visible": Value(PARAM_BOOL, "visible"),
        "availability": Value(PARAM_RAW, 'access restriction (JSON), "" for none'),
    }), "top-level sections (not delegated subsections), by number"),
    "modules": Multiple(Single({
        "cmid": Value(PARAM_INT, "course module id"),
        "idnumber": Value(PARAM_RAW, "idnumber"),
        "modname": Value(PARAM_PLUGIN, "module type"),
        "instance": Value(PARAM_INT, "instance id"),
        "sectionnumber": Value(PARAM_INT, "number of its section"),
        "name": Value(PARAM_RAW, "raw name"),
        "intro": Value(PARAM_RAW, "raw intro (HTML)"),
        "visible": Value(PARAM_BOOL, "visible"),
        "settings": Value(PARAM_RAW, "JSON object of the managed settings"),
        "availability": Value(PARAM_RAW, 'access restriction (JSON), "" for none'),
    }), "modules with a non-empty idnumber"),
})


# classes/external/get_course_state.php
@plugin_ws("local_ocasync_get_course_state", Params({
    "courseid": Value(PARAM_INT, "course id"),
}), COURSE_STATE)
def get_course_state(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    course = check_course(st, p["courseid"])
    return {"courseid": course["id"], "format": str(course["format"]),
            "sections": sections_state(st, course["id"]), "modules": modules_state(st, course["id"])}


# classes/external/upsert_sections.php
@plugin_ws("local_ocasync_upsert_sections", Params({
    "courseid": Value(PARAM_INT, "course id"),
    "sections": Multiple(Single({
        "key": Value(PARAM_RAW, "oca-sync key, ^[A-Za-z0-9:_.#-]{1,100}$"),
        "number": Value(PARAM_INT, "position, from 1"),
        "name": Value(PARAM_TEXT, 'name (multilang spans allowed), "" for the default', VALUE_DEFAULT, ""),
        "summary": Value(PARAM_RAW, "summary (HTML)", VALUE_DEFAULT, ""),
        "visible": Value(PARAM_BOOL, "visible", VALUE_DEFAULT, True),
        "sectionid": Value(PARAM_INT, "existing unmapped section of the course to take under this key, 0 for none",
                           VALUE_DEFAULT, 0),
        "setgroups": Value(PARAM_BOOL,
                           'set the group restriction to "groups" (REST cannot send an empty list: this says "none")',
                           VALUE_DEFAULT, False),
        "groups": Multiple(Value(PARAM_RAW, "idnumber of a group of the course"),
                           "with setgroups: restrict the section to members of these groups; none removes such a "
                           "restriction", VALUE_DEFAULT, []),
    })),
}), Multiple(Single({
    "key": Value(PARAM_RAW, "oca-sync key"),
    "id": Value(PARAM_INT, "course_sections.id"),
    "number": Value(PARAM_INT, "section number after the call"),
    "created": Value(PARAM_BOOL, "the section was created"),
    "changed": Value(PARAM_BOOL, "anything was written (created, updated or moved)"),
})), transaction=True)
def upsert_sections(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    course = check_course(ctx.state, p["courseid"])
    return sections_upsert(ctx.state, course, p["sections"])


# classes/external/upsert_modules.php
@plugin_ws("local_ocasync_upsert_modules", Params({
    "courseid": Value(PARAM_INT, "course id"),
    "modules": Multiple(Single({
        "idnumber": Value(PARAM_RAW, "course module idnumber (our key)"),
        "modname": Value(PARAM_ALPHANUMEXT, "url, page, label, resource, feedback or attendance"),
        "sectionkey": Value(PARAM_RAW, 'key of the section, "" for section 0'),
        "name": Value(PARAM_TEXT, "name (multilang spans allowed)", VALUE_DEFAULT, ""),
        "intro": Value(PARAM_RAW, "description (HTML)", VALUE_DEFAULT, ""),
        "visible": Value(PARAM_BOOL, "visible", VALUE_DEFAULT, True),
        "settings": Value(PARAM_RAW, "JSON object of the type's settings", VALUE_DEFAULT, "{}"),
        "setgroups": Value(PARAM_BOOL, 'set the group restriction to "groups"', VALUE_DEFAULT, False),
        "groups": Multiple(Value(PARAM_RAW, "group idnumber"),
                           "groups whose members may see the module; none: no restriction of this kind",
                           VALUE_DEFAULT, []),
    })),
}), Multiple(Single({
    "idnumber": Value(PARAM_RAW, "idnumber"),
    "cmid": Value(PARAM_INT, "course module id"),
    "created": Value(PARAM_BOOL, "the module was created"),
    "changed": Value(PARAM_BOOL, "anything was written"),
})), transaction=True)
def upsert_modules(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    course = check_course(ctx.state, p["courseid"])
    return modules_upsert(ctx.state, ctx, course, p["modules"])


# classes/external/delete_modules.php
@plugin_ws("local_ocasync_delete_modules", Params({
    "courseid": Value(PARAM_INT, "course id"),
    "idnumbers": Multiple(Value(PARAM_RAW, "idnumber")),
}), Multiple(Single({
    "idnumber": Value(PARAM_RAW, "idnumber"),
    "deleted": Value(PARAM_BOOL, "false when no module had it"),
})), transaction=True)
def delete_modules(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    course = check_course(ctx.state, p["courseid"])
    return modules_delete(ctx.state, course, p["idnumbers"])


# classes/external/delete_sections.php
@plugin_ws("local_ocasync_delete_sections", Params({
    "courseid": Value(PARAM_INT, "course id"),
    "keys": Multiple(Value(PARAM_RAW, "oca-sync key")),
}), Multiple(Single({
    "key": Value(PARAM_RAW, "oca-sync key"),
    "deleted": Value(PARAM_BOOL, "false when no section was mapped to it"),
})), transaction=True)
def delete_sections(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    course = check_course(ctx.state, p["courseid"])
    return sections_delete(ctx.state, course, p["keys"])


# classes/external/take_attendance.php: what mod_attendance's take.php does for many students
# (mod_attendance_structure::save_log): a log row each (an unchanged row is not rewritten, the
# teacher's remark is kept), the session marked taken, and the students' grades (in the emulated
# gradebook of moodle_fn_completion, which completion by grade reads).
@plugin_ws("local_ocasync_take_attendance", Params({
    "sessionid": Value(PARAM_INT, "attendance_sessions.id"),
    "statuses": Multiple(Single({
        "studentid": Value(PARAM_INT, "user id"),
        "statusid": Value(PARAM_INT, "attendance_statuses.id of the session's status set"),
    })),
}), Single({
    "sessionid": Value(PARAM_INT, "attendance_sessions.id"),
    "written": Value(PARAM_INT, "statuses given"),
}), transaction=True)
def take_attendance(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    if not st.plugins.get("mod_attendance"):
        raise invalid_settings("mod_attendance is not installed")
    sess = session_or_error(st, p["sessionid"])
    cm = cm_of_instance(st, sess["attendanceid"])
    in_set = [s["id"] for s in statuses_in_set(st, sess["attendanceid"], int(sess.get("statusset") or 0))]
    allowed = set(in_set)
    seen: set[int] = set()
    for i, s in enumerate(p["statuses"]):
        if s["statusid"] not in allowed:
            raise invalid_settings(f"statuses[{i}]: status {s['statusid']} is not in the status set of session "
                                   f"{sess['id']}")
        if not st.is_enrolled(cm["course"], s["studentid"]):
            raise invalid_settings(f"statuses[{i}]: user {s['studentid']} is not enrolled in this course")
        if s["studentid"] in seen:
            raise invalid_settings(f"statuses[{i}]: user {s['studentid']} given twice")
        seen.add(s["studentid"])
    if not p["statuses"]:
        return {"sessionid": sess["id"], "written": 0}
    t = now()
    statusset = ",".join(str(i) for i in in_set)  # take_from_form_data: implode(',', array_keys(get_statuses()))
    existing = {x["studentid"]: x for x in st.attendance_log_of(sess["id"])}
    for s in p["statuses"]:
        old = existing.get(s["studentid"])
        record = {"statusset": statusset, "sessionid": sess["id"], "timetaken": t, "takenby": ctx.userid,
                  "statusid": s["statusid"], "studentid": s["studentid"]}
        if old is None:
            lid = st.next_id("attendance_log")
            st.attendance_log[lid] = {"id": lid, "remarks": "", "ipaddress": "", **record}
        elif old["statusid"] != s["statusid"] or old["statusset"] != statusset:
            old.update(record)  # save_log leaves an unchanged row (and its timetaken) alone
    sess.update(lasttaken=t, lasttakenby=ctx.userid, timemodified=t)
    update_grades(st, cm, [s["studentid"] for s in p["statuses"]])
    return {"sessionid": sess["id"], "written": len(p["statuses"])}


# The bulk reads of 1.2 live in their own module; importing it registers them in PLUGIN_REGISTRY.
from . import moodle_fn_ocasync_bulk  # noqa: E402,F401  (needs the names above)
