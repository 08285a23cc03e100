"""The Python port of Moodle's parameter cleaning agrees with a real Moodle 5.1.

tests/unit/data/moodle_clean_param.json holds what Moodle's own clean_param()
and validate_email() returned for awkward inputs (hand-picked ones, and random
mixes of tags, comments, quotes and multilang spans), produced by
scripts/moodle_clean_param_golden.php on the lab site.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

import pytest

from oca_sync.moodle import params
from oca_sync.sandbox import moodle_params as sandbox

GOLDEN = json.loads((Path(__file__).parent / "data" / "moodle_clean_param.json").read_text(encoding="utf-8"))
CLEAN: dict[str, Callable[[str], str]] = {"text": params.clean_text, "notags": params.clean_notags,
                                          "file": params.clean_file}


def test_the_table_came_from_moodle_51() -> None:
    assert GOLDEN["moodle"].startswith("5.1")
    assert len(GOLDEN["exact"]) > 1000 and len(GOLDEN["accepts"]) > 500


@pytest.mark.parametrize("kind", ["text", "notags", "file"])
def test_cleaning_returns_what_moodle_returns(kind: str) -> None:
    cases = [(value, result) for typ, value, result in GOLDEN["exact"] if typ == kind]
    assert cases
    wrong = [(value, result, CLEAN[kind](value)) for value, result in cases if CLEAN[kind](value) != result]
    assert wrong == []


def test_port_agrees_on_which_values_moodle_leaves_alone() -> None:
    # On pathological nestings ("<<<!--", quotes inside "<?") the cleaned text may differ,
    # but never the verdict that decides whether a web-service call is refused.
    wrong = [(typ, value) for typ, value, result in GOLDEN["accepts"]
             if (CLEAN[typ](value) == value) != (result == value)]
    assert wrong == []


def test_accepted_addresses_are_accepted_by_moodle() -> None:
    cases = GOLDEN["email"]
    accepted_wrongly = [value for _, value, ok in cases if params.validate_email(value) and not ok]
    assert accepted_wrongly == []
    # and the port is not simply strict: it agrees on all but Moodle's rare forms (address literals)
    disagree = [value for _, value, ok in cases if params.validate_email(value) != ok]
    assert disagree == ["a@[127.0.0.1]"]


def test_the_issue_title_is_refused_only_in_multilang_form() -> None:
    plain = "Why 5 < 10"
    spans = ('<span lang="en" class="multilang">Why 5 < 10</span>'
             '<span lang="ru" class="multilang">Почему 5 < 10</span>')
    assert params.accepts_text(plain)
    assert not params.accepts_text(spans)
    assert params.accepts_text(spans.replace("< 10", "&lt; 10"))


def test_the_sandbox_cleans_with_the_same_rules() -> None:
    spans = '<span lang="en" class="multilang">Why 5 < 10</span><span lang="ru" class="multilang">Б</span>'
    with pytest.raises(sandbox.InvalidParameterException):
        sandbox.validate_param(spans, sandbox.PARAM_TEXT)
    with pytest.raises(sandbox.InvalidParameterException):
        sandbox.validate_param("Ann<b>", sandbox.PARAM_NOTAGS)
    with pytest.raises(sandbox.InvalidParameterException):  # fix_utf8 removes U+FFFF even in PARAM_RAW
        sandbox.validate_param("a\uffffb", sandbox.PARAM_RAW)
    assert sandbox.validate_param("a < b", sandbox.PARAM_TEXT) == "a < b"
    assert not sandbox.validate_email("a..b@example.org")
