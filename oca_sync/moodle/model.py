"""Records of the Moodle objects oca-sync manages, as desired and as observed.

The same record types describe both sides, so the planner compares like with
like. ``fields()`` returns the values we manage (what a plan diffs and what the
ledger stores); ids are kept apart since only observed objects have them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import fields as dataclass_fields
from typing import Any


@dataclass(frozen=True)
class Keys:
    """How our keys are built; everything we own starts with ``owned``."""

    prefix: str
    programme: str

    @property
    def owned(self) -> str:
        return f"{self.prefix}:{self.programme}:"

    @property
    def category(self) -> str:
        return f"{self.prefix}:{self.programme}"

    def course(self, shortname: str) -> str:
        return f"{self.owned}{shortname}"

    def group(self, shortname: str, org: str) -> str:
        return f"{self.owned}{shortname}:{org}"

    def user(self, person: str) -> str:
        return f"{self.owned}{person}"

    def module(self, shortname: str, local: str) -> str:
        return f"{self.owned}{shortname}:{local}"

    def survey(self, shortname: str, survey: str, group: str | None = None) -> str:
        """A survey's activity; a campaign check-in has one per organisation (``group``: its key)."""
        return self.module(shortname, f"{survey}@{group}" if group else survey)

    def event(self, shortname: str, session: str) -> str:
        return f"{self.owned}{shortname}:{session}"

    def group_event(self, shortname: str, session: str, group: str) -> str:
        """The event of a session for one group (a Moodle group event has a single group)."""
        return f"{self.event(shortname, session)}@{group}"

    def is_ours(self, idnumber: str | None) -> bool:
        return bool(idnumber) and str(idnumber).startswith(self.owned)


class Record:
    # No instance dict: a site of 100,000 users holds 100,000 of these (the subclasses have slots too).
    __slots__ = ()
    id: int | None

    def fields(self) -> dict[str, Any]:
        # A shallow copy: the fields are plain values and tuples (asdict's deep copy cost a second per
        # 10,000 records in a plan).
        d = {f.name: getattr(self, f.name) for f in dataclass_fields(self)}  # type: ignore[arg-type]
        d.pop("id", None)
        return d


@dataclass(frozen=True, slots=True)
class Category(Record):
    idnumber: str
    name: str
    description: str
    parent: int
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Course(Record):
    idnumber: str
    shortname: str
    fullname: str
    summary: str
    category: str  # idnumber of the category (resolved to an id when writing)
    startdate: int
    enddate: int
    format: str
    visible: bool
    enablecompletion: bool
    #: format_weeks computes the end date itself while this format option is on (its default):
    #: we keep it off so that the spec's end holds (and read as off in formats without it)
    automaticenddate: bool = False
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Section(Record):
    """A course section; ``key``, ``summary`` and ``visible`` are managed only through the plugin."""

    course: str  # course idnumber
    number: int
    name: str
    key: str = ""
    summary: str = ""
    visible: bool = True
    #: idnumbers of the groups the section is restricted to (sorted); () for everyone
    groups: tuple[str, ...] = ()
    id: int | None = None

    def fields(self) -> dict[str, Any]:
        d = Record.fields(self)  # not super(): a slots dataclass is a new class (Python 3.11)
        d.pop("course")
        d["groups"] = list(d["groups"])  # JSON-like, as the ledger stores it
        return d


@dataclass(frozen=True, slots=True)
class Module(Record):
    """A course module managed through the companion plugin, keyed by its idnumber."""

    course: str
    idnumber: str
    modname: str
    section: str  # our section key, "" for section 0
    name: str  # "" for a label: Moodle derives it from the text
    intro: str
    visible: bool
    settings: str  # canonical JSON of the type's settings (docs/plugin-api.md)
    #: for a resource: the local file to upload (not compared; its hash is in ``settings``)
    file: str | None = None
    #: idnumbers of the groups the module is restricted to (sorted); () for everyone (plugin 1.2)
    groups: tuple[str, ...] = ()
    id: int | None = None

    def fields(self) -> dict[str, Any]:
        d = Record.fields(self)  # not super(): a slots dataclass is a new class (Python 3.11)
        for k in ("course", "file"):
            d.pop(k)
        d["groups"] = list(d["groups"])  # JSON-like, as the ledger stores it
        return d


@dataclass(frozen=True, slots=True)
class Group(Record):
    course: str
    idnumber: str
    name: str
    description: str
    id: int | None = None


@dataclass(frozen=True, slots=True)
class User(Record):
    idnumber: str
    username: str
    firstname: str
    lastname: str
    email: str
    lang: str
    auth: str
    city: str = ""
    country: str = ""
    id: int | None = None
    password_email: bool = True  # at creation: Moodle makes the password and mails it

    def fields(self) -> dict[str, Any]:
        # Every field is a plain value, so no asdict() (a deep copy, 10x slower): the planner reads the
        # fields of every user, 100,000 times for a huge roster. auth is chosen at creation (changing it
        # later could lock people out); password_email is how the user was created, not a field of it.
        return {name: getattr(self, name) for name in _USER_FIELDS}


_USER_FIELDS = tuple(f.name for f in dataclass_fields(User) if f.name not in ("id", "auth", "password_email"))


@dataclass(frozen=True, slots=True)
class Event(Record):
    course: str
    key: str
    name: str
    description: str
    timestart: int
    timeduration: int
    group: str = ""  # idnumber of the group of a group event; "" for a course event
    id: int | None = None


@dataclass
class DesiredSite:
    keys: Keys
    category: Category
    courses: dict[str, Course] = field(default_factory=dict)  # by idnumber
    sections: dict[str, list[Section]] = field(default_factory=dict)  # by course idnumber, 1..N
    groups: dict[str, dict[str, Group]] = field(default_factory=dict)  # course -> group idnumber -> group
    users: dict[str, User] = field(default_factory=dict)  # by user idnumber
    #: course -> user idnumber -> role shortnames
    enrolments: dict[str, dict[str, frozenset[str]]] = field(default_factory=dict)
    #: group idnumber -> user idnumbers
    members: dict[str, frozenset[str]] = field(default_factory=dict)
    events: dict[str, dict[str, Event]] = field(default_factory=dict)  # course -> event key -> event
    #: sections and modules as managed through the companion plugin (course -> ...)
    plugin_sections: dict[str, list[Section]] = field(default_factory=dict)
    modules: dict[str, dict[str, Module]] = field(default_factory=dict)  # course -> idnumber -> module
    #: sessions whose calendar events mod_attendance makes (course -> event keys), when the plugin is there
    attendance_events: dict[str, set[str]] = field(default_factory=dict)
    #: completion settings by course idnumber (moodle/completion.py), for courses with completion rules
    completion: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: course -> idnumber of its attendance activity, where ``completion`` makes it a criterion: it becomes
    #: one only once every register is taken (completion.wait_for_registers)
    attendance_criterion: dict[str, str] = field(default_factory=dict)
    #: remarks made while building (texts shortened, languages replaced), shown once in the plan
    notes: list[str] = field(default_factory=list)


@dataclass
class Enrolled:
    """One user enrolled in a course, as core_enrol_get_enrolled_users returns it."""

    userid: int
    username: str
    idnumber: str
    roles: frozenset[int]
    groups: frozenset[int]


@dataclass
class ObservedSite:
    category: Category | None = None
    courses: dict[str, Course] = field(default_factory=dict)  # ours, by idnumber
    #: course shortnames taken by courses that are not ours (a create would fail)
    foreign_shortnames: dict[str, str] = field(default_factory=dict)
    sections: dict[str, list[Section]] = field(default_factory=dict)  # by course idnumber, incl. section 0
    groups: dict[str, dict[str, Group]] = field(default_factory=dict)  # ours, course -> idnumber -> group
    foreign_group_names: dict[str, set[str]] = field(default_factory=dict)  # course -> names of other groups
    users: dict[str, User] = field(default_factory=dict)  # ours, by idnumber
    #: users the spec names (by username) that exist without our key: enrolled, never changed
    foreign_users: dict[str, User] = field(default_factory=dict)  # by username
    enrolled: dict[str, dict[int, Enrolled]] = field(default_factory=dict)  # course -> userid -> enrolment
    events: dict[str, dict[str, list[Event]]] = field(default_factory=dict)  # course -> key -> events
    plugin: bool = False
    #: through the plugin: sections with their keys, our modules, role ids, mod_attendance present
    plugin_sections: dict[str, list[Section]] = field(default_factory=dict)
    modules: dict[str, dict[str, Module]] = field(default_factory=dict)
    role_ids: dict[str, int] | None = None
    attendance: bool = False
    #: installed language packs as the plugin reports them (None without the plugin: the setting decides)
    languages: tuple[str, ...] | None = None
    plugin_version: int = 0
    #: the web-service functions the token's service offers (core_webservice_get_site_info)
    functions: frozenset[str] = frozenset()
    #: the site's restricted access with group conditions is on (the plugin says; assumed without it)
    group_restrictions: bool = True
    #: completion settings as local_ocasync_get_course_completion reads them (courses with rules only)
    completion: dict[str, dict[str, Any]] = field(default_factory=dict)
    #: the site's ``$version`` (core_webservice_get_site_info; 0 when unreadable)
    moodle_version: float = 0.0
    #: instance ids of our attendance activities, by idnumber (through the plugin)
    attendance_instances: dict[str, int] = field(default_factory=dict)
    #: course -> ended attendance sessions not taken yet, read only while the attendance criterion waits for
    #: them (DesiredSite.attendance_criterion); None: the registers could not be read
    attendance_untaken: dict[str, int | None] = field(default_factory=dict)
