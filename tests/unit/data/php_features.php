<?php
// Lists the PHP syntax (and PHP-version-bound functions) newer than PHP 7.4 used in the given files,
// with the PHP version each needs, as JSON lines {"file", "line", "feature", "php"}; and, with
// "php": "deprecated-8.4", what PHP 8.4 deprecates.
//
// Used by tests/unit/test_plugin_php_versions.py: `php -l` only proves the files parse on the PHP
// installed here (8.2+), while Moodle 4.5 LTS runs on PHP 8.1 and the plugin still installs on 4.1
// (PHP 7.4). Run with PHP >= 8.1 (its tokenizer knows the 8.0/8.1 tokens).
//
// Usage: php php_features.php FILE...

$functions = [
    'str_contains' => '8.0', 'str_starts_with' => '8.0', 'str_ends_with' => '8.0', 'get_debug_type' => '8.0',
    'fdiv' => '8.0', 'get_resource_id' => '8.0', 'preg_last_error_msg' => '8.0',
    'array_is_list' => '8.1', 'enum_exists' => '8.1',
    'json_validate' => '8.3', 'mb_str_pad' => '8.3', 'str_increment' => '8.3', 'str_decrement' => '8.3',
];

/** Significant tokens (no whitespace or comments) as [id, text, line]; single characters get id 0. */
function significant(string $src): array {
    $out = [];
    $line = 1;
    foreach (token_get_all($src) as $t) {
        if (is_array($t)) {
            $line = $t[2];
            if (!in_array($t[0], [T_WHITESPACE, T_COMMENT, T_DOC_COMMENT, T_OPEN_TAG, T_CLOSE_TAG, T_INLINE_HTML])) {
                $out[] = [$t[0], $t[1], $t[2]];
            }
        } else {
            $out[] = [0, $t, $line];
        }
    }
    return $out;
}

/** Index of the token closing the bracket opened at $i. */
function closing(array $t, int $i): int {
    $depth = 0;
    for ($k = $i; $k < count($t); $k++) {
        if (in_array($t[$k][1], ['(', '[', '{']) || in_array($t[$k][0], [T_CURLY_OPEN, T_DOLLAR_OPEN_CURLY_BRACES])) {
            $depth++;
        } else if (in_array($t[$k][1], [')', ']', '}'])) {
            $depth--;
            if ($depth === 0) {
                return $k;
            }
        }
    }
    return count($t) - 1;
}

/** Findings about one type declaration (tokens $type); $what names where it is. */
function type_findings(array $type, string $what, bool $isreturn): array {
    $texts = array_map(function($x) {
        return strtolower($x[1]);
    }, $type);
    $f = [];
    if (in_array('(', $texts)) {
        return [["DNF type in {$what}", '8.2']]; // A union of intersections: the newest of the three.
    }
    if (in_array('|', $texts)) {
        $f[] = ["union type in {$what}", '8.0'];
    }
    foreach ($type as $x) {
        if (defined('T_AMPERSAND_NOT_FOLLOWED_BY_VAR_OR_VARARG') && $x[0] === T_AMPERSAND_NOT_FOLLOWED_BY_VAR_OR_VARARG) {
            $f[] = ["intersection type in {$what}", '8.1'];
            break;
        }
    }
    if (in_array('mixed', $texts)) {
        $f[] = ["mixed type in {$what}", '8.0'];
    }
    $names = array_values(array_diff($texts, ['?', '(', ')', '|', '&']));
    if (count($names) === 1 && in_array($names[0], ['null', 'false', 'true'])) {
        $f[] = ["standalone {$names[0]} type in {$what}", '8.2'];
    } else if (in_array('true', $names)) {
        $f[] = ["true type in {$what}", '8.2'];
    }
    if ($isreturn && in_array('static', $names)) {
        $f[] = ["static return type", '8.0'];
    }
    if ($isreturn && in_array('never', $names)) {
        $f[] = ["never return type", '8.1'];
    }
    return $f;
}

/** Findings of one function's parameter list ($open: index of "(") and return type. */
function signature_findings(array $t, int $open, bool $isarrow): array {
    $close = closing($t, $open);
    $f = [];
    if ($close - 1 > $open && $t[$close - 1][1] === ',') {
        $f[] = ['trailing comma in a parameter list', '8.0'];
    }
    // Split the parameters at top-level commas.
    $params = [];
    $cur = [];
    $depth = 0;
    for ($k = $open + 1; $k < $close; $k++) {
        $s = $t[$k][1];
        if (in_array($s, ['(', '[', '{'])) {
            $depth++;
        } else if (in_array($s, [')', ']', '}'])) {
            $depth--;
        }
        if ($s === ',' && $depth === 0) {
            $params[] = $cur;
            $cur = [];
        } else {
            $cur[] = $t[$k];
        }
    }
    if ($cur) {
        $params[] = $cur;
    }
    foreach ($params as $p) {
        $var = null;
        foreach ($p as $n => $x) {
            if ($x[0] === T_VARIABLE) {
                $var = $n;
                break;
            }
        }
        if ($var === null) {
            continue;
        }
        $type = [];
        foreach (array_slice($p, 0, $var) as $x) {
            $low = strtolower($x[1]);
            if (in_array($low, ['public', 'protected', 'private'])) {
                $f[] = ['constructor property promotion', '8.0'];
            } else if ($low === 'readonly') {
                $f[] = ['readonly promoted property', '8.1'];
            } else if ($x[0] !== T_ELLIPSIS && !($x[0] === 0 && $x[1] === '&')
                    && !(defined('T_AMPERSAND_FOLLOWED_BY_VAR_OR_VARARG') && $x[0] === T_AMPERSAND_FOLLOWED_BY_VAR_OR_VARARG)) {
                // By-reference "&" and variadic "..." are not part of the type.
                $type[] = $x;
            }
        }
        $f = array_merge($f, type_findings($type, 'a parameter', false));
        $default = array_slice($p, $var + 1);
        if ($default && $default[0][1] === '=') {
            foreach ($default as $x) {
                if ($x[0] === T_NEW) {
                    $f[] = ['new in a parameter default', '8.1'];
                    break;
                }
            }
            $texts = array_map(function($x) {
                return strtolower($x[1]);
            }, $type);
            if ($type && count($default) === 2 && strtolower($default[1][1]) === 'null'
                    && !in_array('?', $texts) && !in_array('null', $texts) && !in_array('mixed', $texts)) {
                $f[] = ['implicitly nullable parameter (write ?Type)', 'deprecated-8.4'];
            }
        }
    }
    // Closure "use (...)" list, then the return type.
    $k = $close + 1;
    if (($t[$k][1] ?? '') === 'use' || (($t[$k][0] ?? null) === T_USE)) {
        $useclose = closing($t, $k + 1);
        if ($t[$useclose - 1][1] === ',') {
            $f[] = ['trailing comma in a closure use list', '8.0'];
        }
        $k = $useclose + 1;
    }
    if (($t[$k][1] ?? '') === ':') {
        $type = [];
        for ($m = $k + 1; $m < count($t); $m++) {
            if (in_array($t[$m][1], ['{', ';']) || $t[$m][0] === T_DOUBLE_ARROW) {
                break;
            }
            $type[] = $t[$m];
        }
        $f = array_merge($f, type_findings($type, 'a return type', true));
    }
    return $f;
}

function scan(string $file, array $functions): array {
    $t = significant(file_get_contents($file));
    $n = count($t);
    $found = [];
    $add = function(int $i, array $finding) use (&$found, $file, $t) {
        $found[] = ['file' => $file, 'line' => $t[$i][2], 'feature' => $finding[0], 'php' => $finding[1]];
    };
    $tokenfeatures = [
        'T_MATCH' => ['match expression', '8.0'],
        'T_NULLSAFE_OBJECT_OPERATOR' => ['nullsafe operator ?->', '8.0'],
        'T_ATTRIBUTE' => ['attribute #[...]', '8.0'],
        'T_ENUM' => ['enum', '8.1'],
    ];
    $traitdepth = null;
    $depth = 0;
    for ($i = 0; $i < $n; $i++) {
        [$id, $text] = $t[$i];
        $prev = $i > 0 ? $t[$i - 1] : [0, '', 0];
        $next = $t[$i + 1] ?? [0, '', 0];
        $name = $id ? token_name($id) : '';
        if (isset($tokenfeatures[$name])) {
            $add($i, $tokenfeatures[$name]);
        }
        if ($text === '{' || $id === T_CURLY_OPEN || $id === T_DOLLAR_OPEN_CURLY_BRACES) {
            $depth++;
        } else if ($text === '}') {
            $depth--;
            if ($traitdepth !== null && $depth < $traitdepth) {
                $traitdepth = null;
            }
        }
        if ($id === T_TRAIT) {
            $traitdepth = $depth + 1;
        }
        if ($id === T_CONST) {
            if ($traitdepth !== null && $depth === $traitdepth) {
                $add($i, ['constant in a trait', '8.2']);
            }
            if ($prev[0] === T_FINAL) {
                $add($i, ['final class constant', '8.1']);
            }
            if ($next[0] !== 0 && ($t[$i + 2][0] ?? 0) === T_STRING && ($t[$i + 3][1] ?? '') === '=') {
                $add($i, ['typed class constant', '8.3']);
            }
        }
        if ($name === 'T_READONLY') {
            $k = $i + 1;
            while (in_array($t[$k][0], [T_FINAL, T_ABSTRACT])) {
                $k++;
            }
            $add($i, $t[$k][0] === T_CLASS ? ['readonly class', '8.2'] : ['readonly property', '8.1']);
        }
        if ($id === T_FUNCTION || $id === T_FN) {
            $k = $i + 1;
            while ($k < $n && $t[$k][1] !== '(') {
                $k++;
            }
            foreach (signature_findings($t, $k, $id === T_FN) as $finding) {
                $add($i, $finding);
            }
        }
        if ($id === T_CATCH) {
            $close = closing($t, $i + 1);
            if ($t[$close - 1][0] !== T_VARIABLE) {
                $add($i, ['catch without a variable', '8.0']);
            }
        }
        if ($id === T_THROW && !in_array($prev[1], [';', '{', '}', ':', ')']) && $prev[0] !== T_ELSE) {
            $add($i, ['throw as an expression', '8.0']);
        }
        if ($id === T_VARIABLE && $next[0] === T_DOUBLE_COLON && strtolower($t[$i + 2][1] ?? '') === 'class') {
            $add($i, ['$object::class', '8.0']);
        }
        if ($id === T_DOUBLE_COLON && $next[1] === '{') {
            $add($i, ['dynamic class constant fetch', '8.3']);
        }
        if ($id === T_STRING && $next[1] === ':' && in_array($prev[1], ['(', ','])) {
            $add($i, ['named argument', '8.0']);
        }
        if ($text === '(' && $next[0] === T_ELLIPSIS && ($t[$i + 2][1] ?? '') === ')') {
            $add($i, ['first-class callable syntax f(...)', '8.1']);
        }
        if ($id === T_LNUMBER && preg_match('/^0[oO]/', $text)) {
            $add($i, ['explicit octal 0o', '8.1']);
        }
        $called = ltrim(strtolower($text), '\\');
        if (in_array($id, [T_STRING, T_NAME_FULLY_QUALIFIED]) && $next[1] === '(' && isset($functions[$called])
                && !in_array($prev[0], [T_OBJECT_OPERATOR, T_DOUBLE_COLON, T_FUNCTION, T_NEW])
                && !(defined('T_NULLSAFE_OBJECT_OPERATOR') && $prev[0] === T_NULLSAFE_OBJECT_OPERATOR)) {
            $add($i, ["function {$called}()", $functions[$called]]);
        }
    }
    return $found;
}

foreach (array_slice($argv, 1) as $file) {
    foreach (scan($file, $functions) as $finding) {
        echo json_encode($finding), "\n";
    }
}
