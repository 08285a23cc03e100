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
 * The questions (items) of a feedback activity, keyed by oca-sync keys (table local_ocasync_items).
 *
 * Items are created with mod_feedback's item classes (feedback_get_item_class()->save_item(),
 * as mod_feedback's own data generator does) and deleted with feedback_delete_item().
 * They are replaced as a whole, and only when they differ and nobody has answered yet.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */
class feedback_questions {
    /** @var string the key table */
    const TABLE = 'local_ocasync_items';

    /** @var string[] the item types we create, with the pattern their presentation must match */
    const TYPES = [
        // Size and maximum length: "30|255".
        'textfield' => '/^\d+\|\d+$/',
        // Columns and rows: "40|5".
        'textarea' => '/^\d+\|\d+$/',
        // Subtype r (radio), c (checkboxes) or d (dropdown), then the options separated by |,
        // optionally "<<<<<1" for horizontal: "r>>>>>Yes|No".
        'multichoice' => '/^[rcd]>>>>>/s',
        // Subtype r or d, then value####option separated by |: "r>>>>>0####0|1####1|2####2". Every option
        // carries its integer value: mod_feedback reads an option without one as 0 and averages the values
        // as written (item/multichoicerated/lib.php get_info(), get_analysed()), so only these are stored.
        'multichoicerated' => '/^[rd]>>>>>-?[0-9]+####[^|]*(\|-?[0-9]+####[^|]*)*$/s',
        // Minimum and maximum ("" or "-" for none): "1|10".
        'numeric' => '/^(-?\d+(\.\d+)?|-?)\|(-?\d+(\.\d+)?|-?)$/',
        // 1 response time, 2 course, 3 course category.
        'info' => '/^[123]$/',
        // HTML text.
        'label' => '/.*/s',
    ];

    /** @var string[] the fields of a question, in order */
    const FIELDS = ['key', 'typ', 'name', 'label', 'presentation', 'required', 'position'];

    /**
     * Loads mod_feedback.
     */
    protected static function require_libs(): void {
        global $CFG;
        require_once($CFG->dirroot . '/mod/feedback/lib.php');
    }

    /**
     * Validates the requested questions and puts them in the shape read() returns.
     *
     * @param mixed $questions decoded JSON
     * @return array[] sorted by position
     */
    public static function normalise($questions): array {
        if (!is_array($questions) || ($questions && array_keys($questions) !== range(0, count($questions) - 1))) {
            throw new moodle_exception('invalidsettings', 'local_ocasync', '', '"questions" must be a list');
        }
        $out = [];
        $keys = [];
        $positions = [];
        foreach ($questions as $i => $q) {
            $where = "questions[{$i}]";
            if (!is_array($q)) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where} must be an object");
            }
            $unknown = array_diff(array_keys($q), self::FIELDS);
            if ($unknown) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    "{$where}: unknown fields " . implode(', ', $unknown));
            }
            foreach (['key', 'typ'] as $field) {
                if (!isset($q[$field]) || !is_string($q[$field])) {
                    throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where} needs \"{$field}\"");
                }
            }
            if (!preg_match(util::KEY_PATTERN, $q['key']) || isset($keys[$q['key']])) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    "{$where}: key \"{$q['key']}\" is invalid or given twice");
            }
            $keys[$q['key']] = true;
            if (!isset(self::TYPES[$q['typ']])) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    "{$where}: typ \"{$q['typ']}\" is not one of " . implode(', ', array_keys(self::TYPES)));
            }
            foreach (['name', 'label', 'presentation'] as $field) {
                if (isset($q[$field]) && !is_string($q[$field])) {
                    throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where}: \"{$field}\" must be text");
                }
            }
            $presentation = $q['presentation'] ?? '';
            if (!preg_match(self::TYPES[$q['typ']], $presentation)) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '',
                    "{$where}: presentation \"{$presentation}\" is not valid for {$q['typ']}");
            }
            $label = $q['label'] ?? '';
            if (\core_text::strlen($label) > 255) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where}: label longer than 255");
            }
            $required = $q['required'] ?? false;
            if (!is_bool($required) && $required !== 0 && $required !== 1) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where}: required must be a boolean");
            }
            $position = modules::int_setting($q['position'] ?? $i + 1, "{$where}.position", 1, 999);
            if (isset($positions[$position])) {
                throw new moodle_exception('invalidsettings', 'local_ocasync', '', "{$where}: position {$position} given twice");
            }
            $positions[$position] = true;
            $out[] = [
                'key' => $q['key'],
                'typ' => $q['typ'],
                'name' => $q['name'] ?? '',
                'label' => $label,
                'presentation' => $presentation,
                'required' => (bool)$required,
                'position' => $position,
            ];
        }
        usort($out, function($a, $b) {
            return $a['position'] <=> $b['position'];
        });
        return $out;
    }

    /**
     * The questions of a feedback as they are, sorted by position.
     *
     * @param int $feedbackid
     * @return array[]
     */
    public static function read(int $feedbackid): array {
        global $DB;
        $items = $DB->get_records('feedback_item', ['feedback' => $feedbackid], 'position ASC, id ASC');
        $keys = $DB->get_records_menu(self::TABLE, ['feedbackid' => $feedbackid], '', 'itemid, qkey');
        $out = [];
        foreach ($items as $item) {
            $out[] = [
                'key' => $keys[$item->id] ?? '',
                'typ' => (string)$item->typ,
                'name' => (string)$item->name,
                'label' => (string)$item->label,
                'presentation' => (string)$item->presentation,
                'required' => (bool)$item->required,
                'position' => (int)$item->position,
            ];
        }
        return $out;
    }

    /**
     * Makes the feedback's questions the requested ones.
     *
     * @param \stdClass $cm the feedback's course module
     * @param array[] $questions normalised
     * @return bool whether the questions were replaced
     */
    public static function sync(\stdClass $cm, array $questions): bool {
        global $DB;
        self::require_libs();
        $feedback = $DB->get_record('feedback', ['id' => $cm->instance], '*', MUST_EXIST);
        if (self::read((int)$feedback->id) === $questions) {
            return false;
        }
        if ($DB->record_exists('feedback_completed', ['feedback' => $feedback->id])) {
            throw new moodle_exception('feedbackhasresponses', 'local_ocasync', '', $cm->idnumber);
        }
        foreach ($DB->get_records('feedback_item', ['feedback' => $feedback->id], '', 'id') as $item) {
            feedback_delete_item($item->id, false);
        }
        self::forget((int)$feedback->id);
        $now = time();
        foreach ($questions as $q) {
            $itemid = self::create_item($feedback, $cm, $q);
            $DB->insert_record(self::TABLE, (object)[
                'feedbackid' => $feedback->id, 'itemid' => $itemid, 'qkey' => $q['key'], 'timemodified' => $now,
            ]);
        }
        return true;
    }

    /**
     * Creates one item through its item class.
     *
     * @param \stdClass $feedback
     * @param \stdClass $cm
     * @param array $q normalised question
     * @return int the item id
     */
    protected static function create_item(\stdClass $feedback, \stdClass $cm, array $q): int {
        $itemobj = feedback_get_item_class($q['typ']);
        $record = (object)[
            'id' => 0,
            'feedback' => $feedback->id,
            'template' => 0,
            'name' => $q['name'],
            'label' => $q['label'],
            'presentation' => $q['presentation'],
            'typ' => $q['typ'],
            'hasvalue' => 0,
            'position' => $q['position'],
            'required' => $q['required'] ? 1 : 0,
            'dependitem' => 0,
            'dependvalue' => '',
            'options' => '',
        ];
        if ($q['typ'] === 'multichoice' || $q['typ'] === 'multichoicerated') {
            // Flags kept in "options": no "not selected" choice, empty answers count in the analysis.
            $record->hidenoselect = 1;
            $record->ignoreempty = 0;
        }
        if ($q['typ'] === 'label') {
            // The label item keeps its text in an editor field; build_editform gives it its context.
            $formitem = clone $record;
            $formitem->position = -1;
            $itemobj->build_editform($formitem, $feedback, $cm);
            $record->presentation_editor = ['text' => $q['presentation'], 'format' => FORMAT_HTML, 'itemid' => 0];
        }
        $itemobj->set_data($record);
        $saved = $itemobj->save_item();
        if (!$saved) {
            throw new moodle_exception('invalidsettings', 'local_ocasync', '', "question {$q['key']} could not be saved");
        }
        return (int)$saved->id;
    }

    /**
     * Drops the keys of a feedback's questions.
     *
     * @param int $feedbackid
     */
    public static function forget(int $feedbackid): void {
        global $DB;
        $DB->delete_records(self::TABLE, ['feedbackid' => $feedbackid]);
    }
}
