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

/**
 * Compatibility shim for the external API between Moodle 4.1 and 4.2+.
 *
 * Moodle 4.2 moved the external API classes into \core_external (lib/external); 4.1 only has
 * the global classes of lib/externallib.php. The plugin's external classes use the
 * \core_external names; on 4.1 this file aliases them to the global classes.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

if (!class_exists('core_external\external_api')) {
    global $CFG;
    require_once($CFG->libdir . '/externallib.php');
    foreach ([
        'external_api',
        'external_description',
        'external_value',
        'external_single_structure',
        'external_multiple_structure',
        'external_function_parameters',
    ] as $legacyclass) {
        if (!class_exists('core_external\\' . $legacyclass, false)) {
            class_alias($legacyclass, 'core_external\\' . $legacyclass);
        }
    }
}
