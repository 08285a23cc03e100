"""Emulated read functions the report collects outcomes with: mod_feedback's items and
responses (public/mod/feedback/classes/external.php, classes/responses_table.php,
item/*/lib.php), and the sandbox-side data they read (``feedback_value``).

mod_attendance's functions (get_session(s), update_user_status) live in
:mod:`.moodle_fn_attendance`.
"""

from __future__ import annotations

from typing import Any

from .moodle_functions import WARNINGS, Ctx, WsFunction, fullname
from .moodle_params import (
    PARAM_INT,
    PARAM_RAW,
    PARAM_TEXT,
    VALUE_DEFAULT,
    MoodleException,
    Multiple,
    Params,
    Single,
    Value,
    missing_record,
)
from .moodle_state import MoodleState

#: mod_feedback: FEEDBACK_ANONYMOUS_YES / _NO (mod/feedback/lib.php)
ANONYMOUS_YES, ANONYMOUS_NO = 1, 2

REPORT_REGISTRY: dict[str, WsFunction] = {}


def _ws(registry: dict[str, WsFunction], name: str, params: Single, returns: Single | Multiple,
        component: str) -> Any:
    def register(fn: Any) -> Any:
        registry[name] = WsFunction(name, params, returns, fn, False, component)
        return fn
    return register


# --------------------------------------------------------------------------- #
# mod_feedback
# --------------------------------------------------------------------------- #


def _feedback_cm(st: MoodleState, feedbackid: int) -> dict[str, Any]:
    """validate_feedback(): $DB->get_record('feedback', ..., MUST_EXIST) and its course module."""
    for cm in st.modules.values():
        if cm["modname"] == "feedback" and cm["instance"] == feedbackid:
            return cm
    raise missing_record("feedback", {"id": feedbackid})


def _items(st: MoodleState, feedbackid: int, hasvalue_only: bool) -> list[dict[str, Any]]:
    """mod_feedback_structure::get_items($hasvalueonly): by position."""
    items = [i for i in st.feedback_items.values() if i["feedback"] == feedbackid
             and (not hasvalue_only or i["hasvalue"])]
    return sorted(items, key=lambda i: (i["position"], i["id"]))


ITEM = Single({
    "id": Value(PARAM_INT), "feedback": Value(PARAM_INT), "template": Value(PARAM_INT),
    "name": Value(PARAM_RAW), "label": Value(PARAM_RAW), "presentation": Value(PARAM_RAW),
    "typ": Value(PARAM_TEXT), "hasvalue": Value(PARAM_INT), "position": Value(PARAM_INT),
    "required": Value(PARAM_INT), "dependitem": Value(PARAM_INT), "dependvalue": Value(PARAM_RAW),
    "options": Value(PARAM_RAW),
    "itemfiles": Multiple(Single({"filename": Value(PARAM_TEXT)}), required=VALUE_DEFAULT, default=[]),
    "itemnumber": Value(PARAM_INT, required=VALUE_DEFAULT, default=None),
    "otherdata": Value(PARAM_RAW, required=VALUE_DEFAULT, default=None),
})


# mod_feedback_external::get_items(): every item (labels too), as feedback_item_exporter exports them;
# itemnumber counts the items that take an answer (mod_feedback_structure::get_items adds itemnr).
@_ws(REPORT_REGISTRY, "mod_feedback_get_items",
     Params({"feedbackid": Value(PARAM_INT), "courseid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0)}),
     Single({"items": Multiple(ITEM), "warnings": WARNINGS}), "mod_feedback")
def get_items(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    _feedback_cm(st, p["feedbackid"])
    out = []
    number = 0
    for i in _items(st, p["feedbackid"], hasvalue_only=False):
        if i["hasvalue"]:
            number += 1
        out.append({**{k: i[k] for k in ("id", "feedback", "template", "name", "label", "presentation", "typ",
                                         "hasvalue", "position", "required", "dependitem", "dependvalue",
                                         "options")},
                    "itemfiles": [], "itemnumber": number if i["hasvalue"] else None, "otherdata": None})
    return {"items": out, "warnings": []}


def printval(item: dict[str, Any], value: str | None) -> str:
    """feedback_item_*::get_printval(): the answer as a person reads it."""
    if value is None:
        return ""
    if item["typ"] in ("multichoice", "multichoicerated"):
        body = item["presentation"].split(">>>>>", 1)[-1].split("<<<<<", 1)[0]
        options = [o.split("####", 1)[-1] for o in body.split("|")]
        chosen = [options[int(v) - 1] for v in value.split("|") if v.isdigit() and 0 < int(v) <= len(options)]
        return "\n".join(c.strip() for c in chosen)
    return value.strip()


RESPONSE = Multiple(Single({
    "id": Value(PARAM_INT), "name": Value(PARAM_RAW), "printval": Value(PARAM_RAW), "rawval": Value(PARAM_RAW),
}))


# mod_feedback_external::get_responses_analysis() with mod_feedback_responses_table and
# mod_feedback_responses_anon_table::export_external_structure(): one row per completed
# response; per row one entry per item that takes a value ("id" is the item id, rawval is
# feedback_value.value or null). perpage 0 returns every response on one page.
@_ws(REPORT_REGISTRY, "mod_feedback_get_responses_analysis",
     Params({"feedbackid": Value(PARAM_INT),
             "groupid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
             "page": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
             "perpage": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
             "courseid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0)}),
     Single({
         "attempts": Multiple(Single({
             "id": Value(PARAM_INT), "courseid": Value(PARAM_INT), "userid": Value(PARAM_INT),
             "timemodified": Value(PARAM_INT), "fullname": Value(PARAM_TEXT), "responses": RESPONSE,
         })),
         "totalattempts": Value(PARAM_INT),
         "anonattempts": Multiple(Single({
             "id": Value(PARAM_INT), "courseid": Value(PARAM_INT), "number": Value(PARAM_INT),
             "responses": RESPONSE,
         })),
         "totalanonattempts": Value(PARAM_INT),
         "warnings": WARNINGS,
     }), "mod_feedback")
def get_responses_analysis(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    cm = _feedback_cm(st, p["feedbackid"])
    groupid = p["groupid"]
    if groupid and not any(g["id"] == groupid and g["courseid"] == cm["course"] for g in st.groups.values()):
        raise MoodleException("notingroup")  # groups_group_visible()
    items = _items(st, p["feedbackid"], hasvalue_only=True)
    values: dict[tuple[int, int], str] = {
        (v["completed"], v["item"]): v["value"] for v in st.feedback_values.values()}

    def responses(completed: dict[str, Any]) -> list[dict[str, Any]]:
        return [{"id": i["id"], "name": i["name"], "printval": printval(i, values.get((completed["id"], i["id"]))),
                 "rawval": values.get((completed["id"], i["id"]))} for i in items]

    def rows(anonymous: int) -> list[dict[str, Any]]:
        found = [c for c in st.feedback_completed.values()
                 if c["feedback"] == p["feedbackid"] and c["anonymous_response"] == anonymous
                 and (not groupid or st.is_group_member(groupid, c["userid"]))]
        if anonymous == ANONYMOUS_NO:  # the named table sorts by last name (sortable(true, 'lastname'))
            found = [c for c in found if c["userid"] in st.users and not st.users[c["userid"]].get("deleted")]
            found.sort(key=lambda c: (st.users[c["userid"]]["lastname"], c["id"]))
        else:  # the anonymous table by response number (shuffled once, then stable)
            found.sort(key=lambda c: c.get("random_response") or c["id"])
        return found

    def page(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
        if p["perpage"] > 0:
            return found[p["page"] * p["perpage"]:(p["page"] + 1) * p["perpage"]]
        return found

    named, anon = rows(ANONYMOUS_NO), rows(ANONYMOUS_YES)
    return {
        "attempts": [{"id": c["id"], "courseid": c["courseid"], "userid": c["userid"],
                      "timemodified": c["timemodified"], "fullname": fullname(st.users[c["userid"]]),
                      "responses": responses(c)} for c in page(named)],
        "totalattempts": len(named),
        "anonattempts": [{"id": c["id"], "courseid": c["courseid"], "number": n,
                          "responses": responses(c)} for n, c in enumerate(page(anon), start=1)],
        "totalanonattempts": len(anon),
        "warnings": [],
    }
