"""In-memory state of the emulated Moodle site.

The tables mirror the Moodle database tables the emulated functions touch
(``course``, ``course_categories``, ``course_sections``, ``course_modules``,
``user``, ``enrol``, ``user_enrolments``, ``role_assignments``, ``groups``,
``groups_members``, ``event``, ``context``, ``files``; the instance tables of
the module types the companion plugin creates, ``feedback_item``,
``feedback_completed``, ``attendance_sessions``; the plugin's own
``local_ocasync_sections`` and ``local_ocasync_items``), as plain dicts of dicts. A fresh
state looks like a fresh Moodle install: guest user (id 1), admin (id 2), the
front-page "site" course (id 1, format ``site``), the ``Miscellaneous``
category (id 1) and the eight standard roles.

The state is not thread-safe by itself: :class:`~oca_sync.sandbox.moodle.MoodleSandbox`
holds one lock around every call.
"""

from __future__ import annotations

import datetime as _dt
import hashlib
import mimetypes
import pickle
import time
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any
from zoneinfo import ZoneInfo

from .moodle_params import (
    DmlWriteException,
    FORMAT_HTML,
    FORMAT_MOODLE,
    PARAM_BOOL,
    FilterConfig,
    OutputSettings,
    clean_param,
    format_string,
    missing_record,
    php_empty,
)

SITEID = 1

CONTEXT_SYSTEM = 10
CONTEXT_USER = 30
CONTEXT_COURSECAT = 40
CONTEXT_COURSE = 50
CONTEXT_MODULE = 70

#: MAX_COURSES_IN_CATEGORY in public/lib/datalib.php (the category sortorder step)
MAX_COURSES_IN_CATEGORY = 10000

ENROL_INSTANCE_ENABLED = 0
ENROL_INSTANCE_DISABLED = 1
ENROL_USER_ACTIVE = 0
ENROL_USER_SUSPENDED = 1

#: Standard roles as public/lib/db/install.php creates them (names are empty:
#: the displayed names come from language strings).
STANDARD_ROLES: list[tuple[int, str, str]] = [
    (1, "manager", "manager"),
    (2, "coursecreator", "coursecreator"),
    (3, "editingteacher", "editingteacher"),
    (4, "teacher", "teacher"),
    (5, "student", "student"),
    (6, "guest", "guest"),
    (7, "user", "user"),
    (8, "frontpage", "frontpage"),
]

#: Role archetypes assignable per context level (get_compatible_role_archetypes
#: in public/lib/classes/context/*.php).
ASSIGNABLE_ARCHETYPES: dict[int, tuple[str, ...]] = {
    CONTEXT_SYSTEM: ("manager", "coursecreator"),
    CONTEXT_COURSECAT: ("manager", "coursecreator"),
    CONTEXT_COURSE: ("manager", "editingteacher", "teacher", "student"),
    CONTEXT_MODULE: ("editingteacher", "teacher", "student"),
    CONTEXT_USER: (),
}

#: Archetypes whose users are tracked by completion (moodle/course:isincompletionreports).
TRACKED_ARCHETYPES = ("student",)

CONTEXT_LEVEL_NAMES = {
    "system": CONTEXT_SYSTEM, "user": CONTEXT_USER, "coursecat": CONTEXT_COURSECAT,
    "course": CONTEXT_COURSE, "module": CONTEXT_MODULE, "block": 80,
}


def now() -> int:
    return int(time.time())


@dataclass
class SiteSettings:
    """Site-wide settings the emulated functions read."""

    sitename: str = "Sandbox Moodle"
    shortname: str = "sandbox"
    release: str = "5.1+ (Build: 20251017)"
    version: str = "2025100600.02"
    lang: str = "en"
    calendartype: str = "gregorian"
    timezone: str = "Asia/Bishkek"
    enablecompletion: bool = True
    #: $CFG->enableavailability (restricted access; on by default since Moodle 3.x, admin/settings/subsystems.php)
    enableavailability: bool = True
    passwordpolicy: bool = True
    minpasswordlength: int = 8
    minpassworddigits: int = 1
    minpasswordlower: int = 1
    minpasswordupper: int = 1
    minpasswordnonalphanum: int = 1
    allowaccountssameemail: bool = False
    # moodlecourse/* defaults (public/admin/settings/courses.php)
    course_format: str = "topics"
    course_visible: int = 1
    course_newsitems: int = 5
    course_showgrades: int = 1
    course_showreports: int = 0
    course_maxbytes: int = 0
    course_groupmode: int = 0
    course_groupmodeforce: int = 0
    course_enablecompletion: int = 1
    course_showcompletionconditions: int = 1
    course_showactivitydates: int = 1
    course_hiddensections: int = 1
    course_coursedisplay: int = 0
    course_enddateenabled: bool = True
    course_duration: int = 365 * 24 * 3600
    filters: FilterConfig = field(default_factory=FilterConfig)


#: Sizes (characters) of the char columns the emulated functions write, as Moodle 5.1's
#: install.xml files declare them (public/lib/db/install.xml, public/mod/*/db/install.xml,
#: mod_attendance db/install.xml). A longer value makes the database refuse the write.
COLUMN_SIZES: dict[str, dict[str, int]] = {
    "course": {"fullname": 1333, "shortname": 255, "idnumber": 100},
    "groups": {"name": 254, "idnumber": 100, "enrolmentkey": 50},
    "user": {"username": 100, "firstname": 100, "lastname": 100, "email": 100, "city": 120, "idnumber": 255},
    "course_sections": {"name": 1333},
    "course_modules": {"idnumber": 100},
    "feedback_item": {"name": 1333, "label": 255},
    # the instance tables' name (url, page, label, resource, feedback: 1333; attendance: 255)
    "module": {"name": 1333},
    "attendance": {"name": 255},
}


def check_columns(table: str, record: dict[str, Any]) -> None:
    """Refuse a record whose text does not fit its column, as PostgreSQL does
    (``ERROR: value too long for type character varying(N)`` -> dml_write_exception)."""
    for column, size in COLUMN_SIZES[table].items():
        value = record.get(column)
        if isinstance(value, str) and len(value) > size:
            raise DmlWriteException(f"ERROR:  value too long for type character varying({size})")


@dataclass
class MoodleState:
    """All tables of the emulated site plus id counters."""

    settings: SiteSettings = field(default_factory=SiteSettings)
    contexts: dict[int, dict[str, Any]] = field(default_factory=dict)
    users: dict[int, dict[str, Any]] = field(default_factory=dict)
    categories: dict[int, dict[str, Any]] = field(default_factory=dict)
    courses: dict[int, dict[str, Any]] = field(default_factory=dict)
    sections: dict[int, dict[str, Any]] = field(default_factory=dict)
    modules: dict[int, dict[str, Any]] = field(default_factory=dict)
    enrol: dict[int, dict[str, Any]] = field(default_factory=dict)
    user_enrolments: dict[int, dict[str, Any]] = field(default_factory=dict)
    role_assignments: dict[int, dict[str, Any]] = field(default_factory=dict)
    roles: dict[int, dict[str, Any]] = field(default_factory=dict)
    groups: dict[int, dict[str, Any]] = field(default_factory=dict)
    group_members: dict[int, dict[str, Any]] = field(default_factory=dict)
    events: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: course id -> list of completion criteria dicts (sandbox-only helper data)
    completion_criteria: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    #: (userid, cmid) -> completion state
    cm_completion: dict[tuple[int, int], dict[str, Any]] = field(default_factory=dict)
    #: course_completion_aggr_methd: (course id, criteria type or None for overall) -> method
    completion_aggr: dict[tuple[int, int | None], int] = field(default_factory=dict)
    #: installed plugins beyond core, component -> version (mod_attendance, local_ocasync)
    plugins: dict[str, int] = field(default_factory=dict)
    #: module types an administrator disabled (``modules.visible = 0``)
    disabled_modules: set[str] = field(default_factory=set)
    #: module instance tables (``url``, ``page``, ``label``, ``resource``, ``feedback``,
    #: ``attendance``...): modname -> instance id -> record. The instance's name is
    #: kept in ``modules[cmid]["name"]`` (what core_update_inplace_editable renames).
    mod_instances: dict[str, dict[int, dict[str, Any]]] = field(default_factory=dict)
    #: the ``files`` table (no directory entries); contents in ``filedir`` by SHA-1
    files: dict[int, dict[str, Any]] = field(default_factory=dict)
    filedir: dict[str, bytes] = field(default_factory=dict)
    feedback_items: dict[int, dict[str, Any]] = field(default_factory=dict)
    feedback_completed: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: feedback_value: one answer (``completed``, ``item``, ``value``)
    feedback_values: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: mod_forum: forum_discussions and forum_posts (the news forum's announcements)
    forum_discussions: dict[int, dict[str, Any]] = field(default_factory=dict)
    forum_posts: dict[int, dict[str, Any]] = field(default_factory=dict)
    attendance_sessions: dict[int, dict[str, Any]] = field(default_factory=dict)
    attendance_log: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: mod_attendance's status sets (moodle_fn_attendance adds the default set)
    attendance_statuses: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: local_ocasync_sections: oca-sync keys of sections
    ocasync_sections: dict[int, dict[str, Any]] = field(default_factory=dict)
    #: local_ocasync_items: oca-sync keys of feedback questions
    ocasync_items: dict[int, dict[str, Any]] = field(default_factory=dict)
    _next: dict[str, int] = field(default_factory=dict)
    #: derived lookup indexes (see :meth:`_index`); never part of a snapshot
    _indexes: dict[str, tuple[Any, ...]] = field(default_factory=dict, repr=False, compare=False)

    # -- ids -------------------------------------------------------------------

    def next_id(self, table: str) -> int:
        value = self._next.get(table, 1)
        self._next[table] = value + 1
        return value

    def snapshot(self) -> MoodleState:
        """A deep copy of every table, for a call's rollback (a delegated transaction).

        pickle copies the plain dicts and lists of the tables in C, several times faster
        than copy.deepcopy (this runs before every transactional write call, over the
        whole site); the stored files' bytes are immutable and shared, not copied.
        """
        filedir, indexes = self.filedir, self._indexes
        self.filedir, self._indexes = {}, {}
        try:
            copied: MoodleState = pickle.loads(pickle.dumps(self, protocol=pickle.HIGHEST_PROTOCOL))
        finally:
            self.filedir, self._indexes = filedir, indexes
        copied.filedir = dict(filedir)
        return copied

    def restore(self, other: MoodleState) -> None:
        copied = other.snapshot()
        copied._indexes = {}
        self.__dict__.update(copied.__dict__)

    def _index(self, table_name: str, key: Callable[[dict[str, Any]], Hashable]) -> dict[Any, list[dict[str, Any]]]:
        """Rows of a table grouped by ``key`` (in table order), rebuilt when the table changed.

        The emulated functions write the tables directly, so an index cannot be kept up to
        date on writes; instead it is checked against the table's identity, size and last key.
        Row ids only grow (:meth:`next_id`), so any insert or delete changes the size or the
        last key (dicts keep insertion order). Only keys of columns that no function changes
        in place may be indexed (context level and instance, user, enrolment and session ids),
        and a row is never replaced under its id; callers still check the rows they get.
        """
        table: dict[int, dict[str, Any]] = getattr(self, table_name)
        stamp = (len(table), next(reversed(table), None))
        name = f"{table_name}.{key.__name__}"
        cached = self._indexes.get(name)
        if cached is not None and cached[0] is table:
            (old_len, old_last), index = cached[1], cached[2]
            if (old_len, old_last) == stamp:
                return index  # type: ignore[no-any-return]
            # Rows only appended since (a write loop inserting one row per item): add those.
            added = []
            for rid in reversed(table):
                if rid == old_last:
                    break
                added.append(rid)
            if old_len + len(added) == len(table):
                for rid in reversed(added):
                    row = table[rid]
                    index.setdefault(key(row), []).append(row)
                self._indexes[name] = (table, stamp, index)
                return index  # type: ignore[no-any-return]
        index = {}
        for row in table.values():
            index.setdefault(key(row), []).append(row)
        self._indexes[name] = (table, stamp, index)
        return index

    # -- contexts --------------------------------------------------------------

    def add_context(self, level: int, instanceid: int, parent: int | None) -> int:
        cid = self.next_id("context")
        parent_path = self.contexts[parent]["path"] if parent else ""
        self.contexts[cid] = {"id": cid, "contextlevel": level, "instanceid": instanceid,
                              "path": f"{parent_path}/{cid}", "parent": parent}
        return cid

    def context_id(self, level: int, instanceid: int) -> int | None:
        for ctx in self._index("contexts", _context_key).get((level, instanceid), ()):
            if ctx["contextlevel"] == level and ctx["instanceid"] == instanceid:
                return ctx["id"]  # type: ignore[no-any-return]
        return None

    def system_context(self) -> int:
        return 1

    def course_context(self, courseid: int) -> int | None:
        return self.context_id(CONTEXT_COURSE, courseid)

    # -- users -----------------------------------------------------------------

    def new_user(self, **fields: Any) -> dict[str, Any]:
        uid = self.next_id("user")
        t = now()
        user: dict[str, Any] = {
            "id": uid, "auth": "manual", "confirmed": 1, "policyagreed": 0, "deleted": 0,
            "suspended": 0, "mnethostid": 1, "username": "", "password": "", "idnumber": "",
            "firstname": "", "lastname": "", "email": "", "emailstop": 0, "phone1": "",
            "phone2": "", "institution": "", "department": "", "address": "", "city": "",
            "country": "", "lang": self.settings.lang, "calendartype": self.settings.calendartype,
            "theme": "", "timezone": "99", "firstaccess": 0, "lastaccess": 0, "lastlogin": 0,
            "currentlogin": 0, "lastip": "", "secret": "", "picture": 0, "description": None,
            "descriptionformat": FORMAT_HTML, "mailformat": 1, "maildigest": 0, "maildisplay": 2,
            "autosubscribe": 1, "trackforums": 0, "timecreated": t, "timemodified": t,
            "firstnamephonetic": None, "lastnamephonetic": None, "middlename": None,
            "alternatename": None, "interests": [], "customfields": {}, "preferences": {},
        }
        user.update(fields)
        check_columns("user", user)
        self.users[uid] = user
        self.add_context(CONTEXT_USER, uid, self.system_context())
        return user

    def user_by_username(self, username: str) -> dict[str, Any] | None:
        for u in self.users.values():
            if u["username"] == username and u["mnethostid"] == 1:
                return u
        return None

    def get_user(self, userid: int) -> dict[str, Any]:
        """core_user::get_user($id, '*', MUST_EXIST)."""
        user = self.users.get(userid)
        if user is None:
            raise missing_record("user", {"id": userid})
        return user

    # -- categories ------------------------------------------------------------

    def fix_sortorder(self) -> None:
        """A simplified fix_course_sortorder(): categories depth-first, steps of 10000,
        courses numbered inside their category; course counts recomputed."""
        order = 0

        def walk(parent: int) -> None:
            nonlocal order
            children = [c for c in self.categories.values() if c["parent"] == parent]
            children.sort(key=lambda c: (c["_pos"], c["id"]))
            for cat in children:
                order += 1
                cat["sortorder"] = order * MAX_COURSES_IN_CATEGORY
                walk(cat["id"])

        walk(0)
        for cat in self.categories.values():
            courses = [c for c in self.courses.values() if c["category"] == cat["id"]]
            cat["coursecount"] = len(courses)
            # New courses go to the top of their category (create_course: sortorder 0).
            courses.sort(key=lambda c: (-c["_pos"], c["id"]))
            for i, course in enumerate(courses, start=1):
                course["sortorder"] = cat["sortorder"] + i
        if SITEID in self.courses:
            self.courses[SITEID]["sortorder"] = 1

    def add_category(self, name: str, parent: int = 0, idnumber: str | None = None,
                      description: str = "", descriptionformat: int = FORMAT_MOODLE,
                      visible: int | None = None, theme: str | None = None) -> dict[str, Any]:
        """core_course_category::create() minus validation (done by the caller)."""
        cid = self.next_id("course_categories")
        if parent:
            p = self.categories[parent]
            depth, path, parent_visible = p["depth"] + 1, p["path"], p["visible"]
            parent_ctx = self.context_id(CONTEXT_COURSECAT, parent)
        else:
            depth, path, parent_visible = 1, "", 1
            parent_ctx = self.system_context()
        if visible is not None and not visible:
            vis, visold = 0, 0
        else:
            vis, visold = parent_visible, 1
        cat = {"id": cid, "name": name, "idnumber": idnumber, "description": description,
               "descriptionformat": descriptionformat, "parent": parent, "sortorder": 0,
               "coursecount": 0, "visible": vis, "visibleold": visold, "timemodified": now(),
               "depth": depth, "path": f"{path}/{cid}", "theme": theme, "_pos": cid}
        self.categories[cid] = cat
        self.add_context(CONTEXT_COURSECAT, cid, parent_ctx)
        self.fix_sortorder()
        return cat

    def get_category(self, catid: int) -> dict[str, Any]:
        cat = self.categories.get(catid)
        if cat is None:
            raise missing_record("course_categories", {"id": catid})
        return cat

    # -- courses ---------------------------------------------------------------

    def get_course(self, courseid: int) -> dict[str, Any]:
        """$DB->get_record('course', ['id' => $id], '*', MUST_EXIST)."""
        course = self.courses.get(courseid)
        if course is None:
            raise missing_record("course", {"id": courseid})
        return course

    def course_sections(self, courseid: int) -> list[dict[str, Any]]:
        secs = [s for s in self.sections.values() if s["course"] == courseid]
        secs.sort(key=lambda s: s["section"])
        return secs

    def add_section(self, courseid: int, sectionnum: int | None = None) -> dict[str, Any]:
        """course_create_section(): append (None) or insert at a position."""
        existing = self.course_sections(courseid)
        if sectionnum is None:
            sectionnum = (existing[-1]["section"] + 1) if existing else 0
        else:
            for s in existing:
                if s["section"] >= sectionnum:
                    s["section"] += 1
        sid = self.next_id("course_sections")
        section: dict[str, Any] = {"id": sid, "course": courseid, "section": sectionnum, "name": None,
                   "summary": "", "summaryformat": FORMAT_HTML, "sequence": [], "visible": 1,
                   "availability": None, "component": None, "itemid": None,
                   "timemodified": now()}
        self.sections[sid] = section
        self.update_end_date(courseid)  # \core\event\course_section_created -> format_weeks_observer
        return section

    def update_end_date(self, courseid: int) -> None:
        """format_weeks::update_end_date() (public/course/format/weeks/lib.php, 546-599).

        Run by format_weeks_observer on course_updated, course_section_created and
        course_section_deleted (weeks/db/events.php): with the format option
        ``automaticenddate`` (default 1) the end date becomes the end of the last
        section's week, whatever was sent.
        """
        course = self.courses.get(courseid)
        sections = self.course_sections(courseid)
        if course is None or course["format"] != "weeks" or not sections:  # its SQL joins course_sections
            return
        if php_empty(course["format_options"].get("automaticenddate", WEEKS_AUTOMATICENDDATE_DEFAULT)):
            return
        # get_section_dates(lastsection): the start date in the user's zone plus P7D per week before
        # it, and one more week. DateTime::add() moves the wall clock, as aware datetimes do here.
        start = _dt.datetime.fromtimestamp(course["startdate"], ZoneInfo(self.settings.timezone))
        for _ in range(1, sections[-1]["section"]):
            start += _dt.timedelta(days=7)
        end = int((start + _dt.timedelta(days=7)).timestamp())
        if course["enddate"] != end:
            course["enddate"] = end

    def last_section_number(self, courseid: int) -> int:
        secs = self.course_sections(courseid)
        return secs[-1]["section"] if secs else -1

    def section_name(self, section: dict[str, Any], out: OutputSettings, lang: str) -> str:
        """get_section_name(): the stored name, or the format's default name."""
        if section["name"] is not None and str(section["name"]) != "":
            return format_string(section["name"], out, self.settings.filters, lang)
        return self.default_section_name(section)

    def default_section_name(self, section: dict[str, Any]) -> str:
        course = self.courses[section["course"]]
        if course["format"] == "weeks" and section["section"] > 0:
            start = course["startdate"] + 7 * 24 * 3600 * (section["section"] - 1) + 7200
            end = start + 6 * 24 * 3600
            return f"{_day_month(start)} - {_day_month(end)}"
        if section["section"] == 0:
            return "General"  # format_topics section0name
        return "New section"  # format_topics newsection

    def user_context(self, userid: int) -> int | None:
        return self.context_id(CONTEXT_USER, userid)

    def module_context(self, cmid: int) -> int | None:
        return self.context_id(CONTEXT_MODULE, cmid)

    def instance(self, cm: dict[str, Any]) -> dict[str, Any]:
        """The instance record of a course module (a bare one when none was stored)."""
        table = self.mod_instances.setdefault(cm["modname"], {})
        record = table.get(cm["instance"])
        if record is None:
            record = {"id": cm["instance"], "course": cm["course"], "intro": "", "introformat": FORMAT_HTML,
                      "timemodified": cm.get("added", 0)}
            table[cm["instance"]] = record
        return record

    # -- files (public/lib/filestorage/file_storage.php) -------------------------

    def area_files(self, contextid: int | None, component: str, filearea: str,
                   itemid: int | None = None) -> list[dict[str, Any]]:
        """get_area_files(..., 'sortorder DESC, id ASC', includedirs=false)."""
        found = [f for f in self.files.values()
                 if f["contextid"] == contextid and f["component"] == component
                 and f["filearea"] == filearea and (itemid is None or f["itemid"] == itemid)]
        return sorted(found, key=lambda f: (-f["sortorder"], f["id"]))

    def file_exists(self, contextid: int | None, component: str, filearea: str, itemid: int,
                    filepath: str, filename: str) -> bool:
        return any(f["filepath"] == filepath and f["filename"] == filename
                   for f in self.area_files(contextid, component, filearea, itemid))

    def add_file(self, content: bytes, **record: Any) -> dict[str, Any]:
        """create_file_from_string(): the bytes go to the file pool under their SHA-1."""
        contenthash = hashlib.sha1(content).hexdigest()
        self.filedir[contenthash] = content
        fid = self.next_id("files")
        t = now()
        row: dict[str, Any] = {
            "id": fid, "contenthash": contenthash, "contextid": None, "component": "", "filearea": "",
            "itemid": 0, "filepath": "/", "filename": "", "userid": None, "filesize": len(content),
            "mimetype": _mimetype(record.get("filename", "")), "status": 0, "source": None,
            "author": None, "license": None, "timecreated": t, "timemodified": t, "sortorder": 0,
        }
        row.update(record)
        self.files[fid] = row
        return row

    # -- cascades ------------------------------------------------------------------

    def apply_cascades(self) -> None:
        """What Moodle does around a deletion, for rows the core emulation leaves behind.

        course_delete_module() deletes the instance, its events and its files;
        set_coursemodule_visible() toggles the module's calendar events;
        local_ocasync's observer drops the keys of deleted courses and sections
        (classes/observer.php) and of deleted feedback activities. Run after every
        web-service call, so core functions that delete (core_course_delete_courses,
        core_courseformat_update_course ``cm_delete`` / ``section_delete``) leave no
        orphans behind.
        """
        live = {(cm["modname"], cm["instance"]): cm for cm in self.modules.values()}
        for modname, table in self.mod_instances.items():
            for iid in [i for i in table if (modname, i) not in live]:
                del table[iid]
        feedbacks = self.mod_instances.get("feedback", {})
        for table in (self.feedback_items, self.feedback_completed):
            for rid in [r["id"] for r in table.values() if r["feedback"] not in feedbacks]:
                del table[rid]
        for rid in [r["id"] for r in self.ocasync_items.values() if r["feedbackid"] not in feedbacks]:
            del self.ocasync_items[rid]
        forums = self.mod_instances.get("forum", {})
        for did in [d["id"] for d in self.forum_discussions.values() if d["forum"] not in forums]:
            del self.forum_discussions[did]
        for pid in [x["id"] for x in self.forum_posts.values() if x["discussion"] not in self.forum_discussions]:
            del self.forum_posts[pid]
        attendances = self.mod_instances.get("attendance", {})
        for sid in [s["id"] for s in self.attendance_sessions.values() if s["attendanceid"] not in attendances]:
            del self.attendance_sessions[sid]
        for lid in [x["id"] for x in self.attendance_log.values() if x["sessionid"] not in self.attendance_sessions]:
            del self.attendance_log[lid]
        for eid in [e["id"] for e in self.events.values()
                    if e.get("modulename") and (e["modulename"], e["instance"]) not in live]:
            del self.events[eid]
        for cm in self.modules.values():
            shown = cm.setdefault("_eventsvisible", cm["visible"])
            if shown != cm["visible"]:
                self.toggle_module_events(cm)
        for fid in [f["id"] for f in self.files.values() if not self._file_context_alive(f["contextid"])]:
            del self.files[fid]
        for mid in [r["id"] for r in self.ocasync_sections.values()
                    if r["courseid"] not in self.courses or r["sectionid"] not in self.sections
                    or self.sections[r["sectionid"]]["course"] != r["courseid"]]:
            del self.ocasync_sections[mid]

    def toggle_module_events(self, cm: dict[str, Any]) -> None:
        """calendar_event::toggle_visibility() for the events of a module whose visibility changed."""
        for event in self.events.values():
            if event.get("modulename") == cm["modname"] and event.get("instance") == cm["instance"]:
                event["visible"] = 1 if cm["visible"] else 0
        cm["_eventsvisible"] = cm["visible"]

    def _file_context_alive(self, contextid: int | None) -> bool:
        ctx = self.contexts.get(contextid) if contextid is not None else None
        if ctx is None:
            return False
        if ctx["contextlevel"] == CONTEXT_MODULE:
            return ctx["instanceid"] in self.modules
        return True

    def course_modules(self, courseid: int) -> list[dict[str, Any]]:
        """Modules in course order (section number, then sequence)."""
        out: list[dict[str, Any]] = []
        for section in self.course_sections(courseid):
            out.extend(self.modules[cmid] for cmid in section["sequence"] if cmid in self.modules)
        return out

    # -- enrolments and roles --------------------------------------------------

    def course_enrol_instances(self, courseid: int, enabled_only: bool = False) -> list[dict[str, Any]]:
        out = [e for e in self.enrol.values() if e["courseid"] == courseid]
        if enabled_only:
            out = [e for e in out if e["status"] == ENROL_INSTANCE_ENABLED]
        return sorted(out, key=lambda e: (e["sortorder"], e["id"]))

    def enrolled_userids(self, courseid: int) -> set[int]:
        """Users with an enrolment (of any status) in the course."""
        index = self._index("user_enrolments", _enrolid_key)
        return {ue["userid"] for e in self.enrol.values() if e["courseid"] == courseid
                for ue in index.get(e["id"], ()) if ue["enrolid"] == e["id"] and ue["userid"] in self.users}

    def attendance_log_of(self, sessionid: int) -> list[dict[str, Any]]:
        """The attendance_log rows of a session, in table order."""
        return [x for x in self._index("attendance_log", _session_key).get(sessionid, ()) if x["sessionid"] == sessionid]

    def user_enrolments_of(self, userid: int) -> list[dict[str, Any]]:
        """The user's enrolments in every course, in table order."""
        return [ue for ue in self._index("user_enrolments", _user_key).get(userid, ()) if ue["userid"] == userid]

    def user_enrolments_in(self, courseid: int, userid: int) -> list[dict[str, Any]]:
        enrol = self.enrol
        return [ue for ue in self._index("user_enrolments", _user_key).get(userid, ())
                if ue["userid"] == userid and ue["enrolid"] in enrol and enrol[ue["enrolid"]]["courseid"] == courseid]

    def is_enrolled(self, courseid: int, userid: int, onlyactive: bool = False) -> bool:
        for ue in self.user_enrolments_in(courseid, userid):
            if not onlyactive:
                return True
            if self._active(ue, now()):
                return True
        return False

    def active_courses_of(self, userid: int) -> set[int]:
        """The courses where :meth:`is_enrolled` (``onlyactive``) holds for the user, from the user's enrolments."""
        t = now()
        return {self.enrol[ue["enrolid"]]["courseid"] for ue in self.user_enrolments_of(userid)
                if ue["enrolid"] in self.enrol and self._active(ue, t)}

    def _active(self, ue: dict[str, Any], t: int) -> bool:
        instance = self.enrol[ue["enrolid"]]
        return bool(ue["status"] == ENROL_USER_ACTIVE and instance["status"] == ENROL_INSTANCE_ENABLED
                    and ue["timestart"] <= t and (ue["timeend"] == 0 or ue["timeend"] > t))

    def role_by_id(self, roleid: int) -> dict[str, Any] | None:
        return self.roles.get(roleid)

    def user_roles_in_context(self, contextid: int, userid: int) -> list[dict[str, Any]]:
        ras = [ra for ra in self._index("role_assignments", _user_key).get(userid, ())
               if ra["contextid"] == contextid and ra["userid"] == userid]
        seen: dict[int, dict[str, Any]] = {}
        for ra in sorted(ras, key=lambda r: (self.roles[r["roleid"]]["sortorder"], r["id"])):
            seen.setdefault(ra["roleid"], ra)
        return list(seen.values())

    def role_assign(self, roleid: int, userid: int, contextid: int, component: str = "",
                    itemid: int = 0) -> int:
        for ra in list(self._index("role_assignments", _user_key).get(userid, ())):
            if (ra["roleid"], ra["contextid"], ra["userid"], ra["component"], ra["itemid"]) == (
                    roleid, contextid, userid, component, itemid):
                return ra["id"]
        raid = self.next_id("role_assignments")
        self.role_assignments[raid] = {"id": raid, "roleid": roleid, "contextid": contextid,
                                       "userid": userid, "component": component,
                                       "itemid": itemid, "timemodified": now()}
        return raid

    def role_unassign(self, roleid: int, userid: int, contextid: int) -> None:
        for raid in [ra["id"] for ra in self._index("role_assignments", _user_key).get(userid, ())
                     if ra["roleid"] == roleid and ra["userid"] == userid
                     and ra["contextid"] == contextid and ra["component"] == ""]:
            del self.role_assignments[raid]

    def assignable_roles(self, contextid: int) -> dict[int, dict[str, Any]]:
        """get_assignable_roles() for a site administrator."""
        level = self.contexts[contextid]["contextlevel"]
        allowed = ASSIGNABLE_ARCHETYPES.get(level, ())
        return {r["id"]: r for r in sorted(self.roles.values(), key=lambda r: r["sortorder"])
                if r["archetype"] in allowed}

    # -- groups ----------------------------------------------------------------

    def group_members_of(self, groupid: int) -> list[dict[str, Any]]:
        return [m for m in self.group_members.values() if m["groupid"] == groupid]

    def is_group_member(self, groupid: int, userid: int) -> bool:
        return any(m["groupid"] == groupid for m in self._index("group_members", _user_key).get(userid, ()))

    def user_groups_in_course(self, courseid: int, userid: int) -> list[dict[str, Any]]:
        gids = {m["groupid"] for m in self._index("group_members", _user_key).get(userid, ())
                if m["userid"] == userid}
        groups = [self.groups[gid] for gid in gids if gid in self.groups and self.groups[gid]["courseid"] == courseid]
        return sorted(groups, key=lambda g: (g["name"], g["id"]))


def _context_key(ctx: dict[str, Any]) -> tuple[int, int]:
    return ctx["contextlevel"], ctx["instanceid"]


def _enrolid_key(row: dict[str, Any]) -> int:
    return row["enrolid"]  # type: ignore[no-any-return]


def _session_key(row: dict[str, Any]) -> int:
    return row["sessionid"]  # type: ignore[no-any-return]


def _user_key(row: dict[str, Any]) -> int:
    return row["userid"]  # type: ignore[no-any-return]


def _mimetype(filename: str) -> str:
    return mimetypes.guess_type(filename)[0] or "document/unknown"


def _day_month(ts: int) -> str:
    t = time.gmtime(ts)
    return f"{t.tm_mday} {time.strftime('%B', t)}"


def new_site(settings: SiteSettings | None = None, admin_email: str = "admin@example.com") -> MoodleState:
    """A state shaped like a fresh Moodle 5.1 install (public/lib/db/install.php)."""
    state = MoodleState(settings=settings or SiteSettings())
    state.add_context(CONTEXT_SYSTEM, 0, None)  # context id 1
    for rid, shortname, archetype in STANDARD_ROLES:
        state.roles[rid] = {"id": rid, "name": "", "shortname": shortname, "description": "",
                            "sortorder": rid, "archetype": archetype}
    state._next["role"] = len(STANDARD_ROLES) + 1

    # Front page course (SITEID) with sections 0 and 1.
    t = now()
    state._next["course"] = SITEID
    site = _course_record(state, SITEID, fullname=state.settings.sitename,
                          shortname=state.settings.shortname, category=0, format="site",
                          newsitems=3, summary=None, timecreated=t, enablecompletion=0,
                          startdate=0, enddate=0)
    site["showcompletionconditions"] = None
    state._next["course"] = SITEID + 1
    state.courses[SITEID] = site
    state.add_context(CONTEXT_COURSE, SITEID, state.system_context())
    state.add_section(SITEID, 0)
    state.add_section(SITEID, 1)

    state.new_user(username="guest", firstname="Guest user", lastname=" ", auth="manual",
                   email="root@localhost", description="This user is a special user that allows "
                   "read-only access to some courses.", descriptionformat=FORMAT_MOODLE,
                   mnethostid=1, confirmed=1)
    state.new_user(username="admin", firstname="Admin", lastname="User", email=admin_email,
                   confirmed=1, lang=state.settings.lang, timezone="99", firstaccess=t,
                   lastaccess=t)
    state.add_category(name="Miscellaneous", parent=0)
    return state


def _course_record(state: MoodleState, courseid: int, **fields: Any) -> dict[str, Any]:
    s = state.settings
    t = now()
    course: dict[str, Any] = {
        "id": courseid, "category": 1, "sortorder": 0, "fullname": "", "shortname": "",
        "idnumber": "", "summary": "", "summaryformat": FORMAT_HTML, "format": s.course_format,
        "showgrades": s.course_showgrades, "newsitems": s.course_newsitems, "startdate": 0,
        "enddate": 0, "relativedatesmode": 0, "marker": 0, "maxbytes": s.course_maxbytes,
        "legacyfiles": 0, "showreports": s.course_showreports, "visible": s.course_visible,
        "visibleold": s.course_visible, "downloadcontent": None,
        "groupmode": s.course_groupmode, "groupmodeforce": s.course_groupmodeforce,
        "defaultgroupingid": 0, "lang": "", "calendartype": "", "theme": "",
        "timecreated": t, "timemodified": t, "requested": 0,
        "enablecompletion": s.course_enablecompletion, "completionnotify": 0, "cacherev": t,
        "originalcourseid": None, "showactivitydates": s.course_showactivitydates,
        "showcompletionconditions": s.course_showcompletionconditions, "pdfexportfont": None,
        "format_options": {"hiddensections": str(s.course_hiddensections),
                           "coursedisplay": str(s.course_coursedisplay)},
        "customfields": {}, "_pos": courseid,
    }
    course.update(fields)
    return course




#: format_weeks::course_format_options(): 'automaticenddate' => ['default' => 1, 'type' => PARAM_BOOL]
WEEKS_AUTOMATICENDDATE_DEFAULT = "1"

def create_course_record(state: MoodleState, data: dict[str, Any]) -> dict[str, Any]:
    """The storage part of course/lib.php create_course(): insert the course, its
    context, default enrolment instances and sections 0..numsections."""
    cid = state.next_id("course")
    numsections = data.pop("numsections", None)
    format_options: dict[str, str] = {}
    for key in ("hiddensections", "coursedisplay"):
        if key in data:
            format_options[key] = str(data.pop(key))
    automatic = data.pop("automaticenddate", None)
    if automatic is not None and data.get("format", state.settings.course_format) == "weeks":
        format_options["automaticenddate"] = str(clean_param(automatic, PARAM_BOOL))
    course = _course_record(state, cid, **data)
    course["format_options"].update(format_options)
    check_columns("course", course)
    state.courses[cid] = course
    catctx = state.context_id(CONTEXT_COURSECAT, course["category"]) or state.system_context()
    state.add_context(CONTEXT_COURSE, cid, catctx)
    # enrol_course_updated(true, ...): manual (enabled), guest and self (disabled),
    # as the default enrol plugin settings add them.
    for sortorder, (plugin, status) in enumerate(
            [("manual", ENROL_INSTANCE_ENABLED), ("guest", ENROL_INSTANCE_DISABLED),
             ("self", ENROL_INSTANCE_DISABLED)]):
        eid = state.next_id("enrol")
        state.enrol[eid] = {"id": eid, "enrol": plugin, "status": status, "courseid": cid,
                            "sortorder": sortorder, "roleid": 5 if plugin != "guest" else 0,
                            "name": None}
    n = int(numsections) if numsections not in (None, "") else 0
    for num in range(max(n, 0) + 1):
        state.add_section(cid, num)
    state.fix_sortorder()
    return course
