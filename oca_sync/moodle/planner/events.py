"""Course and group calendar events, keyed by a marker in their description (events have no idnumber)."""

from __future__ import annotations

from ...plan import Action, FieldChange, diff_fields
from ...plan import short as short_text
from .. import model as m
from .base import EventPayload, Planning


def managed_events(desired: m.DesiredSite, observed: m.ObservedSite) -> dict[str, dict[str, m.Event]]:
    """Course events we manage: not those whose sessions mod_attendance puts in the calendar itself."""
    if not (observed.plugin and observed.attendance):
        return desired.events
    return {cid: {k: e for k, e in events.items() if k not in desired.attendance_events.get(cid, set())}
            for cid, events in desired.events.items()}


def plan_events(p: Planning) -> None:
    desired, observed, keys = p.desired, p.observed, p.keys
    for cid, events in managed_events(desired, observed).items():
        have_events = observed.events.get(cid, {})
        for key, ev in events.items():
            label = key.removeprefix(keys.owned)
            cur_list = have_events.get(key, [])
            if not cur_list:
                p.add("event", label, Action.CREATE, (FieldChange("name", None, ev.name),
                                                      FieldChange("timestart", None, ev.timestart)), EventPayload(ev))
                continue
            first, dupes = cur_list[0], cur_list[1:]
            p.drift("event", label, first)
            ev_fields = diff_fields(first.fields(), ev.fields())
            if ev_fields or dupes:
                # Core has no web service to edit an event: replace it (create first, then delete).
                note = "replaced: core cannot edit events" if ev_fields else f"removing {len(dupes)} duplicate(s)"
                gone = tuple(e.id for e in (cur_list if ev_fields else dupes) if e.id)
                p.add("event", label, Action.UPDATE, ev_fields, EventPayload(ev if ev_fields else None, gone), note)
        for key, cur_list in have_events.items():
            if key not in events and (p.prune or key not in desired.events.get(cid, {})):
                p.remove("event", key.removeprefix(keys.owned),
                         EventPayload(None, tuple(e.id for e in cur_list if e.id)),
                         short_text(cur_list[0].name) if cur_list else "")
        if not p.prune:
            superseded = [k for k in have_events if k not in events and k in desired.events.get(cid, {})]
            if superseded:
                p.notice("info", (
                    f"{len(superseded)} calendar events made by oca-sync are now also made by mod_attendance "
                    "for its sessions; `apply --prune` removes ours"))
