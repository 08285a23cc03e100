"""Emulated mod_forum functions for a course's announcements forum (``report session --post``):
get_forums_by_courses, get_forum_discussions and add_discussion, as
public/mod/forum/externallib.php (Moodle 5.1) defines them, and the news forum a course
gets when it is created (mod/forum/classes/observer.php course_created() ->
forum_get_course_forum(), mod/forum/lib.php).
"""

from __future__ import annotations

from typing import Any

from .moodle_functions import WARNINGS, Ctx, fullname, ws
from .moodle_params import (
    PARAM_ALPHANUM,
    PARAM_BOOL,
    PARAM_INT,
    PARAM_RAW,
    PARAM_SAFEDIR,
    PARAM_TEXT,
    VALUE_DEFAULT,
    VALUE_OPTIONAL,
    InvalidParameterException,
    MoodleException,
    Multiple,
    Params,
    Single,
    Value,
    clean_param,
    missing_record,
)
from .moodle_state import CONTEXT_MODULE, MoodleState, now

FORMAT_HTML = 1
#: mod/forum/lib.php FORUM_FORCESUBSCRIBE; $CFG->forum_announcementsubscription defaults to it
FORUM_FORCESUBSCRIBE = 1
#: discussion_list vault SORTORDER_* (mod/forum/classes/local/vaults/discussion_list.php)
SORTORDERS = {1: ("modified", True), 2: ("modified", False), 3: ("created", True), 4: ("created", False),
              5: ("replies", True), 6: ("replies", False)}
#: course formats whose supports_news() is true (course/format/{topics,weeks}/lib.php; base: false)
NEWS_FORMATS = ("topics", "weeks")


def add_course_forum(st: MoodleState, course: dict[str, Any]) -> dict[str, Any] | None:
    """The observer of course_created: a news forum when the format shows news and newsitems > 0
    (forum_get_course_forum(): the oldest one if there is one, else a new one in section 0)."""
    if course["format"] not in NEWS_FORMATS or not int(course.get("newsitems") or 0):
        return None
    forums = st.mod_instances.setdefault("forum", {})
    have = sorted((f for f in forums.values() if f["course"] == course["id"] and f["type"] == "news"),
                  key=lambda f: f["id"])
    if have:
        return have[0]
    fid = st.next_id("mod_forum")
    forum = {"id": fid, "course": course["id"], "type": "news", "name": "Announcements",
             "intro": "General news and announcements", "introformat": FORMAT_HTML,
             "forcesubscribe": FORUM_FORCESUBSCRIBE, "maxattachments": 9, "maxbytes": 512000, "assessed": 0,
             "timemodified": now(), "lang": ""}
    forums[fid] = forum
    section = next((s for s in st.course_sections(course["id"]) if s["section"] == 0), None)
    if section is None:
        section = st.add_section(course["id"], 0)
    cmid = st.next_id("course_modules")
    st.modules[cmid] = {
        "id": cmid, "course": course["id"], "module": 9, "modname": "forum", "instance": fid,
        "section": section["id"], "name": forum["name"], "idnumber": "", "added": now(), "visible": 1,
        "visibleold": 1, "visibleoncoursepage": 1, "indent": 0, "groupmode": 0, "completion": 0,
        "showdescription": 0, "_eventsvisible": 1, "availability": None,
    }
    st.add_context(CONTEXT_MODULE, cmid, st.course_context(course["id"]))
    section["sequence"].append(cmid)
    return forum


def _cm_of(st: MoodleState, forum: dict[str, Any]) -> dict[str, Any]:
    return next(cm for cm in st.modules.values() if cm["modname"] == "forum" and cm["instance"] == forum["id"])


def _discussions(st: MoodleState) -> dict[int, dict[str, Any]]:
    return st.forum_discussions


def _posts(st: MoodleState) -> dict[int, dict[str, Any]]:
    return st.forum_posts


FORUM = Single({
    "id": Value(PARAM_INT), "course": Value(PARAM_INT), "type": Value(PARAM_TEXT), "name": Value(PARAM_RAW),
    "intro": Value(PARAM_RAW), "introformat": Value(PARAM_INT),
    "introfiles": Multiple(Single({"filename": Value(PARAM_RAW)}), required=VALUE_OPTIONAL),
    "lang": Value(PARAM_SAFEDIR, required=VALUE_OPTIONAL),
    "duedate": Value(PARAM_INT, required=VALUE_OPTIONAL), "cutoffdate": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "assessed": Value(PARAM_INT), "assesstimestart": Value(PARAM_INT), "assesstimefinish": Value(PARAM_INT),
    "scale": Value(PARAM_INT), "grade_forum": Value(PARAM_INT), "grade_forum_notify": Value(PARAM_INT),
    "maxbytes": Value(PARAM_INT), "maxattachments": Value(PARAM_INT), "forcesubscribe": Value(PARAM_INT),
    "trackingtype": Value(PARAM_INT), "rsstype": Value(PARAM_INT), "rssarticles": Value(PARAM_INT),
    "timemodified": Value(PARAM_INT), "warnafter": Value(PARAM_INT), "blockafter": Value(PARAM_INT),
    "blockperiod": Value(PARAM_INT), "completiondiscussions": Value(PARAM_INT), "completionreplies": Value(PARAM_INT),
    "completionposts": Value(PARAM_INT), "cmid": Value(PARAM_INT),
    "numdiscussions": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "cancreatediscussions": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
    "lockdiscussionafter": Value(PARAM_INT, required=VALUE_OPTIONAL),
    "istracked": Value(PARAM_BOOL, required=VALUE_OPTIONAL),
    "unreadpostscount": Value(PARAM_INT, required=VALUE_OPTIONAL),
})


# get_forums_by_courses(): the forums of the given courses the user may see; a course the user
# cannot enter is skipped (external_util::validate_courses; its warnings are not returned).
@ws("mod_forum_get_forums_by_courses",
     Params({"courseids": Multiple(Value(PARAM_INT), required=VALUE_DEFAULT, default=[])}), Multiple(FORUM), component="mod_forum")
def get_forums_by_courses(ctx: Ctx, p: dict[str, Any]) -> list[dict[str, Any]]:
    st = ctx.state
    courses = [c for c in dict.fromkeys(p["courseids"]) if c in st.courses and st.course_context(c)]
    out = []
    for forum in sorted((f for f in st.mod_instances.get("forum", {}).values() if f["course"] in courses),
                        key=lambda f: f["id"]):
        cm = _cm_of(st, forum)
        out.append({
            "id": forum["id"], "course": forum["course"], "type": forum["type"], "name": ctx.fs(forum["name"]),
            "intro": ctx.ft(forum["intro"], forum["introformat"])[0], "introformat": FORMAT_HTML, "introfiles": [],
            "lang": forum.get("lang") or "", "duedate": 0, "cutoffdate": 0, "assessed": forum["assessed"],
            "assesstimestart": 0, "assesstimefinish": 0, "scale": 0, "grade_forum": 0, "grade_forum_notify": 0,
            "maxbytes": forum["maxbytes"], "maxattachments": forum["maxattachments"],
            "forcesubscribe": forum["forcesubscribe"], "trackingtype": 1, "rsstype": 0, "rssarticles": 0,
            "timemodified": forum["timemodified"], "warnafter": 0, "blockafter": 0, "blockperiod": 0,
            "completiondiscussions": 0, "completionreplies": 0, "completionposts": 0, "cmid": cm["id"],
            "numdiscussions": sum(1 for d in _discussions(st).values() if d["forum"] == forum["id"]),
            "cancreatediscussions": True, "lockdiscussionafter": 0, "istracked": False,
        })
    return out


DISCUSSION = Single({
    "id": Value(PARAM_INT), "name": Value(PARAM_RAW), "groupid": Value(PARAM_INT), "timemodified": Value(PARAM_INT),
    "usermodified": Value(PARAM_INT), "timestart": Value(PARAM_INT), "timeend": Value(PARAM_INT),
    "discussion": Value(PARAM_INT), "parent": Value(PARAM_INT), "userid": Value(PARAM_INT),
    "created": Value(PARAM_INT), "modified": Value(PARAM_INT), "mailed": Value(PARAM_INT),
    "subject": Value(PARAM_RAW), "message": Value(PARAM_RAW), "messageformat": Value(PARAM_INT),
    "messagetrust": Value(PARAM_INT), "attachment": Value(PARAM_RAW), "totalscore": Value(PARAM_INT),
    "mailnow": Value(PARAM_INT), "userfullname": Value(PARAM_TEXT), "usermodifiedfullname": Value(PARAM_TEXT),
    "userpictureurl": Value(PARAM_RAW), "usermodifiedpictureurl": Value(PARAM_RAW),
    "numreplies": Value(PARAM_INT), "numunread": Value(PARAM_INT), "pinned": Value(PARAM_BOOL),
    "locked": Value(PARAM_BOOL), "starred": Value(PARAM_BOOL), "canreply": Value(PARAM_BOOL),
    "canlock": Value(PARAM_BOOL), "canfavourite": Value(PARAM_BOOL),
})


# get_forum_discussions() (since 3.7): every discussion by default (page -1, perpage 0), pinned first,
# then by the sort order (default: last post first); one row per discussion, its first post's fields.
@ws("mod_forum_get_forum_discussions",
     Params({"forumid": Value(PARAM_INT),
             "sortorder": Value(PARAM_INT, required=VALUE_DEFAULT, default=-1),
             "page": Value(PARAM_INT, required=VALUE_DEFAULT, default=-1),
             "perpage": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
             "groupid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0)}),
     Single({"discussions": Multiple(DISCUSSION), "warnings": WARNINGS}), component="mod_forum")
def get_forum_discussions(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    sortorder = 1 if p["sortorder"] == -1 else p["sortorder"]
    if sortorder not in SORTORDERS:
        raise InvalidParameterException(f"Invalid value for sortorder parameter (value: {p['sortorder']}),"
                                        " allowed values are: 1,2,3,4,5,6")
    forum = st.mod_instances.get("forum", {}).get(p["forumid"])
    if forum is None:
        raise MoodleException(f"Unable to find forum with id {p['forumid']}")
    posts = _posts(st)
    mine = [d for d in _discussions(st).values() if d["forum"] == forum["id"]]
    field, descending = SORTORDERS[sortorder]

    def sort_value(d: dict[str, Any]) -> int:
        if field == "replies":
            return sum(1 for x in posts.values() if x["discussion"] == d["id"] and x["parent"])
        return int(d["timemodified"] if field == "modified" else posts[d["firstpost"]]["created"])

    # discussion_list::get_sort_order(): pinned first, then the key, then the id, both in the one direction
    sign = -1 if descending else 1
    mine.sort(key=lambda d: (-d["pinned"], sign * sort_value(d), sign * d["id"]))
    if p["page"] >= 0 and p["perpage"] > 0:
        mine = mine[p["page"] * p["perpage"]:(p["page"] + 1) * p["perpage"]]
    out = []
    for d in mine:
        first = posts[d["firstpost"]]
        author = st.users.get(first["userid"], {"firstname": "", "lastname": ""})
        picture = f"{ctx.siteurl}/theme/image.php/boost/core/1/u/f2"
        out.append({
            "id": first["id"], "name": ctx.fs(d["name"]), "groupid": d["groupid"], "timemodified": d["timemodified"],
            "usermodified": d["usermodified"], "timestart": 0, "timeend": 0, "discussion": d["id"], "parent": 0,
            "userid": first["userid"], "created": first["created"], "modified": first["modified"], "mailed": 0,
            "subject": ctx.fs(first["subject"]), "message": ctx.ft(first["message"], first["messageformat"])[0],
            "messageformat": FORMAT_HTML, "messagetrust": 0, "attachment": "", "totalscore": 0, "mailnow": 0,
            "userfullname": fullname(author), "usermodifiedfullname": fullname(author),
            "userpictureurl": picture, "usermodifiedpictureurl": picture,
            "numreplies": sum(1 for x in posts.values() if x["discussion"] == d["id"] and x["parent"]),
            "numunread": 0, "pinned": bool(d["pinned"]), "locked": False, "starred": False, "canreply": True,
            "canlock": True, "canfavourite": True,
        })
    return {"discussions": out, "warnings": []}


# add_discussion(): the forum must exist (MUST_EXIST); options are checked by name; a forum
# without group mode posts for everyone (groupid -1); the message is stored as given, HTML.
@ws("mod_forum_add_discussion",
     Params({"forumid": Value(PARAM_INT), "subject": Value(PARAM_TEXT), "message": Value(PARAM_RAW),
             "groupid": Value(PARAM_INT, required=VALUE_DEFAULT, default=0),
             "options": Multiple(Single({"name": Value(PARAM_ALPHANUM), "value": Value(PARAM_RAW)}),
                                 required=VALUE_DEFAULT, default=[])}),
     Single({"discussionid": Value(PARAM_INT), "warnings": WARNINGS}), component="mod_forum")
def add_discussion(ctx: Ctx, p: dict[str, Any]) -> dict[str, Any]:
    st = ctx.state
    forum = st.mod_instances.get("forum", {}).get(p["forumid"])
    if forum is None:
        raise missing_record("forum", {"id": p["forumid"]})
    options: dict[str, Any] = {"discussionsubscribe": True, "discussionpinned": False}
    for option in p["options"]:
        name = option["name"].strip()
        if name in ("discussionsubscribe", "discussionpinned"):
            options[name] = clean_param(option["value"], PARAM_BOOL)
        elif name in ("inlineattachmentsid", "attachmentsid"):
            options[name] = clean_param(option["value"], PARAM_INT)
        else:
            raise MoodleException("errorinvalidparam", "webservice", name)
    cm = _cm_of(st, forum)
    course = st.courses[forum["course"]]
    groupmode = course["groupmode"] if course.get("groupmodeforce") else cm["groupmode"]
    groupid = -1 if not groupmode else p["groupid"]
    t = now()
    did, pid = st.next_id("forum_discussions"), st.next_id("forum_posts")
    _discussions(st)[did] = {"id": did, "course": forum["course"], "forum": forum["id"], "name": p["subject"],
                             "firstpost": pid, "userid": ctx.userid, "groupid": groupid, "assessed": 0,
                             "timemodified": t, "usermodified": ctx.userid, "timestart": 0, "timeend": 0,
                             "pinned": 1 if options["discussionpinned"] else 0, "timelocked": 0}
    _posts(st)[pid] = {"id": pid, "discussion": did, "parent": 0, "userid": ctx.userid, "created": t,
                       "modified": t, "mailed": 0, "subject": p["subject"], "message": p["message"],
                       "messageformat": FORMAT_HTML, "messagetrust": 0, "attachment": "", "totalscore": 0,
                       "mailnow": 0, "privatereplyto": 0, "wordcount": None, "charcount": None}
    forum["timemodified"] = t
    return {"discussionid": did, "warnings": []}
