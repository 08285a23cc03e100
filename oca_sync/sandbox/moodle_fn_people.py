"""Emulated group, user, enrolment and role functions (group/externallib.php,
user/externallib.php, enrol/externallib.php, enrol/manual/externallib.php).
"""

from __future__ import annotations

import copy

import re
from typing import Any

from .moodle_functions import (
    WARNINGS,
    Ctx,
    course_context_must_exist,
    course_context_or_error,
    fullname,
    php_loose_eq,
    require_active_user,
    user_picture_url,
    validate_context,
    warning_from,
    ws,
)
from .moodle_params import (
    NULL_NOT_ALLOWED,
    PARAM_ALPHA,
    PARAM_ALPHANUMEXT,
    PARAM_AUTH,
    PARAM_BOOL,
    PARAM_INT,
    PARAM_LANG,
    PARAM_NOTAGS,
    PARAM_PLUGIN,
    PARAM_RAW,
    PARAM_RAW_TRIMMED,
    PARAM_TEXT,
    PARAM_THEME,
    PARAM_TIMEZONE,
    PARAM_URL,
    PARAM_USERNAME,
    VALUE_DEFAULT,
    VALUE_OPTIONAL,
    CodingException,
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
    validate_email,
    validate_format,
)
from .moodle_state import (
    check_columns,
    CONTEXT_LEVEL_NAMES,
    CONTEXT_SYSTEM,
    ENROL_USER_ACTIVE,
    ENROL_USER_SUSPENDED,
    SITEID,
    MoodleState,
    now,
)

# --------------------------------------------------------------------------- #
# Groups (group/externallib.php, group/lib.php)
# --------------------------------------------------------------------------- #

GROUP_CUSTOMFIELDS = Multiple(Single({"shortname": Value(PARAM_ALPHANUMEXT), "value": Value(PARAM_RAW)}),
                              required=VALUE_OPTIONAL)


def _validate_visibility(visibility: int) -> None:
    if visibility not in (0, 1, 2, 3):
        raise InvalidParameterException("Invalid group visibility provided. Must be one of 0,1,2,3")


def _group_by_idnumber(st: MoodleState, courseid: int, idnumber: str) -> dict[str, Any] | None:
    if php_empty(idnumber):
        return None
    for g in st.groups.values():
        if g["courseid"] == courseid and g["idnumber"] == idnumber:
            return g
    return None


# public/group/externallib.php core_group_external::create_groups() + groups_create_group()
@ws("core_group_create_groups",
    Params({"groups": Multiple(Single({
        "courseid": Value(PARAM_INT), "name": Value(PARAM_TEXT), "description": Value(PARAM_RAW),
        "descriptionformat": Format("description", VALUE_DEFAULT),
        "enrolmentkey": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "idnumber": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "visibility": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
        "participation": Value(PARAM_BOOL, required=VALUE_DEFAULT, default=True),
        "customfields": GROUP_CUSTOMFIELDS,
    }))}),
    Multiple(Single({
        "id": Value(PARAM_INT), "courseid": Value(PARAM_INT), "name": Value(PARAM_TEXT),
        "description": Value(PARAM_RAW), "descriptionformat": Format("description"),
        "enrolmentkey": Value(PARAM_RAW), "idnumber": Value(PARAM_RAW),
        "visibility": Value(PARAM_INT), "participation": Value(PARAM_BOOL),
        "customfields": GROUP_CUSTOMFIELDS,
    })),
    transaction=True, component="core_group")
def create_groups(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    out = []
    for group in p["groups"]:
        if group["name"].strip() == "":
            raise InvalidParameterException("Invalid group name")
        if any(g["courseid"] == group["courseid"] and g["name"] == group["name"] for g in st.groups.values()):
            raise InvalidParameterException("Group with the same name already exists in the course")
        course_context_or_error(ctx, group["courseid"])
        group["descriptionformat"] = validate_format(group["descriptionformat"])
        _validate_visibility(group["visibility"])
        group["name"] = group["name"].strip()
        if "idnumber" in group:
            group["idnumber"] = group["idnumber"].strip()
            if _group_by_idnumber(st, group["courseid"], group["idnumber"]):
                raise MoodleException("idnumbertaken")
        if group["visibility"] not in (0, 1):
            group["participation"] = False
        check_columns("groups", group)
        gid = st.next_id("groups")
        t = now()
        st.groups[gid] = {
            "id": gid, "courseid": group["courseid"], "idnumber": group.get("idnumber", ""),
            "name": group["name"], "description": group["description"],
            "descriptionformat": group["descriptionformat"],
            "enrolmentkey": group.get("enrolmentkey", ""), "visibility": group["visibility"],
            "participation": bool(group["participation"]), "timecreated": t, "timemodified": t,
            "customfields": {f["shortname"]: f["value"] for f in group.get("customfields") or []},
        }
        result = dict(group, id=gid)
        result.setdefault("enrolmentkey", "")
        result.setdefault("idnumber", "")
        out.append(result)
    return out


GROUP_RETURNS = Multiple(Single({
    "id": Value(PARAM_INT), "courseid": Value(PARAM_INT), "name": Value(PARAM_TEXT),
    "description": Value(PARAM_RAW), "descriptionformat": Format("description"),
    "enrolmentkey": Value(PARAM_RAW), "idnumber": Value(PARAM_RAW),
    "visibility": Value(PARAM_INT), "participation": Value(PARAM_BOOL),
}))


# public/group/externallib.php core_group_external::get_course_groups()
@ws("core_group_get_course_groups", Params({"courseid": Value(PARAM_INT)}), GROUP_RETURNS,
    component="core_group")
def get_course_groups(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    course_context_or_error(ctx, p["courseid"])
    groups = sorted((g for g in st.groups.values() if g["courseid"] == p["courseid"]),
                    key=lambda g: (g["name"], g["id"]))
    out = []
    for g in groups:
        desc, fmt = ctx.ft(g["description"], g["descriptionformat"])
        out.append({"id": g["id"], "courseid": g["courseid"], "name": ctx.fs(g["name"]),
                    "idnumber": g["idnumber"], "description": desc, "descriptionformat": fmt,
                    "enrolmentkey": g["enrolmentkey"], "visibility": g["visibility"],
                    "participation": g["participation"]})
    return out


# public/group/externallib.php core_group_external::update_groups() + groups_update_group()
@ws("core_group_update_groups",
    Params({"groups": Multiple(Single({
        "id": Value(PARAM_INT), "name": Value(PARAM_TEXT),
        "description": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "descriptionformat": Format("description", VALUE_DEFAULT),
        "enrolmentkey": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "idnumber": Value(PARAM_RAW, required=VALUE_OPTIONAL),
        "visibility": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
        "participation": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
        "customfields": GROUP_CUSTOMFIELDS,
    }))}),
    None, transaction=True, component="core_group")
def update_groups(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for group in p["groups"]:
        if group["name"].strip() == "":
            raise InvalidParameterException("Invalid group name")
        current = st.groups.get(group["id"])
        if current is None:
            raise InvalidParameterException(f"Group {group['id']} does not exist")
        if group["name"] != current["name"] and any(
                g["courseid"] == current["courseid"] and g["name"] == group["name"] for g in st.groups.values()):
            raise InvalidParameterException("A different group with the same name already exists in the course")
        if "visibility" in group or "participation" in group:
            hasmembers = bool(st.group_members_of(group["id"]))
            if "visibility" in group:
                _validate_visibility(php_int(group["visibility"]) if re.fullmatch(r"\d+", group["visibility"])
                                     else -1)
                group["visibility"] = php_int(group["visibility"])
                if hasmembers and group["visibility"] != current["visibility"]:
                    raise InvalidParameterException(
                        "The visibility of this group cannot be changed as it currently has members.")
            else:
                group["visibility"] = current["visibility"]
            if "participation" in group and hasmembers and group["participation"] != current["participation"]:
                raise InvalidParameterException(
                    "The participation mode of this group cannot be changed as it currently has members.")
        if not php_empty(group.get("description")):
            group["descriptionformat"] = validate_format(group["descriptionformat"])
        group["name"] = group["name"].strip()
        if "idnumber" in group:
            group["idnumber"] = group["idnumber"].strip()
            existing = _group_by_idnumber(st, current["courseid"], group["idnumber"])
            if existing and existing["id"] != group["id"]:
                raise MoodleException("idnumbertaken")
        if "visibility" in group and group["visibility"] not in (0, 1):
            group["participation"] = False
        check_columns("groups", group)
        for key in ("name", "description", "descriptionformat", "enrolmentkey", "idnumber",
                    "visibility", "participation"):
            if key in group:
                current[key] = bool(group[key]) if key == "participation" else group[key]
        for f in group.get("customfields") or []:
            current["customfields"][f["shortname"]] = f["value"]
        current["timemodified"] = now()


# public/group/externallib.php core_group_external::delete_groups() + groups_delete_group()
@ws("core_group_delete_groups", Params({"groupids": Multiple(Value(PARAM_INT))}), None,
    transaction=True, component="core_group")
def delete_groups(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for gid in p["groupids"]:
        if gid not in st.groups:
            continue  # silently ignore attempts to delete nonexisting groups
        for mid in [m["id"] for m in st.group_members_of(gid)]:
            del st.group_members[mid]
        del st.groups[gid]


# public/group/externallib.php core_group_external::get_group_members()
@ws("core_group_get_group_members", Params({"groupids": Multiple(Value(PARAM_INT))}),
    Multiple(Single({"groupid": Value(PARAM_INT), "userids": Multiple(Value(PARAM_INT))})),
    component="core_group")
def get_group_members(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    out = []
    for gid in p["groupids"]:
        if gid not in st.groups:
            raise missing_record("groups", {"id": gid})
        members = [st.users[m["userid"]] for m in st.group_members_of(gid)]
        members.sort(key=lambda u: (u["lastname"], u["firstname"], u["id"]))
        out.append({"groupid": gid, "userids": [u["id"] for u in members]})
    return out


MEMBERS_PARAMS = Params({"members": Multiple(Single({"groupid": Value(PARAM_INT), "userid": Value(PARAM_INT)}))})


def _member_checks(st: MoodleState, groupid: int, userid: int) -> tuple[dict[str, Any], dict[str, Any]]:
    group = st.groups.get(groupid)
    if group is None:
        raise missing_record("groups", {"id": groupid})
    user = st.users.get(userid)
    if user is None or user["deleted"]:
        raise missing_record("user", {"id": userid, "deleted": 0, "mnethostid": 1})
    return group, user


# public/group/externallib.php core_group_external::add_group_members() + groups_add_member()
@ws("core_group_add_group_members", MEMBERS_PARAMS, None, transaction=True, component="core_group")
def add_group_members(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for member in p["members"]:
        group, user = _member_checks(st, member["groupid"], member["userid"])
        if not st.is_enrolled(group["courseid"], user["id"]):
            raise InvalidParameterException("Only enrolled users may be members of groups")
        if st.is_group_member(group["id"], user["id"]):
            continue
        mid = st.next_id("groups_members")
        st.group_members[mid] = {"id": mid, "groupid": group["id"], "userid": user["id"],
                                 "timeadded": now(), "component": "", "itemid": 0}


# public/group/externallib.php core_group_external::delete_group_members() + groups_remove_member()
@ws("core_group_delete_group_members", MEMBERS_PARAMS, None, transaction=True, component="core_group")
def delete_group_members(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for member in p["members"]:
        group, user = _member_checks(st, member["groupid"], member["userid"])
        for m in st.group_members_of(group["id"]):
            if m["userid"] == user["id"]:
                if m["component"]:
                    raise MoodleException("errorremovenotpermitted", "group", fullname(user))
                del st.group_members[m["id"]]


# --------------------------------------------------------------------------- #
# Users (user/externallib.php, user/lib.php)
# --------------------------------------------------------------------------- #

INTERNAL_AUTHS = ("manual", "email", "nologin", "none", "db")

USER_DESCRIPTION = Single({
    "id": Value(PARAM_INT), "username": Value(PARAM_USERNAME, required=VALUE_OPTIONAL),
    "firstname": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL),
    "lastname": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL), "fullname": Value(PARAM_NOTAGS),
    "email": Value(PARAM_RAW_TRIMMED, required=VALUE_OPTIONAL),
    "address": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "phone1": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL),
    "phone2": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL),
    "department": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "institution": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "idnumber": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "interests": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "firstaccess": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "lastaccess": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "auth": Value(PARAM_AUTH, required=VALUE_OPTIONAL),
    "suspended": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
    "confirmed": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
    "lang": Value(PARAM_LANG, required=VALUE_OPTIONAL),
    "calendartype": Value(PARAM_PLUGIN, required=VALUE_OPTIONAL),
    "theme": Value(PARAM_THEME, required=VALUE_OPTIONAL),
    "timezone": Value(PARAM_TIMEZONE, required=VALUE_OPTIONAL),
    "mailformat": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "trackforums": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "description": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "descriptionformat": Format("description", VALUE_OPTIONAL),
    "city": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "country": Value(PARAM_ALPHA, required=VALUE_OPTIONAL),
    "profileimageurlsmall": Value(PARAM_URL), "profileimageurl": Value(PARAM_URL),
    "customfields": Multiple(Single({
        "type": Value(PARAM_ALPHANUMEXT), "value": Value(PARAM_RAW),
        "displayvalue": Value(PARAM_RAW, required=VALUE_OPTIONAL), "name": Value(PARAM_RAW),
        "shortname": Value(PARAM_RAW)}), required=VALUE_OPTIONAL),
    "preferences": Multiple(Single({"name": Value(PARAM_RAW), "value": Value(PARAM_RAW)}),
                            required=VALUE_OPTIONAL),
})

DEFAULT_USER_FIELDS = (
    "id", "username", "fullname", "firstname", "lastname", "email", "address", "phone1", "phone2",
    "department", "institution", "interests", "firstaccess", "lastaccess", "auth", "confirmed",
    "idnumber", "lang", "theme", "timezone", "mailformat", "description", "descriptionformat",
    "city", "country", "profileimageurlsmall", "profileimageurl", "customfields", "groups",
    "roles", "preferences", "enrolledcourses", "suspended", "lastcourseaccess", "trackforums",
)


def user_details(ctx: Ctx, user: dict[str, Any], course: dict[str, Any] | None = None,
                 userfields: list[str] | None = None) -> dict[str, Any]:
    """user/lib.php user_get_user_details() as seen by a site administrator."""
    st = ctx.state
    fields = list(userfields or DEFAULT_USER_FIELDS)
    for f in fields:
        if f not in DEFAULT_USER_FIELDS:
            raise MoodleException("invaliduserfield", "error", f)
    fields += [f for f in ("id", "fullname") if f not in fields]
    d: dict[str, Any] = {"id": user["id"], "fullname": fullname(user)}
    for key in ("firstname", "lastname", "username"):
        if key in fields:
            d[key] = user[key]
    if "customfields" in fields and user["customfields"]:
        d["customfields"] = [{"name": k, "value": v, "displayvalue": v, "type": "text", "shortname": k}
                             for k, v in user["customfields"].items()]
    if "profileimageurl" in fields:
        d["profileimageurl"] = user_picture_url(ctx, "f1")
    if "profileimageurlsmall" in fields:
        d["profileimageurlsmall"] = user_picture_url(ctx, "f2")
    for key in ("address", "phone1", "phone2"):
        if user[key]:
            d[key] = user[key]
    if user["description"] is not None and "description" in fields:
        d["description"], d["descriptionformat"] = ctx.ft(user["description"], user["descriptionformat"])
    for key in ("country", "city", "timezone"):
        if key in fields and user[key]:
            d[key] = user[key]
    if "suspended" in fields:
        d["suspended"] = bool(user["suspended"])
    for key in ("firstaccess", "lastaccess"):
        if key in fields:
            d[key] = user[key] or 0
    if "lastcourseaccess" in fields:
        d["lastcourseaccess"] = 0
    if "email" in fields:
        d["email"] = user["email"]
    if "interests" in fields and user["interests"]:
        d["interests"] = ", ".join(user["interests"])
    if "idnumber" in fields and user["idnumber"]:
        d["idnumber"] = user["idnumber"]
    if "institution" in fields and user["institution"]:
        d["institution"] = user["institution"]
    if "department" in fields and user["department"] is not None:
        d["department"] = user["department"]
    cctx = st.course_context(course["id"]) if course is not None else None
    if course is not None and cctx is not None:
        if "roles" in fields:
            d["roles"] = [{"roleid": ra["roleid"], "name": st.roles[ra["roleid"]]["name"],
                           "shortname": st.roles[ra["roleid"]]["shortname"],
                           "sortorder": st.roles[ra["roleid"]]["sortorder"]}
                          for ra in st.user_roles_in_context(cctx, user["id"])]
        if "groups" in fields:
            groups = st.user_groups_in_course(course["id"], user["id"])
            if groups:
                d["groups"] = [{"id": g["id"], "name": ctx.core_fs(g["name"]),
                                "description": ctx.core_ft(g["description"], g["descriptionformat"]),
                                "descriptionformat": g["descriptionformat"]} for g in groups]
    if "enrolledcourses" in fields:
        active = st.active_courses_of(user["id"])
        mine = [c for c in st.courses.values() if c["id"] != SITEID and c["id"] in active]
        if mine:
            d["enrolledcourses"] = [{"id": c["id"], "fullname": ctx.core_fs(c["fullname"]),
                                     "shortname": ctx.core_fs(c["shortname"])} for c in mine]
    if "preferences" in fields and user["id"] == ctx.userid:
        d["preferences"] = [{"name": k, "value": v} for k, v in user["preferences"].items()]
    for key in ("auth", "confirmed", "lang", "theme", "mailformat", "trackforums"):
        if key in fields and user.get(key) is not None:
            d[key] = user[key]
    if "lang" in d:
        d["lang"] = clean_param(d["lang"], PARAM_LANG)
    if "theme" in d:
        d["theme"] = clean_param(d["theme"], PARAM_THEME)
    return d


def _password_policy_errors(st: MoodleState, password: str) -> str:
    s = st.settings
    if not s.passwordpolicy:
        return ""
    from .moodle_params import get_string
    errors = []
    if len(password) < s.minpasswordlength:
        errors.append(get_string("errorminpasswordlength", "auth", s.minpasswordlength))
    if sum(ch.isdigit() for ch in password) < s.minpassworddigits:
        errors.append(get_string("errorminpassworddigits", "auth", s.minpassworddigits))
    if sum(ch.islower() for ch in password) < s.minpasswordlower:
        errors.append(get_string("errorminpasswordlower", "auth", s.minpasswordlower))
    if sum(ch.isupper() for ch in password) < s.minpasswordupper:
        errors.append(get_string("errorminpasswordupper", "auth", s.minpasswordupper))
    if sum(not (ch.isupper() or ch.islower() or ch.isdigit()) for ch in password) < s.minpasswordnonalphanum:
        errors.append(get_string("errorminpasswordnonalphanum", "auth", s.minpasswordnonalphanum))
    return "".join(f"<div>{e}</div>" for e in errors)


def _create_users_params() -> Single:
    opt = VALUE_OPTIONAL
    return Params({"users": Multiple(Single({
        "createpassword": Value(PARAM_BOOL, required=opt),
        "username": Value(PARAM_USERNAME),
        "auth": Value(PARAM_AUTH, required=VALUE_DEFAULT, default="manual", allownull=NULL_NOT_ALLOWED),
        "password": Value(PARAM_RAW, required=opt),
        "firstname": Value(PARAM_NOTAGS), "lastname": Value(PARAM_NOTAGS),
        "email": Value(PARAM_RAW_TRIMMED),
        "maildisplay": Value(PARAM_INT, required=opt), "city": Value(PARAM_TEXT, required=opt),
        "country": Value(PARAM_ALPHA, required=opt), "timezone": Value(PARAM_TIMEZONE, required=opt),
        "description": Value(PARAM_RAW, required=opt),
        "firstnamephonetic": Value(PARAM_NOTAGS, required=opt),
        "lastnamephonetic": Value(PARAM_NOTAGS, required=opt),
        "middlename": Value(PARAM_NOTAGS, required=opt), "alternatename": Value(PARAM_NOTAGS, required=opt),
        "interests": Value(PARAM_TEXT, required=opt),
        "idnumber": Value(PARAM_RAW, required=VALUE_DEFAULT, default=""),
        "institution": Value(PARAM_TEXT, required=opt), "department": Value(PARAM_TEXT, required=opt),
        "phone1": Value(PARAM_NOTAGS, required=opt), "phone2": Value(PARAM_NOTAGS, required=opt),
        "address": Value(PARAM_TEXT, required=opt),
        "lang": Value(PARAM_LANG, required=VALUE_DEFAULT, default="en", allownull=NULL_NOT_ALLOWED),
        "calendartype": Value(PARAM_PLUGIN, required=VALUE_DEFAULT, default="gregorian"),
        "theme": Value(PARAM_THEME, required=opt), "mailformat": Value(PARAM_INT, required=opt),
        "customfields": Multiple(Single({"type": Value(PARAM_ALPHANUMEXT), "value": Value(PARAM_RAW)}),
                                 required=opt),
        "preferences": Multiple(Single({"type": Value(PARAM_RAW), "value": Value(PARAM_RAW)}),
                                required=opt),
    }))})


USER_COLUMNS = ("username", "auth", "password", "firstname", "lastname", "email", "maildisplay",
                "city", "country", "timezone", "description", "firstnamephonetic", "lastnamephonetic",
                "middlename", "alternatename", "idnumber", "institution", "department", "phone1",
                "phone2", "address", "lang", "calendartype", "theme", "mailformat", "suspended")


# public/user/externallib.php core_user_external::create_users() + user/lib.php user_create_user()
@ws("core_user_create_users", _create_users_params(),
    Multiple(Single({"id": Value(PARAM_INT), "username": Value(PARAM_USERNAME)})),
    transaction=True, component="core_user")
def create_users(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    out = []
    # The site's usernames and e-mails, read once per call and kept up to date below
    # (a lookup per user would scan every user: quadratic in a batch of 200).
    usernames = {u["username"] for u in st.users.values() if u["mnethostid"] == 1}
    emails = {u["email"].lower() for u in st.users.values() if u["mnethostid"] == 1}
    for user in p["users"]:
        for key in ("username", "firstname", "lastname"):
            if user[key].strip() == "":
                raise InvalidParameterException(f"The field {key} cannot be blank")
        if user["username"] in usernames:
            raise InvalidParameterException(f"Username already exists: {user['username']}")
        if user["auth"] in ("mnet", "webservice") or user["auth"] not in ctx.site_auths():
            raise InvalidParameterException(f"Invalid authentication type: {user['auth']}")
        if user["lang"] not in ctx.state_langs():
            raise InvalidParameterException(f"Invalid language code: {user['lang']}")
        internal = user["auth"] in INTERNAL_AUTHS
        if internal and php_empty(user.get("password")) and php_empty(user.get("createpassword")):
            raise InvalidParameterException("Invalid password: you must provide a password, or set createpassword.")
        if not validate_email(user["email"]):
            raise InvalidParameterException(f"Email address is invalid: {user['email']}")
        if not st.settings.allowaccountssameemail and user["email"].lower() in emails:
            raise InvalidParameterException(f"Email address already exists: {user['email']}")
        createpassword = not php_empty(user.pop("createpassword", None))
        if internal and not createpassword and user.get("password") is not None:
            errmsg = _password_policy_errors(st, user["password"])
            if errmsg:
                raise MoodleException(errmsg)
        record = {k: user[k] for k in USER_COLUMNS if k in user}
        record["password"] = "" if (createpassword or not internal) else "hashed"
        record["interests"] = [i.strip() for i in (user.get("interests") or "").split(",") if i.strip()]
        record["customfields"] = {f["type"]: f["value"] for f in user.get("customfields") or []}
        record["preferences"] = {f["type"]: f["value"] for f in user.get("preferences") or []}
        if createpassword:
            record["preferences"]["auth_forcepasswordchange"] = "1"
        record.setdefault("country", "")
        created = st.new_user(**record)
        if created["mnethostid"] == 1:
            usernames.add(created["username"])
            emails.add(created["email"].lower())
        out.append({"id": created["id"], "username": created["username"]})
    return out


def _update_users_params() -> Single:
    opt = VALUE_OPTIONAL
    nn = NULL_NOT_ALLOWED
    return Params({"users": Multiple(Single({
        "id": Value(PARAM_INT),
        "username": Value(PARAM_USERNAME, required=opt, default="", allownull=nn),
        "auth": Value(PARAM_AUTH, required=opt, default="", allownull=nn),
        "suspended": Value(PARAM_BOOL, required=opt),
        "password": Value(PARAM_RAW, required=opt, default="", allownull=nn),
        "firstname": Value(PARAM_NOTAGS, required=opt, default="", allownull=nn),
        "lastname": Value(PARAM_NOTAGS, required=opt),
        "email": Value(PARAM_RAW_TRIMMED, required=opt, default="", allownull=nn),
        "maildisplay": Value(PARAM_INT, required=opt), "city": Value(PARAM_TEXT, required=opt),
        "country": Value(PARAM_ALPHA, required=opt), "timezone": Value(PARAM_TIMEZONE, required=opt),
        "description": Value(PARAM_RAW, required=opt), "userpicture": Value(PARAM_INT, required=opt),
        "firstnamephonetic": Value(PARAM_NOTAGS, required=opt),
        "lastnamephonetic": Value(PARAM_NOTAGS, required=opt),
        "middlename": Value(PARAM_NOTAGS, required=opt), "alternatename": Value(PARAM_NOTAGS, required=opt),
        "interests": Value(PARAM_TEXT, required=opt), "idnumber": Value(PARAM_RAW, required=opt),
        "institution": Value(PARAM_TEXT, required=opt), "department": Value(PARAM_TEXT, required=opt),
        "phone1": Value(PARAM_NOTAGS, required=opt), "phone2": Value(PARAM_NOTAGS, required=opt),
        "address": Value(PARAM_TEXT, required=opt),
        "lang": Value(PARAM_LANG, required=opt, default="", allownull=nn),
        "calendartype": Value(PARAM_PLUGIN, required=opt, default="", allownull=nn),
        "theme": Value(PARAM_THEME, required=opt), "mailformat": Value(PARAM_INT, required=opt),
        "customfields": Multiple(Single({"type": Value(PARAM_ALPHANUMEXT), "value": Value(PARAM_RAW)}),
                                 required=opt),
        "preferences": Multiple(Single({"type": Value(PARAM_RAW), "value": Value(PARAM_RAW)}),
                                required=opt),
    }))})


# public/user/externallib.php core_user_external::update_users() + user/lib.php user_update_user()
@ws("core_user_update_users", _update_users_params(), Single({"warnings": WARNINGS}),
    component="core_user")
def update_users(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    warnings = []
    for user in p["users"]:
        # Each user runs in its own transaction: a failure is a warning and undoes
        # only that user's changes. _update_one_user writes nothing but the user's own
        # row, so a copy of that row is the whole snapshot (not the site's, per user).
        row = st.users.get(user["id"])
        saved = copy.deepcopy(row)
        try:
            _update_one_user(ctx, user)
        except MoodleException as e:
            if row is not None and saved is not None:
                row.clear()
                row.update(saved)
            warnings.append(warning_from(e, "user", user["id"]))
    return {"warnings": warnings}


def _update_one_user(ctx: Ctx, user: dict[str, Any]) -> None:
    st = ctx.state
    existing = st.users.get(user["id"])
    if existing is None:
        raise MoodleException("invaliduserid", "", None, "Invalid user ID")
    if existing["deleted"]:
        raise MoodleException("usernotupdateddeleted", "", None, "User is a deleted user")
    if existing["username"] == "guest":
        raise MoodleException("usernotupdatedguest", "", None, "Cannot update guest account")
    if "email" in user and user["email"] != existing["email"]:
        if not validate_email(user["email"]):
            raise MoodleException("useremailinvalid", "", None, "Invalid email address")
        if not st.settings.allowaccountssameemail and any(
                u["email"].lower() == user["email"].lower() and u["id"] != user["id"]
                for u in st.users.values()):
            raise MoodleException("useremailduplicate", "", None, "Duplicate email address")
    # user_update_user()
    if "username" in user:
        if user["username"] != user["username"].lower():
            raise MoodleException("usernamelowercase")
        if user["username"] != clean_param(user["username"], PARAM_USERNAME):
            raise MoodleException("invalidusername")
        other = st.user_by_username(user["username"])
        if other and other["id"] != user["id"]:
            # No explicit check in Moodle: the unique index on (mnethostid, username) fails.
            raise MoodleException("dmlwriteexception", "error", None,
                                  "Duplicate entry for key 'mdl_user_mneuse_uix'")
    if "password" in user:
        errmsg = _password_policy_errors(st, user["password"])
        if errmsg:
            raise MoodleException(errmsg)
        existing["password"] = "hashed"
    check_columns("user", {key: user[key] for key in USER_COLUMNS if key in user})
    for key in USER_COLUMNS:
        if key in user and key != "password":
            if key == "calendartype" and php_empty(user[key]):
                continue
            existing[key] = int(user[key]) if key == "suspended" else user[key]
    if not php_empty(user.get("interests")):
        existing["interests"] = [i.strip() for i in user["interests"].split(",") if i.strip()]
    for f in user.get("customfields") or []:
        existing["customfields"][f["type"]] = f["value"]
    for f in user.get("preferences") or []:
        existing["preferences"][f["type"]] = f["value"]
    existing["timemodified"] = now()


# public/user/externallib.php core_user_external::get_users_by_field()
@ws("core_user_get_users_by_field",
    Params({"field": Value(PARAM_ALPHA), "values": Multiple(Value(PARAM_RAW))}),
    Multiple(USER_DESCRIPTION), component="core_user")
def get_users_by_field(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    field_ = p["field"]
    types = {"id": PARAM_INT, "idnumber": PARAM_RAW, "username": PARAM_USERNAME, "email": PARAM_RAW_TRIMMED}
    if field_ not in types:
        raise CodingException("invalid field parameter",
                              f"The search field '{field_}' is not supported, look at the web service documentation")
    cleaned_values = []
    for value in p["values"]:
        cleaned = clean_param(value, types[field_])
        if not php_loose_eq(value, cleaned):
            raise InvalidParameterException(
                f"The field '{field_}' value is invalid: {value}(cleaned value: {php_str(cleaned)})")
        cleaned_values.append(cleaned)
    wanted = {php_str(v) for v in cleaned_values}
    users = [u for uid, u in sorted(st.users.items()) if php_str(u[field_]) in wanted]
    out = []
    for user in users:
        d = user_details(ctx, user)
        if not php_empty(d.get(field_)):
            out.append(d)
    return out


# --------------------------------------------------------------------------- #
# Enrolments and roles (enrol/externallib.php, enrol/manual/externallib.php, lib/enrollib.php)
# --------------------------------------------------------------------------- #

ENROLLED_USER = Single({
    "id": Value(PARAM_INT), "username": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "firstname": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL),
    "lastname": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL), "fullname": Value(PARAM_NOTAGS),
    "email": Value(PARAM_TEXT, required=VALUE_OPTIONAL), "address": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "phone1": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL), "phone2": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL),
    "department": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "institution": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "idnumber": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "interests": Value(PARAM_TEXT, required=VALUE_OPTIONAL),
    "firstaccess": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "lastaccess": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "lastcourseaccess": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "description": Value(PARAM_RAW, required=VALUE_OPTIONAL),
    "descriptionformat": Format("description", VALUE_OPTIONAL),
    "city": Value(PARAM_NOTAGS, required=VALUE_OPTIONAL), "country": Value(PARAM_ALPHA, required=VALUE_OPTIONAL),
    "profileimageurlsmall": Value(PARAM_URL, required=VALUE_OPTIONAL),
    "profileimageurl": Value(PARAM_URL, required=VALUE_OPTIONAL),
    "customfields": Multiple(Single({"type": Value(PARAM_ALPHANUMEXT), "value": Value(PARAM_RAW),
                                     "name": Value(PARAM_RAW), "shortname": Value(PARAM_RAW)}),
                             required=VALUE_OPTIONAL),
    "groups": Multiple(Single({"id": Value(PARAM_INT), "name": Value(PARAM_RAW),
                               "description": Value(PARAM_RAW), "descriptionformat": Format("description")}),
                       required=VALUE_OPTIONAL),
    "roles": Multiple(Single({"roleid": Value(PARAM_INT), "name": Value(PARAM_RAW),
                              "shortname": Value(PARAM_ALPHANUMEXT), "sortorder": Value(PARAM_INT)}),
                      required=VALUE_OPTIONAL),
    "preferences": Multiple(Single({"name": Value(PARAM_RAW), "value": Value(PARAM_RAW)}),
                            required=VALUE_OPTIONAL),
    "enrolledcourses": Multiple(Single({"id": Value(PARAM_INT), "fullname": Value(PARAM_RAW),
                                        "shortname": Value(PARAM_RAW)}), required=VALUE_OPTIONAL),
})

#: Which role archetypes hold a capability (a small part of the default role
#: definitions, enough for ``withcapability`` filters).
CAPABILITY_ARCHETYPES: dict[str, tuple[str, ...]] = {
    "moodle/course:update": ("manager", "editingteacher"),
    "moodle/course:manageactivities": ("manager", "editingteacher"),
    "moodle/grade:edit": ("manager", "editingteacher"),
    "moodle/grade:viewall": ("manager", "editingteacher", "teacher"),
    "moodle/course:viewparticipants": ("manager", "editingteacher", "teacher", "student"),
    "moodle/course:isincompletionreports": ("student",),
    "mod/assign:submit": ("student",),
    "mod/attendance:canbelisted": ("student",),
    "mod/feedback:complete": ("student",),
    "mod/attendance:takeattendances": ("manager", "editingteacher", "teacher"),
}


# public/enrol/externallib.php core_enrol_external::get_enrolled_users()
@ws("core_enrol_get_enrolled_users",
    Params({"courseid": Value(PARAM_INT),
            "options": Multiple(Single({"name": Value(PARAM_ALPHANUMEXT), "value": Value(PARAM_RAW)}),
                                required=VALUE_DEFAULT, default=[])}),
    Multiple(ENROLLED_USER), component="core_enrol")
def get_enrolled_users(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    withcapability, groupid, onlyactive, onlysuspended = "", 0, False, False
    userfields: list[str] = []
    limitfrom, limitnumber, sortby, direction = 0, 0, "id", "ASC"
    for option in p["options"]:
        name, value = option["name"], option["value"]
        if name == "withcapability":
            withcapability = value
        elif name == "groupid":
            groupid = php_int(value)
        elif name == "onlyactive":
            onlyactive = not php_empty(value)
        elif name == "onlysuspended":
            onlysuspended = not php_empty(value)
        elif name == "userfields":
            userfields = [clean_param(f, PARAM_ALPHANUMEXT) for f in value.split(",")]
        elif name == "limitfrom":
            limitfrom = clean_param(value, PARAM_INT)
        elif name == "limitnumber":
            limitnumber = clean_param(value, PARAM_INT)
        elif name == "sortby":
            allowed = ["id", "firstname", "lastname", "siteorder"]
            if value not in allowed:
                raise InvalidParameterException(
                    f"Invalid value for sortby parameter (value: {value}), allowed values are: {','.join(allowed)}")
            sortby = value
        elif name == "sortdirection":
            direction = value.upper()
            if direction not in ("ASC", "DESC"):
                raise InvalidParameterException(
                    "Invalid value for sortdirection parameter\n                        (value: "
                    f"{direction}),allowed values are: ASC,DESC")
    course = st.get_course(p["courseid"])
    cctx = st.course_context(course["id"])
    enrolids = {e["id"] for e in st.enrol.values() if e["courseid"] == course["id"]}
    enrolled = {ue["userid"] for ue in st.user_enrolments.values() if ue["enrolid"] in enrolids}
    users = []
    for user in st.users.values():
        if user["deleted"]:
            continue
        if course["id"] == SITEID:
            if user["username"] == "guest":
                continue
        else:
            if user["id"] not in enrolled:
                continue  # (the same test as below, without a lookup per site user)
            ues = st.user_enrolments_in(course["id"], user["id"])
            if not ues:
                continue
            active = st.is_enrolled(course["id"], user["id"], onlyactive=True)
            if onlyactive and not active:
                continue
            if onlysuspended and active:
                continue
        if groupid and not st.is_group_member(groupid, user["id"]):
            continue
        if withcapability:
            archetypes = CAPABILITY_ARCHETYPES.get(withcapability, ())
            roles = st.user_roles_in_context(cctx, user["id"]) if cctx else []
            if not any(st.roles[r["roleid"]]["archetype"] in archetypes for r in roles):
                continue
        users.append(user)
    if sortby == "siteorder":
        users.sort(key=lambda u: (u["lastname"], u["firstname"], u["id"]))
    else:
        users.sort(key=lambda u: (u[sortby], u["id"]))
    if direction == "DESC":
        users.reverse()
    if limitfrom:
        users = users[limitfrom:]
    if limitnumber:
        users = users[:limitnumber]
    return [user_details(ctx, u, course, userfields or None) for u in users]


# public/enrol/manual/externallib.php enrol_manual_external::enrol_users()
# and lib/enrollib.php enrol_plugin::enrol_user()
@ws("enrol_manual_enrol_users",
    Params({"enrolments": Multiple(Single({
        "roleid": Value(PARAM_INT), "userid": Value(PARAM_INT), "courseid": Value(PARAM_INT),
        "timestart": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "timeend": Value(PARAM_INT, required=VALUE_OPTIONAL),
        "suspend": Value(PARAM_INT, required=VALUE_OPTIONAL),
    }))}),
    None, transaction=True, component="enrol_manual")
def enrol_users(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for e in p["enrolments"]:
        cctx = validate_context(st.course_context(e["courseid"]))
        user = st.get_user(e["userid"])
        require_active_user(user)
        if e["roleid"] not in st.assignable_roles(cctx):
            raise MoodleException("wsusercannotassign", "enrol_manual",
                                  {"roleid": e["roleid"], "courseid": e["courseid"], "userid": user["id"]})
        instance = next((i for i in st.course_enrol_instances(e["courseid"], True) if i["enrol"] == "manual"), None)
        if instance is None:
            raise MoodleException("wsnoinstance", "enrol_manual", {"courseid": e["courseid"]})
        timestart, timeend = e.get("timestart", 0), e.get("timeend", 0)
        status = ENROL_USER_SUSPENDED if not php_empty(e.get("suspend")) else ENROL_USER_ACTIVE
        ue = next((u for u in st.user_enrolments_of(user["id"]) if u["enrolid"] == instance["id"]), None)
        if ue is not None:
            if (ue["timestart"], ue["timeend"], ue["status"]) != (timestart, timeend, status):
                ue.update(timestart=timestart, timeend=timeend, status=status, timemodified=now())
        else:
            ueid = st.next_id("user_enrolments")
            st.user_enrolments[ueid] = {"id": ueid, "enrolid": instance["id"], "userid": user["id"],
                                        "status": status, "timestart": timestart, "timeend": timeend,
                                        "modifierid": ctx.userid, "timecreated": now(),
                                        "timemodified": now()}
        st.role_assign(e["roleid"], user["id"], cctx)


# public/enrol/manual/externallib.php enrol_manual_external::unenrol_users()
# and lib/enrollib.php enrol_plugin::unenrol_user()
@ws("enrol_manual_unenrol_users",
    Params({"enrolments": Multiple(Single({
        "userid": Value(PARAM_INT), "courseid": Value(PARAM_INT),
        "roleid": Value(PARAM_INT, required=VALUE_OPTIONAL),
    }))}),
    None, transaction=True, component="enrol_manual")
def unenrol_users(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for e in p["enrolments"]:
        cctx = course_context_must_exist(ctx, e["courseid"])
        instance = next((i for i in st.course_enrol_instances(e["courseid"]) if i["enrol"] == "manual"), None)
        if instance is None:
            raise MoodleException("wsnoinstance", "enrol_manual", {"courseid": e["courseid"]})
        user = st.get_user(e["userid"])
        require_active_user(user)
        ue = next((u for u in st.user_enrolments_of(user["id"]) if u["enrolid"] == instance["id"]), None)
        if ue is None:
            continue
        del st.user_enrolments[ue["id"]]
        if not st.user_enrolments_in(e["courseid"], user["id"]):
            # Last enrolment gone: every role in the course and every group membership goes too.
            for raid in [ra["id"] for ra in st.role_assignments.values()
                         if ra["contextid"] == cctx and ra["userid"] == user["id"]]:
                del st.role_assignments[raid]
            gids = {g["id"] for g in st.groups.values() if g["courseid"] == e["courseid"]}
            for mid in [m["id"] for m in st.group_members.values()
                        if m["groupid"] in gids and m["userid"] == user["id"]]:
                del st.group_members[mid]


def _context_from_params(st: MoodleState, a: dict[str, Any]) -> int | None:
    """external_api::get_context_from_params()."""
    if not php_empty(a.get("contextid")):
        return a["contextid"] if a["contextid"] in st.contexts else None
    if not php_empty(a.get("contextlevel")) and "instanceid" in a:
        level_name = a["contextlevel"]
        level = CONTEXT_LEVEL_NAMES.get(level_name)
        if level is None and re.fullmatch(r"\d+", level_name) and int(level_name) in CONTEXT_LEVEL_NAMES.values():
            level = int(level_name)
        if level is None:
            raise InvalidParameterException(f"Invalid context level = {level_name}")
        if level == CONTEXT_SYSTEM:
            return st.system_context()
        return st.context_id(level, a["instanceid"])
    raise InvalidParameterException(
        "Missing parameters, please provide either context level with instance id or contextid")


ROLE_ASSIGN_ITEM = Single({
    "roleid": Value(PARAM_INT), "userid": Value(PARAM_INT),
    "contextid": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "contextlevel": Value(PARAM_ALPHA, required=VALUE_OPTIONAL),
    "instanceid": Value(PARAM_INT, required=VALUE_OPTIONAL),
})


# public/enrol/externallib.php core_role_external::assign_roles() + lib/accesslib.php role_assign()
@ws("core_role_assign_roles", Params({"assignments": Multiple(ROLE_ASSIGN_ITEM)}), None,
    transaction=True, component="core_role")
def assign_roles(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for a in p["assignments"]:
        cid = validate_context(_context_from_params(st, a))
        if a["roleid"] not in st.assignable_roles(cid):
            raise InvalidParameterException(
                f"Can not assign roleid={a['roleid']} in contextid={php_str(a.get('contextid'))}")
        user = st.users.get(a["userid"])
        if a["userid"] == 0 or user is None or user["deleted"]:
            raise CodingException("User ID does not exist or is deleted!", f"userid:{a['userid']}")
        st.role_assign(a["roleid"], a["userid"], cid)


# public/enrol/externallib.php core_role_external::unassign_roles() + role_unassign()
@ws("core_role_unassign_roles", Params({"unassignments": Multiple(ROLE_ASSIGN_ITEM)}), None,
    transaction=True, component="core_role")
def unassign_roles(ctx: Ctx, p: dict[str, Any]) -> None:
    st = ctx.state
    for a in p["unassignments"]:
        cid = validate_context(_context_from_params(st, a))
        if a["roleid"] not in st.assignable_roles(cid):
            raise InvalidParameterException(
                f"Can not unassign roleid={a['roleid']} in contextid={php_str(a.get('contextid'))}")
        st.role_unassign(a["roleid"], a["userid"], cid)
