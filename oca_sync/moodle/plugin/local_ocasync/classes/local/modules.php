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
 * Course modules keyed by their idnumber.
 *
 * Built on prepare_new_moduleinfo_data / add_moduleinfo, get_moduleinfo_data /
 * update_moduleinfo (course/modlib.php), moveto_module and course_delete_module
 * (course/lib.php). A module is only written when something differs.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class modules {
    /** @var string[] the module types this plugin manages */
    const TYPES = ['url', 'page', 'label', 'resource', 'feedback', 'attendance'];

    /** @var array allowed keys of the settings of each type */
    const SETTINGS_KEYS = [
        'url' => ['externalurl', 'display'],
        'page' => ['content'],
        'label' => [],
        'resource' => ['draftitemid'],
        'feedback' => ['anonymous', 'timeopen', 'timeclose', 'questions', 'multiple_submit'],
        'attendance' => ['grade', 'sessions'],
    ];

    /**
     * Loads the libraries the module functions need.
     */
    protected static function require_libs(): void {
        global $CFG;
        require_once($CFG->dirroot . '/course/lib.php');
        require_once($CFG->dirroot . '/course/modlib.php');
        require_once($CFG->libdir . '/resourcelib.php');
    }

    /**
     * The live course modules of a course with this idnumber.
     *
     * @param int $courseid
     * @param string $idnumber
     * @return \stdClass[] course_modules records with modname
     */
    public static function find(int $courseid, string $idnumber): array {
        global $DB;
        return array_values($DB->get_records_sql(
            "SELECT cm.*, m.name AS modname
               FROM {course_modules} cm
               JOIN {modules} m ON m.id = cm.module
              WHERE cm.course = :course AND cm.idnumber = :idnumber AND cm.deletioninprogress = 0
           ORDER BY cm.id",
            ['course' => $courseid, 'idnumber' => $idnumber]));
    }

    // State.

    /**
     * State of the keyed modules, for get_course_state.
     *
     * @param int $courseid
     * @return array[]
     */
    public static function state(int $courseid): array {
        global $DB;
        self::require_libs();
        $cms = $DB->get_records_sql(
            "SELECT cm.id, cm.idnumber, cm.instance, cm.visible, cm.availability, m.name AS modname,
                    cs.section AS sectionnumber
               FROM {course_modules} cm
               JOIN {modules} m ON m.id = cm.module
               JOIN {course_sections} cs ON cs.id = cm.section
              WHERE cm.course = :course AND cm.idnumber IS NOT NULL AND cm.idnumber <> '' AND cm.deletioninprogress = 0
           ORDER BY cs.section, cm.id",
            ['course' => $courseid]);
        // Instance records, one query per module type.
        $ids = [];
        foreach ($cms as $cm) {
            $ids[$cm->modname][] = $cm->instance;
        }
        $instances = [];
        foreach ($ids as $modname => $list) {
            $instances[$modname] = $DB->get_records_list($modname, 'id', $list);
        }
        $out = [];
        foreach ($cms as $cm) {
            $instance = $instances[$cm->modname][$cm->instance] ?? null;
            if (!$instance) {
                continue; // Broken module (instance missing): nothing to report.
            }
            $settings = in_array($cm->modname, self::TYPES) ? self::current_settings($cm, $instance) : [];
            $out[] = [
                'cmid' => (int)$cm->id,
                'idnumber' => $cm->idnumber,
                'modname' => $cm->modname,
                'instance' => (int)$cm->instance,
                'sectionnumber' => (int)$cm->sectionnumber,
                'name' => (string)($instance->name ?? ''),
                'intro' => (string)($instance->intro ?? ''),
                'visible' => (bool)$cm->visible,
                'settings' => util::json($settings),
                'availability' => (string)($cm->availability ?? ''),
            ];
        }
        return $out;
    }

    /**
     * The managed settings of a module as they are, in the shape upsert_modules takes.
     *
     * @param \stdClass $cm course module (id, instance, modname)
     * @param \stdClass $instance the module's instance record
     * @return array
     */
    protected static function current_settings(\stdClass $cm, \stdClass $instance): array {
        switch ($cm->modname) {
            case 'url':
                return ['externalurl' => (string)$instance->externalurl, 'display' => (int)$instance->display];
            case 'page':
                return ['content' => (string)$instance->content];
            case 'resource':
                $file = self::resource_main_file((int)$cm->id);
                return [
                    'filename' => $file ? $file->get_filename() : '',
                    'filesize' => $file ? (int)$file->get_filesize() : 0,
                    'contenthash' => $file ? $file->get_contenthash() : '',
                ];
            case 'feedback':
                // "multiple_submit" only when on: the shape of settings stays the one plugin 1.1 reported.
                return [
                    'anonymous' => (int)$instance->anonymous,
                    'timeopen' => (int)$instance->timeopen,
                    'timeclose' => (int)$instance->timeclose,
                    'questions' => feedback_questions::read((int)$instance->id),
                ] + ((int)$instance->multiple_submit ? ['multiple_submit' => 1] : []);
            case 'attendance':
                return [
                    'grade' => (int)$instance->grade,
                    'sessions' => attendance_sessions::read((int)$instance->id),
                ];
            default:
                return [];
        }
    }

    /**
     * The main file of a resource, or null.
     *
     * @param int $cmid
     * @return \stored_file|null
     */
    protected static function resource_main_file(int $cmid): ?\stored_file {
        $context = \context_module::instance($cmid);
        $files = get_file_storage()->get_area_files($context->id, 'mod_resource', 'content', 0,
            'sortorder DESC, id ASC', false);
        return $files ? reset($files) : null;
    }

    // Upsert.

    /**
     * Validates and normalises the JSON settings of one module.
     *
     * @param string $modname
     * @param string $json
     * @return array normalised settings
     */
    public static function parse_settings(string $modname, string $json): array {
        global $CFG;
        $json = trim($json);
        $raw = $json === '' ? [] : json_decode($json, true);
        if (!is_array($raw) || ($raw && array_keys($raw) === range(0, count($raw) - 1))) {
            throw new moodle_exception('invalidsettings', 'local_ocasync', '', 'settings must be a JSON object');
        }
        $unknown = array_diff(array_keys($raw), self::SETTINGS_KEYS[$modname]);
        if ($unknown) {
            throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                "unknown settings for {$modname}: " . implode(', ', $unknown));
        }
        switch ($modname) {
            case 'url':
                require_once($CFG->dirroot . '/mod/url/locallib.php');
                $url = $raw['externalurl'] ?? null;
                if (!is_string($url) || trim($url) === '') {
                    throw new moodle_exception('invalidsettings', 'local_ocasync', '', 'url needs "externalurl"');
                }
                $url = url_fix_submitted_url($url);
                if (!url_appears_valid_url($url)) {
                    throw new moodle_exception('invalidsettings', 'local_ocasync', '', "invalid externalurl {$url}");
                }
                $display = array_key_exists('display', $raw) ? $raw['display'] : (int)get_config('url', 'display');
                return ['externalurl' => $url, 'display' => self::int_setting($display, 'display', 0, 6)];
            case 'page':
                if (!isset($raw['content']) || !is_string($raw['content'])) {
                    throw new moodle_exception('invalidsettings', 'local_ocasync', '', 'page needs "content" (HTML)');
                }
                return ['content' => $raw['content']];
            case 'label':
                return [];
            case 'resource':
                $draft = array_key_exists('draftitemid', $raw) ? self::int_setting($raw['draftitemid'], 'draftitemid', 1) : 0;
                return ['draftitemid' => $draft];
            case 'feedback':
                $anonymous = array_key_exists('anonymous', $raw) ? self::int_setting($raw['anonymous'], 'anonymous', 1, 2) : 1;
                $questions = $raw['questions'] ?? [];
                $multiple = self::int_setting($raw['multiple_submit'] ?? 0, 'multiple_submit', 0, 1);
                return [
                    'anonymous' => $anonymous,
                    'timeopen' => self::int_setting($raw['timeopen'] ?? 0, 'timeopen', 0),
                    'timeclose' => self::int_setting($raw['timeclose'] ?? 0, 'timeclose', 0),
                    'questions' => feedback_questions::normalise($questions),
                ] + ($multiple ? ['multiple_submit' => 1] : []);
            case 'attendance':
                return [
                    'grade' => self::int_setting($raw['grade'] ?? 100, 'grade', -PHP_INT_MAX),
                    'sessions' => attendance_sessions::normalise($raw['sessions'] ?? []),
                ];
        }
        return [];
    }

    /**
     * Checks an integer setting.
     *
     * @param mixed $value
     * @param string $name
     * @param int $min
     * @param int|null $max
     * @return int
     */
    public static function int_setting($value, string $name, int $min, ?int $max = null): int {
        if (is_string($value) && preg_match('/^-?\d+$/', $value)) {
            $value = (int)$value;
        }
        if (!is_int($value) || $value < $min || ($max !== null && $value > $max)) {
            $range = $max === null ? ">= {$min}" : "{$min}..{$max}";
            throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                "\"{$name}\" must be an integer {$range}, got " . json_encode($value));
        }
        return $value;
    }

    /**
     * Creates or updates the modules.
     *
     * @param int $courseid
     * @param array[] $items each {idnumber, modname, sectionkey, name, intro, visible, settings[, setgroups, groups]}
     * @return array[] each {idnumber, cmid, created, changed}
     */
    public static function upsert(int $courseid, array $items): array {
        global $CFG, $DB;
        self::require_libs();

        // Validate everything before the first write.
        $plans = [];
        $seen = [];
        foreach ($items as $item) {
            $idnumber = util::check_idnumber($item['idnumber']);
            if (isset($seen[$idnumber])) {
                throw new moodle_exception('duplicateidnumber', 'local_ocasync', '', $idnumber);
            }
            $seen[$idnumber] = true;
            $modname = $item['modname'];
            if (!in_array($modname, self::TYPES, true)) {
                throw new moodle_exception('unsupportedmodname', 'local_ocasync', '', $modname);
            }
            $module = $DB->get_record('modules', ['name' => $modname]);
            $dir = \core_component::get_component_directory('mod_' . $modname);
            if (!$module || !$module->visible || !$dir || !is_dir($dir)) {
                throw new moodle_exception('modulenotinstalled', 'local_ocasync', '', $modname);
            }
            $settings = self::parse_settings($modname, $item['settings']);
            $section = self::target_section($courseid, $item['sectionkey']);
            $existing = self::find($courseid, $idnumber);
            if (count($existing) > 1) {
                throw new moodle_exception('duplicateidnumber', 'local_ocasync', '', $idnumber);
            }
            $cm = $existing ? $existing[0] : null;
            if ($cm && $cm->modname !== $modname) {
                throw new moodle_exception('wrongmodname', 'local_ocasync', '',
                    (object)['idnumber' => $idnumber, 'existing' => $cm->modname, 'requested' => $modname]);
            }
            if (!$cm && $modname === 'resource' && empty($settings['draftitemid'])) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    'a new resource needs "draftitemid" (upload the file through /webservice/upload.php)');
            }
            $draftfile = null;
            if ($modname === 'resource' && !empty($settings['draftitemid'])) {
                $draftfile = self::draft_file($settings['draftitemid']);
            }
            // The group restriction (1.2): the same shape as a section's (sections::availability); false: as it is.
            $availability = false;
            if (!empty($item['setgroups'])) {
                $availability = sections::availability($courseid, $item['groups'] ?? [], $cm ? $cm->availability : null);
                if ($availability !== false && empty($CFG->enableavailability)) {
                    // course/modlib.php writes a module's availability only when restrictions are enabled.
                    throw new moodle_exception('availabilitydisabled', 'local_ocasync', '', $idnumber);
                }
            }
            $plans[] = (object)[
                'item' => $item, 'idnumber' => $idnumber, 'modname' => $modname, 'settings' => $settings,
                'section' => $section, 'cm' => $cm, 'draftfile' => $draftfile, 'availability' => $availability,
            ];
        }

        $results = [];
        foreach ($plans as $plan) {
            if ($plan->cm) {
                $changed = self::update($courseid, $plan);
                $results[] = ['idnumber' => $plan->idnumber, 'cmid' => (int)$plan->cm->id, 'created' => false,
                    'changed' => $changed];
            } else {
                $cmid = self::create($courseid, $plan);
                $results[] = ['idnumber' => $plan->idnumber, 'cmid' => $cmid, 'created' => true, 'changed' => true];
            }
        }
        return $results;
    }

    /**
     * The section a module goes to: the one mapped to the key, or section 0 for an empty key.
     *
     * @param int $courseid
     * @param string $sectionkey
     * @return \stdClass course_sections record
     */
    protected static function target_section(int $courseid, string $sectionkey): \stdClass {
        global $DB;
        if ($sectionkey === '') {
            $section = $DB->get_record('course_sections', ['course' => $courseid, 'section' => 0]);
            if (!$section) {
                course_create_sections_if_missing($courseid, [0]);
                $section = $DB->get_record('course_sections', ['course' => $courseid, 'section' => 0], '*', MUST_EXIST);
            }
            return $section;
        }
        if (!preg_match(util::KEY_PATTERN, $sectionkey)) {
            throw new moodle_exception('unknownsectionkey', 'local_ocasync', '', $sectionkey);
        }
        $section = sections::find($courseid, $sectionkey);
        if (!$section) {
            throw new moodle_exception('unknownsectionkey', 'local_ocasync', '', $sectionkey);
        }
        return $section;
    }

    /**
     * The one file of the current user's draft area.
     *
     * @param int $draftitemid
     * @return \stored_file
     */
    protected static function draft_file(int $draftitemid): \stored_file {
        global $USER;
        $usercontext = \context_user::instance($USER->id);
        $files = get_file_storage()->get_area_files($usercontext->id, 'user', 'draft', $draftitemid, 'id', false);
        if (count($files) !== 1) {
            throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                "the draft area {$draftitemid} of the current user holds " . count($files) . ' files, not 1');
        }
        return reset($files);
    }

    /**
     * Creates one module.
     *
     * @param int $courseid
     * @param \stdClass $plan
     * @return int the new cmid
     */
    protected static function create(int $courseid, \stdClass $plan): int {
        $course = util::course($courseid);
        $item = $plan->item;
        $s = $plan->settings;
        [, , , , $data] = prepare_new_moduleinfo_data($course, $plan->modname, (int)$plan->section->section);
        $data->name = $item['name'];
        $data->cmidnumber = $plan->idnumber;
        $data->visible = $item['visible'] ? 1 : 0;
        $data->visibleoncoursepage = 1;
        $data->showdescription = 0;
        $data->intro = $item['intro'];
        $data->introformat = FORMAT_HTML;
        $data->introeditor = ['text' => $item['intro'], 'format' => FORMAT_HTML,
            'itemid' => $data->introeditor['itemid'] ?? 0];
        $data->add = $plan->modname;
        if (is_string($plan->availability)) {
            $data->availabilityconditionsjson = $plan->availability; // Read by add_moduleinfo (course/modlib.php).
        }

        switch ($plan->modname) {
            case 'url':
                $config = get_config('url');
                $data->externalurl = $s['externalurl'];
                $data->display = $s['display'];
                $data->popupwidth = $config->popupwidth ?? 620;
                $data->popupheight = $config->popupheight ?? 450;
                $data->printintro = $config->printintro ?? 1;
                break;
            case 'page':
                $config = get_config('page');
                $data->content = $s['content'];
                $data->contentformat = FORMAT_HTML;
                $data->display = $config->display ?? RESOURCELIB_DISPLAY_OPEN;
                $data->popupwidth = $config->popupwidth ?? 620;
                $data->popupheight = $config->popupheight ?? 450;
                $data->printintro = $config->printintro ?? 0;
                $data->printlastmodified = $config->printlastmodified ?? 1;
                $data->revision = 1;
                break;
            case 'resource':
                $config = get_config('resource');
                $data->files = $s['draftitemid'];
                $data->display = $config->display ?? RESOURCELIB_DISPLAY_AUTO;
                $data->showsize = $config->showsize ?? 0;
                $data->showtype = $config->showtype ?? 0;
                $data->showdate = $config->showdate ?? 0;
                $data->popupwidth = $config->popupwidth ?? 620;
                $data->popupheight = $config->popupheight ?? 450;
                $data->printintro = $config->printintro ?? 1;
                $data->filterfiles = $config->filterfiles ?? 0;
                $data->revision = 1;
                break;
            case 'feedback':
                $data->anonymous = $s['anonymous'];
                $data->timeopen = $s['timeopen'];
                $data->timeclose = $s['timeclose'];
                $data->email_notification = 0;
                $data->multiple_submit = $s['multiple_submit'] ?? 0;
                $data->autonumbering = 1;
                $data->site_after_submit = '';
                $data->page_after_submit = '';
                $data->page_after_submitformat = FORMAT_HTML;
                $data->page_after_submit_editor = ['text' => '', 'format' => FORMAT_HTML, 'itemid' => 0];
                $data->publish_stats = 0;
                $data->completionsubmit = 0;
                break;
            case 'attendance':
                $data->grade = $s['grade'];
                break;
        }

        $data = add_moduleinfo($data, $course);
        $cmid = (int)$data->coursemodule;

        if ($plan->modname === 'feedback' || $plan->modname === 'attendance') {
            $cm = get_coursemodule_from_id($plan->modname, $cmid, $courseid, false, MUST_EXIST);
            if ($plan->modname === 'feedback') {
                feedback_questions::sync($cm, $s['questions']);
            } else {
                attendance_sessions::sync($cm, util::course($courseid), $s['sessions']);
            }
        }
        return $cmid;
    }

    /**
     * Updates one module where it differs; moves it to its section.
     *
     * @param int $courseid
     * @param \stdClass $plan
     * @return bool whether anything was written
     */
    protected static function update(int $courseid, \stdClass $plan): bool {
        global $DB;
        $item = $plan->item;
        $s = $plan->settings;
        $cm = get_coursemodule_from_id($plan->modname, $plan->cm->id, $courseid, false, MUST_EXIST);
        $instance = $DB->get_record($plan->modname, ['id' => $cm->instance], '*', MUST_EXIST);
        $current = self::current_settings($cm, $instance);
        $cursection = $DB->get_record('course_sections', ['id' => $cm->section], '*', MUST_EXIST);

        // What update_moduleinfo must write.
        $differs = [];
        $wantname = $item['name'];
        if ($plan->modname === 'label' && $wantname !== '') {
            // What mod_label stores for this name (older releases derive it from the text).
            include_modulelib('label');
            $wantname = get_label_name((object)['name' => $wantname, 'intro' => $item['intro'],
                'introformat' => FORMAT_HTML, 'coursemodule' => $cm->id]);
        }
        if (($plan->modname !== 'label' || $item['name'] !== '') && (string)$instance->name !== $wantname) {
            $differs[] = 'name';
        }
        if ((string)$instance->intro !== $item['intro'] || (int)$instance->introformat !== (int)FORMAT_HTML) {
            $differs[] = 'intro';
        }
        // In a hidden section Moodle hides the module itself and restores it when the section is shown.
        $targetvisible = $plan->section->visible && $cursection->visible;
        if ($targetvisible && (bool)$cm->visible !== (bool)$item['visible']) {
            $differs[] = 'visible';
        }
        switch ($plan->modname) {
            case 'url':
                if ($current['externalurl'] !== $s['externalurl'] || $current['display'] !== $s['display']) {
                    $differs[] = 'settings';
                }
                break;
            case 'page':
                if ($current['content'] !== $s['content'] || (int)$instance->contentformat !== (int)FORMAT_HTML) {
                    $differs[] = 'settings';
                }
                break;
            case 'resource':
                if ($plan->draftfile && ($current['contenthash'] !== $plan->draftfile->get_contenthash()
                        || $current['filename'] !== $plan->draftfile->get_filename())) {
                    $differs[] = 'file';
                }
                break;
            case 'feedback':
                if ($current['anonymous'] !== $s['anonymous'] || $current['timeopen'] !== $s['timeopen']
                        || $current['timeclose'] !== $s['timeclose']
                        || ($current['multiple_submit'] ?? 0) !== ($s['multiple_submit'] ?? 0)) {
                    $differs[] = 'settings';
                }
                break;
            case 'attendance':
                if ($current['grade'] !== $s['grade']) {
                    $differs[] = 'settings';
                }
                break;
        }

        if ($plan->availability !== false) {
            $differs[] = 'availability';
        }
        $changed = false;
        if ($differs) {
            self::update_moduleinfo($courseid, $cm, $plan, in_array('visible', $differs));
            $changed = true;
        }
        if ($plan->modname === 'feedback') {
            $changed = feedback_questions::sync($cm, $s['questions']) || $changed;
        } else if ($plan->modname === 'attendance') {
            $changed = attendance_sessions::sync($cm, util::course($courseid), $s['sessions']) || $changed;
        }
        if ((int)$cm->section !== (int)$plan->section->id) {
            $fresh = get_coursemodule_from_id($plan->modname, $cm->id, $courseid, false, MUST_EXIST);
            moveto_module($fresh, $plan->section);
            $changed = true;
        }
        return $changed;
    }

    /**
     * Writes name, intro, visibility and type settings through update_moduleinfo.
     *
     * @param int $courseid
     * @param \stdClass $cm from get_coursemodule_from_id
     * @param \stdClass $plan
     * @param bool $setvisible whether to change the visibility
     */
    protected static function update_moduleinfo(int $courseid, \stdClass $cm, \stdClass $plan, bool $setvisible): void {
        global $CFG;
        $course = util::course($courseid);
        if ($plan->modname === 'resource') {
            // The edit form loads it for resource_update_instance().
            require_once($CFG->dirroot . '/mod/resource/locallib.php');
        }
        $item = $plan->item;
        $s = $plan->settings;
        [$cm, , , $data, ] = get_moduleinfo_data($cm, $course);
        $data->name = $item['name'];
        if ($setvisible) {
            $data->visible = $item['visible'] ? 1 : 0;
        }
        $data->introeditor = ['text' => $item['intro'], 'format' => FORMAT_HTML,
            'itemid' => $data->introeditor['itemid'] ?? 0];
        $options = [];
        if (isset($data->displayoptions) && is_string($data->displayoptions) && $data->displayoptions !== '') {
            $options = @unserialize($data->displayoptions, ['allowed_classes' => false]);
            $options = is_array($options) ? $options : [];
        }
        switch ($plan->modname) {
            case 'url':
                $config = get_config('url');
                $data->externalurl = $s['externalurl'];
                $data->display = $s['display'];
                $data->popupwidth = $options['popupwidth'] ?? ($config->popupwidth ?? 620);
                $data->popupheight = $options['popupheight'] ?? ($config->popupheight ?? 450);
                $data->printintro = $options['printintro'] ?? ($config->printintro ?? 1);
                // Keep the URL parameters (url_update_instance rebuilds them from the form fields).
                $parameters = @unserialize((string)$data->parameters, ['allowed_classes' => false]);
                $i = 0;
                foreach (is_array($parameters) ? $parameters : [] as $parameter => $variable) {
                    $data->{'parameter_' . $i} = $parameter;
                    $data->{'variable_' . $i} = $variable;
                    $i++;
                }
                break;
            case 'page':
                $data->content = $s['content'];
                $data->contentformat = FORMAT_HTML;
                $data->page = ['text' => $s['content'], 'format' => FORMAT_HTML, 'itemid' => 0];
                $data->popupwidth = $options['popupwidth'] ?? 620;
                $data->popupheight = $options['popupheight'] ?? 450;
                $data->printintro = $options['printintro'] ?? 0;
                $data->printlastmodified = $options['printlastmodified'] ?? 1;
                break;
            case 'resource':
                $data->files = $plan->draftfile ? $s['draftitemid'] : 0;
                $data->popupwidth = $options['popupwidth'] ?? 620;
                $data->popupheight = $options['popupheight'] ?? 450;
                $data->printintro = $options['printintro'] ?? 1;
                $data->showsize = $options['showsize'] ?? 0;
                $data->showtype = $options['showtype'] ?? 0;
                $data->showdate = $options['showdate'] ?? 0;
                break;
            case 'feedback':
                $data->anonymous = $s['anonymous'];
                $data->timeopen = $s['timeopen'];
                $data->timeclose = $s['timeclose'];
                $data->multiple_submit = $s['multiple_submit'] ?? 0;
                $data->page_after_submit_editor = ['text' => (string)$data->page_after_submit,
                    'format' => (int)$data->page_after_submitformat, 'itemid' => 0];
                break;
            case 'attendance':
                $data->grade = $s['grade'];
                break;
        }
        if ($plan->availability !== false) {
            // get_moduleinfo_data put the current one here; '' removes it (update_moduleinfo, course/modlib.php).
            $data->availabilityconditionsjson = (string)$plan->availability;
        }
        update_moduleinfo($cm, $data, $course, null);
    }

    // Delete.

    /**
     * Deletes the modules with these idnumbers.
     *
     * @param int $courseid
     * @param string[] $idnumbers
     * @return array[] each {idnumber, deleted}
     */
    public static function delete(int $courseid, array $idnumbers): array {
        self::require_libs();
        $found = [];
        foreach ($idnumbers as $idnumber) {
            util::check_idnumber($idnumber);
            $cms = self::find($courseid, $idnumber);
            if (count($cms) > 1) {
                throw new moodle_exception('duplicateidnumber', 'local_ocasync', '', $idnumber);
            }
            $found[] = [$idnumber, $cms ? $cms[0] : null];
        }
        $results = [];
        foreach ($found as [$idnumber, $cm]) {
            if (!$cm) {
                $results[] = ['idnumber' => $idnumber, 'deleted' => false];
                continue;
            }
            require_capability('moodle/course:manageactivities', \context_module::instance($cm->id));
            if ($cm->modname === 'feedback') {
                feedback_questions::forget((int)$cm->instance);
            }
            course_delete_module($cm->id);
            $results[] = ['idnumber' => $idnumber, 'deleted' => true];
        }
        return $results;
    }
}
