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
use local_ocasync\local\course_access;

/**
 * local_ocasync_get_course_completion: the course's completion criteria and its modules' completion settings.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_course_completion extends external_api {
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
     * The settings, as set_course_completion takes them.
     *
     * @param int $courseid
     * @return array
     */
    public static function execute(int $courseid): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseid' => $courseid]);
        $course = course_access::check($params['courseid']);
        return ['courseid' => (int)$course->id] + completion::settings($course);
    }

    /**
     * The returned structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'courseid' => new external_value(PARAM_INT, 'course id'),
            'enablecompletion' => new external_value(PARAM_BOOL, 'completion tracking is on in the course'),
            'aggregation' => new external_value(PARAM_INT, 'overall aggregation: 1 all criteria, 2 any'),
            'activityaggregation' => new external_value(PARAM_INT, 'aggregation of the activity criteria: 1 all, 2 any'),
            'criteria' => new external_multiple_structure(new external_value(PARAM_RAW,
                'an activity criterion by its module idnumber ("#cmid" without one), or "type:N" for another kind'),
                'completion criteria, sorted'),
            'modules' => new external_multiple_structure(new external_single_structure([
                'idnumber' => new external_value(PARAM_RAW, 'idnumber'),
                'modname' => new external_value(PARAM_PLUGIN, 'module type'),
                'settings' => new external_value(PARAM_RAW, 'JSON object: completion, completionview, '
                    . 'completionusegrade, completionpassgrade, gradepass (graded types), completionsubmit (feedback)'),
            ]), 'modules with a non-empty idnumber'),
        ]);
    }
}
