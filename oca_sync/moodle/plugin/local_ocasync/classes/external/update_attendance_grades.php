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

namespace local_ocasync\external;

defined('MOODLE_INTERNAL') || die();

require_once(__DIR__ . '/../../compat.php');

use core_external\external_api;
use core_external\external_function_parameters;
use core_external\external_multiple_structure;
use core_external\external_single_structure;
use core_external\external_value;
use local_ocasync\local\course_access;
use local_ocasync\local\util;

/**
 * local_ocasync_update_attendance_grades: the attendance grades of users whose status was set through
 * mod_attendance_update_user_status.
 *
 * That function writes the log only (MOODLE_403_STABLE attendance_webservices_handler::update_user_status()),
 * while taking attendance in mod_attendance's own pages also updates the gradebook
 * (mod_attendance_structure::take_from_form_data(): update_users_grade()), and with it the
 * completion of activities completed by grade. This does that update.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class update_attendance_grades extends external_api {
    /**
     * The parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'sessionids' => new external_multiple_structure(new external_value(PARAM_INT, 'attendance session id')),
            'userids' => new external_multiple_structure(new external_value(PARAM_INT, 'user id')),
        ]);
    }

    /**
     * Updates the grades of these users in the attendance activities of these sessions.
     *
     * @param int[] $sessionids
     * @param int[] $userids
     * @return array
     */
    public static function execute(array $sessionids, array $userids): array {
        global $CFG, $DB;
        $params = self::validate_parameters(self::execute_parameters(),
            ['sessionids' => $sessionids, 'userids' => $userids]);
        require_once($CFG->dirroot . '/mod/attendance/locallib.php');
        if (!$params['sessionids'] || !$params['userids']) {
            return [];
        }
        [$in, $inparams] = $DB->get_in_or_equal(array_unique($params['sessionids']));
        $ids = $DB->get_fieldset_select('attendance_sessions', 'DISTINCT attendanceid', "id $in", $inparams);
        $out = [];
        foreach ($ids as $attendanceid) {
            $attendance = $DB->get_record('attendance', ['id' => $attendanceid], '*', MUST_EXIST);
            $cm = get_coursemodule_from_instance('attendance', $attendance->id, 0, false, MUST_EXIST);
            $course = course_access::check((int)$cm->course);
            require_capability('mod/attendance:takeattendances', \context_module::instance($cm->id));
            util::in_transaction((int)$course->id, function() use ($attendance, $params) {
                attendance_update_users_grade($attendance, array_values(array_unique($params['userids'])));
            });
            $out[] = ['attendanceid' => (int)$attendance->id, 'cmid' => (int)$cm->id, 'graded' => !empty($attendance->grade)];
        }
        return $out;
    }

    /**
     * The returned structure.
     *
     * @return external_multiple_structure
     */
    public static function execute_returns(): external_multiple_structure {
        return new external_multiple_structure(new external_single_structure([
            'attendanceid' => new external_value(PARAM_INT, 'attendance instance id'),
            'cmid' => new external_value(PARAM_INT, 'course module id'),
            'graded' => new external_value(PARAM_BOOL, 'false when the activity has no grade (nothing to update)'),
        ]));
    }
}
