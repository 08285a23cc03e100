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

/**
 * English strings of local_ocasync.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$string['availabilitydisabled'] = 'The module "{$a}" is to be restricted to groups, but access restrictions are disabled on this site (enableavailability).';
$string['pluginname'] = 'oca-sync companion';
$string['ocasync:manage'] = 'Manage course content through the oca-sync web services';
$string['privacy:metadata'] = 'The oca-sync companion plugin stores no personal data: it only maps oca-sync keys to course sections and feedback questions.';
$string['serviceshortnamefreed'] = 'An external service created by hand already used the short name "oca_sync"; its short name is now "{$a}" (its functions and tokens are unchanged), and the plugin\'s own "oca-sync" service takes "oca_sync".';

// Error codes of the web-service functions (docs/plugin-api.md of oca-sync).
$string['cannotdeletesection'] = 'The section with key "{$a}" cannot be deleted (the course format or your capabilities do not allow it).';
$string['completiondisabled'] = 'Completion tracking is off in the course "{$a}": turn it on (enablecompletion) first.';
$string['completionnomodule'] = 'No course module of this course has the idnumber "{$a}".';
$string['duplicateidnumber'] = 'The idnumber "{$a}" is given twice in the request, or more than one course module of this course has it (then fix it by hand first).';
$string['feedbackhasresponses'] = 'The questions of the feedback "{$a}" differ from the requested ones, but it already has responses: its questions are not replaced.';
$string['invalididnumber'] = 'Invalid idnumber "{$a}": it must be 1 to 100 characters without leading or trailing spaces.';
$string['invalidfield'] = 'Invalid field "{$a}": users can be looked up by idnumber or username.';
$string['invalidgroup'] = 'No group with idnumber "{$a}" in this course.';
$string['invalidkey'] = 'Invalid key "{$a}": it must match ^[A-Za-z0-9:_.#-]{1,100}$ and be given once.';
$string['invalidposition'] = 'Invalid position {$a} for a section: positions start at 1.';
$string['invalidsectionid'] = 'Section {$a} cannot be taken under a key: it is not a top-level section of this course other than section 0, or it already has a key.';
$string['invalidsettings'] = 'Invalid settings: {$a}';
$string['modulenotinstalled'] = 'The activity module "{$a}" is not installed or is disabled on this site.';
$string['sectionnotempty'] = 'The section with key "{$a}" still holds modules: delete or move them first.';
$string['sectionnotfound'] = 'The section mapped to key "{$a}" no longer exists.';
$string['unknownsectionkey'] = 'No section of this course has the key "{$a}".';
$string['unsupportedmodname'] = 'Module type "{$a}" is not managed by oca-sync (url, page, label, resource, feedback, attendance).';
$string['wrongmodname'] = 'The idnumber "{$a->idnumber}" belongs to a module of type "{$a->existing}", not "{$a->requested}".';
