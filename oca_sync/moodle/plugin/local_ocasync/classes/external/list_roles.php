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

/**
 * local_ocasync_list_roles: the roles of the site (their ids differ between sites).
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class list_roles extends external_api {
    /**
     * No parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([]);
    }

    /**
     * Every role, with whether it can be assigned in a course.
     *
     * @return array
     */
    public static function execute(): array {
        self::validate_parameters(self::execute_parameters(), []);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/ocasync:manage', $context);

        $roles = role_fix_names(get_all_roles(), $context, ROLENAME_ORIGINAL);
        $out = [];
        foreach ($roles as $role) {
            $out[] = [
                'id' => (int)$role->id,
                'shortname' => $role->shortname,
                'name' => (string)$role->localname,
                'archetype' => (string)$role->archetype,
                'coursecontext' => in_array(CONTEXT_COURSE, get_role_contextlevels($role->id)),
            ];
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
            'id' => new external_value(PARAM_INT, 'role id'),
            'shortname' => new external_value(PARAM_RAW, 'role short name'),
            'name' => new external_value(PARAM_RAW, 'role name'),
            'archetype' => new external_value(PARAM_RAW, 'archetype, "" when none'),
            'coursecontext' => new external_value(PARAM_BOOL, 'the role can be assigned in a course context'),
        ]));
    }
}
