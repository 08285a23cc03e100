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
use local_ocasync\local\bulk_read;

/**
 * local_ocasync_get_enrolments: groups and enrolled users (roles, groups) of many courses at once.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_enrolments extends external_api {
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
     * Per course: its groups and its enrolled users with their role ids and group ids.
     *
     * @param array $courseids
     * @return array
     */
    public static function execute(array $courseids): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseids' => $courseids]);
        $courses = bulk_read::courses($params['courseids'], bulk_read::ENROLMENT_CAPABILITIES);
        return bulk_read::enrolments(array_keys($courses));
    }

    /**
     * The returned structure.
     *
     * @return external_multiple_structure
     */
    public static function execute_returns(): external_multiple_structure {
        return new external_multiple_structure(new external_single_structure([
            'courseid' => new external_value(PARAM_INT, 'course id'),
            'groups' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'group id'),
                'idnumber' => new external_value(PARAM_RAW, 'idnumber, "" when none'),
                'name' => new external_value(PARAM_RAW, 'raw name'),
                'description' => new external_value(PARAM_RAW, 'raw description (HTML)'),
            ]), 'every group of the course, by id'),
            'users' => new external_multiple_structure(new external_single_structure([
                'id' => new external_value(PARAM_INT, 'user id'),
                'username' => new external_value(PARAM_RAW, 'username'),
                'idnumber' => new external_value(PARAM_RAW, 'idnumber, "" when none'),
                'roleids' => new external_multiple_structure(
                    new external_value(PARAM_INT, 'role id'), 'roles assigned in the course context'),
                'groupids' => new external_multiple_structure(
                    new external_value(PARAM_INT, 'group id'), 'groups of the course the user is a member of'),
            ]), 'users enrolled in the course (any enrolment status), by id'),
        ]), 'one entry per course, in the order given');
    }
}
