"""Sections and activities: keyed through the companion plugin, or section names by position without it."""

from __future__ import annotations

import json
from dataclasses import replace

from ...plan import Action, FieldChange, diff_fields
from ...plan import short as short_text
from .. import model as m
from ..observe import CUSTOM_RESTRICTION
from .base import ContentPayload, Planning, SectionPayload


def plan_content(p: Planning) -> None:
    if p.observed.plugin:
        _plan_plugin_content(p)
    else:
        _plan_core_sections(p)


#: Moodle 5.1's ``$version``: before it, core's section_add refuses a section past the site's
#: ``moodlecourse | maxsections`` (course/format/classes/stateactions.php of 4.5; no such check in 5.1).
SECTION_ADD_UNLIMITED = 2025100600
#: ``moodlecourse | maxsections`` by default (admin/settings/courses.php).
DEFAULT_MAX_SECTIONS = 52


def _plan_core_sections(p: Planning) -> None:
    """Without the plugin: section names by position (sections have no key) and a notice."""
    desired, observed = p.desired, p.observed
    for cid, sections in desired.sections.items():
        have_secs = {s.number: s for s in observed.sections.get(cid, [])}
        short = desired.courses[cid].shortname
        added = [s.number for s in sections if s.number not in have_secs]
        if (cid in observed.courses and added and max(added) > DEFAULT_MAX_SECTIONS
                and 0 < observed.moodle_version < SECTION_ADD_UNLIMITED):
            p.notice("warning", (
                f"course {short} needs sections up to {max(added)}: Moodle before 5.1 refuses to add a section "
                f"past the site's 'Maximum number of sections' (moodlecourse | maxsections, {DEFAULT_MAX_SECTIONS} "
                "by default), so apply may stop there. Raise that setting, or install the companion plugin "
                "local_ocasync, which has no such limit (oca-sync moodle doctor)."))
        for s in sections:
            key = f"{short}#{s.number}"
            cur = have_secs.get(s.number)
            if cur is None:
                p.add("section", key, Action.CREATE, (FieldChange("name", None, s.name),),
                      SectionPayload(cid, s.number, s.name, None))
            else:
                p.drift("section", key, cur)
                if cur.name != s.name:
                    p.add("section", key, Action.UPDATE, (FieldChange("name", cur.name, s.name),),
                          SectionPayload(cid, s.number, s.name, cur.id))
        extra = [n for n in have_secs if n > len(sections)]
        if extra:
            p.notice("info", (
                f"course {short}: sections {min(extra)}-{max(extra)} are beyond the spec's {len(sections)} sessions; "
                "left in place (sections carry no key of ours without the companion plugin)"))

    items = sum(len(v) for v in desired.modules.values()) + sum(len(v) for v in desired.plugin_sections.values())
    restricted = _group_only_sessions(desired)
    if restricted:
        p.notice("warning", (
            f"{restricted} sessions are for some groups only, but their sections are open to everyone: Moodle's "
            "core web services cannot set a section's access restriction. Install the companion plugin "
            "local_ocasync to restrict them (oca-sync moodle doctor)."))
    if items:
        p.notice("warning", (
            f"{items} items (section summaries, session content, surveys, attendance) are not "
            "managed: Moodle's core web services cannot create activities or set section summaries. Install the "
            "companion plugin local_ocasync to manage them (oca-sync moodle doctor)."))


def _plan_plugin_content(p: Planning) -> None:
    """With the plugin: keyed sections (name, summary, position, restriction) and modules by idnumber."""
    desired, observed, keys = p.desired, p.observed, p.keys
    restricted = _group_only_sessions(desired)
    if restricted and not observed.group_restrictions:
        p.notice("warning", (
            f"{restricted} sessions are for some groups only, but this site's restricted access is off: their "
            "sections get the restriction and Moodle shows them to everyone until an administrator turns on "
            "'Enable restricted access' and 'Restriction by group' (oca-sync moodle doctor)."))
    one_group = [m.idnumber for ms in desired.modules.values() for m in ms.values() if m.groups]
    if one_group and not observed.group_restrictions:
        # The plugin refuses such a module (availabilitydisabled): say so before anything is written.
        p.notice("error", (
            f"{len(one_group)} activities are for one group each (e.g. {one_group[0].removeprefix(keys.owned)}: "
            "a campaign check-in per organisation), but this site's restricted access is off, so Moodle cannot "
            "restrict them: an administrator turns on 'Enable restricted access' and 'Restriction by group' "
            "(oca-sync moodle doctor)"))
    for cid, sections in desired.plugin_sections.items():
        short = desired.courses[cid].shortname
        have = {s.key: s for s in observed.plugin_sections.get(cid, []) if s.key}
        # Sections made before the plugin (no key) at the position of a session are taken, not duplicated.
        unkeyed = {s.number: s for s in observed.plugin_sections.get(cid, []) if not s.key and s.number > 0}
        for s in sections:
            label = f"{short}#{s.key}"
            cur = have.get(s.key)
            if cur is None and s.number in unkeyed:
                old = unkeyed[s.number]
                assert old.id is not None
                fields = diff_fields({**old.fields(), "key": None}, s.fields())
                p.add("section", label, Action.UPDATE, fields, ContentPayload(cid, adopt=(s.key, old.id)),
                      note="existing section taken under our key")
                continue
            if cur is None:
                p.add("section", label, Action.CREATE, (FieldChange("number", None, s.number),
                                                        FieldChange("name", None, s.name)), ContentPayload(cid))
                continue
            p.drift("section", label, cur)
            if not s.groups and cur.groups == (CUSTOM_RESTRICTION,):
                cur = replace(cur, groups=())  # a restriction made by hand on a section for everyone: left alone
            fields = diff_fields(cur.fields(), s.fields())
            if fields:
                p.add("section", label, Action.UPDATE, fields, ContentPayload(cid))
        wanted = {s.key for s in sections}
        for k, cur in have.items():
            if k not in wanted:
                p.remove("section", f"{short}#{k}", ContentPayload(cid, delete=k),
                         f"section {cur.number}: {short_text(cur.name)}")

    for cid, modules in desired.modules.items():
        have_mods = observed.modules.get(cid, {})
        for idn, mod in modules.items():
            label = idn.removeprefix(keys.owned)
            have_mod = have_mods.get(idn)
            if have_mod is None:
                for_groups = (FieldChange("groups", None, list(mod.groups)),) if mod.groups else ()
                p.add("module", label, Action.CREATE, (FieldChange("type", None, mod.modname),
                                                       FieldChange("name", None, mod.name or mod.intro), *for_groups),
                      ContentPayload(cid, module=mod))
                continue
            if have_mod.modname != mod.modname:
                p.notice("error", (
                    f"activity {idn!r} is a {have_mod.modname} on the site but a {mod.modname} in the spec; "
                    "delete it in Moodle or give the content another key"))
                continue
            p.drift("module", label, have_mod)
            if not mod.groups and have_mod.groups == (CUSTOM_RESTRICTION,):
                have_mod = replace(have_mod, groups=())  # a restriction made by hand on an open activity: left alone
            fields = module_diff(have_mod, mod)
            if fields:
                p.add("module", label, Action.UPDATE, fields, ContentPayload(cid, module=mod))
        for idn, cur_mod in have_mods.items():
            if idn not in modules:
                p.remove("module", idn.removeprefix(keys.owned), ContentPayload(cid, delete=idn),
                         f"{cur_mod.modname} {short_text(cur_mod.name or cur_mod.intro)}")


def module_diff(cur: m.Module, want: m.Module) -> tuple[FieldChange, ...]:
    """What differs between an activity on the site and the spec's, settings compared as data."""
    old, new = cur.fields(), want.fields()
    if want.modname == "label" and not want.name:
        new["name"] = old["name"]  # Moodle derives a label's name from its text
    changes = []
    for k, v in new.items():
        if k == "settings":
            if json.loads(old[k] or "{}") != json.loads(v):
                # As data: the plan shows the settings that differ (sessions[3].duration: 5400 → 3600).
                changes.append(FieldChange(k, json.loads(old[k] or "{}"), json.loads(v)))
        elif old.get(k) != v:
            changes.append(FieldChange(k, old.get(k), v))
    return tuple(changes)


def _group_only_sessions(desired: m.DesiredSite) -> int:
    """How many sessions are for some groups only (their sections get a group restriction)."""
    return sum(1 for sections in desired.plugin_sections.values() for s in sections if s.groups)
