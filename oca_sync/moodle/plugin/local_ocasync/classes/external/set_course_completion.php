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
use local_ocasync\local\util;

/**
 * local_ocasync_set_course_completion: activity completion of keyed modules and the course's criteria.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class set_course_completion extends external_api {
    /**
     * The parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'course id'),
            'settings' => new external_value(PARAM_RAW, 'JSON object: modules {idnumber: {completion, completionview, '
                . 'completionusegrade, completionpassgrade, gradepass, completionsubmit}}, criteria [idnumber], '
                . 'aggregation 1 (all) or 2 (any)'),
        ]);
    }

    /**
     * Writes what differs, in one transaction.
     *
     * @param int $courseid
     * @param string $settings
     * @return array
     */
    public static function execute(int $courseid, string $settings): array {
        $params = self::validate_parameters(self::execute_parameters(),
            ['courseid' => $courseid, 'settings' => $settings]);
        $course = course_access::check($params['courseid']);
        $want = completion::parse($params['settings']);
        return util::in_transaction((int)$course->id, function() use ($course, $want) {
            return completion::apply($course, $want);
        });
    }

    /**
     * The returned structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'modules' => new external_multiple_structure(new external_value(PARAM_RAW, 'idnumber'),
                'modules whose completion settings were written'),
            'criteria' => new external_value(PARAM_BOOL, 'the criteria were rewritten (course completion data cleared)'),
        ]);
    }
}
