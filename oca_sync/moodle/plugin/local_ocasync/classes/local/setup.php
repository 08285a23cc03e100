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

namespace local_ocasync\local;

/**
 * Installation helpers.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class setup {
    /** @var string short name of the plugin's external service (db/services.php). */
    const SERVICE_SHORTNAME = 'oca_sync';

    /**
     * Frees the short name 'oca_sync' when a service created by hand already holds it.
     *
     * Moodle refuses to install a plugin whose service short name is taken, with a
     * misleading message. An administrator following older oca-sync instructions may
     * have created an 'oca_sync' service by hand: that service keeps its functions,
     * users and tokens, only its short name gets a suffix.
     *
     * @return string|null the new short name of the renamed service, or null
     */
    public static function free_service_shortname(): ?string {
        global $CFG, $DB;
        $existing = $DB->get_record('external_services', ['shortname' => self::SERVICE_SHORTNAME]);
        if (!$existing || $existing->component === 'local_ocasync') {
            return null;
        }
        if (!empty($existing->component)) {
            // A service of another plugin: leave it alone; Moodle will report the clash.
            return null;
        }
        require_once($CFG->dirroot . '/webservice/lib.php');
        $candidate = self::SERVICE_SHORTNAME . '_custom';
        $n = 1;
        while ($DB->record_exists('external_services', ['shortname' => $candidate])) {
            $n++;
            $candidate = self::SERVICE_SHORTNAME . '_custom' . $n;
        }
        $existing->shortname = $candidate;
        $webservice = new \webservice();
        $webservice->update_external_service($existing);
        $message = get_string('serviceshortnamefreed', 'local_ocasync', $candidate);
        if (defined('PHPUNIT_TEST') && PHPUNIT_TEST) {
            return $candidate;
        } else if (CLI_SCRIPT) {
            mtrace($message);
        } else {
            echo \html_writer::div(s($message), 'alert alert-info');
        }
        return $candidate;
    }
}
