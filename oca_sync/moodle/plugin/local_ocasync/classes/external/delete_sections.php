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
use local_ocasync\local\sections;
use local_ocasync\local\util;

/**
 * local_ocasync_delete_sections: deletes empty sections by oca-sync key.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class delete_sections extends external_api {
    /**
     * The parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'course id'),
            'keys' => new external_multiple_structure(new external_value(PARAM_RAW, 'oca-sync key')),
        ]);
    }

    /**
     * Deletes the sections (course_delete_section) and their mappings, in one transaction.
     *
     * @param int $courseid
     * @param array $keys
     * @return array
     */
    public static function execute(int $courseid, array $keys): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseid' => $courseid, 'keys' => $keys]);
        $course = course_access::check($params['courseid']);
        return util::in_transaction((int)$course->id, function() use ($course, $params) {
            return sections::delete((int)$course->id, $params['keys']);
        });
    }

    /**
     * The returned structure.
     *
     * @return external_multiple_structure
     */
    public static function execute_returns(): external_multiple_structure {
        return new external_multiple_structure(new external_single_structure([
            'key' => new external_value(PARAM_RAW, 'oca-sync key'),
            'deleted' => new external_value(PARAM_BOOL, 'false when no section was mapped to it'),
        ]));
    }
}
