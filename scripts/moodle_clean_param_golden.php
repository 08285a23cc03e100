<?php
// Prints, as JSON, what a real Moodle's clean_param() / validate_email() make of test inputs,
// so that tests/unit/test_moodle_params.py can check oca-sync's Python port against Moodle itself.
//
// Usage (reads the cases as JSON on stdin; touches nothing):
//   php scripts/moodle_clean_param_golden.php /path/to/moodle < cases.json > golden.json
// cases.json: [{"type": "text"|"notags"|"file"|"email"|"raw_trimmed", "value": "..."}, ...]
define('CLI_SCRIPT', true);
define('NO_OUTPUT_BUFFERING', true);
require($argv[1] . '/config.php');
$cases = json_decode(stream_get_contents(STDIN), true);
$out = [];
foreach ($cases as $case) {
    $value = $case['value'];
    if ($case['type'] === 'email') {
        $result = validate_email($value);
    } else {
        $result = clean_param($value, $case['type']);
    }
    $out[] = ['type' => $case['type'], 'value' => $value, 'result' => $result];
}
echo json_encode(['moodle' => $CFG->release, 'cases' => $out],
    JSON_PRETTY_PRINT | JSON_UNESCAPED_UNICODE | JSON_UNESCAPED_SLASHES), "\n";
