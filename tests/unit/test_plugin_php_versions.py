"""The companion plugin's PHP runs on the oldest PHP of every Moodle it installs on.

``php -l`` (tests/unit/test_plugin_php.py) only proves that the files parse on the PHP installed
here, which is 8.2 or newer. Moodle 4.5 LTS, which the plugin supports, runs on PHP 8.1; and
``$plugin->requires`` lets it install on 4.1 LTS, which runs on PHP 7.4. A readonly class, a
standalone ``null`` type or a constant in a trait (PHP 8.2) would pass ``php -l`` here and break
every 4.5 site on PHP 8.1. ``tests/unit/data/php_features.php`` lists, with PHP's own tokenizer,
the syntax and functions newer than PHP 7.4 that a file uses; the plugin must use none newer than
the PHP that its ``$plugin->requires`` Moodle needs, and nothing that PHP 8.4 (which Moodle 5.1
supports) deprecates.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from oca_sync.moodle.plugin_zip import plugin_dir

SCANNER = Path(__file__).parent / "data" / "php_features.php"
PLUGIN = plugin_dir()

#: The lowest PHP of each Moodle release, by its core ``$version`` (admin/environment.xml of
#: Moodle 5.1: <MOODLE version="4.1"> <PHP version="7.4.0">, 4.2 and 4.3 "8.0.0", 4.4 and 4.5
#: "8.1.0", 5.0 and 5.1 "8.2.0").
MOODLE_MIN_PHP: tuple[tuple[int, str], ...] = (
    (2022112800, "7.4"),  # 4.1
    (2023042400, "8.0"),  # 4.2
    (2024042200, "8.1"),  # 4.4
    (2025041400, "8.2"),  # 5.0
)


def min_php(requires: int) -> str:
    """The lowest PHP a Moodle of core version ``requires`` (or newer) may run on."""
    php = "7.4"
    for version, needed in MOODLE_MIN_PHP:
        if requires >= version:
            php = needed
    return php


def _php() -> str:
    php = shutil.which("php")
    if php is None:
        pytest.fail("php is not installed: install php-cli (scripts/test.sh does it) to check the plugin's PHP")
    return php


def scan(paths: list[Path]) -> list[dict[str, Any]]:
    proc = subprocess.run([_php(), str(SCANNER), *map(str, paths)], check=False, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def _version(v: str) -> tuple[int, ...]:
    return tuple(int(x) for x in v.split("."))


def test_min_php_follows_moodles_environment() -> None:
    assert min_php(2022112800) == "7.4"
    assert min_php(2023100900) == "8.0"
    assert min_php(2024100700) == "8.1"
    assert min_php(2025100600) == "8.2"


# Each snippet uses one feature; the scanner must name it with the PHP it needs.
_FEATURES = [
    ("<?php $x = match ($a) { 1 => 2, default => 3 };", "8.0"),
    ("<?php $x = $a?->b;", "8.0"),
    ("<?php #[Attr]\nfunction f() {}", "8.0"),
    ("<?php f(name: 1);", "8.0"),
    ("<?php function f(int|string $a) {}", "8.0"),
    ("<?php function f(): static {}", "8.0"),
    ("<?php function f(mixed $a) {}", "8.0"),
    ("<?php class A { function __construct(private int $a) {} }", "8.0"),
    ("<?php function f($a,) {}", "8.0"),
    ("<?php try {} catch (Exception) {}", "8.0"),
    ("<?php $x = $a ?? throw new Exception();", "8.0"),
    ("<?php $x = $a::class;", "8.0"),
    ("<?php $x = str_contains($a, 'b');", "8.0"),
    ("<?php enum E { case A; }", "8.1"),
    ("<?php class A { public readonly int $a; }", "8.1"),
    ("<?php function f(): never {}", "8.1"),
    ("<?php function f(A&B $a) {}", "8.1"),
    ("<?php function f($a = new A()) {}", "8.1"),
    ("<?php $f = strlen(...);", "8.1"),
    ("<?php $x = 0o17;", "8.1"),
    ("<?php class A { final const X = 1; }", "8.1"),
    ("<?php $x = array_is_list($a);", "8.1"),
    ("<?php readonly class A {}", "8.2"),
    ("<?php function f(): null {}", "8.2"),
    ("<?php function f(false $a) {}", "8.2"),
    ("<?php function f((A&B)|null $a) {}", "8.2"),
    ("<?php trait T { const X = 1; }", "8.2"),
    ("<?php class A { const int X = 1; }", "8.3"),
    ("<?php $x = A::{$name};", "8.3"),
    ("<?php function f(int $a = null) {}", "deprecated-8.4"),
]


@pytest.mark.parametrize(("src", "php"), _FEATURES, ids=[f"{p}:{s[6:40]}" for s, p in _FEATURES])
def test_scanner_names_each_newer_feature(tmp_path: Path, src: str, php: str) -> None:
    path = tmp_path / "f.php"
    path.write_text(src + "\n")
    assert {f["php"] for f in scan([path])} == {php}


def test_scanner_passes_php_74_code(tmp_path: Path) -> None:
    # Bitwise | in defaults, ternaries, case labels, by-reference and variadic parameters,
    # ?Type = null, closures with use, arrow functions and static calls are all PHP 7.4.
    path = tmp_path / "ok.php"
    path.write_text("""<?php
class A {
    const X = 1;
    public static function f(int $flags = JSON_A | JSON_B, ?int $max = null, array &$out = [], ...$rest): ?int {
        switch ($flags) {
            case self::X:
                return $flags ? PARAM_INT : PARAM_RAW;
        }
        $g = function($a) use ($out): int {
            return $a;
        };
        $h = fn(int $a): int => $a + self::X;
        if ($max === null) throw new Exception('x');
        try { g($flags, $max ? A : B); } catch (Exception $e) { return null; }
        return static::g(...$rest);
    }
}
""")
    assert scan([path]) == []


def test_plugin_uses_no_php_newer_than_its_oldest_moodle_allows() -> None:
    src = (PLUGIN / "version.php").read_text()
    m = re.search(r"\$plugin->requires\s*=\s*(\d{10})", src)
    assert m, "version.php has no $plugin->requires"
    floor = min_php(int(m.group(1)))
    files = sorted(PLUGIN.rglob("*.php"))
    assert files
    findings = scan(files)
    too_new = [f for f in findings if f["php"] != "deprecated-8.4" and _version(f["php"]) > _version(floor)]
    assert not too_new, (f"$plugin->requires {m.group(1)} means PHP {floor}; these need newer PHP:\n"
                         + "\n".join(f"{Path(f['file']).relative_to(PLUGIN)}:{f['line']} {f['feature']} "
                                     f"(PHP {f['php']})" for f in too_new))
    deprecated = [f for f in findings if f["php"] == "deprecated-8.4"]
    assert not deprecated, "PHP 8.4 (Moodle 5.1) deprecates:\n" + "\n".join(
        f"{Path(f['file']).relative_to(PLUGIN)}:{f['line']} {f['feature']}" for f in deprecated)


def test_supported_range_starts_no_later_than_requires() -> None:
    # The PHP floor comes from $plugin->requires; a supported range starting below it would claim
    # Moodle releases the plugin cannot install on.
    src = (PLUGIN / "version.php").read_text()
    m = re.search(r"\$plugin->requires\s*=\s*(\d{10})", src)
    assert m, "version.php has no $plugin->requires"
    requires = int(m.group(1))
    supported = re.search(r"\$plugin->supported\s*=\s*\[(\d+),\s*(\d+)\]", src)
    assert supported, "version.php has no $plugin->supported = [from, to]"
    first = int(supported.group(1))  # e.g. 405 for 4.5
    first_version = {401: 2022112800, 402: 2023042400, 403: 2023100900, 404: 2024042200, 405: 2024100700,
                     500: 2025041400, 501: 2025100600}[first]
    assert requires <= first_version
