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

use moodle_exception;

/**
 * Shared helpers of the web-service functions.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class util {
    /** @var string pattern of section keys and feedback question keys. */
    const KEY_PATTERN = '/^[A-Za-z0-9:_.#-]{1,100}$/';

    /**
     * The course record, freshly read (the marker and cache revision change while we work).
     *
     * @param int $courseid
     * @return \stdClass
     */
    public static function course(int $courseid): \stdClass {
        global $DB;
        $course = $DB->get_record('course', ['id' => $courseid]);
        if (!$course || $courseid == SITEID) {
            throw new moodle_exception('invalidcourseid', 'error');
        }
        return $course;
    }

    /**
     * Checks that the key is one of ours.
     *
     * @param string $key
     * @return string the key
     */
    public static function check_key(string $key): string {
        if (!preg_match(self::KEY_PATTERN, $key)) {
            throw new moodle_exception('invalidkey', 'local_ocasync', '', $key);
        }
        return $key;
    }

    /**
     * Checks a course module idnumber.
     *
     * @param string $idnumber
     * @return string the idnumber
     */
    public static function check_idnumber(string $idnumber): string {
        if ($idnumber === '' || trim($idnumber) !== $idnumber || \core_text::strlen($idnumber) > 100) {
            throw new moodle_exception('invalididnumber', 'local_ocasync', '', $idnumber);
        }
        return $idnumber;
    }

    /**
     * Whether a course_sections record is delegated to a component (5.x subsections).
     *
     * @param \stdClass $section record of course_sections
     * @return bool
     */
    public static function is_delegated(\stdClass $section): bool {
        return !empty($section->component);
    }

    /**
     * The top-level (not delegated) sections of a course, by section number.
     *
     * @param int $courseid
     * @return \stdClass[] records of course_sections keyed by id, ordered by number
     */
    public static function regular_sections(int $courseid): array {
        global $DB;
        $sections = $DB->get_records('course_sections', ['course' => $courseid], 'section ASC');
        return array_filter($sections, function($s) {
            return !self::is_delegated($s);
        });
    }

    /**
     * The highest number of a top-level section.
     *
     * @param int $courseid
     * @return int
     */
    public static function last_regular_number(int $courseid): int {
        $last = 0;
        foreach (self::regular_sections($courseid) as $s) {
            $last = max($last, (int)$s->section);
        }
        return $last;
    }

    /**
     * Runs $work in one delegated transaction; on failure rolls back and clears the course cache.
     *
     * @param int $courseid the course whose caches must not keep rolled-back data
     * @param callable $work
     * @return mixed what $work returns
     */
    public static function in_transaction(int $courseid, callable $work) {
        global $DB;
        $transaction = $DB->start_delegated_transaction();
        try {
            $result = $work();
            $transaction->allow_commit();
            return $result;
        } catch (\Throwable $e) {
            try {
                $transaction->rollback($e);
            } finally {
                if ($courseid && !$DB->is_transaction_started()) {
                    rebuild_course_cache($courseid, true);
                }
            }
        }
        return null;
    }

    /**
     * Encodes a settings array as a JSON object (an empty array gives "{}").
     *
     * @param array $settings
     * @return string
     */
    public static function json(array $settings): string {
        return json_encode($settings ? $settings : new \stdClass(), JSON_UNESCAPED_SLASHES | JSON_UNESCAPED_UNICODE);
    }
}
