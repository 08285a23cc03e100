"""The hand-labelled set (tests/data/attendance): every case must come out exactly as labelled."""

from __future__ import annotations

import csv
import re
from collections import Counter
from pathlib import Path

import pytest

from oca_sync.attendance.files import read_roster
from oca_sync.attendance.match import RULES, Matcher, RosterIndex, identity_key

DATA = Path(__file__).parent.parent / "data" / "attendance"
ROSTER = read_roster(DATA / "roster.csv")
IDS = {u.username: u.id for u in ROSTER}
CASES = list(csv.DictReader((DATA / "cases.csv").open(encoding="utf-8")))


def _mappings() -> dict[tuple[str, str], int]:
    rows = csv.DictReader((DATA / "mappings.csv").open(encoding="utf-8"))
    return {identity_key(r["name"], r["email"]): IDS[r["username"]] if r["username"] else 0 for r in rows}


MATCHER = Matcher(RosterIndex.build(ROSTER), _mappings())


@pytest.mark.parametrize("case", CASES, ids=[f"{i + 2}:{c['name']}" for i, c in enumerate(CASES)])
def test_labelled_case(case: dict[str, str]) -> None:
    out = MATCHER.match(case["name"], case["email"])
    expect = sorted(IDS[u] for u in case["expect"].split(";") if u)
    assert out.status.value == case["status"], out
    assert out.rule == case["rule"], out
    if case["status"] == "match":
        assert [out.userid] == expect, out
    else:
        assert out.userid is None
        assert sorted(out.candidates) == expect, out


def test_set_is_large_and_covers_every_rule() -> None:
    assert len(CASES) >= 150
    assert {c["rule"] for c in CASES} == set(RULES)


def test_readme_counts_are_the_files() -> None:
    readme = (DATA / "README.md").read_text(encoding="utf-8")
    table = dict(re.findall(r"^\| `([a-z-]+)` \| (\d+) \|", readme, re.M))
    assert {k: int(v) for k, v in table.items()} == dict(Counter(c["rule"] for c in CASES))
    assert f"{len(CASES)} identities" in readme
    assert f"{len(ROSTER)} users" in readme
