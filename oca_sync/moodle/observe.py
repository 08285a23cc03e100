"""Read what we manage from a live Moodle site (reads only, batched)."""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
from collections.abc import Callable, Sequence
from typing import Any

from ..errors import MoodleError
from ..spec.limits import parse_version
from . import completion
from . import model as m
from .client import MoodleClient, chunks

log = logging.getLogger(__name__)

#: core_user_get_users_by_field values per call (a POST body; Moodle has no hard limit).
USER_LOOKUP_BATCH = 500
#: core_enrol_get_enrolled_users page size.
ENROLLED_PAGE = 1000
PLUGIN_PREFIX = "local_ocasync_"
#: The plugin's bulk reads (1.2): the plan's reads in a handful of calls, whatever the number of courses.
BULK_FUNCTIONS = ("local_ocasync_get_users", "local_ocasync_get_enrolments", "local_ocasync_get_course_states")
#: local_ocasync_get_users values per call: under PHP's default max_input_vars (1000 form fields per request).
BULK_USER_BATCH = 900
#: Courses per local_ocasync_get_enrolments / get_course_states call (answers stay a few MB at most).
BULK_COURSE_BATCH = 25

_MARKER = re.compile(r"<!-- oca-key: (\S+) -->")

Progress = Callable[[str], None]


def site_info(client: MoodleClient) -> dict[str, Any]:
    info = client.call("core_webservice_get_site_info")
    return info if isinstance(info, dict) else {}


def has_plugin(info: dict[str, Any]) -> bool:
    return any(str(f.get("name", "")).startswith(PLUGIN_PREFIX) for f in info.get("functions") or [])


def has_functions(info: dict[str, Any], names: tuple[str, ...]) -> bool:
    """Whether the token may call every one of ``names`` (site info lists the service's functions)."""
    available = {str(f.get("name", "")) for f in info.get("functions") or []}
    return all(n in available for n in names)


def observe(
    client: MoodleClient, desired: m.DesiredSite, *, progress: Progress | None = None,
    info: dict[str, Any] | None = None, now: dt.datetime | None = None,
) -> m.ObservedSite:
    """The current state of every object ``desired`` could touch (``info``: site info already read;
    ``now``: the clock attendance sessions have ended by)."""
    say = progress or (lambda _msg: None)
    keys = desired.keys
    site = m.ObservedSite()
    say("site info")
    info = info if info is not None else site_info(client)
    site.plugin = has_plugin(info)
    site.moodle_version = parse_version(info.get("version")) or 0.0
    site.functions = frozenset(str(f.get("name", "")) for f in info.get("functions") or [])
    # The bulk reads of plugin 1.2, when the token's service has them (an older plugin, or a service
    # set up by hand without them, falls back to the per-course core reads: the same observed model).
    bulk = site.plugin and has_functions(info, BULK_FUNCTIONS)
    if site.plugin:
        plugin = client.call("local_ocasync_get_info")
        site.attendance = int(plugin.get("attendance_version") or 0) > 0
        site.plugin_version = int(plugin.get("plugin_version") or 0)
        site.group_restrictions = plugin.get("group_restrictions") is not False
        if plugin.get("languages"):  # plugin 1.1 and later
            site.languages = tuple(str(x) for x in plugin["languages"])
        site.role_ids = {r["shortname"]: int(r["id"]) for r in client.call("local_ocasync_list_roles")}

    say("category")
    for c in client.call("core_course_get_categories", {
        "criteria": [{"key": "idnumber", "value": keys.category}], "addsubcategories": 0,
    }, raw=True):
        site.category = m.Category(
            id=int(c["id"]), idnumber=c.get("idnumber") or "", name=c["name"],
            description=c.get("description") or "", parent=int(c.get("parent") or 0),
        )

    say("courses")
    found: dict[str, dict[str, Any]] = {}
    if site.category and site.category.id:
        for c in _courses(client, "category", site.category.id):
            if keys.is_ours(c.get("idnumber")):
                found[c["idnumber"]] = c
    for idnumber, want in desired.courses.items():
        if idnumber in found:
            continue
        hits = _courses(client, "idnumber", idnumber)  # ours, moved to another category
        if hits:
            found[idnumber] = hits[0]
            continue
        for c in _courses(client, "shortname", want.shortname):
            site.foreign_shortnames[want.shortname] = c.get("idnumber") or ""
    for idnumber, c in found.items():
        site.courses[idnumber] = _course(c)

    if bulk:
        _bulk_courses(client, site, keys, say)
    else:
        for idnumber, course in site.courses.items():
            say(f"course {course.shortname}")
            assert course.id is not None
            groups = client.call("core_group_get_course_groups", {"courseid": course.id}, raw=True)
            group_refs = _groups(site, keys, idnumber, groups)
            if site.plugin:
                state = client.call("local_ocasync_get_course_state", {"courseid": course.id})
                _plugin_state(site, keys, idnumber, state, group_refs)
            else:
                site.sections[idnumber] = sections_of(course_state(client, course.id), idnumber)
            site.enrolled[idnumber] = _enrolled(client, course.id)
    if site.plugin and completion.supported(site):
        for idnumber, course in site.courses.items():
            if idnumber in desired.completion and course.id:
                site.completion[idnumber] = completion.observe(client, course.id)
        _registers_left(client, desired, site, now or dt.datetime.now(dt.timezone.utc), say)

    say("users")
    size = BULK_USER_BATCH if bulk else USER_LOOKUP_BATCH
    for batch in chunks(list(desired.users), size):
        for u in _users_by(client, bulk, "idnumber", batch):
            if u.get("idnumber") in desired.users:
                site.users[u["idnumber"]] = _user(u)
    missing = [u.username for k, u in desired.users.items() if k not in site.users]
    for batch in chunks(missing, size):
        for u in _users_by(client, bulk, "username", batch):
            site.foreign_users[u["username"]] = _user(u)

    ids = {idn: c.id for idn, c in site.courses.items() if c.id}
    if ids:
        say("calendar events")
        by_id = {v: k for k, v in ids.items()}
        our_groups = {int(g.id): g.idnumber for gs in site.groups.values() for g in gs.values() if g.id}
        options = {"userevents": 0, "siteevents": 0, "timestart": 0, "timeend": 0, "ignorehidden": 0}
        listed: list[dict[str, Any]] = list(client.call("core_calendar_get_calendar_events", {
            "events": {"courseids": list(ids.values())}, "options": options}, raw=True).get("events", []))
        if our_groups:
            # Group events come back only when asked for by group and *without* courses: with courses, the
            # priority subquery of raw_event_retrieval_strategy::get_raw_events_legacy_implementation holds
            # no group condition (userevents off), so events of type "group" are dropped (seen on 5.1).
            listed += [e for e in client.call("core_calendar_get_calendar_events", {
                "events": {"groupids": sorted(our_groups)}, "options": options}, raw=True).get("events", [])
                if e.get("eventtype") == "group"]
        for e in listed:
            course_key = by_id.get(int(e.get("courseid") or 0))
            match = _MARKER.search(e.get("description") or "")
            if not course_key or not match or e.get("eventtype") not in ("course", "group"):
                continue  # not ours: never touched
            group = our_groups.get(int(e.get("groupid") or 0), "") if e.get("eventtype") == "group" else ""
            ev = m.Event(
                id=int(e["id"]), course=course_key, key=match.group(1), name=e["name"],
                description=e.get("description") or "", timestart=int(e["timestart"]),
                timeduration=int(e.get("timeduration") or 0), group=group,
            )
            site.events.setdefault(course_key, {}).setdefault(ev.key, []).append(ev)
    return site


#: What a section restricted by hand (not by oca-sync) shows as its groups in a plan.
CUSTOM_RESTRICTION = "(restricted by hand)"


def restriction_groups(availability: str | None, group_refs: dict[int, str]) -> tuple[str, ...]:
    """The groups of a section's availability, if it is the restriction oca-sync writes (one OR of group
    conditions, docs/plugin-api.md); ``()`` for none, ``(CUSTOM_RESTRICTION,)`` for anything else."""
    if not availability:
        return ()
    try:
        tree = json.loads(availability)
    except ValueError:
        return (CUSTOM_RESTRICTION,)
    conditions = tree.get("c") if isinstance(tree, dict) else None
    if not isinstance(conditions, list) or not conditions:
        # Moodle stores an emptied restriction as a tree without conditions: none.
        return () if isinstance(tree, dict) and conditions == [] else (CUSTOM_RESTRICTION,)
    if tree.get("op") != "|" or tree.get("show") is not False or any(
            not isinstance(c, dict) or set(c) != {"type", "id"} or c["type"] != "group" for c in conditions):
        return (CUSTOM_RESTRICTION,)
    return tuple(sorted(group_refs.get(int(c["id"]), f"#{c['id']}") for c in conditions))


def _users_by(client: MoodleClient, bulk: bool, field: str, values: Sequence[str]) -> list[dict[str, Any]]:
    """Users whose ``field`` is one of ``values``: the plugin's lean read, or core's whole profiles."""
    params = {"field": field, "values": list(values)}
    if bulk:
        return list(client.call("local_ocasync_get_users", params))
    return list(client.call("core_user_get_users_by_field", params, raw=True))


def _bulk_courses(client: MoodleClient, site: m.ObservedSite, keys: m.Keys, say: Progress) -> None:
    """Groups, enrolments, sections and modules of every course in two calls per batch of courses."""
    by_id = {int(c.id): idnumber for idnumber, c in site.courses.items() if c.id}
    for batch in chunks(list(by_id), BULK_COURSE_BATCH):
        say(f"courses {', '.join(site.courses[by_id[i]].shortname for i in batch)}")
        enrolments = {int(e["courseid"]): e for e in client.call(
            "local_ocasync_get_enrolments", {"courseids": list(batch)})}
        states = {int(s["courseid"]): s for s in client.call(
            "local_ocasync_get_course_states", {"courseids": list(batch)})}
        for courseid in batch:
            idnumber = by_id[courseid]
            got = enrolments[courseid]
            group_refs = _groups(site, keys, idnumber, got.get("groups") or [])
            _plugin_state(site, keys, idnumber, states[courseid], group_refs)
            site.enrolled[idnumber] = {
                int(u["id"]): m.Enrolled(
                    userid=int(u["id"]), username=u.get("username", ""), idnumber=u.get("idnumber") or "",
                    roles=frozenset(int(r) for r in u.get("roleids") or []),
                    groups=frozenset(int(g) for g in u.get("groupids") or []),
                )
                for u in got.get("users") or []
            }


def _groups(site: m.ObservedSite, keys: m.Keys, course_key: str, groups: list[dict[str, Any]]) -> dict[int, str]:
    """Record a course's groups; returns every group of the course: id -> our idnumber, or "#id"."""
    site.groups[course_key] = {}
    site.foreign_group_names[course_key] = set()
    group_refs: dict[int, str] = {}
    for g in groups:
        ours = keys.is_ours(g.get("idnumber"))
        group_refs[int(g["id"])] = g["idnumber"] if ours else f"#{g['id']}"
        if ours:
            site.groups[course_key][g["idnumber"]] = m.Group(
                id=int(g["id"]), course=course_key, idnumber=g["idnumber"], name=g["name"],
                description=g.get("description") or "",
            )
        else:
            site.foreign_group_names[course_key].add(g["name"])
    return group_refs


def _registers_left(client: MoodleClient, desired: m.DesiredSite, site: m.ObservedSite, now: dt.datetime,
                    say: Progress) -> None:
    """Untaken registers of the attendance activities whose criterion waits for them (one call each, only
    until the criterion is on the site)."""
    for cid, idn in desired.attendance_criterion.items():
        have = site.completion.get(cid)
        if have is not None and idn in have["criteria"]:
            continue
        instance = site.attendance_instances.get(idn)
        if instance is None:
            # Made by this apply: none of its registers is taken yet.
            module = desired.modules.get(cid, {}).get(idn)
            want = json.loads(module.settings or "{}").get("sessions") or [] if module else []
            # A group the spec gives nobody has nobody to take (staff in it count: a guess on the safe side).
            nobody = {gid for gid in desired.groups.get(cid, {}) if not desired.members.get(gid)}
            site.attendance_untaken[cid] = completion.untaken(want, now, nobody)
            continue
        if "mod_attendance_get_sessions" not in site.functions:
            site.attendance_untaken[cid] = None
            continue
        say(f"attendance registers of {desired.courses[cid].shortname}")
        try:
            sessions = client.call("mod_attendance_get_sessions", {"attendanceid": instance})
        except MoodleError as e:
            log.warning("cannot read the registers of %s: %s", idn, e)
            site.attendance_untaken[cid] = None
            continue
        site.attendance_untaken[cid] = completion.untaken(sessions, now)


def _plugin_state(site: m.ObservedSite, keys: m.Keys, course_key: str, state: dict[str, Any],
                  group_refs: dict[int, str]) -> None:
    """Sections with their keys and our modules, from get_course_state(s) (docs/plugin-api.md)."""
    site.plugin_sections[course_key] = [
        m.Section(id=int(s["id"]), course=course_key, number=int(s["number"]), name=s.get("name") or "",
                  key=s.get("key") or "", summary=s.get("summary") or "", visible=bool(s.get("visible", True)),
                  groups=restriction_groups(s.get("availability"), group_refs))
        for s in state.get("sections", [])
    ]
    keyed = {int(s["number"]): s.get("key") or "" for s in state.get("sections", [])}
    site.modules[course_key] = {
        mod["idnumber"]: m.Module(
            id=int(mod["cmid"]), course=course_key, idnumber=mod["idnumber"], modname=mod["modname"],
            section=keyed.get(int(mod["sectionnumber"]), f"#{mod['sectionnumber']}") if mod["sectionnumber"] else "",
            name=mod.get("name") or "", intro=mod.get("intro") or "", visible=bool(mod.get("visible", True)),
            settings=mod.get("settings") or "{}",
            groups=restriction_groups(mod.get("availability"), group_refs),
        )
        for mod in state.get("modules", []) if keys.is_ours(mod.get("idnumber"))
    }
    site.attendance_instances.update({mod["idnumber"]: int(mod["instance"]) for mod in state.get("modules", [])
                                      if mod.get("modname") == "attendance" and keys.is_ours(mod.get("idnumber"))
                                      and mod.get("instance")})


def _courses(client: MoodleClient, field: str, value: Any) -> list[dict[str, Any]]:
    res = client.call("core_course_get_courses_by_field", {"field": field, "value": value}, raw=True)
    return [c for c in res.get("courses", []) if int(c.get("id", 0)) != 1]  # 1 is the site course


def _course(c: dict[str, Any]) -> m.Course:
    return m.Course(
        id=int(c["id"]), idnumber=c["idnumber"], shortname=c["shortname"], fullname=c["fullname"],
        summary=c.get("summary") or "", category=f"#{int(c.get('categoryid') or 0)}",
        startdate=int(c.get("startdate") or 0), enddate=int(c.get("enddate") or 0), format=c.get("format", ""),
        visible=bool(int(c.get("visible", 1))), enablecompletion=bool(int(c.get("enablecompletion", 0))),
        automaticenddate=_format_option(c, "automaticenddate") not in (None, 0, "0", "", False),
    )


def _format_option(c: dict[str, Any], name: str) -> Any:
    """A course format option as get_courses_by_field returns it (None when the format has no such option)."""
    return next((o.get("value") for o in c.get("courseformatoptions") or [] if o.get("name") == name), None)


def course_state(client: MoodleClient, courseid: int) -> dict[str, Any]:
    """The course editor's state: the only core read that returns a section's stored name.

    core_course_get_contents runs names through the format's filters even with
    ``moodlewssettingraw`` (format_base::get_section_name), so multilang names
    would never compare equal; get_state gives ``rawtitle`` (null when unnamed).
    """
    state = client.call("core_courseformat_get_state", {"courseid": courseid})
    return json.loads(state) if isinstance(state, str) else state


def sections_of(state: dict[str, Any], course_key: str = "") -> list[m.Section]:
    """Top-level sections by number (5.x subsections, delegated to a module, are left out)."""
    return [
        m.Section(id=int(s["id"]), course=course_key, number=int(s["number"]), name=s.get("rawtitle") or "")
        for s in sorted(state.get("section", []), key=lambda s: int(s["number"]))
        if not s.get("component")
    ]


def _enrolled(client: MoodleClient, courseid: int) -> dict[int, m.Enrolled]:
    out: dict[int, m.Enrolled] = {}
    start = 0
    while True:
        page = client.call("core_enrol_get_enrolled_users", {
            "courseid": courseid,
            "options": [
                {"name": "userfields", "value": "id,username,idnumber,roles,groups"},
                {"name": "limitfrom", "value": start},
                {"name": "limitnumber", "value": ENROLLED_PAGE},
            ],
        }, raw=True)
        for u in page:
            out[int(u["id"])] = m.Enrolled(
                userid=int(u["id"]), username=u.get("username", ""), idnumber=u.get("idnumber") or "",
                roles=frozenset(int(r["roleid"]) for r in u.get("roles") or []),
                groups=frozenset(int(g["id"]) for g in u.get("groups") or []),
            )
        if len(page) < ENROLLED_PAGE:
            return out
        start += ENROLLED_PAGE


def _user(u: dict[str, Any]) -> m.User:
    return m.User(
        id=int(u["id"]), idnumber=u.get("idnumber") or "", username=u["username"],
        firstname=u.get("firstname", ""), lastname=u.get("lastname", ""), email=u.get("email", ""),
        lang=u.get("lang", ""), auth=u.get("auth", ""), city=u.get("city") or "", country=u.get("country") or "",
    )
