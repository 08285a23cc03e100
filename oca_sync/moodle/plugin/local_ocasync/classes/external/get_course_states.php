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
use core_external\external_value;
use local_ocasync\local\course_access;
use local_ocasync\local\modules;
use local_ocasync\local\sections;

/**
 * local_ocasync_get_course_states: local_ocasync_get_course_state for many courses in one call.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_course_states extends external_api {
    /**
     * The parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseids' => new external_multiple_structure(new external_value(PARAM_INT, 'course id')),
        ]);
    }

    /**
     * The state of each course (each checked as get_course_state checks it), in the order given.
     *
     * @param array $courseids
     * @return array
     */
    public static function execute(array $courseids): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseids' => $courseids]);
        $courses = [];
        foreach ($params['courseids'] as $courseid) {
            $course = course_access::check($courseid);
            $courses[(int)$course->id] = $course;
        }
        $out = [];
        foreach ($courses as $course) {
            $out[] = [
                'courseid' => (int)$course->id,
                'format' => (string)$course->format,
                'sections' => sections::state((int)$course->id),
                'modules' => modules::state((int)$course->id),
            ];
        }
        return $out;
    }

    /**
     * The returned structure: a list of get_course_state's.
     *
     * @return external_multiple_structure
     */
    public static function execute_returns(): external_multiple_structure {
        return new external_multiple_structure(get_course_state::execute_returns(), 'one entry per course, in the order given');
    }
}
