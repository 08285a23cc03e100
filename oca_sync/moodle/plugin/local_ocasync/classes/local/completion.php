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
 * Activity completion of keyed modules and the course completion criteria, as Moodle's forms write them.
 *
 * Activity settings go through update_moduleinfo() with completionunlocked (course/modlib.php, what
 * the activity form does: it also resets and recalculates the activity's completion states);
 * criteria through completion_info::clear_criteria(), completion_criteria_activity::update_config()
 * and completion_aggregation::save() (course/completion.php). Only what differs is written.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class completion {
    /** The activity completion settings a caller may set. */
    const MODULE_FIELDS = ['completion', 'completionview', 'completionusegrade', 'completionpassgrade', 'gradepass',
        'completionsubmit'];

    /** The module types whose completion can be set (their edit data needs nothing beyond the record). */
    const MODULES = ['feedback', 'attendance'];

    /**
     * Loads the libraries.
     */
    protected static function require_libs(): void {
        global $CFG;
        require_once($CFG->libdir . '/completionlib.php');
        require_once($CFG->libdir . '/gradelib.php');
        require_once($CFG->dirroot . '/course/lib.php');
        require_once($CFG->dirroot . '/course/modlib.php');
        require_once($CFG->dirroot . '/completion/criteria/completion_criteria_activity.php');
    }

    /**
     * The completion settings of the course: aggregation, criteria and each keyed module's settings.
     *
     * @param \stdClass $course
     * @return array
     */
    public static function settings(\stdClass $course): array {
        global $DB;
        self::require_libs();
        $modinfo = get_fast_modinfo($course->id, -1);
        $names = [];
        $modules = [];
        $gradepass = [];
        foreach ($DB->get_records('grade_items', ['courseid' => $course->id, 'itemtype' => 'mod', 'itemnumber' => 0],
                '', 'id, itemmodule, iteminstance, gradepass') as $item) {
            $gradepass[$item->itemmodule . ':' . $item->iteminstance] = (float)$item->gradepass;
        }
        $submit = $DB->get_records_menu('feedback', ['course' => $course->id], '', 'id, completionsubmit');
        foreach ($modinfo->get_cms() as $cm) {
            if ((string)$cm->idnumber === '' || !empty($cm->deletioninprogress)) {
                $names[$cm->id] = '#' . $cm->id;
                continue;
            }
            $names[$cm->id] = (string)$cm->idnumber;
            $s = [
                'completion' => (int)$cm->completion,
                'completionview' => (int)$cm->completionview,
                'completionusegrade' => is_null($cm->completiongradeitemnumber) ? 0 : 1,
                'completionpassgrade' => (int)$cm->completionpassgrade,
            ];
            if (isset($gradepass[$cm->modname . ':' . $cm->instance])) {
                $s['gradepass'] = $gradepass[$cm->modname . ':' . $cm->instance];
            }
            if ($cm->modname === 'feedback') {
                $s['completionsubmit'] = (int)($submit[$cm->instance] ?? 0);
            }
            $modules[] = ['idnumber' => (string)$cm->idnumber, 'modname' => (string)$cm->modname,
                'settings' => util::json($s)];
        }
        $criteria = [];
        foreach ($DB->get_records('course_completion_criteria', ['course' => $course->id], 'id') as $c) {
            if ((int)$c->criteriatype === COMPLETION_CRITERIA_TYPE_ACTIVITY) {
                $criteria[] = $names[(int)$c->moduleinstance] ?? ('#' . (int)$c->moduleinstance);
            } else {
                $criteria[] = 'type:' . (int)$c->criteriatype;
            }
        }
        sort($criteria);
        return [
            'enablecompletion' => (bool)$course->enablecompletion,
            'aggregation' => self::aggregation((int)$course->id, null),
            'activityaggregation' => self::aggregation((int)$course->id, COMPLETION_CRITERIA_TYPE_ACTIVITY),
            'criteria' => $criteria,
            'modules' => $modules,
        ];
    }

    /**
     * An aggregation method as completion_info reads it (ALL when none is stored).
     *
     * @param int $courseid
     * @param int|null $type criteria type, null for the overall method
     * @return int
     */
    protected static function aggregation(int $courseid, ?int $type): int {
        global $DB;
        $select = 'course = :course AND ' . ($type === null ? 'criteriatype IS NULL' : 'criteriatype = :type');
        $method = $DB->get_field_select('course_completion_aggr_methd', 'method', $select,
            ['course' => $courseid, 'type' => $type]);
        return $method ? (int)$method : COMPLETION_AGGREGATION_ALL;
    }

    /**
     * Parses and checks the requested settings.
     *
     * @param string $json {"modules": {idnumber: {field: value}}, "criteria": [idnumber], "aggregation": 1|2}
     * @return array
     */
    public static function parse(string $json): array {
        $s = json_decode($json, true);
        if (!is_array($s)) {
            throw new \moodle_exception('invalidsettings', 'local_ocasync', '', 'not a JSON object');
        }
        foreach (array_keys($s) as $k) {
            if (!in_array($k, ['modules', 'criteria', 'aggregation'], true)) {
                throw new \moodle_exception('invalidsettings', 'local_ocasync', '', 'unknown setting ' . $k);
            }
        }
        $modules = $s['modules'] ?? [];
        $criteria = $s['criteria'] ?? [];
        $aggregation = $s['aggregation'] ?? COMPLETION_AGGREGATION_ALL;
        if (!is_array($modules) || !is_array($criteria) || !in_array($aggregation, [1, 2], true)) {
            throw new \moodle_exception('invalidsettings', 'local_ocasync', '',
                'modules must be an object, criteria a list, aggregation 1 (all) or 2 (any)');
        }
        $out = [];
        foreach ($modules as $idnumber => $fields) {
            util::check_idnumber((string)$idnumber);
            if (!is_array($fields)) {
                throw new \moodle_exception('invalidsettings', 'local_ocasync', '', 'settings of ' . $idnumber);
            }
            foreach ($fields as $k => $v) {
                if (!in_array($k, self::MODULE_FIELDS, true)) {
                    throw new \moodle_exception('invalidsettings', 'local_ocasync', '', 'unknown setting ' . $k);
                }
                if ($k === 'gradepass' ? !is_numeric($v) || $v < 0 : !is_int($v) || $v < 0 || $v > 2) {
                    throw new \moodle_exception('invalidsettings', 'local_ocasync', '', $k . ' of ' . $idnumber);
                }
            }
            $out[(string)$idnumber] = $fields;
        }
        foreach ($criteria as $idnumber) {
            util::check_idnumber((string)$idnumber);
        }
        return ['modules' => $out, 'criteria' => array_values(array_unique(array_map('strval', $criteria))),
            'aggregation' => (int)$aggregation];
    }

    /**
     * Writes what differs from $want.
     *
     * @param \stdClass $course
     * @param array $want as parse() returns it
     * @return array {modules: idnumbers updated, criteria: whether the criteria were rewritten}
     */
    public static function apply(\stdClass $course, array $want): array {
        global $DB;
        self::require_libs();
        if (empty($course->enablecompletion)) {
            throw new \moodle_exception('completiondisabled', 'local_ocasync', '', $course->shortname);
        }
        $have = self::settings($course);
        $current = [];
        foreach ($have['modules'] as $m) {
            $current[$m['idnumber']] = json_decode($m['settings'], true);
        }
        $cms = self::cms_by_idnumber($course);
        foreach (array_merge(array_keys($want['modules']), $want['criteria']) as $idnumber) {
            if (!isset($cms[$idnumber])) {
                throw new \moodle_exception('completionnomodule', 'local_ocasync', '', $idnumber);
            }
        }
        foreach (array_keys($want['modules']) as $idnumber) {
            $modname = $DB->get_field('modules', 'name', ['id' => $cms[$idnumber]->module]);
            if (!in_array($modname, self::MODULES, true)) {
                throw new \moodle_exception('invalidsettings', 'local_ocasync', '',
                    'completion of ' . $idnumber . ': only feedback and attendance activities');
            }
        }
        $updated = [];
        foreach ($want['modules'] as $idnumber => $fields) {
            if (self::same($current[$idnumber] ?? [], $fields)) {
                continue;
            }
            self::set_module($course, $cms[$idnumber], $fields);
            $updated[] = $idnumber;
            $course = util::course((int)$course->id);
        }
        $criteria = $want['criteria'];
        sort($criteria);
        $rewrite = $criteria !== $have['criteria'] || $have['aggregation'] !== $want['aggregation']
            || $have['activityaggregation'] !== COMPLETION_AGGREGATION_ALL;
        if ($rewrite) {
            self::set_criteria($course, array_map(function($i) use ($cms) {
                return $cms[$i];
            }, $criteria), $want['aggregation']);
        }
        return ['modules' => $updated, 'criteria' => $rewrite];
    }

    /**
     * Whether the current settings hold every requested value (gradepass to 5 decimals, as stored).
     *
     * @param array $current
     * @param array $fields
     * @return bool
     */
    protected static function same(array $current, array $fields): bool {
        foreach ($fields as $k => $v) {
            if (!array_key_exists($k, $current)) {
                return false;
            }
            if ($k === 'gradepass' ? round((float)$current[$k], 5) != round((float)$v, 5) : (int)$current[$k] !== $v) {
                return false;
            }
        }
        return true;
    }

    /**
     * Course modules of the course by idnumber.
     *
     * @param \stdClass $course
     * @return \stdClass[]
     */
    protected static function cms_by_idnumber(\stdClass $course): array {
        global $DB;
        $out = [];
        foreach ($DB->get_records_select('course_modules', "course = :course AND idnumber <> '' AND deletioninprogress = 0",
                ['course' => $course->id]) as $cm) {
            if (isset($out[$cm->idnumber])) {
                throw new \moodle_exception('duplicateidnumber', 'local_ocasync', '', $cm->idnumber);
            }
            $out[$cm->idnumber] = $cm;
        }
        return $out;
    }

    /**
     * One activity's completion settings, as its edit form saves them (course/modlib.php update_moduleinfo()).
     *
     * @param \stdClass $course
     * @param \stdClass $cmrecord course_modules record
     * @param array $fields
     */
    protected static function set_module(\stdClass $course, \stdClass $cmrecord, array $fields): void {
        global $DB;
        $cm = get_coursemodule_from_id('', $cmrecord->id, $course->id, false, MUST_EXIST);
        [$cm, , , $data, ] = get_moduleinfo_data($cm, $course);
        $data->completionunlocked = 1;
        foreach (['completion', 'completionview', 'completionpassgrade'] as $k) {
            if (array_key_exists($k, $fields)) {
                $data->$k = $fields[$k];
            }
        }
        if (array_key_exists('completionusegrade', $fields)) {
            // The form's checkbox becomes the grade item number: 0 when checked, null when not.
            $data->completionusegrade = $fields['completionusegrade'];
            $data->completiongradeitemnumber = $fields['completionusegrade'] ? 0 : null;
        }
        if (array_key_exists('gradepass', $fields)) {
            $data->gradepass = $fields['gradepass'];
        }
        if ($cm->modname === 'feedback') {
            if (array_key_exists('completionsubmit', $fields)) {
                $data->completionsubmit = $fields['completionsubmit'];
            }
            $data->page_after_submit_editor = ['text' => (string)$data->page_after_submit,
                'format' => (int)$data->page_after_submitformat, 'itemid' => 0];
        }
        update_moduleinfo($cm, $data, $course, null);
    }

    /**
     * The course completion criteria: these activities, with the overall and activity aggregation,
     * as course/completion.php saves its form (which also clears the course completion data).
     *
     * @param \stdClass $course
     * @param \stdClass[] $cms course_modules records
     * @param int $aggregation
     */
    protected static function set_criteria(\stdClass $course, array $cms, int $aggregation): void {
        $completion = new \completion_info($course);
        $completion->clear_criteria();
        $data = new \stdClass();
        $data->id = $course->id;
        $data->criteria_activity = [];
        foreach ($cms as $cm) {
            $data->criteria_activity[$cm->id] = 1;
        }
        $criterion = new \completion_criteria_activity();
        $criterion->update_config($data);
        // Overall, then per criteria type, the four rows course/completion.php saves (an empty choice is ALL).
        $methods = [[null, $aggregation], [COMPLETION_CRITERIA_TYPE_ACTIVITY, COMPLETION_AGGREGATION_ALL],
            [COMPLETION_CRITERIA_TYPE_COURSE, COMPLETION_AGGREGATION_ALL], [COMPLETION_CRITERIA_TYPE_ROLE, COMPLETION_AGGREGATION_ALL]];
        foreach ($methods as [$type, $m]) {
            $agg = new \completion_aggregation(['course' => $course->id, 'criteriatype' => $type]);
            $agg->setMethod($m);
            $agg->save();
        }
        \core\event\course_completion_updated::create([
            'courseid' => $course->id,
            'context' => \context_course::instance($course->id),
        ])->trigger();
    }

    /**
     * Per user: course completion time and the completion state of every keyed activity.
     *
     * @param \stdClass $course
     * @return array
     */
    public static function states(\stdClass $course): array {
        global $DB;
        self::require_libs();
        $users = [];
        $info = new \completion_info($course);
        foreach ($info->get_tracked_users() as $u) {
            $users[(int)$u->id] = ['userid' => (int)$u->id, 'timecompleted' => 0, 'activities' => []];
        }
        $sql = "SELECT cmc.id, cmc.userid, cm.idnumber, cmc.completionstate, cmc.timemodified
                  FROM {course_modules_completion} cmc
                  JOIN {course_modules} cm ON cm.id = cmc.coursemoduleid
                 WHERE cm.course = :course AND cm.idnumber <> ''";
        $rs = $DB->get_recordset_sql($sql, ['course' => $course->id]);
        foreach ($rs as $r) {
            $uid = (int)$r->userid;
            if (!isset($users[$uid])) {
                continue; // No longer tracked (unenrolled, or a role outside the completion reports).
            }
            $users[$uid]['activities'][] = ['idnumber' => (string)$r->idnumber, 'state' => (int)$r->completionstate,
                'timemodified' => (int)$r->timemodified];
        }
        $rs->close();
        foreach ($DB->get_records_select('course_completions', 'course = :course AND timecompleted IS NOT NULL',
                ['course' => $course->id], '', 'id, userid, timecompleted') as $c) {
            if (isset($users[(int)$c->userid])) {
                $users[(int)$c->userid]['timecompleted'] = (int)$c->timecompleted;
            }
        }
        ksort($users);
        return array_values($users);
    }
}
