"""What Moodle stores for what we send: file names (PARAM_FILE) and rating values (multichoicerated).

Where PHP is at hand (scripts/test.sh installs php-cli), the Python ports are
checked against PHP running Moodle's own expressions.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from oca_sync.moodle.content import _question, file_facts, rating_scale
from oca_sync.moodle.filenames import clean_file_name
from oca_sync.moodle.plugin_zip import plugin_dir
from oca_sync.sandbox.moodle_fn_ocasync import FEEDBACK_TYPES
from oca_sync.spec.models import Question

from .test_spec_checks import BASE, add_after, one, where

NAMES = [
    "bo'yicha.pdf", "bo'yicha & tahlil.md", 'a"b<c>d|e:f`g.txt', "back\\slash/and.txt", "tab\there\x7f.txt",
    "c1\u0085\u009f.txt", "keep\u00a0nbsp\u200b\u00ad.txt", "Отчёт: итоги «2024».docx", "..", ".", ".'.", "''",
    "nul\x00byte.txt", "bad\ufffe\uffffend.txt", "plain-name_1.PDF", "%22quoted%22.txt", "emoji 😀.png",
]


def php() -> str:
    found = shutil.which("php")
    if found is None:
        pytest.fail("php is not installed: install php-cli (scripts/test.sh does it)")
    return found


def run_php(code: str, data: object) -> object:
    proc = subprocess.run([php(), "-r", code], input=json.dumps(data), capture_output=True, text=True, timeout=60,
                          check=True)
    return json.loads(proc.stdout)


def test_file_names_as_moodle_keeps_them() -> None:
    assert clean_file_name("bo'yicha.pdf") == "boyicha.pdf"
    assert clean_file_name('a"b<c>d|e:f`g.txt') == "abcdefg.txt"
    assert clean_file_name("Отчёт: итоги «2024».docx") == "Отчёт итоги «2024».docx"
    assert clean_file_name(".'.") == ""  # cleans to "." then to nothing
    assert clean_file_name(clean_file_name("bo'yicha & tahlil.md")) == "boyicha  tahlil.md"


def test_file_name_port_equals_moodles_php() -> None:
    # public/lib/classes/param.php clean_param_value_file(), after fix_utf8()'s removals (moodlelib.php).
    code = r"""
        $out = [];
        foreach (json_decode(file_get_contents('php://stdin')) as $p) {
            $p = str_replace(["\0", "\xef\xbf\xbe", "\xef\xbf\xbf"], '', $p);
            $p = preg_replace('~[[:cntrl:]]|[&<>"`\|\':\\\\/]~u', '', $p);
            $out[] = ($p === '.' || $p === '..') ? '' : $p;
        }
        echo json_encode($out);
    """
    assert run_php(code, NAMES) == [clean_file_name(n) for n in NAMES]


def test_resource_compares_with_the_cleaned_name(tmp_path: Path) -> None:
    path = tmp_path / "bo'yicha.pdf"
    path.write_bytes(b"%PDF-1.4\n")
    assert file_facts(path)["filename"] == "boyicha.pdf"


def test_validate_rejects_a_file_name_that_cleans_to_nothing(tmp_path: Path) -> None:
    text = BASE.replace("path: notes.md}", "path: \"''\"}")
    issue = one(tmp_path, text, {"''": "x"})
    assert where(issue)[0] == 21 and where(issue)[2] == "courses[0].sessions[0].content[0].path"
    assert "Moodle would keep nothing of the file name" in issue.message


# --- rating values ---------------------------------------------------------------------------


def rating(**kw: object) -> Question:
    return Question.model_validate({"key": "r", "type": "rating", "text": "Rate", **kw})


def test_rating_values_are_the_specs() -> None:
    q = _question(rating(min=0, max=10), 1, str, lambda t, _k: str(t))
    assert q["typ"] == "multichoicerated"
    assert q["presentation"] == "r>>>>>" + "|".join(f"{v}####{v}" for v in range(11))
    assert rating_scale(rating(), []) == [(v, str(v)) for v in range(1, 6)]
    assert rating_scale(rating(min=-2), ["a", "b", "c"]) == [(-2, "a"), (-1, "b"), (0, "c")]
    assert rating_scale(rating(), ["Poor", "Good"]) == [(1, "Poor"), (2, "Good")]


@pytest.mark.parametrize(("question", "message"), [
    ("{key: q3, type: rating, text: R, min: 0, max: 10, options: [a, b]}", "a rating from 0 to 10 needs 11 labels, not 2"),
    ("{key: q3, type: rating, text: R, min: 7}", "a rating needs max above min (here 7 to 5"),
    ("{key: q3, type: rating, text: R, options: [only]}", "a rating needs at least two labels"),
    ("{key: q3, type: multichoice, text: R, options: [a|b, c]}", "an option cannot contain one"),
])
def test_rating_checks(tmp_path: Path, question: str, message: str) -> None:
    text = add_after(BASE, "          - {key: q2, type: text, text: Why}\n", f"          - {question}\n")
    issue = one(tmp_path, text)
    assert issue.line == 39 and message in issue.message


def test_plugin_and_emulation_accept_the_same_rated_presentations() -> None:
    samples = ["r>>>>>0####0|1####1|10####10", "d>>>>>-2####Too slow|2####Fast", "r>>>>>1####a<<<<<1",
               "r>>>>>Poor|Fair", "r>>>>>1####a|b", "r>>>>>1.5####x", "c>>>>>1####a", "r>>>>>", "r>>>>>1####a\n"]
    source = (plugin_dir() / "classes" / "local" / "feedback_questions.php").read_text(encoding="utf-8")
    [pattern] = [line.split("=>", 1)[1].strip().rstrip(",") for line in source.splitlines()
                 if line.strip().startswith("'multichoicerated' =>")]
    code = "$out = []; foreach (json_decode(file_get_contents('php://stdin')) as $s) { $out[] = (bool)preg_match(" \
        + pattern + ", $s); } echo json_encode($out);"
    php_says = run_php(code, samples)
    assert php_says == [FEEDBACK_TYPES["multichoicerated"](s) for s in samples]
    assert php_says[:3] == [True, True, True] and not any(php_says[3:8])


def test_plan_sees_a_rating_whose_values_shifted() -> None:
    from oca_sync.moodle import model as m
    from oca_sync.moodle.content import settings_json
    from oca_sync.moodle.planner import module_diff as _module_diff

    def feedback(presentation: str) -> m.Module:
        questions = [{"key": "recommend", "typ": "multichoicerated", "presentation": presentation}]
        return m.Module(course="c", idnumber="oca:p:c:fb", modname="feedback", section="", name="F", intro="",
                        visible=True, settings=settings_json({"anonymous": 2, "questions": questions}))

    shifted = "r>>>>>" + "|".join(f"{v + 1}####{v}" for v in range(11))  # what oca-sync sent before
    exact = "r>>>>>" + "|".join(f"{v}####{v}" for v in range(11))
    [change] = _module_diff(feedback(shifted), feedback(exact))
    assert change.name == "settings"
    assert change.old["questions"][0]["presentation"] == shifted and change.new["questions"][0]["presentation"] == exact
    assert _module_diff(feedback(exact), feedback(exact)) == ()
