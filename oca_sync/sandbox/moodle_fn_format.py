"""Emulated course-format functions: core_courseformat_get_state / update_course
(course/format/classes/external, course/format/classes/stateactions.php) and
core_update_inplace_editable (lib/external/externallib.php, format_topics_inplace_editable).
"""

from __future__ import annotations

import re
import time
from typing import Any

from .moodle_functions import (
    MODULE_NAMES,
    Ctx,
    course_context_must_exist,
    php_json,
    section_title,
    ws,
)
from .moodle_params import (
    PARAM_ALPHA,
    PARAM_ALPHANUMEXT,
    PARAM_COMPONENT,
    PARAM_INT,
    PARAM_NOTAGS,
    PARAM_RAW,
    PARAM_TEXT,
    VALUE_DEFAULT,
    VALUE_OPTIONAL,
    CodingException,
    MoodleException,
    Multiple,
    Params,
    Single,
    Value,
    clean_param,
    missing_record,
    php_empty,
    php_int,
    php_str,
)
from .moodle_state import (
    CONTEXT_MODULE,
    MoodleState,
    now,
)

# --------------------------------------------------------------------------- #
# core_courseformat_update_course (course/format/classes/external/update_course.php
# and course/format/classes/stateactions.php)
# --------------------------------------------------------------------------- #


def _stateactions_class(course: dict[str, Any]) -> str:
    if course["format"] == "topics":
        return "format_topics\\courseformat\\stateactions"
    return "core_courseformat\\stateactions"


class _Updates:
    """stateupdates: the list json_encode()d into the answer."""

    def __init__(self, ctx: Ctx, course: dict[str, Any]) -> None:
        self.ctx, self.course = ctx, course
        self.items: list[dict[str, Any]] = []

    def add(self, name: str, action: str, fields: dict[str, Any]) -> None:
        self.items.append({"name": name, "action": action, "fields": fields})

    def course_put(self) -> None:
        st, c = self.ctx.state, self.course
        self.add("course", "put", {
            "id": c["id"], "numsections": st.last_section_number(c["id"]),
            "sectionlist": [s["id"] for s in st.course_sections(c["id"])],
            "editmode": False, "highlighted": "Highlighted",
            "baseurl": f"{self.ctx.siteurl}/course/view.php?id={c['id']}",
            "statekey": f"{c['cacherev']}_{int(time.time())}",
            "maxbytes": 0, "maxbytestext": "Site upload limit",
        })

    def section_put(self, sectionid: int, action: str = "put") -> None:
        st = self.ctx.state
        section = st.sections[sectionid]
        self.add("section", action, {
            "id": section["id"], "section": section["section"], "number": section["section"],
            "title": section_title(self.ctx, section),
            "hassummary": not php_empty(section["summary"]), "rawtitle": section["name"],
            "cmlist": [cmid for cmid in section["sequence"] if st.modules[cmid]["visibleoncoursepage"]],
            "visible": bool(section["visible"]),
            "sectionurl": f"{self.ctx.siteurl}/course/section.php?id={section['id']}",
            "current": self.course["marker"] == section["section"] and section["section"] > 0,
            "indexcollapsed": False, "contentcollapsed": False, "hasrestrictions": False,
            "bulkeditable": section["section"] != 0, "component": section["component"],
            "itemid": section["itemid"], "parentsectionid": None,
        })

    def cm_put(self, cmid: int) -> None:
        st = self.ctx.state
        cm = st.modules[cmid]
        section = st.sections[cm["section"]]
        fields = {
            "id": cm["id"], "anchor": f"module-{cm['id']}", "name": self.ctx.fs(cm["name"]),
            "visible": bool(cm["visible"]), "stealth": bool(cm["visible"] and not cm["visibleoncoursepage"]),
            "sectionid": section["id"], "sectionnumber": section["section"], "uservisible": True,
            "hascmrestrictions": False, "modname": MODULE_NAMES.get(cm["modname"], cm["modname"]),
            "indent": cm["indent"], "groupmode": cm["groupmode"], "module": cm["modname"],
            "plugin": f"mod_{cm['modname']}", "hasdelegatedsection": False,
            "accessvisible": bool(cm["visible"]),
        }
        if cm["modname"] != "label":
            fields["url"] = f"{self.ctx.siteurl}/mod/{cm['modname']}/view.php?id={cm['id']}"
        fields["istrackeduser"] = False
        fields["allowstealth"] = False
        self.add("cm", "put", fields)

    def section_state(self, sectionids: list[int], targetcmid: int | None = None) -> None:
        st = self.ctx.state
        cmids: dict[int, bool] = {}
        if targetcmid:
            cmids[targetcmid] = True
        for sid in dict.fromkeys(sectionids):
            self.section_put(sid)
            for cmid in st.sections[sid]["sequence"]:
                cmids[cmid] = True
        for cmid in cmids:
            self.cm_put(cmid)

    def course_state(self) -> None:
        self.course_put()
        self.section_state([s["id"] for s in self.ctx.state.course_sections(self.course["id"])])


def _validate_sections(st: MoodleState, ids: list[int]) -> None:
    if not ids:
        raise MoodleException("emptysectionids", "core")
    if any(i not in st.sections for i in ids):
        raise MoodleException("unexistingsectionid", "core")


def _validate_cms(st: MoodleState, course: dict[str, Any], ids: list[int]) -> None:
    if not ids:
        raise MoodleException("emptycmids", "core")
    incourse = {m["id"] for m in st.modules.values() if m["course"] == course["id"]}
    if any(i not in incourse for i in ids):
        raise MoodleException("unexistingcmid", "core")


def _section_in_course(st: MoodleState, course: dict[str, Any], sectionid: int) -> dict[str, Any]:
    section = st.sections.get(sectionid)
    if section is None or section["course"] != course["id"]:
        raise MoodleException("sectionnotexist")
    return section


def _set_section_visible(st: MoodleState, section: dict[str, Any], visible: int) -> None:
    """set_section_visible(): hiding a section hides its modules (visibleold kept)."""
    if section["visible"] == visible:
        return
    section["visible"] = visible
    for cmid in section["sequence"]:
        cm = st.modules[cmid]
        if visible:
            cm["visible"] = cm.get("visibleold", 1)
        else:
            cm["visibleold"] = cm["visible"]
            cm["visible"] = 0


def _delete_section(st: MoodleState, section: dict[str, Any], updates: _Updates) -> None:
    for cmid in list(section["sequence"]):
        updates.add("cm", "remove", {"id": cmid})
        st.contexts.pop(st.context_id(CONTEXT_MODULE, cmid) or -1, None)
        del st.modules[cmid]
    courseid, num = section["course"], section["section"]
    del st.sections[section["id"]]
    for other in st.course_sections(courseid):
        if other["section"] > num:
            other["section"] -= 1
    st.update_end_date(courseid)  # \core\event\course_section_deleted -> format_weeks_observer


def _move_cm(st: MoodleState, cm: dict[str, Any], target: dict[str, Any], before: int | None) -> None:
    """moveto_module(): take the module out of its section, insert before ``before``."""
    st.sections[cm["section"]]["sequence"].remove(cm["id"])
    seq = target["sequence"]
    if before is not None and before in seq:
        seq.insert(seq.index(before), cm["id"])
    else:
        seq.append(cm["id"])
    cm["section"] = target["id"]
    if not target["visible"] and cm["visible"]:
        cm["visibleold"], cm["visible"] = cm["visible"], 0


# public/course/format/classes/external/get_state.php core_courseformat\external\get_state::execute()
@ws("core_courseformat_get_state", Params({"courseid": Value(PARAM_INT)}), Value(PARAM_RAW),
    component="core_courseformat")
def courseformat_get_state(ctx: Ctx, p: dict[str, Any]) -> str:
    st = ctx.state
    course_context_must_exist(ctx, p["courseid"])
    course = st.courses[p["courseid"]]
    updates = _Updates(ctx, course)
    updates.course_put()
    for section in st.course_sections(course["id"]):
        updates.section_put(section["id"])
    for cm in st.course_modules(course["id"]):
        if cm["visibleoncoursepage"]:
            updates.cm_put(cm["id"])
    result: dict[str, Any] = {"course": {}, "section": [], "cm": []}
    for item in updates.items:
        if item["name"] == "course":
            result["course"] = item["fields"]
        else:
            result[item["name"]].append(item["fields"])
    return php_json(result)


@ws("core_courseformat_update_course",
    Params({
        "action": Value(PARAM_ALPHANUMEXT),
        "courseid": Value(PARAM_INT),
        "ids": Multiple(Value(PARAM_INT), required=VALUE_DEFAULT, default=[]),
        "targetsectionid": Value(PARAM_INT, required=VALUE_DEFAULT, default=None),
        "targetcmid": Value(PARAM_INT, required=VALUE_DEFAULT, default=None),
    }),
    Value(PARAM_RAW), component="core_courseformat")
def courseformat_update_course(ctx: Ctx, p: dict[str, Any]) -> str:
    st = ctx.state
    course_context_must_exist(ctx, p["courseid"])
    course = st.courses[p["courseid"]]
    action, ids = p["action"], p["ids"]
    target_sid, target_cmid = p["targetsectionid"], p["targetcmid"]
    actions = {
        "cm_move", "section_move", "section_move_after", "section_add", "section_delete",
        "section_duplicate", "section_hide", "section_show", "cm_show", "cm_hide", "cm_stealth",
        "cm_duplicate", "cm_delete", "cm_moveright", "cm_moveleft", "cm_nogroups",
        "cm_visiblegroups", "cm_separategroups", "section_content_collapsed",
        "section_content_expanded", "section_index_collapsed", "section_index_expanded",
        "cm_state", "section_state", "course_state", "create_module", "new_module",
    }
    if course["format"] == "topics":
        actions |= {"section_highlight", "section_unhighlight"}
    if action not in actions:
        cls = _stateactions_class(course)
        raise MoodleException(f"Invalid course state action {action} in {cls}")
    updates = _Updates(ctx, course)
    # course/format/classes/stateactions.php, one branch per action.
    if action in ("section_hide", "section_show"):
        _validate_sections(st, ids)
        for sid in ids:
            _set_section_visible(st, _section_in_course(st, course, sid), 1 if action == "section_show" else 0)
        updates.section_state(ids)
    elif action == "section_add":
        if target_sid:
            _validate_sections(st, [target_sid])
            target = _section_in_course(st, course, target_sid)
            st.add_section(course["id"], target["section"] + 1)
        else:
            st.add_section(course["id"])
        updates.course_state()
    elif action == "section_delete":
        for sid in ids:
            section = _section_in_course(st, course, sid)
            if section["section"] == 0:
                continue  # course_can_delete_section(): never the general section
            _delete_section(st, section, updates)
            updates.add("section", "remove", {"id": sid})
        updates.course_state()
    elif action == "section_move_after":
        if not target_sid:
            raise MoodleException("Action section_move_after requires targetsectionid")
        _validate_sections(st, ids)
        _validate_sections(st, [target_sid])
        for sid in sorted(ids, key=lambda i: st.sections[i]["section"], reverse=True):
            section = _section_in_course(st, course, sid)
            target = _section_in_course(st, course, target_sid)
            ordered = [s for s in st.course_sections(course["id"]) if s["id"] != sid]
            pos = next(i for i, s in enumerate(ordered) if s["id"] == target["id"]) + 1
            ordered.insert(pos, section)
            for num, s in enumerate(ordered):
                s["section"] = num
        updates.section_state(ids, None)
        if target_sid not in ids:
            updates.section_put(target_sid)
        for s in st.course_sections(course["id"]):
            if s["id"] not in ids and s["id"] != target_sid:
                updates.section_put(s["id"])
        updates.course_put()
    elif action == "cm_move":
        if not target_sid and not target_cmid:
            raise MoodleException("Action cm_move requires targetsectionid or targetcmid")
        _validate_cms(st, course, ids)
        order = [m["id"] for m in st.course_modules(course["id"])]
        ids_sorted = sorted(ids, key=lambda i: order.index(i), reverse=True)
        if target_cmid:
            _validate_cms(st, course, [target_cmid])
            target_sid = st.modules[target_cmid]["section"]
        else:
            _validate_sections(st, [target_sid])
        original: dict[int, bool] = {}
        before = target_cmid
        for cmid in ids_sorted:
            cm = st.modules[cmid]
            current = cm["section"]
            target = _section_in_course(st, course, target_sid)
            if before is None or before != cmid:
                _move_cm(st, cm, target, before)
            before = cm["id"]
            updates.cm_put(cmid)
            if current != target_sid:
                original[current] = True
            original.pop(target_sid, None)
        # cm_state(): the moved cms and their sections
        cmids = dict.fromkeys(ids)
        if target_cmid:
            cmids[target_cmid] = None
        secs = {target_sid: True}
        for cmid in cmids:
            updates.cm_put(cmid)
            secs[st.modules[cmid]["section"]] = True
        for sid in secs:
            updates.section_put(sid)
        for sid in original:
            updates.section_put(sid)
    elif action in ("cm_show", "cm_hide", "cm_stealth"):
        _validate_cms(st, course, ids)
        for cmid in ids:
            cm = st.modules[cmid]
            cm["visible"] = 0 if action == "cm_hide" else 1
            cm["visibleoncoursepage"] = 0 if action == "cm_stealth" else 1
        for cmid in ids:
            updates.cm_put(cmid)
        for sid in dict.fromkeys(st.modules[c]["section"] for c in ids):
            updates.section_put(sid)
    elif action == "cm_delete":
        _validate_cms(st, course, ids)
        touched: set[int] = set()
        for cmid in ids:
            cm = st.modules.pop(cmid)
            st.sections[cm["section"]]["sequence"].remove(cmid)
            touched.add(cm["section"])
            updates.add("cm", "remove", {"id": cmid})
        for sid in touched:
            updates.section_put(sid)
    elif action in ("section_highlight", "section_unhighlight"):
        _validate_sections(st, ids or ([target_sid] if target_sid else []))
        old = course["marker"]
        sid = (ids or [target_sid])[0]
        course["marker"] = st.sections[sid]["section"] if action == "section_highlight" else 0
        affected = [sid] + [s["id"] for s in st.course_sections(course["id"]) if s["section"] == old]
        updates.section_state(list(dict.fromkeys(affected)))
    elif action == "course_state":
        updates.course_state()
    elif action == "section_state":
        _validate_sections(st, ids + ([target_sid] if target_sid else []))
        updates.section_state(ids + ([target_sid] if target_sid else []), target_cmid)
    elif action == "cm_state":
        _validate_cms(st, course, ids + ([target_cmid] if target_cmid else []))
        secs = {target_sid: True} if target_sid else {}
        for cmid in dict.fromkeys(ids + ([target_cmid] if target_cmid else [])):
            updates.cm_put(cmid)
            secs[st.modules[cmid]["section"]] = True
        for sid in secs:
            updates.section_put(sid)
    elif action == "section_move":
        raise CodingException(
            "core_courseformat\\stateactions::section_move() has been deprecated since 4.4 and "
            "can no longer be used. Use stateactions::section_move_after instead.")
    else:
        raise MoodleException("sandboxnotimplemented", "local_ocasync_sandbox", None,
                              f"The sandbox does not emulate the state action {action}")
    return php_json(updates.items)


# --------------------------------------------------------------------------- #
# core_update_inplace_editable (lib/external/externallib.php, format_topics_inplace_editable
# in course/format/topics/lib.php, core_courseformat\base::inplace_editable_update_section_name,
# core_course_inplace_editable in course/lib.php)
# --------------------------------------------------------------------------- #

INPLACE_RETURNS = Single({
    "displayvalue": Value(PARAM_RAW),
    "component": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL),
    "itemtype": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL),
    "value": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "itemid": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "edithint": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL),
    "editlabel": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "editicon": Single({"key": Value(PARAM_RAW, required=VALUE_OPTIONAL),
                        "component": Value(PARAM_COMPONENT, required=VALUE_OPTIONAL),
                        "title": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL)},
                       required=VALUE_OPTIONAL),
    "type": Value(PARAM_ALPHA, required=VALUE_OPTIONAL),
    "options": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "linkeverything": Value(PARAM_INT, required=VALUE_OPTIONAL),
})


@ws("core_update_inplace_editable",
    Params({"component": Value(PARAM_COMPONENT), "itemtype": Value(PARAM_NOTAGS),
            "itemid": Value(PARAM_RAW), "value": Value(PARAM_RAW)}),
    INPLACE_RETURNS, component="core")
def update_inplace_editable(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    component, itemtype, itemid, value = p["component"], p["itemtype"], p["itemid"], p["value"]
    formats = {"format_topics": "topics", "format_weeks": "weeks"}
    if component in formats:
        if itemtype not in ("sectionname", "sectionnamenl"):
            raise MoodleException("inplaceeditableerror")
        section = st.sections.get(php_int(itemid)) if re.fullmatch(r"\s*\d+\s*", str(itemid)) else None
        if section is None or st.courses[section["course"]]["format"] != formats[component]:
            # get_record_sql(..., MUST_EXIST): no table name, so always 'invalidrecordunknown'
            raise missing_record("", {"id": itemid})
        newtitle = clean_param(value, PARAM_TEXT)
        if php_str(section["name"]) != php_str(newtitle):
            section["name"] = newtitle
            section["timemodified"] = now()
            st.courses[section["course"]]["cacherev"] += 1
        title = section_title(ctx, section)
        if itemtype == "sectionname":
            display = f'<a href="{ctx.siteurl}/course/section.php?id={section["id"]}">{title}</a>'
        else:
            display = title
        return _inplace(component, itemtype, str(section["id"]), display, section["name"],
                        "Edit section name", f"New name for section {title}")
    if component == "core_course" and itemtype == "activityname":
        cmid = php_int(itemid)
        cm = st.modules.get(cmid)
        if cm is None:
            raise missing_record("course_modules", {"id": cmid})
        name = clean_param(value.strip(), PARAM_TEXT)
        if name and len(name) > 1333:
            raise MoodleException("maximumchars", "moodle", 1333)
        if name and name != cm["name"]:
            cm["name"] = name
        return _inplace("core_course", "activityname", cmid, cm["name"], cm["name"],
                        "Edit title", f"New name for activity {ctx.core_fs(cm['name'])}")
    raise MoodleException("inplaceeditableerror")


def _inplace(component: str, itemtype: str, itemid: Any, display: str, value: Any,
             edithint: str, editlabel: str) -> dict[str, Any]:
    """core\\output\\inplace_editable::export_for_template() for an editable element."""
    return {
        "component": component, "itemtype": itemtype, "itemid": itemid,
        "displayvalue": display, "value": php_str(value), "edithint": edithint,
        "editlabel": editlabel,
        "editicon": {"key": "t/editstring", "component": "core", "title": edithint},
        "type": "text", "options": "",
        "linkeverything": 0 if re.search(r"<a .*>.*</a>", display) else 1,
    }
