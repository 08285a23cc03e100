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
use local_ocasync\local\util;
use moodle_exception;

/**
 * local_ocasync_take_attendance: the statuses of many students in one attendance session.
 *
 * mod_attendance's own web service (mod_attendance_update_user_status) takes one student per call,
 * does not check the status against the session's set, and neither updates grades nor logs an
 * event. This does what the plugin's "Take attendance" page does (take.php ->
 * mod_attendance_structure::save_log): one log row per student (remarks kept), the session marked
 * taken, the students' attendance grades updated, and the attendance_taken event.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class take_attendance extends external_api {
    /**
     * The parameters.
     *
     * @return external_function_parameters
     */
    public static function execute_parameters(): external_function_parameters {
        return new external_function_parameters([
            'sessionid' => new external_value(PARAM_INT, 'attendance_sessions.id'),
            'statuses' => new external_multiple_structure(new external_single_structure([
                'studentid' => new external_value(PARAM_INT, 'user id'),
                'statusid' => new external_value(PARAM_INT, 'attendance_statuses.id of the session\'s status set'),
            ])),
        ]);
    }

    /**
     * Writes the statuses.
     *
     * @param int $sessionid
     * @param array $statuses
     * @return array
     */
    public static function execute(int $sessionid, array $statuses): array {
        global $CFG, $DB;
        $params = self::validate_parameters(self::execute_parameters(),
            ['sessionid' => $sessionid, 'statuses' => $statuses]);
        if (!\core_component::get_component_directory('mod_attendance')) {
            throw new moodle_exception('invalidsettings', 'local_ocasync', '', 'mod_attendance is not installed');
        }
        require_once($CFG->dirroot . '/mod/attendance/lib.php');
        require_once($CFG->dirroot . '/mod/attendance/locallib.php');

        $session = $DB->get_record('attendance_sessions', ['id' => $params['sessionid']], '*', MUST_EXIST);
        $cm = get_coursemodule_from_instance('attendance', $session->attendanceid, 0, false, MUST_EXIST);
        $context = \context_module::instance($cm->id);
        self::validate_context($context);
        require_capability('local/ocasync:manage', $context);
        require_capability('mod/attendance:takeattendances', $context);
        if ($session->lasttaken > 0) {
            // As the plugin's manage page: a session already taken is changed only with this capability.
            require_capability('mod/attendance:changeattendances', $context);
        }

        $allowed = attendance_get_statuses($session->attendanceid, true, $session->statusset);
        $enrolled = get_enrolled_users($context, '', 0, 'u.id', null, 0, 0, true);
        $seen = [];
        foreach ($params['statuses'] as $i => $s) {
            if (!isset($allowed[$s['statusid']])) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    "statuses[{$i}]: status {$s['statusid']} is not in the status set of session {$session->id}");
            }
            if (!isset($enrolled[$s['studentid']])) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    "statuses[{$i}]: user {$s['studentid']} is not enrolled in this course");
            }
            if (isset($seen[$s['studentid']])) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    "statuses[{$i}]: user {$s['studentid']} given twice");
            }
            $seen[$s['studentid']] = true;
        }
        if (!$params['statuses']) {
            return ['sessionid' => (int)$session->id, 'written' => 0];
        }

        $course = get_course($cm->course);
        $attendance = $DB->get_record('attendance', ['id' => $session->attendanceid], '*', MUST_EXIST);
        $pageparams = new \mod_attendance_take_page_params();
        $pageparams->sessionid = (int)$session->id;
        $pageparams->grouptype = (int)$session->groupid;
        $pageparams->init();
        $structure = new \mod_attendance_structure($attendance, $cm, $course, $context, $pageparams);

        // The log as take_from_form_data builds it: the set's status ids, the teacher's remark kept.
        $existing = $structure->get_session_log($session->id);
        $statusset = implode(',', array_keys($structure->get_statuses()));
        $now = time();
        $log = [];
        foreach ($params['statuses'] as $s) {
            $studentid = (int)$s['studentid'];
            $log[$studentid] = (object)[
                'studentid' => $studentid,
                'statusid' => (int)$s['statusid'],
                'statusset' => $statusset,
                'remarks' => isset($existing[$studentid]) ? (string)$existing[$studentid]->remarks : '',
                'sessionid' => (int)$session->id,
                'timetaken' => $now,
                'takenby' => $GLOBALS['USER']->id,
            ];
        }
        // The log rows, the session and the grades together, or none of them.
        util::in_transaction(0, function() use ($structure, $log) {
            $structure->save_log($log);
        });
        return ['sessionid' => (int)$session->id, 'written' => count($log)];
    }

    /**
     * The returned structure.
     *
     * @return external_single_structure
     */
    public static function execute_returns(): external_single_structure {
        return new external_single_structure([
            'sessionid' => new external_value(PARAM_INT, 'attendance_sessions.id'),
            'written' => new external_value(PARAM_INT, 'statuses given'),
        ]);
    }
}
