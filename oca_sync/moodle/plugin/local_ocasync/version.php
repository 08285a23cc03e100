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
 * Version information for local_ocasync, the companion plugin of oca-sync.
 *
 * @package    local_ocasync
 * @copyright  2026 oca-sync contributors
 * @license    https://www.gnu.org/copyleft/gpl.html GNU GPL v3 or later
 */

defined('MOODLE_INTERNAL') || die();

$plugin->component = 'local_ocasync';
// 1.1: mod_feedback's read functions in the oca-sync service (report); get_info reports the installed languages; sections may be restricted to groups; attendance
// sessions may be for one group.
// 1.2: lean bulk reads for the plan (get_users, get_enrolments, get_course_states); take_attendance (a
// session's statuses in one call, grades and event as the Take attendance page); completion settings and
// course criteria (get/set_course_completion) and completion read back (get_completion); modules may be
// restricted to groups; feedback multiple_submit; mod_forum's functions in the oca-sync service.
// 1.2.1: the code of 1.2.0, checked against Moodle 4.5 LTS (docs/plugin-api.md, "Moodle 4.5 LTS").
$plugin->version   = 2026120103;
$plugin->requires  = 2022112800; // Moodle 4.1 LTS: still installs (compat.php), no longer tested.
// Supported: Moodle 4.5 LTS and 5.1. Tested with mod_attendance MOODLE_403_STABLE and tests/live on 5.1
// (the lab) and on 4.5.6 (a scratch site; the APIs used compared with 5.1's: docs/plugin-api.md). The PHP
// needs nothing newer than 7.4 (tests/unit/test_plugin_php_versions.py); 4.5 runs on PHP 8.1 to 8.3.
$plugin->supported = [405, 501];
$plugin->maturity  = MATURITY_STABLE;
$plugin->release   = '1.2.1';
