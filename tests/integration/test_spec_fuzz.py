"""Property: whatever texts and file names a spec holds, either ``validate`` refuses it with file
and line, or ``apply`` to the sandboxes (Moodle with the companion plugin, Zoom) succeeds and a
second apply writes nothing (issue 13, "Proof"; issue 8.7).

Hypothesis mixes arbitrary Unicode with the values that broke applies before: tags and ``<``
in multilingual names, formula prefixes, bidi and zero-width characters, 10 kB names, URLs with
credentials or markup, option separators, file names Moodle cleans. Kept small (one course, one
session, one survey, one organisation) and bounded (``max_examples``), so the suite stays fast;
derandomized and without an example database, so every run tests the same cases (raise
``max_examples`` locally to explore further).
"""

from __future__ import annotations

import itertools
import tempfile
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from oca_sync import sync
from oca_sync.demo import sandboxes
from oca_sync.errors import SpecError
from oca_sync.moodle import params
from oca_sync.moodle.desired import build
from oca_sync.spec import load_spec, parse_spec_text
from oca_sync.state import StateStore

NASTY = [
    "Why 5 < 10", "5<10", "<b>bold</b>", "a > b", "Q&A", "&lt;", "=1+2", "+cmd", "-x", "@SUM(A1)",
    "a\u202eb", "a\u200bb", "a\u200db", "\ufeffx", "x" * 300, "Ж" * 1400, "\"><script>alert(1)</script>",
    '<span lang="en" class="multilang">x</span>', "a|b", "a####b", "{n}", "null", "~", "- x", "a\tb",
    "line\nbreak", "'", "\\", "\u0085", "\uffff", "\x00",
]
#: Text people write: letters of any script, marks, digits, punctuation and symbols (< > & | = ' " ...).
printable = st.text(st.characters(categories=["L", "M", "N", "P", "S", "Zs"]), min_size=1, max_size=40)
anything = st.text(st.characters(codec="utf-8"), min_size=1, max_size=40)
nasty = st.one_of(st.sampled_from(NASTY), anything)
multi = st.one_of(printable, st.fixed_dictionaries({"en": printable, "ru": printable}))
URLS = ["https://example.org/a?b=1&c=2", "http://user:pass@example.org/", "https://example.org/\"><script>",
        "https://example.org/a&amp;b", "https://пример.рф/путь", "https://example.org/@user/post"]
urls = st.one_of(st.sampled_from(URLS),
                 st.text("abcXYZ019-._~%/?=&#:@!$'()*+,;АБ", max_size=30).map(lambda s: "https://example.org/" + s))
FILES = ["'", "bo'yicha.pdf", '".pdf', "a\\b.pdf", "a\nb.pdf", "a&b.pdf", "notes.md", "Ж ж.txt", "x:y|z.txt", "-rf.txt", "=cmd.csv", "a\u202e.txt"]
file_names = st.one_of(st.sampled_from(FILES), printable.map(lambda s: s.replace("/", "_") + ".pdf"),
                       st.text(st.characters(codec="utf-8", exclude_characters="/\x00"), min_size=1, max_size=30))
TEXT_FIELDS = ["category", "fullname", "title", "summary", "link_title", "file_title", "survey", "question", "option",
               "org", "firstname", "lastname", "city"]


@st.composite
def spec_texts(draw: st.DrawFn) -> dict[str, Any]:
    """Every field an ordinary text; one or two of them nasty (so that both outcomes are common)."""
    t: dict[str, Any] = {k: draw(printable if k in ("firstname", "lastname", "city") else multi) for k in TEXT_FIELDS}
    t["url"] = draw(urls)
    for k in draw(st.lists(st.sampled_from(TEXT_FIELDS), max_size=2)):
        value = draw(nasty)
        t[k] = value if k in ("firstname", "lastname", "city") or draw(st.booleans()) else {"en": value, "ru": "Б"}
    return t


counter = itertools.count(1)
BASE: dict[str, Any] = {
    "programme": {"key": "fz", "name": "Fuzz", "languages": ["en", "ru"], "timezone": "Asia/Bishkek"},
    "moodle": {"category": {"name": "Fuzz"}},
}


def spec_of(n: int, t: dict[str, Any], file_name: str) -> dict[str, Any]:
    return {
        **BASE,
        "programme": {**BASE["programme"], "key": f"fz{n}"},
        # people unique per example (one Moodle site serves them all); one Zoom host for all
        "staff": [{"key": "trainer", "username": f"trainer{n}", "firstname": "T", "lastname": "R",
                   "email": f"t{n}@example.org", "zoom_user": "t@example.org", "role": "trainer"}],
        "moodle": {"category": {"name": t["category"]}},
        "courses": [{
            "shortname": f"F{n}", "fullname": t["fullname"], "start": "2022-01-10", "end": "2022-03-01",
            "sessions": [{
                "key": "s1", "kind": "training", "title": t["title"], "summary": t["summary"],
                "start": "2022-01-17 15:00", "duration": 60, "host": "trainer",
                "content": [
                    {"type": "url", "key": "link", "title": t["link_title"], "url": t["url"]},
                    {"type": "file", "key": "doc", "title": t["file_title"], "path": file_name},
                ],
            }],
            "surveys": [{"key": "pre", "kind": "pre", "title": t["survey"], "questions": [
                {"key": "q1", "type": "multichoice", "text": t["question"], "options": [t["option"], "Other"]},
            ]}],
        }],
        "organisations": [{"key": "org", "name": t["org"], "members": [
            {"key": "ann", "username": f"ann{n}", "firstname": t["firstname"], "lastname": t["lastname"],
             "email": f"ann{n}@example.org",
             "city": t["city"]},
        ]}],
    }


def write_spec(directory: Path, spec: dict[str, Any], file_name: str) -> Path | None:
    try:
        (directory / file_name).write_bytes(b"fuzz\n")
    except (OSError, ValueError):  # not a file name this file system takes: nothing to test
        return None
    path = directory / "spec.yaml"
    path.write_text(yaml.safe_dump(spec, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def refused_with_file_and_line(path: Path) -> bool:
    try:
        load_spec(path)
    except SpecError as e:
        assert e.issues
        for issue in e.issues:
            assert issue.file and issue.line is not None, issue
        return True
    return False


@settings(max_examples=40, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
@given(spec_texts(), file_names)
def test_validate_refuses_or_every_name_is_one_moodle_takes(t: dict[str, Any], file_name: str) -> None:
    """Fast half (no network): what validate accepts, Moodle's PARAM_TEXT leaves unchanged."""
    with tempfile.TemporaryDirectory() as tmp:
        path = write_spec(Path(tmp), spec_of(0, t, file_name), file_name)
        if path is None or refused_with_file_and_line(path):
            return
        site = build(load_spec(path), ("en", "ru"))
        names = [site.category.name] + [c.fullname for c in site.courses.values()]
        names += [s.name for ss in site.sections.values() for s in ss]
        names += [g.name for gs in site.groups.values() for g in gs.values()]
        names += [mod.name for ms in site.modules.values() for mod in ms.values()]
        for name in names:
            assert params.accepts_text(name), name
        for user in site.users.values():
            assert params.accepts_notags(user.firstname) and params.accepts_notags(user.lastname)
            assert params.validate_email(user.email)


@pytest.fixture(scope="module")
def sb():
    plain = {k: "x" for k in TEXT_FIELDS} | {"url": "https://x.org/"}
    base = parse_spec_text(yaml.safe_dump(spec_of(0, plain, "notes.md")), base_dir=_base_dir())
    with sandboxes(base) as s:
        yield s


def _base_dir() -> Path:
    d = Path(tempfile.mkdtemp(prefix="oca-fuzz-"))
    (d / "notes.md").write_text("x\n", encoding="utf-8")
    return d


@settings(max_examples=12, deadline=None, database=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow,
                                                                  HealthCheck.function_scoped_fixture])
@given(spec_texts(), file_names)
def test_validate_refuses_or_apply_succeeds_and_reapply_writes_nothing(sb, t: dict[str, Any], file_name: str) -> None:
    n = next(counter)
    with tempfile.TemporaryDirectory() as tmp:
        path = write_spec(Path(tmp), spec_of(n, t, file_name), file_name)
        if path is None or refused_with_file_and_line(path):
            return
        loaded = load_spec(path)
        store = StateStore(f"sqlite:///{tmp}/state.sqlite")
        zoom = sb.zoom_client()
        zoom.backoff = 0.01
        first = sync.apply(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom)
        assert first.applied
        moodle_writes = sb.moodle.calls.write_count()
        zoom_writes = sb.zoom.calls.write_count()
        second = sync.apply(sb.moodle_client(), loaded, sb.site(), store, zoom=zoom)
        assert second.plan.empty, [str(c) for c in second.plan.changes]
        assert sb.moodle.calls.write_count() == moodle_writes
        assert sb.zoom.calls.write_count() == zoom_writes
