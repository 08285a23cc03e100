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

namespace local_ocasync\local;

defined('MOODLE_INTERNAL') || die();

require_once(__DIR__ . '/../../compat.php');

/**
 * Lean keyed reads of many users or many courses at once (local_ocasync_get_users, _get_enrolments,
 * _get_course_states): one query per kind of record, only the fields oca-sync compares.
 *
 * The capability checks are at least those of the core functions they replace
 * (core_user_get_users_by_field, core_enrol_get_enrolled_users, core_group_get_course_groups,
 * local_ocasync_get_course_state), and stricter where core filters instead of refusing: a caller
 * who could see only part of the data is refused, never answered with a part.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class bulk_read {
    /** @var int values per IN (...) list: well under every database's limit on bound parameters. */
    const CHUNK = 1000;

    /** @var string[] the capabilities get_users checks in the system context. */
    const USER_CAPABILITIES = [
        'local/ocasync:manage',
        // user_get_user_details(): no details at all without it.
        'moodle/user:viewdetails',
        // username and idnumber of other users.
        'moodle/user:viewalldetails',
        // city and country, which $CFG->hiddenuserfields may hide.
        'moodle/user:viewhiddendetails',
        // email (\core_user\fields::get_identity_fields()).
        'moodle/site:viewuseridentity',
    ];

    /** @var string[] the capabilities get_enrolments checks in each course context. */
    const ENROLMENT_CAPABILITIES = [
        'local/ocasync:manage',
        // course_require_view_participants() of core_enrol_get_enrolled_users.
        'moodle/course:viewparticipants',
        // core_group_get_course_groups.
        'moodle/course:managegroups',
        // every member of every group, whatever the group mode.
        'moodle/site:accessallgroups',
        // user_get_user_details() in the course: the user's details, username and idnumber.
        'moodle/user:viewdetails',
        'moodle/user:viewalldetails',
    ];

    /**
     * Users whose $field is one of $values, as core_user_get_users_by_field finds them
     * ($DB->get_records_list on the field, values cleaned the same way).
     *
     * @param string $field 'idnumber' or 'username'
     * @param string[] $values
     * @return array[] users by id
     */
    public static function users(string $field, array $values): array {
        global $DB;
        if (!in_array($field, ['idnumber', 'username'], true)) {
            throw new \moodle_exception('invalidfield', 'local_ocasync', '', $field);
        }
        $context = \context_system::instance();
        \core_external\external_api::validate_context($context);
        foreach (self::USER_CAPABILITIES as $capability) {
            require_capability($capability, $context);
        }
        $paramtype = \core_user::get_property_type($field);
        $cleaned = [];
        foreach ($values as $value) {
            $clean = clean_param($value, $paramtype);
            if ($value != $clean) {
                // The same refusal as core_user_get_users_by_field.
                throw new \invalid_parameter_exception('The field \'' . $field .
                    '\' value is invalid: ' . $value . '(cleaned value: ' . $clean . ')');
            }
            $cleaned[$clean] = true;
        }
        $out = [];
        foreach (array_chunk(array_keys($cleaned), self::CHUNK) as $chunk) {
            $chunk = array_map('strval', $chunk);
            [$insql, $params] = $DB->get_in_or_equal($chunk, SQL_PARAMS_NAMED, 'v');
            $records = $DB->get_records_select('user', "$field $insql", $params, 'id',
                'id, username, idnumber, firstname, lastname, email, lang, auth, city, country');
            foreach ($records as $u) {
                if ((string)$u->{$field} === '') {
                    continue; // Core leaves out a user whose searched field is empty.
                }
                $out[(int)$u->id] = [
                    'id' => (int)$u->id,
                    'username' => (string)$u->username,
                    'idnumber' => (string)$u->idnumber,
                    'firstname' => (string)$u->firstname,
                    'lastname' => (string)$u->lastname,
                    'email' => (string)$u->email,
                    'lang' => (string)$u->lang,
                    'auth' => (string)$u->auth,
                    'city' => (string)$u->city,
                    'country' => (string)$u->country,
                ];
            }
        }
        ksort($out);
        return array_values($out);
    }

    /**
     * Checks each course as core_enrol_get_enrolled_users and core_group_get_course_groups do.
     *
     * @param int[] $courseids
     * @param string[] $capabilities
     * @return \stdClass[] the courses by id, in the order given (each once)
     */
    public static function courses(array $courseids, array $capabilities): array {
        $courses = [];
        foreach ($courseids as $courseid) {
            $course = util::course((int)$courseid);
            $context = \context_course::instance($course->id);
            try {
                \core_external\external_api::validate_context($context);
            } catch (\Exception $e) {
                $a = new \stdClass();
                $a->message = $e->getMessage();
                $a->courseid = $course->id;
                throw new \moodle_exception('errorcoursecontextnotvalid', 'webservice', '', $a);
            }
            foreach ($capabilities as $capability) {
                require_capability($capability, $context);
            }
            $courses[(int)$course->id] = $course;
        }
        return $courses;
    }

    /**
     * Groups, enrolled users (any enrolment status, as core_enrol_get_enrolled_users without
     * onlyactive), their roles in the course context and their groups, of many courses.
     *
     * @param int[] $courseids checked courses
     * @return array[] one entry per course, in the order given
     */
    public static function enrolments(array $courseids): array {
        global $DB;
        $out = [];
        foreach ($courseids as $courseid) {
            $out[$courseid] = ['courseid' => $courseid, 'groups' => [], 'users' => []];
        }
        foreach (array_chunk($courseids, self::CHUNK) as $chunk) {
            [$insql, $params] = $DB->get_in_or_equal($chunk, SQL_PARAMS_NAMED, 'c');
            $groups = $DB->get_recordset_select('groups', "courseid $insql", $params, 'courseid, id',
                'id, courseid, idnumber, name, description');
            foreach ($groups as $g) {
                $out[(int)$g->courseid]['groups'][] = ['id' => (int)$g->id, 'idnumber' => (string)$g->idnumber,
                    'name' => (string)$g->name, 'description' => (string)$g->description];
            }
            $groups->close();

            // get_enrolled_join() without onlyactive: any user_enrolments row of an enrol instance of
            // the course, users not deleted.
            $users = [];
            $rs = $DB->get_recordset_sql(
                "SELECT DISTINCT e.courseid, u.id, u.username, u.idnumber
                   FROM {user_enrolments} ue
                   JOIN {enrol} e ON e.id = ue.enrolid
                   JOIN {user} u ON u.id = ue.userid
                  WHERE e.courseid $insql AND u.deleted = 0
               ORDER BY e.courseid, u.id", $params);
            foreach ($rs as $r) {
                $users[(int)$r->courseid][(int)$r->id] = ['id' => (int)$r->id, 'username' => (string)$r->username,
                    'idnumber' => (string)$r->idnumber, 'roleids' => [], 'groupids' => []];
            }
            $rs->close();

            // get_user_roles($coursecontext, $userid, false): assignments in the course context itself.
            $rs = $DB->get_recordset_sql(
                "SELECT ra.id, ctx.instanceid AS courseid, ra.userid, ra.roleid
                   FROM {role_assignments} ra
                   JOIN {context} ctx ON ctx.id = ra.contextid AND ctx.contextlevel = :courselevel
                  WHERE ctx.instanceid $insql
               ORDER BY ra.roleid", $params + ['courselevel' => CONTEXT_COURSE]);
            foreach ($rs as $r) {
                if (isset($users[(int)$r->courseid][(int)$r->userid])) {
                    $users[(int)$r->courseid][(int)$r->userid]['roleids'][(int)$r->roleid] = (int)$r->roleid;
                }
            }
            $rs->close();

            $rs = $DB->get_recordset_sql(
                "SELECT gm.id, g.courseid, gm.userid, gm.groupid
                   FROM {groups_members} gm
                   JOIN {groups} g ON g.id = gm.groupid
                  WHERE g.courseid $insql
               ORDER BY gm.groupid", $params);
            foreach ($rs as $r) {
                if (isset($users[(int)$r->courseid][(int)$r->userid])) {
                    $users[(int)$r->courseid][(int)$r->userid]['groupids'][] = (int)$r->groupid;
                }
            }
            $rs->close();

            foreach ($users as $courseid => $byid) {
                foreach ($byid as $u) {
                    $u['roleids'] = array_values($u['roleids']);
                    $out[$courseid]['users'][] = $u;
                }
            }
        }
        return array_values($out);
    }
}
