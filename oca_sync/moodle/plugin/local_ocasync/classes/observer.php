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

namespace local_ocasync;

/**
 * Drops the keys of courses, sections and feedback activities that were deleted.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class observer {
    /**
     * A course was deleted.
     *
     * @param \core\event\course_deleted $event
     */
    public static function course_deleted(\core\event\course_deleted $event): void {
        global $DB;
        $DB->delete_records('local_ocasync_sections', ['courseid' => $event->objectid]);
        // A course deletion removes its modules without course_module_deleted events.
        if ($DB->get_manager()->table_exists('feedback')) {
            $DB->delete_records_select('local_ocasync_items',
                'NOT EXISTS (SELECT 1 FROM {feedback} f WHERE f.id = {local_ocasync_items}.feedbackid)');
        }
    }

    /**
     * A section was deleted.
     *
     * @param \core\event\course_section_deleted $event
     */
    public static function course_section_deleted(\core\event\course_section_deleted $event): void {
        global $DB;
        $DB->delete_records('local_ocasync_sections', ['sectionid' => $event->objectid]);
    }

    /**
     * A course module was deleted.
     *
     * @param \core\event\course_module_deleted $event
     */
    public static function course_module_deleted(\core\event\course_module_deleted $event): void {
        global $DB;
        if (($event->other['modulename'] ?? '') === 'feedback') {
            $DB->delete_records('local_ocasync_items', ['feedbackid' => $event->other['instanceid']]);
        }
    }
}
