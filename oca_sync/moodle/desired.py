"""Spec -> the Moodle objects it asks for (pure; no I/O)."""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Mapping, Sequence

from ..errors import UsageError
from ..spec import LoadedSpec
from ..spec.checks import group_courses
from ..spec.limits import NEWEST, MoodleLimits, fit_name
from ..spec.models import Group, MultiText, Organisation, Person
from ..spec.multilang import plain
from . import model as m
from .completion import attendance_criterion
from .completion import course_settings as completion_settings
from .content import build_course


def _join(link: str | None) -> str:
    return f'<p class="oca-join"><a href="{html.escape(link)}">Zoom</a></p>' if link else ""


def event_marker(key: str) -> str:
    """Our key inside an event description (events have no idnumber)."""
    return f"<!-- oca-key: {key} -->"


def build(
    loaded: LoadedSpec, site_languages: Sequence[str] = ("en",), links: Mapping[str, str] | None = None,
    limits: MoodleLimits = NEWEST, now: dt.datetime | None = None,
) -> m.DesiredSite:
    """The Moodle objects ``loaded`` asks for.

    ``site_languages`` are the installed language packs; ``links`` the Zoom join
    links by session key (placed in the session's section and calendar event);
    ``limits`` the field sizes of the site's Moodle version (names that do not
    fit with all languages side by side fall back to the first language; the
    spec checks made sure that one fits).
    """
    links = links or {}
    spec = loaded.spec
    langs = list(spec.programme.languages)
    keys = m.Keys(spec.programme.key_prefix, spec.programme.key)
    tz = loaded.tz

    def text(t: MultiText) -> str:
        return loaded.text(t)

    notes: list[str] = []
    cut: list[str] = []  # names too long for Moodle in all languages together

    def name(t: MultiText, limit_key: str) -> str:
        fitted = fit_name(t, langs, limits[limit_key])
        if fitted is None:  # spec.check_for_site reports this (with file and line) first; never cut silently
            raise UsageError(f"{plain(t, langs[0], langs)[:40]!r}…: too long for Moodle {limits.release} ({limit_key})")
        if fitted[1]:
            cut.append(plain(t, langs[0], langs))
        return fitted[0]

    def local(day: dt.date, hour: int = 0, minute: int = 0) -> int:
        return int(dt.datetime(day.year, day.month, day.day, hour, minute, tzinfo=tz).timestamp())

    def user_lang(lang: str) -> str:
        if lang in site_languages:
            return lang
        # English is in every Moodle (lang/en in the code); the plugin lists packs by their names, not by preference.
        fallback = next((x for x in [*langs, "en"] if x in site_languages), site_languages[0])
        notes.append(f"language {lang!r} is not installed on the site ({', '.join(site_languages)}): "
                          f"people who prefer it get {fallback!r}")
        return fallback

    cat = spec.moodle.category
    site = m.DesiredSite(
        keys=keys,
        notes=notes,
        category=m.Category(
            idnumber=keys.category, name=name(cat.name, "category.name"), description=text(cat.description), parent=cat.parent
        ),
    )

    def user(p: Person) -> m.User:
        return m.User(
            idnumber=keys.user(p.key),
            username=p.username or p.key,
            firstname=p.firstname,
            lastname=p.lastname,
            email=p.email,
            lang=user_lang(p.lang or langs[0]),
            auth=spec.moodle.auth,
            password_email=spec.moodle.password_email,
            city=p.city or "",
            country=p.country or "",
        )

    roles = spec.moodle.roles
    for course in spec.courses:
        cid = keys.course(course.shortname)
        site.courses[cid] = m.Course(
            idnumber=cid,
            shortname=course.shortname,
            fullname=name(course.fullname, "course.fullname"),
            summary=text(course.summary),
            category=keys.category,
            startdate=local(course.start),
            enddate=local(course.end, 23, 59),
            format=course.format,
            visible=course.visible,
            enablecompletion=True,
        )
        sessions = loaded.sessions.get(course.shortname, ())
        site.sections[cid] = [
            m.Section(course=cid, number=i, name=name(s.title, "section.name")) for i, s in enumerate(sessions, start=1)
        ]
        if spec.moodle.calendar_events:
            site.events[cid] = {}
            for s in sessions:
                # A session for some groups gets one group event per group (an event holds one group).
                targets = [(keys.group_event(course.shortname, s.key, g), keys.group(course.shortname, g))
                           for g in s.groups] or [(keys.event(course.shortname, s.key), "")]
                for key, group in targets:
                    site.events[cid][key] = m.Event(
                        course=cid,
                        key=key,
                        name=name(s.title, "event.name"),
                        description=text(s.summary) + _join(links.get(keys.event(course.shortname, s.key)))
                        + event_marker(key),
                        timestart=int(s.start.timestamp()),
                        timeduration=s.duration * 60,
                        group=group,
                    )
        sections, modules, att_events = build_course(loaded, course, cid, keys, text, name, links)
        site.plugin_sections[cid] = sections
        site.modules[cid] = modules
        site.attendance_events[cid] = att_events
        rules = completion_settings(loaded, course, keys, notes, now or dt.datetime.now(dt.timezone.utc))
        if rules is not None:
            site.completion[cid] = rules
            att = attendance_criterion(course, keys, rules)
            if att is not None:
                site.attendance_criterion[cid] = att
        site.groups[cid] = {}
        site.enrolments[cid] = {}

    def in_course(courses: list[str] | None, shortname: str) -> bool:
        return courses is None or shortname in courses

    # Organisations and further groups: one Moodle group per course each (one key namespace).
    in_groups = group_courses(spec)
    members: dict[str, set[str]] = {}
    grps: list[Organisation | Group] = [*spec.organisations, *spec.groups]
    for grp in grps:
        for course in spec.courses:
            if course.shortname in in_groups[grp.key]:
                cid, gid = keys.course(course.shortname), keys.group(course.shortname, grp.key)
                site.groups[cid][gid] = m.Group(
                    course=cid, idnumber=gid, name=name(grp.name, "group.name"), description=text(grp.description)
                )
                members[gid] = set()

    def join(person: Person, uid: str, cid: str, shortname: str, own: str | None = None) -> None:
        """Group memberships of an enrolled person (user idnumber ``uid``) in one course: their
        organisation and their ``groups``."""
        for g in ([own] if own else []) + person.groups:
            gid = keys.group(shortname, g)
            if gid in members:  # a group that is not in this course: the person is in it elsewhere
                members[gid].add(uid)

    role_sets: dict[frozenset[str], frozenset[str]] = {}
    for org in spec.organisations:
        for course in spec.courses:
            if not in_course(org.courses, course.shortname):
                continue
            cid = keys.course(course.shortname)
            for member in loaded.members.get(org.key, ()):
                u = user(member)
                site.users[u.idnumber] = u
                role = roles.member if member.role == "member" else roles.observer
                _add_role(site.enrolments[cid], u.idnumber, role, role_sets)
                join(member, u.idnumber, cid, course.shortname, org.key)

    if cut:
        unique = list(dict.fromkeys(cut))
        shown = "; ".join(repr(x[:40] + ("…" if len(x) > 40 else "")) for x in unique[:3])
        notes.insert(0, f"{len(unique)} name(s) are longer than Moodle allows with all {len(langs)} languages "
                        f"together, so only {langs[0]!r} is used for them: {shown}" + ("; …" if len(unique) > 3 else ""))

    for person in spec.staff:
        u = user(person)
        site.users[u.idnumber] = u
        role = getattr(roles, person.role)
        for course in spec.courses:
            if in_course(person.courses, course.shortname):
                _add_role(site.enrolments[keys.course(course.shortname)], u.idnumber, role, role_sets)
                join(person, u.idnumber, keys.course(course.shortname), course.shortname)
    site.members.update({gid: frozenset(uids) for gid, uids in members.items()})
    return site


def _add_role(enrolments: dict[str, frozenset[str]], user: str, role: str,
              shared: dict[frozenset[str], frozenset[str]]) -> None:
    """Add a role to a user's roles in a course; equal role sets are one object (``shared``):
    a roster of 100,000 people has one set of roles, not 100,000."""
    roles = enrolments.get(user, frozenset()) | {role}
    enrolments[user] = shared.setdefault(roles, roles)


def known_roles(site: m.DesiredSite) -> set[str]:
    return {r for course in site.enrolments.values() for rs in course.values() for r in rs}


def unknown_roles(site: m.DesiredSite, role_ids: dict[str, int]) -> list[str]:
    return sorted(r for r in known_roles(site) if r not in role_ids)
