<?php
// This file is part of Moodle - https://moodle.org/
//
// Moodle is free software: you can redistribute it and/or modify
// it under the terms of the GNU General Public License as published by
// the Free Software Foundation, either version 3 of the License, or
// (at your option) any later version.
//
// Moodle is distributed in the hope that it will be useful,
// but WITHOUT ANY WARRANTY; without even the implied warranty of
// MERCHANTABILITY or FITNESS FOR A PARTICULAR PURPOSE.  See the
// GNU General Public License for more details.
//
// You should have received a copy of the GNU General Public License
// along with Moodle.  If not, see <https://www.gnu.org/licenses/>.

/**
 * Web-service functions and the 'oca-sync' external service of local_ocasync.
 *
 * The service holds exactly what oca-sync calls (oca_sync/moodle/functions.py in the
 * oca-sync repository) so that an administrator can issue a least-privilege token.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$functions = [
    'local_ocasync_get_info' => [
        'classname' => 'local_ocasync\external\get_info',
        'methodname' => 'execute',
        'description' => 'Versions of the plugin, Moodle and mod_attendance, and the multilang filter settings.',
        'type' => 'read',
        'capabilities' => 'local/ocasync:manage',
    ],
    'local_ocasync_list_roles' => [
        'classname' => 'local_ocasync\external\list_roles',
        'methodname' => 'execute',
        'description' => 'Lists the roles of the site (ids differ between sites).',
        'type' => 'read',
        'capabilities' => 'local/ocasync:manage',
    ],
    'local_ocasync_get_course_state' => [
        'classname' => 'local_ocasync\external\get_course_state',
        'methodname' => 'execute',
        'description' => 'Sections (with their oca-sync keys) and keyed modules (with their managed settings) of a course.',
        'type' => 'read',
        'capabilities' => 'local/ocasync:manage, moodle/course:update, moodle/course:manageactivities',
    ],
    'local_ocasync_upsert_sections' => [
        'classname' => 'local_ocasync\external\upsert_sections',
        'methodname' => 'execute',
        'description' => 'Creates or updates course sections keyed by oca-sync keys (name, summary, visibility, position).',
        'type' => 'write',
        'capabilities' => 'local/ocasync:manage, moodle/course:update, moodle/course:manageactivities, '
            . 'moodle/course:movesections, moodle/course:sectionvisibility',
    ],
    'local_ocasync_upsert_modules' => [
        'classname' => 'local_ocasync\external\upsert_modules',
        'methodname' => 'execute',
        'description' => 'Creates or updates course modules (url, page, label, resource, feedback, attendance) keyed by idnumber.',
        'type' => 'write',
        'capabilities' => 'local/ocasync:manage, moodle/course:update, moodle/course:manageactivities',
    ],
    'local_ocasync_delete_modules' => [
        'classname' => 'local_ocasync\external\delete_modules',
        'methodname' => 'execute',
        'description' => 'Deletes course modules by idnumber.',
        'type' => 'write',
        'capabilities' => 'local/ocasync:manage, moodle/course:update, moodle/course:manageactivities',
    ],
    'local_ocasync_delete_sections' => [
        'classname' => 'local_ocasync\external\delete_sections',
        'methodname' => 'execute',
        'description' => 'Deletes empty course sections by oca-sync key.',
        'type' => 'write',
        'capabilities' => 'local/ocasync:manage, moodle/course:update, moodle/course:manageactivities, '
            . 'moodle/course:movesections',
    ],
    'local_ocasync_take_attendance' => [
        'classname' => 'local_ocasync\external\take_attendance',
        'methodname' => 'execute',
        'description' => 'Sets the attendance statuses of many students in one session, as the Take attendance page does.',
        'type' => 'write',
        'capabilities' => 'local/ocasync:manage, mod/attendance:takeattendances, mod/attendance:changeattendances',
    ],
    // Completion (1.2): activity completion settings, course completion criteria, and users' completion read back.
    'local_ocasync_get_course_completion' => [
        'classname' => 'local_ocasync\external\get_course_completion',
        'methodname' => 'execute',
        'description' => 'Completion criteria of a course and the completion settings of its keyed modules.',
        'type' => 'read',
        'capabilities' => 'local/ocasync:manage, moodle/course:update, moodle/course:manageactivities',
    ],
    'local_ocasync_set_course_completion' => [
        'classname' => 'local_ocasync\external\set_course_completion',
        'methodname' => 'execute',
        'description' => 'Sets the completion settings of keyed feedback and attendance activities and the course '
            . 'completion criteria, where they differ.',
        'type' => 'write',
        'capabilities' => 'local/ocasync:manage, moodle/course:update, moodle/course:manageactivities',
    ],
    'local_ocasync_get_completion' => [
        'classname' => 'local_ocasync\external\get_completion',
        'methodname' => 'execute',
        'description' => 'Course completion time and keyed activities\' completion states of every tracked user.',
        'type' => 'read',
        'capabilities' => 'local/ocasync:manage, report/progress:view',
    ],
    // 1.2: lean bulk reads of many users or courses in one call (oca-sync's plan reads).
    'local_ocasync_get_users' => [
        'classname' => 'local_ocasync\external\get_users',
        'methodname' => 'execute',
        'description' => 'Users by idnumber or username, many at once, with only the fields oca-sync manages.',
        'type' => 'read',
        'capabilities' => 'local/ocasync:manage, moodle/user:viewdetails, moodle/user:viewalldetails, '
            . 'moodle/user:viewhiddendetails, moodle/site:viewuseridentity',
    ],
    'local_ocasync_get_enrolments' => [
        'classname' => 'local_ocasync\external\get_enrolments',
        'methodname' => 'execute',
        'description' => 'Groups and enrolled users (with role ids and group ids) of many courses at once.',
        'type' => 'read',
        'capabilities' => 'local/ocasync:manage, moodle/course:viewparticipants, moodle/course:managegroups, '
            . 'moodle/site:accessallgroups, moodle/user:viewdetails, moodle/user:viewalldetails',
    ],
    'local_ocasync_get_course_states' => [
        'classname' => 'local_ocasync\external\get_course_states',
        'methodname' => 'execute',
        'description' => 'local_ocasync_get_course_state for many courses at once.',
        'type' => 'read',
        'capabilities' => 'local/ocasync:manage, moodle/course:update, moodle/course:manageactivities',
    ],
];

$services = [
    'oca-sync' => [
        'shortname' => 'oca_sync',
        'functions' => [
            // Core functions called by oca-sync (oca_sync/moodle/functions.py, CORE_FUNCTIONS).
            'core_webservice_get_site_info',
            'core_course_get_categories',
            'core_course_create_categories',
            'core_course_update_categories',
            'core_course_get_courses_by_field',
            'core_course_create_courses',
            'core_course_update_courses',
            'core_courseformat_get_state',
            'core_courseformat_update_course',
            'core_update_inplace_editable',
            'core_group_get_course_groups',
            'core_group_create_groups',
            'core_group_update_groups',
            'core_group_delete_groups',
            'core_group_add_group_members',
            'core_group_delete_group_members',
            'core_user_get_users_by_field',
            'core_user_create_users',
            'core_user_update_users',
            'core_enrol_get_enrolled_users',
            'enrol_manual_enrol_users',
            'enrol_manual_unenrol_users',
            'core_role_unassign_roles',
            'core_calendar_get_calendar_events',
            'core_calendar_create_calendar_events',
            'core_calendar_delete_calendar_events',
            'mod_feedback_get_items',
            'mod_feedback_get_responses_analysis',
            'core_completion_get_course_completion_status',
            'core_completion_get_activities_completion_status',
            // 1.2: report session --post, the course's announcements forum (oca_sync/report/announce.py).
            'mod_forum_get_forums_by_courses',
            'mod_forum_get_forum_discussions',
            'mod_forum_add_discussion',
            // The plugin's own functions (PLUGIN_FUNCTIONS).
            'local_ocasync_get_info',
            'local_ocasync_list_roles',
            'local_ocasync_get_course_state',
            'local_ocasync_upsert_sections',
            'local_ocasync_upsert_modules',
            'local_ocasync_delete_modules',
            'local_ocasync_delete_sections',
            'local_ocasync_take_attendance',
            'local_ocasync_get_course_completion',
            'local_ocasync_set_course_completion',
            'local_ocasync_get_completion',
            'local_ocasync_get_users',
            'local_ocasync_get_enrolments',
            'local_ocasync_get_course_states',
        ],
        'restrictedusers' => 1,
        'enabled' => 1,
        'uploadfiles' => 1,
        'downloadfiles' => 1,
    ],
];
