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
 * The sessions of an attendance activity, matched by their start time (sessdate) and group.
 *
 * A session for one group carries "group": the group's idnumber (mod_attendance keeps one groupid per
 * session, and makes a group calendar event for it: classes/calendar_helpers.php). Without "group" a
 * session is for everyone.
 *
 * Built on mod_attendance's structure class (mod_attendance_structure::add_session,
 * update_session_from_form_data, update_sessions_duration, delete_sessions), which also
 * keeps the sessions' calendar events.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class attendance_sessions {
    /** @var string[] the fields of a session */
    const FIELDS = ['sessdate', 'duration', 'description', 'group'];

    /**
     * Validates the requested sessions and puts them in the shape read() returns.
     *
     * @param mixed $sessions decoded JSON
     * @return array[] sorted by sessdate, then group
     */
    public static function normalise($sessions): array {
        if (!is_array($sessions) || ($sessions && array_keys($sessions) !== range(0, count($sessions) - 1))) {
            throw new moodle_exception('invalidsettings', 'local_ocasync', '', '"sessions" must be a list');
        }
        $out = [];
        foreach ($sessions as $i => $s) {
            $where = "sessions[{$i}]";
            if (!is_array($s)) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where} must be an object");
            }
            $unknown = array_diff(array_keys($s), self::FIELDS);
            if ($unknown) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    "{$where}: unknown fields " . implode(', ', $unknown));
            }
            if (!array_key_exists('sessdate', $s)) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where} needs \"sessdate\"");
            }
            $sessdate = modules::int_setting($s['sessdate'], "{$where}.sessdate", 1);
            $group = $s['group'] ?? '';
            if (!is_string($group)) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where}: group must be an idnumber");
            }
            $id = self::key($sessdate, $group);
            if (isset($out[$id])) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    "{$where}: sessdate {$sessdate} given twice" . ($group === '' ? '' : " for group {$group}"));
            }
            $description = $s['description'] ?? '';
            if (!is_string($description)) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where}: description must be text");
            }
            $out[$id] = [
                'sessdate' => $sessdate,
                'duration' => modules::int_setting($s['duration'] ?? 0, "{$where}.duration", 0),
                'description' => $description,
            ];
            if ($group !== '') {
                $out[$id]['group'] = $group;
            }
        }
        ksort($out, SORT_STRING);
        return array_values($out);
    }

    /**
     * The sort and match key of a session: its start, then its group ("" for everyone).
     *
     * @param int $sessdate
     * @param string $group
     * @return string
     */
    protected static function key(int $sessdate, string $group): string {
        return sprintf('%020d|%s', $sessdate, $group);
    }

    /**
     * The sessions of an attendance as they are, sorted by sessdate.
     *
     * @param int $attendanceid
     * @return array[]
     */
    public static function read(int $attendanceid): array {
        global $DB;
        $idnumbers = self::group_idnumbers($attendanceid);
        $out = [];
        foreach ($DB->get_records('attendance_sessions', ['attendanceid' => $attendanceid], 'sessdate ASC, id ASC') as $s) {
            $session = [
                'sessdate' => (int)$s->sessdate,
                'duration' => (int)$s->duration,
                'description' => (string)$s->description,
            ];
            if ((int)$s->groupid) {
                // A group without an idnumber (or deleted) shows as "#id": it never equals a requested one.
                $session['group'] = $idnumbers[$s->groupid] ?? ('#' . $s->groupid);
            }
            $out[self::key($session['sessdate'], $session['group'] ?? '') . "\0" . sprintf('%020d', $s->id)] = $session;
        }
        ksort($out, SORT_STRING);
        return array_values($out);
    }

    /**
     * Idnumbers of the groups of the attendance's course, by group id.
     *
     * @param int $attendanceid
     * @return string[]
     */
    protected static function group_idnumbers(int $attendanceid): array {
        global $DB;
        $courseid = $DB->get_field('attendance', 'course', ['id' => $attendanceid], MUST_EXIST);
        return array_filter($DB->get_records_menu('groups', ['courseid' => $courseid], '', 'id, idnumber'), 'strlen');
    }

    /**
     * Adds the missing sessions, updates the changed ones and removes the others (unless taken).
     *
     * @param \stdClass $cm the attendance's course module
     * @param \stdClass $course
     * @param array[] $sessions normalised
     * @return bool whether anything was written
     */
    public static function sync(\stdClass $cm, \stdClass $course, array $sessions): bool {
        global $CFG, $DB;
        require_once($CFG->dirroot . '/mod/attendance/lib.php');
        require_once($CFG->dirroot . '/mod/attendance/locallib.php');

        $attendance = $DB->get_record('attendance', ['id' => $cm->instance], '*', MUST_EXIST);
        $existing = $DB->get_records('attendance_sessions', ['attendanceid' => $attendance->id], 'sessdate ASC, id ASC');
        $groupids = array_flip(self::group_idnumbers((int)$attendance->id));
        $bydate = [];
        $extra = [];
        foreach ($existing as $s) {
            $id = self::key((int)$s->sessdate, (string)$s->groupid);
            if (isset($bydate[$id])) {
                $extra[] = $s;
            } else {
                $bydate[$id] = $s;
            }
        }

        $context = \context_module::instance($cm->id);
        require_capability('mod/attendance:manageattendances', $context);
        $changed = false;
        $grouped = array_filter($sessions, function($s) {
            return isset($s['group']);
        });
        if ($grouped && (int)$cm->groupmode === NOGROUPS) {
            // Group sessions are taken per group only in a group mode; visible groups keeps the sessions for
            // everyone possible too (mod_attendance's add_session web service refuses a group in no-groups mode).
            set_coursemodule_groupmode($cm->id, VISIBLEGROUPS);
            $cm = get_coursemodule_from_id('attendance', $cm->id, 0, false, MUST_EXIST);
            $changed = true;
        }
        $structure = new \mod_attendance_structure($attendance, $cm, $course, $context);
        foreach ($sessions as $want) {
            $groupid = 0;
            if (isset($want['group'])) {
                if (!isset($groupids[$want['group']])) {
                    throw new moodle_exception('invalidgroup', 'local_ocasync', '', $want['group']);
                }
                $groupid = (int)$groupids[$want['group']];
            }
            $id = self::key($want['sessdate'], (string)$groupid);
            $have = $bydate[$id] ?? null;
            unset($bydate[$id]);
            if (!$have) {
                $structure->add_session(self::new_session($attendance, $want, $groupid));
                $changed = true;
                continue;
            }
            if ((string)$have->description !== $want['description'] || (int)$have->descriptionformat !== (int)FORMAT_HTML) {
                $structure->update_session_from_form_data(self::form_data($have, $want), $have->id);
                $changed = true;
                $have = $DB->get_record('attendance_sessions', ['id' => $have->id], '*', MUST_EXIST);
            }
            if ((int)$have->duration !== $want['duration']) {
                $structure->update_sessions_duration([$have->id], $want['duration']);
                $changed = true;
            }
        }

        // Sessions not requested: removed, unless attendance was taken in them.
        $remove = [];
        foreach (array_merge(array_values($bydate), $extra) as $s) {
            if (empty($s->lasttaken) && !$DB->record_exists('attendance_log', ['sessionid' => $s->id])) {
                $remove[] = $s->id;
            }
        }
        if ($remove) {
            $structure->delete_sessions($remove);
            $changed = true;
        }
        return $changed;
    }

    /**
     * A new session with the same defaults as mod_attendance's own add_session web service.
     *
     * @param \stdClass $attendance
     * @param array $want
     * @param int $groupid 0 for everyone
     * @return \stdClass
     */
    protected static function new_session(\stdClass $attendance, array $want, int $groupid): \stdClass {
        return (object)[
            'sessdate' => $want['sessdate'],
            'duration' => $want['duration'],
            'descriptionitemid' => 0,
            'description' => $want['description'],
            'descriptionformat' => FORMAT_HTML,
            'calendarevent' => 1,
            'timemodified' => time(),
            'studentscanmark' => 0,
            'allowupdatestatus' => 0,
            'autoassignstatus' => 0,
            'subnet' => (string)$attendance->subnet,
            'studentpassword' => '',
            'automark' => 0,
            'automarkcompleted' => 0,
            'absenteereport' => (int)get_config('attendance', 'absenteereport_default'),
            'includeqrcode' => 0,
            'statusset' => 0,
            'groupid' => $groupid,
            'automarkcmid' => 0,
            'studentsearlyopentime' => (int)get_config('attendance', 'studentsearlyopentime'),
        ];
    }

    /**
     * Form data for update_session_from_form_data that keeps the session's other settings.
     *
     * @param \stdClass $have the session record
     * @param array $want
     * @return \stdClass
     */
    protected static function form_data(\stdClass $have, array $want): \stdClass {
        $duration = $want['duration'];
        return (object)[
            // The form splits the start into a date and hours: start at the session's own time and
            // end after the requested duration (update_sessions_duration fixes a duration in seconds).
            'sessiondate' => (int)$have->sessdate,
            'sestime' => [
                'starthour' => 0,
                'startminute' => 0,
                'endhour' => intdiv($duration, HOURSECS),
                'endminute' => intdiv($duration % HOURSECS, MINSECS),
            ],
            'sdescription' => ['text' => $want['description'], 'format' => FORMAT_HTML, 'itemid' => 0],
            'calendarevent' => (int)$have->calendarevent,
            'absenteereport' => (int)($have->absenteereport ?? 1),
            'studentscanmark' => (int)$have->studentscanmark,
            'allowupdatestatus' => (int)($have->allowupdatestatus ?? 0),
            'studentpassword' => (string)$have->studentpassword,
            'autoassignstatus' => (int)$have->autoassignstatus,
            'includeqrcode' => (int)($have->includeqrcode ?? 0),
            'rotateqrcode' => (int)($have->rotateqrcode ?? 0),
            'usedefaultsubnet' => 0,
            'subnet' => (string)$have->subnet,
            'automark' => (int)$have->automark,
            'studentsearlyopentime' => (int)($have->studentsearlyopentime ?? 0),
            'preventsharedip' => (int)($have->preventsharedip ?? 0),
            'preventsharediptime' => $have->preventsharediptime ?? '',
            'automarkcmid' => (int)($have->automarkcmid ?? 0),
        ];
    }
}
