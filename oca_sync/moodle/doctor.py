"""``oca-sync moodle doctor``: check that a site is ready, and say how to fix what is not."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import MoodleError, MoodleTransportError, MoodleUnreachable
from .client import MoodleClient
from .functions import CORE_FUNCTIONS, MIN_MOODLE_VERSION, PLUGIN_FUNCTIONS, attendance_sync_missing
from .plugin_zip import plugin_version


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # "ok" | "warn" | "fail"
    detail: str
    fix: str = ""


#: mod_attendance's own functions that `oca-sync attendance sync` calls (docs/attendance.md).


def diagnose(client: MoodleClient, role_ids: dict[str, int] | None = None) -> list[Check]:
    """Run every check; never raises for a site problem (it becomes a failed check)."""
    checks: list[Check] = []
    try:
        info: dict[str, Any] = client.call("core_webservice_get_site_info")
    except MoodleUnreachable as e:  # nothing answered: settings inside Moodle are not the problem
        return [Check("web services", "fail", str(e),
                      "Check OCA_MOODLE_URL (the site's root URL, e.g. https://moodle.example.org) "
                      "and that the site is up and reachable from this machine.")]
    except MoodleTransportError as e:
        return [Check("web services", "fail", str(e),
                      "Enable web services (Site administration > General > Advanced features) and the REST "
                      "protocol (Server > Web services > Manage protocols); check OCA_MOODLE_URL.")]
    except MoodleError as e:
        fix = ("Create a token for the 'oca-sync' service (Server > Web services > Manage tokens) and set "
               "OCA_MOODLE_TOKEN." if e.errorcode in ("invalidtoken", "accessexception") else "")
        return [Check("web services", "fail", str(e), fix)]
    checks.append(Check("web services", "ok", f"REST answers as user {info.get('username')!r} "
                                              f"on {info.get('sitename')!r}"))

    try:
        version = int(float(str(info.get("version", "0"))))
    except ValueError:
        version = 0
    release = str(info.get("release", "?"))
    if version >= MIN_MOODLE_VERSION:
        checks.append(Check("Moodle version", "ok", release))
    else:
        checks.append(Check("Moodle version", "fail", f"{release} ({version})",
                            "Upgrade to Moodle 4.1 LTS or later."))

    available = {str(f.get("name")) for f in info.get("functions") or []}
    missing_core = [f for f in CORE_FUNCTIONS if f not in available]
    checks.append(Check(
        "core functions", "fail" if missing_core else "ok",
        f"missing from the token's service: {', '.join(missing_core)}" if missing_core
        else f"all {len(CORE_FUNCTIONS)} available",
        "Use a token of the 'oca-sync' service that local_ocasync declares, or add these functions to your "
        "service (Server > Web services > External services > Functions)." if missing_core else ""))

    plugin_missing = [f for f in PLUGIN_FUNCTIONS if f not in available]
    want_version, want_release = plugin_version()
    if len(plugin_missing) == len(PLUGIN_FUNCTIONS):
        checks.append(Check(
            "companion plugin", "warn",
            "local_ocasync is not installed, or its functions are not in the token's service: section summaries, "
            "activities, surveys and attendance cannot be managed",
            "Run `oca-sync moodle plugin build`, install the ZIP (Site administration > Plugins > Install "
            "plugins) and use a token of its 'oca-sync' service."))
        return checks
    missing_fail = Check("companion plugin", "fail",
                         f"functions missing from the token's service: {', '.join(plugin_missing)}",
                         "Add them to the service, or use a token of the 'oca-sync' service.")
    if "local_ocasync_get_info" in plugin_missing:
        checks.append(missing_fail)
        return checks
    try:
        pinfo: dict[str, Any] = client.call("local_ocasync_get_info")
    except MoodleError as e:
        checks.append(Check("companion plugin", "fail", str(e), "Check the plugin's installation (Notifications)."))
        return checks
    have = int(pinfo.get("plugin_version") or 0)
    if have < want_version:
        # An older plugin lacks the newer functions: upgrading brings them (and their service entries).
        lacks = f", which adds {', '.join(plugin_missing)}" if plugin_missing else ""
        checks.append(Check("companion plugin", "warn",
                            f"version {have} installed; this oca-sync ships {want_version} ({want_release}){lacks}",
                            "Upgrade it: oca-sync moodle plugin build, then install the ZIP."))
    elif plugin_missing:
        checks.append(missing_fail)
        return checks
    else:
        checks.append(Check("companion plugin", "ok", f"version {have} ({pinfo.get('plugin_release', '')})"))

    att = int(pinfo.get("attendance_version") or 0)
    checks.append(Check("mod_attendance", "ok" if att else "warn",
                        f"version {att}" if att else "not installed: the attendance activity cannot be created",
                        "" if att else "Install mod_attendance (moodle.org/plugins/mod_attendance)."))
    att_missing = attendance_sync_missing(available)
    if att and att_missing:
        checks.append(Check("attendance web services", "warn",
                            f"missing from the token's service: {', '.join(att_missing)}: `oca-sync attendance sync` "
                            "cannot fill the registers",
                            "Add them to the service (Server > Web services > External services > Functions)."))
    if not pinfo.get("multilang_enabled"):
        checks.append(Check("multilang filter", "warn", "filter_multilang is off: texts show all languages at once",
                            "Enable 'Multi-language content' in Site administration > Plugins > Filters."))
    elif not pinfo.get("filterall"):
        checks.append(Check("multilang filter", "warn", "on for content, not for headings (filterall off): "
                                                        "course and section names show all languages",
                            "Enable 'Filter all strings' (Site administration > Plugins > Filters > General)."))
    else:
        checks.append(Check("multilang filter", "ok", "on for content and headings"))
    if pinfo.get("languages"):
        # People's languages are set only to installed packs; texts in others are never shown.
        checks.append(Check("languages", "ok", "installed: " + ", ".join(pinfo["languages"])))
    if pinfo.get("group_restrictions") is False:
        checks.append(Check("group restrictions", "warn", "access restrictions are off: sessions for some groups "
                                                          "only are shown to everyone",
                            "Turn on 'Enable restricted access' (Site administration > General > Advanced features) "
                            "and 'Restriction by group' (Plugins > Availability restrictions > Manage restrictions)."))

    if role_ids is not None:
        try:
            roles = {r["shortname"]: int(r["id"]) for r in client.call("local_ocasync_list_roles")}
        except MoodleError as e:
            checks.append(Check("roles", "fail", str(e)))
            return checks
        wrong = {k: (v, roles.get(k)) for k, v in role_ids.items() if k in roles and roles[k] != v}
        checks.append(Check(
            "roles", "warn" if wrong else "ok",
            "; ".join(f"{k}: configured {v}, site has {s}" for k, (v, s) in wrong.items()) if wrong
            else "role ids match the site (oca-sync reads them from the plugin anyway)"))
    return checks
