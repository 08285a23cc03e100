"""Emulated course and category functions (course/externallib.php, course/lib.php,
course/classes/category.php).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from .moodle_fn_forum import add_course_forum
from .moodle_functions import (
    MODULE_PLURALS,
    WARNINGS,
    Ctx,
    PhpError,
    course_context_must_exist,
    fullname,
    section_title,
    usermidnight,
    validate_context,
    warning_from,
    ws,
)
from .moodle_params import (
    PARAM_ALPHA,
    PARAM_ALPHANUM,
    PARAM_ALPHANUMEXT,
    PARAM_BOOL,
    PARAM_COMPONENT,
    PARAM_INT,
    PARAM_LANG,
    PARAM_NOTAGS,
    PARAM_PLUGIN,
    PARAM_RAW,
    PARAM_SAFEDIR,
    PARAM_SEQUENCE,
    PARAM_TEXT,
    PARAM_THEME,
    PARAM_URL,
    VALUE_DEFAULT,
    VALUE_OPTIONAL,
    Format,
    InvalidParameterException,
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
    validate_format,
)
from .moodle_state import (
    check_columns,
    CONTEXT_COURSECAT,
    CONTEXT_MODULE,
    SITEID,
    WEEKS_AUTOMATICENDDATE_DEFAULT,
    MoodleState,
    create_course_record,
    now,
)

# --------------------------------------------------------------------------- #
# Categories
# --------------------------------------------------------------------------- #

CATEGORY_RETURNS = Multiple(Single({
    "id": Value(PARAM_INT), "name": Value(PARAM_RAW),
    "idnumber": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "description": Value(PARAM_RAW), "descriptionformat": Format("description"),
    "parent": Value(PARAM_INT), "sortorder": Value(PARAM_INT), "coursecount": Value(PARAM_INT),
    "visible": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "visibleold": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "timemodified": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "depth": Value(PARAM_INT), "path": Value(PARAM_TEXT),
    "theme": Value(PARAM_THEME, required=VALUE_OPTIONAL),
}))


def _column_in(column: str, values: set[Any]) -> Callable[[dict[str, Any]], bool]:
    """A ``column IN (values)`` condition on a category row (NULL never matches)."""
    def match(row: dict[str, Any]) -> bool:
        value = row[column] if column != "theme" else (row[column] or "")
        return value is not None and value in values
    return match


# public/course/externallib.php core_course_external::get_categories()
@ws("core_course_get_categories",
    Params({
        "criteria": Multiple(Single({"key": Value(PARAM_ALPHA), "value": Value(PARAM_RAW)}),
                             required=VALUE_DEFAULT, default=[]),
        "addsubcategories": Value(PARAM_BOOL, required=VALUE_DEFAULT, default=1),
    }),
    CATEGORY_RETURNS, component="core_course")
def get_categories(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    cats = list(st.categories.values())
    if p["criteria"]:
        conditions: dict[str, Any] = {}
        preds: list[Callable[[dict[str, Any]], bool]] = []
        for crit in p["criteria"]:
            key = crit["key"].strip()
            if key in conditions:
                continue  # duplicate keys are ignored
            if key == "ids":
                ids = {php_int(x) for x in clean_param(crit["value"], PARAM_SEQUENCE).split(",")}
                preds.append(_column_in("id", ids))
                continue
            cleaning = {"id": PARAM_INT, "idnumber": PARAM_RAW, "name": PARAM_TEXT, "parent": PARAM_INT,
                        "visible": PARAM_INT, "theme": PARAM_THEME}
            if key not in cleaning:
                raise MoodleException("criteriaerror", "webservice", None,
                                      f"You can not search on this criteria: {key}")
            conditions[key] = clean_param(crit["value"], cleaning[key])
            preds.append(_column_in(key, {conditions[key]}))
        found = {c["id"]: c for c in cats if all(pr(c) for pr in preds)}
        if found and p["addsubcategories"]:
            extra: dict[int, dict[str, Any]] = {}
            for cat in list(found.values()):
                for sub in cats:
                    if not sub["path"].startswith(cat["path"] + "/"):
                        continue
                    if "visible" in conditions and sub["visible"] != conditions["visible"]:
                        continue
                    if "theme" in conditions and (sub["theme"] or "") != conditions["theme"]:
                        continue
                    extra.setdefault(sub["id"], sub)
            for cid, sub in extra.items():
                found.setdefault(cid, sub)
        cats = list(found.values())
    cats.sort(key=lambda c: c["path"])
    out = []
    for cat in cats:
        desc, descfmt = ctx.ft(cat["description"], cat["descriptionformat"])
        out.append({
            "id": cat["id"], "name": ctx.fs(cat["name"]), "description": desc,
            "descriptionformat": descfmt, "parent": cat["parent"], "sortorder": cat["sortorder"],
            "coursecount": cat["coursecount"], "depth": cat["depth"], "path": cat["path"],
            "idnumber": cat["idnumber"], "visible": cat["visible"], "visibleold": cat["visibleold"],
            "timemodified": cat["timemodified"], "theme": clean_param(cat["theme"], PARAM_THEME),
        })
    # Moodle sorts with strcmp() on the sortorder: a string comparison.
    out.sort(key=lambda c: str(c["sortorder"]))
    return out


def _category_create_checks(st: MoodleState, name: Any, idnumber: Any, exclude: int | None) -> None:
    if idnumber is not None:
        if len(str(idnumber)) > 100:
            raise MoodleException("idnumbertoolong")
        if str(idnumber) != "" and any(
                c["idnumber"] == idnumber and c["id"] != exclude for c in st.categories.values()):
            raise MoodleException("categoryidnumbertaken")


# public/course/externallib.php core_course_external::create_categories()
# and public/course/classes/category.php core_course_category::create()
@ws("core_course_create_categories",
    Params({"categories": Multiple(Single({
        "name": Value(PARAM_TEXT),
        "parent": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
        "idnumber": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "description": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "descriptionformat": Format("description", VALUE_DEFAULT),
        "theme": Value(PARAM_THEME, required=VALUE_OPTIONAL),
    }))}),
    Multiple(Single({"id": Value(PARAM_INT), "name": Value(PARAM_RAW)})),
    transaction=True, component="core_course")
def create_categories(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    created = []
    for cat in p["categories"]:
        if cat["parent"] and cat["parent"] not in st.categories:
            raise MoodleException("unknowcategory")
        validate_format(cat["descriptionformat"])
        if php_empty(cat["name"]):
            raise MoodleException("categorynamerequired")
        if len(cat["name"]) > 255:
            raise MoodleException("categorytoolong")
        _category_create_checks(st, cat["name"], cat.get("idnumber"), None)
        new = st.add_category(  # type: ignore[attr-defined]
            name=cat["name"], parent=cat["parent"], idnumber=cat.get("idnumber"),
            description=cat.get("description", ""), descriptionformat=cat["descriptionformat"])
        created.append({"id": new["id"], "name": ctx.fs(new["name"])})
    return created


def _recompute_paths(st: MoodleState, catid: int) -> None:
    cat = st.categories[catid]
    if cat["parent"]:
        parent = st.categories[cat["parent"]]
        cat["path"], cat["depth"] = f"{parent['path']}/{catid}", parent["depth"] + 1
    else:
        cat["path"], cat["depth"] = f"/{catid}", 1
    for child in [c for c in st.categories.values() if c["parent"] == catid]:
        _recompute_paths(st, child["id"])


# public/course/externallib.php core_course_external::update_categories()
# and public/course/classes/category.php core_course_category::update()
@ws("core_course_update_categories",
    Params({"categories": Multiple(Single({
        "id": Value(PARAM_INT),
        "name": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
        "idnumber": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "parent": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "description": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "descriptionformat": Format("description", VALUE_DEFAULT),
        "theme": Value(PARAM_THEME, required=VALUE_OPTIONAL),
    }))}),
    None, transaction=True, component="core_course")
def update_categories(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for data in p["categories"]:
        cat = st.categories.get(data["id"])
        if cat is None or data["id"] == 0:
            raise MoodleException("unknowncategory", "", data["id"])
        validate_format(data["descriptionformat"])
        # Every description* key is copied, so descriptionformat (default 1) always is.
        for key in ("description", "descriptionformat"):
            if key in data:
                cat[key] = data[key]
        if "name" in data and php_empty(data["name"]):
            raise MoodleException("categorynamerequired")
        if not php_empty(data.get("name")) and data["name"] != cat["name"]:
            if len(data["name"]) > 255:
                raise MoodleException("categorytoolong")
            cat["name"] = data["name"]
        if data.get("idnumber") is not None and data["idnumber"] != cat["idnumber"]:
            _category_create_checks(st, None, data["idnumber"], cat["id"])
            cat["idnumber"] = data["idnumber"]
        if data.get("parent") is not None and data["parent"] != cat["parent"]:
            newparent = data["parent"]
            if newparent:
                if newparent not in st.categories:
                    raise MoodleException("unknowncategory", "", newparent)
                parents = [int(x) for x in st.categories[newparent]["path"].strip("/").split("/")]
                if newparent == cat["id"] or cat["id"] in parents:
                    raise MoodleException("cannotmovecategory")
            cat["parent"] = newparent
            cat["_pos"] = max(c["_pos"] for c in st.categories.values()) + 1  # last in new parent
            _recompute_paths(st, cat["id"])
            st.fix_sortorder()
        cat["timemodified"] = now()


# --------------------------------------------------------------------------- #
# Courses
# --------------------------------------------------------------------------- #

COURSE_FORMAT_OPTIONS = Multiple(Single({"name": Value(PARAM_ALPHANUMEXT), "value": Value(PARAM_RAW)}),
                                 required=VALUE_OPTIONAL)
CUSTOMFIELDS_IN = Multiple(Single({"shortname": Value(PARAM_ALPHANUMEXT), "value": Value(PARAM_RAW)}),
                           required=VALUE_OPTIONAL)

EXTERNAL_FILES = Multiple(Single({
    "filename": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "filepath": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "filesize": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "fileurl": Value(PARAM_URL, required=VALUE_OPTIONAL),
    "timemodified": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "mimetype": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "isexternalfile": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
    "repositorytype": Value(PARAM_PLUGIN, required=VALUE_OPTIONAL),
    "icon": Value(PARAM_RAW, required=VALUE_OPTIONAL),
}))

COURSE_STRUCTURE = Single({
    "id": Value(PARAM_INT), "fullname": Value(PARAM_RAW), "displayname": Value(PARAM_RAW),
    "shortname": Value(PARAM_RAW), "courseimage": Value(PARAM_URL, required=VALUE_OPTIONAL),
    "categoryid": Value(PARAM_INT), "categoryname": Value(PARAM_RAW),
    "sortorder": Value(PARAM_INT, required=VALUE_OPTIONAL), "summary": Value(PARAM_RAW),
    "summaryformat": Format("summary"),
    "summaryfiles": Multiple(EXTERNAL_FILES.content, required=VALUE_OPTIONAL),
    "overviewfiles": EXTERNAL_FILES,
    "showactivitydates": Value(PARAM_BOOL), "showcompletionconditions": Value(PARAM_BOOL),
    "contacts": Multiple(Single({"id": Value(PARAM_INT), "fullname": Value(PARAM_NOTAGS)})),
    "enrollmentmethods": Multiple(Value(PARAM_PLUGIN)),
    "customfields": Multiple(Single({
        "name": Value(PARAM_RAW), "shortname": Value(PARAM_RAW), "type": Value(PARAM_ALPHANUMEXT),
        "valueraw": Value(PARAM_RAW), "value": Value(PARAM_RAW)}), required=VALUE_OPTIONAL),
    "idnumber": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "format": Value(PARAM_PLUGIN, required=VALUE_OPTIONAL),
    "showgrades": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "newsitems": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "startdate": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "enddate": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "maxbytes": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "showreports": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "visible": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "groupmode": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "groupmodeforce": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "defaultgroupingid": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "enablecompletion": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "completionnotify": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "lang": Value(PARAM_SAFEDIR, required=VALUE_OPTIONAL),
    "theme": Value(PARAM_PLUGIN, required=VALUE_OPTIONAL),
    "marker": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "legacyfiles": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "calendartype": Value(PARAM_PLUGIN, required=VALUE_OPTIONAL),
    "timecreated": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "timemodified": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "requested": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "cacherev": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "filters": Multiple(Single({"filter": Value(PARAM_PLUGIN), "localstate": Value(PARAM_INT),
                                "inheritedstate": Value(PARAM_INT)}), required=VALUE_OPTIONAL),
    "courseformatoptions": Multiple(Single({"name": Value(PARAM_RAW), "value": Value(PARAM_RAW)}),
                                    required=VALUE_OPTIONAL),
    "communicationroomname": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "communicationroomurl": Value(PARAM_RAW, required=VALUE_OPTIONAL),
})


#: course_format_options() of format_topics and format_weeks (course/format/*/lib.php): name -> (type, default).
FORMAT_OPTIONS: dict[str, dict[str, tuple[str, Any]]] = {
    "topics": {"hiddensections": (PARAM_INT, 1), "coursedisplay": (PARAM_INT, 0)},
    "weeks": {"hiddensections": (PARAM_INT, 1), "coursedisplay": (PARAM_INT, 0),
              "automaticenddate": (PARAM_BOOL, int(WEEKS_AUTOMATICENDDATE_DEFAULT))},
}


def _format_options_for_external(course: dict[str, Any]) -> list[dict[str, Any]]:
    """course_get_format($course)->get_config_for_external().

    get_format_options() cleans stored values by the option's type
    (course/format/lib.php contract_value()), so PARAM_INT and PARAM_BOOL options
    come back as numbers; both formats add their ``indentation`` setting (a string).
    """
    if course["format"] == "site":
        return []
    declared = FORMAT_OPTIONS.get(course["format"])
    if declared is None:
        return [{"name": k, "value": v} for k, v in course["format_options"].items()]
    stored = course["format_options"]
    opts: dict[str, Any] = {name: clean_param(stored[name], ptype) if name in stored else default
                            for name, (ptype, default) in declared.items()}
    opts["indentation"] = "1"
    return [{"name": k, "value": v} for k, v in opts.items()]


def _course_contacts(ctx: Ctx, course: dict[str, Any]) -> list[dict[str, Any]]:
    """Course contacts: users with the coursecontact role (editingteacher)."""
    st = ctx.state
    cctx = st.course_context(course["id"])
    out = []
    for uid in sorted({ra["userid"] for ra in st.role_assignments.values()
                       if ra["contextid"] == cctx and ra["roleid"] == 3}):
        if st.is_enrolled(course["id"], uid, onlyactive=True):
            out.append({"id": uid, "fullname": fullname(st.users[uid])})
    return out


def _available_filters(ctx: Ctx) -> list[dict[str, Any]]:
    names = ["activitynames", "displayh5p", "emoticon", "mathjaxloader", "mediaplugin"]
    if ctx.filters.multilang_enabled:
        names.append("multilang")
    return [{"filter": n, "localstate": 0, "inheritedstate": 1} for n in sorted(names)]


def _course_public_info(ctx: Ctx, course: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    cat = st.categories.get(course["category"])
    summary, summaryformat = ctx.ft(course["summary"], course["summaryformat"])
    return {
        "id": course["id"],
        "fullname": ctx.fs(course["fullname"]),
        "displayname": ctx.fs(course["fullname"]),
        "shortname": ctx.fs(course["shortname"]),
        "categoryid": course["category"],
        "categoryname": ctx.fs(cat["name"]) if cat else "",
        "summary": summary,
        "summaryformat": summaryformat,
        "summaryfiles": [],
        "overviewfiles": [],
        "contacts": _course_contacts(ctx, course),
        "enrollmentmethods": [e["enrol"] for e in st.course_enrol_instances(course["id"], True)],
        "sortorder": course["sortorder"],
        "showactivitydates": course["showactivitydates"],
        "showcompletionconditions": course["showcompletionconditions"],
    }


# public/course/externallib.php core_course_external::get_courses_by_field()
@ws("core_course_get_courses_by_field",
    Params({"field": Value(PARAM_ALPHA, required=VALUE_DEFAULT, default=""),
            "value": Value(PARAM_RAW, required=VALUE_DEFAULT, default="")}),
    Single({"courses": Multiple(COURSE_STRUCTURE), "warnings": WARNINGS}),
    component="core_course")
def get_courses_by_field(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    field_, raw = p["field"], p["value"]
    warnings: list[dict[str, Any]] = []
    if php_empty(field_):
        courses = [st.courses[i] for i in sorted(st.courses)]
    else:
        if field_ in ("id", "category", "sectionid"):
            value: Any = clean_param(raw, PARAM_INT)
        elif field_ == "ids":
            value = clean_param(raw, PARAM_SEQUENCE)
        elif field_ == "shortname":
            value = clean_param(raw, PARAM_TEXT)
        elif field_ == "idnumber":
            value = clean_param(raw, PARAM_RAW)
        else:
            raise InvalidParameterException("Invalid field name")
        if field_ == "ids":
            courses = []
            seen: set[int] = set()
            for cid in (php_int(x) for x in value.split(",")):
                if cid in seen:
                    continue
                seen.add(cid)
                if cid not in st.courses:
                    # util::validate_courses(..., keepfails=true) assigns a property on
                    # the missing course (null): PHP 8 throws an Error, not a warning.
                    raise PhpError('Attempt to assign property "contextvalidated" on null')
                courses.append(st.courses[cid])
        elif field_ == "sectionid":
            sec = st.sections.get(value)
            courses = [st.courses[sec["course"]]] if sec else []
        else:
            column = {"id": "id", "category": "category", "shortname": "shortname",
                      "idnumber": "idnumber"}[field_]
            courses = [st.courses[i] for i in sorted(st.courses)
                       if php_str(st.courses[i][column]) == php_str(value)]
    out = []
    for course in courses:
        info = _course_public_info(ctx, course)
        for key in ("format", "showgrades", "newsitems", "startdate", "enddate", "maxbytes",
                    "showreports", "visible", "groupmode", "groupmodeforce", "defaultgroupingid",
                    "enablecompletion", "completionnotify", "lang", "theme", "marker", "idnumber",
                    "legacyfiles", "calendartype", "timecreated", "timemodified", "requested",
                    "cacherev"):
            info[key] = course[key]
        info["filters"] = _available_filters(ctx)
        info["theme"] = clean_param(info["theme"], PARAM_THEME)
        info["lang"] = clean_param(info["lang"], PARAM_LANG)
        options = _format_options_for_external(course)
        if options:
            info["courseformatoptions"] = options
        out.append(info)
    return {"courses": out, "warnings": warnings}


def _course_fields_in() -> dict[str, Any]:
    return {
        "fullname": Value(PARAM_TEXT), "shortname": Value(PARAM_TEXT), "categoryid": Value(PARAM_INT),
        "idnumber": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "summary": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "summaryformat": Format("summary", VALUE_DEFAULT),
    }


def _create_courses_params(settings: Any = None) -> Single:
    from .moodle_state import SiteSettings
    s = settings or SiteSettings()
    return Params({"courses": Multiple(Single({
        **_course_fields_in(),
        "format": Value(PARAM_PLUGIN, required=VALUE_DEFAULT, default=s.course_format),
        "showgrades": Value(PARAM_INT, required=VALUE_DEFAULT, default=s.course_showgrades),
        "newsitems": Value(PARAM_INT, required=VALUE_DEFAULT, default=s.course_newsitems),
        "startdate": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "enddate": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "numsections": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "maxbytes": Value(PARAM_INT, required=VALUE_DEFAULT, default=s.course_maxbytes),
        "showreports": Value(PARAM_INT, required=VALUE_DEFAULT, default=s.course_showreports),
        "visible": Value(PARAM_INT, required=VALUE_DEFAULT, default=s.course_visible),
        "hiddensections": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "groupmode": Value(PARAM_INT, required=VALUE_DEFAULT, default=s.course_groupmode),
        "groupmodeforce": Value(PARAM_INT, required=VALUE_DEFAULT, default=s.course_groupmodeforce),
        "defaultgroupingid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
        "enablecompletion": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "completionnotify": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "lang": Value(PARAM_SAFEDIR, required=VALUE_OPTIONAL),
        "forcetheme": Value(PARAM_PLUGIN, required=VALUE_OPTIONAL),
        "courseformatoptions": COURSE_FORMAT_OPTIONS,
        "customfields": CUSTOMFIELDS_IN,
    }))})


KNOWN_FORMATS = ("topics", "weeks", "singleactivity", "social")


def _validate_course_dates(data: dict[str, Any]) -> None:
    """course/lib.php course_validate_dates() on the submitted data only."""
    start, end = data.get("startdate"), data.get("enddate")
    if not php_empty(start) and not php_empty(end) and php_int(end) < php_int(start):
        raise MoodleException("enddatebeforestartdate")
    if php_empty(start) and not php_empty(end):
        raise MoodleException("nostartdatenoenddate")


# public/course/externallib.php core_course_external::create_courses()
# and public/course/lib.php create_course()
@ws("core_course_create_courses", _create_courses_params(),
    Multiple(Single({"id": Value(PARAM_INT), "shortname": Value(PARAM_RAW)})),
    transaction=True, component="core_course")
def create_courses(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]] | None:
    st = ctx.state
    s = st.settings
    result = None
    for course in p["courses"]:
        catctx = st.context_id(CONTEXT_COURSECAT, course["categoryid"])
        try:
            validate_context(catctx)
        except MoodleException as e:
            raise MoodleException("errorcatcontextnotvalid", "webservice",
                                  {"message": e.message, "catid": course["categoryid"]}) from None
        if course["fullname"].strip() == "":
            raise MoodleException("errorinvalidparam", "webservice", "fullname")
        if course["shortname"].strip() == "":
            raise MoodleException("errorinvalidparam", "webservice", "shortname")
        if "startdate" not in course:
            course["startdate"] = usermidnight(now(), s.timezone)
        if "enddate" not in course and s.course_enddateenabled:
            course["enddate"] = course["startdate"] + s.course_duration
        if "lang" in course and course["lang"] not in ctx.state_langs():
            raise MoodleException("errorinvalidparam", "webservice", "lang")
        course.pop("forcetheme", None)  # allowcoursethemes is off by default
        if s.enablecompletion:
            course.setdefault("enablecompletion", s.course_enablecompletion)
        else:
            course["enablecompletion"] = 0
        course["summaryformat"] = validate_format(course["summaryformat"])
        data = dict(course)
        data["category"] = data.pop("categoryid")
        for option in data.pop("courseformatoptions", None) or []:
            data[option["name"]] = option["value"]
        data.pop("customfields", None)
        # create_course(): uniqueness, dates, completion display default.
        if not php_empty(data.get("shortname")) and any(
                c["shortname"] == data["shortname"] for c in st.courses.values()):
            raise MoodleException("shortnametaken", "", data["shortname"])
        if not php_empty(data.get("idnumber")) and any(
                c["idnumber"] == data["idnumber"] for c in st.courses.values()):
            raise MoodleException("courseidnumbertaken", "", data["idnumber"])
        _validate_course_dates(data)
        if php_empty(data.get("enablecompletion")):
            data["showcompletionconditions"] = None
        else:
            data.setdefault("showcompletionconditions", s.course_showcompletionconditions)
        data["showactivitydates"] = s.course_showactivitydates
        data["visibleold"] = data["visible"]
        if data["format"] not in KNOWN_FORMATS:
            data["format"] = s.course_format  # course_get_format() falls back to the default
        keep = {"category", "fullname", "shortname", "idnumber", "summary", "summaryformat",
                "format", "showgrades", "newsitems", "startdate", "enddate", "maxbytes",
                "showreports", "visible", "visibleold", "groupmode", "groupmodeforce",
                "defaultgroupingid", "enablecompletion", "completionnotify", "lang",
                "showcompletionconditions", "showactivitydates", "numsections", "hiddensections",
                "coursedisplay", "automaticenddate"}
        record = {k: v for k, v in data.items() if k in keep}
        record.setdefault("idnumber", "")
        record.setdefault("summary", "")
        created = create_course_record(st, record)
        add_course_forum(st, created)  # \core\event\course_created -> mod_forum's observer
        result = (result or []) + [{"id": created["id"], "shortname": course["shortname"]}]
    return result


def _update_courses_params() -> Single:
    opt = VALUE_OPTIONAL
    return Params({"courses": Multiple(Single({
        "id": Value(PARAM_INT),
        "fullname": Value(PARAM_TEXT, required=opt), "shortname": Value(PARAM_TEXT, required=opt),
        "categoryid": Value(PARAM_INT, required=opt), "idnumber": Value(PARAM_RAW, required=opt),
        "summary": Value(PARAM_RAW, required=opt), "summaryformat": Format("summary", opt),
        "format": Value(PARAM_PLUGIN, required=opt), "showgrades": Value(PARAM_INT, required=opt),
        "newsitems": Value(PARAM_INT, required=opt), "startdate": Value(PARAM_INT, required=opt),
        "enddate": Value(PARAM_INT, required=opt), "numsections": Value(PARAM_INT, required=opt),
        "maxbytes": Value(PARAM_INT, required=opt), "showreports": Value(PARAM_INT, required=opt),
        "visible": Value(PARAM_INT, required=opt), "hiddensections": Value(PARAM_INT, required=opt),
        "groupmode": Value(PARAM_INT, required=opt), "groupmodeforce": Value(PARAM_INT, required=opt),
        "defaultgroupingid": Value(PARAM_INT, required=opt),
        "enablecompletion": Value(PARAM_INT, required=opt),
        "completionnotify": Value(PARAM_INT, required=opt),
        "lang": Value(PARAM_SAFEDIR, required=opt), "forcetheme": Value(PARAM_PLUGIN, required=opt),
        "courseformatoptions": COURSE_FORMAT_OPTIONS,
        "customfields": CUSTOMFIELDS_IN,
    }))})


# public/course/externallib.php core_course_external::update_courses()
# and public/course/lib.php update_course()
@ws("core_course_update_courses", _update_courses_params(), Single({"warnings": WARNINGS}),
    component="core_course")
def update_courses(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    warnings = []
    for data in p["courses"]:
        try:
            _update_one_course(ctx, dict(data))
        except MoodleException as e:
            warnings.append(warning_from(e, "course", data["id"]))
    return {"warnings": warnings}


def _update_one_course(ctx: Ctx, data: dict[str, Any]) -> None:
    st = ctx.state
    course_context_must_exist(ctx, data["id"])
    old = st.courses[data["id"]]
    if "categoryid" in data and old["category"] != data["categoryid"]:
        data["category"] = data["categoryid"]
    if "fullname" in data and old["fullname"] != data["fullname"] and data["fullname"].strip() == "":
        raise MoodleException("errorinvalidparam", "webservice", "fullname")
    if "shortname" in data and old["shortname"] != data["shortname"] and data["shortname"].strip() == "":
        raise MoodleException("errorinvalidparam", "webservice", "shortname")
    if "summaryformat" in data and old["summaryformat"] != data["summaryformat"]:
        data["summaryformat"] = validate_format(data["summaryformat"])
    if "lang" in data and old["lang"] != data["lang"] and data["lang"] not in ctx.state_langs():
        raise MoodleException("errorinvalidparam", "webservice", "lang")
    data.pop("forcetheme", None)
    for option in data.pop("courseformatoptions", None) or []:
        if option.get("name") is not None and option.get("value") is not None:
            data[option["name"]] = option["value"]
    data.pop("customfields", None)
    # update_course()
    if data["id"] == SITEID:
        raise MoodleException("invalidcourse", "error")
    others = [c for c in st.courses.values() if c["id"] != data["id"]]
    if (not php_empty(data.get("shortname")) and old["shortname"] != data["shortname"]
            and any(c["shortname"] == data["shortname"] for c in others)):
        raise MoodleException("shortnametaken", "", data["shortname"])
    if (not php_empty(data.get("idnumber")) and old["idnumber"] != data["idnumber"]
            and any(c["idnumber"] == data["idnumber"] for c in others)):
        raise MoodleException("courseidnumbertaken", "", data["idnumber"])
    _validate_course_dates(data)
    if php_empty(data.get("category")):
        data.pop("category", None)
    if "category" in data and data["category"] not in st.categories:
        raise missing_record("course_categories", {"id": data["category"]})
    movecat = "category" in data and old["category"] != data["category"]
    if "visible" not in data:
        data["visible"] = old["visible"]
    if data["visible"] != old["visible"]:
        data["visibleold"] = data["visible"]
    elif movecat and not st.categories[data["category"]]["visible"]:
        data["visible"] = 0
    if "enablecompletion" in data and php_int(data["enablecompletion"]) == 0:
        data["showcompletionconditions"] = None
    if "format" in data and data["format"] not in KNOWN_FORMATS:
        data.pop("format")
    for key in ("hiddensections", "coursedisplay"):
        if key in data:
            old["format_options"][key] = php_str(data.pop(key))
    automatic = data.pop("automaticenddate", None)
    new_format = data.get("format", old["format"])
    if automatic is not None and new_format == "weeks":
        old["format_options"]["automaticenddate"] = str(clean_param(automatic, PARAM_BOOL))
    elif new_format != "weeks":
        old["format_options"].pop("automaticenddate", None)  # options of the old format are deleted
    data.pop("numsections", None)  # not a format option in 5.1: ignored on update
    columns = set(old) - {"id", "format_options", "customfields", "_pos"}
    check_columns("course", {key: value for key, value in data.items() if key in columns})
    for key, value in data.items():
        if key in columns:
            old[key] = value
    old["timemodified"] = now()
    old["cacherev"] = max(old["cacherev"] + 1, now())
    if movecat:
        ctxid = st.course_context(old["id"])
        if ctxid is not None:
            st.contexts[ctxid]["parent"] = st.context_id(CONTEXT_COURSECAT, old["category"])
        old["_pos"] = max(c["_pos"] for c in st.courses.values()) + 1
    st.fix_sortorder()
    st.update_end_date(old["id"])  # \core\event\course_updated -> format_weeks_observer
    add_course_forum(st, st.courses[old["id"]])  # ... and mod_forum's observer (course_updated)


# public/course/externallib.php core_course_external::delete_courses()
@ws("core_course_delete_courses",
    Params({"courseids": Multiple(Value(PARAM_INT))}),
    Single({"warnings": WARNINGS}), component="core_course")
def delete_courses(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    warnings = []
    for courseid in p["courseids"]:
        if courseid not in st.courses:
            warnings.append({"item": "course", "itemid": courseid, "warningcode": "unknowncourseidnumber",
                             "message": f"Unknown course ID {courseid}"})
            continue
        if courseid == SITEID:  # can_delete_course() is false for the front page
            warnings.append({"item": "course", "itemid": courseid, "warningcode": "cannotdeletecourse",
                             "message": f"You do not have the permission to delete this course{courseid}"})
            continue
        delete_course_data(st, courseid)
    st.fix_sortorder()
    return {"warnings": warnings}


def delete_course_data(st: MoodleState, courseid: int) -> None:
    cctx = st.course_context(courseid)
    for sid in [s["id"] for s in st.sections.values() if s["course"] == courseid]:
        del st.sections[sid]
    for cmid in [m["id"] for m in st.modules.values() if m["course"] == courseid]:
        st.contexts.pop(st.context_id(CONTEXT_MODULE, cmid) or -1, None)
        del st.modules[cmid]
    enrolids = [e["id"] for e in st.enrol.values() if e["courseid"] == courseid]
    for ueid in [ue["id"] for ue in st.user_enrolments.values() if ue["enrolid"] in enrolids]:
        del st.user_enrolments[ueid]
    for eid in enrolids:
        del st.enrol[eid]
    for raid in [ra["id"] for ra in st.role_assignments.values() if ra["contextid"] == cctx]:
        del st.role_assignments[raid]
    gids = [g["id"] for g in st.groups.values() if g["courseid"] == courseid]
    for mid in [m["id"] for m in st.group_members.values() if m["groupid"] in gids]:
        del st.group_members[mid]
    for gid in gids:
        del st.groups[gid]
    for evid in [e["id"] for e in st.events.values() if e["courseid"] == courseid]:
        del st.events[evid]
    st.completion_criteria.pop(courseid, None)
    if cctx:
        del st.contexts[cctx]
    del st.courses[courseid]


# --------------------------------------------------------------------------- #
# core_course_get_contents
# --------------------------------------------------------------------------- #

CONTENTS_RETURNS = Multiple(Single({
    "id": Value(PARAM_INT), "name": Value(PARAM_RAW),
    "visible": Value(PARAM_INT, required=VALUE_OPTIONAL), "summary": Value(PARAM_RAW),
    "summaryformat": Format("summary"), "section": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "hiddenbynumsections": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "uservisible": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
    "availabilityinfo": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "component": Value(PARAM_COMPONENT, required=VALUE_OPTIONAL),
    "itemid": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "modules": Multiple(Single({
        "id": Value(PARAM_INT), "url": Value(PARAM_URL, required=VALUE_OPTIONAL),
        "name": Value(PARAM_RAW), "instance": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "contextid": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "description": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "visible": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "uservisible": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
        "availabilityinfo": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "visibleoncoursepage": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "modicon": Value(PARAM_URL), "modname": Value(PARAM_PLUGIN), "purpose": Value(PARAM_ALPHA),
        "branded": Value(PARAM_BOOL, required=VALUE_OPTIONAL), "modplural": Value(PARAM_TEXT),
        "availability": Value(PARAM_RAW, required=VALUE_OPTIONAL), "indent": Value(PARAM_INT),
        "onclick": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "afterlink": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "customdata": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "noviewlink": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
        "completion": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "downloadcontent": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "dates": Multiple(Single({"label": Value(PARAM_TEXT), "timestamp": Value(PARAM_INT)}),
                          required=VALUE_DEFAULT, default=[]),
        "groupmode": Value(PARAM_INT, required=VALUE_OPTIONAL),
    })),
}))


def _module_output(ctx: Ctx, cm: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    out = {
        "id": cm["id"], "name": ctx.fs(cm["name"]), "instance": cm["instance"],
        "contextid": st.context_id(CONTEXT_MODULE, cm["id"]), "modname": cm["modname"],
        "modplural": MODULE_PLURALS.get(cm["modname"], cm["modname"].capitalize() + "s"),
        "modicon": f"{ctx.siteurl}/theme/image.php/boost/mod_{cm['modname']}/1/monologo",
        "purpose": "content" if cm["modname"] in ("page", "resource", "url", "folder", "label") else "other",
        "branded": False, "indent": cm["indent"], "onclick": "", "afterlink": None,
        "customdata": '""', "completion": cm["completion"], "downloadcontent": 1,
        "noviewlink": cm["modname"] == "label", "dates": [], "groupmode": cm["groupmode"],
        "visible": cm["visible"], "visibleoncoursepage": cm["visibleoncoursepage"],
        "uservisible": True,
    }
    if cm["modname"] != "label":
        out["url"] = f"{ctx.siteurl}/mod/{cm['modname']}/view.php?id={cm['id']}"
    return out


# public/course/externallib.php core_course_external::get_course_contents()
@ws("core_course_get_contents",
    Params({"courseid": Value(PARAM_INT),
            "options": Multiple(Single({"name": Value(PARAM_ALPHANUM), "value": Value(PARAM_RAW)}),
                                required=VALUE_DEFAULT, default=[])}),
    CONTENTS_RETURNS, component="core_course")
def get_course_contents(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    filters: dict[str, Any] = {}
    for option in p["options"]:
        name = option["name"].strip()
        if name in filters:
            continue
        if name in ("excludemodules", "excludecontents", "includestealthmodules"):
            filters[name] = clean_param(option["value"], PARAM_BOOL)
        elif name in ("sectionid", "sectionnumber", "cmid", "modid"):
            filters[name] = clean_param(option["value"], PARAM_INT)
        elif name == "modname":
            v = clean_param(option["value"], PARAM_PLUGIN)
            if not v:
                raise MoodleException("errorinvalidparam", "webservice", name)
            filters[name] = v
        else:
            raise MoodleException("errorinvalidparam", "webservice", name)
    course = st.get_course(p["courseid"])
    lastsection = st.last_section_number(course["id"])
    out = []
    for section in st.course_sections(course["id"]):
        found = False
        if filters.get("sectionid"):
            if section["id"] != filters["sectionid"]:
                continue
            found = True
        if "sectionnumber" in filters:
            if section["section"] != filters["sectionnumber"]:
                continue
            found = True
        summary, summaryformat = ctx.ft(section["summary"], section["summaryformat"])
        values: dict[str, Any] = {
            # get_section_name(): core format_string, not the WS one, so
            # moodlewssettingraw does not give the stored name here.
            "id": section["id"], "name": section_title(ctx, section),
            "visible": section["visible"], "summary": summary, "summaryformat": summaryformat,
            "section": section["section"],
            "hiddenbynumsections": 1 if section["section"] > lastsection else 0,
            "uservisible": True, "component": section["component"], "itemid": section["itemid"],
        }
        modules = []
        if not filters.get("excludemodules"):
            for cmid in section["sequence"]:
                cm = st.modules[cmid]
                if filters.get("cmid") and cmid != filters["cmid"]:
                    continue
                if filters.get("modname"):
                    if cm["modname"] != filters["modname"]:
                        continue
                    if filters.get("modid") and cm["instance"] != filters["modid"]:
                        continue
                modules.append(_module_output(ctx, cm))
                if filters.get("cmid"):
                    break
        values["modules"] = modules
        out.append(values)
        if found:
            break
    return out
