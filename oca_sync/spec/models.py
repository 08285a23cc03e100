"""Pydantic models of the course specification (the YAML file an administrator writes).

The models describe the *shape* of a spec and check each value on its own.
Checks that need the whole document (duplicate keys, references between
sections, sessions inside course dates) live in :mod:`oca_sync.spec.checks`, so
that every problem of a file can be reported at once with its location.

``Session`` objects are produced by expanding ``SessionSpec`` entries (one-off
or recurring) in :mod:`oca_sync.spec.expand`.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal, Union

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, WithJsonSchema, field_validator, model_validator

#: A Moodle language code: the name of a language pack's folder (``en``, ``kk``, ``uz``, ``pt_br``, ``en_us_k12``).
#: Moodle takes any PARAM_SAFEDIR name that has a langconfig.php (core_string_manager_standard::
#: get_list_of_translations, lib/classes/param.php clean_param_value_lang); its packs use lowercase letters,
#: digits and underscores, and ``user.lang`` holds 30 characters (lib/db/install.xml). Whether a pack is
#: installed is a fact of the site, checked at plan time.
Lang = Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]*(?:_[a-z0-9]+)*$", max_length=30)]

#: Keys are short, stable, lowercase identifiers; they end up in Moodle idnumbers.
Key = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9_.-]{0,39}$")]

#: Free text, or one text per language: ``{en: ..., ru: ..., ky: ...}``.
MultiText = Union[str, dict[Lang, str]]


class Strict(BaseModel):
    """Base of every spec model: unknown keys are errors, values are not coerced silently."""

    model_config = ConfigDict(extra="forbid", frozen=True, str_strip_whitespace=True)


_DURATION = re.compile(r"^(?:(?P<h>\d+)h)?\s*(?:(?P<m>\d+)m(?:in)?)?$")


def parse_duration(value: object) -> int:
    """Minutes from ``90``, ``"90m"``, ``"1h30m"`` or ``"2h"``."""
    if isinstance(value, bool):
        raise ValueError("duration must be minutes (90) or a text like '1h30m'")
    if isinstance(value, int):
        minutes = value
    elif isinstance(value, str):
        m = _DURATION.match(value.strip())
        if not value.strip() or not m or not (m.group("h") or m.group("m")):
            raise ValueError(f"duration {value!r} is not minutes (90) or a text like '1h30m'")
        minutes = int(m.group("h") or 0) * 60 + int(m.group("m") or 0)
    else:
        raise ValueError("duration must be minutes (90) or a text like '1h30m'")
    if not 1 <= minutes <= 24 * 60:
        raise ValueError("duration must be between 1 minute and 24 hours")
    return minutes


# The JSON Schema must accept what parse_duration accepts, or editors flag valid specs.
Minutes = Annotated[
    int,
    Field(description="Minutes, or a text like '1h30m'"),
    WithJsonSchema(
        {
            "anyOf": [
                {"type": "integer", "minimum": 1, "maximum": 24 * 60},
                {"type": "string", "pattern": r"^\s*(?=\d)(\d+h)?\s*(\d+m(in)?)?\s*$"},
            ]
        }
    ),
]


def require_time(value: object) -> object:
    """Refuse a bare date where a start time is needed (pydantic would make it midnight)."""
    if isinstance(value, dt.date) and not isinstance(value, dt.datetime):
        raise ValueError(f"give a time as well as the date, e.g. {value.isoformat()} 15:00")
    if isinstance(value, str) and re.fullmatch(r"\s*\d{4}-\d{2}-\d{2}\s*", value):
        raise ValueError(f"give a time as well as the date, e.g. {value.strip()} 15:00")
    return value


class Programme(Strict):
    key: Key = Field(description="Stable key of the programme; part of every Moodle idnumber we create.")
    name: MultiText
    languages: list[Lang] = Field(default=["en"], min_length=1)
    timezone: str = Field(default="Asia/Bishkek", description="IANA time zone of all session times.")
    key_prefix: Annotated[str, StringConstraints(pattern=r"^[a-z][a-z0-9]{0,9}$")] = Field(
        default="oca", description="Prefix of our keys on the remote side; only objects carrying it are managed."
    )


class Category(Strict):
    name: MultiText
    description: MultiText = ""
    parent: int = Field(default=0, ge=0, description="Id of the parent category (0: top level).")


class RoleMap(Strict):
    """Which Moodle role (by shortname) each kind of participant gets."""

    member: str = "student"
    trainer: str = "editingteacher"
    mentor: str = "teacher"
    manager: str = "manager"
    #: "guest" is not assignable in a course on a standard site; use a custom role if the site has one
    observer: str = "student"


class MoodleSettings(Strict):
    category: Category
    roles: RoleMap = RoleMap()
    auth: str = Field(default="manual", description="Moodle authentication plugin for users we create.")
    password_email: bool = Field(
        default=True,
        description="Moodle makes each new user's password and e-mails it to them (createpassword). Set false when "
                    "people log in through an external auth (oauth2, ldap, cas, …): no password is made or mailed.",
    )
    calendar_events: bool = Field(default=True, description="Create a course calendar event per session.")


class UrlContent(Strict):
    type: Literal["url"]
    key: Key
    title: MultiText
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")]
    description: MultiText = ""


class PageContent(Strict):
    type: Literal["page"]
    key: Key
    title: MultiText
    body: MultiText


class FileContent(Strict):
    type: Literal["file"]
    key: Key
    title: MultiText
    path: str = Field(description="Path of the file, relative to the spec file.")
    description: MultiText = ""


class LabelContent(Strict):
    type: Literal["label"]
    key: Key
    text: MultiText


Content = Annotated[Union[UrlContent, PageContent, FileContent, LabelContent], Field(discriminator="type")]

SessionKind = Literal["training", "mentoring", "event"]
ALL_KINDS: tuple[SessionKind, ...] = ("training", "mentoring", "event")


class Recurrence(Strict):
    """A series of sessions from an RFC 5545 rule, expanded with python-dateutil."""

    rrule: str = Field(description="e.g. 'FREQ=WEEKLY;BYDAY=MO,WE,FR;COUNT=12'")
    start: dt.datetime = Field(description="Local start of the first occurrence (the session's time zone).")
    exclude: list[dt.date] = Field(default_factory=list, description="Dates to skip (holidays).")

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: object) -> object:
        return require_time(v)


class SessionSpec(Strict):
    """One session, or a series when ``recurrence`` is given.

    In a series the key is a prefix (``mentoring`` gives ``mentoring-01`` ...)
    and ``{n}`` in a title or summary is replaced by the occurrence number.
    """

    key: Key
    kind: SessionKind
    title: MultiText
    summary: MultiText = ""
    start: dt.datetime | None = Field(default=None, description="Local start time (the session's time zone).")
    recurrence: Recurrence | None = None
    timezone: str | None = Field(
        default=None,
        description="IANA time zone whose rules the start (or the series) follows; default: the programme's.",
    )
    duration: Minutes
    host: Key | None = Field(default=None, description="Staff key of the host (Zoom meeting owner).")
    groups: list[Key] | None = Field(
        default=None, description="Keys of the organisations or groups the session is for; default: everyone.")
    content: list[Content] = Field(default_factory=list)

    @field_validator("duration", mode="before")
    @classmethod
    def _duration(cls, v: object) -> int:
        return parse_duration(v)

    @field_validator("start", mode="before")
    @classmethod
    def _start(cls, v: object) -> object:
        return require_time(v)


class Question(Strict):
    key: Key
    type: Literal["text", "textarea", "multichoice", "multichoice_multi", "rating", "numeric", "info"]
    text: MultiText
    options: list[MultiText] = Field(default_factory=list)
    required: bool = False
    min: int | None = None
    max: int | None = None


class Survey(Strict):
    key: Key
    kind: Literal["pre", "post", "checkin", "other"] = Field(
        description="pre/post pair up in the report; checkin: a weekly campaign check-in, one activity per "
                    "campaigning organisation's group, read as campaign metrics."
    )
    title: MultiText
    intro: MultiText = ""
    opens: dt.datetime | None = None
    closes: dt.datetime | None = None
    anonymous: bool = Field(default=False, description="Default: false, but true for a checkin (which must be).")
    questions: list[Question] = Field(min_length=1)

    @model_validator(mode="before")
    @classmethod
    def _checkin_anonymous(cls, data: object) -> object:
        # A named Feedback keeps one response per person (a new submission replaces it), so the weekly
        # check-ins are anonymous unless the spec says otherwise (which checks.py then refuses).
        if isinstance(data, dict) and data.get("kind") == "checkin" and "anonymous" not in data:
            return {**data, "anonymous": True}
        return data


class Attendance(Strict):
    key: Key = "attendance"
    name: MultiText = "Attendance"
    grade: int = Field(default=100, ge=0)
    sessions: list[SessionKind] = Field(default_factory=lambda: list(ALL_KINDS))
    # How `oca-sync attendance sync` turns Zoom minutes into statuses (docs/attendance.md).
    present_percent: int = Field(default=75, ge=1, le=100,
                                 description="Present: in the meeting for at least this share of the session.")
    late_after_minutes: int = Field(default=10, ge=0,
                                    description="Late: first joined more than this many minutes after the start …")
    late_percent: int = Field(default=50, ge=0, le=100, description="… and in the meeting at least this share.")
    instance_window_minutes: int = Field(
        default=60, ge=0, description="A Zoom instance counts for a session when it starts at most this long "
                                      "before the session's start (and before its end).")


class AttendanceRule(Strict):
    """Attend at least ``at_least`` sessions of one kind."""

    kind: SessionKind
    at_least: int = Field(ge=1)


class CourseCompletion(Strict):
    """What a member must do to complete the course (shown in the report; becomes Moodle completion)."""

    attend: list[AttendanceRule] = Field(default_factory=list)
    surveys: list[Key] = Field(default_factory=list, description="Keys of surveys the member must submit.")


class Course(Strict):
    shortname: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,59}$")]
    fullname: MultiText
    summary: MultiText = ""
    start: dt.date
    end: dt.date
    format: Literal["topics", "weeks", "singleactivity", "social"] = "topics"
    visible: bool = True
    sessions: list[SessionSpec] = Field(default_factory=list)
    surveys: list[Survey] = Field(default_factory=list)
    attendance: Attendance | None = None
    completion: CourseCompletion | None = None


class Person(Strict):
    key: Key
    firstname: str = Field(min_length=1)
    lastname: str = Field(min_length=1)
    email: Annotated[str, StringConstraints(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
    username: Annotated[str, StringConstraints(pattern=r"^[a-z0-9_.@-]+$")] | None = Field(
        default=None, description="Moodle username (lowercase); defaults to the key."
    )
    lang: Lang | None = None
    groups: list[Key] = Field(
        default_factory=list, description="Keys of further groups (see `groups`) or organisations the person is in.")
    city: str | None = None
    country: Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")] | None = None


class Member(Person):
    role: Literal["member", "observer"] = "member"


#: Campaign metrics, in check-ins (question keys), metrics CSV files and targets alike.
METRICS = ("posts", "reach", "engagements", "followers_gained", "offline_actions")


class CampaignTargets(Strict):
    posts: int | None = Field(default=None, ge=0)
    reach: int | None = Field(default=None, ge=0)
    engagements: int | None = Field(default=None, ge=0)
    followers_gained: int | None = Field(default=None, ge=0)
    offline_actions: int | None = Field(default=None, ge=0)


class CampaignPlatform(Strict):
    platform: Key = Field(description="e.g. facebook, instagram, telegram; as in the metrics files.")
    url: Annotated[str, StringConstraints(pattern=r"^https?://\S+$")] | None = Field(
        default=None, description="Public URL of the campaign's page or channel."
    )


class Campaign(Strict):
    """An organisation's online campaign, monitored in the report against its targets."""

    title: MultiText
    aim: list[Literal["horizontal", "vertical"]] = Field(
        min_length=1, description="Social cohesion aimed at: horizontal (between groups), vertical (with institutions)."
    )
    platforms: list[CampaignPlatform] = Field(default_factory=list)
    start: dt.date
    end: dt.date
    targets: CampaignTargets = CampaignTargets()


class Organisation(Strict):
    key: Key
    name: MultiText
    description: MultiText = ""
    members: list[Member] = Field(default_factory=list)
    roster: str | None = Field(
        default=None,
        description="CSV file (relative to the spec) with columns key,firstname,lastname,email[,username,lang,role].",
    )
    courses: list[str] | None = Field(default=None, description="Course shortnames; default: every course.")
    campaign: Campaign | None = None


class Group(Strict):
    """A Moodle group that is not an organisation (e.g. a thematic track); people join it by key."""

    key: Key
    name: MultiText
    description: MultiText = ""
    courses: list[str] | None = Field(default=None, description="Course shortnames; default: every course.")


class Staff(Person):
    role: Literal["trainer", "mentor", "manager", "observer"]
    zoom_user: str | None = Field(
        default=None, description="Zoom user (e-mail or id) who hosts this person's sessions; default: the e-mail."
    )
    courses: list[str] | None = Field(default=None, description="Course shortnames; default: every course.")


class ZoomSettings(Strict):
    """Settings for the Zoom feature (meetings per session)."""

    enabled: bool = True
    auto_recording: Literal["cloud", "local", "none"] = "cloud"
    waiting_room: bool = True
    join_before_host: bool = False
    mute_upon_entry: bool = True
    alternative_hosts: list[str] = Field(default_factory=list)


class DriveSettings(Strict):
    """Settings for the Drive archive of recordings and materials."""

    enabled: bool = True
    shared_drive_id: str | None = None
    root_folder: str = "OCA archive"
    share_with: list[str] = Field(default_factory=list, description="UNESCO addresses, groups or a domain.")
    share_role: Literal["reader", "commenter", "writer"] = "reader"
    notify: bool = False
    file_types: list[str] = Field(default_factory=lambda: ["MP4", "M4A", "TRANSCRIPT", "CHAT"])


class ReportSettings(Strict):
    """The final report: recommendations written by the team and campaign metrics files."""

    title: MultiText | None = Field(default=None, description="Report title (default: the programme name).")
    recommendations: str | None = Field(
        default=None, description="Markdown file (relative to the spec) rendered as the report's recommendations."
    )
    campaign_metrics: list[str] = Field(
        default_factory=list, description="CSV files (relative to the spec): date,organisation,platform,metric,value."
    )


class CourseSpec(Strict):
    """The whole course specification file."""

    version: Literal[1] = 1
    programme: Programme
    moodle: MoodleSettings
    courses: list[Course] = Field(min_length=1)
    organisations: list[Organisation] = Field(default_factory=list)
    groups: list[Group] = Field(
        default_factory=list, description="Further groups; organisations are groups too (one key namespace).")
    staff: list[Staff] = Field(default_factory=list)
    zoom: ZoomSettings = ZoomSettings()
    drive: DriveSettings = DriveSettings()
    report: ReportSettings = ReportSettings()


# --- expanded, ready-to-plan views ----------------------------------------------


class Session(BaseModel):
    """One concrete session after expanding recurrences.

    ``start`` is aware, in the session's own zone (``timezone``: the session's,
    else the programme's), so that it renders as the host reads it.
    """

    model_config = ConfigDict(frozen=True)

    key: str
    kind: SessionKind
    number: int  # 1-based position among sessions of the same kind in its course
    title: MultiText
    summary: MultiText
    start: dt.datetime
    timezone: str  # IANA name of the zone of ``start``
    duration: int
    host: str | None
    content: tuple[Content, ...]
    groups: tuple[str, ...] = ()  # organisation/group keys the session is for; () for everyone
    source_index: int  # index of the SessionSpec it came from (for error locations)

    @property
    def end(self) -> dt.datetime:
        """The end, in the session's zone.

        Computed on UTC: adding to an aware local datetime adds to the wall clock,
        which is an hour off when the zone's offset changes during the session.
        """
        return self.end_utc.astimezone(self.start.tzinfo)

    @property
    def start_utc(self) -> dt.datetime:
        return self.start.astimezone(dt.UTC)

    @property
    def end_utc(self) -> dt.datetime:
        """For comparing and subtracting: aware datetimes of one zone compare by wall clock, ignoring fold."""
        return self.start_utc + dt.timedelta(minutes=self.duration)
