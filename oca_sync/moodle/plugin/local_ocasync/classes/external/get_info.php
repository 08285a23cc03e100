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
 * local_ocasync_get_info: versions, the multilang filter settings and the installed languages.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class get_info extends external_api {
    /**
     * No parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([]);
    }

    /**
     * Versions of the plugin, Moodle and mod_attendance; multilang filter settings; installed language packs.
     *
     * @return array
     */
    public static function execute(): array {
        global $CFG;
        require_once($CFG->libdir . '/filterlib.php');
        self::validate_parameters(self::execute_parameters(), []);
        $context = \context_system::instance();
        self::validate_context($context);
        require_capability('local/ocasync:manage', $context);

        $plugin = new \stdClass();
        include(__DIR__ . '/../../version.php');
        $attendance = 0;
        $dir = \core_component::get_component_directory('mod_attendance');
        if ($dir && is_dir($dir)) {
            $attendance = (int)get_config('mod_attendance', 'version');
        }
        return [
            'plugin_version' => (int)get_config('local_ocasync', 'version'),
            'plugin_release' => (string)($plugin->release ?? ''),
            'moodle_release' => (string)$CFG->release,
            'moodle_version' => (string)$CFG->version,
            'attendance_version' => $attendance,
            'multilang_enabled' => (bool)filter_is_enabled('multilang'),
            'filterall' => !empty($CFG->filterall),
            // Every installed pack, enabled for users or not: a user's lang passes PARAM_LANG when the
            // pack exists (lib/classes/param.php clean_param_value_lang, translation_exists($lang, true)).
            'languages' => array_map('strval', array_keys(get_string_manager()->get_list_of_translations(true))),
            // Group restrictions of sections are enforced only with both (admin/settings/subsystems.php,
            // lib/classes/plugininfo/availability.php get_enabled_plugins).
            'group_restrictions' => !empty($CFG->enableavailability)
                && empty(get_config('availability_group', 'disabled')),
        ];
    }

    /**
     * The returned structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'plugin_version' => new external_value(PARAM_INT, 'version of local_ocasync'),
            'plugin_release' => new external_value(PARAM_RAW, 'release of local_ocasync'),
            'moodle_release' => new external_value(PARAM_RAW, 'Moodle release'),
            'moodle_version' => new external_value(PARAM_RAW, 'Moodle version'),
            'attendance_version' => new external_value(PARAM_INT, 'version of mod_attendance, 0 when not installed'),
            'multilang_enabled' => new external_value(PARAM_BOOL, 'filter_multilang is on globally'),
            'filterall' => new external_value(PARAM_BOOL, 'filters apply to headings too ($CFG->filterall)'),
            'languages' => new external_multiple_structure(
                new external_value(PARAM_RAW, 'language code'), 'installed language packs'),
            'group_restrictions' => new external_value(PARAM_BOOL,
                'access restrictions are on ($CFG->enableavailability) and availability_group is enabled'),
        ]);
    }
}
