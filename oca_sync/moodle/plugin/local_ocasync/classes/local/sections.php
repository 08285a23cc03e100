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
 * Course sections keyed by oca-sync keys (table local_ocasync_sections).
 *
 * Built on course_create_section, course_update_section, move_section_to and
 * course_delete_section (course/lib.php).
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class sections {
    /** @var string the mapping table */
    const TABLE = 'local_ocasync_sections';

    /**
     * The keys of the course's mapped sections.
     *
     * @param int $courseid
     * @return string[] key by section id
     */
    public static function keys_by_sectionid(int $courseid): array {
        global $DB;
        return $DB->get_records_menu(self::TABLE, ['courseid' => $courseid], '', 'sectionid, skey');
    }

    /**
     * The section mapped to a key, or null (a mapping whose section is gone is dropped).
     *
     * @param int $courseid
     * @param string $key
     * @return \stdClass|null record of course_sections
     */
    public static function find(int $courseid, string $key): ?\stdClass {
        global $DB;
        $map = $DB->get_record(self::TABLE, ['courseid' => $courseid, 'skey' => $key]);
        if (!$map) {
            return null;
        }
        $section = $DB->get_record('course_sections', ['id' => $map->sectionid, 'course' => $courseid]);
        if (!$section || util::is_delegated($section)) {
            // Deleted by hand (or taken over by a component): forget it.
            $DB->delete_records(self::TABLE, ['id' => $map->id]);
            return null;
        }
        return $section;
    }

    /**
     * Map an existing top-level section to a key (sections made before the plugin was installed).
     *
     * @param int $courseid
     * @param int $sectionid
     * @param string $key
     * @return \stdClass record of course_sections
     */
    public static function adopt(int $courseid, int $sectionid, string $key): \stdClass {
        global $DB;
        $section = $DB->get_record('course_sections', ['id' => $sectionid, 'course' => $courseid]);
        if (!$section || util::is_delegated($section) || (int)$section->section === 0
                || $DB->record_exists(self::TABLE, ['sectionid' => $sectionid])) {
            throw new moodle_exception('invalidsectionid', 'local_ocasync', '', $sectionid);
        }
        $DB->insert_record(self::TABLE, (object)[
            'courseid' => $courseid,
            'sectionid' => $sectionid,
            'skey' => $key,
            'timemodified' => time(),
        ]);
        return $section;
    }

    /**
     * State of the top-level sections, for get_course_state.
     *
     * @param int $courseid
     * @return array[]
     */
    public static function state(int $courseid): array {
        $keys = self::keys_by_sectionid($courseid);
        $out = [];
        foreach (util::regular_sections($courseid) as $s) {
            $out[] = [
                'id' => (int)$s->id,
                'number' => (int)$s->section,
                'key' => $keys[$s->id] ?? '',
                'name' => (string)$s->name,
                'summary' => (string)$s->summary,
                'visible' => (bool)$s->visible,
                'availability' => (string)($s->availability ?? ''),
            ];
        }
        return $out;
    }

    /**
     * Creates or updates the sections, in order.
     *
     * @param int $courseid
     * @param array[] $items each {key, number, name, summary, visible[, sectionid][, setgroups, groups]}
     * @return array[] each {key, id, number, created, changed}
     */
    public static function upsert(int $courseid, array $items): array {
        global $DB;
        $context = \context_course::instance($courseid);
        $seen = [];
        foreach ($items as $item) {
            util::check_key($item['key']);
            if (isset($seen[$item['key']])) {
                throw new moodle_exception('invalidkey', 'local_ocasync', '', $item['key']);
            }
            $seen[$item['key']] = true;
            if ($item['number'] < 1) {
                throw new moodle_exception('invalidposition', 'local_ocasync', '', $item['number']);
            }
        }

        $results = [];
        foreach ($items as $item) {
            $key = $item['key'];
            $name = $item['name'];
            $created = false;
            $changed = false;
            $section = self::find($courseid, $key);
            if (!$section && !empty($item['sectionid'])) {
                $section = self::adopt($courseid, (int)$item['sectionid'], $key);
            }
            if (!$section) {
                $course = util::course($courseid);
                $last = util::last_regular_number($courseid);
                $position = $item['number'] <= $last ? (int)$item['number'] : 0; // 0: after the last one.
                $new = course_create_section($course, $position);
                $DB->insert_record(self::TABLE, (object)[
                    'courseid' => $courseid,
                    'sectionid' => $new->id,
                    'skey' => $key,
                    'timemodified' => time(),
                ]);
                $section = $DB->get_record('course_sections', ['id' => $new->id], '*', MUST_EXIST);
                $created = true;
            }

            $data = [];
            if ((string)$section->name !== $name) {
                $data['name'] = $name === '' ? null : $name;
            }
            if ((string)$section->summary !== $item['summary'] || (int)$section->summaryformat !== (int)FORMAT_HTML) {
                $data['summary'] = $item['summary'];
                $data['summaryformat'] = FORMAT_HTML;
            }
            if ((bool)$section->visible !== (bool)$item['visible']) {
                require_capability('moodle/course:sectionvisibility', $context);
                $data['visible'] = $item['visible'] ? 1 : 0;
            }
            if (!empty($item['setgroups'])) {
                $availability = self::availability($courseid, $item['groups'], $section->availability ?? null);
                if ($availability !== false) {
                    $data['availability'] = $availability;
                }
            }
            if ($data) {
                course_update_section($courseid, $section, $data);
                $changed = true;
            }

            // Move it to its position (clamped to the top-level sections: 5.x subsections stay last).
            $section = $DB->get_record('course_sections', ['id' => $section->id], '*', MUST_EXIST);
            $destination = min((int)$item['number'], util::last_regular_number($courseid));
            if ((int)$section->section !== $destination) {
                require_capability('moodle/course:movesections', $context);
                if (!move_section_to(util::course($courseid), (int)$section->section, $destination, true)) {
                    throw new moodle_exception('invalidposition', 'local_ocasync', '', $item['number']);
                }
                $changed = true;
            }
            $results[] = ['key' => $key, 'id' => (int)$section->id, 'created' => $created, 'changed' => $changed || $created];
        }

        // Numbers after all the moves.
        $numbers = $DB->get_records_menu('course_sections', ['course' => $courseid], '', 'id, section');
        foreach ($results as $i => $r) {
            $results[$i]['number'] = (int)$numbers[$r['id']];
        }
        return $results;
    }

    /**
     * The access restriction for members of these groups: one OR of availability_group conditions, hidden
     * entirely from others. An OR tree has one "show" flag, not "showc" (availability/classes/tree.php
     * __construct); a group condition is {"type":"group","id":N} (availability/condition/group/classes/condition.php).
     *
     * @param int $courseid
     * @param string[] $idnumbers group idnumbers; [] removes a restriction of this shape (and no other)
     * @param string|null $current the section's availability
     * @return string|null|false the new availability, or false to leave it as it is
     */
    public static function availability(int $courseid, array $idnumbers, ?string $current) {
        global $DB;
        $conditions = [];
        foreach ($idnumbers as $idnumber) {
            $group = $idnumber === '' ? false : $DB->get_record('groups', ['courseid' => $courseid, 'idnumber' => $idnumber]);
            if (!$group) {
                throw new moodle_exception('invalidgroup', 'local_ocasync', '', $idnumber);
            }
            $conditions[] = ['type' => 'group', 'id' => (int)$group->id];
        }
        $have = $current ? json_decode($current, true) : null;
        if (!$conditions) {
            return self::is_group_restriction($have) ? null : false;
        }
        $want = ['op' => '|', 'c' => $conditions, 'show' => false];
        return $have == $want ? false : json_encode($want);  // == : the same pairs in any order
    }

    /**
     * Whether a decoded availability is the kind availability() writes (so it may be removed).
     *
     * @param mixed $tree
     * @return bool
     */
    protected static function is_group_restriction($tree): bool {
        if (!is_array($tree) || ($tree['op'] ?? '') !== '|' || ($tree['show'] ?? null) !== false
                || empty($tree['c']) || !is_array($tree['c'])) {
            return false;
        }
        foreach ($tree['c'] as $c) {
            if (!is_array($c) || ($c['type'] ?? '') !== 'group' || count($c) !== 2 || !isset($c['id'])) {
                return false;
            }
        }
        return true;
    }

    /**
     * Deletes the empty sections mapped to these keys, and their mappings.
     *
     * @param int $courseid
     * @param string[] $keys
     * @return array[] each {key, deleted}
     */
    public static function delete(int $courseid, array $keys): array {
        global $DB;
        $context = \context_course::instance($courseid);
        foreach ($keys as $key) {
            util::check_key($key);
        }
        $results = [];
        foreach ($keys as $key) {
            $section = self::find($courseid, $key);
            if (!$section) {
                $results[] = ['key' => $key, 'deleted' => false];
                continue;
            }
            $modules = $DB->count_records_select('course_modules', 'course = ? AND section = ? AND deletioninprogress = 0',
                [$courseid, $section->id]);
            if ($modules) {
                throw new moodle_exception('sectionnotempty', 'local_ocasync', '', $key);
            }
            require_capability('moodle/course:movesections', $context);
            $course = util::course($courseid);
            if (!course_can_delete_section($course, (int)$section->section)) {
                throw new moodle_exception('cannotdeletesection', 'local_ocasync', '', $key);
            }
            // Forced: the format refuses a section with a summary otherwise; we checked it holds no module.
            if (!course_delete_section($course, (int)$section->section, true, false)) {
                throw new moodle_exception('cannotdeletesection', 'local_ocasync', '', $key);
            }
            $DB->delete_records(self::TABLE, ['courseid' => $courseid, 'skey' => $key]);
            $results[] = ['key' => $key, 'deleted' => true];
        }
        return $results;
    }
}
