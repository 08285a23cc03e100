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
 * local_ocasync_get_users: users by idnumber or username, many at once, only the fields oca-sync manages.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_users extends external_api {
    /**
     * The parameters (those of core_user_get_users_by_field).
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'field' => new external_value(PARAM_ALPHA, 'idnumber or username'),
            'values' => new external_multiple_structure(new external_value(PARAM_RAW, 'a value to match')),
        ]);
    }

    /**
     * The users whose field is one of the values, by id.
     *
     * @param string $field
     * @param array $values
     * @return array
     */
    public static function execute(string $field, array $values): array {
        $params = self::validate_parameters(self::execute_parameters(), ['field' => $field, 'values' => $values]);
        return bulk_read::users($params['field'], $params['values']);
    }

    /**
     * The returned structure.
     *
     * @return external_multiple_structure
     */
    public static function execute_returns(): external_multiple_structure {
        return new external_multiple_structure(new external_single_structure([
            'id' => new external_value(PARAM_INT, 'user id'),
            'username' => new external_value(PARAM_RAW, 'username'),
            'idnumber' => new external_value(PARAM_RAW, 'idnumber, "" when none'),
            'firstname' => new external_value(PARAM_RAW, 'first name, raw'),
            'lastname' => new external_value(PARAM_RAW, 'last name, raw'),
            'email' => new external_value(PARAM_RAW, 'email'),
            'lang' => new external_value(PARAM_RAW, 'preferred language'),
            'auth' => new external_value(PARAM_RAW, 'authentication plugin'),
            'city' => new external_value(PARAM_RAW, 'city, "" when none'),
            'country' => new external_value(PARAM_RAW, 'country code, "" when none'),
        ]), 'users by id');
    }
}
