"""The programme's category and its courses."""

from __future__ import annotations

from dataclasses import replace

from ...plan import Action, FieldChange, diff_fields
from .base import PLUGIN_GROUPS_VERSION, PLUGIN_MODULE_GROUPS_VERSION, Planning, created


def plan_courses(p: Planning) -> None:
    """The category (created or updated), then each course under it."""
    desired, observed = p.desired, p.observed
    cat_ref = desired.category.idnumber
    if observed.category is None:
        p.add("category", desired.category.idnumber, Action.CREATE, created(desired.category, ("idnumber",)),
              desired.category)
    else:
        p.drift("category", cat_ref, observed.category)
        fields = diff_fields(observed.category.fields(), desired.category.fields())
        if fields:
            p.add("category", cat_ref, Action.UPDATE, fields, observed.category.id)
        cat_ref = f"#{observed.category.id}"

    for cid, want in desired.courses.items():
        want_here = replace(want, category=cat_ref)
        have = observed.courses.get(cid)
        if have is None:
            if want.shortname in observed.foreign_shortnames:
                p.notice("error", (
                    f"course shortname {want.shortname!r} is taken by a course oca-sync does not manage "
                    f"(idnumber {observed.foreign_shortnames[want.shortname] or 'empty'}); rename one of them, "
                    f"or set that course's idnumber to {cid!r} to let oca-sync manage it"))
                continue
            p.add("course", want.shortname, Action.CREATE,
                  created(want, ("idnumber", "category")) + (FieldChange("category", None, desired.category.idnumber),),
                  # With the plugin, keyed sections are made by upsert_sections: start with section 0 only.
                  (want, 0 if observed.plugin else len(desired.sections.get(cid, []))))
        else:
            p.drift("course", want.shortname, have)
            fields = diff_fields(have.fields(), want_here.fields())
            if fields:
                p.add("course", want.shortname, Action.UPDATE, fields, (have.id, want_here))

    grouped = [s.key for ss in desired.plugin_sections.values() for s in ss if s.groups]
    if observed.plugin and grouped and observed.plugin_version < PLUGIN_GROUPS_VERSION:
        p.notice("error", (
            f"{len(grouped)} sessions are for some groups only (e.g. {grouped[0]}), which needs the companion plugin "
            f"local_ocasync 1.1 (version {PLUGIN_GROUPS_VERSION}); the site has {observed.plugin_version}: upgrade "
            "it (oca-sync moodle plugin build, then install the ZIP)"))
    restricted = [mod.idnumber for ms in desired.modules.values() for mod in ms.values()
                  if mod.groups or '"multiple_submit"' in mod.settings]
    if observed.plugin and restricted and observed.plugin_version < PLUGIN_MODULE_GROUPS_VERSION:
        p.notice("error", (
            f"{len(restricted)} activities are for one group each (e.g. {restricted[0].removeprefix(p.keys.owned)}: "
            "a campaign check-in per organisation), which needs the companion plugin local_ocasync 1.2 (version "
            f"{PLUGIN_MODULE_GROUPS_VERSION}); the site has {observed.plugin_version}: upgrade it (oca-sync moodle "
            "plugin build, then install the ZIP)"))
