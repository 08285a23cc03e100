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
 * local_ocasync_upsert_sections: creates or updates sections keyed by oca-sync keys.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class upsert_sections extends external_api {
    /**
     * The parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'course id'),
            'sections' => new external_multiple_structure(new external_single_structure([
                'key' => new external_value(PARAM_RAW, 'oca-sync key, ^[A-Za-z0-9:_.#-]{1,100}$'),
                'number' => new external_value(PARAM_INT, 'position, from 1'),
                'name' => new external_value(PARAM_TEXT, 'name (multilang spans allowed), "" for the default', VALUE_DEFAULT, ''),
                'summary' => new external_value(PARAM_RAW, 'summary (HTML)', VALUE_DEFAULT, ''),
                'visible' => new external_value(PARAM_BOOL, 'visible', VALUE_DEFAULT, true),
                'sectionid' => new external_value(PARAM_INT,
                    'existing unmapped section of the course to take under this key, 0 for none', VALUE_DEFAULT, 0),
                'setgroups' => new external_value(PARAM_BOOL,
                    'set the group restriction to "groups" (REST cannot send an empty list: this says "none")',
                    VALUE_DEFAULT, false),
                'groups' => new external_multiple_structure(
                    new external_value(PARAM_RAW, 'idnumber of a group of the course'),
                    'with setgroups: restrict the section to members of these groups; none removes such a restriction',
                    VALUE_DEFAULT, []),
            ])),
        ]);
    }

    /**
     * Creates or updates the sections, in order, in one transaction.
     *
     * @param int $courseid
     * @param array $sections
     * @return array
     */
    public static function execute(int $courseid, array $sections): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseid' => $courseid, 'sections' => $sections]);
        $course = course_access::check($params['courseid']);
        return util::in_transaction((int)$course->id, function() use ($course, $params) {
            return sections::upsert((int)$course->id, $params['sections']);
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
            'id' => new external_value(PARAM_INT, 'course_sections.id'),
            'number' => new external_value(PARAM_INT, 'section number after the call'),
            'created' => new external_value(PARAM_BOOL, 'the section was created'),
            'changed' => new external_value(PARAM_BOOL, 'anything was written (created, updated or moved)'),
        ]));
    }
}
