"""iCalendar export of a programme's sessions, for everyone or one organisation."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import icalendar

from . import __version__
from .errors import UsageError
from .spec import LoadedSpec
from .spec.clock import ambiguous
from .spec.models import Group, Organisation
from .spec.multilang import plain


def export_calendar(
    loaded: LoadedSpec, links: Mapping[str, str], *, organisation: str | None = None, lang: str | None = None
) -> bytes:
    """An .ics of the sessions (of the organisation's courses, when one is given).

    With an organisation (or a group key: both name Moodle groups), sessions for
    some groups only are listed only when they are for that one.

    ``links`` maps a session key (``prefix:programme:course:session``) to its
    Zoom join link. Times carry each session's time zone (with its VTIMEZONE).
    """
    spec = loaded.spec
    langs = list(spec.programme.languages)
    lang = lang or langs[0]
    if lang not in langs:
        raise UsageError(f"--lang {lang!r} is not a language of the programme ({', '.join(langs)})")
    courses = [c.shortname for c in spec.courses]
    name = plain(spec.programme.name, lang, langs)
    if organisation is not None:
        groups: list[Organisation | Group] = [*spec.organisations, *spec.groups]
        org = next((o for o in groups if o.key == organisation), None)
        if org is None:
            known = ", ".join(o.key for o in groups)
            raise UsageError(f"no organisation or group {organisation!r} in {loaded.path} (known: {known})")
        courses = [c for c in courses if org.courses is None or c in org.courses]
        name += f" — {plain(org.name, lang, langs)}"
    cal = icalendar.Calendar()
    cal.add("prodid", f"-//oca-sync {__version__}//{spec.programme.key}//EN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", name)
    cal.add("x-wr-timezone", spec.programme.timezone)
    prefix = f"{spec.programme.key_prefix}:{spec.programme.key}:"
    stamp = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    for short in courses:
        for s in loaded.sessions.get(short, ()):
            if organisation is not None and s.groups and organisation not in s.groups:
                continue  # another organisation's session (e.g. its mentoring)
            key = f"{prefix}{short}:{s.key}"
            ev = icalendar.Event()
            ev.add("uid", f"{key}@oca-sync")
            ev.add("dtstamp", stamp)
            ev.add("dtstart", _ical_time(s.start))
            ev.add("dtend", _ical_time(s.end))
            ev.add("summary", plain(s.title, lang, langs))
            ev.add("categories", [s.kind])
            text = plain(s.summary, lang, langs) if s.summary else ""
            link = links.get(key)
            if link:
                ev.add("url", link)
                ev.add("location", link)
                text = (text + "\n\n" if text else "") + f"Zoom: {link}"
            if text:
                ev.add("description", text)
            cal.add_component(ev)
    cal.add_missing_timezones()
    return cal.to_ical()


def _ical_time(moment: dt.datetime) -> dt.datetime:
    """A session time with its zone, or in UTC where the zone's local time names two instants or none.

    RFC 5545 3.3.5 reads a repeated local time as its first occurrence, so an end
    just after clocks go back would be an hour early; UTC is exact.
    """
    return moment.astimezone(dt.UTC) if ambiguous(moment) else moment
