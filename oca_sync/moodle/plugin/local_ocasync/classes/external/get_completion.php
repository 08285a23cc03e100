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
use local_ocasync\local\completion;
use local_ocasync\local\util;

/**
 * local_ocasync_get_completion: every tracked user's completion of the course and of its keyed activities.
 *
 * One call per course where core needs two per user (core_completion_get_course_completion_status,
 * core_completion_get_activities_completion_status).
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_completion extends external_api {
    /**
     * The parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'course id'),
        ]);
    }

    /**
     * Users whose completion the course tracks, with their states.
     *
     * @param int $courseid
     * @return array
     */
    public static function execute(int $courseid): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseid' => $courseid]);
        $course = util::course($params['courseid']);
        $context = \context_course::instance($course->id);
        self::validate_context($context);
        require_capability('local/ocasync:manage', $context);
        // What core_completion_get_activities_completion_status asks to read other users' completion.
        require_capability('report/progress:view', $context);
        return ['courseid' => (int)$course->id, 'users' => completion::states($course)];
    }

    /**
     * The returned structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'courseid' => new external_value(PARAM_INT, 'course id'),
            'users' => new external_multiple_structure(new external_single_structure([
                'userid' => new external_value(PARAM_INT, 'user id'),
                'timecompleted' => new external_value(PARAM_INT, 'when the course was completed, 0 when not'),
                'activities' => new external_multiple_structure(new external_single_structure([
                    'idnumber' => new external_value(PARAM_RAW, 'module idnumber'),
                    'state' => new external_value(PARAM_INT, '0 incomplete, 1 complete, 2 complete pass, 3 complete fail'),
                    'timemodified' => new external_value(PARAM_INT, 'when the state was set'),
                ]), 'completion states of keyed activities that have one'),
            ]), 'users the course tracks completion of (completion_info::get_tracked_users), by id'),
        ]);
    }
}
