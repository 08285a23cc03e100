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

defined('MOODLE_INTERNAL') || die();

require_once(__DIR__ . '/../../compat.php');

/**
 * The checks every course function makes before it reads or writes.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class course_access {
    /**
     * Validates the course context and checks the capabilities.
     *
     * local/ocasync:manage is checked in the course context, so a grant at site, category or
     * course level all work; moodle/course:update and moodle/course:manageactivities too.
     *
     * @param int $courseid
     * @return \stdClass the course record
     */
    public static function check(int $courseid): \stdClass {
        global $CFG;
        require_once($CFG->dirroot . '/course/lib.php');
        require_once($CFG->dirroot . '/course/modlib.php');
        $course = util::course($courseid);
        $context = \context_course::instance($course->id);
        \core_external\external_api::validate_context($context);
        require_capability('local/ocasync:manage', $context);
        require_capability('moodle/course:update', $context);
        require_capability('moodle/course:manageactivities', $context);
        return $course;
    }
}
