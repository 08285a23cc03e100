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
use local_ocasync\local\modules;
use local_ocasync\local\util;

/**
 * local_ocasync_upsert_modules: creates or updates course modules keyed by idnumber.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class upsert_modules extends external_api {
    /**
     * The parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'courseid' => new external_value(PARAM_INT, 'course id'),
            'modules' => new external_multiple_structure(new external_single_structure([
                'idnumber' => new external_value(PARAM_RAW, 'course module idnumber (our key)'),
                'modname' => new external_value(PARAM_ALPHANUMEXT,
                    'url, page, label, resource, feedback or attendance'),
                'sectionkey' => new external_value(PARAM_RAW, 'key of the section, "" for section 0'),
                'name' => new external_value(PARAM_TEXT, 'name (multilang spans allowed)', VALUE_DEFAULT, ''),
                'intro' => new external_value(PARAM_RAW, 'description (HTML)', VALUE_DEFAULT, ''),
                'visible' => new external_value(PARAM_BOOL, 'visible', VALUE_DEFAULT, true),
                'settings' => new external_value(PARAM_RAW, 'JSON object of the type\'s settings', VALUE_DEFAULT, '{}'),
                // 1.2: REST cannot send an empty list, so "setgroups" says "set the restriction to these groups".
                'setgroups' => new external_value(PARAM_BOOL, 'set the group restriction to "groups"', VALUE_DEFAULT,
                    false),
                'groups' => new external_multiple_structure(
                    new external_value(PARAM_RAW, 'group idnumber'),
                    'groups whose members may see the module; none: no restriction of this kind', VALUE_DEFAULT, []),
            ])),
        ]);
    }

    /**
     * Creates or updates the modules, in order, in one transaction.
     *
     * @param int $courseid
     * @param array $modules
     * @return array
     */
    public static function execute(int $courseid, array $modules): array {
        $params = self::validate_parameters(self::execute_parameters(), ['courseid' => $courseid, 'modules' => $modules]);
        $course = course_access::check($params['courseid']);
        return util::in_transaction((int)$course->id, function() use ($course, $params) {
            return modules::upsert((int)$course->id, $params['modules']);
        });
    }

    /**
     * The returned structure.
     *
     * @return external_multiple_structure
     */
    public static function execute_returns(): external_multiple_structure {
        return new external_multiple_structure(new external_single_structure([
            'idnumber' => new external_value(PARAM_RAW, 'idnumber'),
            'cmid' => new external_value(PARAM_INT, 'course module id'),
            'created' => new external_value(PARAM_BOOL, 'the module was created'),
            'changed' => new external_value(PARAM_BOOL, 'anything was written'),
        ]));
    }
}
