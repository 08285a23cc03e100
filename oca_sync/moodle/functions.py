"""The Moodle web-service functions oca-sync calls: what a least-privilege token needs.

tests/unit/test_functions.py checks that this list matches the calls in the code.
"""

from collections.abc import Collection

CORE_FUNCTIONS: tuple[str, ...] = (
    "core_webservice_get_site_info",
    "core_course_get_categories",
    "core_course_create_categories",
    "core_course_update_categories",
    "core_course_get_courses_by_field",
    "core_course_create_courses",
    "core_course_update_courses",
    "core_courseformat_get_state",
    "core_courseformat_update_course",
    "core_update_inplace_editable",
    "core_group_get_course_groups",
    "core_group_create_groups",
    "core_group_update_groups",
    "core_group_delete_groups",
    "core_group_add_group_members",
    "core_group_delete_group_members",
    "core_user_get_users_by_field",
    "core_user_create_users",
    "core_user_update_users",
    "core_enrol_get_enrolled_users",
    "enrol_manual_enrol_users",
    "enrol_manual_unenrol_users",
    "core_role_unassign_roles",
    "core_calendar_get_calendar_events",
    "core_calendar_create_calendar_events",
    "core_calendar_delete_calendar_events",
    # report collect (oca_sync/report/collect.py): survey questions and responses
    "mod_feedback_get_items",
    "mod_feedback_get_responses_analysis",
    # report collect without the companion plugin: completion per user (oca_sync/report/completion.py)
    "core_completion_get_course_completion_status",
    "core_completion_get_activities_completion_status",
    # report session --post (oca_sync/report/announce.py): the course's announcements forum
    "mod_forum_get_forums_by_courses",
    "mod_forum_get_forum_discussions",
    "mod_forum_add_discussion",
)

#: Functions of mod_attendance the report reads; a plugin's functions can only be in the
#: oca-sync service on sites that have the plugin, so a restricted token needs them added by hand.
ATTENDANCE_FUNCTIONS: tuple[str, ...] = (
    "mod_attendance_get_sessions",
)

#: What ``attendance sync`` calls of mod_attendance: the registers, and the per-status write, for which
#: the companion plugin's ``local_ocasync_take_attendance`` stands in when the token has it.
ATTENDANCE_SYNC_FUNCTIONS: tuple[str, ...] = ("mod_attendance_get_sessions", "mod_attendance_update_user_status")


def attendance_sync_missing(available: Collection[str]) -> list[str]:
    """The functions ``attendance sync`` needs that are not among ``available`` (the token's service)."""
    take = "local_ocasync_take_attendance" in available
    return [f for f in ATTENDANCE_SYNC_FUNCTIONS
            if f not in available and not (take and f == "mod_attendance_update_user_status")]


#: The companion plugin's functions (docs/plugin-api.md).
PLUGIN_FUNCTIONS: tuple[str, ...] = (
    "local_ocasync_get_info",
    "local_ocasync_list_roles",
    "local_ocasync_get_course_state",
    "local_ocasync_upsert_sections",
    "local_ocasync_upsert_modules",
    "local_ocasync_delete_modules",
    "local_ocasync_delete_sections",
    "local_ocasync_take_attendance",
    # 1.2: completion (oca_sync/moodle/completion.py, oca_sync/report/completion.py)
    "local_ocasync_get_course_completion",
    "local_ocasync_set_course_completion",
    "local_ocasync_get_completion",
    # 1.2: bulk reads of the plan (observe.py), used when the plugin has them
    "local_ocasync_get_users",
    "local_ocasync_get_enrolments",
    "local_ocasync_get_course_states",
)

#: local_ocasync versions that brought what the client relies on (db/version.php of each release).
PLUGIN_1_1 = 2026120100  # sections restricted to groups, attendance sessions for one group, installed languages
PLUGIN_1_2 = 2026120102  # bulk reads, take_attendance, completion, activities restricted to groups, multiple_submit

#: Moodle 4.1 LTS, the oldest release the plugin and the client support.
MIN_MOODLE_VERSION = 2022112800
